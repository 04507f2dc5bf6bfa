/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Send/handler pairing on one pending slot per (target CPU, kind).
 * Shared by the BPF programs and the unit tests, so the state machine the
 * tests feed with synthetic sequences is the one that runs in the kernel.
 * Callers provide __u64/__u32 types and __always_inline.
 */
#ifndef __IPI_PAIR_H
#define __IPI_PAIR_H

#include "ipitrace.h"

enum pend_result {
	PEND_NEW,		/* slot was empty */
	PEND_COALESCED,		/* a send is already pending: counted, oldest kept */
	PEND_STALE,		/* pending send older than stale_ns: overwritten */
};

/*
 * Record a send. The oldest pending send wins: the handler that runs next
 * serves it, and the later sends are folded into it (counted).
 */
static __always_inline int
ipt_pend_send(struct ipi_pending *p, __u64 now, __u32 src, __u64 callsite,
	      __u64 func, __u16 flags, __u64 stale_ns)
{
	__u64 old = __sync_val_compare_and_swap(&p->send_ns, 0, now);
	int ret = PEND_NEW;

	if (old) {
		/* now < old: another CPU read the clock later but won the
		 * compare-and-swap first; that send is not stale either */
		if (now < old || now - old < stale_ns) {
			__sync_fetch_and_add(&p->coalesced, 1);
			return PEND_COALESCED;
		}
		p->send_ns = now;
		p->coalesced = 0;
		ret = PEND_STALE;
	}
	p->src_cpu = src;
	p->callsite = callsite;
	p->func = func;
	p->flags = flags;
	return ret;
}

/* Complete the pending send at handler entry; 0 when nothing was pending. */
static __always_inline int
ipt_pend_take(struct ipi_pending *p, __u64 now, struct ipi_event *e)
{
	__u64 ts;

	e->src_cpu = p->src_cpu;
	e->callsite = p->callsite;
	e->func = p->func;
	e->flags = p->flags;
	ts = __sync_lock_test_and_set(&p->send_ns, 0);
	if (!ts)
		return 0;
	e->coalesced = __sync_lock_test_and_set(&p->coalesced, 0);
	e->send_ns = ts;
	e->lat_ns = now > ts ? now - ts : 0;
	return 1;
}

/* Kind of a single-target send from the ipi_send_cpu tracepoint. */
static __always_inline int
ipt_send_cpu_kind(__u64 callback, __u32 target, __u32 this_cpu,
		  __u64 call_single_fn)
{
	if (!callback)
		return IPI_RESCHED;
	if (callback == call_single_fn)
		return IPI_CALL_SINGLE;
	if (target == this_cpu)
		return IPI_IRQ_WORK;	/* irq_work_raise(): self-IPI, work->func */
	return IPI_OTHER;
}

#endif /* __IPI_PAIR_H */
