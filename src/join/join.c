// SPDX-License-Identifier: GPL-2.0
/* Matching guest IPIs to host IPIs and cutting the joined path (join.h). */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "join.h"
#include "join_int.h"

/* how far a host ICR may come before the converted send: the clocks'
 * uncertainty, at least this */
#define JOIN_MIN_SLACK_NS	20000
/* vCPU TSC offsets further apart than this (cycles): no TSC chain */
#define JOIN_MAX_TSC_SPREAD	100000

static const char *const point_names[JP_MAX] = {
	"send", "exit", "icr_write", "accept", "kick", "wakeup", "on_cpu",
	"halt_end", "vm_entry", "handler",
};

static const char *const unmatched_names[JU_MAX] = {
	"outside_window", "polled_target", "pv_hypercall", "posted",
	"no_host_ipi", "tracer",
};

static const char *const path_names[JPATH_MAX] = { "icr", "pv_hypercall" };

const char *join_path_name(int path)
{
	return path >= 0 && path < JPATH_MAX ? path_names[path] : "?";
}

const char *join_point_name(int p)
{
	return p >= 0 && p < JP_MAX ? point_names[p] : "?";
}

const char *join_unmatched_name(int u)
{
	return u >= 0 && u < JU_MAX ? unmatched_names[u] : "?";
}

#define MAX_VM_SEEN	64

static __u32 busiest_vm(const struct record *h)
{
	__u32 pid[MAX_VM_SEEN];
	size_t n[MAX_VM_SEEN], i, k, nr = 0, best = 0;

	for (i = 0; i < h->nr; i++) {
		for (k = 0; k < nr && pid[k] != h->h[i].vm_pid; k++)
			;
		if (k == nr) {
			if (nr == MAX_VM_SEEN)
				continue;
			pid[nr] = h->h[i].vm_pid;
			n[nr++] = 0;
		}
		n[k]++;
	}
	for (k = 1; k < nr; k++)
		if (n[k] > n[best])
			best = k;
	return nr ? pid[best] : 0;
}

/* KVM's default TSC scaling ratios: 1.0 in SVM's 8.32 and VMX's 16.48 */
static bool unscaled(__u64 ratio)
{
	return !ratio || ratio == 1ULL << 32 || ratio == 1ULL << 48;
}

/*
 * host = guest + offset via the TSC, at the middle of the guest's
 * recording: guest CLOCK_MONOTONIC -> guest TSC (the guest's two pairs)
 * -> host TSC (- the VM's TSC offset) -> host CLOCK_MONOTONIC (the host's
 * two pairs). The error: both brackets, what a rate mismatch of the two
 * lines makes of half the recording, and half the spread of the vCPUs'
 * offsets (6.1 rewrites a vCPU's offset each time it is loaded).
 */
static void chain(struct join *j)
{
	const struct record *g = j->g, *h = j->h;
	const struct rec_tsc *g0 = &g->tsc[0], *g1 = &g->tsc[1];
	const struct rec_tsc *h0 = &h->tsc[0], *h1 = &h->tsc[1];
	long double rg, rh, gm, gt, ht, hm;
	int i;

	if (g->nr_tsc < 2 || h->nr_tsc < 2 || g1->mono <= g0->mono ||
	    h1->mono <= h0->mono || g1->tsc <= g0->tsc || h1->tsc <= h0->tsc)
		return;
	for (i = 0; i < h->nr_vms; i++) {
		const struct rec_vm_tsc *v = &h->vms[i];

		if (v->pid != j->pid || v->mixed || !unscaled(v->ratio) ||
		    v->offset_max - v->offset_min > JOIN_MAX_TSC_SPREAD)
			continue;
		rg = (long double)(g1->tsc - g0->tsc) / (g1->mono - g0->mono);
		rh = (long double)(h1->tsc - h0->tsc) / (h1->mono - h0->mono);
		gm = g0->mono + (g1->mono - g0->mono) / 2.0L;
		gt = g0->tsc + (gm - g0->mono) * rg;
		ht = gt - (v->offset_min + (v->offset_max - v->offset_min) / 2.0L);
		hm = h0->mono + (ht - (long double)h0->tsc) / rh;
		j->have_chain = true;
		j->chain_offset = (__s64)(hm - gm);
		j->chain_err = g0->err + g1->err + h0->err + h1->err +
			       (__u64)(fabsl(rg / rh - 1) * (g1->mono - g0->mono) / 2) +
			       (__u64)((v->offset_max - v->offset_min) / 2 / rh);
		j->tsc_spread = v->offset_max - v->offset_min;
	}
}

