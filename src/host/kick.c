// SPDX-License-Identifier: GPL-2.0
/*
 * Per-IPI stage state machine for the host side (see kick.h).
 *
 * An IPI is a struct kipi, opened in the sender thread S by kvm_apic_ipi
 * (or the PV send-IPI hypercall). Until S re-enters the guest (kvm_entry),
 * ends a halt, or sends the next IPI, S's "open" IPI collects what KVM does
 * on its behalf in S's context: accept, kick, sched_waking, ipi_send_cpu.
 * Each target vCPU holds at most one pending IPI (struct kpend); a new IPI
 * to the same target completes the old one with what it has.
 *
 * A stage is recorded only when no later stage has been, and never earlier
 * than the last recorded one, so a lost event leaves a hole and the next
 * stage is measured from the previous observed one.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kick.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ICR_VECTOR(icr)		((icr) & 0xff)
#define ICR_LOGICAL		(1u << 11)
#define ICR_SHORTHAND(icr)	(((icr) >> 18) & 3)
#define SH_NONE			0
#define SH_SELF			1

/* tid / (pid, vcpu) -> index, open addressing */
struct idx {
	__u64 *keys;
	int *vals;		/* -1: empty */
	size_t cap;
	size_t n;
};

struct kipi {
	__u64 id;
	__u64 ts;
	__u64 exit_ts;
	__u32 pid;
	__u32 src_tid;
	int src_vcpu;
	int src_cpu;
	int vector;
	bool from_accepts;	/* targets come from accept events */
	bool reported;
	int refs;
	int *targets;		/* vCPU indices */
	int nr;
	int cap;
};

struct kpend {
	bool active;
	bool woken;		/* the target thread was woken after the ICR */
	struct kipi *ipi;
	__u64 t[KS_MAX];
	__u64 halt_ns;
	int state;		/* -1 until the halt end says */
	int dst_cpu;
};

struct kvcpu {
	struct kick_vcpu_info info;
	struct kpend pend;
};

struct kthread {
	__u32 tid;
	__u32 pid;
	int vcpu;
	int last_cpu;
	__u64 exit_ts;		/* 0: not in an exit */
	__u64 sleep_ts;		/* last switch-out to sleep */
	struct kick_halt early;	/* halts while the thread's vCPU was unknown */
	__u32 exit_isa;
	__u32 exit_reason;
	struct kipi *open;
};

struct kick {
	kick_cb cb;
	void *ctx;
	__u64 timeout;
	__u32 f_pid;
	int f_vcpu;
	struct kthread **thr;
	size_t nr_thr;
	size_t cap_thr;
	struct idx thr_idx;
	struct kvcpu **vc;
	size_t nr_vc;
	size_t cap_vc;
	struct idx vc_idx;
	struct kick_exit *exits;
	size_t nr_exits;
	size_t cap_exits;
	struct kick_halt total;
	struct hist halt_hist;
	struct kick_stats st;
	bool entries_seen;
	__u64 next_id;
};

static size_t idx_slot(const struct idx *x, __u64 key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 20) & (x->cap - 1);
}

static int idx_find(const struct idx *x, __u64 key)
{
	size_t i;

	if (!x->cap)
		return -1;
	for (i = idx_slot(x, key); x->vals[i] >= 0; i = (i + 1) & (x->cap - 1))
		if (x->keys[i] == key)
			return x->vals[i];
	return -1;
}

static void idx_insert(struct idx *x, __u64 key, int val)
{
	size_t i = idx_slot(x, key);

	while (x->vals[i] >= 0)
		i = (i + 1) & (x->cap - 1);
	x->keys[i] = key;
	x->vals[i] = val;
	x->n++;
}

