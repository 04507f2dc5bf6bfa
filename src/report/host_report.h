/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-mode aggregation and report: per-stage latency of the vCPU kick path
 * (delta from the previous observed stage of each IPI, and the total), split
 * by the target's state and by host NUMA class; halt and exit summaries from
 * struct kick. Text (libbpf-tools style) and JSON.
 */
#ifndef __IPT_HOST_REPORT_H
#define __IPT_HOST_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "hist.h"
#include "kick.h"
#include "topology.h"

/* The NUMA class is enum ipt_numa (include/ipitrace.h); these aliases
 * keep host_report.c compiling until it names IPT_NUMA_* itself. */
#define HN_SAME		IPT_NUMA_SAME
#define HN_CROSS	IPT_NUMA_CROSS
#define HN_UNKNOWN	IPT_NUMA_UNKNOWN
#define HN_MAX		IPT_NUMA_MAX
#define TOPO_SAME	IPT_NUMA_SAME
#define TOPO_CROSS	IPT_NUMA_CROSS
#define TOPO_UNKNOWN	IPT_NUMA_UNKNOWN

struct host_agg {
	const struct topology *topo;	/* NULL: NUMA class unknown */
	__u64 ipis;			/* distinct IPIs (results with ipi_first) */
	__u64 results;			/* IPI-target pairs */
	/* [state][stage]; state TS_MAX = all states; stage KS_TOTAL = total */
	__u64 seen[TS_MAX + 1][KS_MAX + 1];	/* results where the stage was observed */
	struct hist st[TS_MAX + 1][KS_MAX + 1];	/* deltas; KS_ICR: sender VM exit -> ICR */
	__u64 numa_count[HN_MAX];
	struct hist numa_total[HN_MAX];
};

/* about 140 KB: allocate with host_agg_new() */
struct host_agg *host_agg_new(const struct topology *topo);
void host_agg_free(struct host_agg *a);
void host_agg_reset(struct host_agg *a);
void host_agg_add(struct host_agg *a, const struct kick_result *r);
/* kick_cb adapter: ctx is the struct host_agg */
void host_agg_cb(const struct kick_result *r, void *ctx);
/* HN_SAME / HN_CROSS / HN_UNKNOWN for two host CPUs */
int host_numa_class(const struct topology *topo, int a, int b);

/* role -> hook description; desc NULL: no hook for that role */
struct hook_desc_pair {
	const char *role;
	const char *desc;
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
/* kick_cb-compatible body: add one completed IPI-target */
/* Keep the first @max results of each report for JSON "samples". */
int host_report_keep_samples(struct host_report *r, size_t max);
void host_report_add(struct host_report *r, const struct kick_result *res);
void host_report_reset(struct host_report *r);
/*
 * Print the report: text, or JSON when @json. @lost holds the span's
 * deltas of the BPF side's enum host_stat counters, @recursion_misses the
 * hook runs the kernel skipped. Halt, exit and VM data come from @k.
 */
void host_report_print(struct host_report *r, const struct kick *k,
		       double duration_s, const __u64 lost[HS_MAX],
		       __u64 recursion_misses, bool json, FILE *f);
const struct host_agg *host_report_agg(const struct host_report *r);

#endif
