// SPDX-License-Identifier: GPL-2.0
/* The advisor's table, recommendation and data through the report layer
 * (emit.h): one function per advice for every back end; the SVG plot is
 * advice_svg.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include "advice.h"
#include "emit.h"
#include "ipitrace.h"


static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * a / b : 0;
}

static double of_best(const struct adv_group *g, const struct adv_stats *st)
{
	return g->best_saved_ns > 0 ? 100.0 * st->saved_ns / g->best_saved_ns : 0;
}

/* latency saved per second of trace, in us/s */
static double saved_rate(const struct advice *a, const struct adv_stats *st)
{
	return a->span_ns ? st->saved_ns / 1e3 / (a->span_ns / 1e9) : 0;
}

/* a text cell, printf-style */
__attribute__((format(printf, 3, 4)))
static void cell(struct emitter *e, const char *key, const char *fmt, ...)
{
	char buf[48];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	emit_str(e, key, buf);
}

static const struct emit_col setting_cols[] = {
	{ .key = "t_name", .title = "setting", .width = -19 },
	{ .key = "t_cores", .title = "cores", .width = 7 },
	{ .key = "t_caught", .title = "caught", .width = 8 },
	{ .key = "t_ipi", .title = "ipi_caught", .width = 10 },
	{ .key = "t_failed", .title = "failed_polls", .width = 12 },
	{ .key = "t_saved", .title = "saved_us/s", .width = 10 },
	{ .key = "t_of_best", .title = "of_best", .width = 8 },
	{ .key = "t_mean", .title = "us/wake", .width = 8 },
	{ .key = "t_p50", .title = "p50_us", .width = 8 },
	{ .key = "t_p99", .title = "p99_us", .width = 8 },
	{ .key = "t_gs", .title = "grow/shrink", .width = 11 },
};

static void setting_data(struct emitter *e, const struct advice *a,
			 const struct adv_group *g, const struct adv_setting *s,
			 const struct adv_stats *st)
{
	emit_str(e, "kind", adv_kind_name(s->kind));
	emit_u64(e, "ns", s->ns);
	emit_dbl(e, "cores", st->cores);
	emit_u64(e, "wakeups", st->wakeups);
	emit_u64(e, "caught", st->caught);
	emit_dbl(e, "caught_share", st->wakeups ? (double)st->caught / st->wakeups : 0);
	emit_u64(e, "pending", st->pending);
	emit_u64(e, "ipi_wakeups", st->ipi_wakeups);
	emit_u64(e, "ipi_caught", st->ipi_caught);
	emit_u64(e, "polls_failed", st->polls_fail);
	emit_dbl(e, "poll_ok_ns", st->poll_ok_ns);
	emit_dbl(e, "poll_fail_ns", st->poll_fail_ns);
	emit_dbl(e, "saved_ns", st->saved_ns);
	emit_dbl(e, "saved_us_per_s", saved_rate(a, st));
	emit_dbl(e, "saved_of_best", of_best(g, st) / 100);
	emit_dbl(e, "saved_p50_ns", st->saved_p50);
	emit_dbl(e, "saved_p99_ns", st->saved_p99);
	emit_dbl(e, "latency_p50_ns", st->lat_p50);
	emit_dbl(e, "latency_p99_ns", st->lat_p99);
	emit_u64(e, "grow", st->grow);
	emit_u64(e, "shrink", st->shrink);
}

static void setting_cells(struct emitter *e, const struct advice *a,
			  const struct adv_group *g, const struct adv_setting *s,
			  const struct adv_stats *st, const char *mark)
{
	char name[48];

	adv_setting_str(s, name, sizeof(name));
	cell(e, "t_name", "%-17s%s", name, mark);
	cell(e, "t_cores", "%.4f", st->cores);
	cell(e, "t_caught", "%.1f%%", pct(st->caught, st->wakeups));
	cell(e, "t_ipi", "%.1f%%", pct(st->ipi_caught, st->ipi_wakeups));
	cell(e, "t_failed", "%llu", (unsigned long long)st->polls_fail);
	cell(e, "t_saved", "%.1f", saved_rate(a, st));
	cell(e, "t_of_best", "%.1f%%", of_best(g, st));
	cell(e, "t_mean", "%.2f", st->wakeups ? st->saved_ns / st->wakeups / 1e3 : 0);
	cell(e, "t_p50", "%.2f", st->saved_p50 / 1e3);
	cell(e, "t_p99", "%.2f", st->saved_p99 / 1e3);
	cell(e, "t_gs", "%llu/%llu", (unsigned long long)st->grow,
	     (unsigned long long)st->shrink);
}

