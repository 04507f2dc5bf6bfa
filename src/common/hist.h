/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Log-linear latency histogram: 8 sub-buckets per power of two (about 6%
 * relative error for percentiles), exact count/sum/min/max, and a log2 view
 * for printing.
 */
#ifndef __IPT_HIST_H
#define __IPT_HIST_H

#include <stdint.h>
#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
/* Exact nearest-rank percentile of @n values (sorted in place): the
 * smallest value with at least a share @q of the values <= it; 0 if n = 0. */
double nearest_rank(double *v, size_t n, double q);

#endif
#include "ipt_hist.h"

#define HIST_LOG2	64

struct hist {
	uint64_t slots[HIST_SLOTS];
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
};

int hist_slot(uint64_t v);
uint64_t hist_slot_lo(int slot);
uint64_t hist_slot_hi(int slot);
void hist_add(struct hist *h, uint64_t v);
void hist_merge(struct hist *dst, const struct hist *src);
void hist_reset(struct hist *h);
/* dst = a - b (a later snapshot of the same counters as b); min/max of a */
void hist_delta(struct hist *dst, const struct hist *a, const struct hist *b);
/* add an in-kernel per-CPU value */
void hist_merge_val(struct hist *dst, const struct ipt_hist_val *v);
/* p in [0, 100]; 0 for an empty histogram */
uint64_t hist_percentile(const struct hist *h, double p);
uint64_t hist_mean(const struct hist *h);
/* log2 buckets: out[i] counts [2^i, 2^(i+1)) (out[0] also holds 0);
 * returns 1 + the highest non-empty bucket, 0 when empty */
int hist_log2(const struct hist *h, uint64_t out[HIST_LOG2]);
uint64_t hist_log2_lo(int i);
uint64_t hist_log2_hi(int i);

/* Exact nearest-rank percentile of @n values (sorted in place): the
 * smallest value with at least a share @q of the values <= it; 0 if n = 0. */
double nearest_rank(double *v, size_t n, double q);

#endif
