/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host model's interface. Fed with struct host_event records in
 * timestamp order, it follows each IPI a guest vCPU sends to each of its
 * targets (ICR write -> accepted -> kicked -> woken -> on CPU -> halt end
 * -> VM entry; stages.c) and hands a struct kick_result to a callback when
 * the IPI completes for that target. Independently it keeps halt
 * (halts.c) and VM exit (exits.c) accounting. Which event feeds which
 * handler and stage is one table (model.c).
 *
 * Identity (vcpu_registry.c): thread -> (VM pid, vCPU id) from
 * kick_set_thread() (named threads), from events that carry a vcpu_id, and
 * from the IPI path itself (unnamed threads); APIC id == vCPU id in a VM.
 */
#ifndef __IPT_KICK_H
#define __IPT_KICK_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "ipitrace_host.h"
#include "hist.h"

/* Stage ids; their path order is the table in stages.c (kick_stage_at). */
enum kick_stage {
	KS_ICR,		/* kvm_apic_ipi / PV send-IPI hypercall in the sender */
	KS_ACCEPT,	/* kvm_apic_accept_irq for the target, sender's context */
	KS_KICK,	/* kvm_vcpu_kick, or sched_waking / ipi_send_cpu from the sender */
	KS_WAKEUP,	/* sched_wakeup of the target thread */
	KS_ON_CPU,	/* sched_switch to the target thread */
	KS_HALT_END,	/* kvm_vcpu_wakeup in the target thread */
	KS_VM_ENTRY,	/* kvm_entry of the target */
	KS_MAX,
};
#define KS_TOTAL	KS_MAX	/* index of "total" in arrays of KS_MAX + 1 */

/* The target's state when the IPI arrived. */
enum kick_tstate {
	TS_BLOCKED,	/* halted, thread asleep (waited=1, or woken) */
	TS_POLLING,	/* halted, halt-polling caught it (waited=0) */
	TS_RUNNING,	/* not halted */
	TS_MAX,
};

struct kick_result {
	__u64 ipi_id;		/* sequence number of the IPI (shared by its targets) */
	__u32 vm_pid;
	int src_vcpu, dst_vcpu;	/* -1 when unknown */
	__u32 src_tid, dst_tid;	/* 0 when unknown */
	int src_cpu, dst_cpu;	/* host CPUs: sender's at ICR, target's at halt
				 * end / VM entry / switch-in, else last known;
				 * -1 unknown */
	int state;		/* enum kick_tstate */
	__u64 t[KS_MAX];	/* 0 = not seen */
	__u64 exit_ts;		/* sender's VM exit before the ICR write, 0 unknown */
	__u64 halt_ns;		/* kvm_vcpu_wakeup ns of the halt it ended, 0 if none */
	int vector;
	bool ipi_first;		/* first result of this IPI passed to the callback */
	bool timed_out;		/* completed by kick_flush() */
	bool superseded;	/* completed by the next IPI to the same target */
	bool pv;		/* sent by the PV send-IPI hypercall, not an ICR write */
};

typedef void (*kick_cb)(const struct kick_result *r, void *ctx);

/* A PV send-IPI hypercall as the sender made it (kick_set_pv_cb): its
 * targets are APIC ids min_apicid + bit of bitmap_lo, min_apicid + 64 +
 * bit of bitmap_hi (a 64-bit guest's clusters). */
struct kick_pv_send {
	__u64 ts;
	__u32 vm_pid;
	int src_vcpu;		/* -1 unknown */
	__u32 src_tid;
	int vector;
	__u32 min_apicid;
	__u64 bitmap_lo, bitmap_hi;
};

typedef void (*kick_pv_cb)(const struct kick_pv_send *s, void *ctx);

/* Halt accounting. A blocked halt (waited=1) polled first and then slept:
 * kvm_vcpu_wakeup has only the total, so the split comes from the vCPU
 * thread's switch-out to sleep inside the halt; without one, the whole
 * halt counts as wait_ns. */
struct kick_halt {
	__u64 halts;
	__u64 polled;		/* waited=0 && valid: halt-polling caught the wakeup */
	__u64 blocked;		/* waited=1 */
	__u64 invalid;		/* valid=0 */
	__u64 halt_ns;		/* sum of all halt durations */
	__u64 poll_ns;		/* sum over halts with waited=0 */
	__u64 wait_ns;		/* sum over halts with waited=1, less their poll phase
				 * where the switch-out to sleep was seen */
	__u64 blocked_split;	/* blocked halts split at the switch-out */
	__u64 grow, shrink;	/* kvm_halt_poll_ns */
	__u64 poll_window_ns;	/* last kvm_halt_poll_ns "new" value */
};

struct kick_vcpu_info {
	__u32 pid;
	int vcpu;
	__u32 tid;		/* 0 when the thread is not known */
	bool known;		/* bound to a thread or seen in an event */
	struct kick_halt halt;
};

/* A halt as it ended, for the halt-poll advisor (kick_set_halt_cb). */
struct kick_halt_sample {
	__u32 vm_pid;
	int vcpu;		/* -1 unknown */
	__u64 end_ts;		/* kvm_vcpu_wakeup time */
	__u64 ns;		/* its duration (kvm_vcpu_wakeup ns) */
	bool polled;		/* waited == 0 && valid */
	bool waited;
	bool valid;
	bool by_ipi;		/* it was the halt end of a followed IPI */
	__s64 poll_window_ns;	/* halt_poll_ns in force, -1 unknown */
};

typedef void (*kick_halt_cb)(const struct kick_halt_sample *s, void *ctx);

#define KICK_NO_MSR	(-1LL)

