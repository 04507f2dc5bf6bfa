// SPDX-License-Identifier: GPL-2.0
/* The /metrics scrape of host mode (see host_report.h): metric families of
 * the kick-path stages, halts, exits and the host counters. */
#include <string.h>
#include "host_exits.h"
#include "host_halts.h"
#include "host_report_int.h"


static void stage_family(struct emitter *e, const struct host_agg *a)
{
	int st, i, s;

	emit_family(e, "ipitrace_host_stage_latency_seconds", EMIT_HISTOGRAM,
		    "seconds", "vCPU kick path: each stage's delta from the "
		    "previous observed stage of the IPI (icr_write: from the "
		    "sender's VM exit; total: ICR write to the last stage), by "
		    "the target's state when it arrived.");
	for (st = 0; st < TS_MAX; st++) {
		for (i = 0; i <= KS_MAX; i++) {
			s = host_stage_seq(i);
			if (!a->st[st][s].count)
				continue;
			emit_obj(e, NULL);
			emit_label(e, "stage", kick_stage_name(s));
			emit_label(e, "state", kick_state_name(st));
			emit_hist(e, NULL, &a->st[st][s]);
			emit_end(e);
		}
	}
	emit_end(e);
	emit_family(e, "ipitrace_host_ipi_latency_seconds", EMIT_HISTOGRAM,
		    "seconds", "ICR write to the target vCPU's last observed "
		    "stage, by host NUMA class of the two vCPU threads' CPUs.");
	for (i = 0; i < IPT_NUMA_MAX; i++) {
		if (!a->numa_total[i].count)
			continue;
		emit_obj(e, NULL);
		emit_label(e, "numa", numa_class_name(i));
		emit_hist(e, NULL, &a->numa_total[i]);
		emit_end(e);
	}
	emit_end(e);
}

static void counter_family(struct emitter *e, const struct host_report *r,
			   const char *name, const char *label,
			   const char *help, const struct host_counter *c,
			   size_t n)
{
	size_t i;

	emit_family(e, name, EMIT_COUNTER, NULL, help);
	for (i = 0; i < n; i++) {
		emit_obj(e, NULL);
		emit_label(e, label, c[i].key);
		emit_u64(e, "value", host_counter_value(r, &c[i]));
		emit_end(e);
	}
	emit_end(e);
}

void host_scrape_emit(struct emitter *e, const struct host_report *r)
{
	emit_family(e, "ipitrace_host_ipis", EMIT_COUNTER, NULL,
		    "Guest IPIs followed through the host (distinct IPIs).");
	emit_obj(e, NULL);
	emit_u64(e, "value", r->agg->ipis);
	emit_end(e);
	emit_end(e);
	stage_family(e, r->agg);
	host_halts_scrape(e, r->kick);
	host_exits_scrape(e, r->kick);
	counter_family(e, r, "ipitrace_host_events", "counter",
		       "Host-mode event counters.",
		       host_counters, host_nr_counters);
	counter_family(e, r, "ipitrace_host_lost", "reason",
		       "Host-mode events ipitrace could not account for.",
		       host_losses, host_nr_losses);
}

void host_report_scrape(struct emitter *e, struct host_report *r,
			const struct kick *k, const __u64 lost[HS_MAX],
			__u64 misses)
{
	r->kick = k;
	memcpy(r->lost, lost, sizeof(r->lost));
	r->misses = misses;
	host_scrape_emit(e, r);
}
