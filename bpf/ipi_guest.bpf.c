// SPDX-License-Identifier: GPL-2.0
/*
 * ipitrace guest side: pair every IPI send with the handler entry on its
 * target CPU and stream one record per IPI (and per CSD) to user space.
 *
 * Each role has a tracepoint program (tp_btf and raw_tp flavours) and, for
 * the send side on kernels before 6.4, fentry/kprobe programs on the x86
 * send functions. The loader picks one flavour per role and disables the
 * rest with bpf_program__set_autoload().
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "ipt.bpf.h"
#include "ipitrace.h"
#include "ipi_pair.h"
#include "ipt_hist.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader from /proc/kallsyms and the command line. */
const volatile __u64 fn_call_single = ~0ULL;	/* generic_smp_call_function_single_interrupt */
const volatile __u64 fn_call_many = ~0ULL;	/* generic_smp_call_function_interrupt */
const volatile __u64 fn_rb_notify = ~0ULL;	/* bpf_ringbuf_notify: our own wake-ups */
const volatile __u64 stale_ns = 1000000000ULL;
const volatile __u64 rb_wakeup_bytes = 1 << 21;
const volatile __u32 nr_cpus = IPT_MAX_CPUS;
const volatile bool aggregate;		/* histograms in the kernel, no records */

/* One ring buffer per CPU: producers on different CPUs never share a lock
 * or a producer-position cache line. The loader creates the rings. */
struct ringbuf_cpu {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, IPT_MAX_CPUS);
	__type(key, __u32);
	__array(values, struct ringbuf_cpu);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IPT_MAX_CPUS * IPI_KIND_MAX);
	__type(key, __u32);
	__type(value, struct ipi_pending);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct csd_last);
} last_csd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IPT_CSD_SLOTS);
	__type(key, __u32);
	__type(value, struct csd_slot);
} csds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Aggregate mode (sized by the loader; 1 entry otherwise). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IPT_AGG_SLOTS);
	__type(key, __u32);
	__type(value, struct ipt_hist_val);
} agg_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IPT_MAX_CPUS);
	__type(key, __u32);
	__type(value, __s32);
} cpu_node SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ipt_pair_val);
} pair_agg SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	/* atomic: a hook in an interrupt may nest inside one in process
	 * context on this CPU and bump the same counter */
	if (v)
		__sync_fetch_and_add(v, 1);
}

/* Wake the consumer only when the ring is filling up: every wake-up is an
 * irq_work self-IPI that would otherwise pollute what we measure. */
static __always_inline void emit(const struct ipi_event *src)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 flags = BPF_RB_NO_WAKEUP;
	struct ipi_event *e;
	void *rb;

	rb = bpf_map_lookup_elem(&events, &cpu);
	e = rb ? bpf_ringbuf_reserve(rb, sizeof(*e), 0) : NULL;
	if (!e) {
		stat_inc(ST_RB_DROP);
		return;
	}
	__builtin_memcpy(e, src, sizeof(*e));
	if (bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) > rb_wakeup_bytes) {
		flags = BPF_RB_FORCE_WAKEUP;
		stat_inc(ST_RB_WAKEUP);
	}
	bpf_ringbuf_submit(e, flags);
}

static __always_inline __u32 numa_class(__u32 a, __u32 b)
{
	__s32 *na, *nb;

	if (a == b)
		return IPT_NUMA_SAME;
	na = bpf_map_lookup_elem(&cpu_node, &a);
	nb = bpf_map_lookup_elem(&cpu_node, &b);
	if (!na || !nb || *na < 0 || *nb < 0)
		return IPT_NUMA_UNKNOWN;
	return *na == *nb ? IPT_NUMA_SAME : IPT_NUMA_CROSS;
}

