// SPDX-License-Identifier: GPL-2.0
/*
 * ipitrace host side: stream the KVM and scheduler events on the path from
 * a guest's ICR write to the target vCPU running again, and on the halt /
 * halt-polling path. Only events of vCPU threads are kept: a thread becomes
 * one when it hits a KVM tracepoint, or when the loader finds it by name.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "ipt.bpf.h"
#include "ipitrace_host.h"

char LICENSE[] SEC("license") = "GPL";

#define KVM_HC_SEND_IPI		10
#define E2BIG			7

const volatile __u32 filter_pid;	/* 0: every VM */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct vcpu_thread);
} vcpu_tids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

#define stat_inc(idx)	ipt_stat_inc(&stats, idx)

static __always_inline bool pid_ok(__u32 pid)
{
	return !filter_pid || pid == filter_pid;
}

/* Current thread runs KVM code: remember it as a vCPU thread. */
static __always_inline void learn_vcpu(__u32 tid, __u32 pid, __s32 vcpu_id)
{
	struct vcpu_thread *v = bpf_map_lookup_elem(&vcpu_tids, &tid);
	struct vcpu_thread nv = { .pid = pid, .vcpu_id = vcpu_id };

	if (v) {
		if (vcpu_id >= 0)
			v->vcpu_id = vcpu_id;
		return;
	}
	if (bpf_map_update_elem(&vcpu_tids, &tid, &nv, BPF_NOEXIST) == -E2BIG)
		stat_inc(HS_VCPU_MAP_FULL);
}

static __always_inline bool is_vcpu(__u32 tid)
{
	struct vcpu_thread *v = bpf_map_lookup_elem(&vcpu_tids, &tid);

	return v && pid_ok(v->pid);
}

static __always_inline struct host_event *ev_new(int type)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct host_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(HS_RB_DROP);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts = bpf_ktime_get_ns();
	e->tid = (__u32)id;
	e->pid = id >> 32;
	e->cpu = bpf_get_smp_processor_id();
	e->type = type;
	return e;
}

/* Never a wake-up: it would be an irq_work self-IPI, the tracer making
 * IPIs exactly when it is overloaded. The consumer drains on its timer; a
 * full ring is a counted drop (HS_RB_DROP). */
static __always_inline void ev_submit(struct host_event *e)
{
	stat_inc(HS_EVENTS);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/*
 * A KVM event; NULL when filtered out. Only hooks that run in the vCPU
 * thread itself (HE_IN_VCPU_THREAD) may teach us that the current thread
 * is one: an interrupt accepted from a timer or a kick from a kworker runs
 * in whatever thread was there. @vcpu_id: -1 when the event has none.
 */
static __always_inline struct host_event *kvm_ev(int type, __s32 vcpu_id)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (!pid_ok(id >> 32))
		return NULL;
	if (HE_IN_VCPU_THREAD(type) && (__u32)id)
		learn_vcpu((__u32)id, id >> 32, vcpu_id);
	return ev_new(type);
}

static __always_inline int on_apic_ipi(__u32 icr_low, __u32 dest_id)
{
	struct host_event *e = kvm_ev(HE_APIC_IPI, -1);

	if (!e)
		return 0;
	e->u.apic_ipi.icr_low = icr_low;
	e->u.apic_ipi.dest_id = dest_id;
	ev_submit(e);
	return 0;
}

static __always_inline int on_accept_irq(__u32 apicid, __u16 dm, __u16 tm,
					 __u8 vec)
{
	struct host_event *e = kvm_ev(HE_ACCEPT_IRQ, -1);

	if (!e)
		return 0;
	e->u.accept.apicid = apicid;
	e->u.accept.dm = dm;
	e->u.accept.tm = tm;
	e->u.accept.vec = vec;
	ev_submit(e);
	return 0;
}

static __always_inline int on_hypercall(__u64 nr, __u64 a0, __u64 a1,
					__u64 a2, __u64 a3)
{
	struct host_event *e;

	if (nr != KVM_HC_SEND_IPI)
		return 0;
	e = kvm_ev(HE_PV_SEND_IPI, -1);
	if (!e)
		return 0;
	e->u.pv_ipi.bitmap_lo = a0;
	e->u.pv_ipi.bitmap_hi = a1;
	e->u.pv_ipi.min_apicid = a2;
	e->u.pv_ipi.icr = a3;
	ev_submit(e);
	return 0;
}

static __always_inline int on_vcpu_wakeup(__u64 ns, bool waited, bool valid)
{
	struct host_event *e = kvm_ev(HE_HALT_END, -1);

	if (!e)
		return 0;
	e->u.halt.ns = ns;
	e->u.halt.waited = waited;
	e->u.halt.valid = valid;
	ev_submit(e);
	return 0;
}

