/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hook selection: each role lists candidate hooks, best first
 * (tp_btf > raw_tp > fentry > kprobe); the first one the running kernel
 * offers wins, and its programs are the ones loaded.
 */
#ifndef __IPT_HOOKS_H
#define __IPT_HOOKS_H

#include <stdbool.h>

struct bpf_object;

/* HOOK_TRACEPOINT: a classic tracepoint, for fields only its format has */
enum hook_type { HOOK_NONE, HOOK_TP_BTF, HOOK_RAW_TP, HOOK_FENTRY, HOOK_KPROBE,
		 HOOK_TRACEPOINT, HOOK_TYPE_MAX };

#define HOOK_MAX_CANDS	4

struct hook_cand {
	enum hook_type type;
	const char *target;	/* "category/event" for tracepoints, else a function */
	const char *prog;	/* BPF program name in the object */
};

struct hook_role {
	const char *name;
	bool required;
	struct hook_cand cands[HOOK_MAX_CANDS];
	int chosen;		/* index into cands, -1 if none */
	char btf_obj[32];	/* BTF object of a tp_btf/fentry choice:
				 * "vmlinux" or a module name; "" otherwise */
};

/* What the running kernel offers; the callbacks make it testable. */
struct hook_probe {
	bool (*has_tp_btf)(const char *event, void *ctx);
	bool (*has_raw_tp)(const char *cat_event, void *ctx);
	bool (*has_fentry)(const char *func, void *ctx);
	bool (*has_kprobe)(const char *func, void *ctx);
	/* a classic tracepoint attaches through tracefs: it must be mounted */
	bool (*has_tracefs_event)(const char *cat_event, void *ctx);
	/* optional: the BTF object that holds a tp_btf/fentry target */
	const char *(*btf_obj)(enum hook_type t, const char *target, void *ctx);
	/* --force-hooks: each role takes its candidate of this type when it
	 * has one the kernel offers; HOOK_NONE: best first */
	enum hook_type force;
	void *ctx;
};

/* A tracepoint role's two candidates: tp_btf, then raw_tp, served by the
 * BPF programs named tp_btf_<prog> and raw_tp_<prog>. */
#define HOOK_TP(cat, ev, prog)					\
	{ HOOK_TP_BTF, cat "/" ev, "tp_btf_" prog },		\
	{ HOOK_RAW_TP, cat "/" ev, "raw_tp_" prog }

/* A kvm:* style role: tp_btf, raw_tp, then the classic tracepoint
 * (program tp_<prog>), which --force-hooks tracepoint can choose. */
#define HOOK_TP3(cat, ev, prog)					\
	HOOK_TP(cat, ev, prog),					\
	{ HOOK_TRACEPOINT, cat "/" ev, "tp_" prog }

const char *hook_type_name(enum hook_type t);
/* HOOK_NONE when @s names no hook type */
enum hook_type hook_type_from_name(const char *s);
/* Chooses a candidate per role. Returns 0, or -ENOENT and sets *missing to
 * the first required role without a usable hook. */
int hooks_select(struct hook_role *roles, int n, const struct hook_probe *p,
		 const char **missing);
/* Sets autoload on exactly the chosen programs. */
int hooks_apply(const struct hook_role *roles, int n, struct bpf_object *obj);
/* "tp_btf:ipi_send_cpu" into buf; NULL when the role has no hook */
const char *hook_desc(const struct hook_role *r, char *buf, int len);

/* The real kernel's probes (kernel BTF, tracefs, a test fentry load,
 * the kprobe PMU and kallsyms). */
struct ksyms;
/* @ks: the caller's /proc/kallsyms table, or NULL to load one */
void hooks_kernel_probe(struct hook_probe *p, const struct ksyms *ks);
void hooks_kernel_probe_free(struct hook_probe *p);

#endif