static struct hidx *host_index(struct join *j, size_t *n)
{
	struct hidx *x = calloc(j->h->nr + 1, sizeof(*x));
	size_t i;

	*n = 0;
	if (!x)
		return NULL;
	for (i = 0; i < j->h->nr; i++) {
		const struct rec_host_ipi *r = &j->h->h[i];

		if (r->vm_pid != j->pid || !r->t[KS_ICR] || r->dst_vcpu < 0)
			continue;
		x[*n].t = r->t[KS_ICR];
		x[*n].i = i;
		(*n)++;
		j->host_ipis++;
		j->host_by_path[r->flags & REC_HF_PV ? JPATH_PV : JPATH_ICR]++;
	}
	qsort(x, *n, sizeof(*x), cmp_hidx);
	return x;
}

/* How a guest IPI finds its host IPI: the ICR write at most @window after
 * the send converted with @off, not more than @slack before it; with
 * @tol >= 0 also consistent with the guest's times within @tol: the
 * sender's exit after the send, the target's entry before the handler. */
struct mparams {
	__s64 off;
	__u64 slack, window;
	__s64 tol;
};

static __u64 first_pt(const struct rec_host_ipi *h)
{
	return h->exit_ts ? h->exit_ts : h->t[KS_ICR];
}

static __u64 last_pt(const struct rec_host_ipi *h)
{
	int i, s;
	__u64 last = 0;

	for (i = 0; (s = kick_stage_at(i)) >= 0; i++)
		if (h->t[s])
			last = h->t[s];
	return last;
}

static bool fits(const struct rec_guest_ipi *g, const struct rec_host_ipi *h,
		 const struct mparams *mp)
{
	__s64 send = (__s64)g->send_ns + mp->off;

	return mp->tol < 0 ||
	       ((__s64)first_pt(h) >= send - mp->tol &&
		(__s64)last_pt(h) <= send + (__s64)g->lat_ns + mp->tol);
}

/* first unused fitting host IPI for @g; x is sorted by ICR time */
static long find(struct join *j, struct hidx *x, size_t n,
		 const struct rec_guest_ipi *g, const struct mparams *mp)
{
	__s64 t = (__s64)g->send_ns + mp->off, lim = t - (__s64)mp->slack;
	size_t i;

	for (i = lower(x, n, lim); i < n && (__s64)x[i].t <= t + (__s64)mp->window; i++) {
		const struct rec_host_ipi *h = &j->h->h[x[i].i];

		if (!x[i].used && same_ipi(g, h) && fits(g, h, mp))
			return i;
	}
	return -1;
}

/* matches of the first @limit guest IPIs, taken in send order (@ord: the
 * records come per CPU ring, not in order overall); @commit: into j->m */
static size_t count_at(struct join *j, struct hidx *x, size_t n,
		       const size_t *ord, size_t limit, const struct mparams *mp,
		       bool commit)
{
	size_t i, gi, hits = 0;
	long k;

	for (i = 0; i < n; i++)
		x[i].used = false;
	for (i = 0; i < j->g->nr && i < limit; i++) {
		const struct rec_guest_ipi *g = &j->g->g[gi = ord[i]];

		if (g->flags & IPT_F_TRACER)
			continue;
		k = find(j, x, n, g, mp);
		if (k < 0)
			continue;
		x[k].used = true;
		hits++;
		if (commit)
			j->m[j->nr++] = (struct join_match){ .g = gi, .h = x[k].i };
	}
	return hits;
}

static int cmp_send(const void *a, const void *b, void *ctx)
{
	const struct rec_guest_ipi *g = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return g[x].send_ns < g[y].send_ns ? -1 : g[x].send_ns > g[y].send_ns;
}

static int cmp_s64(const void *a, const void *b)
{
	__s64 x = *(const __s64 *)a, y = *(const __s64 *)b;

	return x < y ? -1 : x > y;
}

/* The offset inside the most intervals [lo_i, hi_i] of the matches in
 * j->m (the middle of the deepest overlap): every match fits there when
 * their intervals meet. */