/* A table row: programs get the numbers, people the formatted cells. */
static void setting_row(struct emitter *e, const struct advice *a,
			const struct adv_group *g, const struct adv_setting *s,
			const struct adv_stats *st, const char *mark)
{
	enum emit_audience prev;

	emit_obj(e, NULL);
	prev = emit_narrow(e, EMIT_MACHINE);
	setting_data(e, a, g, s, st);
	emit_only(e, prev & EMIT_HUMAN);
	setting_cells(e, a, g, s, st, mark);
	emit_only(e, prev);
	emit_end(e);
}

static void setting_obj(struct emitter *e, const char *key,
			const struct advice *a, const struct adv_group *g,
			const struct adv_setting *s, const struct adv_stats *st)
{
	emit_obj(e, key);
	setting_data(e, a, g, s, st);
	emit_end(e);
}

static void pick_obj(struct emitter *e, const char *key, const struct advice *a,
		     const struct adv_group *g, int idx)
{
	if (idx < 0)
		emit_null(e, key);
	else
		setting_obj(e, key, a, g, &a->set[idx], &g->st[idx]);
}

/* "  what  setting  0.0123 cores, ..." appended to @buf */
static size_t pick_line(char *buf, size_t len, size_t off,
			const struct advice *a, const struct adv_group *g,
			const char *what, const struct adv_setting *s,
			const struct adv_stats *st)
{
	char name[48];

	if (off >= len)
		return off;
	adv_setting_str(s, name, sizeof(name));
	return off + snprintf(buf + off, len - off, "%s  %-22s %-17s %.4f cores, "
			      "catches %.1f%% of wake-ups, saves %.1f us/s "
			      "(%.0f%% of achievable)", off ? "\n" : "", what,
			      name, st->cores, pct(st->caught, st->wakeups),
			      saved_rate(a, st), of_best(g, st));
}

static size_t apply_line(char *buf, size_t len, size_t off,
			 const struct adv_group *g, const struct adv_setting *s)
{
	if (off >= len)
		return off;
	if (g->vm)
		return off + snprintf(buf + off, len - off,
				      "\n    apply: KVM_CAP_HALT_POLL %u on VM %u",
				      s->ns, g->vm);
	if (s->kind == ADV_FIXED && s->ns)
		return off + snprintf(buf + off, len - off,
				      "\n    apply: kvm.halt_poll_ns=%u "
				      "kvm.halt_poll_ns_shrink=1 (window stays "
				      "at the cap)", s->ns);
	return off + snprintf(buf + off, len - off,
			      "\n    apply: kvm.halt_poll_ns=%u", s->ns);
}

/* people: the recommendation and the settings beside it (captions hold
 * 512 bytes: one for the pick, one for the rest) */
