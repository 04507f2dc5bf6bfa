/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the guest BPF programs do per event, written once: bpf/ipi_guest.bpf.c
 * runs it in the kernel and tests/unit/test_pair*.c (over pair_sim.h) drive
 * the same code with synthetic events. The includer provides the kernel-facing parts as small
 * shims:
 *
 *   __u64 ipt_now(void)                  bpf_ktime_get_ns()
 *   __u32 ipt_this_cpu(void)             bpf_get_smp_processor_id()
 *   void  ipt_stat(__u32 idx)            bump counter idx (enum ipt_stat)
 *   void  ipt_stat_add(__u32 idx, __u64 n)   add n to counter idx
 *   void  ipt_emit(const struct ipi_event *e)   one record to user space
 *   struct ipt_hist_val *ipt_hist(__u32 idx)    this CPU's histogram
 *   struct ipt_pair_val *ipt_pair(__u32 src, __u32 dst)
 *                                        (src, dst) counters, created on
 *                                        first use; NULL: the map is full
 *   __u64 ipt_mask_word(const void *mask, __u32 w)  word w of a cpumask
 *   IPT_KSYM_CALL_SINGLE, IPT_KSYM_CALL_MANY, IPT_KSYM_RB_NOTIFY:
 *                                        kernel addresses, 0 when unknown
 *
 * and these variables (read-only data in BPF, set by the loader):
 *   stale_ns, unserved_ns, nr_cpus (<= IPT_MAX_CPUS), nr_cpus_all (the
 *   machine's possible CPUs), aggregate, pair_counts, csd_pairing,
 *   cpu_node[IPT_MAX_CPUS], pending[IPT_MAX_CPUS], cpu_state[IPT_MAX_CPUS],
 *   csds[IPT_CSD_SLOTS].
 */
#ifndef __IPI_GUEST_CORE_H
#define __IPI_GUEST_CORE_H

#include "ipitrace.h"
#include "ipi_pair.h"
#include "ipt_hist.h"

/* cpu & (IPT_MAX_CPUS - 1), the mask kept even where the compiler knows
 * it is a no-op: the verifier needs to see the bound on the register it
 * indexes with. */
static __always_inline __u32 ipt_cpu_idx(__u32 cpu)
{
	asm volatile("" : "+r"(cpu));
	return cpu & (IPT_MAX_CPUS - 1);
}

static __always_inline struct ipi_pending *ipt_slot(__u32 cpu, int kind)
{
	if (cpu >= IPT_MAX_CPUS || kind < 0 || kind >= IPI_KIND_MAX) {
		ipt_stat(ST_CPU_RANGE);
		return NULL;
	}
	return &pending[ipt_cpu_idx(cpu)].kind[kind];
}

static __always_inline struct ipt_cpu_state *ipt_cpu(void)
{
	__u32 cpu = ipt_this_cpu();

	return cpu < IPT_MAX_CPUS ? &cpu_state[ipt_cpu_idx(cpu)] : NULL;
}

static __always_inline int ipt_numa_class(__u32 a, __u32 b)
{
	__s32 na, nb;

	if (a == b)
		return IPT_NUMA_SAME;
	if (a >= IPT_MAX_CPUS || b >= IPT_MAX_CPUS)
		return IPT_NUMA_UNKNOWN;
	na = cpu_node[ipt_cpu_idx(a)];
	nb = cpu_node[ipt_cpu_idx(b)];
	if (na < 0 || nb < 0)
		return IPT_NUMA_UNKNOWN;
	return na == nb ? IPT_NUMA_SAME : IPT_NUMA_CROSS;
}

/*
 * Aggregate mode: add one latency to this CPU's histogram of its class
 * (kind IPI_KIND_MAX: a CSD) and, with -C, to the (src, dst) counters.
 * Only CPU dst writes the counters of pairs (*, dst), from its IPI handlers,
 * which do not nest: no atomics needed.
 */
static __always_inline void ipt_agg_add(__u32 src, __u32 dst, int kind,
					__u64 lat)
{
	__u32 idx = ipt_numa_class(src, dst) * IPT_AGG_KINDS + kind;
	struct ipt_hist_val *h = ipt_hist(idx);
	struct ipt_pair_val *p;

	if (h)
		ipt_hist_add(h, lat);
	if (!pair_counts || kind >= IPI_KIND_MAX)
		return;
	if (src >= nr_cpus || dst >= nr_cpus) {
		ipt_stat(ST_CPU_RANGE);
		return;
	}
	p = ipt_pair(src, dst);
	if (!p) {
		ipt_stat(ST_PAIR_FULL);
		return;
	}
	p->count[kind]++;
	p->sum_ns += lat;
}

static __always_inline void ipt_note_send(__u32 target, int kind,
					  __u64 callsite, __u64 func,
					  __u16 flags)
{
	struct ipi_pending *p = ipt_slot(target, kind);
	int r;

	if (!p)
		return;
	r = ipt_pend_send(p, ipt_now(), ipt_this_cpu(), callsite, func, flags,
			  stale_ns);
	ipt_stat(ST_SENDS);
	if (r == PEND_COALESCED)
		ipt_stat(ST_COALESCED);
	else if (r == PEND_STALE)
		ipt_stat(ST_PENDING_OVERWRITE);
}

/* The function of the CSD queued on this CPU just before this send. */
static __always_inline __u64 ipt_take_csd_func(__u32 target, int any_target)
{
	struct ipt_cpu_state *c;
	__u64 func = 0;

	if (!csd_pairing)
		return 0;
	c = ipt_cpu();
	if (c && c->csd.valid && (any_target || c->csd.cpu == target)) {
		func = c->csd.func;
		c->csd.valid = 0;
	}
	return func;
}

/* ipi:ipi_send_cpu */
static __always_inline int ipt_on_send_cpu(__u32 cpu, __u64 callsite,
					   __u64 callback)
{
	int kind = ipt_send_cpu_kind(callback, cpu, ipt_this_cpu(),
				     IPT_KSYM_CALL_SINGLE);
	__u64 func = callback;
	__u16 flags = 0;

	switch (kind) {
	case IPI_OTHER:
		ipt_stat(ST_SEND_OTHER);
		return 0;
	case IPI_CALL_SINGLE:
		func = ipt_take_csd_func(cpu, 0);
		break;
	case IPI_IRQ_WORK:
		if (IPT_KSYM_RB_NOTIFY && callback == IPT_KSYM_RB_NOTIFY) {
			flags |= IPT_F_TRACER;
			ipt_stat(ST_TRACER_IPI);
		}
		break;
	}
	ipt_note_send(cpu, kind, callsite, func, flags);
	return 0;
}

static __always_inline __u64 ipt_popcount(__u64 x)
{
	x -= (x >> 1) & 0x5555555555555555ULL;
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (x * 0x0101010101010101ULL) >> 56;
}

/* Targets beyond IPT_MAX_CPUS: counted, one per target, not traced. */
static __always_inline void ipt_count_beyond(const void *mask)
{
	__u64 n = 0;
	__u32 w;

	if (nr_cpus_all <= IPT_MAX_CPUS)
		return;
	for (w = IPT_MASK_WORDS; w < IPT_MASK_WORDS_ALL; w++) {
		if (w * 64 >= nr_cpus_all)
			break;
		n += ipt_popcount(ipt_mask_word(mask, w));
	}
	if (n)
		ipt_stat_add(ST_CPU_RANGE, n);
}

/* A multicast function call fans out to one pending send per target. */
static __always_inline void ipt_on_send_mask(const void *mask, __u64 callsite)
{
	__u64 func = ipt_take_csd_func(0, 1);
	__u32 w, b;

	for (w = 0; w < IPT_MASK_WORDS; w++) {
		__u64 word;

		if (w * 64 >= nr_cpus)
			break;
		word = ipt_mask_word(mask, w);
		for (b = 0; b < 64 && word; b++, word >>= 1) {
			if (word & 1)
				ipt_note_send(w * 64 + b, IPI_CALL_MANY,
					      callsite, func, 0);
		}
	}
	ipt_count_beyond(mask);
}

/* ipi:ipi_send_cpumask. generic_smp_call_function_interrupt is its own
 * symbol on older kernels and an alias of the single-target handler since
 * 6.x, so either callback marks a function call. */
static __always_inline int ipt_on_send_cpumask(const void *mask,
					       __u64 callsite, __u64 callback)
{
	if (!callback || (callback != IPT_KSYM_CALL_MANY &&
			  callback != IPT_KSYM_CALL_SINGLE)) {
		ipt_stat(ST_SEND_OTHER);
		return 0;
	}
	ipt_on_send_mask(mask, callsite);
	return 0;
}

#define IPT_KIND_PRIO(e, name, prio)	[e] = prio,
static const __u8 ipt_kind_prio[IPI_KIND_MAX] = { IPI_KINDS(IPT_KIND_PRIO) };

/* APIC priority of an IPI kind's vector (enum ipt_prio) */
static __always_inline int ipt_prio_of(int kind)
{
	return kind >= 0 && kind < IPI_KIND_MAX ? ipt_kind_prio[kind] :
						  IPT_PRIO_IRQ_WORK;
}

/* The last interrupt of lower priority than prio seen taken on this CPU. */
static __always_inline __u64 ipt_seen_below(const struct ipt_cpu_state *c,
					    int prio)
{
	__u64 t = 0;
	int i;

	for (i = 0; i < IPT_PRIO_MAX; i++)
		if (i < prio && c->seen_ns[i] > t)
			t = c->seen_ns[i];
	return t;
}

/* irq_vectors:local_timer_entry: the lowest-priority interrupt. */
static __always_inline int ipt_on_tick(void)
{
	struct ipt_cpu_state *c = ipt_cpu();

	if (c)
		c->seen_ns[IPT_PRIO_TIMER] = ipt_now();
	return 0;
}

/*
 * Handler entry on this CPU: complete the pending send of this kind. The
 * IPIs that ipitrace's own ring-buffer wake-ups raised are dropped.
 *
 * A handler can run without this program (a kernel may run no BPF program
 * in some context: this project's 6.18 KVM guest runs none while one task
 * of its own runs, not even in the IPIs that interrupt it), leaving its
 * send pending for a later, unrelated handler. The APIC delivers the
 * highest pending vector first: if this CPU took an interrupt of lower
 * priority (a timer tick, a lower IPI vector) more than unserved_ns after
 * the send, the send's IPI had been taken before it, unseen, and the send
 * is counted as unserved instead of paired.
 */
static __always_inline int ipt_on_entry(int kind)
{
	__u32 cpu = ipt_this_cpu();
	struct ipi_pending *p = ipt_slot(cpu, kind);
	struct ipt_cpu_state *c = ipt_cpu();
	int prio = ipt_prio_of(kind), taken;
	struct ipi_event e;
	__u64 now = ipt_now(), below;

	if (!p || !c)
		return 0;
	below = ipt_seen_below(c, prio);
	c->seen_ns[prio] = now;
	taken = ipt_pend_take(p, now, &e);
	if (taken <= 0) {
		ipt_stat(ST_UNPAIRED_HANDLER);
		return 0;
	}
	if (e.flags & IPT_F_TRACER)
		return 0;
	if (below > e.send_ns + unserved_ns) {
		ipt_stat(ST_UNSERVED);
		return 0;
	}
	ipt_stat(ST_HANDLED);
	if (aggregate) {
		ipt_agg_add(e.src_cpu, cpu, kind, e.lat_ns);
		return 0;
	}
	e.type = REC_IPI;
	e.kind = kind;
	e.dst_cpu = cpu;
	ipt_emit(&e);
	return 0;
}

/* The first of the two slots a CSD may take (@way 0 or 1): a set of two,
 * so that two CSDs live at once on one hash do not push each other out. */
static __always_inline struct csd_slot *ipt_csd_slot(__u64 csd, int way)
{
	/* Fibonacci hashing: every address bit counts. CSDs are per-CPU
	 * data, at the same offset in areas a power of two apart, which a
	 * few low address bits map to the same slots (seen: 49 collisions
	 * in a 16-vCPU guest) */
	__u32 idx = (__u32)((csd * 0x9e3779b97f4a7c15ULL) >> 50) &
		    (IPT_CSD_SLOTS - 1);

	return &csds[(idx & ~1u) | (way & 1)];
}

/* a slot that holds a CSD queued less than stale_ns ago (a CSD that never
 * ran its function, e.g. a remote irq_work, goes stale) */
static __always_inline int ipt_csd_live(const struct csd_slot *s, __u64 now)
{
	return s->csd && now - s->queue_ns < stale_ns;
}

/* Where @csd goes: its own slot, else a free or stale one of its set,
 * else the first (a live CSD replaced: counted). */
static __always_inline struct csd_slot *ipt_csd_place(__u64 csd, __u64 now)
{
	struct csd_slot *a = ipt_csd_slot(csd, 0), *b = ipt_csd_slot(csd, 1);

	if (a->csd == csd)
		return a;
	if (b->csd == csd)
		return b;
	if (!ipt_csd_live(a, now))
		return a;
	if (!ipt_csd_live(b, now))
		return b;
	ipt_stat(ST_CSD_COLLISION);
	return a;
}

/* csd:csd_queue_cpu: remember the function for the send that follows and
 * the queue time for the function's entry on the target. */
static __always_inline int ipt_on_csd_queue(__u32 cpu, __u64 func, __u64 csd)
{
	struct ipt_cpu_state *c = ipt_cpu();
	__u64 now = ipt_now();
	struct csd_slot *s;

	if (c) {
		c->csd.func = func;
		c->csd.cpu = cpu;
		c->csd.valid = 1;
	}
	ipt_stat(ST_CSD_QUEUED);
	s = ipt_csd_place(csd, now);
	s->csd = 0;
	barrier();
	s->queue_ns = now;
	s->src_cpu = ipt_this_cpu();
	barrier();
	s->csd = csd;
	return 0;
}

/* csd:csd_function_entry. Per-CSD latency always goes to the in-kernel
 * histogram: a record per CSD would double the per-IPI cost. */
static __always_inline int ipt_on_csd_entry(__u64 csd)
{
	struct csd_slot *s = ipt_csd_slot(csd, 0);
	__u64 now = ipt_now(), queued;
	__u32 src;

	ipt_stat(ST_CSD_RUN);
	if (s->csd != csd)
		s = ipt_csd_slot(csd, 1);
	if (s->csd != csd) {
		ipt_stat(ST_CSD_UNPAIRED);
		return 0;
	}
	barrier();
	queued = s->queue_ns;
	src = s->src_cpu;
	barrier();
	if (__sync_val_compare_and_swap(&s->csd, csd, 0) != csd ||
	    !queued || queued > now) {
		ipt_stat(ST_CSD_UNPAIRED);
		return 0;
	}
	ipt_agg_add(src, ipt_this_cpu(), IPI_KIND_MAX, now - queued);
	return 0;
}

#endif /* __IPI_GUEST_CORE_H */
