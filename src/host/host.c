// SPDX-License-Identifier: GPL-2.0
/* ipitrace --host: follow guest IPIs through KVM and the host scheduler. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ipi_host.skel.h"
#include "host.h"
#include "host_advise.h"
#include "host_report.h"
#include "kick.h"
#include "loader.h"
#include "metrics.h"
#include "record.h"
#include "runner.h"
#include "topology.h"
#include "vcpus.h"


enum host_role {
	HR_ICR, HR_ACCEPT, HR_PV_IPI, HR_KICK, HR_WAKING, HR_WAKEUP, HR_SWITCH,
	HR_HALT_END, HR_VM_ENTRY, HR_VM_EXIT, HR_HALT_POLL, HR_IPI_KICK,
	HR_AVIC_INCOMPLETE, HR_AVIC_DOORBELL, HR_MSR, HR_MAX,
};

const struct hook_role host_roles_template[] = {
	[HR_ICR] = { .name = "icr_write", .required = true,
		.cands = { HOOK_TP3("kvm", "kvm_apic_ipi", "kvm_apic_ipi") } },
	[HR_ACCEPT] = { .name = "accept",
		.cands = { HOOK_TP3("kvm", "kvm_apic_accept_irq", "kvm_accept_irq") } },
	[HR_PV_IPI] = { .name = "pv_send_ipi",
		.cands = { HOOK_TP3("kvm", "kvm_hypercall", "kvm_hypercall") } },
	/* kvm_vcpu_kick became an inline around __kvm_vcpu_kick in 6.x */
	[HR_KICK] = { .name = "kick", .cands = {
		{ HOOK_FENTRY, "__kvm_vcpu_kick", "fentry_kick_new" },
		{ HOOK_FENTRY, "kvm_vcpu_kick", "fentry_kick" },
		{ HOOK_KPROBE, "__kvm_vcpu_kick", "kprobe_kick_new" },
		{ HOOK_KPROBE, "kvm_vcpu_kick", "kprobe_kick" } } },
	[HR_WAKING] = { .name = "kick_by_waking",
		.cands = { HOOK_TP("sched", "sched_waking", "sched_waking") } },
	[HR_WAKEUP] = { .name = "wakeup",
		.cands = { HOOK_TP("sched", "sched_wakeup", "sched_wakeup") } },
	[HR_SWITCH] = { .name = "on_cpu",
		.cands = { HOOK_TP("sched", "sched_switch", "sched_switch") } },
	/* the halt end before the senders: an IPI seen without its end is
	 * followed until the timeout and mislabelled */
	[HR_HALT_END] = { .name = "halt_end", .required = true,
		.attach_first = true,
		.cands = { HOOK_TP3("kvm", "kvm_vcpu_wakeup", "kvm_vcpu_wakeup") } },
	[HR_VM_ENTRY] = { .name = "vm_entry",
		.cands = { HOOK_TP3("kvm", "kvm_entry", "kvm_entry") } },
	/* the exit reason is only in the classic tracepoint's fields */
	[HR_VM_EXIT] = { .name = "vm_exit",
		.cands = { { HOOK_TRACEPOINT, "kvm/kvm_exit", "tp_kvm_exit" } } },
	[HR_HALT_POLL] = { .name = "halt_poll_ns",
		.cands = { HOOK_TP3("kvm", "kvm_halt_poll_ns", "kvm_halt_poll") } },
	[HR_IPI_KICK] = { .name = "kick_by_ipi",
		.cands = { HOOK_TP("ipi", "ipi_send_cpu", "ipi_send_cpu") } },
	[HR_AVIC_INCOMPLETE] = { .name = "avic_incomplete_ipi",
		.cands = { HOOK_TP3("kvm", "kvm_avic_incomplete_ipi", "kvm_avic_incomplete") } },
	[HR_AVIC_DOORBELL] = { .name = "avic_doorbell",
		.cands = { HOOK_TP3("kvm", "kvm_avic_doorbell", "kvm_avic_doorbell") } },
	/* which MSR an MSR exit was for (ICR vs EOI ...) */
	[HR_MSR] = { .name = "exit_msr",
		.cands = { HOOK_TP3("kvm", "kvm_msr", "kvm_msr") } },
};

