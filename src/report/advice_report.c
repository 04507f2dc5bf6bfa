// SPDX-License-Identifier: GPL-2.0
/* The advisor's text table, recommendation and JSON (all advisor output
 * but the SVG plot lives here, so one file moves to the emitter layer). */
#include <math.h>
#include <stdio.h>
#include "advice.h"
#include "json.h"

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

static void print_row(FILE *f, const struct advice *a,
		      const struct adv_group *g, const struct adv_setting *s,
		      const struct adv_stats *st, const char *mark)
{
	char name[48];

	adv_setting_str(s, name, sizeof(name));
	fprintf(f, "%-17s%-2s %7.4f %7.1f%% %7.1f%% %9llu %9.1f %7.1f%% %8.2f %8.2f %8.2f %5llu/%llu\n",
		name, mark, st->cores, pct(st->caught, st->wakeups),
		pct(st->ipi_caught, st->ipi_wakeups),
		(unsigned long long)st->polls_fail, saved_rate(a, st),
		of_best(g, st),
		st->wakeups ? st->saved_ns / st->wakeups / 1e3 : 0,
		st->saved_p50 / 1e3, st->saved_p99 / 1e3,
		(unsigned long long)st->grow, (unsigned long long)st->shrink);
}

static void print_table(FILE *f, const struct advice *a,
			const struct adv_group *g)
{
	size_t i;

	fprintf(f, "%-19s %7s %8s %8s %9s %9s %8s %8s %8s %8s %s\n",
		"setting", "cores", "caught", "ipi", "failed", "saved",
		"of best", "mean", "p50", "p99", "grow/shrink");
	fprintf(f, "%-19s %7s %8s %8s %9s %9s %8s %8s %8s %8s\n",
		"", "", "", "caught", "polls", "us/s", "", "us/wake",
		"us", "us");
	for (i = 0; i < a->nset; i++)
		print_row(f, a, g, &a->set[i], &g->st[i],
			  (int)i == g->rec ? " *" : "");
	if (g->rule.valid)
		print_row(f, a, g, &g->rule.set, &g->rule.st, " r");
}

static void print_pick(FILE *f, const struct advice *a,
		       const struct adv_group *g, const char *what,
		       const struct adv_setting *s, const struct adv_stats *st)
{
	char name[48];

	adv_setting_str(s, name, sizeof(name));
	fprintf(f, "  %-22s %-17s %.4f cores, catches %.1f%% of wake-ups, "
		"saves %.1f us/s (%.0f%% of achievable)\n", what, name,
		st->cores, pct(st->caught, st->wakeups), saved_rate(a, st),
		of_best(g, st));
}

static void print_apply(FILE *f, const struct adv_group *g,
			const struct adv_setting *s)
{
	if (g->vm)
		fprintf(f, "    apply: KVM_CAP_HALT_POLL %u on VM %u\n",
			s->ns, g->vm);
	else if (s->kind == ADV_FIXED && s->ns)
		fprintf(f, "    apply: kvm.halt_poll_ns=%u "
			"kvm.halt_poll_ns_shrink=1 (window stays at the cap)\n",
			s->ns);
	else
		fprintf(f, "    apply: kvm.halt_poll_ns=%u\n", s->ns);
}

static void print_group(FILE *f, const struct advice *a,
			const struct adv_group *g, bool table)
{
	const struct adv_opts *o = &a->opts;

	if (g->vm)
		fprintf(f, "\nVM %u: %llu halts, %llu vCPUs\n", g->vm,
			(unsigned long long)g->halts,
			(unsigned long long)g->vcpus);
	else
		fprintf(f, "\nall VMs: %llu halts, %llu vCPUs\n",
			(unsigned long long)g->halts,
			(unsigned long long)g->vcpus);
	if (table)
		print_table(f, a, g);
	fprintf(f, "  achievable saving: %.1f us/s (best setting)\n",
		a->span_ns ? g->best_saved_ns / 1e3 / (a->span_ns / 1e9) : 0);
	if (g->rec >= 0) {
		char what[64];

		snprintf(what, sizeof(what), "%s %.0f%%:",
			 g->rec_reached ? "recommended," : "NOT reached,",
			 o->share * 100);
		print_pick(f, a, g, what, &a->set[g->rec], &g->st[g->rec]);
		print_apply(f, g, &a->set[g->rec]);
	}
	if (g->rec_fixed >= 0)
		print_pick(f, a, g, "fixed window for it:",
			   &a->set[g->rec_fixed], &g->st[g->rec_fixed]);
	if (o->budget >= 0) {
		char what[64];

		snprintf(what, sizeof(what), "budget %.3g cores:", o->budget);
		if (g->budget >= 0)
			print_pick(f, a, g, what, &a->set[g->budget],
				   &g->st[g->budget]);
		else
			fprintf(f, "  %-22s nothing fits\n", what);
		if (g->budget_fixed >= 0)
			print_pick(f, a, g, "  fixed within budget:",
				   &a->set[g->budget_fixed],
				   &g->st[g->budget_fixed]);
	}
	if (g->rule.valid) {
		char what[64];

		snprintf(what, sizeof(what), "p%.0f rule%s:", o->rule_q * 100,
			 g->rule.simulated ? " (sim.)" : "");
		print_pick(f, a, g, what, &g->rule.set, &g->rule.st);
	} else {
		fprintf(f, "  p%.0f rule:               no successful polls\n",
			o->rule_q * 100);
	}
	print_pick(f, a, g, "KVM default:", &g->dflt.set, &g->dflt.st);
}

