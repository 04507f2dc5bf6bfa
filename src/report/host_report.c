// SPDX-License-Identifier: GPL-2.0
/* Host-mode aggregation and report (see host_report.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "host_exits.h"
#include "host_halts.h"
#include "host_report.h"
#include "json.h"
#include "output.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *numa_names[HN_MAX] = { "same", "cross", "unknown" };

/* The stage at position @i of the path, then "total" (i == KS_MAX). */
static int stage_seq(int i)
{
	return i < KS_MAX ? kick_stage_at(i) : KS_TOTAL;
}

struct host_report {
	struct host_agg *agg;
	bool hooked[KS_MAX];
	bool exit_hooked;
	struct hook_desc_pair *hooks;	/* owned copies */
	int nr_hooks;
	bool kick_detail;
	bool halt_detail;
	bool exit_detail;
	/* set by host_report_print() */
	const struct kick *kick;
	double duration_s;
	__u64 lost[HS_MAX];
	__u64 misses;
	/* --samples N: the first N followed IPIs, stage by stage (JSON) */
	struct kick_result *samples;
	size_t nr_samples, max_samples;
};

/*
 * Every counter of the report, text and JSON alike: from the BPF side's
 * enum host_stat (bpf >= 0), the model's struct kick_stats (at ks_off), or
 * the programs' recursion misses.
 */
enum { SEC_COUNTERS, SEC_LOST };

static const struct counter {
	const char *key;
	int sec;
	int bpf;
	size_t ks_off;
	bool misses;
} counters[] = {
#define BPF(key, sec, stat)	{ key, sec, stat, 0, false }
#define KS(key, sec, field)	{ key, sec, -1, offsetof(struct kick_stats, field), false }
	BPF("events", SEC_COUNTERS, HS_EVENTS),
	BPF("consumer_wakeups", SEC_COUNTERS, HS_RB_WAKEUP),
	KS("ipis", SEC_COUNTERS, ipis),
	KS("results", SEC_COUNTERS, results),
	KS("filtered", SEC_COUNTERS, filtered),
	KS("superseded", SEC_COUNTERS, superseded),
	KS("timed_out", SEC_COUNTERS, timed_out),
	KS("learned_threads", SEC_COUNTERS, learned),
	KS("unattributed_halts", SEC_COUNTERS, unattributed_halts),
	KS("foreign_ipis", SEC_COUNTERS, foreign_ipis),
	BPF("ringbuf_drops", SEC_LOST, HS_RB_DROP),
	BPF("vcpu_map_full", SEC_LOST, HS_VCPU_MAP_FULL),
	{ "recursion_misses", SEC_LOST, -1, 0, true },
	KS("ipis_without_target", SEC_LOST, no_target),
	KS("out_of_order_events", SEC_LOST, out_of_order),
#undef BPF
#undef KS
};

static __u64 counter_value(const struct host_report *r, const struct counter *c)
{
	const struct kick_stats *ks = kick_get_stats(r->kick);

	if (c->misses)
		return r->misses;
	if (c->bpf >= 0)
		return r->lost[c->bpf];
	return *(const __u64 *)((const char *)ks + c->ks_off);
}

/* --- stage rows: shared by text and JSON --- */

enum row_kind {
	ROW_DATA,		/* samples */
	ROW_EMPTY,		/* observable, nothing in this row */
	ROW_NO_HOOK,
	ROW_NEVER_FIRED,
};

static bool stage_hooked(const struct host_report *r, int s)
{
	int i;

	if (s < KS_MAX)
		return r->hooked[s];
	for (i = 0; i < KS_MAX; i++)
		if (r->hooked[i])
			return true;
	return false;
}

/* Observable: the stage has samples anywhere in the run, or events of its
 * hook fired. "total" is observable when any IPI had a stage after ICR. */
static int stage_kind(const struct host_report *r, int state, int s)
{
	const struct host_agg *a = r->agg;
	bool obs = a->seen[TS_MAX][s] ||
		   (s < KS_MAX && kick_stage_events(r->kick, s));

	if (!obs)
		return stage_hooked(r, s) ? ROW_NEVER_FIRED : ROW_NO_HOOK;
	return a->st[state][s].count ? ROW_DATA : ROW_EMPTY;
}

static const char *why_not(int kind)
{
	return kind == ROW_NO_HOOK ?
		"not observable on this kernel (no hook)" :
		"not observable on this kernel (hook attached, never fired)";
}

/* --- text --- */

