/* SPDX-License-Identifier: GPL-2.0 */
/* The ABI between ipitrace's host-side BPF programs and its loader: one raw
 * record per KVM / scheduler event on the IPI and halt paths, a common
 * header and a typed payload per event type. The per-IPI stage machine runs
 * in user space (src/host/). */
#ifndef __IPITRACE_HOST_H
#define __IPITRACE_HOST_H

#include "ipitrace.h"

enum host_ev_type {
	HE_APIC_IPI = 1,	/* kvm_apic_ipi in the sender vCPU thread */
	HE_ACCEPT_IRQ,		/* kvm_apic_accept_irq, sender's (or any) context */
	HE_PV_SEND_IPI,		/* kvm_hypercall KVM_HC_SEND_IPI in the sender */
	HE_KICK,		/* kvm_vcpu_kick (fentry/kprobe) */
	HE_WAKING,		/* sched_waking of a vCPU thread */
	HE_WAKEUP,		/* sched_wakeup of a vCPU thread */
	HE_SWITCH_IN,		/* sched_switch to a vCPU thread */
	HE_HALT_END,		/* kvm_vcpu_wakeup in the halted thread */
	HE_VM_ENTRY,		/* kvm_entry */
	HE_VM_EXIT,		/* kvm_exit */
	HE_HALT_POLL,		/* kvm_halt_poll_ns */
	HE_IPI_KICK,		/* ipi_send_cpu from a vCPU thread */
	HE_AVIC_INCOMPLETE,	/* kvm_avic_incomplete_ipi */
	HE_AVIC_DOORBELL,	/* kvm_avic_doorbell */
	HE_SWITCH_OUT,		/* sched_switch away from a vCPU thread that sleeps */
	HE_MSR,			/* kvm_msr: an MSR access a VM exit handled */
	HE_TYPE_MAX,
};

/* The event types whose hooks run in the vCPU thread itself (so the
 * current thread is a vCPU thread and its process the VM). The BPF side
 * learns vCPU threads from these; the host model's event table says the
 * same per type, and a unit test holds the two together. */
#define HE_IN_VCPU_THREAD_MASK						\
	(1u << HE_APIC_IPI | 1u << HE_PV_SEND_IPI | 1u << HE_HALT_END |	\
	 1u << HE_VM_ENTRY | 1u << HE_VM_EXIT | 1u << HE_HALT_POLL |	\
	 1u << HE_MSR)
#define HE_IN_VCPU_THREAD(type)	((HE_IN_VCPU_THREAD_MASK >> (type)) & 1)

struct he_apic_ipi {
	__u32 icr_low;
	__u32 dest_id;
};

struct he_accept {
	__u32 apicid;
	__u16 dm;
	__u16 tm;
	__u8 vec;
};

struct he_pv_ipi {		/* kvm_hypercall(KVM_HC_SEND_IPI, a0..a3) */
	__u64 bitmap_lo;	/* a0 */
	__u64 bitmap_hi;	/* a1 */
	__u32 min_apicid;	/* a2 */
	__u32 icr;		/* a3 */
};

struct he_vcpu {		/* kick, VM entry: the vCPU it is about */
	__s32 vcpu_id;
};

struct he_sched {		/* a scheduler event about a vCPU thread */
	__u32 tid;		/* the vCPU thread woken / switched in / out */
	__u32 aux;		/* waking, wakeup: its target CPU; switch in:
				 * prev's tid; switch out: its state */
};

struct he_halt_end {
	__u64 ns;		/* halt duration */
	__u8 waited;		/* the thread blocked */
	__u8 valid;		/* a wake-up event ended it */
};

struct he_vm_exit {
	__s32 vcpu_id;
	__u32 isa;		/* 1 VMX, 2 SVM */
	__u32 reason;
	__u32 pad;
	__u64 info1;
};