/* kind IPI_KIND_MAX: a CSD */
static __always_inline void agg_add(__u32 src, __u32 dst, int kind, __u64 lat)
{
	__u32 idx = numa_class(src, dst) * IPT_AGG_KINDS + kind;
	struct ipt_hist_val *h = bpf_map_lookup_elem(&agg_hist, &idx);
	struct ipt_pair_val *p;

	if (h)
		ipt_hist_add(h, lat);
	if (kind >= IPI_KIND_MAX || src >= nr_cpus || dst >= nr_cpus)
		return;
	idx = src * nr_cpus + dst;
	p = bpf_map_lookup_elem(&pair_agg, &idx);
	if (!p)
		return;
	__sync_fetch_and_add(&p->count[kind], 1);
	__sync_fetch_and_add(&p->sum_ns, lat);
}

static __always_inline struct ipi_pending *slot_of(__u32 cpu, int kind)
{
	__u32 idx;

	if (cpu >= IPT_MAX_CPUS) {
		stat_inc(ST_CPU_RANGE);
		return NULL;
	}
	idx = cpu * IPI_KIND_MAX + kind;
	return bpf_map_lookup_elem(&pending, &idx);
}

static __always_inline void note_send(__u32 target, int kind, __u64 callsite,
				      __u64 func, __u16 flags)
{
	struct ipi_pending *p = slot_of(target, kind);
	__u32 self = bpf_get_smp_processor_id();
	int r;

	if (!p)
		return;
	r = ipt_pend_send(p, bpf_ktime_get_ns(), self, callsite, func, flags,
			  stale_ns);
	stat_inc(ST_SENDS);
	if (r == PEND_COALESCED)
		stat_inc(ST_COALESCED);
	else if (r == PEND_STALE)
		stat_inc(ST_PENDING_OVERWRITE);
}

/* The function of the CSD queued just before this send, if any. */
static __always_inline __u64 take_csd_func(__u32 target, bool any_target)
{
	__u32 zero = 0;
	struct csd_last *l = bpf_map_lookup_elem(&last_csd, &zero);
	__u64 func = 0;

	if (l && l->valid && (any_target || l->cpu == target)) {
		func = l->func;
		l->valid = 0;
	}
	return func;
}

static __always_inline int on_send_cpu(__u32 cpu, __u64 callsite, __u64 callback)
{
	__u32 self = bpf_get_smp_processor_id();
	int kind = ipt_send_cpu_kind(callback, cpu, self, fn_call_single);
	__u64 func = callback;
	__u16 flags = 0;

	switch (kind) {
	case IPI_OTHER:
		stat_inc(ST_SEND_OTHER);
		return 0;
	case IPI_CALL_SINGLE:
		func = take_csd_func(cpu, false);
		break;
	case IPI_IRQ_WORK:
		if (callback == fn_rb_notify) {
			flags |= IPT_F_TRACER;
			stat_inc(ST_TRACER_IPI);
		}
		break;
	}
	note_send(cpu, kind, callsite, func, flags);
	return 0;
}

static __always_inline void on_send_mask(const void *mask, __u64 callsite)
{
	__u64 func = take_csd_func(0, true);
	__u32 w, b;

	for (w = 0; w < IPT_MASK_WORDS; w++) {
		__u64 word = 0;

		if (w * 64 >= nr_cpus)
			break;
		bpf_probe_read_kernel(&word, sizeof(word), mask + w * 8);
		for (b = 0; b < 64 && word; b++, word >>= 1) {
			if (word & 1)
				note_send(w * 64 + b, IPI_CALL_MANY, callsite,
					  func, 0);
		}
	}
}

/* Multicast function calls: generic_smp_call_function_interrupt is its own
 * symbol on older kernels and an alias of the single-target handler since
 * 6.x, so either callback marks one. */
static __always_inline int on_send_cpumask(const void *mask, __u64 callsite,
					   __u64 callback)
{
	if (callback != fn_call_many && callback != fn_call_single) {
		stat_inc(ST_SEND_OTHER);
		return 0;
	}
	on_send_mask(mask, callsite);
	return 0;
}

