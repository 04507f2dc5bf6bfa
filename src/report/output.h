/* SPDX-License-Identifier: GPL-2.0 */
/* Guest-mode report: text (libbpf-tools style) and JSON. */
#ifndef __IPT_OUTPUT_H
#define __IPT_OUTPUT_H

#include <stdio.h>
#include <linux/types.h>
#include "agg.h"
#include "hooks.h"
#include "hist.h"
#include "ksyms.h"

struct guest_report {
	double duration_s;
	const struct hook_role *roles;
	int nr_roles;
	__u64 stats[ST_MAX];		/* counters for this report's span */
	__u64 recursion_misses;		/* hook runs the kernel skipped */
	const struct agg *agg;
	const struct ksyms *ksyms;
	int cpu_pairs;
	int callers;
};

struct named_count {
	const char *name;
	__u64 value;
};

#define REPORT_MAX_COUNTERS	16

/* The counters and the loss counters of a report, as name/value lists;
 * returns how many went into each. */
void report_counter_lists(const struct guest_report *r,
			  struct named_count *counters, int *nr_counters,
			  struct named_count *lost, int *nr_lost);
void report_text(FILE *f, const struct guest_report *r);
void report_json(FILE *f, const struct guest_report *r);
/* "12.3us" style */
const char *fmt_ns(__u64 ns, char *buf, size_t len);
void print_log2_hist(FILE *f, const struct hist *h, const char *unit);
/* true when any loss counter is non-zero */
int report_lost_total(const struct guest_report *r, __u64 *total);

#endif
