// SPDX-License-Identifier: GPL-2.0
/* ipitrace --guest: load, attach, consume, report, detach. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ipi_guest.skel.h"
#include "agg.h"
#include "guest.h"
#include "ksyms.h"
#include "output.h"
#include "privs.h"
#include "topology.h"

#define TP(cat, ev, prog)					\
	{ HOOK_TP_BTF, cat "/" ev, "tp_btf_" prog },		\
	{ HOOK_RAW_TP, cat "/" ev, "raw_tp_" prog }
#define FN(fn, prog)						\
	{ HOOK_FENTRY, fn, "fentry_" prog },			\
	{ HOOK_KPROBE, fn, "kprobe_" prog }

const struct hook_role guest_roles_template[] = {
	{ .name = "send_call_single", .required = true, .cands = { TP("ipi", "ipi_send_cpu", "ipi_send_cpu"),
		FN("native_send_call_func_single_ipi", "send_call_single") } },
	{ .name = "send_call_many", .required = false, .cands = { TP("ipi", "ipi_send_cpumask", "ipi_send_cpumask"),
		FN("native_send_call_func_ipi", "send_call_many") } },
	{ .name = "send_resched", .required = false, .cands = { TP("ipi", "ipi_send_cpu", "ipi_send_cpu"),
		FN("native_smp_send_reschedule", "send_resched") } },
	{ .name = "send_irq_work", .required = false, .cands = { TP("ipi", "ipi_send_cpu", "ipi_send_cpu"),
		FN("arch_irq_work_raise", "send_irq_work") } },
	{ .name = "entry_call_single", .required = true, .cands = { TP("irq_vectors", "call_function_single_entry", "call_single_entry") } },
	{ .name = "entry_call_many", .required = false, .cands = { TP("irq_vectors", "call_function_entry", "call_many_entry") } },
	{ .name = "entry_resched", .required = false, .cands = { TP("irq_vectors", "reschedule_entry", "resched_entry") } },
	{ .name = "entry_irq_work", .required = false, .cands = { TP("irq_vectors", "irq_work_entry", "irq_work_entry") } },
	/* tp_btf cannot read the csd tracepoints' function-pointer argument
	 * (the verifier rejects ctx access to a FUNC_PROTO): raw_tp only. */
	{ .name = "csd_queue", .required = false, .cands = {
		{ HOOK_RAW_TP, "csd/csd_queue_cpu", "raw_tp_csd_queue_cpu" } } },
	{ .name = "csd_entry", .required = false, .cands = {
		{ HOOK_RAW_TP, "csd/csd_function_entry", "raw_tp_csd_function_entry" } } },
	{ .name = "wake_idle_without_ipi", .required = false, .cands = { TP("sched", "sched_wake_idle_without_ipi", "wake_idle_no_ipi") } },
};
const int guest_nr_roles = sizeof(guest_roles_template) / sizeof(guest_roles_template[0]);

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = 1;
}

struct guest {
	const struct ipt_opts *o;
	struct ipi_guest_bpf *skel;
	struct hook_role roles[16];
	struct bpf_link *links[64];
	int nr_links;
	struct ring_buffer *rb;
	struct topology topo;
	struct ksyms *ksyms;
	struct agg agg;
	int nr_cpus;
	__u64 prev[ST_MAX];
	__u64 prev_misses;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct guest *g = ctx;

	if (size < sizeof(struct ipi_event))
		return 0;
	agg_add(&g->agg, data);
	return 0;
}

static void list_hooks(FILE *f, const struct hook_role *roles, int n)
{
	char buf[128];
	int i, j;

	fprintf(f, "%-22s %-48s %s\n", "ROLE", "HOOK", "CANDIDATES (best first)");
	for (i = 0; i < n; i++) {
		const char *d = hook_desc(&roles[i], buf, sizeof(buf));

		fprintf(f, "%-22s %-48s", roles[i].name,
			d ? d : roles[i].required ? "UNAVAILABLE (required)" :
			"unavailable on this kernel");
		for (j = 0; j < HOOK_MAX_CANDS && roles[i].cands[j].type; j++)
			fprintf(f, "%s%s", j ? ", " : " ",
				hook_type_name(roles[i].cands[j].type));
		fputc('\n', f);
	}
}

