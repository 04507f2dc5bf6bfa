/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The advice: every candidate setting priced, per VM and in total, and the
 * recommendation (target share of the achievable saving, or a CPU budget),
 * beside the 80th-percentile rule and KVM's default.
 */
#ifndef __IPT_ADVICE_H
#define __IPT_ADVICE_H

#include <stdio.h>
#include "advisor.h"
#include "advisor_guest.h"
#include "emit.h"

#define ADV_MAX_SETTINGS	40

struct adv_opts {
	double share;		/* of the achievable saving, default 0.9 */
	double budget;		/* cores; < 0: none */
	double rule_q;		/* the percentile rule's q, default 0.8 */
	uint32_t max_ns;	/* largest candidate, ADV_MAX_NS_DEFAULT */
};

/* A setting outside the candidate list, priced on its own. */
struct adv_extra {
	bool valid;
	struct adv_setting set;
	struct adv_stats st;
	bool simulated;		/* rule: from simulated polls, none traced */
};

struct adv_group {
	uint32_t vm;		/* 0: all VMs */
	uint64_t halts, vcpus;
	struct adv_stats st[ADV_MAX_SETTINGS];
	double best_saved_ns;	/* the achievable saving: max over settings */
	int rec;		/* adaptive (halt_poll_ns alone), or -1 */
	bool rec_reached;	/* rec reaches share; else it is the best one */
	int rec_fixed;		/* fixed window reaching share, or -1 */
	int budget;		/* adaptive within budget, or -1 */
	int budget_fixed;
	struct adv_extra rule;	/* adaptive at the q-percentile of polls */
	struct adv_extra dflt;	/* adaptive at ADV_KVM_DEFAULT_CAP */
};

struct advice {
	struct adv_opts opts;
	struct adv_setting set[ADV_MAX_SETTINGS];
	size_t nset;
	struct adv_group *groups;	/* [0] = all, then one per VM */
	size_t ngroups;
	uint64_t span_ns;
	const struct adv_input *in;
};

void adv_opts_default(struct adv_opts *o);
/* in is sorted here (adv_prepare). 0 or -errno. */
int advice_build(struct adv_input *in, const struct adv_opts *o,
		 struct advice *a);
void advice_free(struct advice *a);

/* src/report/advice_report.c: the advice's members into an open document
 * (every back end), or as a document of its own; 0 or -errno. */
void advice_emit(struct emitter *e, const struct advice *a);
int advice_report(FILE *f, const struct emit_backend *be,
		  const struct advice *a);
/* src/report/advice_svg.c: CPU cost vs latency saved of group g. */
int advice_svg(FILE *f, const struct advice *a, size_t g);
/* guest-side polling, src/report/advice_report.c */
void gadvice_emit(struct emitter *e, const struct gadv_advice *a);
int gadvice_report(FILE *f, const struct emit_backend *be,
		   const struct gadv_advice *a);

#endif
