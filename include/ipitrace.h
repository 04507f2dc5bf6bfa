/* SPDX-License-Identifier: GPL-2.0 */
/* The ABI between ipitrace's BPF programs and its loader. */
#ifndef __IPITRACE_H
#define __IPITRACE_H

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

/* CPUs traced: KVM's vCPU limit. A CPU beyond it is counted
 * (cpu_out_of_range), never dropped silently; a cpumask is read up to
 * IPT_MASK_WORDS_ALL words (x86's NR_CPUS limit) to count those. */
#define IPT_MAX_CPUS		1024
#define IPT_MASK_WORDS		(IPT_MAX_CPUS / 64)
#define IPT_MASK_WORDS_ALL	(8192 / 64)

/*
 * The interrupts a CPU's programs see, by APIC priority (vector): the
 * local timer (0xec), then irq_work (0xf6), call_single (0xfb), call_many
 * (0xfc), resched (0xfd). See ipt_on_entry in include/ipi_guest_core.h.
 */
enum ipt_prio {
	IPT_PRIO_TIMER,
	IPT_PRIO_IRQ_WORK,
	IPT_PRIO_CALL_SINGLE,
	IPT_PRIO_CALL_MANY,
	IPT_PRIO_RESCHED,
	IPT_PRIO_MAX,
};

/* IPI kinds, one list: X(enum, report name, APIC priority of the vector).
 * A kind's send and handler hooks are roles in src/guest/guest.c, its
 * classification in include/ipi_pair.h, its programs in
 * bpf/ipi_guest.bpf.c. */
#define IPI_KINDS(X)							\
	/* CALL_FUNCTION_SINGLE_VECTOR */				\
	X(IPI_CALL_SINGLE, "call_single", IPT_PRIO_CALL_SINGLE)	\
	/* CALL_FUNCTION_VECTOR (multicast) */				\
	X(IPI_CALL_MANY, "call_many", IPT_PRIO_CALL_MANY)		\
	X(IPI_RESCHED, "resched", IPT_PRIO_RESCHED) /* RESCHEDULE_VECTOR */ \
	/* IRQ_WORK_VECTOR (self-IPI) */				\
	X(IPI_IRQ_WORK, "irq_work", IPT_PRIO_IRQ_WORK)		\
	X(IPI_OTHER, "other", IPT_PRIO_IRQ_WORK) /* no handler of ours */

#define IPI_KIND_ENUM(e, name, prio)	e,
enum ipi_kind {
	IPI_KINDS(IPI_KIND_ENUM)
	IPI_KIND_MAX,
};

/* NUMA class of a (source, target) pair */
enum ipt_numa { IPT_NUMA_SAME, IPT_NUMA_CROSS, IPT_NUMA_UNKNOWN, IPT_NUMA_MAX };

/* Aggregate mode: per-CPU histograms indexed numa * IPT_AGG_KINDS + kind,
 * where kind IPI_KIND_MAX stands for CSD queue -> function latency. */
#define IPT_AGG_KINDS		(IPI_KIND_MAX + 1)
#define IPT_AGG_SLOTS		(IPT_NUMA_MAX * IPT_AGG_KINDS)

/* Aggregate mode with -C: a hash map entry per (source, target) CPU pair
 * seen, so memory follows the pairs seen, not the CPU count squared. */
struct ipt_pair_key {
	__u16 src;
	__u16 dst;
};

struct ipt_pair_val {
	__u64 count[IPI_KIND_MAX];
	__u64 sum_ns;
};

enum ipt_record_type {
	REC_IPI = 1,		/* one IPI: send -> handler entry on the target */
};

/* flags of struct ipi_event */
#define IPT_F_TRACER		(1 << 0)	/* raised by ipitrace's own ring buffer */

struct ipi_event {
	__u64 send_ns;		/* bpf_ktime_get_ns() at send / queue */
	__u64 lat_ns;		/* handler entry - send */
	__u64 callsite;		/* sender's return address, 0 if unknown */
	__u64 func;		/* callback or CSD function, 0 if unknown */
	__u32 src_cpu;
	__u32 dst_cpu;
	__u8 type;		/* enum ipt_record_type */
	__u8 kind;		/* enum ipi_kind */
	__u16 flags;
	__u32 coalesced;	/* sends merged into this one while pending */
};

/*
 * Counters and losses, one list each: X(enum, report key, where, meaning).
 * The key is the name in text and JSON and the counter="..." / reason="..."
 * label of the metrics. where: KERNEL, a slot of the BPF per-CPU array
 * (index < ST_MAX); LOADER, filled by the loader (index >= ST_MAX).
 */
