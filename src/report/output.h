/* SPDX-License-Identifier: GPL-2.0 */
/* Guest-mode reports through the report layer (emit.h): the interval
 * report and the /metrics scrape. */
#ifndef __IPT_OUTPUT_H
#define __IPT_OUTPUT_H

#include <stdio.h>
#include <linux/types.h>
#include "agg.h"
#include "emit.h"
#include "hooks.h"
#include "hist.h"
#include "ksyms.h"

struct guest_report {
	double duration_s;
	const struct hook_role *roles;
	int nr_roles;
	__u64 stats[ST_ALL];		/* counters for this report's span */
	const struct agg *agg;
	const struct ksyms *ksyms;
	int cpu_pairs;
	int callers;
};

/* One report: latency by kind and NUMA class, optional CPU pairs and top
 * callers, every counter and loss of IPT_COUNTERS / IPT_LOSSES; metrics
 * back ends get the scrape's families with this span's values. */
void report_guest(struct emitter *e, const struct guest_report *r);
/* report_guest() as one document on @f; 0 or -errno */
int report_print(FILE *f, const struct emit_backend *be,
		 const struct guest_report *r);
/* One scrape (cumulative values): the latency histograms and the counter
 * and loss families. r->duration_s, roles, pairs and callers are unused. */
void scrape_guest(struct emitter *e, const struct guest_report *r);
/* the value a report gives counter or loss @stat */
__u64 report_stat(const struct guest_report *r, int stat);
/* true when any loss counter is non-zero */
int report_lost_total(const struct guest_report *r, __u64 *total);

#endif
