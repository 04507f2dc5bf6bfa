/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Joining a guest record and a host record of the same IPIs: guest times
 * onto the host clock (the TSC chain when both files carry it, else
 * an offset aligned on matched send/ICR pairs), each guest IPI matched to
 * the host's IPI to the same vCPU with the same vector, in order, within a
 * time window, and the path cut into segments that add up to the latency
 * the guest saw.
 */
#ifndef __IPT_JOIN_H
#define __IPT_JOIN_H

#include <stdbool.h>
#include <linux/types.h>
#include "hist.h"
#include "record.h"

/* The points of the joined path, in order; segment i ends at point i. */
enum join_point {
	JP_SEND,	/* guest: the send (host clock) */
	JP_EXIT,	/* host: the sender's VM exit */
	JP_ICR,		/* host: the ICR write (kvm_apic_ipi) */
	JP_ACCEPT,
	JP_KICK,
	JP_WAKEUP,
	JP_ON_CPU,
	JP_HALT_END,
	JP_VM_ENTRY,
	JP_HANDLER,	/* guest: the handler entry (host clock) */
	JP_MAX,
};

/* Why a guest IPI found no host IPI, tried in this order (join.c,
 * classify(); "in the window": the host time within [send - slack,
 * send + window] of the converted send). */
enum join_unmatched {
	JU_OUTSIDE,	/* sent outside the host record's span */
	JU_POLLED,	/* the host saw it (an unused host IPI from the sender
			 * to the target, same vector, in the window) but the
			 * target was halt-polling or not halted: no kick or
			 * wakeup ties its path to the guest's times */
	JU_PV,		/* the sender made a KVM_HC_SEND_IPI hypercall naming
			 * the target, same vector, in the window, and no
			 * per-target host IPI of it could be matched */
	JU_POSTED,	/* no host IPI and no hypercall of the sender at all in
			 * the window, and the target was not in a halt the host
			 * recorded: delivered without an exit (posted
			 * interrupts, AVIC); needs the host's halts (version 2) */
	JU_NO_HOST,	/* none of the above: no host IPI fits it */
	JU_TRACER,	/* raised by ipitrace's own ring buffer */
	JU_MAX,
};

/* How the sender's IPI reached KVM */
enum join_path {
	JPATH_ICR,	/* an ICR write (kvm_apic_ipi) */
	JPATH_PV,	/* the PV send-IPI hypercall (REC_HF_PV) */
	JPATH_MAX,
};

enum join_clock { JC_TSC, JC_ALIGNED };

struct join_match {
	size_t g, h;		/* indexes into the records */
	__u64 pt[JP_MAX];	/* host ns, 0 = not observed */
	__s64 seg[JP_MAX];	/* seg[i]: previous observed point -> point i */
	int numa;		/* enum ipt_numa, guest topology */
	int path;		/* enum join_path */
	bool outlasts;		/* host path longer than the guest latency */
};

#define JOIN_GROUP_ALL	IPI_KIND_MAX	/* kind index of "all kinds" */

struct join_group {
	__u64 count;
	__u64 seen[JP_MAX];
	struct hist seg[JP_MAX];
	struct hist lat;	/* guest-observed latency */
	__s64 seg_sum[JP_MAX];	/* sums, for means that add up */
	__u64 lat_sum;
};

struct join_opts {
	__u32 pid;		/* VM; 0: the one with the most IPIs */
	__u64 window_ns;	/* ICR at most this long after the send */
	bool align;		/* align on pairs even when the TSC chain is there */
};

struct join {
	const struct record *g, *h;
	__u32 pid;
	int clock;		/* enum join_clock used */
	__s64 offset;		/* host = guest + offset */
	bool have_chain;
	__s64 chain_offset;	/* the TSC chain's, when have_chain */
	__u64 chain_err;	/* its uncertainty */
	__s64 tsc_spread;	/* of the VM's vCPU TSC offsets, cycles */
	/* the offsets every matched IPI allows (send -> exit >= 0,
	 * VM entry -> handler >= 0): [lo, hi]; lo > hi: none fits all */
	__s64 lo, hi;
	__s64 residual;		/* how far the clock's offset lay outside [lo, hi]:
				 * the offset used is moved into it; -1 none fits */
	__u64 host_ipis;	/* of the VM, with an ICR write or hypercall */
	__u64 host_by_path[JPATH_MAX];
	__u64 host_pv_sends;	/* the VM's hypercalls (one per call) */
	__u64 guest_ipis;
	__u64 matched_by_path[JPATH_MAX];
	__u64 unmatched[JU_MAX];
	__u64 slack, window;	/* of the matching, ns */
	__u64 negative;		/* matches with a segment < 0 */
	__u64 outlasting;	/* matches whose host path outlasts the guest
				 * latency: no offset fits them, kept out of
				 * the breakdown and the timeline */
	__u64 placed;		/* matches placed off the common offset */
	__u64 max_place_ns;	/* the largest such move (within chain_err) */
	size_t nr;
	struct join_match *m;
	/* [kind or JOIN_GROUP_ALL][numa][state or TS_MAX] */
	struct join_group grp[IPI_KIND_MAX + 1][IPT_NUMA_MAX][TS_MAX + 1];
};

/* 0, or -1 with why in @err; join_free() after either. */
int join_run(struct join *j, const struct record *g, const struct record *h,
	     const struct join_opts *o, char *err, size_t len);
void join_free(struct join *j);

const char *join_point_name(int p);
const char *join_unmatched_name(int u);
const char *join_path_name(int path);

struct emitter;
void join_emit(struct emitter *e, const void *join);
/* Chrome/Perfetto trace-event JSON of the matches; 0 or -errno */
int join_perfetto(const struct join *j, const char *path);

#endif