struct he_halt_poll {
	__s32 vcpu_id;
	__u32 grow;
	__u32 new_ns;
	__u32 old_ns;
};

struct he_ipi_kick {
	__u32 cpu;		/* target CPU of the IPI */
};

struct he_avic {		/* incomplete IPI (vcpu, icrl, id), doorbell (vcpu, apicid) */
	__u32 vcpu;
	__u32 icrl;
	__u32 id;
};

struct he_msr {
	__u32 write;
	__u32 ecx;		/* MSR index */
	__u64 data;
	__u8 exception;
};

struct host_event {
	__u64 ts;		/* bpf_ktime_get_ns() */
	__u32 tid;		/* current thread */
	__u32 pid;		/* current process (the VM for vCPU threads) */
	__u32 cpu;		/* current CPU */
	__u16 type;		/* enum host_ev_type: selects the payload */
	__u16 flags;
	union {
		struct he_apic_ipi apic_ipi;
		struct he_accept accept;
		struct he_pv_ipi pv_ipi;
		struct he_vcpu vcpu;		/* KICK, VM_ENTRY */
		struct he_sched sched;		/* WAKING, WAKEUP, SWITCH_IN/OUT */
		struct he_halt_end halt;
		struct he_vm_exit exit;
		struct he_halt_poll poll;
		struct he_ipi_kick ipi;
		struct he_avic avic;		/* AVIC_INCOMPLETE, AVIC_DOORBELL */
		struct he_msr msr;
	} u;
};

/*
 * Every counter and loss of a host report, text, JSON and /metrics alike:
 * X(id, key, WHERE, doc). WHERE says what id is: KERNEL, a slot of the
 * BPF stats array (enum host_stat below); MODEL, a field of user space's
 * struct kick_stats (src/host/kick.h); LOADER, the programs' recursion
 * misses from bpf_prog_info.
 */
#define HOST_COUNTERS(X)						\
	X(HS_EVENTS, "events", KERNEL, "events the BPF programs recorded") \
	X(ipis, "ipis", MODEL, "IPIs started (ICR writes, PV send-IPI)") \
	X(results, "results", MODEL, "IPI-target pairs completed")	\
	X(filtered, "filtered", MODEL, "results dropped by -p / --vcpu") \
	X(superseded, "superseded", MODEL,				\
	  "completed by the next IPI to the same target")		\
	X(timed_out, "timed_out", MODEL, "completed by the timeout")	\
	X(learned, "learned_threads", MODEL,				\
	  "vCPU thread identities learned from KVM's events")		\
	X(unattributed_halts, "unattributed_halts", MODEL,		\
	  "halt ends in a thread of unknown vCPU")			\
	X(foreign_ipis, "foreign_ipis", MODEL,				\
	  "IPIs a vCPU thread sent that were not its kick")

#define HOST_LOSSES(X)							\
	X(HS_RB_DROP, "ringbuf_drops", KERNEL,				\
	  "ring-buffer reservation failed")				\
	X(HS_VCPU_MAP_FULL, "vcpu_map_full", KERNEL,			\
	  "vCPU thread map full")					\
	X(recursion_misses, "recursion_misses", LOADER,			\
	  "hook runs the kernel skipped (bpf_prog_info)")		\
	X(no_target, "ipis_without_target", MODEL,			\
	  "IPIs whose targets were never resolved")			\
	X(out_of_order, "out_of_order_events", MODEL,			\
	  "stage events refused as out of path order")


/* Host-side in-kernel counters: the KERNEL rows above. */
enum host_stat {
	HOST_COUNTERS(IPT_KERNEL_SLOT)
	HOST_LOSSES(IPT_KERNEL_SLOT)
	HS_MAX,
};

/* vcpu_tids map value: a thread known to run a vCPU. */
struct vcpu_thread {
	__u32 pid;		/* VM process */
	__s32 vcpu_id;		/* -1 until known */
};

#endif /* __IPITRACE_HOST_H */