static __always_inline int on_entry(int kind)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct ipi_pending *p = slot_of(cpu, kind);
	struct ipi_event e = {};

	if (!p)
		return 0;
	if (!ipt_pend_take(p, bpf_ktime_get_ns(), &e)) {
		stat_inc(ST_UNPAIRED_HANDLER);
		return 0;
	}
	if (e.flags & IPT_F_TRACER)
		return 0;
	stat_inc(ST_HANDLED);
	if (aggregate) {
		agg_add(e.src_cpu, cpu, kind, e.lat_ns);
		return 0;
	}
	e.type = REC_IPI;
	e.kind = kind;
	e.dst_cpu = cpu;
	emit(&e);
	return 0;
}


static __always_inline struct csd_slot *csd_slot_of(__u64 csd)
{
	__u32 idx = (__u32)((csd >> 5) ^ (csd >> 19)) & (IPT_CSD_SLOTS - 1);

	return bpf_map_lookup_elem(&csds, &idx);
}

static __always_inline int on_csd_queue(__u32 cpu, __u64 callsite, __u64 func,
					__u64 csd)
{
	__u32 zero = 0;
	struct csd_last *l = bpf_map_lookup_elem(&last_csd, &zero);
	struct csd_slot *s;
	__u64 now;

	if (l) {
		l->func = func;
		l->cpu = cpu;
		l->valid = 1;
	}
	stat_inc(ST_CSD_QUEUED);
	s = csd_slot_of(csd);
	if (!s)
		return 0;
	now = bpf_ktime_get_ns();
	/* a slot left by a CSD that never ran its function (e.g. a remote
	 * irq_work) goes stale; a live one being replaced is a loss */
	if (s->csd && s->csd != csd && now - s->queue_ns < stale_ns)
		stat_inc(ST_CSD_COLLISION);
	s->csd = 0;
	barrier();
	s->queue_ns = now;
	s->src_cpu = bpf_get_smp_processor_id();
	barrier();
	s->csd = csd;
	return 0;
}

/* Per-CSD latency always goes to the in-kernel histogram: a ring-buffer
 * record per CSD would double the per-IPI cost for one more histogram. */
static __always_inline int on_csd_entry(__u64 func, __u64 csd)
{
	struct csd_slot *s = csd_slot_of(csd);
	__u64 now = bpf_ktime_get_ns(), queued;
	__u32 src;

	stat_inc(ST_CSD_RUN);
	if (!s || s->csd != csd) {
		stat_inc(ST_CSD_UNPAIRED);
		return 0;
	}
	barrier();
	queued = s->queue_ns;
	src = s->src_cpu;
	barrier();
	if (__sync_val_compare_and_swap(&s->csd, csd, 0) != csd ||
	    !queued || queued > now) {
		stat_inc(ST_CSD_UNPAIRED);
		return 0;
	}
	agg_add(src, bpf_get_smp_processor_id(), IPI_KIND_MAX,
		now > queued ? now - queued : 0);
	return 0;
}

TP_BOTH(ipi_send_cpu, ipi_send_cpu,
	ARGS(unsigned int cpu, unsigned long callsite, void *callback),
	on_send_cpu(cpu, callsite, (__u64)callback))
TP_BOTH(ipi_send_cpumask, ipi_send_cpumask,
	ARGS(struct cpumask *mask, unsigned long callsite, void *callback),
	on_send_cpumask(mask, callsite, (__u64)callback))
/* raw_tp only: tp_btf rejects reading a function-pointer argument */
SEC("raw_tp/csd_queue_cpu")
int BPF_PROG(raw_tp_csd_queue_cpu, unsigned int cpu, unsigned long callsite,
	     void *func, void *csd)
{
	return on_csd_queue(cpu, callsite, (__u64)func, (__u64)csd);
}

