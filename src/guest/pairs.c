// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include "pairs.h"

static size_t pair_hash(__u32 src, __u32 dst)
{
	__u64 h = ((__u64)src << 32 | dst) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 29);
}

/* Entries are never deleted one by one (pairs_clear empties the table),
 * so a probe ends at the first free slot. */
static struct pair_stat *probe(const struct pair_table *t, __u32 src,
			       __u32 dst)
{
	size_t j, mask = t->cap - 1;

	for (j = pair_hash(src, dst);; j++) {
		struct pair_stat *p = &t->slots[j & mask];

		if (!p->used || (p->src == src && p->dst == dst))
			return p;
	}
}

static int grow(struct pair_table *t)
{
	struct pair_stat *old = t->slots;
	size_t i, old_cap = t->cap;

	t->slots = calloc(old_cap ? old_cap * 2 : 64, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return -1;
	}
	t->cap = old_cap ? old_cap * 2 : 64;
	for (i = 0; i < old_cap; i++)
		if (old[i].used)
			*probe(t, old[i].src, old[i].dst) = old[i];
	free(old);
	return 0;
}

struct pair_stat *pairs_get(struct pair_table *t, __u32 src, __u32 dst,
			    int create)
{
	struct pair_stat *p;

	if (t->cap) {
		p = probe(t, src, dst);
		if (p->used || !create)
			return p->used ? p : NULL;
	}
	if (!create)
		return NULL;
	if ((t->nr + 1) * 2 > t->cap && grow(t))
		return NULL;
	p = probe(t, src, dst);
	memset(p, 0, sizeof(*p));
	p->src = src;
	p->dst = dst;
	p->used = 1;
	t->nr++;
	return p;
}

const struct pair_stat *pairs_find(const struct pair_table *t, __u32 src,
				   __u32 dst)
{
	const struct pair_stat *p;

	if (!t->cap)
		return NULL;
	p = probe(t, src, dst);
	return p->used ? p : NULL;
}

static int by_u64(const void *x, const void *y)
{
	__u64 a = *(const __u64 *)x, b = *(const __u64 *)y;

	return a < b ? -1 : a > b;
}

/* Sorted on (src, dst, slot index) packed in one word: no pointer chasing
 * in the comparisons. */
struct pair_stat **pairs_sorted(const struct pair_table *t, size_t *n)
{
	struct pair_stat **v;
	__u64 *order;
	size_t i, k = 0;

	*n = 0;
	if (!t->nr)
		return NULL;
	v = malloc(t->nr * sizeof(*v));
	order = malloc(t->nr * sizeof(*order));
	if (!v || !order) {
		free(v);
		free(order);
		return NULL;
	}
	for (i = 0; i < t->cap; i++)
		if (t->slots[i].used)
			order[k++] = (__u64)(t->slots[i].src & 0xffff) << 48 |
				     (__u64)(t->slots[i].dst & 0xffff) << 32 | i;
	qsort(order, k, sizeof(*order), by_u64);
	for (i = 0; i < k; i++)
		v[i] = &t->slots[order[i] & 0xffffffff];
	free(order);
	*n = k;
	return v;
}

static void bucket_add(struct pair_stat *p, int slot)
{
	struct pair_bucket *b;
	__u16 i;

	for (i = 0; i < p->nb; i++)
		if (p->b[i].slot == slot) {
			p->b[i].count++;
			return;
		}
	if (p->nb == p->cap_b) {
		__u16 cap = p->cap_b ? p->cap_b * 2 : 8;

		if (cap > HIST_SLOTS)
			return;
		b = realloc(p->b, cap * sizeof(*b));
		if (!b)
			return;
		p->b = b;
		p->cap_b = cap;
	}
	p->b[p->nb++] = (struct pair_bucket){ .slot = slot, .count = 1 };
}

void pair_add(struct pair_stat *p, __u64 lat_ns)
{
	if (!p->count || lat_ns < p->min)
		p->min = lat_ns;
	if (lat_ns > p->max)
		p->max = lat_ns;
	p->count++;
	p->sum += lat_ns;
	bucket_add(p, hist_slot(lat_ns));
}

/* Through a scratch histogram whose used slots are cleared after: no
 * 4 KiB memset per pair. */
__u64 pair_percentile(const struct pair_stat *p, double pct)
{
	static __thread struct hist h;
	__u64 v;
	__u16 i;

	if (!p->nb)
		return 0;
	h.count = 0;
	for (i = 0; i < p->nb; i++) {
		h.slots[p->b[i].slot] += p->b[i].count;
		h.count += p->b[i].count;
	}
	h.sum = p->sum;
	h.min = p->min;
	h.max = p->max;
	v = hist_percentile(&h, pct);
	for (i = 0; i < p->nb; i++)
		h.slots[p->b[i].slot] = 0;
	return v;
}

/* Empty, keeping the slots (as many as the most pairs seen at once):
 * the next interval does not grow the table again. */
void pairs_clear(struct pair_table *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slots[i].b);
	if (t->nr)
		memset(t->slots, 0, t->cap * sizeof(*t->slots));
	t->nr = 0;
}

void pairs_free(struct pair_table *t)
{
	pairs_clear(t);
	free(t->slots);
	t->slots = NULL;
	t->cap = 0;
}

size_t pairs_bytes(const struct pair_table *t)
{
	size_t i, n = t->cap * sizeof(*t->slots);

	for (i = 0; i < t->cap; i++)
		n += t->slots[i].cap_b * sizeof(struct pair_bucket);
	return n;
}
