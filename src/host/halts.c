// SPDX-License-Identifier: GPL-2.0
/*
 * Halt accounting: kvm_vcpu_wakeup ends a halt (its duration, whether the
 * thread blocked, whether a wake-up event ended it), kvm_halt_poll_ns
 * moves the poll window. A blocked halt (waited=1) polled first and then
 * slept: kvm_vcpu_wakeup has only the total, so the split comes from the
 * vCPU thread's switch-out to sleep inside the halt; without one, the
 * whole halt counts as wait_ns.
 */
#include <string.h>
#include "model.h"

void hm_halt_merge(struct kick_halt *d, const struct kick_halt *s)
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
void hm_adopt_early_halts(struct kick *k, struct kthread *t, struct kvcpu *v)
{
	if (!t->early.halts)
		return;
	if (kick_filter_match(k, t->pid, t->vcpu)) {
		hm_halt_merge(&v->info.halt, &t->early);
		if (k->f_vcpu >= 0)	/* not in the total while unknown */
			hm_halt_merge(&k->total, &t->early);
	}
	k->st.unattributed_halts -= t->early.halts;
	memset(&t->early, 0, sizeof(t->early));
}

static void halt_account(struct kick_halt *h, const struct host_event *e,
			 const struct kthread *t)
{
	const struct he_halt_end *x = &e->u.halt;
	__u64 start = e->ts > x->ns ? e->ts - x->ns : 0, poll;

	h->halts++;
	h->halt_ns += x->ns;
	if (!x->valid)
		h->invalid++;
	if (x->waited) {
		h->blocked++;
		if (t->sleep_ts >= start && t->sleep_ts <= e->ts) {
			poll = t->sleep_ts - start;
			h->poll_ns += poll;
			h->wait_ns += x->ns - poll;
			h->blocked_split++;
		} else {
			h->wait_ns += x->ns;
		}
	} else {
		if (x->valid)
			h->polled++;
		h->poll_ns += x->ns;
	}
}

static void halt_sample(struct kick *k, const struct host_event *e,
			const struct kthread *t, bool by_ipi)
{
	const struct he_halt_end *x = &e->u.halt;
	struct kick_halt_sample s = {
		.vm_pid = e->pid, .vcpu = t->vcpu, .end_ts = e->ts,
		.ns = x->ns, .waited = x->waited, .valid = x->valid,
		.polled = !x->waited && x->valid, .by_ipi = by_ipi,
		.poll_window_ns = t->poll_window_halt >= 0 ?
				  t->poll_window_halt : t->poll_window,
	};

	if (k->halt_cb)
		k->halt_cb(&s, k->halt_ctx);
}

void hm_on_halt_end(struct kick *k, const struct host_event *e,
		    struct kthread *t)
{
	struct kvcpu *v;
	bool by_ipi;

	hm_close_open(k, t);
	if (t->vcpu < 0)
		hm_learn_from_halt_end(k, e, t);
	v = hm_thread_vcpu(k, t);
	if (t->vcpu < 0) {
		if (hm_filter_pid(k, e->pid)) {
			k->st.unattributed_halts++;
			halt_account(&t->early, e, t);
			if (k->f_vcpu < 0) {
				halt_account(&k->total, e, t);
				hist_add(&k->halt_hist, e->u.halt.ns);
				halt_sample(k, e, t, false);
			}
		}
		t->poll_window_halt = -1;
		return;
	}
	by_ipi = hm_stage_halt_end(k, e, t);
	if (kick_filter_match(k, e->pid, t->vcpu)) {
		halt_account(&k->total, e, t);
		hist_add(&k->halt_hist, e->u.halt.ns);
		if (v)
			halt_account(&v->info.halt, e, t);
		halt_sample(k, e, t, by_ipi);
	}
	t->poll_window_halt = -1;
}

/* kvm_halt_poll_ns comes inside the halt it resizes, before its
 * kvm_vcpu_wakeup: "old" is the window that halt polled with. */
void hm_on_halt_poll(struct kick *k, const struct host_event *e,
		     struct kthread *t)
{
	const struct he_halt_poll *x = &e->u.poll;
	struct kvcpu *v;

	hm_bind(k, t, x->vcpu_id);
	t->poll_window_halt = x->old_ns;
	t->poll_window = x->new_ns;
	v = hm_vcpu_get(k, e->pid, x->vcpu_id);
	if (!v || !kick_filter_match(k, e->pid, x->vcpu_id))
		return;
	if (x->grow) {
		v->info.halt.grow++;
		k->total.grow++;
	} else {
		v->info.halt.shrink++;
		k->total.shrink++;
	}
	v->info.halt.poll_window_ns = x->new_ns;
	k->total.poll_window_ns = x->new_ns;
}

void hm_on_switch_out(struct kick *k, const struct host_event *e,
		      struct kthread *t __attribute__((unused)))
{
	struct kthread *tt = hm_thread_find(k, e->u.sched.tid);

	if (tt)
		tt->sleep_ts = e->ts;
}

void hm_halts_reset(struct kick *k)
{
	__u64 win;
	size_t i;

	for (i = 0; i < k->nr_vc; i++) {
		struct kick_halt *h = &k->vc[i]->info.halt;

		win = h->poll_window_ns;
		memset(h, 0, sizeof(*h));
		h->poll_window_ns = win;
	}
	win = k->total.poll_window_ns;
	memset(&k->total, 0, sizeof(k->total));
	k->total.poll_window_ns = win;
	hist_reset(&k->halt_hist);
}

void kick_set_halt_cb(struct kick *k, kick_halt_cb cb, void *ctx)
{
	k->halt_cb = cb;
	k->halt_ctx = ctx;
}

const struct kick_halt *kick_halt_total(const struct kick *k)
{
	return &k->total;
}

const struct hist *kick_halt_hist(const struct kick *k)
{
	return &k->halt_hist;
}
