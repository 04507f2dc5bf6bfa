/* SPDX-License-Identifier: GPL-2.0 */
/* Aggregate mode: snapshots of the in-kernel histograms and pair totals,
 * and the difference of two snapshots as an interval's aggregation. */
#ifndef __IPT_KAGG_H
#define __IPT_KAGG_H

#include <stddef.h>
#include <linux/types.h>
#include "agg.h"
#include "hist.h"

struct bpf_map;

/* One CPU pair of the kernel's pair map. */
struct kagg_pair {
	__u32 key;			/* src << 16 | dst: the sort order */
	struct ipt_pair_val v;
};

struct kagg_snap {
	int nr_cpus;
	struct hist h[IPT_AGG_SLOTS];
	struct kagg_pair *pairs;	/* the pairs seen, sorted by key */
	size_t nr_pairs;
	size_t cap_pairs;
	unsigned int reads;		/* map-read syscalls of the last read */
};

int kagg_snap_init(struct kagg_snap *s, int nr_cpus);
void kagg_snap_free(struct kagg_snap *s);
/* Put one pair in a snapshot (tests, benchmarks); keeps the order. */
int kagg_snap_set_pair(struct kagg_snap *s, __u32 src, __u32 dst,
		       const struct ipt_pair_val *v);
/* Sum the per-CPU histogram map and read the pair map, a batch of pairs
 * per syscall (pair_fd < 0: no pairs, they come from records). */
int kagg_read(struct kagg_snap *s, int hist_fd, int pair_fd);

#define KAGG_IPI	1	/* IPI classes */
#define KAGG_CSD	2	/* CSD classes */
#define KAGG_PAIRS	4
#define KAGG_ALL	(KAGG_IPI | KAGG_CSD | KAGG_PAIRS)

/* Size the BPF pair map for nr_cpus (before the object is loaded): without
 * preallocation where the kernel lets tracing programs use that (6.1+),
 * so kernel memory follows the pairs seen; else preallocated, at most
 * KAGG_PREALLOC_PAIRS. A pair the full map refuses is a counted loss. */
#define KAGG_PREALLOC_PAIRS	65536
void kagg_size_pair_map(struct bpf_map *m, int nr_cpus, const char *release);

/* a's @what := cur - prev (prev NULL: since start) */
void kagg_fill(struct agg *a, const struct kagg_snap *cur,
	       const struct kagg_snap *prev, unsigned int what);

#endif
