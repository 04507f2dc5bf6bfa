/* SPDX-License-Identifier: GPL-2.0 */
/* Aggregation of paired IPI records: histograms by (NUMA class, kind),
 * per-CSD latency, a source x target CPU matrix and top senders. */
#ifndef __IPT_AGG_H
#define __IPT_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "ipitrace.h"
#include "hist.h"
#include "pairs.h"
#include "topology.h"

struct caller_stat {
	__u64 callsite;
	__u64 func;
	__u8 type;
	__u8 kind;
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns;
};

struct agg {
	const struct topology *topo;
	int nr_cpus;
	struct hist ipi[IPT_NUMA_MAX][IPI_KIND_MAX];
	struct hist csd[IPT_NUMA_MAX];
	struct pair_table pairs;	/* the (src, dst) pairs seen */
	struct caller_stat *callers;	/* open addressing, cap_callers slots */
	size_t nr_callers;
	size_t cap_callers;
	__u64 out_of_range;		/* records with a CPU id >= nr_cpus */
	bool pairs_mean_only;		/* aggregate mode: pair counts and sums only */
	bool no_pairs;			/* no pair table (only -C prints it) */
};

const char *ipi_kind_name(int kind);
int agg_init(struct agg *a, const struct topology *t, int nr_cpus);
void agg_add(struct agg *a, const struct ipi_event *e);
void agg_reset(struct agg *a);
void agg_free(struct agg *a);
int agg_numa_class(const struct agg *a, __u32 src, __u32 dst);
/* NULL: no IPI seen from src to dst */
const struct pair_stat *agg_pair(const struct agg *a, int src, int dst);
__u64 agg_pair_kind(const struct agg *a, int src, int dst, int kind);
/* Aggregate mode: histograms and pair totals read from the kernel. */
void agg_set_class(struct agg *a, int numa, int kind, const struct hist *h);
void agg_set_pair(struct agg *a, int src, int dst, const __u64 *kind_counts,
		  __u64 sum_ns);
/* mean / median latency of a pair, 0 if none (median: 0 in mean-only) */
__u64 agg_pair_mean(const struct agg *a, int src, int dst);
__u64 agg_pair_median(const struct agg *a, const struct pair_stat *p);
/* callers sorted by count, descending; returns how many (<= max) */
size_t agg_top_callers(const struct agg *a, struct caller_stat *out,
		       size_t max);

#endif