/* The event types each role's programs emit (sched_switch: two). */
static const int role_events[HR_MAX][2] = {
	[HR_ICR] = { HE_APIC_IPI },		[HR_ACCEPT] = { HE_ACCEPT_IRQ },
	[HR_PV_IPI] = { HE_PV_SEND_IPI },	[HR_KICK] = { HE_KICK },
	[HR_WAKING] = { HE_WAKING },		[HR_WAKEUP] = { HE_WAKEUP },
	[HR_SWITCH] = { HE_SWITCH_IN, HE_SWITCH_OUT },
	[HR_HALT_END] = { HE_HALT_END },	[HR_VM_ENTRY] = { HE_VM_ENTRY },
	[HR_VM_EXIT] = { HE_VM_EXIT },		[HR_HALT_POLL] = { HE_HALT_POLL },
	[HR_IPI_KICK] = { HE_IPI_KICK },
	[HR_AVIC_INCOMPLETE] = { HE_AVIC_INCOMPLETE },
	[HR_AVIC_DOORBELL] = { HE_AVIC_DOORBELL },
	[HR_MSR] = { HE_MSR },
};
const int host_nr_roles = HR_MAX;


static void host_drain(void *ctx);

struct host {
	const struct ipt_opts *o;
	struct run *run;
	struct ipi_host_bpf *skel;
	struct ring_buffer *rb;
	struct topology topo;
	struct kick *kick;
	struct host_report *rep;
	__u64 prev[HS_MAX];
	__u64 prev_misses;
	/* --metrics: totals since start, from a model never reset (the
	 * report's own when there are no interval reports) */
	struct metrics_server *ms;
	struct kick *mkick;
	struct host_report *total;
	__u64 base[HS_MAX];
	__u64 base_misses;
	struct host_advise *adv;	/* --advise */
	bool advice_due;		/* built, not yet printed */
	__u32 scanned[64];	/* VM processes scanned on their first event */
	double last_scan;
	int nr_scanned;
	struct rec_writer *rec;		/* --record */
};

static void found_vcpu(pid_t pid, pid_t tid, int vcpu, void *ctx);

static __u64 ktime_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Name the vCPU threads of a VM at its first event: a short-lived VM may
 * come and go between two periodic scans (which also catch VMs beyond the
 * first 64 remembered here). */
static void scan_new_vm(struct host *h, const struct host_event *e)
{
	int i;

	if (!kick_in_vcpu_thread(e) || e->pid <= 0)
		return;
	for (i = 0; i < h->nr_scanned; i++)
		if (h->scanned[i] == e->pid)
			return;
	if (h->nr_scanned == 64)
		return;
	h->scanned[h->nr_scanned++] = e->pid;
	vcpu_scan("/proc", e->pid, found_vcpu, h);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct host *h = ctx;
	const struct host_event *e = data;

	if (size < sizeof(*e))
		return 0;
	scan_new_vm(h, e);
	kick_event(h->kick, e);
	if (h->mkick && h->mkick != h->kick)
		kick_event(h->mkick, e);
	return 0;
}

static void on_result(const struct kick_result *r, void *ctx)
{
	struct host *h = ctx;

	host_report_add(h->rep, r);
	rec_host_result(h->rec, r);
	if (h->adv)
		host_advise_result(h->adv, r);
	if (h->total && h->mkick == h->kick)
		host_report_add(h->total, r);
}

static void on_halt(const struct kick_halt_sample *s, void *ctx)
{
	struct host *h = ctx;

	rec_host_halt(h->rec, s);
	if (h->adv)
		host_advise_halt(s, h->adv);
}