static void group_text(struct emitter *e, const struct advice *a,
		       const struct adv_group *g)
{
	const struct adv_opts *o = &a->opts;
	char buf[512], what[64];
	size_t n;

	n = snprintf(buf, sizeof(buf), "  achievable saving: %.1f us/s (best setting)",
		     a->span_ns ? g->best_saved_ns / 1e3 / (a->span_ns / 1e9) : 0);
	if (g->rec >= 0) {
		snprintf(what, sizeof(what), "%s %.0f%%:",
			 g->rec_reached ? "recommended," : "NOT reached,",
			 o->share * 100);
		n = pick_line(buf, sizeof(buf), n, a, g, what, &a->set[g->rec],
			      &g->st[g->rec]);
		n = apply_line(buf, sizeof(buf), n, g, &a->set[g->rec]);
	}
	if (g->rec_fixed >= 0)
		pick_line(buf, sizeof(buf), n, a, g, "fixed window for it:",
			  &a->set[g->rec_fixed], &g->st[g->rec_fixed]);
	emit_caption(e, "%s", buf);
	n = 0;
	if (o->budget >= 0) {
		snprintf(what, sizeof(what), "budget %.3g cores:", o->budget);
		if (g->budget >= 0)
			n = pick_line(buf, sizeof(buf), n, a, g, what,
				      &a->set[g->budget], &g->st[g->budget]);
		else
			n = snprintf(buf, sizeof(buf), "  %-22s nothing fits", what);
		if (g->budget_fixed >= 0)
			n = pick_line(buf, sizeof(buf), n, a, g,
				      "  fixed within budget:",
				      &a->set[g->budget_fixed],
				      &g->st[g->budget_fixed]);
	}
	if (g->rule.valid) {
		snprintf(what, sizeof(what), "p%.0f rule%s:", o->rule_q * 100,
			 g->rule.simulated ? " (sim.)" : "");
		n = pick_line(buf, sizeof(buf), n, a, g, what, &g->rule.set,
			      &g->rule.st);
	} else if (n < sizeof(buf)) {
		n += snprintf(buf + n, sizeof(buf) - n,
			      "%s  p%.0f rule:               no successful polls",
			      n ? "\n" : "", o->rule_q * 100);
	}
	pick_line(buf, sizeof(buf), n, a, g, "KVM default:", &g->dflt.set,
		  &g->dflt.st);
	emit_caption(e, "%s", buf);
}

static void group_data(struct emitter *e, const struct advice *a,
		       const struct adv_group *g)
{
	pick_obj(e, "recommended", a, g, g->rec);
	emit_bool(e, "recommended_reaches_share", g->rec_reached);
	pick_obj(e, "fixed_for_share", a, g, g->rec_fixed);
	if (a->opts.budget >= 0) {
		pick_obj(e, "within_budget", a, g, g->budget);
		pick_obj(e, "fixed_within_budget", a, g, g->budget_fixed);
	}
	if (g->rule.valid) {
		setting_obj(e, "percentile_rule", a, g, &g->rule.set, &g->rule.st);
		emit_bool(e, "percentile_rule_simulated", g->rule.simulated);
	} else {
		emit_null(e, "percentile_rule");
	}
	setting_obj(e, "kvm_default", a, g, &g->dflt.set, &g->dflt.st);
}

/* @table: people get the settings table too */
static void emit_group(struct emitter *e, const struct advice *a,
		       const struct adv_group *g, bool table)
{
	enum emit_audience prev;
	size_t i;

	if (g->vm)
		emit_obj_titled(e, NULL, "VM %u: %llu halts, %llu vCPUs", g->vm,
				(unsigned long long)g->halts,
				(unsigned long long)g->vcpus);
	else
		emit_obj_titled(e, NULL, "all VMs: %llu halts, %llu vCPUs",
				(unsigned long long)g->halts,
				(unsigned long long)g->vcpus);
	prev = emit_narrow(e, EMIT_MACHINE);
	if (g->vm)
		emit_u64(e, "vm", g->vm);
	else
		emit_null(e, "vm");
	emit_u64(e, "halts", g->halts);
	emit_u64(e, "vcpus", g->vcpus);
	emit_dbl(e, "achievable_saved_ns", g->best_saved_ns);
	emit_only(e, table ? prev : prev & EMIT_MACHINE);
	emit_table(e, "settings", NULL, setting_cols, ARRAY_SIZE(setting_cols));
	for (i = 0; i < a->nset; i++)
		setting_row(e, a, g, &a->set[i], &g->st[i],
			    (int)i == g->rec ? " *" : "");
	if (g->rule.valid) {	/* programs have it as percentile_rule */
		emit_narrow(e, EMIT_HUMAN);
		setting_row(e, a, g, &g->rule.set, &g->rule.st, " r");
	}
	emit_end(e);
	emit_only(e, prev & EMIT_MACHINE);
	group_data(e, a, g);
	emit_only(e, prev & EMIT_HUMAN);
	group_text(e, a, g);
	emit_only(e, prev);
	emit_end(e);
}