/* VM exits (kvm_exit) by reason, MSR exits also by MSR (from kvm_msr in
 * the exit), in total (vcpu -1) and per vCPU. timed/hist count exits
 * whose next kvm_entry of the same thread was seen: exit-to-entry time. */
struct kick_exit {
	__u32 isa;		/* 1 VMX, 2 SVM */
	__u32 reason;
	__s64 msr;		/* MSR index of an MSR exit, KICK_NO_MSR */
	__u32 pid;		/* per-vCPU rows: the VM; 0 in totals */
	int vcpu;		/* per-vCPU rows: the vCPU; -1 in totals */
	__u64 count;
	__u64 timed;
	__u64 total_ns;
	struct hist hist;	/* exit-to-entry ns: min, max, percentiles */
};

struct kick_stats {
	__u64 events[HE_TYPE_MAX];	/* every event by type, before filters;
					 * cumulative (kept by kick_reset_stats) */
	__u64 ipis;		/* IPIs started (kvm_apic_ipi + PV send) */
	__u64 no_target;	/* IPIs whose targets were never resolved */
	__u64 results;		/* results passed to the callback */
	__u64 filtered;		/* results dropped by the filters */
	__u64 superseded;	/* completed by the next IPI to the same target */
	__u64 timed_out;	/* completed by kick_flush() */
	__u64 out_of_order;	/* stage events refused: older than the last
				 * stage seen, or after a later stage */
	__u64 out_of_order_by[KS_MAX];	/* the same, by stage refused */
	__u64 unattributed_halts;	/* halt ends in a thread of unknown vCPU */
	__u64 learned;		/* thread identities learned from events */
	__u64 foreign_ipis;	/* IPIs sent by a vCPU thread with an open
				 * IPI that did not count as its kick */
};

/* An IPI not completed this long after its ICR write is reported as it
 * is (timed_out). Generous: a woken vCPU thread can wait tens of ms for a
 * CPU on a busy host (and under TCG), and those are the IPIs to see. */
#define KICK_DEFAULT_TIMEOUT_NS	1000000000ULL	/* 1 s */

struct kick;

struct kick *kick_new(kick_cb cb, void *ctx);
void kick_free(struct kick *k);
void kick_set_timeout(struct kick *k, __u64 ns);
/* pid 0: any VM; vcpu -1: any vCPU (an IPI matches when its sender or its
 * target is that vCPU). Applied to results, halt and exit accounting. */
void kick_set_filter(struct kick *k, __u32 pid, int vcpu);
/* Bind a vCPU thread (from /proc/<pid>/task/<tid>/comm "CPU N/KVM").
 * Returns 0 or -ENOMEM. */
int kick_set_thread(struct kick *k, __u32 tid, __u32 vm_pid, int vcpu_id);
void kick_event(struct kick *k, const struct host_event *e);
/* Events of hooks that run in the vCPU thread itself (so e->tid is one and
 * e->pid its VM), unlike an interrupt accepted from a timer, say. */
bool kick_in_vcpu_thread(const struct host_event *e);
/* Which stages have a hook attached (a stage that needs another one, the
 * kick after the accept, needs it only when it is hooked); until set, a
 * stage counts as hooked once its events are seen. */
void kick_set_hooked(struct kick *k, const bool hooked[KS_MAX]);
/* The stage events of @type feed, -1 none. */
int kick_event_stage(int type);
/* Call @cb for every halt end that passes the filters. */
void kick_set_halt_cb(struct kick *k, kick_halt_cb cb, void *ctx);
/* Call @cb for every PV send-IPI hypercall of a VM that passes the pid
 * filter. */
void kick_set_pv_cb(struct kick *k, kick_pv_cb cb, void *ctx);
/* Complete every IPI started at or before now - timeout. */
void kick_flush(struct kick *k, __u64 now);
/* Complete everything still pending (end of the run). */
void kick_flush_all(struct kick *k);
/* Zero halt, exit and kick_stats counters (interval mode); identities,
 * pending IPIs, the per-type event counts and entries_seen are kept. */
void kick_reset_stats(struct kick *k);

bool kick_filter_match(const struct kick *k, __u32 pid, int vcpu);
const struct kick_stats *kick_get_stats(const struct kick *k);
const struct kick_halt *kick_halt_total(const struct kick *k);
const struct hist *kick_halt_hist(const struct kick *k);	/* halt ns */
size_t kick_nr_vcpus(const struct kick *k);
const struct kick_vcpu_info *kick_vcpu_at(const struct kick *k, size_t i);
/* exit rows: in total (vcpu -1), then kick_nr_vcpu_exits per vCPU */
size_t kick_nr_exits(const struct kick *k);
const struct kick_exit *kick_exit_at(const struct kick *k, size_t i);
size_t kick_nr_vcpu_exits(const struct kick *k);
const struct kick_exit *kick_vcpu_exit_at(const struct kick *k, size_t i);
/* true once any kvm_entry was seen (exit times are measurable) */
bool kick_entries_seen(const struct kick *k);
/* events of the types that can feed @stage (0..KS_MAX-1), before filters */
__u64 kick_stage_events(const struct kick *k, int stage);

/* The stage at position @i (0..KS_MAX-1) of the path, -1 past it. */
int kick_stage_at(int i);
/* "icr_write", "accept", ..., "vm_entry", "total" (KS_TOTAL) */
const char *kick_stage_name(int stage);
/* "blocked", "polling", "running" */
const char *kick_state_name(int state);
/* The kernel's own names (<asm/svm.h>, <asm/vmx.h>): "hlt", "msr",
 * "MSR_WRITE", ... or "0x%x" into buf */
const char *kick_exit_name(__u32 isa, __u32 reason, char *buf, size_t len);
/* "icr", "eoi", ... for well-known MSRs, else NULL */
const char *kick_msr_name(__s64 msr);

#endif
