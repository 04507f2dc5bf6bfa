// SPDX-License-Identifier: GPL-2.0
/* `ipitrace join [options] GUEST_FILE HOST_FILE`: the joined report. */
#include <stdlib.h>
#include <string.h>
#include "agg.h"
#include "cli.h"
#include "emit.h"
#include "join.h"
#include "opts.h"
#include "rec_cmd.h"

static const struct emit_col seg_cols[] = {
	{ .key = "segment", .title = "SEGMENT", .width = -20 },
	{ .key = "count", .title = "COUNT", .width = 7 },
	{ .key = "mean_ns", .title = "MEAN", .width = 10, .fmt = EMIT_COL_NS },
	{ .key = "p50_ns", .title = "P50", .width = 10, .fmt = EMIT_COL_NS },
	{ .key = "p99_ns", .title = "P99", .width = 10, .fmt = EMIT_COL_NS },
};

static void seg_row(struct emitter *e, const char *name, __u64 count,
		    __s64 sum, const struct hist *h)
{
	emit_obj(e, NULL);
	emit_str(e, "segment", name);
	emit_u64(e, "count", count);
	emit_i64(e, "mean_ns", count ? sum / (__s64)count : 0);
	emit_u64(e, "p50_ns", hist_percentile(h, 50));
	emit_u64(e, "p99_ns", hist_percentile(h, 99));
	emit_end(e);
}

static void emit_group(struct emitter *e, const struct join_group *grp,
		       const char *kind, int numa, int st)
{
	char name[48];
	__s64 sum = 0;
	int p;

	emit_obj_titled(e, NULL, "IPI %s, %s node, target %s: %llu IPIs", kind,
			numa_class_name(numa), st < TS_MAX ? kick_state_name(st) :
			"any state", (unsigned long long)grp->count);
	emit_label(e, "kind", kind);
	emit_label(e, "numa", numa_class_name(numa));
	emit_label(e, "target_state", st < TS_MAX ? kick_state_name(st) : "any");
	emit_u64(e, "count", grp->count);
	emit_table(e, "segments", NULL, seg_cols,
		   sizeof(seg_cols) / sizeof(seg_cols[0]));
	for (p = JP_EXIT; p < JP_MAX; p++) {
		snprintf(name, sizeof(name), "%s->%s", join_point_name(p - 1),
			 join_point_name(p));
		seg_row(e, name, grp->seen[p],
			grp->seg_sum[p], &grp->seg[p]);
		sum += grp->seg_sum[p];
	}
	seg_row(e, "guest latency", grp->count, grp->lat_sum, &grp->lat);
	emit_end(e);
	emit_i64(e, "segment_means_sum_ns", grp->count ? sum / (__s64)grp->count : 0);
	emit_u64(e, "latency_mean_ns", grp->count ? grp->lat_sum / grp->count : 0);
	emit_end(e);
}

static void emit_clock(struct emitter *e, const struct join *j)
{
	__s64 res = j->residual;

	emit_obj_titled(e, "clock", "Clock: %s",
			j->clock == JC_TSC ? "TSC chain (guest and host "
			"CLOCK_MONOTONIC/TSC pairs, the VM's TSC offset)" :
			"aligned on matched send/ICR pairs");
	emit_str(e, "method", j->clock == JC_TSC ? "tsc" : "aligned");
	emit_i64(e, "offset_ns", j->offset);
	emit_bool(e, "tsc_chain", j->have_chain);
	if (j->have_chain) {
		emit_i64(e, "chain_offset_ns", j->chain_offset);
		emit_u64(e, "chain_uncertainty_ns", j->chain_err);
		emit_i64(e, "tsc_offset_spread_cycles", j->tsc_spread);
	}
	if (j->nr && j->lo <= j->hi) {
		emit_i64(e, "fit_lo_ns", j->lo);
		emit_i64(e, "fit_hi_ns", j->hi);
		emit_u64(e, "fit_width_ns", (__u64)(j->hi - j->lo));
	}
	/* how far the clock's offset lay from what all matches allow (the
	 * offset used was moved by as much); -1: no offset fits them all */
	emit_i64(e, "residual_ns", res);
	emit_end(e);
}

