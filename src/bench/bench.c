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
#include "bench_int.h"
#include "emit.h"
#include "cli.h"
#include "ipigen.h"
#include "irqstat.h"
#include "loader.h"
#include "opts.h"
#include "topology.h"

void note(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	if (b->nr_notes >= BENCH_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(b->notes[b->nr_notes++], BENCH_NOTE_LEN, fmt, ap);
	va_end(ap);
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

int node_of(const struct bench *b, int cpu)
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

/* cal[cpu] = function-call interrupts so far; -1 where unknown. */
static int read_cal(long long *cal, int max)
{
	return irqstat_read_cpus(NULL, IRQ_CAL, cal, max);
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
	err = bench_parse_opts(argc, argv, &b->o);
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
