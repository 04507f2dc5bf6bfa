// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "hooks.h"
#include "ksyms.h"

static const char *type_names[] = {
	[HOOK_NONE] = "none",
	[HOOK_TP_BTF] = "tp_btf",
	[HOOK_RAW_TP] = "raw_tp",
	[HOOK_FENTRY] = "fentry",
	[HOOK_KPROBE] = "kprobe",
	[HOOK_TRACEPOINT] = "tracepoint",
};

const char *hook_type_name(enum hook_type t)
{
	return t <= HOOK_TRACEPOINT ? type_names[t] : "?";
}

static bool cand_usable(const struct hook_cand *c, const struct hook_probe *p)
{
	const char *ev;

	switch (c->type) {
	case HOOK_TP_BTF:
		ev = strchr(c->target, '/');
		return p->has_tp_btf(ev ? ev + 1 : c->target, p->ctx);
	case HOOK_RAW_TP:
		return p->has_raw_tp(c->target, p->ctx);
	case HOOK_TRACEPOINT:
		return p->has_tracefs_event &&
		       p->has_tracefs_event(c->target, p->ctx);
	case HOOK_FENTRY:
		return p->has_fentry(c->target, p->ctx);
	case HOOK_KPROBE:
		return p->has_kprobe(c->target, p->ctx);
	default:
		return false;
	}
}

int hooks_select(struct hook_role *roles, int n, const struct hook_probe *p,
		 const char **missing)
{
	int i, j;

	for (i = 0; i < n; i++) {
		roles[i].chosen = -1;
		for (j = 0; j < HOOK_MAX_CANDS && roles[i].cands[j].type; j++) {
			if (cand_usable(&roles[i].cands[j], p)) {
				roles[i].chosen = j;
				break;
			}
		}
		if (roles[i].chosen < 0 && roles[i].required) {
			if (missing)
				*missing = roles[i].name;
			return -ENOENT;
		}
	}
	return 0;
}

int hooks_apply(const struct hook_role *roles, int n, struct bpf_object *obj)
{
	struct bpf_program *prog;
	int i;

	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, false);
	for (i = 0; i < n; i++) {
		if (roles[i].chosen < 0)
			continue;
		prog = bpf_object__find_program_by_name(obj,
				roles[i].cands[roles[i].chosen].prog);
		if (!prog)
			return -ENOENT;
		bpf_program__set_autoload(prog, true);
	}
	return 0;
}

const char *hook_desc(const struct hook_role *r, char *buf, int len)
{
	const struct hook_cand *c;

	if (r->chosen < 0)
		return NULL;
	c = &r->cands[r->chosen];
	snprintf(buf, len, "%s:%s", hook_type_name(c->type), c->target);
	return buf;
}

/* ---- the running kernel ---- */

struct kernel_probe {
	struct btf *vmlinux;
	const struct ksyms *ksyms;
	struct ksyms *own_ksyms;	/* loaded here when the caller had none */
	int kprobe_pmu;		/* -1 unknown, 0 no, 1 yes */
	int fentry_ok;		/* -1 unknown: one test load decides */
};

static const char *tracefs_roots[] = {
	"/sys/kernel/tracing/events",
	"/sys/kernel/debug/tracing/events",
};

static bool kp_has_tp_btf(const char *event, void *ctx)
{
	struct kernel_probe *kp = ctx;
	char name[128];

	if (!kp->vmlinux)
		return false;
	snprintf(name, sizeof(name), "btf_trace_%s", event);
	return btf__find_by_name_kind(kp->vmlinux, name, BTF_KIND_TYPEDEF) > 0;
}

static bool kp_has_tracefs_event(const char *cat_event, void *ctx)
{
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(tracefs_roots) / sizeof(tracefs_roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tracefs_roots[i], cat_event);
		if (!access(path, F_OK))
			return true;
	}
	return false;
}

static bool kp_has_raw_tp(const char *cat_event, void *ctx)
{
	struct kernel_probe *kp = ctx;
	const char *ev = strchr(cat_event, '/');
	char path[256];

	if (kp_has_tracefs_event(cat_event, ctx))
		return true;
	/* tracefs may not be mounted: the tracepoint's iterator tells */
	if (kp->ksyms && ev) {
		snprintf(path, sizeof(path), "__traceiter_%s", ev + 1);
		if (ksyms_addr(kp->ksyms, path))
			return true;
	}
	return kp_has_tp_btf(ev ? ev + 1 : cat_event, ctx);
}

/* fentry needs BTF for the function and a kernel that lets us load a
 * tracing program; some (e.g. under some hypervisors) refuse with EPERM. */
static bool fentry_test_load(struct kernel_probe *kp, int btf_id)
{
	struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 },	/* r0 = 0 */
		{ .code = 0x95 },				/* exit */
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = btf_id);
	int fd;

	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "ipt_probe", "GPL", insns,
			   2, &opts);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static bool kp_has_fentry(const char *func, void *ctx)
{
	struct kernel_probe *kp = ctx;
	int id;

	if (!kp->vmlinux || !kp->fentry_ok)
		return false;
	id = btf__find_by_name_kind(kp->vmlinux, func, BTF_KIND_FUNC);
	if (id <= 0)
		return false;
	if (kp->fentry_ok < 0)
		kp->fentry_ok = fentry_test_load(kp, id);
	return kp->fentry_ok;
}

static bool kp_has_kprobe(const char *func, void *ctx)
{
	struct kernel_probe *kp = ctx;

	if (kp->kprobe_pmu < 0)
		kp->kprobe_pmu = !access("/sys/bus/event_source/devices/kprobe/type",
					 F_OK);
	return kp->kprobe_pmu && kp->ksyms && ksyms_addr(kp->ksyms, func);
}

void hooks_kernel_probe(struct hook_probe *p, const struct ksyms *ks)
{
	struct kernel_probe *kp = calloc(1, sizeof(*kp));

	memset(p, 0, sizeof(*p));
	if (!kp)
		return;
	kp->kprobe_pmu = -1;
	kp->fentry_ok = -1;
	kp->vmlinux = btf__load_vmlinux_btf();
	if (libbpf_get_error(kp->vmlinux))
		kp->vmlinux = NULL;
	if (!ks)
		ks = kp->own_ksyms = ksyms_load("/proc/kallsyms");
	kp->ksyms = ks;
	p->has_tp_btf = kp_has_tp_btf;
	p->has_raw_tp = kp_has_raw_tp;
	p->has_fentry = kp_has_fentry;
	p->has_kprobe = kp_has_kprobe;
	p->has_tracefs_event = kp_has_tracefs_event;
	p->ctx = kp;
}

void hooks_kernel_probe_free(struct hook_probe *p)
{
	struct kernel_probe *kp = p->ctx;

	if (!kp)
		return;
	btf__free(kp->vmlinux);
	ksyms_free(kp->own_ksyms);
	free(kp);
	p->ctx = NULL;
}
