/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One mode runner for guest and host alike: a mode describes its roles and
 * what it does around the shared steps (check privileges, choose hooks,
 * --list-hooks, open, load, attach in role order, trace, detach), and
 * mode_run() performs them in that order.
 */
#ifndef __IPT_RUNNER_H
#define __IPT_RUNNER_H

#include <stdio.h>
#include "cli.h"
#include "hooks.h"
#include "loader.h"

#define RUN_MAX_ROLES	32

struct bpf_object_open_opts;
struct ksyms;

/* What the runner owns; the mode's callbacks read and fill it. */
struct run {
	const struct ipt_opts *o;
	struct hook_role roles[RUN_MAX_ROLES];	/* with the kernel's choice */
	int nr_roles;
	const struct ksyms *ksyms;	/* set by prepare() to reuse for probing */
	struct bpf_object *obj;		/* set by open() */
	struct links links;
};

struct mode {
	const struct hook_role *roles;	/* candidates per role, best first */
	int nr_roles;
	/* before hooks are chosen (topology, symbols); may set r->ksyms */
	int (*prepare)(struct run *r, void *ctx);
	/* open the skeleton, set r->obj, its rodata and map sizes; roles may
	 * be switched off (chosen = -1) before their programs are loaded */
	int (*open)(struct run *r, void *ctx,
		    const struct bpf_object_open_opts *oo);
	int (*loaded)(struct run *r, void *ctx);	/* before attaching */
	int (*start)(struct run *r, void *ctx);	/* every hook attached */
	void (*banner)(struct run *r, void *ctx, FILE *f);
	const struct trace_ops *ops;
	void (*cleanup)(void *ctx);	/* after the programs are detached */
};

/* Runs @m with @o until it ends; returns the process exit code. */
int mode_run(const struct mode *m, const struct ipt_opts *o, void *ctx);

/* The chosen programs in attach order into progs[0..max): those of
 * attach_first roles first, each program once however many roles it
 * serves. Returns how many, or -E2BIG. */
int attach_plan(const struct hook_role *roles, int n, const char **progs,
		int max);
/* Attach the programs of attach_plan() in its order. */
int attach_roles(struct bpf_object *obj, const struct hook_role *roles,
		 int n, struct links *links);

#endif