static void advisor_data(struct emitter *e, const struct advice *a)
{
	const struct adv_input *in = a->in;

	emit_obj(e, "advisor");
	emit_u64(e, "halts", in->n);
	emit_u64(e, "span_ns", a->span_ns);
	emit_dbl(e, "blocked_ns", in->costs.blocked_ns);
	emit_dbl(e, "polled_ns", in->costs.polled_ns);
	emit_u64(e, "blocked_ns_samples", in->blocked_samples);
	emit_u64(e, "polled_ns_samples", in->polled_samples);
	emit_bool(e, "ipi_only", in->ipi_only);
	emit_u64(e, "grow", in->kvm.grow);
	emit_u64(e, "grow_start", in->kvm.grow_start);
	emit_u64(e, "shrink", in->kvm.shrink);
	if (in->traced_cap_ns >= 0)
		emit_i64(e, "traced_halt_poll_ns", in->traced_cap_ns);
	else
		emit_null(e, "traced_halt_poll_ns");
	emit_dbl(e, "share", a->opts.share);
	emit_dbl(e, "rule_percentile", a->opts.rule_q);
	if (a->opts.budget >= 0)
		emit_dbl(e, "budget_cores", a->opts.budget);
	else
		emit_null(e, "budget_cores");
	emit_end(e);
}

static void advisor_text(struct emitter *e, const struct advice *a)
{
	const struct adv_input *in = a->in;
	char measured[128] = "", traced[64] = "";

	if (in->blocked_samples || in->polled_samples)
		snprintf(measured, sizeof(measured), " (medians measured: %llu "
			 "blocked, %llu polled wake-ups)",
			 (unsigned long long)in->blocked_samples,
			 (unsigned long long)in->polled_samples);
	if (in->traced_cap_ns >= 0)
		snprintf(traced, sizeof(traced), "; traced at halt_poll_ns=%lld",
			 (long long)in->traced_cap_ns);
	emit_caption(e, "halt_poll_ns advice: %zu halts over %.3f s; wake-up "
		     "latency blocked %.2f us, polled %.2f us%s\n"
		     "KVM adaptive: grow %u, grow_start %u, shrink %u%s\n"
		     "cores = host CPU polling / trace span; saved = %swake-up "
		     "latency saved vs no polling; * recommended, r = p%.0f rule",
		     in->n, a->span_ns / 1e9, in->costs.blocked_ns / 1e3,
		     in->costs.polled_ns / 1e3, measured, in->kvm.grow,
		     in->kvm.grow_start, in->kvm.shrink, traced,
		     in->ipi_only ? "IPI " : "", a->opts.rule_q * 100);
}

void advice_emit(struct emitter *e, const struct advice *a)
{
	enum emit_audience prev = emit_narrow(e, EMIT_MACHINE);
	size_t i;

	advisor_data(e, a);
	emit_only(e, prev & EMIT_HUMAN);
	advisor_text(e, a);
	emit_only(e, prev);
	emit_list(e, "groups", NULL);
	for (i = 0; i < a->ngroups; i++)
		emit_group(e, a, &a->groups[i], i == 0 || a->ngroups > 2);
	emit_end(e);
}

static void advice_fn(struct emitter *e, const void *a)
{
	advice_emit(e, a);
}

int advice_report(FILE *f, const struct emit_backend *be,
		  const struct advice *a)
{
	return emit_document(f, be, advice_fn, a);
}

/* --- guest-side polling --- */