static __s64 deepest(struct join *j)
{
	__s64 *ev = malloc(2 * (j->nr + 1) * sizeof(*ev)), best = 0;
	size_t i, k = 0;
	int depth = 0, most = -1;

	if (!ev)
		return 0;
	for (i = 0; i < j->nr; i++) {
		const struct rec_guest_ipi *g = &j->g->g[j->m[i].g];
		const struct rec_host_ipi *h = &j->h->h[j->m[i].h];
		__s64 lo = (__s64)(last_pt(h) - g->send_ns - g->lat_ns);
		__s64 hi = (__s64)(first_pt(h) - g->send_ns);

		if (lo > hi)
			continue;
		/* ends sort after starts at the same value: *2, +1 */
		ev[k++] = lo * 2;
		ev[k++] = hi * 2 + 1;
	}
	qsort(ev, k, sizeof(*ev), cmp_s64);
	for (i = 0; i < k; i++) {
		if (ev[i] & 1) {
			depth--;
			continue;
		}
		if (++depth > most) {
			most = depth;
			/* the overlap runs to the next end */
			best = ev[i] / 2 + ((i + 1 < k ? ev[i + 1] >> 1 : ev[i] / 2) -
					    ev[i] / 2) / 2;
		}
	}
	free(ev);
	return best;
}

static __u64 median_lat(const struct record *g)
{
	__u64 *v = malloc((g->nr + 1) * sizeof(*v)), m;
	size_t i, n = 0;

	if (!v)
		return 0;
	for (i = 0; i < g->nr; i++)
		if (!(g->g[i].flags & IPT_F_TRACER))
			v[n++] = g->g[i].lat_ns;
	qsort(v, n, sizeof(*v), cmp_s64);
	m = n ? v[n / 2] : 0;
	free(v);
	return m;
}

/*
 * No TSC chain: for each of the first guest IPIs and each host IPI
 * to the same vCPU with the same vector, the offset that puts the guest's
 * send and handler around the host's path; keep the one under which the
 * most guest IPIs find a fitting host IPI (within half the median guest
 * latency; scored on the first ALIGN_SAMPLE), then move to the deepest
 * overlap of the matches' intervals.
 */
#define ALIGN_SAMPLE	512

static __s64 align(struct join *j, struct hidx *x, size_t n, const size_t *ord,
		   struct mparams *mp)
{
	size_t a, b, hits, best = 0;
	__s64 tol = median_lat(j->g) / 2;

	mp->tol = tol > 1000 ? tol : 1000;
	mp->slack = ~0ULL >> 2;
	for (a = 0; a < j->g->nr && a < 8; a++) {
		const struct rec_guest_ipi *g = &j->g->g[ord[a]];

		for (b = 0; b < n; b++) {
			const struct rec_host_ipi *h = &j->h->h[x[b].i];
			struct mparams c = *mp;

			if (!same_ipi(g, h))
				continue;
			c.off = ((__s64)(first_pt(h) - g->send_ns) +
				 (__s64)(last_pt(h) - g->send_ns - g->lat_ns)) / 2;
			c.slack = mp->window;
			hits = count_at(j, x, n, ord, ALIGN_SAMPLE, &c, false);
			if (hits > best) {
				best = hits;
				mp->off = c.off;
			}
		}
	}
	mp->slack = mp->window;
	j->nr = 0;
	count_at(j, x, n, ord, ~(size_t)0, mp, true);
	mp->off = deepest(j);
	j->nr = 0;
	return mp->off;
}

/*
 * The clocks are related only within chain_err: an IPI whose host path
 * does not fit inside its guest latency at the common offset is placed at
 * the nearest offset where it does (send -> exit and VM entry -> handler
 * >= 0), when that is within the uncertainty; the moves are counted.
 */
static __s64 place(struct join *j, const struct rec_guest_ipi *g,
		   const struct rec_host_ipi *h)
{
	__u64 first = h->exit_ts ? h->exit_ts : h->t[KS_ICR];
	__u64 last = h->t[KS_VM_ENTRY];
	__s64 hi = (__s64)(first - g->send_ns), off = j->offset, moved;
	__s64 lo = last ? (__s64)(last - g->send_ns - g->lat_ns) : INT64_MIN;

	if (lo > hi)
		return off;
	if (off > hi)
		off = hi;
	else if (off < lo)
		off = lo;
	moved = off > j->offset ? off - j->offset : j->offset - off;
	if (!moved || (__u64)moved > j->chain_err)
		return moved ? j->offset : off;
	j->placed++;
	if ((__u64)moved > j->max_place_ns)
		j->max_place_ns = moved;
	return off;
}

