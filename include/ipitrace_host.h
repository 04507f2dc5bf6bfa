/* SPDX-License-Identifier: GPL-2.0 */
/* The ABI between ipitrace's host-side BPF programs and its loader: one raw
 * record per KVM / scheduler event on the IPI and halt paths. The per-IPI
 * stage state machine runs in user space (src/kick.c). */
#ifndef __IPITRACE_HOST_H
#define __IPITRACE_HOST_H

enum host_ev_type {
	HE_APIC_IPI = 1,	/* kvm_apic_ipi in the sender vCPU thread: a0 icr_low, a1 dest_id */
	HE_ACCEPT_IRQ,		/* kvm_apic_accept_irq: a0 apicid, a1 vec, v0 dm<<16|tm */
	HE_PV_SEND_IPI,		/* kvm_hypercall KVM_HC_SEND_IPI: v0 a0 (bitmap lo), v1 a2 (min apicid)<<32 | a3 (icr) */
	HE_KICK,		/* kvm_vcpu_kick (fentry/kprobe): a0 target vcpu_id */
	HE_WAKING,		/* sched_waking of a vCPU thread: arg_tid, a0 target CPU */
	HE_WAKEUP,		/* sched_wakeup of a vCPU thread: arg_tid, a0 target CPU */
	HE_SWITCH_IN,		/* sched_switch to a vCPU thread: arg_tid = next, a0 = prev tid */
	HE_HALT_END,		/* kvm_vcpu_wakeup in the halted thread: v0 ns, a0 waited, a1 valid */
	HE_VM_ENTRY,		/* kvm_entry: a0 vcpu_id */
	HE_VM_EXIT,		/* kvm_exit: a0 vcpu_id, a1 isa, v0 exit reason */
	HE_HALT_POLL,		/* kvm_halt_poll_ns: a0 vcpu_id, a1 grow, v0 new, v1 old */
	HE_IPI_KICK,		/* ipi_send_cpu from a vCPU thread (kick of a running vCPU): a0 target CPU */
	HE_AVIC_INCOMPLETE,	/* kvm_avic_incomplete_ipi: a0 vcpu, a1 icrl, v0 id */
	HE_AVIC_DOORBELL,	/* kvm_avic_doorbell: a0 vcpuid, a1 apicid */
	HE_SWITCH_OUT,		/* sched_switch away from a vCPU thread that sleeps: arg_tid = prev, a0 = prev_state */
	HE_TYPE_MAX,
};

struct host_event {
	__u64 ts;		/* bpf_ktime_get_ns() */
	__u64 v0;
	__u64 v1;
	__u32 tid;		/* current thread */
	__u32 pid;		/* current process (the VM for vCPU threads) */
	__u32 cpu;		/* current CPU */
	__u32 arg_tid;		/* the thread a scheduler event is about */
	__u32 a0;
	__u32 a1;
	__u16 type;		/* enum host_ev_type */
	__u16 flags;
	__u32 pad;
};

/* Host-side in-kernel counters. */
enum host_stat {
	HS_EVENTS,
	HS_RB_DROP,		/* lost: ring-buffer reservation failed */
	HS_VCPU_MAP_FULL,	/* lost: vCPU thread map full */
	HS_RB_WAKEUP,
	HS_MAX,
};

/* vcpu_tids map value: a thread known to run a vCPU. */
struct vcpu_thread {
	__u32 pid;		/* VM process */
	__s32 vcpu_id;		/* -1 until known */
};

#endif /* __IPITRACE_HOST_H */