static void text_stage_row(FILE *f, const struct host_report *r, int state,
			   int s)
{
	const struct host_agg *a = r->agg;
	const struct hist *h = &a->st[state][s];
	int kind = stage_kind(r, state, s);
	char b1[32], b2[32], b3[32];

	fprintf(f, "%-10s ", kick_stage_name(s));
	if (kind == ROW_NO_HOOK || kind == ROW_NEVER_FIRED) {
		fprintf(f, "%s\n", why_not(kind));
		return;
	}
	fprintf(f, "%8llu ", (unsigned long long)a->seen[state][s]);
	if (kind == ROW_EMPTY) {
		fprintf(f, "%10s %10s %10s  %s\n", "-", "-", "-",
			s == KS_ICR ? "(origin; no VM exit seen before it)" :
				      "(not seen on these IPIs)");
		return;
	}
	fprintf(f, "%10s %10s %10s%s\n", fmt_ns(hist_mean(h), b1, sizeof(b1)),
		fmt_ns(hist_percentile(h, 50), b2, sizeof(b2)),
		fmt_ns(hist_percentile(h, 99), b3, sizeof(b3)),
		s == KS_ICR ? "  (from the sender's VM exit)" : "");
}

static void text_stage_table(FILE *f, const struct host_report *r, int state)
{
	int i;

	fprintf(f, "%-10s %8s %10s %10s %10s\n", "STAGE", "COUNT", "MEAN",
		"P50", "P99");
	for (i = 0; i <= KS_MAX; i++)
		text_stage_row(f, r, state, stage_seq(i));
}

static void text_kick(FILE *f, const struct host_report *r)
{
	const struct host_agg *a = r->agg;
	char b1[32], b2[32];
	int st, i, s, n;

	fprintf(f, "\nIPIs followed: %llu (%llu targets)\n",
		(unsigned long long)a->ipis, (unsigned long long)a->results);
	fprintf(f, "\nvCPU kick path, delta from the previous observed stage:\n");
	text_stage_table(f, r, TS_MAX);
	for (st = 0; r->kick_detail && st < TS_MAX; st++) {
		if (!a->seen[st][KS_ICR])
			continue;
		fprintf(f, "\nTarget %s when the IPI arrived: %llu\n",
			kick_state_name(st),
			(unsigned long long)a->seen[st][KS_ICR]);
		text_stage_table(f, r, st);
	}
	fprintf(f, "\nTotal by host NUMA class of the two vCPU threads' CPUs:\n");
	for (n = 0; n < HN_MAX; n++) {
		const struct hist *h = &a->numa_total[n];

		if (!h->count)
			continue;
		fprintf(f, "  %-7s node: count %llu  p50 %s  p99 %s\n",
			numa_names[n], (unsigned long long)h->count,
			fmt_ns(hist_percentile(h, 50), b1, sizeof(b1)),
			fmt_ns(hist_percentile(h, 99), b2, sizeof(b2)));
	}
	for (i = 1; r->kick_detail && i <= KS_MAX; i++) {
		s = stage_seq(i);
		if (!a->st[TS_MAX][s].count)
			continue;
		fprintf(f, "\n%s:\n", kick_stage_name(s));
		print_log2_hist(f, &a->st[TS_MAX][s], "nsecs");
	}
}

/* vCPUs of the VM of vCPU entry @i when @i is the VM's first known entry
 * (passing the pid filter), else 0 */
static int vm_vcpus(const struct kick *k, size_t i)
{
	const struct kick_vcpu_info *v = kick_vcpu_at(k, i), *o;
	size_t j;
	int n = 0;

	if (!v->known || !kick_filter_match(k, v->pid, -1))
		return 0;
	for (j = 0; j < kick_nr_vcpus(k); j++) {
		o = kick_vcpu_at(k, j);
		if (!o->known || o->pid != v->pid)
			continue;
		if (j < i)
			return 0;
		n++;
	}
	return n;
}

static void text_vms(FILE *f, const struct kick *k)
{
	size_t i;
	int n, shown = 0;

	for (i = 0; i < kick_nr_vcpus(k); i++) {
		n = vm_vcpus(k, i);
		if (n)
			fprintf(f, "%s pid %u (%d vCPUs)", shown++ ? "," : " VMs:",
				kick_vcpu_at(k, i)->pid, n);
	}
	if (!shown)
		fprintf(f, " no VM seen");
}

static void text_counters(FILE *f, const struct host_report *r)
{
	const struct kick_stats *ks = kick_get_stats(r->kick);
	static const char *title[] = { "\nCounters:", "\nLost:" };
	size_t i;
	int sec, p, s;

	for (sec = SEC_COUNTERS; sec <= SEC_LOST; sec++) {
		fputs(title[sec] + (sec == SEC_LOST), f);
		for (i = 0; i < ARRAY_SIZE(counters); i++)
			if (counters[i].sec == sec)
				fprintf(f, " %s=%llu", counters[i].key,
					(unsigned long long)counter_value(r, &counters[i]));
		fputc('\n', f);
	}
	if (!ks->out_of_order)
		return;
	fprintf(f, "Out of order, by stage refused:");
	for (p = 0; p < KS_MAX; p++) {
		s = kick_stage_at(p);
		if (ks->out_of_order_by[s])
			fprintf(f, " %s=%llu", kick_stage_name(s),
				(unsigned long long)ks->out_of_order_by[s]);
	}
	fputc('\n', f);
}