static void emit_matching(struct emitter *e, const struct join *j)
{
	int u;

	emit_obj_titled(e, "matching", "Matching (VM pid %u):", j->pid);
	emit_u64(e, "vm_pid", j->pid);
	emit_u64(e, "guest_ipis", j->guest_ipis);
	emit_u64(e, "host_ipis", j->host_ipis);
	emit_u64(e, "host_pv_hypercalls", j->host_pv_sends);
	emit_u64(e, "window_ns", j->window);
	emit_u64(e, "slack_ns", j->slack);
	emit_u64(e, "matched", j->nr);
	emit_dbl(e, "match_rate", j->guest_ipis ?
		 (double)j->nr / j->guest_ipis : 0);
	emit_u64(e, "with_negative_segment", j->negative);
	emit_u64(e, "host_path_outlasts_latency", j->outlasting);
	emit_u64(e, "placed_within_uncertainty", j->placed);
	emit_u64(e, "max_place_ns", j->max_place_ns);
	emit_obj_titled(e, "host_ipis_by_path", "host IPIs by path:");
	for (u = 0; u < JPATH_MAX; u++)
		emit_u64(e, join_path_name(u), j->host_by_path[u]);
	emit_end(e);
	emit_obj_titled(e, "matched_by_path", "matched by path:");
	for (u = 0; u < JPATH_MAX; u++)
		emit_u64(e, join_path_name(u), j->matched_by_path[u]);
	emit_end(e);
	emit_obj_titled(e, "unmatched", "unmatched:");
	for (u = 0; u < JU_MAX; u++)
		emit_u64(e, join_unmatched_name(u), j->unmatched[u]);
	emit_end(e);
	emit_end(e);
}

static void emit_ipis(struct emitter *e, const struct join *j)
{
	enum emit_audience prev = emit_narrow(e, EMIT_DATA);
	size_t i;
	int p;

	emit_list(e, "ipis", NULL);
	for (i = 0; i < j->nr; i++) {
		const struct join_match *m = &j->m[i];
		const struct rec_guest_ipi *g = &j->g->g[m->g];
		const struct rec_host_ipi *h = &j->h->h[m->h];

		emit_obj(e, NULL);
		emit_u64(e, "guest_index", m->g);
		emit_u64(e, "host_index", m->h);
		emit_str(e, "kind", ipi_kind_name(g->kind));
		emit_u64(e, "src", g->src_cpu);
		emit_u64(e, "dst", g->dst_cpu);
		emit_str(e, "numa", numa_class_name(m->numa));
		emit_str(e, "state", kick_state_name(h->state));
		emit_str(e, "path", join_path_name(m->path));
		emit_u64(e, "lat_ns", g->lat_ns);
		emit_bool(e, "outlasts", m->outlasts);
		emit_obj(e, "seg_ns");
		for (p = JP_EXIT; p < JP_MAX; p++)
			if (m->pt[p])
				emit_i64(e, join_point_name(p), m->seg[p]);
		emit_end(e);
		emit_end(e);
	}
	emit_end(e);
	emit_only(e, prev);
}

void join_emit(struct emitter *e, const void *arg)
{
	const struct join *j = arg;
	int kind, numa, st;

	emit_str(e, "mode", "join");
	emit_str(e, "guest_kernel", j->g->kernel);
	emit_str(e, "host_kernel", j->h->kernel);
	emit_clock(e, j);
	emit_matching(e, j);
	emit_list(e, "breakdown", "End to end, guest send -> guest handler "
		  "(host clock; segment i: the previous observed point -> i)");
	for (kind = 0; kind <= JOIN_GROUP_ALL; kind++)
		for (numa = 0; numa < IPT_NUMA_MAX; numa++)
			for (st = 0; st <= TS_MAX; st++) {
				const struct join_group *grp = &j->grp[kind][numa][st];

				/* per kind by target state; all kinds together */
				if (!grp->count ||
				    (st == TS_MAX) != (kind == JOIN_GROUP_ALL))
					continue;
				emit_group(e, grp, kind == JOIN_GROUP_ALL ? "all" :
					   ipi_kind_name(kind), numa, st);
			}
	emit_end(e);
	emit_ipis(e, j);
}

