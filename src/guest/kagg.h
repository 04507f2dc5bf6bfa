/* SPDX-License-Identifier: GPL-2.0 */
/* Aggregate mode: snapshots of the in-kernel histograms and pair totals,
 * and the difference of two snapshots as an interval's aggregation. */
#ifndef __IPT_KAGG_H
#define __IPT_KAGG_H

#include <linux/types.h>
#include "agg.h"
#include "hist.h"

struct kagg_snap {
	int nr_cpus;			/* of the pair matrix */
	struct hist h[IPT_AGG_SLOTS];
	struct ipt_pair_val *pairs;	/* [src * nr_cpus + dst] */
};

int kagg_snap_init(struct kagg_snap *s, int nr_cpus);
void kagg_snap_free(struct kagg_snap *s);
/* Sum the per-CPU histogram map and read the pair map (pair_fd < 0: no
 * pairs, they come from records). */
int kagg_read(struct kagg_snap *s, int hist_fd, int pair_fd);

#define KAGG_IPI	1	/* IPI classes */
#define KAGG_CSD	2	/* CSD classes */
#define KAGG_PAIRS	4
#define KAGG_ALL	(KAGG_IPI | KAGG_CSD | KAGG_PAIRS)

/* a's @what := cur - prev (prev NULL: since start) */
void kagg_fill(struct agg *a, const struct kagg_snap *cur,
	       const struct kagg_snap *prev, unsigned int what);

#endif
