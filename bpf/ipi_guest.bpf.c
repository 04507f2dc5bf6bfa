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

char LICENSE[] SEC("license") = "GPL";

/* Kernel addresses, resolved by libbpf from /proc/kallsyms; weak: 0 when
 * the kernel has no such symbol (generic_smp_call_function_interrupt is a
 * macro since 6.x), and 0 never matches. */
extern const void generic_smp_call_function_single_interrupt __ksym __weak;
extern const void generic_smp_call_function_interrupt __ksym __weak;
extern const void bpf_ringbuf_notify __ksym __weak;	/* our own wake-ups */

#define IPT_KSYM_CALL_SINGLE	((__u64)&generic_smp_call_function_single_interrupt)
#define IPT_KSYM_CALL_MANY	((__u64)&generic_smp_call_function_interrupt)
#define IPT_KSYM_RB_NOTIFY	((__u64)&bpf_ringbuf_notify)

/* Set by the loader from the command line and the topology. */
const volatile __u64 stale_ns = 1000000000ULL;
const volatile __u64 unserved_ns = 1000000ULL;
const volatile __u32 nr_cpus = IPT_MAX_CPUS;
const volatile __u32 nr_cpus_all = IPT_MAX_CPUS;	/* may exceed nr_cpus */
const volatile bool aggregate;		/* histograms in the kernel, no records */
const volatile bool pair_counts;	/* aggregate mode with -C */
const volatile bool csd_pairing;	/* csd:* programs attached */
const volatile __s32 cpu_node[IPT_MAX_CPUS];

struct ipt_pending_cpu pending[IPT_MAX_CPUS] SEC(".bss");
struct ipt_cpu_state cpu_state[IPT_MAX_CPUS] SEC(".bss");
struct csd_slot csds[IPT_CSD_SLOTS] SEC(".bss");

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

/* -C: one entry per CPU pair seen; the loader sizes it and, where the
 * kernel lets tracing programs use them (6.1+), drops preallocation. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct ipt_pair_key);
	__type(value, struct ipt_pair_val);
} pair_agg SEC(".maps");

/* The shims of include/ipi_guest_core.h */
static __always_inline __u64 ipt_now(void)
{
	return bpf_ktime_get_ns();
}

static __always_inline __u32 ipt_this_cpu(void)
{
	return bpf_get_smp_processor_id();
}

static __always_inline void ipt_stat(__u32 idx)
{
	ipt_stat_inc(&stats, idx);
}

static __always_inline void ipt_stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		__sync_fetch_and_add(v, n);
}

/* The consumer drains the rings on its timer: never wake it from here, a
 * wake-up is an irq_work self-IPI. A full ring is a counted drop. */
static __always_inline void ipt_emit(const struct ipi_event *e)
{
	__u32 cpu = bpf_get_smp_processor_id();
	void *rb = bpf_map_lookup_elem(&events, &cpu);

	if (!rb || bpf_ringbuf_output(rb, (void *)e, sizeof(*e),
				      BPF_RB_NO_WAKEUP))
		ipt_stat(ST_RB_DROP);
}

static __always_inline struct ipt_hist_val *ipt_hist(__u32 idx)
{
	return bpf_map_lookup_elem(&agg_hist, &idx);
}

static const struct ipt_pair_val pair_zero;

/* Only the target CPU writes a pair's counters; any CPU may create it. */
static __always_inline struct ipt_pair_val *ipt_pair(__u32 src, __u32 dst)
{
	struct ipt_pair_key k = { .src = src, .dst = dst };
	struct ipt_pair_val *v = bpf_map_lookup_elem(&pair_agg, &k);

	if (v)
		return v;
	bpf_map_update_elem(&pair_agg, &k, &pair_zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&pair_agg, &k);
}

static __always_inline __u64 ipt_mask_word(const void *mask, __u32 w)
{
	__u64 word = 0;

	bpf_probe_read_kernel(&word, sizeof(word), mask + w * 8);
	return word;
}

#include "ipi_guest_core.h"

TP_BOTH(ipi_send_cpu, ipi_send_cpu,
	ARGS(unsigned int cpu, unsigned long callsite, void *callback),
	ipt_on_send_cpu(cpu, callsite, (__u64)callback))
TP_BOTH(ipi_send_cpumask, ipi_send_cpumask,
	ARGS(struct cpumask *mask, unsigned long callsite, void *callback),
	ipt_on_send_cpumask(mask, callsite, (__u64)callback))
/* raw_tp only: tp_btf rejects reading a function-pointer argument */
SEC("raw_tp/csd_queue_cpu")
int BPF_PROG(raw_tp_csd_queue_cpu, unsigned int cpu, unsigned long callsite,
	     void *func, void *csd)
{
	return ipt_on_csd_queue(cpu, (__u64)func, (__u64)csd);
}

SEC("raw_tp/csd_function_entry")
int BPF_PROG(raw_tp_csd_function_entry, void *func, void *csd)
{
	return ipt_on_csd_entry((__u64)csd);
}
TP_BOTH(call_function_single_entry, call_single_entry,
	ARGS(int vector), ipt_on_entry(IPI_CALL_SINGLE))
TP_BOTH(call_function_entry, call_many_entry,
	ARGS(int vector), ipt_on_entry(IPI_CALL_MANY))
TP_BOTH(reschedule_entry, resched_entry,
	ARGS(int vector), ipt_on_entry(IPI_RESCHED))
TP_BOTH(irq_work_entry, irq_work_entry,
	ARGS(int vector), ipt_on_entry(IPI_IRQ_WORK))
/* ticks: the witness of IPIs taken unseen (ipt_on_entry) */
TP_BOTH(local_timer_entry, timer_entry,
	ARGS(int vector), ipt_on_tick())

static __always_inline int count_wake_no_ipi(void)
{
	ipt_stat(ST_WAKE_NO_IPI);
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
	ipt_note_send(cpu, kind, caller, 0, 0);
	return 0;
}

static __always_inline int fallback_send_mask(const void *mask, __u64 caller)
{
	ipt_on_send_mask(mask, caller);
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
