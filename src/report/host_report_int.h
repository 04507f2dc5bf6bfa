/* SPDX-License-Identifier: GPL-2.0 */
/* Inside the host report (host_report.c, host_metrics.c): the report
 * object and the counter table generated from HOST_COUNTERS /
 * HOST_LOSSES (ipitrace_host.h). */
#ifndef __IPT_HOST_REPORT_INT_H
#define __IPT_HOST_REPORT_INT_H

#include "host_report.h"
#include "ipitrace.h"

#ifndef ARRAY_SIZE
#endif

struct host_report {
	struct host_agg *agg;
	bool hooked[KS_MAX];
	bool exit_hooked;
	struct hook_desc_pair *hooks;	/* owned copies */
	int nr_hooks;
	bool kick_detail;
	bool halt_detail;
	bool exit_detail;
	/* set by host_report_print() / host_report_scrape() */
	const struct kick *kick;
	double duration_s;
	__u64 lost[HS_MAX];
	__u64 misses;
	/* --samples N: the first N followed IPIs, stage by stage (JSON) */
	struct kick_result *samples;
	size_t nr_samples, max_samples;
	emit_fn extra;		/* host_report_set_extra() */
	const void *extra_arg;
};

enum host_counter_src {
	HC_SRC_KERNEL,		/* .slot of the BPF stats array */
	HC_SRC_MODEL,		/* a __u64 of struct kick_stats at .off */
	HC_SRC_LOADER,		/* the programs' recursion misses */
};

struct host_counter {
	const char *key;
	const char *doc;
	enum host_counter_src src;
	int slot;
	size_t off;
};

extern const struct host_counter host_counters[], host_losses[];
extern const size_t host_nr_counters, host_nr_losses;

__u64 host_counter_value(const struct host_report *r,
			 const struct host_counter *c);
/* The stage at position @i of the path, then KS_TOTAL (i == KS_MAX). */
int host_stage_seq(int i);
/* @v when @ok, else null */
void host_emit_lat(struct emitter *e, const char *key, bool ok, __u64 v);
/* The scrape's families from r->agg, r->kick, r->lost and r->misses. */
void host_scrape_emit(struct emitter *e, const struct host_report *r);

#endif
