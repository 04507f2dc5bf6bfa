// SPDX-License-Identifier: GPL-2.0
/* Why a guest IPI went unmatched: what the host recorded around it. */
#include <stdlib.h>
#include "join_int.h"

int join_why_index(struct join *j, struct why_idx *w)
{
	const struct record *h = j->h;
	size_t i;

	w->pv = calloc(h->nr_pv + 1, sizeof(*w->pv));
	w->halt = calloc(h->nr_halts + 1, sizeof(*w->halt));
	if (!w->pv || !w->halt)
		return -1;
	for (i = 0; i < h->nr_pv; i++) {
		if (h->pv[i].vm_pid != j->pid)
			continue;
		w->pv[w->npv++] = (struct hidx){ .t = h->pv[i].ts, .i = i };
		j->host_pv_sends++;
	}
	for (i = 0; i < h->nr_halts; i++) {
		if (h->halts[i].vm_pid != j->pid)
			continue;
		w->halt[w->nhalt++] = (struct hidx){ .t = h->halts[i].end_ts, .i = i };
		if (h->halts[i].ns > w->max_halt)
			w->max_halt = h->halts[i].ns;
	}
	qsort(w->pv, w->npv, sizeof(*w->pv), cmp_hidx);
	qsort(w->halt, w->nhalt, sizeof(*w->halt), cmp_hidx);
	return 0;
}

static bool from_sender(const struct rec_guest_ipi *g, int src_vcpu)
{
	return src_vcpu < 0 || src_vcpu == (int)g->src_cpu;
}

/* the host saw it: an unused host IPI of the sender to the target with
 * its vector in [lo, hi]; its target state in *@state */
static bool host_saw(const struct join *j, const struct why_idx *w,
		     const struct rec_guest_ipi *g, __s64 lo, __s64 hi,
		     int *state)
{
	size_t i;

	for (i = lower(w->x, w->n, lo); i < w->n && (__s64)w->x[i].t <= hi; i++) {
		const struct rec_host_ipi *h = &j->h->h[w->x[i].i];

		if (!w->x[i].used && same_ipi(g, h)) {
			*state = h->state;
			return true;
		}
	}
	return false;
}

/* a hypercall of the sender in [lo, hi]; naming the target with the
 * IPI's vector when @cover */
static bool hypercall(const struct join *j, const struct why_idx *w,
		      const struct rec_guest_ipi *g, __s64 lo, __s64 hi,
		      bool cover)
{
	size_t i;

	for (i = lower(w->pv, w->npv, lo); i < w->npv && (__s64)w->pv[i].t <= hi; i++) {
		const struct kick_pv_send *s = &j->h->pv[w->pv[i].i];

		if (!from_sender(g, s->src_vcpu))
			continue;
		if (!cover || (s->vector == g->vector &&
			       rec_pv_covers(s, (int)g->dst_cpu)))
			return true;
	}
	return false;
}

/* any host IPI (either path, any target) sent by the sender in [lo, hi] */
static bool sender_sent(const struct join *j, const struct why_idx *w,
			const struct rec_guest_ipi *g, __s64 lo, __s64 hi)
{
	size_t i;

	for (i = lower(w->x, w->n, lo); i < w->n && (__s64)w->x[i].t <= hi; i++)
		if (from_sender(g, j->h->h[w->x[i].i].src_vcpu))
			return true;
	return hypercall(j, w, g, lo, hi, false);
}

/* was the target vCPU in a halt the host recorded at @t */
static bool halted_at(const struct join *j, const struct why_idx *w,
		      int vcpu, __s64 t)
{
	size_t i;

	for (i = lower(w->halt, w->nhalt, t);
	     i < w->nhalt && w->halt[i].t <= (__u64)t + w->max_halt; i++) {
		const struct rec_halt *x = &j->h->halts[w->halt[i].i];

		if (x->vcpu == vcpu && (__s64)(x->end_ts - x->ns) <= t)
			return true;
	}
	return false;
}

static int classify(const struct join *j, const struct why_idx *w,
		    const struct rec_guest_ipi *g, __s64 t)
{
	__s64 lo = t - (__s64)j->slack, hi = t + (__s64)j->window;
	int state;

	if (host_saw(j, w, g, lo, hi, &state) && state != TS_BLOCKED)
		return JU_POLLED;
	if (hypercall(j, w, g, lo, hi, true))
		return JU_PV;
	if (j->h->have_halts && !sender_sent(j, w, g, lo, hi) &&
	    !halted_at(j, w, (int)g->dst_cpu, t))
		return JU_POSTED;
	return JU_NO_HOST;
}

void join_count_unmatched(struct join *j, const struct why_idx *w,
			    const bool *matched)
{
	size_t gi;
	__s64 t0 = (__s64)j->h->start_ns, t1 = (__s64)j->h->end_ns;

	for (gi = 0; gi < j->g->nr; gi++) {
		const struct rec_guest_ipi *g = &j->g->g[gi];
		__s64 t = (__s64)g->send_ns + j->offset;

		if (g->flags & IPT_F_TRACER) {
			j->unmatched[JU_TRACER]++;
			continue;
		}
		if (!matched[gi] && (t < t0 || t > t1)) {
			j->unmatched[JU_OUTSIDE]++;
			continue;
		}
		j->guest_ipis++;
		if (!matched[gi])
			j->unmatched[classify(j, w, g, t)]++;
	}
}