static int select_hooks(struct guest *g)
{
	struct hook_probe probe;
	const char *missing = NULL;
	int err;

	memcpy(g->roles, guest_roles_template,
	       sizeof(guest_roles_template[0]) * guest_nr_roles);
	hooks_kernel_probe(&probe);
	err = hooks_select(g->roles, guest_nr_roles, &probe, &missing);
	hooks_kernel_probe_free(&probe);
	if (err && !g->o->list_hooks)
		fprintf(stderr, "ipitrace: no usable hook for required role '%s' on this kernel (see --list-hooks)\n",
			missing);
	return err;
}

static int load_topology(struct guest *g)
{
	const struct ipt_opts *o = g->o;
	int err;

	if (o->numa_map) {
		err = topology_parse_map(&g->topo, o->numa_map);
		if (err)
			fprintf(stderr, "ipitrace: invalid --numa-map '%s' (expected e.g. 0-1:0/2-3:1)\n",
				o->numa_map);
		return err;
	}
	err = topology_load(&g->topo, o->sysfs_root ? o->sysfs_root : "/sys");
	if (err)
		fprintf(stderr, "ipitrace: cannot read the NUMA layout under %s/devices/system: %s\n",
			o->sysfs_root ? o->sysfs_root : "/sys", strerror(-err));
	return err;
}

static __u64 sym_or_none(const struct ksyms *ks, const char *name)
{
	__u64 a = ks ? ksyms_addr(ks, name) : 0;

	return a ? a : ~0ULL;
}

static int open_and_load(struct guest *g)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = g->o->btf);
	struct ipi_guest_bpf *s;
	int err;

	s = ipi_guest_bpf__open_opts(&oo);
	if (!s) {
		fprintf(stderr, "ipitrace: cannot open BPF object: %s\n",
			strerror(errno));
		return -1;
	}
	g->skel = s;
	s->rodata->fn_call_single = sym_or_none(g->ksyms,
		"generic_smp_call_function_single_interrupt");
	s->rodata->fn_call_many = sym_or_none(g->ksyms,
		"generic_smp_call_function_interrupt");
	s->rodata->fn_rb_notify = sym_or_none(g->ksyms, "bpf_ringbuf_notify");
	s->rodata->stale_ns = (__u64)g->o->stale_ms * 1000000ULL;
	s->rodata->nr_cpus = g->nr_cpus;
	s->rodata->csd_pairing = !g->o->no_csd;
	s->rodata->rb_wakeup_bytes = bpf_map__max_entries(s->maps.events) / 2;
	err = hooks_apply(g->roles, guest_nr_roles, s->obj);
	if (!err)
		err = ipi_guest_bpf__load(s);
	if (err) {
		fprintf(stderr, "ipitrace: cannot load BPF programs: %s (run with -v for the verifier log)\n",
			strerror(-err));
		return -1;
	}
	return 0;
}

/* Handlers first, then sends: a send whose handler is not traced yet would
 * otherwise sit pending and pair with a later IPI. */
static int attach_in_order(struct guest *g)
{
	struct bpf_program *p;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		bpf_object__for_each_program(p, g->skel->obj) {
			int is_entry = strstr(bpf_program__name(p), "_entry") != NULL;
			struct bpf_link *l;

			if (!bpf_program__autoload(p) || is_entry != !pass)
				continue;
			l = bpf_program__attach(p);
			if (!l) {
				fprintf(stderr, "ipitrace: cannot attach %s: %s\n",
					bpf_program__name(p), strerror(errno));
				return -1;
			}
			if (g->nr_links < 64)
				g->links[g->nr_links++] = l;
		}
	}
	return 0;
}

