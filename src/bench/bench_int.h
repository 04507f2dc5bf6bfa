/* SPDX-License-Identifier: GPL-2.0 */
/* What the bench's files share: its options, rows and state. */
#ifndef __IPT_BENCH_INT_H
#define __IPT_BENCH_INT_H

#include <stdint.h>
#include "emit.h"
#include "ipigen.h"
#include "topology.h"

#define BENCH_DEFAULT_IPIS	100000
#define BENCH_MAX_IPIS		100000000L
#define BENCH_MAX_ROWS		16
#define BENCH_MAX_NOTES		16
#define BENCH_NOTE_LEN		256
#define BENCH_WARMUP		100

#define STATE_IDLE		(1 << 0)
#define STATE_BUSY		(1 << 1)

struct bench_targets {
	int nr;
	int cpus[IPIGEN_MAX_TARGETS];
};

struct bench_opts {
	int src;
	struct bench_targets targets;
	int states;
	long ipis;
	long gap_us;
	const char *format;
	const char *numa_map;
};

struct bench_row {
	const char *name;
	const char *target;	/* all, same_node, cross_node, local */
	const char *state;	/* idle, busy */
	enum ipigen_mech mech;
	int nr_dst;
	int dst[IPIGEN_MAX_TARGETS];
	struct ipigen_stats st;
	long long cal_dst;	/* CAL delta summed over dst, -1 unknown */
	long long cal_src;	/* CAL delta on the source CPU, -1 unknown */
};

struct bench {
	struct bench_opts o;
	struct topology topo;
	int same, cross;	/* target CPU for those rows, -1 if none */
	int mb_caps;
	int failed;
	uint64_t *samples;
	long long *cal0, *cal1;
	int nr_cpus;
	int nr_rows;
	struct bench_row rows[BENCH_MAX_ROWS];
	int nr_notes;
	char notes[BENCH_MAX_NOTES][BENCH_NOTE_LEN];
	struct emitter out;	/* stdout, text or JSON */
};

__attribute__((format(printf, 2, 3)))
void note(struct bench *b, const char *fmt, ...);
int node_of(const struct bench *b, int cpu);

/* bench_opts.c */
int bench_parse_opts(int argc, char **argv, struct bench_opts *o);

/* bench_output.c */
void emit_header(struct bench *b);
void emit_row(struct bench *b, const struct bench_row *r);
void emit_notes(struct bench *b);

#endif
