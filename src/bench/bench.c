// SPDX-License-Identifier: GPL-2.0
/*
 * `ipitrace bench`: the published KVM IPI measurement (DESIGN.md, "The
 * problem": 100000 IPIs from a module with smp_call_function_single/many)
 * reproduced from user space, without a kernel module.
 *
 * What each row measures (one "IPI" = one timed call, CLOCK_MONOTONIC
 * around it, from a thread pinned to the source CPU):
 *
 *  cpuid        pread of /dev/cpu/N/cpuid: smp_call_function_single_async()
 *               to N, then the reader sleeps until N completes it. A round
 *               trip: the IPI to N, CPUID on N (traps to the hypervisor),
 *               and N's wakeup of the reader, which is usually a second
 *               function-call IPI, back to the source (ttwu_queue_wakelist).
 *               Unlike the module's smp_call_function_single(wait=1), the
 *               source sleeps instead of spinning.
 *  cpuid-each   "to all CPUs", idle targets: one cpuid round trip to each
 *               target in turn. Serial unicasts, NOT a multicast: user space
 *               has no way to IPI idle CPUs at once (membarrier skips them).
 *  membarrier   "to all CPUs", busy targets: membarrier(PRIVATE_EXPEDITED)
 *               = smp_call_function_many(wait) to every other CPU running
 *               one of our threads (a spinner on each target); the caller
 *               spins until all ran it. The closest match to the module's
 *               smp_call_function_many(), but only for running targets.
 *  membarrier-cpu  membarrier(PRIVATE_EXPEDITED_RSEQ, FLAG_CPU, N) =
 *               smp_call_function_single(N, wait=1) to a busy target (>= 5.10).
 *  local        the same call on the source CPU itself: no IPI. The
 *               difference to a cross-CPU row is the IPIs' share.
 *
 * idle: nothing of ours runs on the target (it halts between calls; what
 * else runs there is not controlled). busy: a thread spins on each target.
 * Local rows always run (whatever --state says) and are labelled "busy":
 * their target, the caller's own CPU, is running.
 * /proc/interrupts CAL deltas (target and source CPU) are reported per row
 * as an independent count of the function-call IPIs that really happened.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "emit.h"
#include "cli.h"
#include "ipigen.h"
#include "loader.h"
#include "opts.h"
#include "topology.h"

#define BENCH_DEFAULT_IPIS	100000
#define BENCH_MAX_IPIS		100000000L
#define BENCH_MAX_ROWS		16
#define BENCH_MAX_NOTES		16
#define BENCH_NOTE_LEN		256
#define BENCH_WARMUP		100

#define STATE_IDLE		(1 << 0)
#define STATE_BUSY		(1 << 1)

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
static void note(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	if (b->nr_notes >= BENCH_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(b->notes[b->nr_notes++], BENCH_NOTE_LEN, fmt, ap);
	va_end(ap);
}

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

static int parse_opts(int argc, char **argv, struct bench_opts *o)
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

/* ---- CPUs, targets, topology ---- */

static int default_targets(struct bench_opts *o)
{
	int nr = ipigen_nr_cpus(), cpu;

	o->targets.nr = 0;
	for (cpu = 0; cpu < nr && o->targets.nr < IPIGEN_MAX_TARGETS; cpu++)
		if (cpu != o->src && ipigen_cpu_online(cpu))
			o->targets.cpus[o->targets.nr++] = cpu;
	return o->targets.nr;
}