#define IPT_COUNTERS(X)							\
	X(ST_SENDS, "sends", KERNEL, "sends seen, after multicast fan-out") \
	X(ST_HANDLED, "paired", KERNEL, "handler entries paired with a send") \
	X(ST_UNPAIRED_HANDLER, "handler_without_send", KERNEL,		\
	  "handler entries with no pending send")			\
	X(ST_COALESCED, "coalesced_sends", KERNEL,			\
	  "sends while one was already pending")			\
	X(ST_SEND_OTHER, "sends_not_followed", KERNEL,			\
	  "sends of no kind we pair")					\
	X(ST_CSD_QUEUED, "csd_queued", KERNEL, "CSDs queued")		\
	X(ST_CSD_RUN, "csd_run", KERNEL, "CSD functions run")		\
	X(ST_CSD_UNPAIRED, "csd_run_without_queue", KERNEL,		\
	  "CSD ran locally or queued before start")			\
	X(ST_TRACER_IPI, "tracer_ipis", KERNEL,				\
	  "IPIs raised by ipitrace's own ring buffer")			\
	X(ST_WAKE_NO_IPI, "wake_idle_without_ipi", KERNEL,		\
	  "sched_wake_idle_without_ipi")				\
	X(ST_UNSERVED, "sends_unserved", KERNEL,			\
	  "pending sends whose handler ran unseen (not paired)")	\
	X(ST_HANDLERS_SEEN, "handlers_seen", LOADER,			\
	  "IPI handler entries our programs ran in (the four outcomes)")

#define IPT_LOSSES(X)							\
	X(ST_RB_DROP, "ringbuf_drops", KERNEL,				\
	  "ring-buffer reservation failed")				\
	X(ST_PENDING_OVERWRITE, "pending_overwritten", KERNEL,		\
	  "stale pending send overwritten")				\
	X(ST_CSD_COLLISION, "csd_collisions", KERNEL,			\
	  "a queued CSD's slot taken by another CSD")			\
	X(ST_CPU_RANGE, "cpu_out_of_range", KERNEL,			\
	  "CPU id beyond IPT_MAX_CPUS (or the loader's matrix)")	\
	X(ST_PAIR_FULL, "pair_map_full", KERNEL,			\
	  "a CPU pair's counts lost: the pair map was full")		\
	X(ST_RECURSION_MISS, "recursion_misses", LOADER,		\
	  "hook runs the kernel skipped (bpf_prog_info)")		\
	X(ST_HANDLERS_UNSEEN, "handlers_unseen", LOADER,		\
	  "IPI handlers /proc/interrupts counted that ran none of our programs")

/* Row selectors for these lists (and the host's): the ids of the rows
 * kept WHERE (KERNEL, LOADER; MODEL rows are neither). */
#define IPT_ON_KERNEL_KERNEL(e)	e,
#define IPT_ON_KERNEL_LOADER(e)
#define IPT_ON_KERNEL_MODEL(e)
#define IPT_ON_LOADER_KERNEL(e)
#define IPT_ON_LOADER_LOADER(e)	e,
#define IPT_ON_LOADER_MODEL(e)
#define IPT_KERNEL_SLOT(e, key, where, doc)	IPT_ON_KERNEL_##where(e)
#define IPT_LOADER_SLOT(e, key, where, doc)	IPT_ON_LOADER_##where(e)

enum ipt_stat {
	IPT_COUNTERS(IPT_KERNEL_SLOT)
	IPT_LOSSES(IPT_KERNEL_SLOT)
	ST_MAX,			/* slots of the BPF stats array */
	ST_LOADER_FIRST = ST_MAX - 1,
	IPT_COUNTERS(IPT_LOADER_SLOT)
	IPT_LOSSES(IPT_LOADER_SLOT)
	ST_ALL,			/* slots of a report */
};

/* Pending send for one (target CPU, kind): array map value. */
struct ipi_pending {
	__u64 send_ns;		/* 0: nothing pending */
	__u64 callsite;
	__u64 func;
	__u32 src_cpu;
	__u16 flags;
	__u16 pad;
	__u32 coalesced;
	__u32 pad2;
};

/* Last CSD queued on a CPU: lets the following send name its function. */
struct csd_last {
	__u64 func;
	__u32 cpu;
	__u32 valid;
};

/* The pending sends of one target CPU, on cache lines of their own: the
 * target's handler and its senders share them, no other CPU does. */
struct ipt_pending_cpu {
	struct ipi_pending kind[IPI_KIND_MAX];
} __attribute__((aligned(64)));

/* State only its own CPU touches. */
struct ipt_cpu_state {
	struct csd_last csd;	/* last CSD queued here: the next send's function */
	__u64 seen_ns[IPT_PRIO_MAX];	/* last interrupt of each priority
					 * a program saw taken here */
} __attribute__((aligned(64)));

/* A queued CSD, in a table of two-slot sets indexed by a hash of its
 * address: no locks and no helper calls, unlike a hash map; a set whose
 * two slots hold live CSDs when a third hashes there counts a collision. */
#define IPT_CSD_SLOTS		16384

struct csd_slot {
	__u64 csd;		/* 0: free */
	__u64 queue_ns;
	__u32 src_cpu;
	__u32 pad;
};

#endif /* __IPITRACE_H */
