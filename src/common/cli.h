/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __IPT_CLI_H
#define __IPT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "opts.h"

enum ipt_mode { MODE_NONE, MODE_GUEST, MODE_HOST };

struct ipt_opts {
	int mode;		/* enum ipt_mode */
	double duration;	/* seconds, 0: until Ctrl-C */
	double interval;	/* seconds, 0: one report at the end */
	long count;		/* number of interval reports, 0: unlimited */
	const char *format;	/* report back end: text, json, openmetrics */
	bool aggregate;	/* histograms in the kernel, no per-IPI records */
	bool cpu_pairs;
	long callers;		/* top N callers, 0: off */
	bool list_hooks;
	bool verbose;
	bool no_csd;
	bool csd;		/* per-CSD pairing (also with --callers) */
	long stale_ms;
	const char *btf;
	const char *sysfs_root;
	const char *numa_map;
	const char *metrics;	/* [ADDR:]PORT of the OpenMetrics endpoint */
	const char *record;	/* per-IPI record file (docs/record-format.md) */
	/* host mode */
	bool vcpu_kick;
	bool halt;
	long pid;
	long vcpu;
	long samples;	/* host JSON: per-IPI stage timestamps of the first N */
	bool exits;	/* host: VM exit table per reason and per vCPU */
	int force_hooks;	/* enum hook_type to prefer per role, 0: none */
	/* host --advise: the halt_poll_ns advisor over the traced halts */
	bool advise;
	double share_pct;	/* target share of the achievable saving, % */
	double budget;		/* cores, < 0: none */
	const char *svg;	/* the advice's plot */
	long adv_max_ns;	/* largest window/cap priced, 0: default */
};

#define CLI_HELP	1

/* 0 ok, CLI_HELP after printing help to stdout, -1 with a message in err */
/* Sets *field to "json" (-j, --json). */
int cli_set_json(const char *arg, void *field);
int cli_parse(int argc, char **argv, struct ipt_opts *o, char *err, size_t len);
void cli_usage(FILE *f);

#endif
