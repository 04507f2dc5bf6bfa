/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-mode aggregation and report: per-stage latency of the vCPU kick path
 * (delta from the previous observed stage of each IPI, and the total), split
 * by the target's state and by host NUMA class; halt and exit summaries from
 * struct kick; one host_report_emit() for every back end (emit.h), and the
 * /metrics scrape of host mode (host_metrics.c).
 */
#ifndef __IPT_HOST_REPORT_H
#define __IPT_HOST_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "emit.h"
#include "hist.h"
#include "kick.h"
#include "topology.h"

struct host_agg {
	const struct topology *topo;	/* NULL: NUMA class unknown */
	__u64 ipis;			/* distinct IPIs (results with ipi_first) */
	__u64 results;			/* IPI-target pairs */
	/* [state][stage]; state TS_MAX = all states; stage KS_TOTAL = total */
	__u64 seen[TS_MAX + 1][KS_MAX + 1];	/* results where the stage was observed */
	struct hist st[TS_MAX + 1][KS_MAX + 1];	/* deltas; KS_ICR: sender VM exit -> ICR */
	__u64 numa_count[IPT_NUMA_MAX];
	struct hist numa_total[IPT_NUMA_MAX];
};

/* about 140 KB: allocate with host_agg_new() */
struct host_agg *host_agg_new(const struct topology *topo);
void host_agg_free(struct host_agg *a);
void host_agg_reset(struct host_agg *a);
void host_agg_add(struct host_agg *a, const struct kick_result *r);
/* kick_cb adapter: ctx is the struct host_agg */
void host_agg_cb(const struct kick_result *r, void *ctx);
/* enum ipt_numa for two host CPUs */
int host_numa_class(const struct topology *topo, int a, int b);

/* role -> hook description; desc NULL: no hook for that role */
struct hook_desc_pair {
	const char *role;
	const char *desc;
	const char *btf;	/* BTF object of a tp_btf/fentry hook, or NULL */
};

struct host_report;

/*
 * @hooked: per stage, whether a hook feeding it is attached (a stage with
 * no samples prints "no hook" vs "hook attached, never fired").
 * @hooks: copied (strings too); the role named "vm_exit" tells whether
 * kvm_exit is attached. @topo must outlive the report.
 */
struct host_report *host_report_new(const struct topology *topo,
				    const bool hooked[KS_MAX],
				    const struct hook_desc_pair *hooks,
				    int nr_hooks);
void host_report_free(struct host_report *r);
/* --vcpu-kick: per-state tables and stage histograms;
 * --halt: halt histogram, per-vCPU table, exit-reason table */
void host_report_set_view(struct host_report *r, bool vcpu_kick, bool halt);
/* --exits: the exit tables (also shown with --halt) */
void host_report_show_exits(struct host_report *r, bool exits);
/* kick_cb-compatible body: add one completed IPI-target */
/* Keep the first @max results of each report for JSON "samples". */
int host_report_keep_samples(struct host_report *r, size_t max);
void host_report_add(struct host_report *r, const struct kick_result *res);
void host_report_reset(struct host_report *r);
/* Extra members emitted into the next report, before its counters (the
 * live advice with the final report); fn NULL: none. */
void host_report_set_extra(struct host_report *r, emit_fn fn, const void *arg);
/*
 * Print the report with back end @be. @lost holds the span's values of
 * the BPF side's enum host_stat counters, @recursion_misses the hook runs
 * the kernel skipped. Halt, exit and VM data come from @k. 0 or -errno.
 */
int host_report_print(struct host_report *r, const struct kick *k,
		      double duration_s, const __u64 lost[HS_MAX],
		      __u64 recursion_misses, const struct emit_backend *be,
		      FILE *f);
/* The report as host_report_print() left it, into an open document. */
void host_report_emit(struct emitter *e, const struct host_report *r);
/* One /metrics scrape: the families of the stages, halts, exits and the
 * counters, from @r's aggregation and @k, with @lost and @misses as the
 * values since start (host_metrics.c). */
void host_report_scrape(struct emitter *e, struct host_report *r,
			const struct kick *k, const __u64 lost[HS_MAX],
			__u64 misses);
const struct host_agg *host_report_agg(const struct host_report *r);

#endif
