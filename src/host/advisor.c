// SPDX-License-Identifier: GPL-2.0
/*
 * Trace-driven replay of vCPU halts under host halt-polling settings.
 *
 * A halt is modelled by its idle time I (halt start to the wake event) and
 * the wake-up latency after the event: polled_ns if the thread was still
 * polling (or never left), blocked_ns if it slept. Under a poll window W:
 *   I < W   caught: the poll ends at I + polled; poll CPU = the halt;
 *   I >= W  failed poll: W of CPU burnt, then the thread blocks;
 *   I == 0 with a pending event: never blocks, polling or not.
 * A halt whose outcome is the traced one keeps its traced duration, so a
 * replay at the traced setting reproduces KVM's own window sequence.
 *
 * The adaptive algorithm mirrors kvm_vcpu_halt(), grow_halt_poll_ns() and
 * shrink_halt_poll_ns() of virt/kvm/kvm_main.c as in 6.1.176 (Debian 6.1,
 * which has the halt-polling fixes of 6.2) and 6.12: the window is capped
 * at halt start; grow is not capped (the trace can show new > cap).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "advisor.h"
#include "hist.h"

void adv_input_init(struct adv_input *in)
{
	memset(in, 0, sizeof(*in));
	in->kvm = ADV_KVM_6_1;
	in->traced_cap_ns = ADV_UNKNOWN;
}

int adv_input_add(struct adv_input *in, const struct adv_halt *h)
{
	if (in->n == in->alloc) {
		size_t na = in->alloc ? in->alloc * 2 : 1024;
		struct adv_halt *p = realloc(in->halts, na * sizeof(*p));

		if (!p)
			return -ENOMEM;
		in->halts = p;
		in->alloc = na;
	}
	in->halts[in->n++] = *h;
	return 0;
}

void adv_input_free(struct adv_input *in)
{
	free(in->halts);
	in->halts = NULL;
	in->n = in->alloc = 0;
}

int adv_halt_cmp(const void *a, const void *b)
{
	const struct adv_halt *x = a, *y = b;

	if (x->vm != y->vm)
		return x->vm < y->vm ? -1 : 1;
	if (x->vcpu != y->vcpu)
		return x->vcpu < y->vcpu ? -1 : 1;
	if (x->end_ns != y->end_ns)
		return x->end_ns < y->end_ns ? -1 : 1;
	return 0;
}

void adv_prepare(struct adv_input *in)
{
	if (in->n)
		qsort(in->halts, in->n, sizeof(*in->halts), adv_halt_cmp);
}

uint64_t adv_span(const struct adv_input *in)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	size_t i;

	if (in->span_ns)
		return in->span_ns;
	for (i = 0; i < in->n; i++) {
		const struct adv_halt *h = &in->halts[i];
		uint64_t start = h->end_ns > h->dur_ns ? h->end_ns - h->dur_ns : 0;

		if (start < lo)
			lo = start;
		if (h->end_ns > hi)
			hi = h->end_ns;
	}
	return hi > lo ? hi - lo : 0;
}

/* The window KVM polled with when it traced h, or ADV_UNKNOWN. */
static int64_t traced_window(const struct adv_halt *h,
			     const struct adv_input *in)
{
	int64_t w = h->window_ns;

	if (w < 0)
		return ADV_UNKNOWN;
	if (in->traced_cap_ns >= 0 && w > in->traced_cap_ns)
		w = in->traced_cap_ns;
	return w;
}

static double cost_polled(const struct adv_halt *h, const struct adv_input *in)
{
	return h->polled && h->wake_ns ? (double)h->wake_ns : in->costs.polled_ns;
}

static double cost_blocked(const struct adv_halt *h, const struct adv_input *in)
{
	return !h->polled && h->wake_ns ? (double)h->wake_ns : in->costs.blocked_ns;
}

double adv_idle_ns(const struct adv_halt *h, const struct adv_input *in,
		   bool *pending)
{
	int64_t w = traced_window(h, in);
	double idle;

	if (h->polled) {
		idle = (double)h->dur_ns - cost_polled(h, in);
		if (idle < 0 || w == 0)
			idle = 0;	/* no poll and no block: was pending */
		else if (w > 0 && idle >= w)
			idle = w - 1;	/* caught, so before the window ended */
		*pending = idle == 0;
		return idle;
	}
	idle = (double)h->dur_ns - cost_blocked(h, in);
	if (idle < 0)
		idle = 0;
	if (w > 0 && idle < w)
		idle = w;	/* it outlasted the window it polled */
	*pending = false;
	return idle;
}

static uint32_t kvm_shrink(uint32_t w, const struct adv_kvm *k)
{
	uint32_t val = k->shrink ? w / k->shrink : 0;

	return val < k->grow_start ? 0 : val;
}

