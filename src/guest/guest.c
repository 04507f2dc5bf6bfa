// SPDX-License-Identifier: GPL-2.0
/* ipitrace --guest: load, attach, consume, report, detach. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "ipitrace.h"
#include "ipi_guest.skel.h"
#include "agg.h"
#include "guest.h"
#include "record.h"
#include "kagg.h"
#include "ksyms.h"
#include "loader.h"
#include "privs.h"
#include "runner.h"
#include "metrics.h"
#include "output.h"
#include "topology.h"
#include "unseen.h"

#define FN(fn, prog)						\
	{ HOOK_FENTRY, fn, "fentry_" prog },			\
	{ HOOK_KPROBE, fn, "kprobe_" prog }

const struct hook_role guest_roles_template[] = {
	{ .name = "send_call_single", .required = true, .cands = {
		HOOK_TP("ipi", "ipi_send_cpu", "ipi_send_cpu"),
		FN("native_send_call_func_single_ipi", "send_call_single") } },
	{ .name = "send_call_many", .cands = {
		HOOK_TP("ipi", "ipi_send_cpumask", "ipi_send_cpumask"),
		FN("native_send_call_func_ipi", "send_call_many") } },
	{ .name = "send_resched", .cands = {
		HOOK_TP("ipi", "ipi_send_cpu", "ipi_send_cpu"),
		FN("native_smp_send_reschedule", "send_resched") } },
	{ .name = "send_irq_work", .cands = {
		HOOK_TP("ipi", "ipi_send_cpu", "ipi_send_cpu"),
		FN("arch_irq_work_raise", "send_irq_work") } },
	{ .name = "entry_call_single", .required = true, .attach_first = true, .cands = {
		HOOK_TP("irq_vectors", "call_function_single_entry", "call_single_entry") } },
	{ .name = "entry_call_many", .attach_first = true, .cands = {
		HOOK_TP("irq_vectors", "call_function_entry", "call_many_entry") } },
	{ .name = "entry_resched", .attach_first = true, .cands = {
		HOOK_TP("irq_vectors", "reschedule_entry", "resched_entry") } },
	{ .name = "entry_irq_work", .attach_first = true, .cands = {
		HOOK_TP("irq_vectors", "irq_work_entry", "irq_work_entry") } },
	{ .name = "entry_timer", .attach_first = true, .cands = {
		HOOK_TP("irq_vectors", "local_timer_entry", "timer_entry") } },
	/* tp_btf cannot read the csd tracepoints' function-pointer argument
	 * (the verifier rejects ctx access to a FUNC_PROTO): raw_tp only. */
	{ .name = "csd_queue", .cands = {
		{ HOOK_RAW_TP, "csd/csd_queue_cpu", "raw_tp_csd_queue_cpu" } } },
	{ .name = "csd_entry", .cands = {
		{ HOOK_RAW_TP, "csd/csd_function_entry", "raw_tp_csd_function_entry" } } },
	{ .name = "wake_idle_without_ipi", .cands = {
		HOOK_TP("sched", "sched_wake_idle_without_ipi", "wake_idle_no_ipi") } },
};
const int guest_nr_roles = sizeof(guest_roles_template) / sizeof(guest_roles_template[0]);

struct guest {
	const struct ipt_opts *o;
	struct run *run;
	struct ipi_guest_bpf *skel;
	struct ring_buffer *rb;
	int rb_fds[IPT_MAX_CPUS];	/* one ring per CPU */
	__u32 rb_size;
	struct topology topo;
	struct ksyms *ksyms;
	struct agg agg;
	int nr_cpus;			/* traced: at most IPT_MAX_CPUS */
	int nr_cpus_all;		/* the machine's possible CPUs */
	__u64 prev[ST_MAX];
	__u64 prev_misses;
	struct kagg_snap snap[2];	/* in-kernel histograms: current, previous */
	bool have_snap;
	/* --metrics: cumulative view since the baseline */
	struct metrics_server *ms;
	struct agg total;
	struct kagg_snap base_snap;
	__u64 base[ST_MAX];
	__u64 base_misses;
	struct rec_writer *rec;		/* --record */
	bool recording;			/* from the baseline on */
	/* handlers_unseen: /proc/interrupts at the span's start */
	bool unseen_on;
	__u64 irq_prev[IRQ_ROWS];
	__u64 irq_base[IRQ_ROWS];	/* --metrics: at the baseline */
};

