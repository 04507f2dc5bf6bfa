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
	PEND_COALESCED,		/* sends pending at once: counted, newest kept */
	PEND_STALE,		/* pending send older than stale_ns: overwritten */
};

/*
 * send_ns publishes the slot: 0 empty, PEND_BUSY while a sender writes the
 * fields, else the send's timestamp. A sender takes the slot (0 or stale ->
 * BUSY), writes the fields, then stores the timestamp; a handler reads the
 * fields between two looks at the same timestamp, the second one being the
 * compare-and-swap that frees the slot. Timestamps never repeat, so fields
 * read under a timestamp that is still there belong to that send.
 */
#define PEND_BUSY	1ULL

#ifndef barrier
#define barrier() asm volatile("" ::: "memory")
#endif

static __always_inline int pend_fresh(__u64 old, __u64 now, __u64 stale_ns)
{
	/* now < old: another CPU read the clock later but won the slot */
	return old == PEND_BUSY || now < old || now - old < stale_ns;
}

/*
 * Record a send. The newest pending send wins: the handler that runs next
 * serves it (two sends of one vector pending at once get one handler, and
 * the older one's IPI may have been taken already by a handler our program
 * did not see), and the older sends are folded into it (counted).
 */
static __always_inline int
ipt_pend_send(struct ipi_pending *p, __u64 now, __u32 src, __u64 callsite,
	      __u64 func, __u16 flags, __u64 stale_ns)
{
	__u64 old = 0, prev;
	int i;

	/* Try the common case (an empty slot) first: one locked instruction,
	 * no read before it to pull the target's cache line in twice. */
	for (i = 0; i < 3; i++) {
		prev = __sync_val_compare_and_swap(&p->send_ns, old, PEND_BUSY);
		if (prev == old) {
			__u32 folded = 0;

			if (old && pend_fresh(old, now, stale_ns))
				folded = p->coalesced + 1;
			p->src_cpu = src;
			p->callsite = callsite;
			p->func = func;
			p->flags = flags;
			p->coalesced = folded;
			barrier();
			*(volatile __u64 *)&p->send_ns = now;
			if (!old)
				return PEND_NEW;
			return folded ? PEND_COALESCED : PEND_STALE;
		}
		old = prev;
		/* a sender is writing, or published a newer send: fold into it */
		if (old == PEND_BUSY || now < old)
			break;
	}
	__sync_fetch_and_add(&p->coalesced, 1);
	return PEND_COALESCED;
}

/* Complete the pending send at handler entry: 1, or 0 when nothing was
 * pending, PEND_TAKE_BUSY when a send is being published right now (its
 * IPI is not sent yet: this handler is not its). */
#define PEND_TAKE_BUSY	(-1)

static __always_inline int
ipt_pend_take(struct ipi_pending *p, __u64 now, struct ipi_event *e)
{
	__u64 ts = *(volatile __u64 *)&p->send_ns;

	if (!ts)
		return 0;
	if (ts == PEND_BUSY)
		return PEND_TAKE_BUSY;
	barrier();
	e->src_cpu = p->src_cpu;
	e->callsite = p->callsite;
	e->func = p->func;
	e->flags = p->flags;
	e->coalesced = p->coalesced;
	barrier();
	if (__sync_val_compare_and_swap(&p->send_ns, ts, 0) != ts)
		return 0;
	e->send_ns = ts;
	e->lat_ns = now > ts ? now - ts : 0;
	return 1;
}

/* Kind of a single-target send from the ipi_send_cpu tracepoint;
 * call_single_fn 0: unknown, matches nothing. */
static __always_inline int
ipt_send_cpu_kind(__u64 callback, __u32 target, __u32 this_cpu,
		  __u64 call_single_fn)
{
	if (!callback)
		return IPI_RESCHED;
	if (call_single_fn && callback == call_single_fn)
		return IPI_CALL_SINGLE;
	if (target == this_cpu)
		return IPI_IRQ_WORK;	/* irq_work_raise(): self-IPI, work->func */
	return IPI_OTHER;
}

#endif /* __IPI_PAIR_H */