void advice_print(FILE *f, const struct advice *a)
{
	const struct adv_input *in = a->in;
	size_t i;

	fprintf(f, "halt_poll_ns advice: %zu halts over %.3f s; wake-up "
		"latency blocked %.2f us, polled %.2f us", in->n,
		a->span_ns / 1e9, in->costs.blocked_ns / 1e3,
		in->costs.polled_ns / 1e3);
	if (in->blocked_samples || in->polled_samples)
		fprintf(f, " (medians measured: %llu blocked, %llu polled "
			"wake-ups)", (unsigned long long)in->blocked_samples,
			(unsigned long long)in->polled_samples);
	fputc('\n', f);
	fprintf(f, "KVM adaptive: grow %u, grow_start %u, shrink %u",
		in->kvm.grow, in->kvm.grow_start, in->kvm.shrink);
	if (in->traced_cap_ns >= 0)
		fprintf(f, "; traced at halt_poll_ns=%lld",
			(long long)in->traced_cap_ns);
	fputc('\n', f);
	fprintf(f, "cores = host CPU polling / trace span; saved = %s"
		"wake-up latency saved vs no polling; * recommended, r = p%.0f "
		"rule\n", in->ipi_only ? "IPI " : "", a->opts.rule_q * 100);
	for (i = 0; i < a->ngroups; i++)
		print_group(f, a, &a->groups[i], i == 0 || a->ngroups > 2);
}

static void json_setting(struct jw *w, const char *key,
			 const struct advice *a, const struct adv_group *g,
			 const struct adv_setting *s, const struct adv_stats *st)
{
	jw_obj(w, key);
	jw_str(w, "kind", adv_kind_name(s->kind));
	jw_u64(w, "ns", s->ns);
	jw_dbl(w, "cores", st->cores);
	jw_u64(w, "wakeups", st->wakeups);
	jw_u64(w, "caught", st->caught);
	jw_dbl(w, "caught_share", st->wakeups ? (double)st->caught / st->wakeups : 0);
	jw_u64(w, "pending", st->pending);
	jw_u64(w, "ipi_wakeups", st->ipi_wakeups);
	jw_u64(w, "ipi_caught", st->ipi_caught);
	jw_u64(w, "polls_failed", st->polls_fail);
	jw_dbl(w, "poll_ok_ns", st->poll_ok_ns);
	jw_dbl(w, "poll_fail_ns", st->poll_fail_ns);
	jw_dbl(w, "saved_ns", st->saved_ns);
	jw_dbl(w, "saved_us_per_s", saved_rate(a, st));
	jw_dbl(w, "saved_of_best", of_best(g, st) / 100);
	jw_dbl(w, "saved_p50_ns", st->saved_p50);
	jw_dbl(w, "saved_p99_ns", st->saved_p99);
	jw_dbl(w, "latency_p50_ns", st->lat_p50);
	jw_dbl(w, "latency_p99_ns", st->lat_p99);
	jw_u64(w, "grow", st->grow);
	jw_u64(w, "shrink", st->shrink);
	jw_obj_end(w);
}

static void json_pick(struct jw *w, const char *key, const struct advice *a,
		      const struct adv_group *g, int idx)
{
	if (idx < 0)
		jw_null(w, key);
	else
		json_setting(w, key, a, g, &a->set[idx], &g->st[idx]);
}

static void json_group(struct jw *w, const struct advice *a,
		       const struct adv_group *g)
{
	size_t i;

	jw_obj(w, NULL);
	if (g->vm)
		jw_u64(w, "vm", g->vm);
	else
		jw_null(w, "vm");
	jw_u64(w, "halts", g->halts);
	jw_u64(w, "vcpus", g->vcpus);
	jw_dbl(w, "achievable_saved_ns", g->best_saved_ns);
	jw_arr(w, "settings");
	for (i = 0; i < a->nset; i++)
		json_setting(w, NULL, a, g, &a->set[i], &g->st[i]);
	jw_arr_end(w);
	json_pick(w, "recommended", a, g, g->rec);
	jw_bool(w, "recommended_reaches_share", g->rec_reached);
	json_pick(w, "fixed_for_share", a, g, g->rec_fixed);
	if (a->opts.budget >= 0) {
		json_pick(w, "within_budget", a, g, g->budget);
		json_pick(w, "fixed_within_budget", a, g, g->budget_fixed);
	}
	if (g->rule.valid) {
		json_setting(w, "percentile_rule", a, g, &g->rule.set,
			     &g->rule.st);
		jw_bool(w, "percentile_rule_simulated", g->rule.simulated);
	} else {
		jw_null(w, "percentile_rule");
	}
	json_setting(w, "kvm_default", a, g, &g->dflt.set, &g->dflt.st);
	jw_obj_end(w);
}