static void on_pv(const struct kick_pv_send *s, void *ctx)
{
	struct host *h = ctx;

	rec_host_pv(h->rec, s);
}

static void on_total_result(const struct kick_result *r, void *ctx)
{
	struct host *h = ctx;

	host_report_add(h->total, r);
}

static void found_vcpu(pid_t pid, pid_t tid, int vcpu, void *ctx)
{
	struct host *h = ctx;
	struct vcpu_thread v = { .pid = pid, .vcpu_id = vcpu };
	__u32 key = tid;

	kick_set_thread(h->kick, tid, pid, vcpu);
	if (h->mkick && h->mkick != h->kick)
		kick_set_thread(h->mkick, tid, pid, vcpu);
	if (h->skel)
		bpf_map_update_elem(bpf_map__fd(h->skel->maps.vcpu_tids), &key,
				    &v, BPF_ANY);
}

static void scan_vcpus(struct host *h)
{
	vcpu_scan("/proc", h->o->pid > 0 ? h->o->pid : 0, found_vcpu, h);
}

static int open_object(struct host *h, const struct bpf_object_open_opts *oo)
{
	struct ipi_host_bpf *s;

	s = ipi_host_bpf__open_opts(oo);
	if (!s) {
		fprintf(stderr, "ipitrace: cannot open BPF object: %s\n",
			strerror(errno));
		return -1;
	}
	h->skel = s;
	h->run->obj = s->obj;
	s->rodata->filter_pid = h->o->pid > 0 ? h->o->pid : 0;
	return 0;
}

static bool role_on(const struct host *h, int role)
{
	return h->run->roles[role].chosen >= 0;
}

/* Which stages this kernel can show at all: those fed by an event type
 * that an attached role emits. */
static void stage_hooks(const struct host *h, bool hooked[KS_MAX])
{
	int r, i, s;

	memset(hooked, 0, KS_MAX * sizeof(hooked[0]));
	for (r = 0; r < HR_MAX; r++)
		for (i = 0; i < 2 && role_on(h, r); i++) {
			s = kick_event_stage(role_events[r][i]);
			if (s >= 0)
				hooked[s] = true;
		}
}

static void host_report(void *ctx, double span)
{
	struct host *h = ctx;
	__u64 cur[HS_MAX], misses, lost[HS_MAX];
	int i;

	ring_buffer__consume(h->rb);
	kick_flush(h->kick, ktime_now());
	read_percpu_counters(bpf_map__fd(h->skel->maps.stats), HS_MAX, cur);
	misses = prog_recursion_misses(h->skel->obj);
	for (i = 0; i < HS_MAX; i++)
		lost[i] = cur[i] - h->prev[i];
	host_report_print(h->rep, h->kick, span, lost, misses - h->prev_misses,
			  emit_backend_find(h->o->format), stdout);
	h->advice_due = false;		/* printed with this report */
	host_report_set_extra(h->rep, NULL, NULL);
	memcpy(h->prev, cur, sizeof(cur));
	h->prev_misses = misses;
	host_report_reset(h->rep);
	kick_reset_stats(h->kick);
}

/* One scrape: totals since the hooks were attached. */
static void host_scrape(struct emitter *e, void *ctx)
{
	struct host *h = ctx;
	__u64 cur[HS_MAX];
	int i;

	host_drain(h);
	read_percpu_counters(bpf_map__fd(h->skel->maps.stats), HS_MAX, cur);
	for (i = 0; i < HS_MAX; i++)
		cur[i] -= h->base[i];
	host_report_scrape(e, h->total, h->mkick, cur,
			   prog_recursion_misses(h->skel->obj) - h->base_misses);
}

/* Sleep a tick; rescan for vCPU threads (new VMs) every 250 ms. */
static void host_tick(void *ctx, int max_ms)
{
	int ms = max_ms < IPT_TICK_RING_MS ? max_ms : IPT_TICK_RING_MS;
	struct timespec tick = { 0, ms * 1000000L };
	struct host *h = ctx;
	double t;

	if (h->ms)
		metrics_poll(h->ms, ms, host_scrape, h);
	else
		nanosleep(&tick, NULL);
	t = mono_now();
	if (t - h->last_scan >= 0.25) {
		scan_vcpus(h);
		h->last_scan = t;
	}
}