#define IRQ_ALL_ROWS	((1u << IRQ_ROWS) - 1)

/* The interrupt counts, or false (and no more unseen counts) when they
 * cannot be read whole. */
static bool read_irqs(struct guest *g, __u64 irq[IRQ_ROWS])
{
	if (g->unseen_on && irqstat_read(NULL, irq) != (int)IRQ_ALL_ROWS)
		g->unseen_on = false;
	return g->unseen_on;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct guest *g = ctx;

	if (size < sizeof(struct ipi_event))
		return 0;
	agg_add(&g->agg, data);
	if (g->recording)
		rec_guest_event(g->rec, data);
	if (g->ms)
		agg_add(&g->total, data);
	return 0;
}

/* The node of every CPU, for the in-kernel NUMA split. */
static void set_cpu_nodes(struct guest *g)
{
	int cpu;

	for (cpu = 0; cpu < IPT_MAX_CPUS; cpu++)
		g->skel->rodata->cpu_node[cpu] = cpu < g->nr_cpus ?
			topology_node_of(&g->topo, cpu) : -1;
}

/*
 * The csd:* programs double an IPI's cost (two more programs per function
 * call), for per-CSD latency and the function each IPI ran: only when the
 * report needs them (--callers names functions).
 */
static bool csd_wanted(const struct guest *g)
{
	return !g->o->no_csd && (g->o->csd || g->o->callers > 0);
}

static void disable_csd_roles(struct guest *g)
{
	int i;

	for (i = 0; i < g->run->nr_roles; i++)
		if (!strncmp(g->run->roles[i].name, "csd_", 4))
			g->run->roles[i].chosen = -1;
}

static int pair_fd(struct guest *g)
{
	return g->skel->rodata->pair_counts ?
	       bpf_map__fd(g->skel->maps.pair_agg) : -1;
}

static unsigned int kagg_what(struct guest *g)
{
	return g->o->aggregate ? KAGG_ALL : KAGG_CSD;
}

/* Per-CPU ring size: 16 MiB in all, 256 KiB to 4 MiB a CPU (a power of
 * two); with -a there are no records, so the smallest. */
static __u32 ring_size(const struct guest *g)
{
	__u32 size = 4 << 20;

	if (g->o->aggregate)
		return 64 << 10;
	while (size > (256 << 10) && (__u64)size * g->nr_cpus > (16 << 20))
		size >>= 1;
	return size;
}

/* One ring per CPU, created before the object is loaded: the first one is
 * also the template of the BPF array of maps. */
static int create_rings(struct guest *g)
{
	char name[16];
	int i;

	for (i = 0; i < g->nr_cpus; i++) {
		snprintf(name, sizeof(name), "ipt_rb%d", i);
		g->rb_fds[i] = bpf_map_create(BPF_MAP_TYPE_RINGBUF, name, 0, 0,
					      g->rb_size, NULL);
		if (g->rb_fds[i] < 0) {
			fprintf(stderr, "ipitrace: cannot create ring buffer %d: %s\n",
				i, strerror(errno));
			return -1;
		}
	}
	return bpf_map__set_inner_map_fd(g->skel->maps.events, g->rb_fds[0]);
}

/* After the load: plug the rings into the array of maps and poll them all
 * from one ring_buffer. */
static int open_rings(struct guest *g)
{
	int outer = bpf_map__fd(g->skel->maps.events), i;
	__u32 key;

	for (i = 0; i < g->nr_cpus; i++) {
		key = i;
		if (bpf_map_update_elem(outer, &key, &g->rb_fds[i], BPF_ANY))
			goto fail;
		if (!g->rb)
			g->rb = ring_buffer__new(g->rb_fds[i], handle_event, g,
						 NULL);
		else if (ring_buffer__add(g->rb, g->rb_fds[i], handle_event, g))
			goto fail;
		if (!g->rb)
			goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "ipitrace: cannot set up the ring buffers: %s\n",
		strerror(errno));
	return -1;
}

static void close_rings(struct guest *g)
{
	int i;

	ring_buffer__free(g->rb);
	g->rb = NULL;
	for (i = 0; i < IPT_MAX_CPUS; i++)
		if (g->rb_fds[i] > 0)
			close(g->rb_fds[i]);
}

