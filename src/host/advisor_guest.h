/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest side of the halt-polling question: what guest-side polling
 * (cpuidle-haltpoll with its governor, drivers/cpuidle/governors/haltpoll.c,
 * or idle=poll) would catch and cost, from a guest's idle periods.
 */
#ifndef __IPT_ADVISOR_GUEST_H
#define __IPT_ADVISOR_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One idle period of one guest CPU, in time order per CPU. */
struct gadv_idle {
	uint32_t cpu;
	uint64_t dur_ns;	/* idle entry to the event that ended it */
	bool ipi;		/* an IPI ended it (else a timer or other) */
};

/* cpuidle-haltpoll governor parameters (module haltpoll). */
struct gadv_params {
	uint32_t grow;		/* guest_halt_poll_grow, default 2 */
	uint32_t grow_start;	/* guest_halt_poll_grow_start, default 50000 */
	uint32_t shrink;	/* guest_halt_poll_shrink, default 2 */
	bool allow_shrink;	/* guest_halt_poll_allow_shrink, default Y */
};

#define GADV_DEFAULTS	((struct gadv_params){ 2, 50000, 2, true })

enum gadv_kind {
	GADV_OFF,	/* no guest polling: every idle period halts */
	GADV_HALTPOLL,	/* cpuidle-haltpoll, guest_halt_poll_ns = ns */
	GADV_IDLE_POLL,	/* idle=poll: never halts */
};

struct gadv_setting {
	enum gadv_kind kind;
	uint32_t ns;
};

/* Guest-observed latency of an IPI to a halted vCPU vs to a polling one
 * (a polling target needs no IPI: the sender only sets a flag). */
struct gadv_costs {
	double halted_ns;
	double polling_ns;
};

struct gadv_stats {
	uint64_t periods, caught;
	uint64_t ipi_periods, ipi_caught;
	uint64_t halts;		/* periods that still reached HLT */
	double poll_ns;		/* vCPU time spent polling */
	double saved_ns;	/* IPI latency saved, sum over IPI periods */
	double saved_p50, saved_p99;	/* over IPI periods */
	double cores;		/* poll_ns / span */
};

/* Replay periods (sorted by cpu, then time) under s. span_ns > 0. */
int gadv_eval(const struct gadv_idle *p, size_t n, uint64_t span_ns,
	      const struct gadv_setting *s, const struct gadv_params *gp,
	      const struct gadv_costs *c, struct gadv_stats *st);

/* One CPU's governor state and one idle period (exposed for tests). */
struct gadv_cpu {
	uint32_t limit;		/* dev->poll_limit_ns */
};

struct gadv_outcome {
	bool caught;
	double poll_ns;
	double halt_ns;		/* residency in HLT */
	uint32_t limit_before, limit_after;
};

void gadv_step(struct gadv_cpu *c, const struct gadv_setting *s,
	       const struct gadv_params *gp, uint64_t dur_ns,
	       struct gadv_outcome *o);

struct gadv_input {
	struct gadv_idle *p;
	size_t n, alloc;
	struct gadv_costs costs;
	uint64_t span_ns;
};

void gadv_input_free(struct gadv_input *in);

#define GADV_MAX_SETTINGS	16

struct gadv_advice {
	const struct gadv_input *in;
	struct gadv_setting set[GADV_MAX_SETTINGS];
	struct gadv_stats st[GADV_MAX_SETTINGS];
	size_t nset;
};

/* Orders in by cpu (time order kept) and prices the default settings. */
int gadv_build(struct gadv_input *in, const struct gadv_params *gp,
	       struct gadv_advice *a);

/* off, haltpoll at 1-2-5 steps 10 us .. 2 ms, idle=poll */
size_t gadv_default_settings(struct gadv_setting *out, size_t max);
void gadv_setting_str(const struct gadv_setting *s, char *buf, size_t len);

#endif