static void host_drain(void *ctx)
{
	struct host *h = ctx;

	__u64 now = ktime_now();

	ring_buffer__consume(h->rb);
	kick_flush(h->kick, now);
	if (h->mkick && h->mkick != h->kick)
		kick_flush(h->mkick, now);
}

/* The advice goes with the final report (or alone after the last
 * interval report, when -c ended the run). */
static void finish_advice(struct host *h)
{
	int err = host_advise_build(h->adv, ktime_now());

	if (err) {
		fprintf(stderr, "ipitrace: no halt_poll_ns advice: %s\n",
			err == -ENODATA ? "no halts traced" : strerror(-err));
		return;
	}
	if (h->o->svg && (err = host_advise_svg(h->adv, h->o->svg)))
		fprintf(stderr, "ipitrace: cannot write %s: %s\n", h->o->svg,
			strerror(-err));
	host_report_set_extra(h->rep, host_advise_emit, h->adv);
	h->advice_due = true;
}

static void host_finish(void *ctx)
{
	struct host *h = ctx;
	int i;

	ring_buffer__consume(h->rb);
	kick_flush_all(h->kick);
	if (h->rec && !h->nr_scanned)
		fprintf(stderr, "ipitrace: --record: no VM seen, no TSC offset read\n");
	for (i = 0; h->rec && i < h->nr_scanned; i++)
		rec_host_vm_tsc(h->rec, h->scanned[i]);
	if (h->adv)
		finish_advice(h);
}

static const struct trace_ops host_ops = {
	.tick = host_tick,
	.drain = host_drain,
	.finish = host_finish,
	.report = host_report,
};

static int host_prepare(struct run *r, void *ctx)
{
	struct host *h = ctx;

	h->run = r;
	return 0;
}

/* --metrics: the totals' report, and their model when interval reports
 * reset the report's own. 0, or -1 when out of memory. */
static int open_metrics(struct host *h, const bool hooked[KS_MAX],
			const struct hook_desc_pair *descs)
{
	if (!h->o->metrics)
		return 0;
	h->mkick = h->o->interval ? kick_new(on_total_result, h) : h->kick;
	h->total = host_report_new(&h->topo, hooked, descs, HR_MAX);
	if (!h->mkick || !h->total)
		return -1;
	kick_set_hooked(h->mkick, hooked);
	return 0;
}

static int open_advice(struct host *h)
{
	struct adv_opts ao;

	adv_opts_default(&ao);
	if (h->o->share_pct > 0)
		ao.share = h->o->share_pct / 100;
	ao.budget = h->o->budget;
	if (h->o->adv_max_ns)
		ao.max_ns = h->o->adv_max_ns;
	h->adv = host_advise_new(&ao, NULL);
	if (!h->adv) {
		fprintf(stderr, "ipitrace: out of memory\n");
		return -1;
	}
	return 0;
}

