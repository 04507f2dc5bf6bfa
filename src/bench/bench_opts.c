// SPDX-License-Identifier: GPL-2.0
/* `ipitrace bench` options: one table, the shared strict parser. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "bench_int.h"
#include "cli.h"
#include "opts.h"

static const char bench_intro[] =
"Usage: ipitrace bench [OPTIONS]\n"
"\n"
"Times N IPIs (default 100000) from user space, without a kernel module, in\n"
"the shape of the published KVM table: to all other CPUs, to one CPU on the\n"
"same NUMA node, to one CPU on another node (skipped on a one-node machine),\n"
"each with the target idle and busy (a thread spinning on it), plus a local\n"
"baseline: the same call on the source CPU, no IPI. Per row: total ns for\n"
"N calls, mean/p50/p99 ns per call, CPUs and nodes, and the function-call\n"
"IPIs /proc/interrupts (CAL) counted on the target(s) and the source.\n"
"\n"
"Mechanisms (column 'mech'):\n"
"  cpuid           pread of /dev/cpu/N/cpuid: smp_call_function_single() to N;\n"
"                  the caller sleeps until done, so a cross-CPU call is a round\n"
"                  trip of usually two IPIs (to N, and N waking the caller)\n"
"  cpuid-each      to all CPUs, idle: one cpuid call to each target in turn\n"
"                  (serial unicasts; idle CPUs cannot be multicast from user\n"
"                  space, unlike smp_call_function_many() in a module)\n"
"  membarrier      to all CPUs, busy: membarrier(PRIVATE_EXPEDITED), one\n"
"                  smp_call_function_many() to the CPUs running our spinners\n"
"  membarrier-cpu  to one busy CPU: membarrier(..._RSEQ, FLAG_CPU) (>= 5.10)\n"
"\n"
"Options:\n";

/* ---- options ---- */

static int parse_state(const char *s, void *field)
{
	int *states = field;

	if (!strcmp(s, "idle"))
		*states = STATE_IDLE;
	else if (!strcmp(s, "busy"))
		*states = STATE_BUSY;
	else if (!strcmp(s, "both"))
		*states = STATE_IDLE | STATE_BUSY;
	else
		return -EINVAL;
	return 0;
}

static int parse_targets(const char *s, void *field)
{
	struct bench_targets *t = field;

	t->nr = ipigen_parse_cpulist(s, t->cpus, IPIGEN_MAX_TARGETS);
	return t->nr > 0 ? 0 : -EINVAL;
}

#define F(field)	offsetof(struct bench_opts, field)

static const struct opt_spec bench_specs[] = {
	{ "src", 's', OPT_INT, "CPU", .off = F(src), .min = 0,
	  .max = TOPOLOGY_MAX_CPUS - 1,
	  .help = "CPU the calls are made from (default 0)" },
	{ "targets", 't', OPT_CUSTOM, "LIST", .off = F(targets),
	  .parse = parse_targets,
	  .help = "target CPUs (default: every other online CPU); the\n"
		  "same-node and cross-node rows use the first fitting one" },
	{ "state", 0, OPT_CUSTOM, "S", .off = F(states), .parse = parse_state,
	  .help = "idle, busy or both (default both); the local\n"
		  "baseline always runs (state busy: its CPU runs)" },
	{ "ipis", 'n', OPT_LONG, "N", .off = F(ipis), .min = 1,
	  .max = BENCH_MAX_IPIS, .help = "calls per row (default 100000)" },
	{ "gap-us", 'g', OPT_LONG, "U", .off = F(gap_us), .min = 0,
	  .max = 10000000,
	  .help = "pause between calls (default 0, not counted in the\n"
		  "times); a gap longer than the host's halt_poll_ns\n"
		  "lets an idle target vCPU really halt between IPIs" },
	{ "numa-map", 0, OPT_STRING, "MAP", .off = F(numa_map),
	  .help = "pretend topology, e.g. 0:0/1:1 (testing; the IPIs\n"
		  "are real, only the node labels change)" },
	{ "json", 'j', OPT_CUSTOM, .off = F(format), .parse = cli_set_json,
	  .help = "JSON instead of the table (--format json)" },
	{ "format", 0, OPT_STRING, "NAME", .off = F(format),
	  .help = "text (default) or json" },
};

static const struct opt_table bench_table = {
	.prog = "ipitrace bench",
	.specs = bench_specs,
	.nr = sizeof(bench_specs) / sizeof(bench_specs[0]),
};

static void bench_usage(FILE *f)
{
	fputs(bench_intro, f);
	opts_usage(&bench_table, 0, f);
}

int bench_parse_opts(int argc, char **argv, struct bench_opts *o)
{
	char err[256];
	int ret;

	o->ipis = BENCH_DEFAULT_IPIS;
	o->states = STATE_IDLE | STATE_BUSY;
	o->format = "text";
	ret = opts_parse(&bench_table, argc, argv, o, err, sizeof(err));
	if (ret == OPTS_HELP) {
		bench_usage(stdout);
		return 1;
	}
	if (!ret && !emit_backend_find(o->format)) {
		snprintf(err, sizeof(err), "unknown --format '%s'", o->format);
		ret = -1;
	}
	if (ret)
		fprintf(stderr, "ipitrace bench: %s (see ipitrace bench -h)\n",
			err);
	return ret ? -EINVAL : 0;
}