static int idx_grow(struct idx *x)
{
	struct idx old = *x;
	size_t i, cap = x->cap ? x->cap * 2 : 64;

	x->keys = calloc(cap, sizeof(*x->keys));
	x->vals = malloc(cap * sizeof(*x->vals));
	if (!x->keys || !x->vals) {
		free(x->keys);
		free(x->vals);
		*x = old;
		return -ENOMEM;
	}
	memset(x->vals, 0xff, cap * sizeof(*x->vals));
	x->cap = cap;
	x->n = 0;
	for (i = 0; i < old.cap; i++)
		if (old.vals[i] >= 0)
			idx_insert(x, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
	return 0;
}

static int idx_put(struct idx *x, __u64 key, int val)
{
	if ((x->n + 1) * 2 > x->cap && idx_grow(x))
		return -ENOMEM;
	idx_insert(x, key, val);
	return 0;
}

static void idx_free(struct idx *x)
{
	free(x->keys);
	free(x->vals);
	memset(x, 0, sizeof(*x));
}

/* Append @p to a pointer array; returns its index or -ENOMEM. */
static int ptr_push(void ***arr, size_t *nr, size_t *cap, void *p)
{
	if (*nr == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		void **n = realloc(*arr, c * sizeof(*n));

		if (!n)
			return -ENOMEM;
		*arr = n;
		*cap = c;
	}
	(*arr)[*nr] = p;
	return (int)(*nr)++;
}

static __u64 vc_key(__u32 pid, int vcpu)
{
	return (__u64)pid << 32 | (__u32)vcpu;
}

static struct kthread *thread_find(const struct kick *k, __u32 tid)
{
	int i = idx_find(&k->thr_idx, tid);

	return i < 0 ? NULL : k->thr[i];
}

static struct kthread *thread_get(struct kick *k, __u32 tid, __u32 pid)
{
	struct kthread *t = thread_find(k, tid);
	int i;

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tid = tid;
	t->pid = pid;
	t->vcpu = -1;
	t->last_cpu = -1;
	i = ptr_push((void ***)&k->thr, &k->nr_thr, &k->cap_thr, t);
	if (i < 0 || idx_put(&k->thr_idx, tid, i)) {
		if (i >= 0)
			k->nr_thr--;
		free(t);
		return NULL;
	}
	return t;
}

static int vcpu_index(const struct kick *k, __u32 pid, int vcpu)
{
	return idx_find(&k->vc_idx, vc_key(pid, vcpu));
}

static struct kvcpu *vcpu_find(const struct kick *k, __u32 pid, int vcpu)
{
	int i = vcpu_index(k, pid, vcpu);

	return i < 0 ? NULL : k->vc[i];
}

static struct kvcpu *vcpu_get(struct kick *k, __u32 pid, int vcpu)
{
	struct kvcpu *v = vcpu_find(k, pid, vcpu);
	int i;

	if (v || vcpu < 0)
		return v;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->info.pid = pid;
	v->info.vcpu = vcpu;
	v->pend.state = -1;
	v->pend.dst_cpu = -1;
	i = ptr_push((void ***)&k->vc, &k->nr_vc, &k->cap_vc, v);
	if (i < 0 || idx_put(&k->vc_idx, vc_key(pid, vcpu), i)) {
		if (i >= 0)
			k->nr_vc--;
		free(v);
		return NULL;
	}
	return v;
}

/* thread @t runs vCPU @vcpu of its VM */
static bool filter_pid(const struct kick *k, __u32 pid);

static void halt_merge(struct kick_halt *d, const struct kick_halt *s)
{
	d->halts += s->halts;
	d->polled += s->polled;
	d->blocked += s->blocked;
	d->invalid += s->invalid;
	d->halt_ns += s->halt_ns;
	d->poll_ns += s->poll_ns;
	d->wait_ns += s->wait_ns;
	d->blocked_split += s->blocked_split;
}

/* A thread learns its vCPU after some halts (a VM that starts halting
 * before its threads are found): those halts are that vCPU's too. */
static void adopt_early_halts(struct kick *k, struct kthread *t,
			      struct kvcpu *v)
{
	if (!t->early.halts)
		return;
	if (kick_filter_match(k, t->pid, t->vcpu)) {
		halt_merge(&v->info.halt, &t->early);
		if (k->f_vcpu >= 0)	/* not in the total while unknown */
			halt_merge(&k->total, &t->early);
	}
	k->st.unattributed_halts -= t->early.halts;
	memset(&t->early, 0, sizeof(t->early));
}

static void bind(struct kick *k, struct kthread *t, int vcpu)
{
	struct kvcpu *v;
	struct kthread *o;

	if (!t || vcpu < 0)
		return;
	v = vcpu_get(k, t->pid, vcpu);
	if (!v)
		return;
	if (t->vcpu == vcpu && v->info.tid == t->tid)
		return;
	if (t->vcpu >= 0 && t->vcpu != vcpu) {
		struct kvcpu *ov = vcpu_find(k, t->pid, t->vcpu);

		if (ov && ov->info.tid == t->tid)
			ov->info.tid = 0;
	}
	if (v->info.tid && v->info.tid != t->tid) {
		o = thread_find(k, v->info.tid);
		if (o && o->vcpu == vcpu)
			o->vcpu = -1;
	}
	t->vcpu = vcpu;
	v->info.tid = t->tid;
	v->info.known = true;
	adopt_early_halts(k, t, v);
}

static bool filter_pid(const struct kick *k, __u32 pid)
{
	return !k->f_pid || k->f_pid == pid;
}

bool kick_filter_match(const struct kick *k, __u32 pid, int vcpu)
{
	return filter_pid(k, pid) && (k->f_vcpu < 0 || k->f_vcpu == vcpu);
}

static void ipi_put(struct kick *k, struct kipi *p)
{
	if (--p->refs > 0)
		return;
	if (!p->nr)
		k->st.no_target++;
	free(p->targets);
	free(p);
}

static void close_open(struct kick *k, struct kthread *t)
{
	if (t && t->open) {
		ipi_put(k, t->open);
		t->open = NULL;
	}
}

static int ipi_add_target(struct kipi *p, int vi)
{
	if (p->nr == p->cap) {
		int c = p->cap ? p->cap * 2 : 4;
		int *n = realloc(p->targets, c * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->targets = n;
		p->cap = c;
	}
	p->targets[p->nr++] = vi;
	return 0;
}

static int target_state(const struct kpend *p)
{
	if (p->state >= 0)
		return p->state;
	/* no halt end: a woken thread was asleep, else it was running */
	return p->woken ? TS_BLOCKED : TS_RUNNING;
}

static int target_cpu(const struct kick *k, const struct kvcpu *v)
{
	const struct kthread *t;

	if (v->pend.dst_cpu >= 0)
		return v->pend.dst_cpu;
	t = v->info.tid ? thread_find(k, v->info.tid) : NULL;
	return t ? t->last_cpu : -1;
}

static bool result_match(const struct kick *k, const struct kick_result *r)
{
	if (!filter_pid(k, r->vm_pid))
		return false;
	return k->f_vcpu < 0 || r->src_vcpu == k->f_vcpu ||
	       r->dst_vcpu == k->f_vcpu;
}

enum { DONE, TIMED_OUT, SUPERSEDED };

static void complete(struct kick *k, struct kvcpu *v, int how)
{
	struct kpend *p = &v->pend;
	struct kipi *ipi = p->ipi;
	struct kick_result r = {
		.ipi_id = ipi->id, .vm_pid = ipi->pid,
		.src_vcpu = ipi->src_vcpu, .dst_vcpu = v->info.vcpu,
		.src_tid = ipi->src_tid, .dst_tid = v->info.tid,
		.src_cpu = ipi->src_cpu, .dst_cpu = target_cpu(k, v),
		.state = target_state(p), .exit_ts = ipi->exit_ts,
		.halt_ns = p->halt_ns, .vector = ipi->vector,
		.timed_out = how == TIMED_OUT, .superseded = how == SUPERSEDED,
	};

	memcpy(r.t, p->t, sizeof(r.t));
	if (result_match(k, &r)) {
		r.ipi_first = !ipi->reported;
		ipi->reported = true;
		k->st.results++;
		if (k->cb)
			k->cb(&r, k->ctx);
	} else {
		k->st.filtered++;
	}
	p->active = false;
	p->ipi = NULL;
	ipi_put(k, ipi);
}

static void pend_start(struct kick *k, struct kvcpu *v, struct kipi *ipi)
{
	struct kpend *p = &v->pend;
	int vi = vcpu_index(k, v->info.pid, v->info.vcpu);

	if (vi < 0 || ipi_add_target(ipi, vi))
		return;
	if (p->active) {
		k->st.superseded++;
		complete(k, v, SUPERSEDED);
	}
	memset(p, 0, sizeof(*p));
	p->active = true;
	p->ipi = ipi;
	p->state = -1;
	p->dst_cpu = -1;
	p->t[KS_ICR] = ipi->ts;
	ipi->refs++;
}

/* Record stage @s at @ts unless it or a later stage is set already. */
static bool stage_set(struct kick *k, struct kpend *p, int s, __u64 ts)
{
	__u64 last = 0;
	int i;

	if (!p->active)
		return false;
	for (i = 0; i < KS_MAX; i++) {
		if (!p->t[i])
			continue;
		if (i >= s)
			return false;
		last = p->t[i];
	}
	if (ts < last) {
		k->st.stale++;
		return false;
	}
	p->t[s] = ts;
	return true;
}

/* the pending IPI of the vCPU thread @t runs, if any */
static struct kvcpu *thread_vcpu(const struct kick *k, const struct kthread *t)
{
	if (!t || t->vcpu < 0)
		return NULL;
	return vcpu_find(k, t->pid, t->vcpu);
}

static struct kipi *ipi_open(struct kick *k, const struct host_event *e,
			     struct kthread *s, int vector)
{
	struct kipi *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	k->st.ipis++;
	p->id = ++k->next_id;
	p->ts = e->ts;
	p->exit_ts = s->exit_ts;
	p->pid = e->pid;
	p->src_tid = e->tid;
	p->src_vcpu = s->vcpu;
	p->src_cpu = (int)e->cpu;
	p->vector = vector;
	p->from_accepts = true;
	p->refs = 1;
	close_open(k, s);
	s->open = p;
	return p;
}

static void on_apic_ipi(struct kick *k, const struct host_event *e,
			struct kthread *s)
{
	__u32 icr = e->a0, dest = e->a1;
	struct kipi *p = ipi_open(k, e, s, ICR_VECTOR(icr));
	int tgt = -1;

	if (!p)
		return;
	if (ICR_SHORTHAND(icr) == SH_NONE && !(icr & ICR_LOGICAL) &&
	    dest != 0xff && dest != 0xffffffff)
		tgt = (int)dest;
	else if (ICR_SHORTHAND(icr) == SH_SELF)
		tgt = s->vcpu;
	if (tgt >= 0) {
		struct kvcpu *v = vcpu_get(k, p->pid, tgt);

		p->from_accepts = false;
		if (v)
			pend_start(k, v, p);
	}
}

static void on_pv_ipi(struct kick *k, const struct host_event *e,
		      struct kthread *s)
{
	ipi_open(k, e, s, ICR_VECTOR((__u32)e->v1));
}

static void on_accept(struct kick *k, const struct host_event *e,
		      struct kthread *s)
{
	struct kipi *p = s->open;
	struct kvcpu *v;

	if (!p || (int)e->a1 != p->vector)
		return;
	v = p->from_accepts ? vcpu_get(k, p->pid, (int)e->a0) :
			      vcpu_find(k, p->pid, (int)e->a0);
	if (!v)
		return;
	if (!(v->pend.active && v->pend.ipi == p)) {
		if (!p->from_accepts)
			return;
		pend_start(k, v, p);
	}
	v->info.known = true;
	stage_set(k, &v->pend, KS_ACCEPT, e->ts);
}

static void on_kick(struct kick *k, const struct host_event *e)
{
	struct kvcpu *v = vcpu_find(k, e->pid, (int)e->a0);

	if (v)
		stage_set(k, &v->pend, KS_KICK, e->ts);
}

/*
 * A sched_waking from S's context of a thread whose vCPU is not known yet:
 * when exactly one accepted, not yet kicked target of S's IPI has no
 * thread, that thread is it (kvm_vcpu_kick wakes the target's thread).
 */
static void learn_from_waking(struct kick *k, const struct host_event *e,
			      struct kthread *s)
{
	struct kipi *p = s->open;
	struct kvcpu *found = NULL;
	struct kthread *tt;
	int i;

	for (i = 0; i < p->nr; i++) {
		struct kvcpu *v = k->vc[p->targets[i]];

		if (!v->pend.active || v->pend.ipi != p || v->info.tid ||
		    !v->pend.t[KS_ACCEPT] || v->pend.t[KS_KICK])
			continue;
		if (found)
			return;
		found = v;
	}
	if (!found)
		return;
	tt = thread_get(k, e->arg_tid, p->pid);
	if (!tt || tt->pid != p->pid)
		return;
	bind(k, tt, found->info.vcpu);
	k->st.learned++;
}

static void on_waking(struct kick *k, const struct host_event *e,
		      struct kthread *s)
{
	struct kthread *tt = thread_find(k, e->arg_tid);
	struct kvcpu *v;

	if (s->open && (!tt || tt->vcpu < 0)) {
		learn_from_waking(k, e, s);
		tt = thread_find(k, e->arg_tid);
	}
	v = thread_vcpu(k, tt);
	if (!v || !v->pend.active || v->pend.ipi->src_tid != e->tid ||
	    e->ts < v->pend.t[KS_ICR])
		return;
	v->pend.woken = true;
	stage_set(k, &v->pend, KS_KICK, e->ts);
}

static void on_ipi_kick(struct kick *k, const struct host_event *e,
			struct kthread *s)
{
	struct kipi *p = s->open;
	int i;

	if (!p)
		return;
	for (i = 0; i < p->nr; i++) {
		struct kvcpu *v = k->vc[p->targets[i]];
		struct kthread *tt;

		if (!v->pend.active || v->pend.ipi != p || !v->info.tid)
			continue;
		tt = thread_find(k, v->info.tid);
		if (tt && tt->last_cpu == (int)e->a0)
			stage_set(k, &v->pend, KS_KICK, e->ts);
	}
}

static void on_wakeup(struct kick *k, const struct host_event *e)
{
	struct kthread *tt = thread_find(k, e->arg_tid);
	struct kvcpu *v;

	if (!tt)
		return;
	tt->last_cpu = (int)e->a0;
	v = thread_vcpu(k, tt);
	if (!v || !v->pend.active || e->ts < v->pend.t[KS_ICR])
		return;
	v->pend.woken = true;
	stage_set(k, &v->pend, KS_WAKEUP, e->ts);
}

static void on_switch_in(struct kick *k, const struct host_event *e)
{
	struct kthread *tt = thread_find(k, e->arg_tid);
	struct kvcpu *v;

	if (!tt)
		return;
	tt->last_cpu = (int)e->cpu;
	v = thread_vcpu(k, tt);
	if (v && stage_set(k, &v->pend, KS_ON_CPU, e->ts))
		v->pend.dst_cpu = (int)e->cpu;
}

static void on_switch_out(struct kick *k, const struct host_event *e)
{
	struct kthread *tt = thread_find(k, e->arg_tid);

	if (tt)
		tt->sleep_ts = e->ts;
}

static void halt_account(struct kick_halt *h, const struct host_event *e,
			 const struct kthread *t)
{
	bool waited = e->a0, valid = e->a1;
	__u64 start = e->ts > e->v0 ? e->ts - e->v0 : 0, poll;

	h->halts++;
	h->halt_ns += e->v0;
	if (!valid)
		h->invalid++;
	if (waited) {
		h->blocked++;
		if (t->sleep_ts >= start && t->sleep_ts <= e->ts) {
			poll = t->sleep_ts - start;
			h->poll_ns += poll;
			h->wait_ns += e->v0 - poll;
			h->blocked_split++;
		} else {
			h->wait_ns += e->v0;
		}
	} else {
		if (valid)
			h->polled++;
		h->poll_ns += e->v0;
	}
}

static void on_halt_end(struct kick *k, const struct host_event *e,
			struct kthread *t)
{
	struct kvcpu *v = thread_vcpu(k, t);
	struct kpend *p;

	close_open(k, t);
	if (t->vcpu < 0) {
		if (filter_pid(k, e->pid)) {
			k->st.unattributed_halts++;
			halt_account(&t->early, e, t);
			if (k->f_vcpu < 0) {
				halt_account(&k->total, e, t);
				hist_add(&k->halt_hist, e->v0);
			}
		}
		return;
	}
	if (kick_filter_match(k, e->pid, t->vcpu)) {
		halt_account(&k->total, e, t);
		hist_add(&k->halt_hist, e->v0);
		if (v)
			halt_account(&v->info.halt, e, t);
	}
	if (!v || !v->pend.active)
		return;
	p = &v->pend;
	if (e->ts < p->t[KS_ICR] || !stage_set(k, p, KS_HALT_END, e->ts))
		return;
	p->halt_ns = e->v0;
	p->state = e->a0 ? TS_BLOCKED : TS_POLLING;
	p->dst_cpu = (int)e->cpu;
	if (!k->entries_seen)
		complete(k, v, DONE);
}

static struct kick_exit *exit_slot(struct kick *k, __u32 isa, __u32 reason,
				   bool create)
{
	size_t i;

	for (i = 0; i < k->nr_exits; i++)
		if (k->exits[i].isa == isa && k->exits[i].reason == reason)
			return &k->exits[i];
	if (!create)
		return NULL;
	if (k->nr_exits == k->cap_exits) {
		size_t c = k->cap_exits ? k->cap_exits * 2 : 16;
		struct kick_exit *n = realloc(k->exits, c * sizeof(*n));

		if (!n)
			return NULL;
		k->exits = n;
		k->cap_exits = c;
	}
	memset(&k->exits[k->nr_exits], 0, sizeof(k->exits[0]));
	k->exits[k->nr_exits].isa = isa;
	k->exits[k->nr_exits].reason = reason;
	return &k->exits[k->nr_exits++];
}

static void on_vm_exit(struct kick *k, const struct host_event *e,
		       struct kthread *t)
{
	struct kick_exit *x;

	bind(k, t, (int)e->a0);
	t->exit_ts = e->ts;
	t->exit_isa = e->a1;
	t->exit_reason = (__u32)e->v0;
	if (!kick_filter_match(k, e->pid, t->vcpu))
		return;
	x = exit_slot(k, t->exit_isa, t->exit_reason, true);
	if (x)
		x->count++;
}

static void on_vm_entry(struct kick *k, const struct host_event *e,
			struct kthread *t)
{
	struct kvcpu *v;

	bind(k, t, (int)e->a0);
	k->entries_seen = true;
	close_open(k, t);
	if (t->exit_ts && e->ts >= t->exit_ts &&
	    kick_filter_match(k, e->pid, t->vcpu)) {
		struct kick_exit *x = exit_slot(k, t->exit_isa, t->exit_reason,
						false);

		if (x) {
			x->timed++;
			x->total_ns += e->ts - t->exit_ts;
		}
	}
	t->exit_ts = 0;
	v = thread_vcpu(k, t);
	if (!v || !stage_set(k, &v->pend, KS_VM_ENTRY, e->ts))
		return;
	if (v->pend.dst_cpu < 0)
		v->pend.dst_cpu = (int)e->cpu;
	complete(k, v, DONE);
}

static void on_halt_poll(struct kick *k, const struct host_event *e,
			 struct kthread *t)
{
	struct kvcpu *v;

	bind(k, t, (int)e->a0);
	v = vcpu_get(k, e->pid, (int)e->a0);
	if (!v || !kick_filter_match(k, e->pid, (int)e->a0))
		return;
	if (e->a1) {
		v->info.halt.grow++;
		k->total.grow++;
	} else {
		v->info.halt.shrink++;
		k->total.shrink++;
	}
	v->info.halt.poll_window_ns = e->v0;
	k->total.poll_window_ns = e->v0;
}

bool kick_in_vcpu_thread(const struct host_event *e)
{
	switch (e->type) {
	case HE_APIC_IPI:
	case HE_PV_SEND_IPI:
	case HE_HALT_END:
	case HE_HALT_POLL:
	case HE_VM_ENTRY:
	case HE_VM_EXIT:
		return true;
	default:
		return false;
	}
}

/* handlers that look at the current thread (the sender, for the others) */
static bool needs_thread(const struct host_event *e)
{
	return e->type != HE_KICK && e->type != HE_WAKEUP &&
	       e->type != HE_SWITCH_IN && e->type != HE_SWITCH_OUT;
}

void kick_event(struct kick *k, const struct host_event *e)
{
	struct kthread *t;

	if (e->type < HE_TYPE_MAX)
		k->st.events[e->type]++;
	/* only events that run in a vCPU thread add a thread to the table:
	 * the others run in whatever thread an interrupt or a waker found */
	t = kick_in_vcpu_thread(e) ? thread_get(k, e->tid, e->pid) :
				thread_find(k, e->tid);
	if (t)
		t->last_cpu = (int)e->cpu;
	else if (needs_thread(e))
		return;
	switch (e->type) {
	case HE_APIC_IPI:	on_apic_ipi(k, e, t); break;
	case HE_PV_SEND_IPI:	on_pv_ipi(k, e, t); break;
	case HE_ACCEPT_IRQ:	on_accept(k, e, t); break;
	case HE_KICK:		on_kick(k, e); break;
	case HE_WAKING:		on_waking(k, e, t); break;
	case HE_IPI_KICK:	on_ipi_kick(k, e, t); break;
	case HE_WAKEUP:		on_wakeup(k, e); break;
	case HE_SWITCH_IN:	on_switch_in(k, e); break;
	case HE_SWITCH_OUT:	on_switch_out(k, e); break;
	case HE_HALT_END:	on_halt_end(k, e, t); break;
	case HE_VM_EXIT:	on_vm_exit(k, e, t); break;
	case HE_VM_ENTRY:	on_vm_entry(k, e, t); break;
	case HE_HALT_POLL:	on_halt_poll(k, e, t); break;
	default:		break;
	}
}

static void flush_before(struct kick *k, __u64 cut, bool all)
{
	size_t i;

	for (i = 0; i < k->nr_vc; i++) {
		struct kvcpu *v = k->vc[i];

		if (v->pend.active && (all || v->pend.t[KS_ICR] <= cut)) {
			k->st.timed_out++;
			complete(k, v, TIMED_OUT);
		}
	}
	for (i = 0; i < k->nr_thr; i++) {
		struct kthread *t = k->thr[i];

		if (t->open && (all || t->open->ts <= cut))
			close_open(k, t);
	}
}

void kick_flush(struct kick *k, __u64 now)
{
	if (now > k->timeout)
		flush_before(k, now - k->timeout, false);
}

void kick_flush_all(struct kick *k)
{
	flush_before(k, 0, true);
}

struct kick *kick_new(kick_cb cb, void *ctx)
{
	struct kick *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->cb = cb;
	k->ctx = ctx;
	k->timeout = KICK_DEFAULT_TIMEOUT_NS;
	k->f_vcpu = -1;
	return k;
}

void kick_free(struct kick *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->nr_vc; i++) {
		struct kvcpu *v = k->vc[i];

		if (v->pend.active)
			ipi_put(k, v->pend.ipi);
		free(v);
	}
	for (i = 0; i < k->nr_thr; i++) {
		close_open(k, k->thr[i]);
		free(k->thr[i]);
	}
	free(k->vc);
	free(k->thr);
	free(k->exits);
	idx_free(&k->vc_idx);
	idx_free(&k->thr_idx);
	free(k);
}

void kick_set_timeout(struct kick *k, __u64 ns)
{
	k->timeout = ns;
}

void kick_set_filter(struct kick *k, __u32 pid, int vcpu)
{
	k->f_pid = pid;
	k->f_vcpu = vcpu < 0 ? -1 : vcpu;
}

int kick_set_thread(struct kick *k, __u32 tid, __u32 vm_pid, int vcpu_id)
{
	struct kthread *t = thread_get(k, tid, vm_pid);

	if (!t)
		return -ENOMEM;
	if (t->pid != vm_pid) {
		t->vcpu = -1;
		t->pid = vm_pid;
	}
	bind(k, t, vcpu_id);
	return t->vcpu == vcpu_id || vcpu_id < 0 ? 0 : -ENOMEM;
}

void kick_reset_stats(struct kick *k)
{
	__u64 win, ev[HE_TYPE_MAX];
	size_t i;

	for (i = 0; i < k->nr_vc; i++) {
		struct kick_halt *h = &k->vc[i]->info.halt;
		__u64 win = h->poll_window_ns;

		memset(h, 0, sizeof(*h));
		h->poll_window_ns = win;
	}
	win = k->total.poll_window_ns;
	memset(&k->total, 0, sizeof(k->total));
	k->total.poll_window_ns = win;
	hist_reset(&k->halt_hist);
	k->nr_exits = 0;
	/* event counts stay: they say which stages this run can observe */
	memcpy(ev, k->st.events, sizeof(ev));
	memset(&k->st, 0, sizeof(k->st));
	memcpy(k->st.events, ev, sizeof(ev));
}

const struct kick_stats *kick_get_stats(const struct kick *k)
{
	return &k->st;
}

const struct kick_halt *kick_halt_total(const struct kick *k)
{
	return &k->total;
}

const struct hist *kick_halt_hist(const struct kick *k)
{
	return &k->halt_hist;
}

size_t kick_nr_vcpus(const struct kick *k)
{
	return k->nr_vc;
}

const struct kick_vcpu_info *kick_vcpu_at(const struct kick *k, size_t i)
{
	return i < k->nr_vc ? &k->vc[i]->info : NULL;
}

size_t kick_nr_exits(const struct kick *k)
{
	return k->nr_exits;
}

const struct kick_exit *kick_exit_at(const struct kick *k, size_t i)
{
	return i < k->nr_exits ? &k->exits[i] : NULL;
}

bool kick_entries_seen(const struct kick *k)
{
	return k->entries_seen;
}

__u64 kick_stage_events(const struct kick *k, int stage)
{
	const __u64 *n = k->st.events;

	switch (stage) {
	case KS_ICR:		return n[HE_APIC_IPI] + n[HE_PV_SEND_IPI];
	case KS_ACCEPT:		return n[HE_ACCEPT_IRQ];
	case KS_KICK:		return n[HE_KICK] + n[HE_WAKING] + n[HE_IPI_KICK];
	case KS_WAKEUP:		return n[HE_WAKEUP];
	case KS_ON_CPU:		return n[HE_SWITCH_IN];
	case KS_HALT_END:	return n[HE_HALT_END];
	case KS_VM_ENTRY:	return n[HE_VM_ENTRY];
	default:		return 0;
	}
}

const char *kick_stage_name(int stage)
{
	static const char *names[KS_MAX + 1] = {
		"icr_write", "accept", "kick", "wakeup", "on_cpu",
		"halt_end", "vm_entry", "total",
	};

	return stage >= 0 && stage <= KS_MAX ? names[stage] : "?";
}

const char *kick_state_name(int state)
{
	static const char *names[TS_MAX] = { "blocked", "polling", "running" };

	return state >= 0 && state < TS_MAX ? names[state] : "?";
}

struct exit_name {
	__u32 reason;
	const char *name;
};

static const struct exit_name vmx_exits[] = {
	{ 0, "EXCEPTION_NMI" }, { 1, "EXTERNAL_INTERRUPT" },
	{ 2, "TRIPLE_FAULT" }, { 3, "INIT_SIGNAL" }, { 4, "SIPI_SIGNAL" },
	{ 7, "INTERRUPT_WINDOW" }, { 8, "NMI_WINDOW" }, { 9, "TASK_SWITCH" },
	{ 10, "CPUID" }, { 12, "HLT" }, { 13, "INVD" }, { 14, "INVLPG" },
	{ 15, "RDPMC" }, { 16, "RDTSC" }, { 18, "VMCALL" },
	{ 28, "CR_ACCESS" }, { 29, "DR_ACCESS" }, { 30, "IO_INSTRUCTION" },
	{ 31, "MSR_READ" }, { 32, "MSR_WRITE" }, { 33, "INVALID_STATE" },
	{ 34, "MSR_LOAD_FAIL" }, { 36, "MWAIT_INSTRUCTION" },
	{ 37, "MONITOR_TRAP_FLAG" }, { 39, "MONITOR_INSTRUCTION" },
	{ 40, "PAUSE_INSTRUCTION" }, { 41, "MCE_DURING_VMENTRY" },
	{ 43, "TPR_BELOW_THRESHOLD" }, { 44, "APIC_ACCESS" },
	{ 45, "EOI_INDUCED" }, { 46, "GDTR_IDTR" }, { 47, "LDTR_TR" },
	{ 48, "EPT_VIOLATION" }, { 49, "EPT_MISCONFIG" }, { 50, "INVEPT" },
	{ 51, "RDTSCP" }, { 52, "PREEMPTION_TIMER" }, { 53, "INVVPID" },
	{ 54, "WBINVD" }, { 55, "XSETBV" }, { 56, "APIC_WRITE" },
	{ 57, "RDRAND" }, { 58, "INVPCID" }, { 59, "VMFUNC" },
	{ 60, "ENCLS" }, { 61, "RDSEED" }, { 62, "PML_FULL" },
	{ 63, "XSAVES" }, { 64, "XRSTORS" }, { 67, "UMWAIT" },
	{ 68, "TPAUSE" }, { 74, "BUS_LOCK" }, { 75, "NOTIFY" },
};

static const struct exit_name svm_exits[] = {
	{ 0x060, "intr" }, { 0x061, "nmi" }, { 0x062, "smi" },
	{ 0x063, "init" }, { 0x064, "vintr" }, { 0x065, "cr0_sel_write" },
	{ 0x06e, "rdtsc" }, { 0x06f, "rdpmc" }, { 0x070, "pushf" },
	{ 0x071, "popf" }, { 0x072, "cpuid" }, { 0x073, "rsm" },
	{ 0x074, "iret" }, { 0x075, "swint" }, { 0x076, "invd" },
	{ 0x077, "pause" }, { 0x078, "hlt" }, { 0x079, "invlpg" },
	{ 0x07a, "invlpga" }, { 0x07b, "io" }, { 0x07c, "msr" },
	{ 0x07d, "task_switch" }, { 0x07e, "ferr_freeze" },
	{ 0x07f, "shutdown" }, { 0x080, "vmrun" }, { 0x081, "hypercall" },
	{ 0x082, "vmload" }, { 0x083, "vmsave" }, { 0x084, "stgi" },
	{ 0x085, "clgi" }, { 0x086, "skinit" }, { 0x087, "rdtscp" },
	{ 0x088, "icebp" }, { 0x089, "wbinvd" }, { 0x08a, "monitor" },
	{ 0x08b, "mwait" }, { 0x08c, "mwait_cond" }, { 0x08d, "xsetbv" },
	{ 0x08e, "rdpru" }, { 0x400, "npf" },
	{ 0x401, "avic_incomplete_ipi" }, { 0x402, "avic_unaccelerated_access" },
	{ 0x403, "vmgexit" },
};

static const char *exit_lookup(const struct exit_name *t, size_t n, __u32 r)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].reason == r)
			return t[i].name;
	return NULL;
}

const char *kick_exit_name(__u32 isa, __u32 reason, char *buf, size_t len)
{
	const char *s = NULL;

	if (isa == 1)
		s = exit_lookup(vmx_exits, ARRAY_SIZE(vmx_exits), reason & 0xffff);
	else if (isa == 2 && reason < 0x20)
		snprintf(buf, len, "%s_cr%u", reason < 0x10 ? "read" : "write",
			 reason & 0xf);
	else if (isa == 2 && reason < 0x40)
		snprintf(buf, len, "%s_dr%u", reason < 0x30 ? "read" : "write",
			 reason & 0xf);
	else if (isa == 2 && reason < 0x60)
		snprintf(buf, len, "excp_%u", reason - 0x40);
	else if (isa == 2)
		s = exit_lookup(svm_exits, ARRAY_SIZE(svm_exits), reason);
	if (s)
		snprintf(buf, len, "%s", s);
	else if (!(isa == 2 && reason < 0x60))
		snprintf(buf, len, "0x%x", reason);
	return buf;
}