static int host_open(struct run *r, void *ctx,
		     const struct bpf_object_open_opts *oo)
{
	struct host *h = ctx;
	bool hooked[KS_MAX];
	struct hook_desc_pair descs[HR_MAX];
	char bufs[HR_MAX][128];
	int i;

	if (load_topology(&h->topo, h->o->sysfs_root, h->o->numa_map))
		return -1;
	if (h->o->metrics) {
		h->ms = metrics_listen(h->o->metrics, stderr);
		if (!h->ms)
			return -1;
	}
	h->kick = kick_new(on_result, h);
	stage_hooks(h, hooked);
	if (h->kick) {
		kick_set_hooked(h->kick, hooked);
		kick_set_halt_cb(h->kick, on_halt, h);
		kick_set_pv_cb(h->kick, on_pv, h);
	}
	for (i = 0; i < HR_MAX; i++) {
		descs[i].role = r->roles[i].name;
		descs[i].desc = hook_desc(&r->roles[i], bufs[i], sizeof(bufs[i]));
		descs[i].btf = r->roles[i].btf_obj[0] ? r->roles[i].btf_obj : NULL;
	}
	h->rep = host_report_new(&h->topo, hooked, descs, HR_MAX);
	if (!h->kick || !h->rep || open_metrics(h, hooked, descs)) {
		fprintf(stderr, "ipitrace: out of memory\n");
		return -1;
	}
	kick_set_filter(h->kick, h->o->pid > 0 ? h->o->pid : 0,
			h->o->vcpu >= 0 ? h->o->vcpu : -1);
	if (h->o->advise && open_advice(h))
		return -1;
	if (h->mkick && h->mkick != h->kick)
		kick_set_filter(h->mkick, h->o->pid > 0 ? h->o->pid : 0,
				h->o->vcpu >= 0 ? h->o->vcpu : -1);
	host_report_set_view(h->rep, h->o->vcpu_kick, h->o->halt);
	host_report_show_exits(h->rep, h->o->exits);
	if (h->o->samples && host_report_keep_samples(h->rep, h->o->samples)) {
		fprintf(stderr, "ipitrace: out of memory\n");
		return -1;
	}
	return open_object(h, oo);
}

static int host_loaded(struct run *r __attribute__((unused)), void *ctx)
{
	struct host *h = ctx;

	scan_vcpus(h);
	h->rb = ring_buffer__new(bpf_map__fd(h->skel->maps.events),
				 handle_event, h, NULL);
	if (!h->rb) {
		fprintf(stderr, "ipitrace: cannot open the ring buffer: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Count from here: the totals of a scrape start with every hook in place. */
static int host_start(struct run *r __attribute__((unused)), void *ctx)
{
	struct host *h = ctx;

	if (h->adv)
		host_advise_start(h->adv, ktime_now());
	if (h->ms) {
		read_percpu_counters(bpf_map__fd(h->skel->maps.stats), HS_MAX,
				     h->base);
		h->base_misses = prog_recursion_misses(h->skel->obj);
	}
	return record_open(&h->rec, h->o->record, REC_HOST, &h->topo);
}

static void host_banner(struct run *r __attribute__((unused)), void *ctx, FILE *f)
{
	struct host *h = ctx;

	fprintf(f, "Tracing KVM IPIs and halts");
	if (h->ms)
		fprintf(f, ", serving /metrics on port %d", metrics_port(h->ms));
	fprintf(f, "... Hit Ctrl-C to end.\n");
	fflush(NULL);
}

static void host_cleanup(void *ctx)
{
	struct host *h = ctx;

	/* -c ended the run after its last report: the advice alone (no
	 * exposition has it: it holds no metric family) */
	if (h->advice_due &&
	    emit_backend_find(h->o->format)->audience != EMIT_METRICS)
		emit_document(stdout, emit_backend_find(h->o->format),
			      host_advise_emit, h->adv);
	host_advise_free(h->adv);
	record_close(h->rec, h->o->record);
	ring_buffer__free(h->rb);
	ipi_host_bpf__destroy(h->skel);
	host_report_free(h->rep);
	host_report_free(h->total);
	if (h->mkick != h->kick)
		kick_free(h->mkick);	/* NULL without --metrics */
	kick_free(h->kick);
	metrics_close(h->ms);
	topology_free(&h->topo);
}

static const struct mode host_mode = {
	.roles = host_roles_template,
	.nr_roles = HR_MAX,
	.prepare = host_prepare,
	.open = host_open,
	.loaded = host_loaded,
	.start = host_start,
	.banner = host_banner,
	.ops = &host_ops,
	.cleanup = host_cleanup,
};

int host_run(const struct ipt_opts *o)
{
	struct host h = { .o = o };

	return mode_run(&host_mode, o, &h);
}
