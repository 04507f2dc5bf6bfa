// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "hist.h"

_Static_assert(sizeof(struct hist) == sizeof(struct ipt_hist_val),
	       "struct hist and the BPF histogram value must match");

static int ilog2(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

int hist_slot(uint64_t v)
{
	return ipt_hist_slot(v);
}

uint64_t hist_slot_lo(int slot)
{
	int e, sub;

	if (slot < HIST_SUB)
		return slot;
	e = slot / HIST_SUB + HIST_SUB_BITS - 1;
	sub = slot % HIST_SUB;
	return (uint64_t)(HIST_SUB + sub) << (e - HIST_SUB_BITS);
}

uint64_t hist_slot_hi(int slot)
{
	if (slot < HIST_SUB)
		return slot;
	return hist_slot_lo(slot) +
	       (1ULL << (slot / HIST_SUB - 1)) - 1;
}

void hist_add(struct hist *h, uint64_t v)
{
	ipt_hist_add((struct ipt_hist_val *)h, v);
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	int i;

	if (!src->count)
		return;
	for (i = 0; i < HIST_SLOTS; i++)
		dst->slots[i] += src->slots[i];
	if (!dst->count || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
}

/* The kernel may be mid-update while we read: take the count from the
 * slots, so that the histogram and its count always agree. */
void hist_merge_val(struct hist *dst, const struct ipt_hist_val *v)
{
	struct hist h;
	int i;

	memcpy(&h, v, sizeof(h));
	h.count = 0;
	for (i = 0; i < HIST_SLOTS; i++)
		h.count += h.slots[i];
	hist_merge(dst, &h);
}

void hist_delta(struct hist *dst, const struct hist *a, const struct hist *b)
{
	int i;

	for (i = 0; i < HIST_SLOTS; i++)
		dst->slots[i] = a->slots[i] - b->slots[i];
	dst->count = a->count - b->count;
	dst->sum = a->sum - b->sum;
	/* the exact extremes of the interval are unknown: bound them by the
	 * non-empty slots, clamped to the running min/max */
	dst->min = dst->max = 0;
	for (i = 0; i < HIST_SLOTS && dst->count; i++) {
		if (dst->slots[i]) {
			dst->min = hist_slot_lo(i) > a->min ? hist_slot_lo(i) : a->min;
			break;
		}
	}
	for (i = HIST_SLOTS - 1; i >= 0 && dst->count; i--) {
		if (dst->slots[i]) {
			dst->max = hist_slot_hi(i) < a->max ? hist_slot_hi(i) : a->max;
			break;
		}
	}
}

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

uint64_t hist_mean(const struct hist *h)
{
	return h->count ? h->sum / h->count : 0;
}

/* Nearest-rank percentile, interpolated inside the sub-bucket and clamped
 * to the exact min and max. */
uint64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t rank, seen = 0;
	double frac, v;
	int i;

	if (!h->count)
		return 0;
	if (p <= 0)
		return h->min;
	if (p >= 100)
		return h->max;
	rank = (uint64_t)(p / 100.0 * h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_SLOTS; i++) {
		if (!h->slots[i] || seen + h->slots[i] < rank) {
			seen += h->slots[i];
			continue;
		}
		frac = (rank - seen - 0.5) / h->slots[i];
		v = hist_slot_lo(i) +
		    frac * (hist_slot_hi(i) + 1 - hist_slot_lo(i));
		if (v < h->min)
			return h->min;
		if (v > h->max)
			return h->max;
		return (uint64_t)v;
	}
	return h->max;
}

int hist_log2(const struct hist *h, uint64_t out[HIST_LOG2])
{
	int i, b, top = 0;

	memset(out, 0, sizeof(uint64_t) * HIST_LOG2);
	for (i = 0; i < HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		b = i < HIST_SUB ? (i > 1 ? ilog2(i) : 0) :
			i / HIST_SUB + HIST_SUB_BITS - 1;
		out[b] += h->slots[i];
		if (b + 1 > top)
			top = b + 1;
	}
	return top;
}

uint64_t hist_log2_lo(int i)
{
	return i ? 1ULL << i : 0;
}

uint64_t hist_log2_hi(int i)
{
	return i >= 63 ? ~0ULL : (2ULL << i) - 1;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double nearest_rank(double *v, size_t n, double q)
{
	size_t r;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_dbl);
	r = (size_t)ceil(q * n - 1e-9);
	if (r < 1)
		r = 1;
	return v[(r > n ? n : r) - 1];
}
