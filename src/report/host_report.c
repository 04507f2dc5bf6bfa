// SPDX-License-Identifier: GPL-2.0
/* Host-mode report (see host_report.h): one emitter function for text,
 * JSON and the exposition formats. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "host_exits.h"
#include "host_halts.h"
#include "host_report_int.h"


#define HC_KERNEL(id)	.src = HC_SRC_KERNEL, .slot = id
#define HC_MODEL(id)	.src = HC_SRC_MODEL, .off = offsetof(struct kick_stats, id)
#define HC_LOADER(id)	.src = HC_SRC_LOADER
#define HC_COUNTER(id, k, where, d)	{ .key = k, .doc = d, HC_##where(id) },
const struct host_counter host_counters[] = { HOST_COUNTERS(HC_COUNTER) };
const struct host_counter host_losses[] = { HOST_LOSSES(HC_COUNTER) };
#undef HC_COUNTER
const size_t host_nr_counters = ARRAY_SIZE(host_counters);
const size_t host_nr_losses = ARRAY_SIZE(host_losses);

__u64 host_counter_value(const struct host_report *r,
			 const struct host_counter *c)
{
	const struct kick_stats *ks = kick_get_stats(r->kick);

	if (c->src == HC_SRC_LOADER)
		return r->misses;
	if (c->src == HC_SRC_KERNEL)
		return r->lost[c->slot];
	return *(const __u64 *)((const char *)ks + c->off);
}

/* The stage at position @i of the path, then "total" (i == KS_MAX). */
int host_stage_seq(int i)
{
	return i < KS_MAX ? kick_stage_at(i) : KS_TOTAL;
}

/* --- stage rows --- */

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

void host_emit_lat(struct emitter *e, const char *key, bool ok, __u64 v)
{
	if (ok)
		emit_u64(e, key, v);
	else
		emit_null(e, key);
}

static const struct emit_col stage_cols[] = {
	{ .key = "name", .title = "STAGE", .width = -10 },
	/* text: a stage that cannot be seen says why here */
	{ .key = "count", .title = "COUNT", .width = 8 },
	{ .key = "mean_ns", .title = "MEAN", .width = 10, .fmt = EMIT_COL_NS },
	{ .key = "p50_ns", .title = "P50", .width = 10, .fmt = EMIT_COL_NS },
	{ .key = "p99_ns", .title = "P99", .width = 10, .fmt = EMIT_COL_NS },
	{ .key = "note", .title = "", .gap = 2 },
};

static void stage_row(struct emitter *e, const struct host_report *r,
		      int state, int s)
{
	const struct hist *h = &r->agg->st[state][s];
	int kind = stage_kind(r, state, s);
	bool data = kind == ROW_DATA, seen = data || kind == ROW_EMPTY;
	enum emit_audience prev;

	emit_obj(e, NULL);
	emit_str(e, "name", kick_stage_name(s));
	prev = emit_narrow(e, EMIT_MACHINE);
	emit_bool(e, "observable", seen);
	emit_u64(e, "count", seen ? r->agg->seen[state][s] : 0);
	emit_only(e, seen ? prev : prev & EMIT_MACHINE);
	host_emit_lat(e, "p50_ns", data, hist_percentile(h, 50));
	host_emit_lat(e, "p99_ns", data, hist_percentile(h, 99));
	host_emit_lat(e, "mean_ns", data, hist_mean(h));
	emit_only(e, prev & EMIT_HUMAN);
	if (!seen)
		emit_str(e, "count", why_not(kind));
	else
		emit_u64(e, "count", r->agg->seen[state][s]);
	if (s == KS_ICR && seen)
		emit_str(e, "note", data ? "(from the sender's VM exit)" :
			 "(origin; no VM exit seen before it)");
	else if (kind == ROW_EMPTY)
		emit_str(e, "note", "(not seen on these IPIs)");
	emit_only(e, prev);
	emit_end(e);
}

static void stage_table(struct emitter *e, const struct host_report *r,
			int state, const char *title)
{
	int i;

	emit_table(e, "stages", title, stage_cols, ARRAY_SIZE(stage_cols));
	for (i = 0; i <= KS_MAX; i++)
		stage_row(e, r, state, host_stage_seq(i));
	emit_end(e);
}

static void emit_by_state(struct emitter *e, const struct host_report *r)
{
	enum emit_audience prev = emit_narrow(e, EMIT_DATA);
	int st;

	emit_obj(e, "by_target_state");
	for (st = 0; st < TS_MAX; st++) {
		emit_obj(e, kick_state_name(st));
		emit_u64(e, "count", r->agg->seen[st][KS_ICR]);
		stage_table(e, r, st, NULL);
		emit_end(e);
	}
	emit_end(e);
	emit_only(e, prev & EMIT_HUMAN);
	for (st = 0; r->kick_detail && st < TS_MAX; st++) {
		char title[96];

		if (!r->agg->seen[st][KS_ICR])
			continue;
		snprintf(title, sizeof(title), "Target %s when the IPI arrived: %llu",
			 kick_state_name(st),
			 (unsigned long long)r->agg->seen[st][KS_ICR]);
		stage_table(e, r, st, title);
	}
	emit_only(e, prev);
}

