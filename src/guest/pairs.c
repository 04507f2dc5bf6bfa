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

static int by_src_dst(const void *x, const void *y)
{
	const struct pair_stat *a = *(struct pair_stat * const *)x;
	const struct pair_stat *b = *(struct pair_stat * const *)y;

	if (a->src != b->src)
		return a->src < b->src ? -1 : 1;
	return a->dst < b->dst ? -1 : a->dst > b->dst;
}

struct pair_stat **pairs_sorted(const struct pair_table *t, size_t *n)
{
	struct pair_stat **v;
	size_t i, k = 0;

	*n = 0;
	if (!t->nr)
		return NULL;
	v = malloc(t->nr * sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < t->cap; i++)
		if (t->slots[i].used)
			v[k++] = &t->slots[i];
	qsort(v, k, sizeof(*v), by_src_dst);
	*n = k;
	return v;
}

void pairs_clear(struct pair_table *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slots[i].h);
	free(t->slots);
	t->slots = NULL;
	t->cap = t->nr = 0;
}

void pairs_free(struct pair_table *t)
{
	pairs_clear(t);
}

size_t pairs_bytes(const struct pair_table *t)
{
	size_t i, n = t->cap * sizeof(*t->slots);

	for (i = 0; i < t->cap; i++)
		if (t->slots[i].h)
			n += sizeof(struct hist);
	return n;
}
