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
#include "host_report.h"
#include "kick.h"
#include "loader.h"
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
	[HR_HALT_END] = { .name = "halt_end", .required = true,
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


struct host {
	const struct ipt_opts *o;
	struct ipi_host_bpf *skel;
	struct hook_role roles[HR_MAX];
	struct links links;
	struct ring_buffer *rb;
	struct topology topo;
	struct kick *kick;
	struct host_report *rep;
	__u64 prev[HS_MAX];
	__u64 prev_misses;
	__u32 scanned[64];	/* VM processes scanned on their first event */
	double last_scan;
	int nr_scanned;
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
	return 0;
}

static void on_result(const struct kick_result *r, void *ctx)
{
	struct host *h = ctx;

	host_report_add(h->rep, r);
}

static void found_vcpu(pid_t pid, pid_t tid, int vcpu, void *ctx)
{
	struct host *h = ctx;
	struct vcpu_thread v = { .pid = pid, .vcpu_id = vcpu };
	__u32 key = tid;

	kick_set_thread(h->kick, tid, pid, vcpu);
	if (h->skel)
		bpf_map_update_elem(bpf_map__fd(h->skel->maps.vcpu_tids), &key,
				    &v, BPF_ANY);
}

static void scan_vcpus(struct host *h)
{
	vcpu_scan("/proc", h->o->pid > 0 ? h->o->pid : 0, found_vcpu, h);
}

static int open_and_load(struct host *h)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = h->o->btf);
	struct ipi_host_bpf *s;
	int err;

	s = ipi_host_bpf__open_opts(&oo);
	if (!s) {
		fprintf(stderr, "ipitrace: cannot open BPF object: %s\n",
			strerror(errno));
		return -1;
	}
	h->skel = s;
	s->rodata->filter_pid = h->o->pid > 0 ? h->o->pid : 0;
	s->rodata->rb_wakeup_bytes = bpf_map__max_entries(s->maps.events) / 2;
	err = hooks_apply(h->roles, HR_MAX, s->obj);
	if (!err)
		err = ipi_host_bpf__load(s);
	if (err) {
		fprintf(stderr, "ipitrace: cannot load BPF programs: %s (run with -v for the verifier log)\n",
			strerror(-err));
		return -1;
	}
	return 0;
}

static bool role_on(const struct host *h, int role)
{
	return h->roles[role].chosen >= 0;
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
	host_report_print(h->rep, h->kick, span, lost,
			  misses - h->prev_misses, h->o->json, stdout);
	memcpy(h->prev, cur, sizeof(cur));
	h->prev_misses = misses;
	host_report_reset(h->rep);
	kick_reset_stats(h->kick);
}

/* Sleep a tick; rescan for vCPU threads (new VMs) every 250 ms. */
static void host_tick(void *ctx)
{
	struct timespec tick = { 0, 50 * 1000000 };
	struct host *h = ctx;
	double t;

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

	ring_buffer__consume(h->rb);
	kick_flush(h->kick, ktime_now());
}

static void host_finish(void *ctx)
{
	struct host *h = ctx;

	ring_buffer__consume(h->rb);
	kick_flush_all(h->kick);
}

static const struct trace_ops host_ops = {
	.tick = host_tick,
	.drain = host_drain,
	.finish = host_finish,
	.report = host_report,
};

static int setup(struct host *h)
{
	bool hooked[KS_MAX];
	struct hook_desc_pair descs[HR_MAX];
	char bufs[HR_MAX][128];
	int i;

	memcpy(h->roles, host_roles_template, sizeof(h->roles));
	if (select_kernel_hooks_forced(h->roles, HR_MAX, NULL, h->o->list_hooks,
				       h->o->force_hooks) && !h->o->list_hooks)
		return -1;
	if (h->o->list_hooks)
		return 0;
	if (load_topology(&h->topo, h->o->sysfs_root, h->o->numa_map))
		return -1;
	h->kick = kick_new(on_result, h);
	stage_hooks(h, hooked);
	if (h->kick)
		kick_set_hooked(h->kick, hooked);
	for (i = 0; i < HR_MAX; i++) {
		descs[i].role = h->roles[i].name;
		descs[i].desc = hook_desc(&h->roles[i], bufs[i], sizeof(bufs[i]));
		descs[i].btf = h->roles[i].btf_obj[0] ? h->roles[i].btf_obj : NULL;
	}
	h->rep = host_report_new(&h->topo, hooked, descs, HR_MAX);
	if (!h->kick || !h->rep) {
		fprintf(stderr, "ipitrace: out of memory\n");
		return -1;
	}
	kick_set_filter(h->kick, h->o->pid > 0 ? h->o->pid : 0,
			h->o->vcpu >= 0 ? h->o->vcpu : -1);
	host_report_set_view(h->rep, h->o->vcpu_kick, h->o->halt);
	host_report_show_exits(h->rep, h->o->exits);
	if (h->o->samples && host_report_keep_samples(h->rep, h->o->samples)) {
		fprintf(stderr, "ipitrace: out of memory\n");
		return -1;
	}
	if (open_and_load(h))
		return -1;
	scan_vcpus(h);
	/* the halt end before the senders: an IPI seen without its end is
	 * followed until the timeout and mislabelled */
	if (attach_programs(h->skel->obj, "wakeup", &h->links))
		return -1;
	h->rb = ring_buffer__new(bpf_map__fd(h->skel->maps.events),
				 handle_event, h, NULL);
	if (!h->rb) {
		fprintf(stderr, "ipitrace: cannot open the ring buffer: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

static void cleanup(struct host *h)
{
	detach_programs(&h->links);
	ring_buffer__free(h->rb);
	ipi_host_bpf__destroy(h->skel);
	host_report_free(h->rep);
	kick_free(h->kick);
	topology_free(&h->topo);
}

int host_run(const struct ipt_opts *o)
{
	struct host h = { .o = o };
	int err = 1;

	if (tracer_prepare(o->verbose, o->btf))
		return 1;
	if (setup(&h))
		goto out;
	if (o->list_hooks) {
		print_hook_table(stdout, h.roles, HR_MAX);
		err = 0;
		goto out;
	}
	fprintf(o->json ? stderr : stdout,
		"Tracing KVM IPIs and halts... Hit Ctrl-C to end.\n");
	fflush(NULL);
	trace_loop(o, &host_ops, &h);
	err = 0;
out:
	cleanup(&h);
	return err;
}
