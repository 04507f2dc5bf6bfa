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
	return t < HOOK_TYPE_MAX ? type_names[t] : "?";
}

enum hook_type hook_type_from_name(const char *s)
{
	int t;

	for (t = HOOK_TP_BTF; s && t < HOOK_TYPE_MAX; t++)
		if (!strcmp(s, type_names[t]))
			return t;
	return HOOK_NONE;
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

/* first usable candidate, of type @only unless HOOK_NONE; -1 if none */
static int first_usable(const struct hook_role *r, const struct hook_probe *p,
			enum hook_type only)
{
	int j;

	for (j = 0; j < HOOK_MAX_CANDS && r->cands[j].type; j++)
		if ((!only || r->cands[j].type == only) &&
		    cand_usable(&r->cands[j], p))
			return j;
	return -1;
}

static void note_btf_obj(struct hook_role *r, const struct hook_probe *p)
{
	const struct hook_cand *c = &r->cands[r->chosen];
	const char *o = NULL;

	r->btf_obj[0] = 0;
	if (p->btf_obj && (c->type == HOOK_TP_BTF || c->type == HOOK_FENTRY))
		o = p->btf_obj(c->type, c->target, p->ctx);
	if (o)
		snprintf(r->btf_obj, sizeof(r->btf_obj), "%s", o);
}

int hooks_select(struct hook_role *roles, int n, const struct hook_probe *p,
		 const char **missing)
{
	int i;

	for (i = 0; i < n; i++) {
		roles[i].chosen = -1;
		roles[i].btf_obj[0] = 0;
		if (p->force)
			roles[i].chosen = first_usable(&roles[i], p, p->force);
		if (roles[i].chosen < 0)
			roles[i].chosen = first_usable(&roles[i], p, HOOK_NONE);
		if (roles[i].chosen >= 0)
			note_btf_obj(&roles[i], p);
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

/* Modules whose BTF can hold a host hook's target: on distribution
 * kernels KVM is a module, and its tracepoints and functions are typed in
 * /sys/kernel/btf/<module>, not in vmlinux. */
static const char *btf_modules[] = { "kvm", "kvm_amd", "kvm_intel" };
#define NR_BTF_MODULES	(sizeof(btf_modules) / sizeof(btf_modules[0]))

struct kernel_probe {
	struct btf *vmlinux;
	struct btf *mods[NR_BTF_MODULES];	/* NULL: not loaded */
	bool mods_tried;
	const struct ksyms *ksyms;
	struct ksyms *own_ksyms;	/* loaded here when the caller had none */
	int kprobe_pmu;		/* -1 unknown, 0 no, 1 yes */
	int fentry_denied;	/* a test load failed with EPERM: never again */
};

static const char *tracefs_roots[] = {
	"/sys/kernel/tracing/events",
	"/sys/kernel/debug/tracing/events",
};

static void load_module_btfs(struct kernel_probe *kp)
{
	size_t i;

	if (kp->mods_tried || !kp->vmlinux)
		return;
	kp->mods_tried = true;
	for (i = 0; i < NR_BTF_MODULES; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", btf_modules[i]);
		if (access(path, R_OK))
			continue;
		kp->mods[i] = btf__load_module_btf(btf_modules[i], kp->vmlinux);
		if (libbpf_get_error(kp->mods[i]))
			kp->mods[i] = NULL;
	}
}

/* Type id of @name/@kind in vmlinux, else in a KVM module's BTF (*mod its
 * index), else 0. */
static int find_kernel_type(struct kernel_probe *kp, const char *name,
			    int kind, int *mod)
{
	size_t i;
	int id;

	*mod = -1;
	if (!kp->vmlinux)
		return 0;
	id = btf__find_by_name_kind(kp->vmlinux, name, kind);
	if (id > 0)
		return id;
	load_module_btfs(kp);
	for (i = 0; i < NR_BTF_MODULES; i++) {
		if (!kp->mods[i])
			continue;
		id = btf__find_by_name_kind(kp->mods[i], name, kind);
		if (id > 0) {
			*mod = (int)i;
			return id;
		}
	}
	return 0;
}

static int find_tp_btf(struct kernel_probe *kp, const char *event, int *mod)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", event);
	return find_kernel_type(kp, name, BTF_KIND_TYPEDEF, mod);
}

static bool kp_has_tp_btf(const char *event, void *ctx)
{
	int mod;

	return find_tp_btf(ctx, event, &mod) > 0;
}

static bool kp_has_tracefs_event(const char *cat_event,
				 void *ctx __attribute__((unused)))
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

/* fd of the kernel's BTF object named @name (a module), or -1 */
static int kernel_btf_fd(const char *name)
{
	__u32 id = 0;

	while (!bpf_btf_get_next_id(id, &id)) {
		struct bpf_btf_info info = {};
		__u32 len = sizeof(info);
		char buf[64] = "";
		int fd = bpf_btf_get_fd_by_id(id);

		if (fd < 0)
			continue;
		info.name = (__u64)(unsigned long)buf;
		info.name_len = sizeof(buf);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.kernel_btf &&
		    !strcmp(buf, name))
			return fd;
		close(fd);
	}
	return -1;
}

/* fentry needs BTF for the function and a kernel that lets us load and
 * attach a tracing program; some (e.g. under some hypervisors) refuse
 * with EPERM, and a function can be traceable by BTF but not by ftrace. */
static bool fentry_test_attach(struct kernel_probe *kp, int btf_id, int obj_fd)
{
	struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 },	/* r0 = 0 */
		{ .code = 0x95 },				/* exit */
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = btf_id,
		    .attach_btf_obj_fd = obj_fd > 0 ? obj_fd : 0);
	int fd, link;

	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "ipt_probe", "GPL", insns,
			   2, &opts);
	if (fd < 0) {
		if (errno == EPERM)
			kp->fentry_denied = 1;
		return false;
	}
	link = bpf_raw_tracepoint_open(NULL, fd);
	close(fd);
	if (link < 0)
		return false;
	close(link);
	return true;
}

static bool kp_has_fentry(const char *func, void *ctx)
{
	struct kernel_probe *kp = ctx;
	int id, mod, obj_fd = 0;
	bool ok;

	if (kp->fentry_denied)
		return false;
	id = find_kernel_type(kp, func, BTF_KIND_FUNC, &mod);
	if (id <= 0)
		return false;
	if (mod >= 0) {
		obj_fd = kernel_btf_fd(btf_modules[mod]);
		if (obj_fd < 0)
			return false;
	}
	ok = fentry_test_attach(kp, id, obj_fd);
	if (obj_fd > 0)
		close(obj_fd);
	return ok;
}

static const char *kp_btf_obj(enum hook_type t, const char *target, void *ctx)
{
	const char *ev = strchr(target, '/');
	int mod, id;

	if (t == HOOK_TP_BTF)
		id = find_tp_btf(ctx, ev ? ev + 1 : target, &mod);
	else
		id = find_kernel_type(ctx, target, BTF_KIND_FUNC, &mod);
	if (id <= 0)
		return NULL;
	return mod < 0 ? "vmlinux" : btf_modules[mod];
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
	p->btf_obj = kp_btf_obj;
	p->ctx = kp;
}

void hooks_kernel_probe_free(struct hook_probe *p)
{
	struct kernel_probe *kp = p->ctx;
	size_t i;

	if (!kp)
		return;
	for (i = 0; i < NR_BTF_MODULES; i++)
		btf__free(kp->mods[i]);
	btf__free(kp->vmlinux);
	ksyms_free(kp->own_ksyms);
	free(kp);
	p->ctx = NULL;
}