static void read_stats(struct guest *g, __u64 out[ST_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(g->skel->maps.stats);
	__u64 *vals = calloc(ncpu, sizeof(__u64));
	__u32 k;
	int c;

	memset(out, 0, sizeof(__u64) * ST_MAX);
	if (!vals)
		return;
	for (k = 0; k < ST_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
}

static __u64 recursion_misses(struct guest *g)
{
	struct bpf_program *p;
	__u64 total = 0;

	bpf_object__for_each_program(p, g->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_program__fd(p) < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			total += info.recursion_misses;
	}
	return total;
}

static void report(struct guest *g, double span)
{
	struct guest_report r = {
		.duration_s = span,
		.roles = g->roles,
		.nr_roles = guest_nr_roles,
		.agg = &g->agg,
		.ksyms = g->ksyms,
		.cpu_pairs = g->o->cpu_pairs,
		.callers = g->o->callers,
	};
	__u64 cur[ST_MAX], misses;
	int i;

	ring_buffer__consume(g->rb);
	read_stats(g, cur);
	misses = recursion_misses(g);
	for (i = 0; i < ST_MAX; i++)
		r.stats[i] = cur[i] - g->prev[i];
	r.recursion_misses = misses - g->prev_misses;
	memcpy(g->prev, cur, sizeof(cur));
	g->prev_misses = misses;
	if (g->o->json)
		report_json(stdout, &r);
	else
		report_text(stdout, &r);
	agg_reset(&g->agg);
}

static void trace_loop(struct guest *g)
{
	const struct ipt_opts *o = g->o;
	double start = now_s(), last = start, t;
	long reports = 0;
	struct timespec tick = { 0, 50 * 1000000 };

	while (!exiting) {
		nanosleep(&tick, NULL);
		ring_buffer__consume(g->rb);
		t = now_s();
		if (o->duration && t - start >= o->duration)
			break;
		if (o->interval && t - last >= o->interval) {
			report(g, t - last);
			last = t;
			if (o->count && ++reports >= o->count)
				return;
		}
	}
	t = now_s();
	if (!o->interval || t - last > 0.01)
		report(g, t - last);
}

static void cleanup(struct guest *g)
{
	int i;

	for (i = 0; i < g->nr_links; i++)
		bpf_link__destroy(g->links[i]);
	ring_buffer__free(g->rb);
	ipi_guest_bpf__destroy(g->skel);
	agg_free(&g->agg);
	ksyms_free(g->ksyms);
	topology_free(&g->topo);
}

static int setup(struct guest *g)
{
	g->nr_cpus = libbpf_num_possible_cpus();
	if (g->nr_cpus > IPT_MAX_CPUS)
		g->nr_cpus = IPT_MAX_CPUS;
	if (load_topology(g))
		return -1;
	g->ksyms = ksyms_load("/proc/kallsyms");
	if (!g->ksyms) {
		fprintf(stderr, "ipitrace: cannot read /proc/kallsyms: %s\n",
			strerror(errno));
		return -1;
	}
	if (select_hooks(g) && !g->o->list_hooks)
		return -1;
	if (g->o->list_hooks)
		return 0;
	if (agg_init(&g->agg, &g->topo, g->nr_cpus)) {
		fprintf(stderr, "ipitrace: out of memory\n");
		return -1;
	}
	if (open_and_load(g) || attach_in_order(g))
		return -1;
	g->rb = ring_buffer__new(bpf_map__fd(g->skel->maps.events),
				 handle_event, g, NULL);
	if (!g->rb) {
		fprintf(stderr, "ipitrace: cannot open the ring buffer: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

static void print_header(struct guest *g)
{
	char buf[128];
	int i;

	if (g->o->json)
		return;
	printf("Tracing IPIs");
	if (g->o->duration)
		printf(" for %g s", g->o->duration);
	printf("... Hit Ctrl-C to end.\n");
	if (!g->o->verbose)
		return;
	for (i = 0; i < guest_nr_roles; i++) {
		const char *d = hook_desc(&g->roles[i], buf, sizeof(buf));

		printf("  %-22s %s\n", g->roles[i].name, d ? d : "unavailable");
	}
}

int guest_run(const struct ipt_opts *o)
{
	struct guest g = { .o = o };
	int err = 1;

	setup_libbpf_logging(o->verbose);
	if (check_privileges(stderr) || check_btf(o->btf, stderr))
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (setup(&g))
		goto out;
	if (o->list_hooks) {
		list_hooks(stdout, g.roles, guest_nr_roles);
		err = 0;
		goto out;
	}
	print_header(&g);
	trace_loop(&g);
	err = 0;
out:
	cleanup(&g);
	return err;
}