static bool uses_tracepoint(const struct hook_role *r)
{
	return r->chosen >= 0 && (r->cands[r->chosen].type == HOOK_TP_BTF ||
				  r->cands[r->chosen].type == HOOK_RAW_TP);
}

/*
 * The ipi tracepoints name the kind of a send only by its callback: without
 * this address every function-call IPI would look like "other". (Since 6.x
 * generic_smp_call_function_interrupt is a macro for it, so multicast sends
 * carry the same callback.)
 */
static int check_callbacks(struct guest *g)
{
	static const char fn[] = "generic_smp_call_function_single_interrupt";
	char why[128];

	if (!uses_tracepoint(&g->run->roles[0]) || ksyms_addr(g->ksyms, fn))
		return 0;
	kallsyms_hidden_reason(why, sizeof(why));
	fprintf(stderr, "ipitrace: cannot find %s in /proc/kallsyms: %s\n",
		fn, why);
	return -1;
}

static int open_object(struct guest *g, const struct bpf_object_open_opts *oo)
{
	struct ipi_guest_bpf *s;

	s = ipi_guest_bpf__open_opts(oo);
	if (!s) {
		fprintf(stderr, "ipitrace: cannot open BPF object: %s\n",
			strerror(errno));
		return -1;
	}
	g->skel = s;
	g->run->obj = s->obj;
	s->rodata->stale_ns = (__u64)g->o->stale_ms * 1000000ULL;
	s->rodata->nr_cpus = g->nr_cpus;
	s->rodata->nr_cpus_all = g->nr_cpus_all;
	s->rodata->aggregate = g->o->aggregate;
	s->rodata->pair_counts = g->o->aggregate && g->o->cpu_pairs;
	set_cpu_nodes(g);
	if (s->rodata->pair_counts) {
		struct utsname u;

		uname(&u);
		kagg_size_pair_map(s->maps.pair_agg, g->nr_cpus, u.release);
	}
	g->rb_size = ring_size(g);
	bpf_map__set_max_entries(s->maps.events, g->nr_cpus);
	if (create_rings(g))
		return -1;
	if (!csd_wanted(g))
		disable_csd_roles(g);
	s->rodata->csd_pairing = csd_wanted(g);
	return 0;
}

/* In-kernel histograms (CSDs; everything with -a): this interval = the
 * kernel totals now - at the last report. */
static void read_kernel_agg(struct guest *g)
{
	struct kagg_snap tmp;

	if (kagg_read(&g->snap[0], bpf_map__fd(g->skel->maps.agg_hist),
		      pair_fd(g)))
		fprintf(stderr, "ipitrace: cannot read the in-kernel histograms\n");
	kagg_fill(&g->agg, &g->snap[0], g->have_snap ? &g->snap[1] : NULL,
		  kagg_what(g));
	tmp = g->snap[1];
	g->snap[1] = g->snap[0];
	g->snap[0] = tmp;
	g->have_snap = true;
}

static void guest_report(void *ctx, double span)
{
	struct guest *g = ctx;
	struct guest_report r = {
		.duration_s = span,
		.roles = g->run->roles,
		.nr_roles = g->run->nr_roles,
		.agg = &g->agg,
		.ksyms = g->ksyms,
		.cpu_pairs = g->o->cpu_pairs,
		.callers = g->o->callers,
	};
	__u64 cur[ST_MAX], misses, irq[IRQ_ROWS];
	bool irq_ok;
	int i;

	ring_buffer__consume(g->rb);
	read_kernel_agg(g);
	irq_ok = read_irqs(g, irq);
	read_percpu_counters(bpf_map__fd(g->skel->maps.stats), ST_MAX, cur);
	misses = prog_recursion_misses(g->skel->obj);
	for (i = 0; i < ST_MAX; i++)
		r.stats[i] = cur[i] - g->prev[i];
	r.stats[ST_RECURSION_MISS] = misses - g->prev_misses;
	r.stats[ST_HANDLERS_SEEN] = handlers_seen(r.stats);
	if (irq_ok)
		r.stats[ST_HANDLERS_UNSEEN] = unseen_between(g->irq_prev,
			handlers_seen(g->prev), irq, handlers_seen(cur));
	memcpy(g->prev, cur, sizeof(cur));
	g->prev_misses = misses;
	read_irqs(g, g->irq_prev);
	report_print(stdout, emit_backend_find(g->o->format), &r);
	agg_reset(&g->agg);
}