static void cut(struct join *j, struct join_match *m)
{
	const struct rec_guest_ipi *g = &j->g->g[m->g];
	const struct rec_host_ipi *h = &j->h->h[m->h];
	static const int stage_of[JP_MAX] = {
		[JP_ICR] = KS_ICR, [JP_ACCEPT] = KS_ACCEPT, [JP_KICK] = KS_KICK,
		[JP_WAKEUP] = KS_WAKEUP, [JP_ON_CPU] = KS_ON_CPU,
		[JP_HALT_END] = KS_HALT_END, [JP_VM_ENTRY] = KS_VM_ENTRY,
	};
	__u64 prev;
	int p;

	__s64 off = place(j, g, h);

	m->pt[JP_SEND] = g->send_ns + off;
	m->pt[JP_EXIT] = h->exit_ts;
	for (p = JP_ICR; p <= JP_VM_ENTRY; p++)
		m->pt[p] = h->t[stage_of[p]];
	m->pt[JP_HANDLER] = g->send_ns + g->lat_ns + off;
	prev = m->pt[JP_SEND];
	for (p = JP_EXIT; p < JP_MAX; p++) {
		if (!m->pt[p])
			continue;
		m->seg[p] = (__s64)(m->pt[p] - prev);
		prev = m->pt[p];
	}
}

static void group_add(struct join_group *grp, const struct join_match *m,
		      __u64 lat)
{
	int p;

	grp->count++;
	grp->lat_sum += lat;
	hist_add(&grp->lat, lat);
	for (p = JP_EXIT; p < JP_MAX; p++) {
		if (!m->pt[p])
			continue;
		grp->seen[p]++;
		grp->seg_sum[p] += m->seg[p];
		hist_add(&grp->seg[p], m->seg[p] > 0 ? m->seg[p] : 0);
	}
}

static bool path_outlasts(const struct rec_guest_ipi *g,
			  const struct rec_host_ipi *h)
{
	__u64 first = h->exit_ts ? h->exit_ts : h->t[KS_ICR];
	__u64 last = h->t[KS_VM_ENTRY];

	return first && last > first && last - first > g->lat_ns;
}

/* The offsets all matches allow: send + off <= the first host event,
 * the last (VM entry) <= send + latency + off; a match whose host path
 * outlasts its guest latency allows none and is left out. */
static void fit_range(struct join *j)
{
	size_t i;

	j->lo = INT64_MIN;
	j->hi = INT64_MAX;
	for (i = 0; i < j->nr; i++) {
		const struct rec_guest_ipi *g = &j->g->g[j->m[i].g];
		const struct rec_host_ipi *h = &j->h->h[j->m[i].h];
		__u64 first = h->exit_ts ? h->exit_ts : h->t[KS_ICR];
		__u64 last = h->t[KS_VM_ENTRY];

		if (path_outlasts(g, h))
			continue;
		if ((__s64)(first - g->send_ns) < j->hi)
			j->hi = (__s64)(first - g->send_ns);
		if (last && (__s64)(last - g->send_ns - g->lat_ns) > j->lo)
			j->lo = (__s64)(last - g->send_ns - g->lat_ns);
	}
}

/* The clock relation is only as good as its measurement: where the matched
 * IPIs pin the offset tighter, the offset moves into their range and the
 * move is the residual reported. */
static void settle_offset(struct join *j, __u64 tol)
{
	fit_range(j);
	j->residual = 0;
	/* Aligned, the matches are the only measure of the clocks: when no
	 * one offset fits them all (kvm-clock steps as 6.1 rewrites TSC
	 * offsets), their disagreement is the uncertainty. The offset goes
	 * inside it and each IPI is placed within it (counted), up to the
	 * matching tolerance. */
	if (j->nr && j->lo > j->hi && j->clock == JC_ALIGNED &&
	    (__u64)(j->lo - j->hi) <= tol) {
		j->residual = j->lo - j->hi;
		j->chain_err = (__u64)j->residual;
		if (j->offset < j->hi)
			j->offset = j->hi;
		else if (j->offset > j->lo)
			j->offset = j->lo;
		return;
	}
	if (!j->nr || j->lo > j->hi) {
		j->residual = j->nr ? -1 : 0;
		return;
	}
	if (j->offset < j->lo) {
		j->residual = j->lo - j->offset;
		j->offset = j->lo;
	} else if (j->offset > j->hi) {
		j->residual = j->offset - j->hi;
		j->offset = j->hi;
	}
}

