// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "privs.h"
#include "runner.h"

static const char *chosen_prog(const struct hook_role *r)
{
	return r->chosen >= 0 ? r->cands[r->chosen].prog : NULL;
}

static bool listed(const char **progs, int n, const char *prog)
{
	while (n-- > 0)
		if (!strcmp(progs[n], prog))
			return true;
	return false;
}

int attach_plan(const struct hook_role *roles, int n, const char **progs,
		int max)
{
	int pass, i, nr = 0;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			const char *prog = chosen_prog(&roles[i]);

			if (!prog || roles[i].attach_first != (pass == 0) ||
			    listed(progs, nr, prog))
				continue;
			if (nr == max)
				return -E2BIG;
			progs[nr++] = prog;
		}
	}
	return nr;
}

static int attach_one(struct bpf_object *obj, const char *name,
		      struct links *links)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);
	struct bpf_link *l;
	int err;

	if (!p || !bpf_program__autoload(p)) {
		fprintf(stderr, "ipitrace: program %s is not loaded\n", name);
		return -ENOENT;
	}
	l = bpf_program__attach(p);
	if (!l) {
		err = -errno;
		fprintf(stderr, "ipitrace: cannot attach %s: %s\n", name,
			strerror(-err));
		return err;
	}
	links->l[links->n++] = l;
	return 0;
}

int attach_roles(struct bpf_object *obj, const struct hook_role *roles,
		 int n, struct links *links)
{
	const char *progs[LOADER_MAX_LINKS];
	int nr = attach_plan(roles, n, progs, LOADER_MAX_LINKS), i, err;

	if (nr < 0) {
		fprintf(stderr, "ipitrace: too many programs\n");
		return nr;
	}
	for (i = 0; i < nr; i++) {
		err = attach_one(obj, progs[i], links);
		if (err)
			return err;
	}
	return 0;
}

static int load(const struct mode *m, struct run *r, void *ctx)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = r->o->btf);
	int err;

	if (m->open(r, ctx, &oo))
		return -1;
	err = hooks_apply(r->roles, r->nr_roles, r->obj);
	if (!err)
		err = bpf_object__load(r->obj);
	if (err) {
		char msg[128];

		libbpf_strerror(err, msg, sizeof(msg));
		if (r->o->btf)
			fprintf(stderr, "ipitrace: cannot load BPF programs with the BTF of '%s': %s\n",
				r->o->btf, msg);
		else
			fprintf(stderr, "ipitrace: cannot load BPF programs: %s (run with -v for the verifier log)\n",
				msg);
		return -1;
	}
	return m->loaded ? m->loaded(r, ctx) : 0;
}

static int setup(const struct mode *m, struct run *r, void *ctx)
{
	const struct ipt_opts *o = r->o;

	if (m->nr_roles > RUN_MAX_ROLES) {
		fprintf(stderr, "ipitrace: internal: too many roles\n");
		return -1;
	}
	memcpy(r->roles, m->roles, sizeof(m->roles[0]) * m->nr_roles);
	r->nr_roles = m->nr_roles;
	if (m->prepare && m->prepare(r, ctx))
		return -1;
	if (select_kernel_hooks(r->roles, r->nr_roles, r->ksyms,
				o->list_hooks, o->force_hooks) && !o->list_hooks)
		return -1;
	if (o->list_hooks)
		return 0;
	if (load(m, r, ctx) ||
	    attach_roles(r->obj, r->roles, r->nr_roles, &r->links) ||
	    drop_privileges(stderr))
		return -1;
	return m->start ? m->start(r, ctx) : 0;
}

/* A report nobody could read is a failure: /dev/full, a closed stdout. */
static int report_write_error(void)
{
	int err = fflush(stdout) ? errno : 0;

	if (!err && !ferror(stdout))
		return 0;
	fprintf(stderr, "ipitrace: cannot write the report: %s\n",
		err ? strerror(err) : "write error");
	return 1;
}

int mode_run(const struct mode *m, const struct ipt_opts *o, void *ctx)
{
	struct run *r = calloc(1, sizeof(*r));
	int err = 1;

	if (!r) {
		fprintf(stderr, "ipitrace: out of memory\n");
		return 1;
	}
	r->o = o;
	if (tracer_prepare(o->verbose, o->btf))
		goto out;
	if (setup(m, r, ctx))
		goto out;
	if (o->list_hooks) {
		print_hook_table(stdout, r->roles, r->nr_roles);
	} else {
		m->banner(r, ctx, strcmp(o->format, "text") ? stderr : stdout);
		trace_loop(o, m->ops, ctx);
	}
	err = report_write_error();
out:
	detach_programs(&r->links);
	if (m->cleanup)
		m->cleanup(ctx);
	free(r);
	return err;
}