static uint32_t kvm_grow(uint32_t w, const struct adv_kvm *k)
{
	uint64_t val;

	if (!k->grow)
		return w;
	val = (uint64_t)w * k->grow;
	if (val < k->grow_start)
		val = k->grow_start;
	return val > UINT32_MAX ? UINT32_MAX : (uint32_t)val;
}

static void set_window(struct adv_vcpu *v, struct adv_outcome *o, int ev,
		       uint32_t val)
{
	o->event = ev;
	o->old_win = v->window;
	o->new_win = val;
	v->window = val;
}

/* The decision at the end of kvm_vcpu_halt(), halt_poll_allowed. */
static void kvm_adapt(struct adv_vcpu *v, uint32_t cap, const struct adv_kvm *k,
		      double halt_ns, bool valid, struct adv_outcome *o)
{
	uint32_t w = v->window;

	if (!valid)
		set_window(v, o, -1, kvm_shrink(w, k));
	else if (!cap)
		v->window = 0;
	else if (halt_ns <= w)
		;
	else if (w && halt_ns > cap)
		set_window(v, o, -1, kvm_shrink(w, k));
	else if (w < cap && halt_ns < cap)
		set_window(v, o, +1, kvm_grow(w, k));
}

void adv_step(struct adv_vcpu *v, const struct adv_setting *s,
	      const struct adv_kvm *k, const struct adv_halt *h,
	      const struct adv_input *in, struct adv_outcome *o)
{
	double p = cost_polled(h, in), b = cost_blocked(h, in);
	bool blocked;
	uint32_t w;

	memset(o, 0, sizeof(*o));
	if (s->kind == ADV_ADAPTIVE && v->window > s->ns)
		v->window = s->ns;
	w = s->kind == ADV_FIXED ? s->ns : v->window;
	o->window = w;
	o->idle_ns = adv_idle_ns(h, in, &o->pending);
	blocked = !o->pending && !(w > 0 && o->idle_ns < w);
	o->caught = !blocked && w > 0;
	if (blocked) {
		o->lat_ns = b;
		o->halt_ns = h->polled ? o->idle_ns + b : (double)h->dur_ns;
		o->poll_ns = w;
	} else {
		o->lat_ns = p;
		o->halt_ns = h->polled ? (double)h->dur_ns : o->idle_ns + p;
		o->poll_ns = w > 0 ? o->halt_ns : 0;
	}
	o->saved_ns = (o->pending ? p : b) - o->lat_ns;
	if (s->kind == ADV_ADAPTIVE)
		kvm_adapt(v, s->ns, k, o->halt_ns, h->valid, o);
}

/* Window at the first traced halt of a vCPU: the traced one if known. */
static uint32_t initial_window(const struct adv_halt *h,
			       const struct adv_input *in, uint32_t cap)
{
	int64_t w = traced_window(h, in);

	if (w <= 0)
		return 0;
	return w > cap ? cap : (uint32_t)w;
}

void adv_replay(const struct adv_input *in, uint32_t vm,
		const struct adv_setting *s, adv_halt_cb cb, void *ctx)
{
	struct adv_vcpu v = { 0 };
	struct adv_outcome o;
	size_t i;

	for (i = 0; i < in->n; i++) {
		const struct adv_halt *h = &in->halts[i];

		if (vm && h->vm != vm)
			continue;
		if (i == 0 || h->vm != h[-1].vm || h->vcpu != h[-1].vcpu)
			v.window = initial_window(h, in, s->ns);
		adv_step(&v, s, &in->kvm, h, in, &o);
		cb(ctx, h, &o);
	}
}

struct eval_ctx {
	struct adv_stats *st;
	bool ipi_only;
	double *saved, *lat;
	size_t n;
};

static void eval_cb(void *ctx, const struct adv_halt *h,
		    const struct adv_outcome *o)
{
	struct eval_ctx *c = ctx;
	struct adv_stats *st = c->st;

	st->wakeups++;
	st->caught += o->caught;
	st->pending += o->pending;
	if (h->ipi) {
		st->ipi_wakeups++;
		st->ipi_caught += o->caught;
	}
	if (o->caught) {
		st->poll_ok_ns += o->poll_ns;
	} else if (o->poll_ns > 0) {
		st->polls_fail++;
		st->poll_fail_ns += o->poll_ns;
	}
	st->grow += o->event > 0;
	st->shrink += o->event < 0;
	if (c->ipi_only && !h->ipi)
		return;
	st->saved_ns += o->saved_ns;
	c->saved[c->n] = o->saved_ns;
	c->lat[c->n] = o->lat_ns;
	c->n++;
}