static void emit_numa(struct emitter *e, const struct host_agg *a)
{
	enum emit_audience prev = emit_narrow(e, EMIT_DATA);
	char text[512] = "Total by host NUMA class of the two vCPU threads' CPUs:";
	char b1[32], b2[32];
	size_t len = strlen(text);
	int n;

	emit_obj(e, "by_numa");
	for (n = IPT_NUMA_SAME; n <= IPT_NUMA_CROSS; n++) {
		const struct hist *h = &a->numa_total[n];

		emit_obj(e, numa_class_name(n));
		emit_u64(e, "count", h->count);
		host_emit_lat(e, "total_p50_ns", h->count, hist_percentile(h, 50));
		host_emit_lat(e, "total_p99_ns", h->count, hist_percentile(h, 99));
		emit_end(e);
	}
	emit_end(e);
	for (n = 0; n < IPT_NUMA_MAX; n++) {
		const struct hist *h = &a->numa_total[n];

		if (h->count && len < sizeof(text))
			len += snprintf(text + len, sizeof(text) - len,
					"\n  %-7s node: count %llu  p50 %s  p99 %s",
					numa_class_name(n), (unsigned long long)h->count,
					fmt_ns(hist_percentile(h, 50), b1, sizeof(b1)),
					fmt_ns(hist_percentile(h, 99), b2, sizeof(b2)));
	}
	emit_only(e, prev & EMIT_HUMAN);
	emit_caption(e, "%s", text);
	emit_only(e, prev);
}

/* people: each stage's log2 histogram */
static void emit_stage_hists(struct emitter *e, const struct host_report *r)
{
	enum emit_audience prev = emit_narrow(e, EMIT_HUMAN);
	int i, s;

	for (i = 1; r->kick_detail && i <= KS_MAX; i++) {
		s = host_stage_seq(i);
		if (!r->agg->st[TS_MAX][s].count)
			continue;
		emit_obj_titled(e, kick_stage_name(s), "%s:", kick_stage_name(s));
		emit_hist(e, NULL, &r->agg->st[TS_MAX][s]);
		emit_end(e);
	}
	emit_only(e, prev);
}