/*
 * Enabling each tracepoint patches kernel text, and text patching IPIs every
 * CPU (do_sync_core). Those IPIs are ipitrace's own: once every hook is in
 * place, drop what was recorded so far and count from here.
 */
static void start_baseline(struct guest *g)
{
	ring_buffer__consume(g->rb);
	agg_reset(&g->agg);
	read_percpu_counters(bpf_map__fd(g->skel->maps.stats), ST_MAX, g->prev);
	g->prev_misses = prog_recursion_misses(g->skel->obj);
	g->unseen_on = unseen_roles_ok(g->run->roles, g->run->nr_roles);
	read_irqs(g, g->irq_prev);
	kagg_read(&g->snap[1], bpf_map__fd(g->skel->maps.agg_hist), pair_fd(g));
	g->have_snap = true;
	if (g->ms) {
		agg_reset(&g->total);
		memcpy(g->irq_base, g->irq_prev, sizeof(g->irq_base));
		memcpy(g->base, g->prev, sizeof(g->base));
		g->base_misses = g->prev_misses;
		kagg_read(&g->base_snap, bpf_map__fd(g->skel->maps.agg_hist),
			  pair_fd(g));
	}
}

/* One scrape: totals since the baseline. */
static void scrape_metrics(struct emitter *e, void *ctx)
{
	struct guest *g = ctx;
	struct guest_report r = { .agg = &g->total };
	__u64 cur[ST_MAX], irq[IRQ_ROWS];
	bool irq_ok;
	int i;

	ring_buffer__consume(g->rb);
	/* /metrics has no pairs: the pair map is not read per scrape */
	if (!kagg_read(&g->snap[0], bpf_map__fd(g->skel->maps.agg_hist), -1))
		kagg_fill(&g->total, &g->snap[0], &g->base_snap,
			  kagg_what(g) & ~KAGG_PAIRS);
	irq_ok = read_irqs(g, irq);
	read_percpu_counters(bpf_map__fd(g->skel->maps.stats), ST_MAX, cur);
	for (i = 0; i < ST_MAX; i++)
		r.stats[i] = cur[i] - g->base[i];
	r.stats[ST_HANDLERS_SEEN] = handlers_seen(r.stats);
	if (irq_ok)
		r.stats[ST_HANDLERS_UNSEEN] = unseen_between(g->irq_base,
			handlers_seen(g->base), irq, handlers_seen(cur));
	r.stats[ST_RECURSION_MISS] = prog_recursion_misses(g->skel->obj) -
				     g->base_misses;
	scrape_guest(e, &r);
}

/* Sleep one tick, serving scrapes meanwhile. Aggregate mode has no ring
 * records to drain: it sleeps until a report is due. */
static void guest_tick(void *ctx, int max_ms)
{
	struct guest *g = ctx;
	int ms = g->o->aggregate || max_ms < IPT_TICK_RING_MS ?
		 max_ms : IPT_TICK_RING_MS;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (g->ms)
		metrics_poll(g->ms, ms, scrape_metrics, g);
	else
		nanosleep(&ts, NULL);
}

static void guest_drain(void *ctx)
{
	struct guest *g = ctx;

	ring_buffer__consume(g->rb);
}

static const struct trace_ops guest_ops = {
	.tick = guest_tick,
	.drain = guest_drain,
	.report = guest_report,
};

static void guest_cleanup(void *ctx)
{
	struct guest *g = ctx;

	close_rings(g);
	record_close(g->rec, g->o->record);
	ipi_guest_bpf__destroy(g->skel);
	agg_free(&g->agg);
	agg_free(&g->total);
	kagg_snap_free(&g->base_snap);
	metrics_close(g->ms);
	kagg_snap_free(&g->snap[0]);
	kagg_snap_free(&g->snap[1]);
	ksyms_free(g->ksyms);
	topology_free(&g->topo);
}