static __always_inline int on_halt_poll(bool grow, __u32 vcpu_id, __u32 new,
					__u32 old)
{
	struct host_event *e = kvm_ev(HE_HALT_POLL, vcpu_id);

	if (!e)
		return 0;
	e->u.poll.vcpu_id = vcpu_id;
	e->u.poll.grow = grow;
	e->u.poll.new_ns = new;
	e->u.poll.old_ns = old;
	ev_submit(e);
	return 0;
}

static __always_inline int on_vm_entry(__s32 id)
{
	struct host_event *e = kvm_ev(HE_VM_ENTRY, id);

	if (!e)
		return 0;
	e->u.vcpu.vcpu_id = id;
	ev_submit(e);
	return 0;
}

static __always_inline int on_msr(__u32 write, __u32 ecx, __u64 data,
				  __u8 exception)
{
	struct host_event *e = kvm_ev(HE_MSR, -1);

	if (!e)
		return 0;
	e->u.msr.write = write;
	e->u.msr.ecx = ecx;
	e->u.msr.data = data;
	e->u.msr.exception = exception;
	ev_submit(e);
	return 0;
}

/* A vCPU's id; the pointer is null-checked first: some kernels (6.12)
 * type tp_btf arguments as maybe-null, and the verifier refuses to
 * offset such a pointer. */
static __always_inline __s32 vcpu_id_of(struct kvm_vcpu *vcpu)
{
	if (!vcpu)
		return -1;
	return BPF_CORE_READ(vcpu, vcpu_id);
}

static __always_inline int on_kick(struct kvm_vcpu *vcpu)
{
	__s32 id = vcpu_id_of(vcpu);
	struct host_event *e = kvm_ev(HE_KICK, -1);

	if (!e)
		return 0;
	e->u.vcpu.vcpu_id = id;
	ev_submit(e);
	return 0;
}

/* Scheduler events about a vCPU thread @tid; @aux: the target CPU
 * (waking, wakeup), prev's tid (switch in) or prev's state (switch out). */
static __always_inline int on_sched(int type, struct task_struct *p, __u32 aux)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	struct host_event *e;

	if (!is_vcpu(tid))
		return 0;
	e = ev_new(type);
	if (!e)
		return 0;
	e->u.sched.tid = tid;
	e->u.sched.aux = aux;
	ev_submit(e);
	return 0;
}

/* task_struct.state became __state in 5.14 */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

static __always_inline unsigned int task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___old *)t, state);
}

/* Into a vCPU thread: it runs again. Out of one that goes to sleep: a
 * halted vCPU stops polling and blocks, which splits its halt time. The
 * state is read from the task, not from the tracepoint's prev_state
 * argument, which only kernels >= 5.18 pass. */
static __always_inline int on_switch(bool preempt, struct task_struct *prev,
				     struct task_struct *next)
{
	unsigned int prev_state = task_state(prev);

	if (!preempt && prev_state)
		on_sched(HE_SWITCH_OUT, prev, prev_state);
	return on_sched(HE_SWITCH_IN, next, BPF_CORE_READ(prev, pid));
}

static __always_inline int on_waking(int type, struct task_struct *p)
{
	return on_sched(type, p, BPF_CORE_READ(p, wake_cpu));
}

/* A vCPU thread sending an IPI: maybe KVM kicking a vCPU in guest mode. */
static __always_inline int on_ipi_send(__u32 cpu)
{
	struct host_event *e;

	if (!is_vcpu((__u32)bpf_get_current_pid_tgid()))
		return 0;
	e = ev_new(HE_IPI_KICK);
	if (!e)
		return 0;
	e->u.ipi.cpu = cpu;
	ev_submit(e);
	return 0;
}

static __always_inline int on_avic(int type, __u32 vcpu, __u32 icrl, __u32 id)
{
	struct host_event *e = kvm_ev(type, -1);

	if (!e)
		return 0;
	e->u.avic.vcpu = vcpu;
	e->u.avic.icrl = icrl;
	e->u.avic.id = id;
	ev_submit(e);
	return 0;
}

TP_BOTH(kvm_apic_ipi, kvm_apic_ipi, ARGS(__u32 icr_low, __u32 dest_id),
	on_apic_ipi(icr_low, dest_id))
TP_BOTH(kvm_apic_accept_irq, kvm_accept_irq,
	ARGS(__u32 apicid, __u16 dm, __u16 tm, __u8 vec),
	on_accept_irq(apicid, dm, tm, vec))
TP_BOTH(kvm_hypercall, kvm_hypercall,
	ARGS(unsigned long nr, unsigned long a0, unsigned long a1,
	     unsigned long a2, unsigned long a3),
	on_hypercall(nr, a0, a1, a2, a3))
