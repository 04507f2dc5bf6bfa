/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host model's insides, shared by its files: model.c (the event
 * table, life cycle, accessors), vcpu_registry.c (threads and vCPUs),
 * stages.c (the per-IPI stage machine), halts.c, exits.c.
 */
#ifndef __IPT_HOST_MODEL_H
#define __IPT_HOST_MODEL_H

#include "kick.h"

/* tid / (pid, vcpu) -> index, open addressing */
struct idx {
	__u64 *keys;
	int *vals;		/* -1: empty */
	size_t cap;
	size_t n;
};

/* One IPI as its sender sent it; shared by its targets' kpend. */
struct kipi {
	__u64 id;
	__u64 ts;
	__u64 exit_ts;
	__u32 pid;
	__u32 src_tid;
	int src_vcpu;
	int src_cpu;
	int vector;
	bool from_accepts;	/* targets come from accept events */
	bool pv;		/* the PV send-IPI hypercall */
	bool reported;
	int refs;
	int *targets;		/* vCPU indices */
	int nr;
	int cap;
};

/* The IPI pending on one target vCPU. */
struct kpend {
	bool active;
	bool woken;		/* the target thread was woken after the ICR */
	struct kipi *ipi;
	__u64 t[KS_MAX];
	__u64 halt_ns;
	int state;		/* -1 until the halt end says */
	int dst_cpu;
};

struct kvcpu {
	struct kick_vcpu_info info;
	struct kpend pend;
};

struct kthread {
	__u32 tid;
	__u32 pid;
	int vcpu;
	int last_cpu;
	__u64 sleep_ts;		/* last switch-out to sleep */
	struct kick_halt early;	/* halts while the thread's vCPU was unknown */
	__s64 poll_window;	/* last kvm_halt_poll_ns "new", -1 unknown */
	__s64 poll_window_halt;	/* "old" of a change inside the current halt */
	__u64 exit_ts;		/* 0: not in an exit */
	__u32 exit_isa;
	__u32 exit_reason;
	__s64 exit_msr;		/* KICK_NO_MSR until a kvm_msr in the exit */
	struct kipi *open;
};

/* A growable array of exit rows. */
struct exit_tab {
	struct kick_exit *x;
	size_t n, cap;
};

struct kick {
	kick_cb cb;
	void *ctx;
	kick_halt_cb halt_cb;
	void *halt_ctx;
	kick_pv_cb pv_cb;
	void *pv_ctx;
	__u64 timeout;
	__u32 f_pid;
	int f_vcpu;
	struct kthread **thr;
	size_t nr_thr;
	size_t cap_thr;
	struct idx thr_idx;
	struct kvcpu **vc;
	size_t nr_vc;
	size_t cap_vc;
	struct idx vc_idx;
	struct exit_tab exits;		/* totals */
	struct exit_tab vexits;		/* per vCPU */
	struct kick_halt total;
	struct hist halt_hist;
	struct kick_stats st;
	bool entries_seen;
	bool hooked_known;
	bool hooked[KS_MAX];
	__u64 next_id;
};

typedef void (*he_handler)(struct kick *k, const struct host_event *e,
			   struct kthread *t);

/* The table: what the model does with each event type. */
struct he_desc {
	he_handler handle;
	bool in_vcpu_thread;	/* runs in the vCPU thread: e->tid is one */
	bool needs_thread;	/* the handler needs e->tid to be a known thread */
	int stage;		/* the stage it feeds, -1 none */
};

/* vcpu_registry.c */
struct kthread *hm_thread_find(const struct kick *k, __u32 tid);
struct kthread *hm_thread_get(struct kick *k, __u32 tid, __u32 pid);
int hm_vcpu_index(const struct kick *k, __u32 pid, int vcpu);
struct kvcpu *hm_vcpu_find(const struct kick *k, __u32 pid, int vcpu);
struct kvcpu *hm_vcpu_get(struct kick *k, __u32 pid, int vcpu);
struct kvcpu *hm_thread_vcpu(const struct kick *k, const struct kthread *t);
void hm_bind(struct kick *k, struct kthread *t, int vcpu);
bool hm_filter_pid(const struct kick *k, __u32 pid);
void hm_registry_free(struct kick *k);

/* stages.c */
void hm_on_apic_ipi(struct kick *k, const struct host_event *e, struct kthread *t);
void hm_on_pv_ipi(struct kick *k, const struct host_event *e, struct kthread *t);
void hm_on_accept(struct kick *k, const struct host_event *e, struct kthread *t);
void hm_on_kick(struct kick *k, const struct host_event *e, struct kthread *t);
void hm_on_waking(struct kick *k, const struct host_event *e, struct kthread *t);
void hm_on_ipi_kick(struct kick *k, const struct host_event *e, struct kthread *t);
void hm_on_wakeup(struct kick *k, const struct host_event *e, struct kthread *t);
void hm_on_switch_in(struct kick *k, const struct host_event *e, struct kthread *t);
/* the halt end of thread @t as a stage; true when it ended an IPI's halt */
bool hm_stage_halt_end(struct kick *k, const struct host_event *e,
		    struct kthread *t);
void hm_stage_vm_entry(struct kick *k, const struct host_event *e,
		    struct kthread *t);
/* a halt end in thread @t of unknown vCPU may name it (unnamed threads) */
void hm_learn_from_halt_end(struct kick *k, const struct host_event *e,
			 struct kthread *t);
void hm_close_open(struct kick *k, struct kthread *t);
void hm_ipi_put(struct kick *k, struct kipi *p);
void hm_stages_flush(struct kick *k, __u64 cut, bool all);

/* halts.c */
void hm_on_halt_end(struct kick *k, const struct host_event *e, struct kthread *t);
void hm_on_halt_poll(struct kick *k, const struct host_event *e, struct kthread *t);
void hm_on_switch_out(struct kick *k, const struct host_event *e, struct kthread *t);
void hm_halt_merge(struct kick_halt *d, const struct kick_halt *s);
/* thread @t just learned vCPU @v: its earlier halts are @v's */
void hm_adopt_early_halts(struct kick *k, struct kthread *t, struct kvcpu *v);
void hm_halts_reset(struct kick *k);

/* exits.c */
void hm_on_vm_exit(struct kick *k, const struct host_event *e, struct kthread *t);
void hm_on_vm_entry(struct kick *k, const struct host_event *e, struct kthread *t);
void hm_on_msr(struct kick *k, const struct host_event *e, struct kthread *t);
void hm_exits_reset(struct kick *k);
void hm_exits_free(struct kick *k);

#endif