static void account(struct join *j)
{
	size_t i;
	int p, kind, st;

	for (i = 0; i < j->nr; i++) {
		struct join_match *m = &j->m[i];
		const struct rec_guest_ipi *g = &j->g->g[m->g];
		const struct rec_host_ipi *h = &j->h->h[m->h];
		bool neg = false;

		cut(j, m);
		m->path = h->flags & REC_HF_PV ? JPATH_PV : JPATH_ICR;
		j->matched_by_path[m->path]++;
		/* the clocks stepped while it ran (6.1's kvm-clock as KVM
		 * rewrites TSC offsets): no offset cuts it into segments */
		m->outlasts = path_outlasts(g, h);
		if (m->outlasts) {
			j->outlasting++;
			continue;
		}
		for (p = JP_EXIT; p < JP_MAX; p++)
			neg |= m->pt[p] && m->seg[p] < 0;
		j->negative += neg;
		m->numa = j->g->node[g->src_cpu] < 0 || j->g->node[g->dst_cpu] < 0 ?
			  IPT_NUMA_UNKNOWN : j->g->node[g->src_cpu] ==
			  j->g->node[g->dst_cpu] ? IPT_NUMA_SAME : IPT_NUMA_CROSS;
		st = h->state < TS_MAX ? h->state : TS_RUNNING;
		for (kind = g->kind; ; kind = JOIN_GROUP_ALL) {
			group_add(&j->grp[kind][m->numa][st], m, g->lat_ns);
			group_add(&j->grp[kind][m->numa][TS_MAX], m, g->lat_ns);
			if (kind == JOIN_GROUP_ALL)
				break;
		}
	}
}

int join_run(struct join *j, const struct record *g, const struct record *h,
	     const struct join_opts *o, char *err, size_t len)
{
	size_t n, i, *ord = NULL;
	struct hidx *x = NULL;
	struct why_idx w = { 0 };
	bool *matched = NULL;
	struct mparams mp = { 0 };
	int ret = -1;

	memset(j, 0, sizeof(*j));
	if (g->side != REC_GUEST || h->side != REC_HOST) {
		snprintf(err, len, "join takes a guest record, then a host record");
		return -1;
	}
	j->g = g;
	j->h = h;
	j->pid = o->pid ? o->pid : busiest_vm(h);
	chain(j);
	x = host_index(j, &n);
	ord = malloc((g->nr + 1) * sizeof(*ord));
	j->m = calloc(g->nr + 1, sizeof(*j->m));
	matched = calloc(g->nr + 1, sizeof(*matched));
	if (!x || !ord || !j->m || !matched || join_why_index(j, &w)) {
		snprintf(err, len, "out of memory");
		goto out;
	}
	for (i = 0; i < g->nr; i++)
		ord[i] = i;
	qsort_r(ord, g->nr, sizeof(*ord), cmp_send, g->g);
	mp.window = o->window_ns;
	if (j->have_chain && !o->align) {
		j->clock = JC_TSC;
		mp.off = j->chain_offset;
		mp.slack = 2 * j->chain_err;
		if (mp.slack < JOIN_MIN_SLACK_NS)
			mp.slack = JOIN_MIN_SLACK_NS;
		/* a path that ends after the guest's handler, beyond what
		 * the clocks allow, is another IPI's */
		mp.tol = mp.slack;
	} else {
		j->clock = JC_ALIGNED;
		align(j, x, n, ord, &mp);
	}
	j->offset = mp.off;
	count_at(j, x, n, ord, ~(size_t)0, &mp, true);
	for (i = 0; i < j->nr; i++)
		matched[j->m[i].g] = true;
	settle_offset(j, mp.tol);
	account(j);
	j->slack = mp.slack;
	j->window = mp.window;
	w.x = x;
	w.n = n;
	join_count_unmatched(j, &w, matched);
	ret = 0;
out:
	free(w.pv);
	free(w.halt);
	free(x);
	free(ord);
	free(matched);
	return ret;
}

void join_free(struct join *j)
{
	free(j->m);
	j->m = NULL;
	j->nr = 0;
}