static const char join_intro[] =
"Usage: ipitrace join [options] GUEST_FILE HOST_FILE\n"
"Joins a guest and a host --record file of the same IPIs on the host's\n"
"clock and prints each IPI's path, guest send -> guest handler, cut into\n"
"segments, by kind, NUMA class and the target's state.\n";

struct join_args {
	const char *format;
	const char *perfetto;
	long pid;
	long window_us;
	bool align;
	const char *files[2];
};

#define F(field)	offsetof(struct join_args, field)

static const struct opt_spec join_specs[] = {
	{ "json", 'j', OPT_CUSTOM, .off = F(format), .parse = cli_set_json,
	  .help = "JSON instead of text (with every matched IPI)" },
	{ "format", 0, OPT_STRING, "NAME", .off = F(format),
	  .help = "output format: text, json" },
	{ "perfetto", 0, OPT_STRING, "FILE", .off = F(perfetto),
	  .help = "also write the timeline as Chrome/Perfetto trace-event\n"
		  "JSON (ui.perfetto.dev, chrome://tracing)" },
	{ "pid", 'p', OPT_LONG, "PID", .off = F(pid), .min = 1, .max = 1L << 30,
	  .help = "the guest's VM (default: the VM with the most IPIs)" },
	{ "window-us", 0, OPT_LONG, "US", .off = F(window_us), .min = 1,
	  .max = 10000000, .help = "an ICR write at most US after the send (20000)" },
	{ "align", 0, OPT_FLAG, .off = F(align),
	  .help = "align the clocks on matched pairs even where the\n"
		  "TSC relations are recorded" },
};

static const struct opt_table join_table = {
	.prog = "ipitrace join",
	.specs = join_specs,
	.nr = sizeof(join_specs) / sizeof(join_specs[0]),
};

static int run(const struct join_args *a, const struct emit_backend *be,
	       struct record *g, struct record *h)
{
	struct join_opts o = {
		.pid = a->pid, .window_ns = a->window_us * 1000ULL,
		.align = a->align,
	};
	struct join *j = calloc(1, sizeof(*j));
	char err[256];
	int ret = 1;

	if (!j) {
		fprintf(stderr, "ipitrace join: out of memory\n");
		return 1;
	}
	if (join_run(j, g, h, &o, err, sizeof(err))) {
		fprintf(stderr, "ipitrace join: %s\n", err);
		goto out;
	}
	if (a->perfetto && (ret = join_perfetto(j, a->perfetto))) {
		fprintf(stderr, "ipitrace join: cannot write %s: %s\n",
			a->perfetto, strerror(-ret));
		ret = 1;
		goto out;
	}
	ret = emit_document(stdout, be, join_emit, j) ? 1 : 0;
out:
	join_free(j);
	free(j);
	return ret;
}

int join_main(int argc, char **argv)
{
	struct join_args a = { .format = "text", .window_us = 20000 };
	const struct emit_backend *be;
	struct record g, h;
	int ret;

	ret = rec_cmd_args(&join_table, join_intro, argc, argv, &a, a.files, 2,
			   &a.format, &be);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (rec_cmd_read("ipitrace join", a.files[0], &g))
		return 1;
	if (rec_cmd_read("ipitrace join", a.files[1], &h)) {
		rec_free(&g);
		return 1;
	}
	ret = run(&a, be, &g, &h);
	rec_free(&g);
	rec_free(&h);
	return ret;
}
