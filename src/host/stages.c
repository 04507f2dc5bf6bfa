// SPDX-License-Identifier: GPL-2.0
/*
 * The per-IPI stage machine (see kick.h).
 *
 * An IPI is a struct kipi, opened in the sender thread S by kvm_apic_ipi
 * (or the PV send-IPI hypercall). Until S re-enters the guest (kvm_entry),
 * ends a halt, or sends the next IPI, S's "open" IPI collects what KVM does
 * on its behalf in S's context: accept, kick, sched_waking, ipi_send_cpu.
 * Each target vCPU holds at most one pending IPI (struct kpend); a new IPI
 * to the same target completes the old one with what it has.
 *
 * A stage is recorded only when no later stage (in path order) has been,
 * never earlier than the last recorded one, and only after the stage it
 * needs (the kick after the accept, when accepts are hooked): a lost
 * event leaves a hole and the
 * next stage is measured from the previous observed one; an event refused
 * for its order is counted, by stage.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

#define ICR_VECTOR(icr)		((icr) & 0xff)
#define ICR_LOGICAL		(1u << 11)
#define ICR_SHORTHAND(icr)	(((icr) >> 18) & 3)
#define SH_NONE			0
#define SH_SELF			1

/* The path, in order. @after: the stage is taken only once that one is
 * set, in a run where that stage's events are seen at all. The scheduler's
 * events follow the IPI's acceptance: a switch-in of the target thread
 * between the ICR write and the accept (it had been preempted, say) is not
 * this IPI's, and taking it would refuse the real accept as out of order
 * (seen in the SVM lab on 6.12). */
static const struct stage_desc {
	int id;
	const char *name;
	int after;
} path[KS_MAX] = {
	{ KS_ICR,	"icr_write",	-1 },
	{ KS_ACCEPT,	"accept",	-1 },
	{ KS_KICK,	"kick",		KS_ACCEPT },
	{ KS_WAKEUP,	"wakeup",	KS_ACCEPT },
	{ KS_ON_CPU,	"on_cpu",	KS_ACCEPT },
	{ KS_HALT_END,	"halt_end",	-1 },
	{ KS_VM_ENTRY,	"vm_entry",	-1 },
};

static int rank(int stage)
{
	int i;

	for (i = 0; i < KS_MAX; i++)
		if (path[i].id == stage)
			return i;
	return -1;
}

int kick_stage_at(int i)
{
	return i >= 0 && i < KS_MAX ? path[i].id : -1;
}

const char *kick_stage_name(int stage)
{
	int r = rank(stage);

	if (stage == KS_TOTAL)
		return "total";
	return r >= 0 ? path[r].name : "?";
}

static bool hooked(const struct kick *k, int s)
{
	return k->hooked_known ? k->hooked[s] : kick_stage_events(k, s) > 0;
}

static void refuse(struct kick *k, int s)
{
	k->st.out_of_order++;
	k->st.out_of_order_by[s]++;
}

/* Record stage @s at @ts unless refused (see the top of the file). */
static bool stage_set(struct kick *k, struct kpend *p, int s, __u64 ts)
{
	int i, r = rank(s), after = path[r].after;
	__u64 last = 0;

	if (!p->active || p->t[s])
		return false;
	for (i = 0; i < KS_MAX; i++) {
		__u64 t = p->t[path[i].id];

		if (!t)
			continue;
		if (i > r) {
			refuse(k, s);
			return false;
		}
		last = t;
	}
	if (ts < last || (after >= 0 && !p->t[after] && hooked(k, after))) {
		refuse(k, s);
		return false;
	}
	p->t[s] = ts;
	return true;
}

void hm_ipi_put(struct kick *k, struct kipi *p)
{
	if (--p->refs > 0)
		return;
	if (!p->nr)
		k->st.no_target++;
	free(p->targets);
	free(p);
}