static void host_text(FILE *f, const struct host_report *r)
{
	fprintf(f, "\n--- %.1f s --- host,", r->duration_s);
	text_vms(f, r->kick);
	fputc('\n', f);
	text_kick(f, r);
	host_halts_text(f, r->kick, r->halt_detail, r->hooked[KS_HALT_END]);
	host_exits_text(f, r->kick, r->halt_detail || r->exit_detail,
			r->exit_hooked);
	text_counters(f, r);
	fflush(f);
}

/* --- JSON --- */

static void json_lat(struct jw *w, const char *key, bool ok, __u64 v)
{
	if (ok)
		jw_u64(w, key, v);
	else
		jw_null(w, key);
}

static void json_stages(struct jw *w, const struct host_report *r, int state)
{
	const struct host_agg *a = r->agg;
	int i, s;

	jw_arr(w, "stages");
	for (i = 0; i <= KS_MAX; i++) {
		const struct hist *h = &a->st[state][s = stage_seq(i)];
		int kind = stage_kind(r, state, s);
		bool data = kind == ROW_DATA;

		jw_obj(w, NULL);
		jw_str(w, "name", kick_stage_name(s));
		jw_bool(w, "observable", kind == ROW_DATA || kind == ROW_EMPTY);
		jw_u64(w, "count", data || kind == ROW_EMPTY ? a->seen[state][s] : 0);
		json_lat(w, "p50_ns", data, hist_percentile(h, 50));
		json_lat(w, "p99_ns", data, hist_percentile(h, 99));
		json_lat(w, "mean_ns", data, hist_mean(h));
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void json_by_state(struct jw *w, const struct host_report *r)
{
	int st;

	jw_obj(w, "by_target_state");
	for (st = 0; st < TS_MAX; st++) {
		jw_obj(w, kick_state_name(st));
		jw_u64(w, "count", r->agg->seen[st][KS_ICR]);
		json_stages(w, r, st);
		jw_obj_end(w);
	}
	jw_obj_end(w);
}

static void json_numa(struct jw *w, const struct host_agg *a)
{
	int n;

	jw_obj(w, "by_numa");
	for (n = HN_SAME; n <= HN_CROSS; n++) {
		const struct hist *h = &a->numa_total[n];

		jw_obj(w, numa_names[n]);
		jw_u64(w, "count", h->count);
		json_lat(w, "total_p50_ns", h->count, hist_percentile(h, 50));
		json_lat(w, "total_p99_ns", h->count, hist_percentile(h, 99));
		jw_obj_end(w);
	}
	jw_obj_end(w);
}

static void json_vms(struct jw *w, const struct kick *k)
{
	size_t i;
	int n;

	jw_arr(w, "vms");
	for (i = 0; i < kick_nr_vcpus(k); i++) {
		n = vm_vcpus(k, i);
		if (!n)
			continue;
		jw_obj(w, NULL);
		jw_u64(w, "pid", kick_vcpu_at(k, i)->pid);
		jw_u64(w, "vcpus", n);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* Raw per-IPI stage timestamps (bpf_ktime_get_ns, CLOCK_MONOTONIC), null
 * for stages not seen, so that a test can hold them against its own clock. */
static void json_samples(struct jw *w, const struct host_report *r)
{
	size_t j;
	int i, s;

	jw_arr(w, "samples");
	for (j = 0; j < r->nr_samples; j++) {
		const struct kick_result *x = &r->samples[j];

		jw_obj(w, NULL);
		jw_u64(w, "ipi", x->ipi_id);
		jw_u64(w, "vm_pid", x->vm_pid);
		jw_i64(w, "src_vcpu", x->src_vcpu);
		jw_i64(w, "dst_vcpu", x->dst_vcpu);
		jw_str(w, "state", kick_state_name(x->state));
		jw_obj(w, "t_ns");
		for (i = 0; i < KS_MAX; i++) {
			s = kick_stage_at(i);
			if (x->t[s])
				jw_u64(w, kick_stage_name(s), x->t[s]);
			else
				jw_null(w, kick_stage_name(s));
		}
		jw_obj_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void json_counters(struct jw *w, const struct host_report *r, int sec,
			  const char *key)
{
	size_t i;

	jw_obj(w, key);
	for (i = 0; i < ARRAY_SIZE(counters); i++)
		if (counters[i].sec == sec)
			jw_u64(w, counters[i].key, counter_value(r, &counters[i]));
	jw_obj_end(w);
}

static void host_json(FILE *f, const struct host_report *r)
{
	const struct kick_stats *ks = kick_get_stats(r->kick);
	struct jw w;
	size_t i;

	jw_init(&w, f);
	jw_obj(&w, NULL);
	jw_str(&w, "mode", "host");
	jw_dbl(&w, "duration_s", r->duration_s);
	jw_obj(&w, "hooks");
	for (i = 0; i < (size_t)r->nr_hooks; i++)
		jw_str(&w, r->hooks[i].role, r->hooks[i].desc);
	jw_obj_end(&w);
	/* the BTF object (vmlinux or a module) of each tp_btf/fentry hook */
	jw_obj(&w, "hooks_btf");
	for (i = 0; i < (size_t)r->nr_hooks; i++)
		if (r->hooks[i].btf)
			jw_str(&w, r->hooks[i].role, r->hooks[i].btf);
	jw_obj_end(&w);
	json_counters(&w, r, SEC_LOST, "lost");
	json_counters(&w, r, SEC_COUNTERS, "counters");
	jw_obj(&w, "out_of_order_by_stage");
	for (i = 0; i < KS_MAX; i++)
		jw_u64(&w, kick_stage_name(kick_stage_at(i)),
		       ks->out_of_order_by[kick_stage_at(i)]);
	jw_obj_end(&w);
	jw_u64(&w, "ipis", r->agg->ipis);
	json_vms(&w, r->kick);
	json_stages(&w, r, TS_MAX);
	json_by_state(&w, r);
	json_numa(&w, r->agg);
	host_halts_json(&w, r->kick);
	host_exits_json(&w, r->kick);
	if (r->max_samples)
		json_samples(&w, r);
	jw_obj_end(&w);
	jw_done(&w);
}

/* --- the report object --- */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int copy_hooks(struct host_report *r, const struct hook_desc_pair *h,
		      int n)
{
	int i;

	r->hooks = calloc(n > 0 ? n : 1, sizeof(*r->hooks));
	if (!r->hooks)
		return -ENOMEM;
	r->nr_hooks = n;
	for (i = 0; i < n; i++) {
		r->hooks[i].role = dup_or_null(h[i].role);
		r->hooks[i].desc = dup_or_null(h[i].desc);
		r->hooks[i].btf = dup_or_null(h[i].btf);
		if ((h[i].role && !r->hooks[i].role) ||
		    (h[i].desc && !r->hooks[i].desc) ||
		    (h[i].btf && !r->hooks[i].btf))
			return -ENOMEM;
		if (h[i].role && !strcmp(h[i].role, "vm_exit") && h[i].desc)
			r->exit_hooked = true;
	}
	return 0;
}

struct host_report *host_report_new(const struct topology *topo,
				    const bool hooked[KS_MAX],
				    const struct hook_desc_pair *hooks,
				    int nr_hooks)
{
	struct host_report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->agg = host_agg_new(topo);
	if (hooked)
		memcpy(r->hooked, hooked, sizeof(r->hooked));
	if (!r->agg || copy_hooks(r, hooks, nr_hooks)) {
		host_report_free(r);
		return NULL;
	}
	return r;
}

void host_report_free(struct host_report *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; r->hooks && i < r->nr_hooks; i++) {
		free((char *)r->hooks[i].role);
		free((char *)r->hooks[i].desc);
		free((char *)r->hooks[i].btf);
	}
	free(r->hooks);
	free(r->samples);
	host_agg_free(r->agg);
	free(r);
}

void host_report_set_view(struct host_report *r, bool vcpu_kick, bool halt)
{
	r->kick_detail = vcpu_kick;
	r->halt_detail = halt;
}

void host_report_show_exits(struct host_report *r, bool exits)
{
	r->exit_detail = exits;
}

int host_report_keep_samples(struct host_report *r, size_t max)
{
	r->samples = calloc(max ? max : 1, sizeof(*r->samples));
	if (!r->samples)
		return -ENOMEM;
	r->max_samples = max;
	return 0;
}

void host_report_add(struct host_report *r, const struct kick_result *res)
{
	host_agg_add(r->agg, res);
	if (r->nr_samples < r->max_samples)
		r->samples[r->nr_samples++] = *res;
}

void host_report_reset(struct host_report *r)
{
	host_agg_reset(r->agg);
	r->nr_samples = 0;
}

void host_report_print(struct host_report *r, const struct kick *k,
		       double duration_s, const __u64 lost[HS_MAX],
		       __u64 recursion_misses, bool json, FILE *f)
{
	r->kick = k;
	r->duration_s = duration_s;
	if (lost)
		memcpy(r->lost, lost, sizeof(r->lost));
	else
		memset(r->lost, 0, sizeof(r->lost));
	r->misses = recursion_misses;
	if (json)
		host_json(f, r);
	else
		host_text(f, r);
}

const struct host_agg *host_report_agg(const struct host_report *r)
{
	return r->agg;
}