TP_BOTH(kvm_vcpu_wakeup, kvm_vcpu_wakeup, ARGS(__u64 ns, bool waited, bool valid),
	on_vcpu_wakeup(ns, waited, valid))
TP_BOTH(kvm_halt_poll_ns, kvm_halt_poll, ARGS(bool grow, unsigned int vcpu_id,
	unsigned int new, unsigned int old),
	on_halt_poll(grow, vcpu_id, new, old))
TP_BOTH(kvm_entry, kvm_entry, ARGS(struct kvm_vcpu *vcpu),
	on_vm_entry(vcpu_id_of(vcpu)))
TP_BOTH(kvm_msr, kvm_msr, ARGS(unsigned int write, __u32 ecx, __u64 data,
	bool exception), on_msr(write, ecx, data, exception))
TP_BOTH(sched_waking, sched_waking, ARGS(struct task_struct *p),
	on_waking(HE_WAKING, p))
TP_BOTH(sched_wakeup, sched_wakeup, ARGS(struct task_struct *p),
	on_waking(HE_WAKEUP, p))
TP_BOTH(sched_switch, sched_switch, ARGS(bool preempt, struct task_struct *prev,
	struct task_struct *next), on_switch(preempt, prev, next))
TP_BOTH(ipi_send_cpu, ipi_send_cpu, ARGS(unsigned int cpu), on_ipi_send(cpu))
TP_BOTH(kvm_avic_incomplete_ipi, kvm_avic_incomplete,
	ARGS(__u32 vcpu, __u32 icrh, __u32 icrl, __u32 id),
	on_avic(HE_AVIC_INCOMPLETE, vcpu, icrl, id))
TP_BOTH(kvm_avic_doorbell, kvm_avic_doorbell, ARGS(__u32 vcpuid, __u32 apicid),
	on_avic(HE_AVIC_DOORBELL, vcpuid, apicid, 0))

/* Classic tracepoints of the kvm:* roles (--force-hooks tracepoint, and
 * kernels whose KVM has no BTF): the same handlers, fields by CO-RE. */
#define TP_CLASSIC(ev, name, call)					\
SEC("tracepoint/kvm/" #ev)						\
int tp_##name(struct trace_event_raw_##ev *ctx) { return call; }

#define F(field) BPF_CORE_READ(ctx, field)
TP_CLASSIC(kvm_apic_ipi, kvm_apic_ipi, on_apic_ipi(F(icr_low), F(dest_id)))
TP_CLASSIC(kvm_apic_accept_irq, kvm_accept_irq,
	   on_accept_irq(F(apicid), F(dm), F(tm), F(vec)))
TP_CLASSIC(kvm_hypercall, kvm_hypercall,
	   on_hypercall(F(nr), F(a0), F(a1), F(a2), F(a3)))
TP_CLASSIC(kvm_vcpu_wakeup, kvm_vcpu_wakeup,
	   on_vcpu_wakeup(F(ns), F(waited), F(valid)))
TP_CLASSIC(kvm_halt_poll_ns, kvm_halt_poll,
	   on_halt_poll(F(grow), F(vcpu_id), F(new), F(old)))
TP_CLASSIC(kvm_entry, kvm_entry, on_vm_entry(F(vcpu_id)))
TP_CLASSIC(kvm_msr, kvm_msr, on_msr(F(write), F(ecx), F(data), F(exception)))
TP_CLASSIC(kvm_avic_incomplete_ipi, kvm_avic_incomplete,
	   on_avic(HE_AVIC_INCOMPLETE, F(vcpu), F(icrl), F(id)))
TP_CLASSIC(kvm_avic_doorbell, kvm_avic_doorbell,
	   on_avic(HE_AVIC_DOORBELL, F(vcpuid), F(apicid), 0))

/* The exit reason is only in the classic tracepoint's fields. */
SEC("tracepoint/kvm/kvm_exit")
int tp_kvm_exit(struct trace_event_raw_kvm_exit *ctx)
{
	__s32 vcpu_id = F(vcpu_id);
	struct host_event *e = kvm_ev(HE_VM_EXIT, vcpu_id);

	if (!e)
		return 0;
	e->u.exit.vcpu_id = vcpu_id;
	e->u.exit.isa = F(isa);
	e->u.exit.reason = F(exit_reason);
	e->u.exit.info1 = F(info1);
	ev_submit(e);
	return 0;
}
#undef F

/* kvm_vcpu_kick became an inline around __kvm_vcpu_kick in 6.x */
FN_PAIR(__kvm_vcpu_kick, kick_new, struct kvm_vcpu *vcpu, on_kick(vcpu))
FN_PAIR(kvm_vcpu_kick, kick, struct kvm_vcpu *vcpu, on_kick(vcpu))