/* A ring fd per CPU: 1,024 CPUs pass the usual soft limit of 1,024 fds. */
static void raise_fd_limit(int nr_cpus)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)nr_cpus + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static int guest_prepare(struct run *r, void *ctx)
{
	struct guest *g = ctx;

	g->run = r;
	g->nr_cpus_all = libbpf_num_possible_cpus();
	if (g->nr_cpus_all <= 0) {
		fprintf(stderr, "ipitrace: cannot count the possible CPUs: %s\n",
			strerror(g->nr_cpus_all ? -g->nr_cpus_all : EINVAL));
		return -1;
	}
	g->nr_cpus = g->nr_cpus_all;
	if (g->nr_cpus > IPT_MAX_CPUS) {
		g->nr_cpus = IPT_MAX_CPUS;
		fprintf(stderr, "ipitrace: warning: tracing CPUs 0-%d of %d; IPIs of the others count as cpu_out_of_range\n",
			IPT_MAX_CPUS - 1, g->nr_cpus_all);
	}
	raise_fd_limit(g->nr_cpus);
	if (load_topology(&g->topo, g->o->sysfs_root, g->o->numa_map))
		return -1;
	g->ksyms = ksyms_load("/proc/kallsyms");
	if (!g->ksyms) {
		fprintf(stderr, "ipitrace: cannot read /proc/kallsyms: %s\n",
			strerror(errno));
		return -1;
	}
	r->ksyms = g->ksyms;
	/* the clock relations need privileges dropped after attaching */
	return record_open(&g->rec, g->o->record, REC_GUEST, &g->topo);
}

static int guest_open(struct run *r __attribute__((unused)), void *ctx,
		      const struct bpf_object_open_opts *oo)
{
	struct guest *g = ctx;

	if (check_callbacks(g))
		return -1;
	if (g->o->metrics) {
		g->ms = metrics_listen(g->o->metrics, stderr);
		if (!g->ms)
			return -1;
	}
	if (agg_init(&g->agg, &g->topo, g->nr_cpus) ||
	    (g->ms && agg_init(&g->total, &g->topo, g->nr_cpus)) ||
	    (g->ms && kagg_snap_init(&g->base_snap, g->nr_cpus)) ||
	    kagg_snap_init(&g->snap[0], g->nr_cpus) ||
	    kagg_snap_init(&g->snap[1], g->nr_cpus)) {
		fprintf(stderr, "ipitrace: out of memory\n");
		return -1;
	}
	/* the pair matrix is only printed with -C */
	g->agg.no_pairs = !g->o->cpu_pairs;
	g->total.no_pairs = true;
	return open_object(g, oo);
}

static int guest_loaded(struct run *r __attribute__((unused)), void *ctx)
{
	struct guest *g = ctx;

	return open_rings(g);
}

static int guest_start(struct run *r __attribute__((unused)), void *ctx)
{
	struct guest *g = ctx;

	start_baseline(g);
	g->recording = true;
	return 0;
}

/* With -j the banner goes to stderr: scripts wait for it to know the
 * hooks are attached, and stdout stays pure JSON. */
static void guest_banner(struct run *r, void *ctx, FILE *f)
{
	struct guest *g = ctx;
	char buf[128];
	int i;

	fprintf(f, "Tracing IPIs");
	if (g->o->duration)
		fprintf(f, " for %g s", g->o->duration);
	if (g->ms)
		fprintf(f, ", serving /metrics on port %d", metrics_port(g->ms));
	fprintf(f, "... Hit Ctrl-C to end.\n");
	if (g->o->verbose) {
		for (i = 0; i < r->nr_roles; i++) {
			const char *d = hook_desc(&r->roles[i], buf, sizeof(buf));

			fprintf(f, "  %-22s %s\n", r->roles[i].name,
				d ? d : "unavailable");
		}
	}
	fflush(f);
}

static const struct mode guest_mode = {
	.roles = guest_roles_template,
	.nr_roles = sizeof(guest_roles_template) / sizeof(guest_roles_template[0]),
	.prepare = guest_prepare,
	.open = guest_open,
	.loaded = guest_loaded,
	.start = guest_start,
	.banner = guest_banner,
	.ops = &guest_ops,
	.cleanup = guest_cleanup,
};

int guest_run(const struct ipt_opts *o)
{
	struct guest g = { .o = o };

	return mode_run(&guest_mode, o, &g);
}