SEC("raw_tp/csd_function_entry")
int BPF_PROG(raw_tp_csd_function_entry, void *func, void *csd)
{
	return on_csd_entry((__u64)func, (__u64)csd);
}
TP_BOTH(call_function_single_entry, call_single_entry,
	ARGS(int vector), on_entry(IPI_CALL_SINGLE))
TP_BOTH(call_function_entry, call_many_entry,
	ARGS(int vector), on_entry(IPI_CALL_MANY))
TP_BOTH(reschedule_entry, resched_entry,
	ARGS(int vector), on_entry(IPI_RESCHED))
TP_BOTH(irq_work_entry, irq_work_entry,
	ARGS(int vector), on_entry(IPI_IRQ_WORK))

static __always_inline int count_wake_no_ipi(void)
{
	stat_inc(ST_WAKE_NO_IPI);
	return 0;
}

TP_BOTH(sched_wake_idle_without_ipi, wake_idle_no_ipi,
	ARGS(int cpu), count_wake_no_ipi())

/* Send side on kernels without the ipi tracepoints (< 6.4). */
static __always_inline __u64 kprobe_caller(struct pt_regs *regs)
{
	__u64 ret = 0;

	bpf_probe_read_kernel(&ret, sizeof(ret), (void *)PT_REGS_SP(regs));
	return ret;
}

#define FENTRY_FRAMES	8

/*
 * fentry has no registers to read the return address from: walk the stack
 * (BPF program, trampoline, the traced function just past its entry, its
 * caller) and take the frame after the traced function's. The walk costs
 * about a microsecond; only kernels without the ipi tracepoints pay it.
 */
static __always_inline __u64 fentry_caller(void *ctx)
{
	__u64 ip = bpf_get_func_ip(ctx), stack[FENTRY_FRAMES] = {};
	long n = bpf_get_stack(ctx, stack, sizeof(stack), 0);
	int i;

	for (i = 0; i < FENTRY_FRAMES - 1; i++) {
		if (i * 8 >= n)
			break;
		if (stack[i] > ip && stack[i] - ip < 64)
			return stack[i + 1];
	}
	return 0;
}

/* One fentry and one kprobe program per send function; only kprobes can
 * read the caller's return address from the stack. */
#define FN_BOTH(fn, name, proto, call)					\
SEC("fentry/" #fn) int BPF_PROG(fentry_##name, proto)			\
{									\
	__u64 caller = fentry_caller(ctx);				\
	return call;							\
}									\
SEC("kprobe/" #fn) int BPF_KPROBE(kprobe_##name, proto)			\
{									\
	__u64 caller = kprobe_caller(ctx);				\
	return call;							\
}

static __always_inline int fallback_send(__u32 cpu, int kind, __u64 caller)
{
	note_send(cpu, kind, caller, 0, 0);
	return 0;
}

static __always_inline int fallback_send_mask(const void *mask, __u64 caller)
{
	on_send_mask(mask, caller);
	return 0;
}

FN_BOTH(native_send_call_func_single_ipi, send_call_single, int cpu,
	fallback_send(cpu, IPI_CALL_SINGLE, caller))
FN_BOTH(native_smp_send_reschedule, send_resched, int cpu,
	fallback_send(cpu, IPI_RESCHED, caller))
FN_BOTH(native_send_call_func_ipi, send_call_many, const struct cpumask *mask,
	fallback_send_mask(mask, caller))

/* arch_irq_work_raise() takes no argument: a self-IPI */
SEC("fentry/arch_irq_work_raise")
int BPF_PROG(fentry_send_irq_work)
{
	return fallback_send(bpf_get_smp_processor_id(), IPI_IRQ_WORK, 0);
}

SEC("kprobe/arch_irq_work_raise")
int BPF_KPROBE(kprobe_send_irq_work)
{
	return fallback_send(bpf_get_smp_processor_id(), IPI_IRQ_WORK,
			     kprobe_caller(ctx));
}
