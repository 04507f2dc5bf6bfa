// SPDX-License-Identifier: GPL-2.0
/*
 * The host model (see kick.h): one table says, per event type, which
 * handler takes it, whether it runs in the vCPU thread itself, whether the
 * handler needs the current thread to be a known one, and which stage it
 * feeds. The handlers live in stages.c, halts.c and exits.c.
 */
#include <stdlib.h>
#include <string.h>
#include "model.h"

static const struct he_desc he_table[HE_TYPE_MAX] = {
	[HE_APIC_IPI]	= { hm_on_apic_ipi,	true,	true,	KS_ICR },
	[HE_PV_SEND_IPI] = { hm_on_pv_ipi,	true,	true,	KS_ICR },
	[HE_ACCEPT_IRQ]	= { hm_on_accept,	false,	true,	KS_ACCEPT },
	[HE_KICK]	= { hm_on_kick,		false,	false,	KS_KICK },
	[HE_WAKING]	= { hm_on_waking,	false,	true,	KS_KICK },
	[HE_IPI_KICK]	= { hm_on_ipi_kick,	false,	true,	KS_KICK },
	[HE_WAKEUP]	= { hm_on_wakeup,	false,	false,	KS_WAKEUP },
	[HE_SWITCH_IN]	= { hm_on_switch_in,	false,	false,	KS_ON_CPU },
	[HE_SWITCH_OUT]	= { hm_on_switch_out,	false,	false,	-1 },
	[HE_HALT_END]	= { hm_on_halt_end,	true,	true,	KS_HALT_END },
	[HE_HALT_POLL]	= { hm_on_halt_poll,	true,	true,	-1 },
	[HE_VM_EXIT]	= { hm_on_vm_exit,	true,	true,	-1 },
	[HE_VM_ENTRY]	= { hm_on_vm_entry,	true,	true,	KS_VM_ENTRY },
	[HE_MSR]	= { hm_on_msr,		true,	true,	-1 },
	/* counted only: AVIC kicks a running vCPU without an exit */
	[HE_AVIC_INCOMPLETE] = { NULL,		false,	false,	-1 },
	[HE_AVIC_DOORBELL] = { NULL,		false,	false,	-1 },
};

static const struct he_desc *desc_of(int type)
{
	return type > 0 && type < HE_TYPE_MAX ? &he_table[type] : NULL;
}

bool kick_in_vcpu_thread(const struct host_event *e)
{
	const struct he_desc *d = desc_of(e->type);

	return d && d->in_vcpu_thread;
}

int kick_event_stage(int type)
{
	const struct he_desc *d = desc_of(type);

	return d && d->handle ? d->stage : -1;
}

void kick_event(struct kick *k, const struct host_event *e)
{
	const struct he_desc *d = desc_of(e->type);
	struct kthread *t;

	if (!d)
		return;
	k->st.events[e->type]++;
	if (!d->handle)
		return;
	/* only events that run in a vCPU thread add a thread to the table:
	 * the others run in whatever thread an interrupt or a waker found */
	t = d->in_vcpu_thread ? hm_thread_get(k, e->tid, e->pid) :
				hm_thread_find(k, e->tid);
	if (t)
		t->last_cpu = (int)e->cpu;
	else if (d->needs_thread)
		return;
	d->handle(k, e, t);
}

__u64 kick_stage_events(const struct kick *k, int stage)
{
	__u64 n = 0;
	int type;

	for (type = 1; type < HE_TYPE_MAX; type++)
		if (kick_event_stage(type) == stage)
			n += k->st.events[type];
	return n;
}

void kick_flush(struct kick *k, __u64 now)
{
	if (now > k->timeout)
		hm_stages_flush(k, now - k->timeout, false);
}

void kick_flush_all(struct kick *k)
{
	hm_stages_flush(k, 0, true);
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
	if (!k)
		return;
	hm_registry_free(k);
	hm_exits_free(k);
	free(k);
}

void kick_set_timeout(struct kick *k, __u64 ns)
{
	k->timeout = ns;
}

void kick_set_hooked(struct kick *k, const bool hooked[KS_MAX])
{
	memcpy(k->hooked, hooked, sizeof(k->hooked));
	k->hooked_known = true;
}

void kick_set_filter(struct kick *k, __u32 pid, int vcpu)
{
	k->f_pid = pid;
	k->f_vcpu = vcpu < 0 ? -1 : vcpu;
}

void kick_reset_stats(struct kick *k)
{
	__u64 ev[HE_TYPE_MAX];

	hm_halts_reset(k);
	hm_exits_reset(k);
	/* event counts stay: they say which stages this run can observe */
	memcpy(ev, k->st.events, sizeof(ev));
	memset(&k->st, 0, sizeof(k->st));
	memcpy(k->st.events, ev, sizeof(ev));
}

const struct kick_stats *kick_get_stats(const struct kick *k)
{
	return &k->st;
}