void hm_close_open(struct kick *k, struct kthread *t)
{
	if (t && t->open) {
		hm_ipi_put(k, t->open);
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
	t = v->info.tid ? hm_thread_find(k, v->info.tid) : NULL;
	return t ? t->last_cpu : -1;
}

static bool result_match(const struct kick *k, const struct kick_result *r)
{
	if (!hm_filter_pid(k, r->vm_pid))
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
		.pv = ipi->pv,
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
	hm_ipi_put(k, ipi);
}

static void pend_start(struct kick *k, struct kvcpu *v, struct kipi *ipi)
{
	struct kpend *p = &v->pend;
	int vi = hm_vcpu_index(k, v->info.pid, v->info.vcpu);

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

/* the pending IPI of vCPU @v, when it is @ipi's */
static struct kpend *pend_of(struct kvcpu *v, const struct kipi *ipi)
{
	return v->pend.active && v->pend.ipi == ipi ? &v->pend : NULL;
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
	hm_close_open(k, s);
	s->open = p;
	return p;
}

void hm_on_apic_ipi(struct kick *k, const struct host_event *e,
		    struct kthread *s)
{
	__u32 icr = e->u.apic_ipi.icr_low, dest = e->u.apic_ipi.dest_id;
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
		struct kvcpu *v = hm_vcpu_get(k, p->pid, tgt);

		p->from_accepts = false;
		if (v)
			pend_start(k, v, p);
	}
}

void hm_on_pv_ipi(struct kick *k, const struct host_event *e,
		  struct kthread *s)
{
	struct kipi *p = ipi_open(k, e, s, ICR_VECTOR(e->u.pv_ipi.icr));
	struct kick_pv_send pv = {
		.ts = e->ts, .vm_pid = e->pid, .src_vcpu = s->vcpu,
		.src_tid = e->tid, .vector = ICR_VECTOR(e->u.pv_ipi.icr),
		.min_apicid = e->u.pv_ipi.min_apicid,
		.bitmap_lo = e->u.pv_ipi.bitmap_lo,
		.bitmap_hi = e->u.pv_ipi.bitmap_hi,
	};

	if (p)
		p->pv = true;
	if (k->pv_cb && hm_filter_pid(k, e->pid))
		k->pv_cb(&pv, k->pv_ctx);
}

void kick_set_pv_cb(struct kick *k, kick_pv_cb cb, void *ctx)
{
	k->pv_cb = cb;
	k->pv_ctx = ctx;
}

void hm_on_accept(struct kick *k, const struct host_event *e,
		  struct kthread *s)
{
	struct kipi *p = s->open;
	int apicid = (int)e->u.accept.apicid;
	struct kvcpu *v;

	if (!p || e->u.accept.vec != p->vector)
		return;
	v = p->from_accepts ? hm_vcpu_get(k, p->pid, apicid) :
			      hm_vcpu_find(k, p->pid, apicid);
	if (!v)
		return;
	if (!pend_of(v, p)) {
		if (!p->from_accepts)
			return;
		pend_start(k, v, p);
	}
	v->info.known = true;
	stage_set(k, &v->pend, KS_ACCEPT, e->ts);
}

void hm_on_kick(struct kick *k, const struct host_event *e,
		struct kthread *t __attribute__((unused)))
{
	struct kvcpu *v = hm_vcpu_find(k, e->pid, e->u.vcpu.vcpu_id);

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

		if (!pend_of(v, p) || v->info.tid ||
		    !v->pend.t[KS_ACCEPT] || v->pend.t[KS_KICK])
			continue;
		if (found)
			return;
		found = v;
	}
	if (!found)
		return;
	tt = hm_thread_get(k, e->u.sched.tid, p->pid);
	if (!tt || tt->pid != p->pid || tt->tid == s->tid)
		return;
	hm_bind(k, tt, found->info.vcpu);
	k->st.learned++;
}

void hm_on_waking(struct kick *k, const struct host_event *e,
		  struct kthread *s)
{
	struct kthread *tt = hm_thread_find(k, e->u.sched.tid);
	struct kvcpu *v;

	if (s->open && (!tt || tt->vcpu < 0)) {
		learn_from_waking(k, e, s);
		tt = hm_thread_find(k, e->u.sched.tid);
	}
	v = hm_thread_vcpu(k, tt);
	if (!v || !v->pend.active || v->pend.ipi->src_tid != e->tid ||
	    e->ts < v->pend.t[KS_ICR])
		return;
	v->pend.woken = true;
	stage_set(k, &v->pend, KS_KICK, e->ts);
}

/*
 * An IPI the sender thread S sends while its IPI is open is the kick of a
 * target running in guest mode only when it goes to that target's CPU
 * after the target's accept: vCPU threads send unrelated IPIs too (remote
 * wake-ups, ...), and on 6.x kvm_vcpu_kick's own IPI is one of them.
 */
