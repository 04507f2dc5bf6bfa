/* SPDX-License-Identifier: GPL-2.0 */
/*
 * halt_poll_ns advisor: replays traced vCPU halts under candidate host
 * halt-polling settings and prices each (poll CPU in cores, wake-ups
 * caught, wake-up latency saved). See docs/advisor.md for the model.
 */
#ifndef __IPT_ADVISOR_H
#define __IPT_ADVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADV_UNKNOWN	(-1)	/* window_ns / cap_ns not known */

/* One halt as kvm_vcpu_wakeup reports it (halt start = end - dur). */
struct adv_halt {
	uint64_t end_ns;	/* halt end */
	uint64_t dur_ns;	/* halt start to end, polling included */
	uint64_t wake_ns;	/* this halt's wake-up latency (event to halt
				 * end) if measured, 0: use adv_costs */
	int64_t window_ns;	/* poll window in force, ADV_UNKNOWN */
	uint32_t vm;		/* VM (VMM pid) */
	uint32_t vcpu;
	bool polled;		/* waited == 0: never scheduled out */
	bool valid;		/* KVM's valid-wakeup flag */
	bool ipi;		/* an IPI ended it */
};

/* This host's wake-up latency of a halted vCPU: event (kick) to halt end
 * when the thread blocked vs when it was polling. */
struct adv_costs {
	double blocked_ns;
	double polled_ns;
};

/* KVM module parameters of the adaptive algorithm (kvm_main.c). */
struct adv_kvm {
	uint32_t grow;		/* halt_poll_ns_grow */
	uint32_t grow_start;	/* halt_poll_ns_grow_start */
	uint32_t shrink;	/* halt_poll_ns_shrink (0: reset to 0) */
};

/* Defaults of Debian's 6.1 (and upstream up to 6.11) and of 6.12. */
#define ADV_KVM_6_1	((struct adv_kvm){ 2, 10000, 0 })
#define ADV_KVM_6_12	((struct adv_kvm){ 2, 10000, 2 })
#define ADV_KVM_DEFAULT_CAP	200000	/* KVM_HALT_POLL_NS_DEFAULT, x86 */

enum adv_kind {
	ADV_FIXED,	/* poll exactly ns every halt */
	ADV_ADAPTIVE,	/* KVM's per-vCPU grow/shrink, capped at ns */
};

struct adv_setting {
	enum adv_kind kind;
	uint32_t ns;
};

/* What one halt did under a setting. */
struct adv_outcome {
	bool caught;		/* ended during the poll (or already pending
				 * with polling on) */
	bool pending;		/* wake event was pending at halt start */
	double idle_ns;		/* halt start to wake event */
	double halt_ns;		/* the halt's duration under this setting */
	double poll_ns;		/* host CPU burnt polling */
	double lat_ns;		/* wake-up latency */
	double saved_ns;	/* latency saved vs no polling */
	uint32_t window;	/* poll window used */
	int event;		/* adaptive: +1 grow, -1 shrink, 0 none */
	uint32_t old_win, new_win;	/* of the event (as KVM traces it) */
};

struct adv_stats {
	uint64_t wakeups;
	uint64_t caught;	/* polling caught it */
	uint64_t pending;	/* wake event pending at halt: never blocks */
	uint64_t ipi_wakeups, ipi_caught;
	uint64_t polls_fail;	/* polled the whole window, then blocked */
	uint64_t grow, shrink;
	double poll_ok_ns, poll_fail_ns;
	double saved_ns;	/* sum over wake-ups (IPI ones if ipi_only) */
	double saved_p50, saved_p99;	/* over the same wake-ups */
	double lat_p50, lat_p99;
	double cores;		/* (poll_ok_ns + poll_fail_ns) / span */
};

/* Input: halts of one traced window. */
struct adv_input {
	struct adv_halt *halts;
	size_t n, alloc;
	struct adv_costs costs;
	struct adv_kvm kvm;
	int64_t traced_cap_ns;	/* halt_poll_ns when traced, ADV_UNKNOWN */
	uint64_t span_ns;	/* trace span; 0: first halt start to last end */
	uint64_t blocked_samples, polled_samples;	/* costs measured from
				 * this many halts' wake_ns; 0: given */
	bool ipi_only;		/* latency saved over IPI wake-ups only */
};

void adv_input_init(struct adv_input *in);
int adv_input_add(struct adv_input *in, const struct adv_halt *h);
void adv_input_free(struct adv_input *in);
/* Sort by (vm, vcpu, end): adv_replay and adv_eval need it; call once
 * after the last adv_input_add (advice_build does). */
void adv_prepare(struct adv_input *in);
/* That order, for qsort and for matching other halts against it. */
int adv_halt_cmp(const void *a, const void *b);
uint64_t adv_span(const struct adv_input *in);

/* Idle time (halt start to wake event) of a traced halt, and whether its
 * wake event was already pending, from its traced outcome and costs. */
double adv_idle_ns(const struct adv_halt *h, const struct adv_input *in,
		   bool *pending);

/* Per-vCPU adaptive state and one replayed halt (exposed for tests). */
struct adv_vcpu {
	uint32_t window;
};

void adv_step(struct adv_vcpu *v, const struct adv_setting *s,
	      const struct adv_kvm *k, const struct adv_halt *h,
	      const struct adv_input *in, struct adv_outcome *o);

/* Replay the halts of one VM (vm == 0: all) under s. 0 or -errno. */
int adv_eval(const struct adv_input *in, uint32_t vm,
	     const struct adv_setting *s, struct adv_stats *st);

/* Per-halt callback variant (tests, KVM comparison). */
typedef void (*adv_halt_cb)(void *ctx, const struct adv_halt *h,
			    const struct adv_outcome *o);
void adv_replay(const struct adv_input *in, uint32_t vm,
		const struct adv_setting *s, adv_halt_cb cb, void *ctx);

/* Candidate settings: fixed 0, then fixed windows and adaptive caps in
 * 1-2-5 steps from 1 us up to max_ns (ADV_MAX_NS_DEFAULT: 2 ms; at most
 * 1 s). Returns the count written (at most max). */
#define ADV_MAX_NS_DEFAULT	2000000
size_t adv_default_settings(struct adv_setting *out, size_t max,
			    uint32_t max_ns);

/* Percentile (0..1) of successful poll times as KVM's
 * halt_poll_success_hist would see them: the traced polled halts of vm
 * (0: all) under a nonzero window. Returns -1 when there are none. */
double adv_success_percentile(const struct adv_input *in, uint32_t vm,
			      double q);

/* Index of the cheapest (cores) setting of kind whose saving reaches share
 * of best_saved_ns; -1 if none. */
int adv_pick_share(const struct adv_setting *s, const struct adv_stats *st,
		   size_t n, enum adv_kind kind, double best_saved_ns,
		   double share);
/* Index of the setting of kind saving most within budget cores; -1 if
 * none fits. */
int adv_pick_budget(const struct adv_setting *s, const struct adv_stats *st,
		    size_t n, enum adv_kind kind, double budget);
double adv_best_saved(const struct adv_stats *st, size_t n);

const char *adv_kind_name(enum adv_kind k);
/* "fixed 20us", "adaptive<=200us" */
void adv_setting_str(const struct adv_setting *s, char *buf, size_t len);
/* 0: 6.1 defaults, 1: 6.12 defaults, -1 unknown name */
int adv_kvm_by_name(const char *name, struct adv_kvm *k);

#endif
