/* SPDX-License-Identifier: GPL-2.0 */
/* A sparse table of (source, target) CPU pairs: memory follows the pairs
 * seen, not the CPU count squared. */
#ifndef __IPT_PAIRS_H
#define __IPT_PAIRS_H

#include <stddef.h>
#include <linux/types.h>
#include "ipitrace.h"
#include "hist.h"

/* A pair's latencies as the non-empty slots of a log-linear histogram
 * (struct hist's layout): a few dozen at most, instead of 4 KiB a pair. */
struct pair_bucket {
	__u16 slot;
	__u32 count;
};

struct pair_stat {
	__u32 src;
	__u32 dst;
	__u32 used;			/* 0: a free slot */
	__u64 count;
	__u64 sum;
	__u64 min;
	__u64 max;
	__u64 kinds[IPI_KIND_MAX];
	struct pair_bucket *b;		/* latencies (per-event -C), else NULL */
	__u16 nb;
	__u16 cap_b;
};

struct pair_table {
	struct pair_stat *slots;	/* open addressing, cap a power of two */
	size_t cap;
	size_t nr;
};

/* The pair's entry, created empty when @create; NULL when out of memory
 * or not there. */
struct pair_stat *pairs_get(struct pair_table *t, __u32 src, __u32 dst,
			    int create);
const struct pair_stat *pairs_find(const struct pair_table *t, __u32 src,
				   __u32 dst);
/* Every used entry, sorted by (src, dst); the caller frees; NULL if none. */
struct pair_stat **pairs_sorted(const struct pair_table *t, size_t *n);
/* add one latency to the pair's count, sum, min, max and histogram */
void pair_add(struct pair_stat *p, __u64 lat_ns);
/* p in [0, 100] from the histogram; 0 without one */
__u64 pair_percentile(const struct pair_stat *p, double pct);
void pairs_clear(struct pair_table *t);
void pairs_free(struct pair_table *t);
/* bytes allocated for the table and its histograms */
size_t pairs_bytes(const struct pair_table *t);

#endif
