// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "files.h"
#include "loader.h"
#include "cli.h"
#include "privs.h"
#include "topology.h"

volatile sig_atomic_t tracer_exiting;

static void on_signal(int sig __attribute__((unused)))
{
	tracer_exiting = 1;
}

/* Without SA_RESTART: a blocked read or open returns EINTR and the run
 * ends instead of waiting on. SIGHUP (a closed terminal) ends it like
 * SIGTERM, with the final report. */
static int install_stop_handlers(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_signal };
	size_t i;

	/* a reader that goes away is a write error, reported at the end */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL)) {
			perror("ipitrace: sigaction");
			return -1;
		}
	return 0;
}

int tracer_prepare(int verbose, const char *btf)
{
	setup_libbpf_logging(verbose);
	if (check_privileges(stderr) || check_btf(btf, stderr))
		return -1;
	return install_stop_handlers();
}

int select_kernel_hooks(struct hook_role *roles, int n, const struct ksyms *ks,
			bool quiet, enum hook_type force)
{
	struct hook_probe probe;
	const char *missing = NULL;
	int err;

	hooks_kernel_probe(&probe, ks);
	probe.force = force;
	err = hooks_select(roles, n, &probe, &missing);
	hooks_kernel_probe_free(&probe);
	if (err && !quiet)
		fprintf(stderr, "ipitrace: no usable hook for required role '%s' on this kernel (see --list-hooks)\n",
			missing);
	return err;
}

void print_hook_table(FILE *f, const struct hook_role *roles, int n)
{
	char buf[128];
	int i, j;

	fprintf(f, "%-22s %-48s %-9s %s\n", "ROLE", "HOOK", "BTF",
		"CANDIDATES (best first)");
	for (i = 0; i < n; i++) {
		const char *d = hook_desc(&roles[i], buf, sizeof(buf));

		fprintf(f, "%-22s %-48s", roles[i].name,
			d ? d : roles[i].required ? "UNAVAILABLE (required)" :
			"unavailable on this kernel");
		fprintf(f, " %-9s", roles[i].btf_obj[0] ? roles[i].btf_obj : "-");
		for (j = 0; j < HOOK_MAX_CANDS && roles[i].cands[j].type; j++)
			fprintf(f, "%s%s", j ? ", " : " ",
				hook_type_name(roles[i].cands[j].type));
		fputc('\n', f);
	}
}

void detach_programs(struct links *links)
{
	while (links->n > 0)
		bpf_link__destroy(links->l[--links->n]);
}

void read_percpu_counters(int map_fd, int n, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	__u64 *vals = calloc(ncpu, sizeof(__u64));
	__u32 k;

	memset(out, 0, sizeof(__u64) * n);
	if (!vals)
		return;
	for (k = 0; k < (__u32)n; k++) {
		if (bpf_map_lookup_elem(map_fd, &k, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
}

__u64 prog_recursion_misses(struct bpf_object *obj)
{
	struct bpf_program *p;
	__u64 total = 0;

	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_program__fd(p) < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			total += info.recursion_misses;
	}
	return total;
}

double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPUs a --numa-map leaves out have no node: their IPIs are "unknown". */
static void warn_unmapped_cpus(const struct topology *t, const char *map)
{
	int cpu, n = libbpf_num_possible_cpus(), missing = 0, first = -1;

	for (cpu = 0; cpu < n; cpu++) {
		if (topology_node_of(t, cpu) >= 0)
			continue;
		if (first < 0)
			first = cpu;
		missing++;
	}
	if (missing)
		fprintf(stderr, "ipitrace: warning: --numa-map '%s' places no node on %d of this machine's %d CPUs (first: CPU %d); their IPIs count as NUMA class unknown\n",
			map, missing, n, first);
}

int load_topology(struct topology *t, const char *sysfs_root,
		  const char *numa_map)
{
	const char *root = sysfs_root ? sysfs_root : "/sys";
	int err;

	if (numa_map) {
		err = topology_parse_map(t, numa_map);
		if (err)
			fprintf(stderr, "ipitrace: invalid --numa-map '%s' (expected e.g. 0-1:0/2-3:1)\n",
				numa_map);
		else
			warn_unmapped_cpus(t, numa_map);
		return err;
	}
	err = topology_load(t, root);
	if (err)
		fprintf(stderr, "ipitrace: cannot read the NUMA layout under %s/devices/system: %s\n",
			root, file_strerror(err));
	return err;
}

/* Milliseconds until the next interval report or the end of -d, at most
 * IPT_TICK_MAX_MS. */
static int ms_to_deadline(const struct ipt_opts *o, double start, double last)
{
	double now = mono_now(), left = IPT_TICK_MAX_MS / 1000.0;

	if (o->duration && start + o->duration - now < left)
		left = start + o->duration - now;
	if (o->interval && last + o->interval - now < left)
		left = last + o->interval - now;
	return left > 0.001 ? (int)(left * 1000 + 0.999) : 1;
}

void trace_loop(const struct ipt_opts *o, const struct trace_ops *ops,
		void *ctx)
{
	double start = mono_now(), last = start, t;
	long reports = 0;

	while (!tracer_exiting) {
		ops->tick(ctx, ms_to_deadline(o, start, last));
		ops->drain(ctx);
		t = mono_now();
		if (o->duration && t - start >= o->duration)
			break;
		if (o->interval && t - last >= o->interval) {
			bool final = o->count && ++reports >= o->count;

			/* the last report of -c takes what is still open */
			if (final && ops->finish)
				ops->finish(ctx);
			ops->report(ctx, t - last);
			last = t;
			if (final)
				return;
		}
	}
	if (ops->finish)
		ops->finish(ctx);
	t = mono_now();
	/* not again when the last interval report has just been printed */
	if (!o->interval || t - last > 0.01)
		ops->report(ctx, t - last);
}