static void emit_kick(struct emitter *e, const struct host_report *r)
{
	const struct host_agg *a = r->agg;

	emit_caption(e, "IPIs followed: %llu (%llu targets)",
		     (unsigned long long)a->ipis, (unsigned long long)a->results);
	stage_table(e, r, TS_MAX,
		    "vCPU kick path, delta from the previous observed stage:");
	emit_by_state(e, r);
	emit_numa(e, a);
	emit_stage_hists(e, r);
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

/* The heading with the VMs seen, and the "vms" list. */
static void emit_heading(struct emitter *e, const struct host_report *r)
{
	enum emit_audience prev = emit_narrow(e, EMIT_DATA);
	char text[512];
	size_t i, len;
	int n, shown = 0;

	len = snprintf(text, sizeof(text), "\n--- %.1f s --- host,",
		       r->duration_s);
	emit_list(e, "vms", NULL);
	for (i = 0; i < kick_nr_vcpus(r->kick); i++) {
		if (!(n = vm_vcpus(r->kick, i)))
			continue;
		emit_obj(e, NULL);
		emit_u64(e, "pid", kick_vcpu_at(r->kick, i)->pid);
		emit_u64(e, "vcpus", n);
		emit_end(e);
		if (len < sizeof(text))
			len += snprintf(text + len, sizeof(text) - len,
					"%s pid %u (%d vCPUs)",
					shown++ ? "," : " VMs:",
					kick_vcpu_at(r->kick, i)->pid, n);
	}
	emit_end(e);
	emit_only(e, prev & EMIT_HUMAN);
	emit_caption(e, "%s%s", text, shown ? "" : " no VM seen");
	emit_only(e, prev);
}

static void emit_counter_obj(struct emitter *e, const struct host_report *r,
			     const char *key, const char *title,
			     const struct host_counter *c, size_t n)
{
	size_t i;

	emit_obj_titled(e, key, "%s", title);
	for (i = 0; i < n; i++)
		emit_u64(e, c[i].key, host_counter_value(r, &c[i]));
	emit_end(e);
}

static void emit_counters(struct emitter *e, const struct host_report *r)
{
	const struct kick_stats *ks = kick_get_stats(r->kick);
	/* people see the refusals only when there were some, and only the
	 * stages that had them */
	enum emit_audience prev = e->only,
		line = prev & (ks->out_of_order ? EMIT_ALL : EMIT_MACHINE);
	int p, s;

	emit_counter_obj(e, r, "counters", "Counters:", host_counters,
			 host_nr_counters);
	emit_counter_obj(e, r, "lost", "Lost:", host_losses, host_nr_losses);
	emit_only(e, line);
	emit_obj_titled(e, "out_of_order_by_stage",
			"Out of order, by stage refused:");
	for (p = 0; p < KS_MAX; p++) {
		s = kick_stage_at(p);
		emit_only(e, ks->out_of_order_by[s] ? line : line & EMIT_MACHINE);
		emit_u64(e, kick_stage_name(s), ks->out_of_order_by[s]);
	}
	emit_only(e, line);
	emit_end(e);
	emit_only(e, prev);
}

static void emit_hooks(struct emitter *e, const struct host_report *r)
{
	enum emit_audience prev = emit_narrow(e, EMIT_DATA);
	int i;

	emit_obj(e, "hooks");
	for (i = 0; i < r->nr_hooks; i++)
		emit_str(e, r->hooks[i].role, r->hooks[i].desc);
	emit_end(e);
	/* the BTF object (vmlinux or a module) of each tp_btf/fentry hook */
	emit_obj(e, "hooks_btf");
	for (i = 0; i < r->nr_hooks; i++)
		if (r->hooks[i].btf)
			emit_str(e, r->hooks[i].role, r->hooks[i].btf);
	emit_end(e);
	emit_only(e, prev);
}

/* Raw per-IPI stage timestamps (bpf_ktime_get_ns, CLOCK_MONOTONIC), null
 * for stages not seen, so that a test can hold them against its own clock. */
static void emit_samples(struct emitter *e, const struct host_report *r)
{
	enum emit_audience prev = emit_narrow(e, EMIT_DATA);
	size_t j;
	int i, s;

	emit_list(e, "samples", NULL);
	for (j = 0; j < r->nr_samples; j++) {
		const struct kick_result *x = &r->samples[j];

		emit_obj(e, NULL);
		emit_u64(e, "ipi", x->ipi_id);
		emit_u64(e, "vm_pid", x->vm_pid);
		emit_i64(e, "src_vcpu", x->src_vcpu);
		emit_i64(e, "dst_vcpu", x->dst_vcpu);
		emit_str(e, "state", kick_state_name(x->state));
		emit_obj(e, "t_ns");
		for (i = 0; i < KS_MAX; i++) {
			s = kick_stage_at(i);
			host_emit_lat(e, kick_stage_name(s), x->t[s], x->t[s]);
		}
		emit_end(e);
		emit_end(e);
	}
	emit_end(e);
	emit_only(e, prev);
}

void host_report_emit(struct emitter *e, const struct host_report *r)
{
	enum emit_audience prev = emit_narrow(e, EMIT_DATA);

	emit_str(e, "mode", "host");
	emit_dbl(e, "duration_s", r->duration_s);
	emit_only(e, prev);
	emit_hooks(e, r);
	emit_heading(e, r);
	emit_narrow(e, EMIT_DATA);
	emit_u64(e, "ipis", r->agg->ipis);
	emit_only(e, prev);
	emit_kick(e, r);
	host_halts_emit(e, r->kick, r->halt_detail, r->hooked[KS_HALT_END]);
	host_exits_emit(e, r->kick, r->halt_detail || r->exit_detail,
			r->exit_hooked);
	if (r->max_samples)
		emit_samples(e, r);
	if (r->extra)
		r->extra(e, r->extra_arg);
	emit_counters(e, r);
	/* --format openmetrics: this span's values as a scrape names them */
	emit_narrow(e, EMIT_METRICS);
	host_scrape_emit(e, r);
	emit_only(e, prev);
}

static void report_fn(struct emitter *e, const void *r)
{
	host_report_emit(e, r);
}

int host_report_print(struct host_report *r, const struct kick *k,
		      double duration_s, const __u64 lost[HS_MAX],
		      __u64 recursion_misses, const struct emit_backend *be,
		      FILE *f)
{
	r->kick = k;
	r->duration_s = duration_s;
	if (lost)
		memcpy(r->lost, lost, sizeof(r->lost));
	else
		memset(r->lost, 0, sizeof(r->lost));
	r->misses = recursion_misses;
	return emit_document(f, be, report_fn, r);
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

void host_report_set_extra(struct host_report *r, emit_fn fn, const void *arg)
{
	r->extra = fn;
	r->extra_arg = arg;
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

const struct host_agg *host_report_agg(const struct host_report *r)
{
	return r->agg;
}