void advice_json(FILE *f, const struct advice *a)
{
	const struct adv_input *in = a->in;
	struct jw w;
	size_t i;

	jw_init(&w, f);
	jw_obj(&w, NULL);
	jw_obj(&w, "advisor");
	jw_u64(&w, "halts", in->n);
	jw_u64(&w, "span_ns", a->span_ns);
	jw_dbl(&w, "blocked_ns", in->costs.blocked_ns);
	jw_dbl(&w, "polled_ns", in->costs.polled_ns);
	jw_u64(&w, "blocked_ns_samples", in->blocked_samples);
	jw_u64(&w, "polled_ns_samples", in->polled_samples);
	jw_bool(&w, "ipi_only", in->ipi_only);
	jw_u64(&w, "grow", in->kvm.grow);
	jw_u64(&w, "grow_start", in->kvm.grow_start);
	jw_u64(&w, "shrink", in->kvm.shrink);
	if (in->traced_cap_ns >= 0)
		jw_i64(&w, "traced_halt_poll_ns", in->traced_cap_ns);
	else
		jw_null(&w, "traced_halt_poll_ns");
	jw_dbl(&w, "share", a->opts.share);
	jw_dbl(&w, "rule_percentile", a->opts.rule_q);
	if (a->opts.budget >= 0)
		jw_dbl(&w, "budget_cores", a->opts.budget);
	else
		jw_null(&w, "budget_cores");
	jw_obj_end(&w);
	jw_arr(&w, "groups");
	for (i = 0; i < a->ngroups; i++)
		json_group(&w, a, &a->groups[i]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_done(&w);
}

void gadvice_print(FILE *f, const struct gadv_advice *a)
{
	const struct gadv_input *in = a->in;
	char name[48];
	size_t i;

	fprintf(f, "guest-side polling: %zu idle periods over %.3f s; IPI "
		"latency to a halted vCPU %.2f us, to a polling one %.2f us\n",
		in->n, in->span_ns / 1e9, in->costs.halted_ns / 1e3,
		in->costs.polling_ns / 1e3);
	fprintf(f, "%-36s %8s %8s %8s %9s %8s %8s\n", "setting", "cores",
		"caught", "ipi", "saved", "p50", "p99");
	fprintf(f, "%-36s %8s %8s %8s %9s %8s %8s\n", "", "(vCPU)", "",
		"caught", "us/s", "us", "us");
	for (i = 0; i < a->nset; i++) {
		const struct gadv_stats *st = &a->st[i];

		gadv_setting_str(&a->set[i], name, sizeof(name));
		fprintf(f, "%-36s %8.4f %7.1f%% %7.1f%% %9.1f %8.2f %8.2f\n",
			name, st->cores, pct(st->caught, st->periods),
			pct(st->ipi_caught, st->ipi_periods),
			in->span_ns ? st->saved_ns / 1e3 / (in->span_ns / 1e9) : 0,
			st->saved_p50 / 1e3, st->saved_p99 / 1e3);
	}
	fprintf(f, "(guest polling burns vCPU time, which is host CPU too; "
		"cpuidle-haltpoll turns host halt polling off for the VM)\n");
}

void gadvice_json(FILE *f, const struct gadv_advice *a)
{
	const struct gadv_input *in = a->in;
	struct jw w;
	size_t i;

	jw_init(&w, f);
	jw_obj(&w, NULL);
	jw_u64(&w, "periods", in->n);
	jw_u64(&w, "span_ns", in->span_ns);
	jw_dbl(&w, "halted_ns", in->costs.halted_ns);
	jw_dbl(&w, "polling_ns", in->costs.polling_ns);
	jw_arr(&w, "settings");
	for (i = 0; i < a->nset; i++) {
		const struct gadv_stats *st = &a->st[i];
		const char *k = a->set[i].kind == GADV_OFF ? "off" :
				a->set[i].kind == GADV_IDLE_POLL ? "idle_poll" :
				"haltpoll";

		jw_obj(&w, NULL);
		jw_str(&w, "kind", k);
		jw_u64(&w, "guest_halt_poll_ns", a->set[i].ns);
		jw_dbl(&w, "cores", st->cores);
		jw_u64(&w, "periods", st->periods);
		jw_u64(&w, "caught", st->caught);
		jw_u64(&w, "ipi_periods", st->ipi_periods);
		jw_u64(&w, "ipi_caught", st->ipi_caught);
		jw_u64(&w, "halts", st->halts);
		jw_dbl(&w, "poll_ns", st->poll_ns);
		jw_dbl(&w, "saved_ns", st->saved_ns);
		jw_dbl(&w, "saved_p50_ns", st->saved_p50);
		jw_dbl(&w, "saved_p99_ns", st->saved_p99);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_done(&w);
}
