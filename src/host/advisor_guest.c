// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-side polling replay. The haltpoll governor (haltpoll_select /
 * haltpoll_reflect / adjust_poll_limit in drivers/cpuidle/governors/
 * haltpoll.c, same logic in 6.1 and 6.12): a CPU whose poll_limit_ns is 0
 * halts at once; otherwise it polls (poll_idle) up to poll_limit_ns and
 * halts only if nothing woke it. Only a halt feeds back: with the time it
 * spent in HLT, the limit grows (x grow, at least grow_start, at most
 * guest_halt_poll_ns) if it exceeded the limit but not guest_halt_poll_ns,
 * and shrinks (/ shrink) if it exceeded guest_halt_poll_ns.
 * A woken poller saw no IPI (TIF_POLLING_NRFLAG: the sender skips it).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "advisor_guest.h"
#include "hist.h"

static void adjust_limit(struct gadv_cpu *c, uint32_t cap,
			 const struct gadv_params *gp, double block_ns)
{
	uint64_t val;

	if (block_ns > c->limit && block_ns <= cap) {
		val = (uint64_t)c->limit * gp->grow;
		if (val < gp->grow_start)
			val = gp->grow_start;
		if (val > cap)
			val = cap;
		c->limit = (uint32_t)val;
	} else if (block_ns > cap && gp->allow_shrink) {
		c->limit = gp->shrink ? c->limit / gp->shrink : 0;
	}
}

void gadv_step(struct gadv_cpu *c, const struct gadv_setting *s,
	       const struct gadv_params *gp, uint64_t dur_ns,
	       struct gadv_outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->limit_before = c->limit;
	switch (s->kind) {
	case GADV_OFF:
		o->halt_ns = dur_ns;
		break;
	case GADV_IDLE_POLL:
		o->caught = true;
		o->poll_ns = dur_ns;
		break;
	case GADV_HALTPOLL:
		if (c->limit == 0) {
			o->halt_ns = dur_ns;
			adjust_limit(c, s->ns, gp, o->halt_ns);
		} else if (dur_ns < c->limit) {
			o->caught = true;
			o->poll_ns = dur_ns;
		} else {
			o->poll_ns = c->limit;
			o->halt_ns = (double)dur_ns - c->limit;
			adjust_limit(c, s->ns, gp, o->halt_ns);
		}
		break;
	}
	o->limit_after = c->limit;
}


int gadv_eval(const struct gadv_idle *p, size_t n, uint64_t span_ns,
	      const struct gadv_setting *s, const struct gadv_params *gp,
	      const struct gadv_costs *c, struct gadv_stats *st)
{
	double *saved = malloc((n + 1) * sizeof(double));
	struct gadv_cpu cpu = { 0 };
	struct gadv_outcome o;
	size_t i, k = 0;

	if (!saved)
		return -ENOMEM;
	memset(st, 0, sizeof(*st));
	for (i = 0; i < n; i++) {
		if (i == 0 || p[i].cpu != p[i - 1].cpu)
			cpu.limit = 0;	/* haltpoll_enable_device() */
		gadv_step(&cpu, s, gp, p[i].dur_ns, &o);
		st->periods++;
		st->caught += o.caught;
		st->halts += !o.caught;
		st->poll_ns += o.poll_ns;
		if (!p[i].ipi)
			continue;
		st->ipi_periods++;
		st->ipi_caught += o.caught;
		saved[k] = o.caught ? c->halted_ns - c->polling_ns : 0;
		st->saved_ns += saved[k++];
	}
	st->saved_p50 = nearest_rank(saved, k, 0.50);
	st->saved_p99 = nearest_rank(saved, k, 0.99);
	st->cores = span_ns ? st->poll_ns / span_ns : 0;
	free(saved);
	return 0;
}

static const uint32_t gsteps[] = {
	10000, 20000, 50000, 100000, 200000, 500000, 1000000, 2000000,
};

size_t gadv_default_settings(struct gadv_setting *out, size_t max)
{
	size_t n = 0, i;

	if (n < max)
		out[n++] = (struct gadv_setting){ GADV_OFF, 0 };
	for (i = 0; i < sizeof(gsteps) / sizeof(gsteps[0]) && n < max; i++)
		out[n++] = (struct gadv_setting){ GADV_HALTPOLL, gsteps[i] };
	if (n < max)
		out[n++] = (struct gadv_setting){ GADV_IDLE_POLL, 0 };
	return n;
}

void gadv_setting_str(const struct gadv_setting *s, char *buf, size_t len)
{
	switch (s->kind) {
	case GADV_OFF:
		snprintf(buf, len, "no guest polling");
		break;
	case GADV_IDLE_POLL:
		snprintf(buf, len, "idle=poll");
		break;
	case GADV_HALTPOLL:
		snprintf(buf, len, "haltpoll guest_halt_poll_ns=%u", s->ns);
		break;
	}
}

void gadv_input_free(struct gadv_input *in)
{
	free(in->p);
	memset(in, 0, sizeof(*in));
}

static int cmp_cpu(const void *a, const void *b)
{
	const struct gadv_idle *x = *(const struct gadv_idle * const *)a;
	const struct gadv_idle *y = *(const struct gadv_idle * const *)b;

	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	return x < y ? -1 : x > y;	/* same array: keeps time order */
}

/* stable by cpu: sort pointers, then gather */
static int order_by_cpu(struct gadv_input *in)
{
	const struct gadv_idle **ix = malloc((in->n + 1) * sizeof(*ix));
	struct gadv_idle *out = malloc((in->n + 1) * sizeof(*out));
	size_t i;

	if (!ix || !out) {
		free(ix);
		free(out);
		return -ENOMEM;
	}
	for (i = 0; i < in->n; i++)
		ix[i] = &in->p[i];
	qsort(ix, in->n, sizeof(*ix), cmp_cpu);
	for (i = 0; i < in->n; i++)
		out[i] = *ix[i];
	free(ix);
	free(in->p);
	in->p = out;
	in->alloc = in->n + 1;
	return 0;
}

int gadv_build(struct gadv_input *in, const struct gadv_params *gp,
	       struct gadv_advice *a)
{
	size_t i;
	int err;

	memset(a, 0, sizeof(*a));
	a->in = in;
	err = order_by_cpu(in);
	if (err)
		return err;
	a->nset = gadv_default_settings(a->set, GADV_MAX_SETTINGS);
	for (i = 0; i < a->nset; i++) {
		err = gadv_eval(in->p, in->n, in->span_ns, &a->set[i], gp,
				&in->costs, &a->st[i]);
		if (err)
			return err;
	}
	return 0;
}