int adv_eval(const struct adv_input *in, uint32_t vm,
	     const struct adv_setting *s, struct adv_stats *st)
{
	struct eval_ctx c = { .st = st, .ipi_only = in->ipi_only };
	uint64_t span = adv_span(in);

	memset(st, 0, sizeof(*st));
	c.saved = malloc((in->n + 1) * sizeof(double));
	c.lat = malloc((in->n + 1) * sizeof(double));
	if (!c.saved || !c.lat) {
		free(c.saved);
		free(c.lat);
		return -ENOMEM;
	}
	adv_replay(in, vm, s, eval_cb, &c);
	st->saved_p50 = nearest_rank(c.saved, c.n, 0.50);
	st->saved_p99 = nearest_rank(c.saved, c.n, 0.99);
	st->lat_p50 = nearest_rank(c.lat, c.n, 0.50);
	st->lat_p99 = nearest_rank(c.lat, c.n, 0.99);
	st->cores = span ? (st->poll_ok_ns + st->poll_fail_ns) / span : 0;
	free(c.saved);
	free(c.lat);
	return 0;
}

/* 1-2-5 steps from 1 us */
static uint32_t step_ns(size_t i)
{
	static const uint32_t m[] = { 1, 2, 5 };
	uint32_t v = m[i % 3];

	for (i /= 3; i; i--)
		v *= 10;
	return v * 1000;
}

size_t adv_default_settings(struct adv_setting *out, size_t max,
			    uint32_t max_ns)
{
	size_t n = 0, i, k;

	if (n < max)
		out[n++] = (struct adv_setting){ ADV_FIXED, 0 };
	for (k = 0; k < 2; k++) {
		enum adv_kind kind = k ? ADV_ADAPTIVE : ADV_FIXED;

		for (i = 0; i < 19 && step_ns(i) <= max_ns && n < max; i++)
			out[n++] = (struct adv_setting){ kind, step_ns(i) };
	}
	return n;
}

double adv_success_percentile(const struct adv_input *in, uint32_t vm,
			      double q)
{
	double *v = malloc((in->n + 1) * sizeof(double)), r = -1;
	size_t i, n = 0;

	if (!v)
		return -1;
	for (i = 0; i < in->n; i++) {
		const struct adv_halt *h = &in->halts[i];

		if ((vm && h->vm != vm) || !h->polled || h->window_ns == 0)
			continue;
		v[n++] = (double)h->dur_ns;
	}
	if (n)
		r = nearest_rank(v, n, q);
	free(v);
	return r;
}

/* halt_poll_ns alone sets an adaptive cap, or 0 (no polling). */
static bool kind_match(const struct adv_setting *s, enum adv_kind kind)
{
	return s->kind == kind || (kind == ADV_ADAPTIVE && s->ns == 0);
}

static bool cheaper(const struct adv_setting *s, const struct adv_stats *st,
		    int i, int best)
{
	if (best < 0 || st[i].cores < st[best].cores)
		return true;
	return st[i].cores == st[best].cores && s[i].ns < s[best].ns;
}

double adv_best_saved(const struct adv_stats *st, size_t n)
{
	double best = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (st[i].saved_ns > best)
			best = st[i].saved_ns;
	return best;
}

int adv_pick_share(const struct adv_setting *s, const struct adv_stats *st,
		   size_t n, enum adv_kind kind, double best_saved_ns,
		   double share)
{
	double need = share * best_saved_ns * (1 - 1e-12);
	int best = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!kind_match(&s[i], kind) || st[i].saved_ns < need)
			continue;
		if (cheaper(s, st, i, best))
			best = i;
	}
	return best;
}

int adv_pick_budget(const struct adv_setting *s, const struct adv_stats *st,
		    size_t n, enum adv_kind kind, double budget)
{
	int best = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!kind_match(&s[i], kind) || st[i].cores > budget)
			continue;
		if (best < 0 || st[i].saved_ns > st[best].saved_ns ||
		    (st[i].saved_ns == st[best].saved_ns && cheaper(s, st, i, best)))
			best = i;
	}
	return best;
}

const char *adv_kind_name(enum adv_kind k)
{
	return k == ADV_FIXED ? "fixed" : "adaptive";
}

static void fmt_ns(uint32_t ns, char *buf, size_t len)
{
	if (ns >= 1000000 && ns % 1000000 == 0)
		snprintf(buf, len, "%ums", ns / 1000000);
	else if (ns >= 1000 && ns % 1000 == 0)
		snprintf(buf, len, "%uus", ns / 1000);
	else
		snprintf(buf, len, "%uns", ns);
}

void adv_setting_str(const struct adv_setting *s, char *buf, size_t len)
{
	char v[32];

	if (s->ns == 0) {
		snprintf(buf, len, "off (0)");
		return;
	}
	fmt_ns(s->ns, v, sizeof(v));
	if (s->kind == ADV_FIXED)
		snprintf(buf, len, "fixed %s", v);
	else
		snprintf(buf, len, "adaptive<=%s", v);
}

int adv_kvm_by_name(const char *name, struct adv_kvm *k)
{
	if (!strcmp(name, "6.1")) {
		*k = ADV_KVM_6_1;
		return 0;
	}
	if (!strcmp(name, "6.12")) {
		*k = ADV_KVM_6_12;
		return 1;
	}
	return -1;
}