void hm_on_ipi_kick(struct kick *k, const struct host_event *e,
		    struct kthread *s)
{
	struct kipi *p = s->open;
	bool used = false;
	int i;

	if (!p)
		return;
	for (i = 0; i < p->nr; i++) {
		struct kvcpu *v = k->vc[p->targets[i]];
		struct kpend *pd = pend_of(v, p);
		struct kthread *tt;

		if (!pd || !v->info.tid || !pd->t[KS_ACCEPT] ||
		    e->ts < pd->t[KS_ACCEPT])
			continue;
		tt = hm_thread_find(k, v->info.tid);
		if (tt && tt->last_cpu == (int)e->u.ipi.cpu &&
		    stage_set(k, pd, KS_KICK, e->ts))
			used = true;
	}
	if (!used)
		k->st.foreign_ipis++;
}

void hm_on_wakeup(struct kick *k, const struct host_event *e,
		  struct kthread *t __attribute__((unused)))
{
	struct kthread *tt = hm_thread_find(k, e->u.sched.tid);
	struct kvcpu *v;

	if (!tt)
		return;
	tt->last_cpu = (int)e->u.sched.aux;
	v = hm_thread_vcpu(k, tt);
	if (!v || !v->pend.active || e->ts < v->pend.t[KS_ICR])
		return;
	v->pend.woken = true;
	stage_set(k, &v->pend, KS_WAKEUP, e->ts);
}

void hm_on_switch_in(struct kick *k, const struct host_event *e,
		     struct kthread *t __attribute__((unused)))
{
	struct kthread *tt = hm_thread_find(k, e->u.sched.tid);
	struct kvcpu *v;

	if (!tt)
		return;
	tt->last_cpu = (int)e->cpu;
	v = hm_thread_vcpu(k, tt);
	if (v && stage_set(k, &v->pend, KS_ON_CPU, e->ts))
		v->pend.dst_cpu = (int)e->cpu;
}

/*
 * Unnamed vCPU threads: a halt end in thread T of VM P whose vCPU is not
 * known, while exactly one vCPU of P has an IPI pending that another
 * thread sent while T was halted, with no thread known for it: T runs it.
 * (A wrong guess, another vCPU's unrelated halt in that window, is
 * corrected by the next event that carries T's vcpu_id.)
 */
void hm_learn_from_halt_end(struct kick *k, const struct host_event *e,
			    struct kthread *t)
{
	struct kvcpu *found = NULL;
	size_t i;

	for (i = 0; i < k->nr_vc; i++) {
		struct kvcpu *v = k->vc[i];
		struct kpend *p = &v->pend;

		if (v->info.pid != t->pid || !p->active || v->info.tid ||
		    p->ipi->src_tid == t->tid || e->ts < p->t[KS_ICR] ||
		    e->ts - e->u.halt.ns > p->t[KS_ICR])
			continue;
		if (found)
			return;
		found = v;
	}
	if (!found)
		return;
	hm_bind(k, t, found->info.vcpu);
	k->st.learned++;
}

bool hm_stage_halt_end(struct kick *k, const struct host_event *e,
		       struct kthread *t)
{
	struct kvcpu *v = hm_thread_vcpu(k, t);
	struct kpend *p;

	if (!v || !v->pend.active)
		return false;
	p = &v->pend;
	if (e->ts < p->t[KS_ICR] || !stage_set(k, p, KS_HALT_END, e->ts))
		return false;
	p->halt_ns = e->u.halt.ns;
	p->state = e->u.halt.waited ? TS_BLOCKED : TS_POLLING;
	p->dst_cpu = (int)e->cpu;
	if (!k->entries_seen)
		complete(k, v, DONE);
	return true;
}

void hm_stage_vm_entry(struct kick *k, const struct host_event *e,
		       struct kthread *t)
{
	struct kvcpu *v = hm_thread_vcpu(k, t);

	if (!v || !stage_set(k, &v->pend, KS_VM_ENTRY, e->ts))
		return;
	if (v->pend.dst_cpu < 0)
		v->pend.dst_cpu = (int)e->cpu;
	complete(k, v, DONE);
}

void hm_stages_flush(struct kick *k, __u64 cut, bool all)
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
			hm_close_open(k, t);
	}
}

const char *kick_state_name(int state)
{
	static const char *names[TS_MAX] = { "blocked", "polling", "running" };

	return state >= 0 && state < TS_MAX ? names[state] : "?";
}