static const struct emit_col gsetting_cols[] = {
	{ .key = "t_name", .title = "setting", .width = -36 },
	{ .key = "t_cores", .title = "vCPU_cores", .width = 10 },
	{ .key = "t_caught", .title = "caught", .width = 8 },
	{ .key = "t_ipi", .title = "ipi_caught", .width = 10 },
	{ .key = "t_saved", .title = "saved_us/s", .width = 10 },
	{ .key = "t_p50", .title = "p50_us", .width = 8 },
	{ .key = "t_p99", .title = "p99_us", .width = 8 },
};

static void gsetting_row(struct emitter *e, const struct gadv_advice *a,
			 size_t i)
{
	const struct gadv_stats *st = &a->st[i];
	const struct gadv_input *in = a->in;
	const char *k = a->set[i].kind == GADV_OFF ? "off" :
			a->set[i].kind == GADV_IDLE_POLL ? "idle_poll" : "haltpoll";
	enum emit_audience prev;
	char name[48];

	emit_obj(e, NULL);
	prev = emit_narrow(e, EMIT_MACHINE);
	emit_str(e, "kind", k);
	emit_u64(e, "guest_halt_poll_ns", a->set[i].ns);
	emit_dbl(e, "cores", st->cores);
	emit_u64(e, "periods", st->periods);
	emit_u64(e, "caught", st->caught);
	emit_u64(e, "ipi_periods", st->ipi_periods);
	emit_u64(e, "ipi_caught", st->ipi_caught);
	emit_u64(e, "halts", st->halts);
	emit_dbl(e, "poll_ns", st->poll_ns);
	emit_dbl(e, "saved_ns", st->saved_ns);
	emit_dbl(e, "saved_p50_ns", st->saved_p50);
	emit_dbl(e, "saved_p99_ns", st->saved_p99);
	emit_only(e, prev & EMIT_HUMAN);
	gadv_setting_str(&a->set[i], name, sizeof(name));
	emit_str(e, "t_name", name);
	cell(e, "t_cores", "%.4f", st->cores);
	cell(e, "t_caught", "%.1f%%", pct(st->caught, st->periods));
	cell(e, "t_ipi", "%.1f%%", pct(st->ipi_caught, st->ipi_periods));
	cell(e, "t_saved", "%.1f", in->span_ns ?
	     st->saved_ns / 1e3 / (in->span_ns / 1e9) : 0);
	cell(e, "t_p50", "%.2f", st->saved_p50 / 1e3);
	cell(e, "t_p99", "%.2f", st->saved_p99 / 1e3);
	emit_only(e, prev);
	emit_end(e);
}

void gadvice_emit(struct emitter *e, const struct gadv_advice *a)
{
	const struct gadv_input *in = a->in;
	enum emit_audience prev = emit_narrow(e, EMIT_MACHINE);
	size_t i;

	emit_u64(e, "periods", in->n);
	emit_u64(e, "span_ns", in->span_ns);
	emit_dbl(e, "halted_ns", in->costs.halted_ns);
	emit_dbl(e, "polling_ns", in->costs.polling_ns);
	emit_only(e, prev & EMIT_HUMAN);
	emit_caption(e, "guest-side polling: %zu idle periods over %.3f s; IPI "
		     "latency to a halted vCPU %.2f us, to a polling one %.2f us",
		     in->n, in->span_ns / 1e9, in->costs.halted_ns / 1e3,
		     in->costs.polling_ns / 1e3);
	emit_only(e, prev);
	emit_table(e, "settings", NULL, gsetting_cols, ARRAY_SIZE(gsetting_cols));
	for (i = 0; i < a->nset; i++)
		gsetting_row(e, a, i);
	emit_end(e);
	emit_narrow(e, EMIT_HUMAN);
	emit_caption(e, "(guest polling burns vCPU time, which is host CPU too; "
		     "cpuidle-haltpoll turns host halt polling off for the VM)");
	emit_only(e, prev);
}

static void gadvice_fn(struct emitter *e, const void *a)
{
	gadvice_emit(e, a);
}

int gadvice_report(FILE *f, const struct emit_backend *be,
		   const struct gadv_advice *a)
{
	return emit_document(f, be, gadvice_fn, a);
}