static int check_cpus(struct bench_opts *o)
{
	int i;

	if (!ipigen_cpu_online(o->src)) {
		fprintf(stderr, "ipitrace bench: --src %d is not an online CPU\n",
			o->src);
		return -EINVAL;
	}
	if (!o->targets.nr && !default_targets(o)) {
		fprintf(stderr, "ipitrace bench: no other online CPU to send "
			"IPIs to\n");
		return -EINVAL;
	}
	for (i = 0; i < o->targets.nr; i++) {
		if (o->targets.cpus[i] == o->src) {
			fprintf(stderr, "ipitrace bench: --targets must not include "
				"the source CPU %d (the local row covers it)\n",
				o->src);
			return -EINVAL;
		}
		if (!ipigen_cpu_online(o->targets.cpus[i])) {
			fprintf(stderr, "ipitrace bench: target CPU %d is not "
				"online\n", o->targets.cpus[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* A machine whose layout cannot be read is one node: the bench still runs. */
static int bench_topology(struct bench *b)
{
	int err;

	if (b->o.numa_map) {
		err = load_topology(&b->topo, NULL, b->o.numa_map);
		if (err)
			return -EINVAL;
		note(b, "NUMA nodes from --numa-map %s, not from this machine",
		     b->o.numa_map);
		return 0;
	}
	err = topology_load(&b->topo, NULL);
	if (err)
		note(b, "NUMA topology unknown (%s): all CPUs treated as one node",
		     strerror(-err));
	return 0;
}

static int node_of(const struct bench *b, int cpu)
{
	int node = topology_node_of(&b->topo, cpu);

	return node < 0 ? 0 : node;
}

static void pick_targets(struct bench *b)
{
	int i, cpu, src_node = node_of(b, b->o.src);

	b->same = b->cross = -1;
	for (i = 0; i < b->o.targets.nr; i++) {
		cpu = b->o.targets.cpus[i];
		if (node_of(b, cpu) == src_node) {
			if (b->same < 0)
				b->same = cpu;
		} else if (b->cross < 0) {
			b->cross = cpu;
		}
	}
	if (b->same < 0)
		note(b, "no target CPU on the source's node %d: same-node rows "
		     "skipped", src_node);
	if (b->cross < 0)
		note(b, "%s: cross-node rows skipped",
		     b->topo.nr_nodes > 1 ? "no target CPU on another node" :
		     "one NUMA node on this machine");
}

/* ---- /proc/interrupts CAL counts ---- */

static int cal_columns(const char *hdr, int *cols, int max)
{
	const char *p = hdr;
	int n = 0;

	while ((p = strstr(p, "CPU")) && n < max) {
		cols[n++] = atoi(p + 3);
		p += 3;
	}
	return n;
}

static void cal_values(const char *line, const int *cols, int ncols,
		       long long *cal, int max)
{
	const char *p = line + 4;	/* past "CAL:" */
	char *end;
	long long v;
	int i;

	for (i = 0; i < ncols; i++) {
		v = strtoll(p, &end, 10);
		if (end == p)
			break;
		if (cols[i] >= 0 && cols[i] < max)
			cal[cols[i]] = v;
		p = end;
	}
}

/* cal[cpu] = function-call interrupts so far; -1 where unknown. */
static int read_cal(long long *cal, int max)
{
	int cols[TOPOLOGY_MAX_CPUS], ncols = 0, i, found = 0;
	char *line = NULL;
	size_t len = 0;
	FILE *f;

	for (i = 0; i < max; i++)
		cal[i] = -1;
	f = fopen("/proc/interrupts", "re");
	if (!f)
		return -errno;
	if (getline(&line, &len, f) > 0)
		ncols = cal_columns(line, cols, TOPOLOGY_MAX_CPUS);
	while (!found && getline(&line, &len, f) > 0) {
		const char *p = line + strspn(line, " ");

		if (!strncmp(p, "CAL:", 4)) {
			cal_values(p, cols, ncols, cal, max);
			found = 1;
		}
	}
	free(line);
	fclose(f);
	return found ? 0 : -ENOENT;
}

static long long cal_delta(const struct bench *b, int cpu)
{
	if (cpu >= b->nr_cpus || b->cal0[cpu] < 0 || b->cal1[cpu] < 0)
		return -1;
	return b->cal1[cpu] - b->cal0[cpu];
}

static void row_cal(const struct bench *b, struct bench_row *r)
{
	long long d;
	int i;

	r->cal_src = cal_delta(b, b->o.src);
	r->cal_dst = 0;
	for (i = 0; i < r->nr_dst; i++) {
		d = cal_delta(b, r->dst[i]);
		if (d < 0) {
			r->cal_dst = -1;
			return;
		}
		r->cal_dst += d;
	}
}

/* ---- running rows ---- */

static const char *target_label(const char *target)
{
	if (!strcmp(target, "all"))
		return "to all other CPUs";
	if (!strcmp(target, "same_node"))
		return "to one CPU, same NUMA node";
	if (!strcmp(target, "cross_node"))
		return "to one CPU, other NUMA node";
	return "local CPU (no IPI)";
}

static int start_spinners(struct ipigen_spinner *spin, const int *cpus,
			  int nr)
{
	int i, err;

	for (i = 0; i < nr; i++) {
		err = ipigen_spinner_start(&spin[i], cpus[i]);
		if (err) {
			fprintf(stderr, "ipitrace bench: busy thread on CPU %d: "
				"%s\n", cpus[i], strerror(-err));
			while (i--)
				ipigen_spinner_stop(&spin[i]);
			return err;
		}
	}
	return 0;
}

static void stop_spinners(struct ipigen_spinner *spin, int nr)
{
	while (nr--)
		ipigen_spinner_stop(&spin[nr]);
}

static int measure(struct bench *b, struct bench_row *r, struct ipigen *g)
{
	long n, warm = b->o.ipis < BENCH_WARMUP ? b->o.ipis : BENCH_WARMUP;

	n = ipigen_run(g, b->samples, warm, 0);
	if (n < 0)
		return n;
	read_cal(b->cal0, b->nr_cpus);
	n = ipigen_run(g, b->samples, b->o.ipis, b->o.gap_us * 1000);
	read_cal(b->cal1, b->nr_cpus);
	if (n < 0)
		return n;
	row_cal(b, r);
	return ipigen_stats(b->samples, n, &r->st);
}

static int run_row(struct bench *b, struct bench_row *r)
{
	struct ipigen_spinner spin[IPIGEN_MAX_TARGETS];
	int busy = !strcmp(r->state, "busy") && strcmp(r->target, "local");
	struct ipigen g;
	int err;

	if (busy && (err = start_spinners(spin, r->dst, r->nr_dst)))
		return err;
	err = ipigen_open(&g, r->mech, r->dst, r->nr_dst);
	if (!err) {
		err = measure(b, r, &g);
		if (err)
			fprintf(stderr, "ipitrace bench: %s call failed: %s\n",
				ipigen_mech_name(r->mech), strerror(-err));
		ipigen_close(&g);
	}
	if (busy)
		stop_spinners(spin, r->nr_dst);
	return err;
}

/* ---- output ---- */

static int fmt_cpus(char *buf, size_t len, const int *cpus, int nr)
{
	size_t off = 0;
	int i, j;

	buf[0] = '\0';
	for (i = 0; i < nr && off < len; i = j + 1) {
		for (j = i; j + 1 < nr && cpus[j + 1] == cpus[j] + 1; j++)
			;
		if (j == i)
			off += snprintf(buf + off, len - off, "%s%d",
					off ? "," : "", cpus[i]);
		else
			off += snprintf(buf + off, len - off, "%s%d-%d",
					off ? "," : "", cpus[i], cpus[j]);
	}
	return off;
}

static void fmt_nodes(const struct bench *b, char *buf, size_t len,
		      const struct bench_row *r)
{
	int nodes[IPIGEN_MAX_TARGETS], nr = 0, i, j, node;

	for (i = 0; i < r->nr_dst; i++) {
		node = node_of(b, r->dst[i]);
		for (j = 0; j < nr && nodes[j] != node; j++)
			;
		if (j == nr)
			nodes[nr++] = node;
	}
	fmt_cpus(buf, len, nodes, nr);
}

static void fmt_count(char *buf, size_t len, long long v)
{
	if (v < 0)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%lld", v);
}

static void emit_header(struct bench *b)
{
	struct emitter *e = &b->out;
	char tgt[256];

	fmt_cpus(tgt, sizeof(tgt), b->o.targets.cpus, b->o.targets.nr);
	emit_caption(e, "ipitrace bench: %ld IPIs per row, from CPU %d (node %d) "
		     "to CPUs %s; %d NUMA node(s); gap %ld us", b->o.ipis,
		     b->o.src, node_of(b, b->o.src), tgt,
		     b->topo.nr_nodes > 0 ? b->topo.nr_nodes : 1, b->o.gap_us);
	emit_only(e, EMIT_MACHINE);
	emit_i64(e, "ipis", b->o.ipis);
	emit_i64(e, "gap_us", b->o.gap_us);
	emit_i64(e, "src_cpu", b->o.src);
	emit_only(e, EMIT_ALL);
}

static const struct emit_col row_cols[] = {
	{ .key = "name", .title = "IPI type", .width = -28 },
	{ .key = "state", .title = "state", .width = -5 },
	{ .key = "mech", .title = "mech", .width = -14 },
	{ .key = "total_ns", .title = "total ns", .width = 14 },
	{ .key = "mean_ns", .title = "mean ns", .width = 9 },
	{ .key = "p50_ns", .title = "p50 ns", .width = 9 },
	{ .key = "p99_ns", .title = "p99 ns", .width = 9 },
	{ .key = "cpus", .title = "CPUs", .width = -9, .gap = 2 },
	{ .key = "nodes", .title = "nodes", .width = -9 },
	{ .key = "cal", .title = "CAL dst/src" },
};

/* People read "0->1" and "12/10"; programs get the lists and numbers. */
static void emit_row_human(struct bench *b, const struct bench_row *r)
{
	char buf[128], dcpus[96], dnodes[96], cd[24], cs[24];
	struct emitter *e = &b->out;

	fmt_cpus(dcpus, sizeof(dcpus), r->dst, r->nr_dst);
	fmt_nodes(b, dnodes, sizeof(dnodes), r);
	fmt_count(cd, sizeof(cd), r->cal_dst);
	fmt_count(cs, sizeof(cs), r->cal_src);
	emit_only(e, EMIT_HUMAN);
	snprintf(buf, sizeof(buf), "%d->%s", b->o.src, dcpus);
	emit_str(e, "cpus", buf);
	snprintf(buf, sizeof(buf), "%d->%s", node_of(b, b->o.src), dnodes);
	emit_str(e, "nodes", buf);
	snprintf(buf, sizeof(buf), "%s/%s", cd, cs);
	emit_str(e, "cal", buf);
	emit_only(e, EMIT_ALL);
}

static void emit_row(struct bench *b, const struct bench_row *r)
{
	struct emitter *e = &b->out;
	int i;

	emit_obj(e, NULL);
	emit_str(e, "name", r->name);
	emit_str(e, "target", r->target);
	emit_str(e, "state", r->state);
	emit_str(e, "mech", ipigen_mech_name(r->mech));
	emit_u64(e, "ipis", r->st.count);
	emit_u64(e, "total_ns", r->st.total);
	emit_u64(e, "mean_ns", r->st.mean);
	emit_u64(e, "p50_ns", r->st.p50);
	emit_u64(e, "p99_ns", r->st.p99);
	emit_u64(e, "min_ns", r->st.min);
	emit_u64(e, "max_ns", r->st.max);
	emit_i64(e, "src_cpu", b->o.src);
	emit_i64(e, "src_node", node_of(b, b->o.src));
	emit_list(e, "dst_cpus", NULL);
	for (i = 0; i < r->nr_dst; i++)
		emit_i64(e, NULL, r->dst[i]);
	emit_end(e);
	emit_list(e, "dst_nodes", NULL);
	for (i = 0; i < r->nr_dst; i++)
		emit_i64(e, NULL, node_of(b, r->dst[i]));
	emit_end(e);
	emit_i64(e, "cal_dst", r->cal_dst);
	emit_i64(e, "cal_src", r->cal_src);
	emit_row_human(b, r);
	emit_end(e);
}

static void emit_notes(struct bench *b)
{
	int i;

	emit_list(&b->out, "notes", "notes:");
	for (i = 0; i < b->nr_notes; i++)
		emit_str(&b->out, NULL, b->notes[i]);
	emit_end(&b->out);
}

/* ---- the plan ---- */

static void check_ipis_seen(struct bench *b, const struct bench_row *r)
{
	long long want = (long long)r->st.count * r->nr_dst;

	if (!strcmp(r->target, "local") || r->cal_dst < 0)
		return;
	if (r->cal_dst * 10 < want * 9)
		note(b, "%s, %s, %s: /proc/interrupts counted %lld function-call "
		     "IPIs on the target(s) for %lld expected: many calls sent "
		     "no IPI (target not running our thread, or polling)",
		     r->name, r->state, ipigen_mech_name(r->mech), r->cal_dst,
		     want);
}

static void add_row(struct bench *b, const char *target, int state,
		    enum ipigen_mech mech, const int *dst, int nr_dst)
{
	struct bench_row *r;
	int err;

	if (b->nr_rows >= BENCH_MAX_ROWS)
		return;
	/* the local baseline runs whatever --state says */
	if (!(b->o.states & state) && strcmp(target, "local"))
		return;
	r = &b->rows[b->nr_rows];
	memset(r, 0, sizeof(*r));
	r->target = target;
	r->name = target_label(target);
	r->state = state == STATE_IDLE ? "idle" : "busy";
	r->mech = mech;
	r->nr_dst = nr_dst;
	memcpy(r->dst, dst, nr_dst * sizeof(*dst));
	err = run_row(b, r);
	if (err) {
		note(b, "%s, %s, %s: failed (%s)", r->name, r->state,
		     ipigen_mech_name(mech), strerror(-err));
		b->failed = 1;
		return;
	}
	b->nr_rows++;
	check_ipis_seen(b, r);
	emit_row(b, r);
}

static void one_cpu_rows(struct bench *b, const char *target, int cpu)
{
	if (cpu < 0)
		return;
	add_row(b, target, STATE_IDLE, IPIGEN_CPUID, &cpu, 1);
	add_row(b, target, STATE_BUSY, IPIGEN_CPUID, &cpu, 1);
	if (b->mb_caps & IPIGEN_MB_CPU)
		add_row(b, target, STATE_BUSY, IPIGEN_MB_ONE_CPU, &cpu, 1);
}

static void run_plan(struct bench *b)
{
	const int *all = b->o.targets.cpus;
	int nr = b->o.targets.nr, src = b->o.src;

	b->mb_caps = ipigen_mb_init();
	if (!(b->mb_caps & IPIGEN_MB_EXPEDITED))
		note(b, "membarrier PRIVATE_EXPEDITED unavailable: "
		     "all-CPUs busy multicast row skipped");
	if (!(b->mb_caps & IPIGEN_MB_CPU))
		note(b, "membarrier FLAG_CPU unavailable (needs kernel >= 5.10, "
		     "CONFIG_RSEQ): membarrier-cpu rows skipped");
	add_row(b, "all", STATE_IDLE, IPIGEN_CPUID_EACH, all, nr);
	add_row(b, "all", STATE_BUSY, IPIGEN_CPUID_EACH, all, nr);
	if (b->mb_caps & IPIGEN_MB_EXPEDITED)
		add_row(b, "all", STATE_BUSY, IPIGEN_MB_ALL_CPUS, all, nr);
	one_cpu_rows(b, "same_node", b->same);
	one_cpu_rows(b, "cross_node", b->cross);
	add_row(b, "local", STATE_BUSY, IPIGEN_CPUID, &src, 1);
	if (b->mb_caps & IPIGEN_MB_CPU)
		add_row(b, "local", STATE_BUSY, IPIGEN_MB_ONE_CPU, &src, 1);
}

static void add_static_notes(struct bench *b)
{
	if (b->o.targets.nr == 1)
		note(b, "one target CPU: the all-CPUs rows send to that one CPU");
	note(b, "cpuid rows are round trips: usually one IPI to the target and "
	     "one back (the target waking the sleeping caller); see CAL dst/src");
	note(b, "all/idle is serial cpuid calls to each target, not a "
	     "multicast; all/busy membarrier is smp_call_function_many()");
	if (!b->o.gap_us && (b->o.states & STATE_IDLE))
		note(b, "idle rows run back to back: an idle target vCPU may "
		     "still be in the host's halt-polling window at the next "
		     "IPI (try --gap-us 1000 for a vCPU that really halts)");
}

static int bench_init(struct bench *b)
{
	b->nr_cpus = ipigen_nr_cpus();
	b->samples = calloc(b->o.ipis, sizeof(*b->samples));
	b->cal0 = calloc(b->nr_cpus, sizeof(*b->cal0));
	b->cal1 = calloc(b->nr_cpus, sizeof(*b->cal1));
	if (!b->samples || !b->cal0 || !b->cal1) {
		fprintf(stderr, "ipitrace bench: out of memory\n");
		return -ENOMEM;
	}
	if (read_cal(b->cal0, b->nr_cpus))
		note(b, "no CAL row in /proc/interrupts: IPI counts unknown");
	return 0;
}

static void bench_free(struct bench *b)
{
	free(b->samples);
	free(b->cal0);
	free(b->cal1);
	topology_free(&b->topo);
	free(b);
}

static int bench_run(struct bench *b)
{
	cpu_set_t saved;
	int err, have_saved;

	have_saved = !sched_getaffinity(0, sizeof(saved), &saved);
	err = ipigen_pin_self(b->o.src);
	if (err) {
		fprintf(stderr, "ipitrace bench: cannot run on CPU %d: %s\n",
			b->o.src, strerror(-err));
		return err;
	}
	pick_targets(b);
	add_static_notes(b);
	err = emit_open(&b->out, emit_backend_find(b->o.format),
			stdout);
	if (err)
		return err;
	emit_doc_begin(&b->out);
	emit_header(b);
	emit_table(&b->out, "rows", NULL, row_cols,
		   sizeof(row_cols) / sizeof(row_cols[0]));
	run_plan(b);
	emit_end(&b->out);
	emit_notes(b);
	emit_doc_end(&b->out);
	emit_close(&b->out);
	if (have_saved)
		sched_setaffinity(0, sizeof(saved), &saved);
	return b->failed || !b->nr_rows ? -EIO : 0;
}

int bench_main(int argc, char **argv)
{
	struct bench *b;
	int err;

	b = calloc(1, sizeof(*b));
	if (!b) {
		fprintf(stderr, "ipitrace bench: out of memory\n");
		return 1;
	}
	err = parse_opts(argc, argv, &b->o);
	if (err) {
		bench_free(b);
		return err > 0 ? 0 : 2;
	}
	err = check_cpus(&b->o);
	if (!err)
		err = bench_topology(b);
	if (!err)
		err = bench_init(b);
	if (!err)
		err = bench_run(b);
	bench_free(b);
	return err == -EINVAL ? 2 : err ? 1 : 0;
}
