// SPDX-License-Identifier: GPL-2.0
/* Unit tests for hook selection (src/hooks.c) with fake kernels. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <bpf/libbpf.h>
#include "guest.h"
#include "host.h"
#include "hooks.h"

#define UNUSED		__attribute__((unused))

#define BPF_OBJ "build/ipi_guest.bpf.o"

/* A fake kernel: NULL-terminated name lists per hook type; a list holding
 * only "*" offers everything. tp_btf gets the bare event name, raw_tp
 * "category/event", fentry and kprobe a function name. */
struct fake_kernel {
	const char *const *tp_btf;
	const char *const *raw_tp;
	const char *const *fentry;
	const char *const *kprobe;
	int calls;
};

static bool in_list(const char *const *l, const char *name)
{
	for (; l && *l; l++)
		if (!strcmp(*l, "*") || !strcmp(*l, name))
			return true;
	return false;
}

static bool fk_tp_btf(const char *ev, void *ctx)
{
	struct fake_kernel *k = ctx;

	k->calls++;
	assert_null(strchr(ev, '/'));
	return in_list(k->tp_btf, ev);
}

static bool fk_raw_tp(const char *cat_ev, void *ctx)
{
	struct fake_kernel *k = ctx;

	k->calls++;
	assert_non_null(strchr(cat_ev, '/'));
	return in_list(k->raw_tp, cat_ev);
}

static bool fk_fentry(const char *fn, void *ctx)
{
	struct fake_kernel *k = ctx;

	k->calls++;
	return in_list(k->fentry, fn);
}

static bool fk_kprobe(const char *fn, void *ctx)
{
	struct fake_kernel *k = ctx;

	k->calls++;
	return in_list(k->kprobe, fn);
}

static struct hook_probe probe_of(struct fake_kernel *k)
{
	struct hook_probe p = {
		.has_tp_btf = fk_tp_btf, .has_raw_tp = fk_raw_tp,
		.has_fentry = fk_fentry, .has_kprobe = fk_kprobe, .ctx = k,
	};

	return p;
}

static const char *const ALL[] = { "*", NULL };

/* a role offering every hook type */
static struct hook_role full_role(bool required)
{
	struct hook_role r = {
		.name = "r", .required = required, .chosen = 99,
		.cands = {
			{ HOOK_TP_BTF, "cat/ev", "tp_btf_ev" },
			{ HOOK_RAW_TP, "cat/ev", "raw_tp_ev" },
			{ HOOK_FENTRY, "fn", "fentry_fn" },
			{ HOOK_KPROBE, "fn", "kprobe_fn" },
		},
	};

	return r;
}

static void test_preference_order(void **state)
{
	static const char *const ev[] = { "ev", NULL };
	static const char *const cat_ev[] = { "cat/ev", NULL };
	static const char *const fn[] = { "fn", NULL };
	struct fake_kernel k = { ev, cat_ev, fn, fn, 0 };
	struct hook_probe p = probe_of(&k);
	struct hook_role r = full_role(true);
	const char *missing = "untouched";

	(void)state;
	assert_int_equal(hooks_select(&r, 1, &p, &missing), 0);
	assert_int_equal(r.chosen, 0);
	assert_int_equal(k.calls, 1);	/* stops at the first usable one */
	assert_string_equal(missing, "untouched");
	k.tp_btf = NULL;
	assert_int_equal(hooks_select(&r, 1, &p, &missing), 0);
	assert_int_equal(r.chosen, 1);
	k.raw_tp = NULL;
	assert_int_equal(hooks_select(&r, 1, &p, &missing), 0);
	assert_int_equal(r.chosen, 2);
	k.fentry = NULL;
	assert_int_equal(hooks_select(&r, 1, &p, &missing), 0);
	assert_int_equal(r.chosen, 3);
	/* only a lower one offered, higher ones missing */
	k.tp_btf = ev;
	k.kprobe = NULL;
	assert_int_equal(hooks_select(&r, 1, &p, &missing), 0);
	assert_int_equal(r.chosen, 0);
	/* the wrong names do not match */
	k.tp_btf = cat_ev;	/* tp_btf is asked the bare event */
	k.raw_tp = ev;		/* raw_tp is asked "cat/ev" */
	k.fentry = ev;
	k.kprobe = ev;
	assert_int_equal(hooks_select(&r, 1, &p, &missing), -ENOENT);
	assert_int_equal(r.chosen, -1);
}

static void test_required_missing(void **state)
{
	struct fake_kernel k = { 0 };
	struct hook_probe p = probe_of(&k);
	struct hook_role r[3] = { full_role(false), full_role(true),
				  full_role(true) };
	const char *missing = NULL;

	(void)state;
	r[0].name = "opt";
	r[1].name = "need1";
	r[2].name = "need2";
	assert_int_equal(hooks_select(r, 3, &p, &missing), -ENOENT);
	assert_non_null(missing);
	assert_string_equal(missing, "need1");	/* the first one */
	assert_int_equal(r[0].chosen, -1);
	assert_int_equal(r[1].chosen, -1);
	/* NULL missing pointer is allowed */
	assert_int_equal(hooks_select(r, 3, &p, NULL), -ENOENT);
}

static void test_optional_missing(void **state)
{
	static const char *const fn[] = { "fn", NULL };
	struct fake_kernel k = { .fentry = fn };
	struct hook_probe p = probe_of(&k);
	struct hook_role r[2] = { full_role(false), full_role(true) };
	struct hook_role empty = { .name = "empty", .required = false };
	const char *missing = NULL;

	(void)state;
	r[0].cands[2].target = "absent";
	r[0].cands[3].target = "absent";
	assert_int_equal(hooks_select(r, 2, &p, &missing), 0);
	assert_null(missing);
	assert_int_equal(r[0].chosen, -1);
	assert_int_equal(r[1].chosen, 2);
	/* a role without candidates */
	empty.chosen = 5;
	assert_int_equal(hooks_select(&empty, 1, &p, &missing), 0);
	assert_int_equal(empty.chosen, -1);
}

static void test_hook_desc(void **state)
{
	struct hook_role r = full_role(true);
	char buf[64], small[8];
	int i;
	static const char *const want[] = {
		"tp_btf:cat/ev", "raw_tp:cat/ev", "fentry:fn", "kprobe:fn",
	};

	(void)state;
	for (i = 0; i < 4; i++) {
		r.chosen = i;
		assert_ptr_equal(hook_desc(&r, buf, sizeof(buf)), buf);
		assert_string_equal(buf, want[i]);
	}
	r.chosen = -1;
	assert_null(hook_desc(&r, buf, sizeof(buf)));
	/* truncated, still terminated */
	r.chosen = 0;
	assert_string_equal(hook_desc(&r, small, sizeof(small)), "tp_btf:");
	assert_string_equal(hook_type_name(HOOK_NONE), "none");
	assert_string_equal(hook_type_name(HOOK_TP_BTF), "tp_btf");
	assert_string_equal(hook_type_name(HOOK_RAW_TP), "raw_tp");
	assert_string_equal(hook_type_name(HOOK_FENTRY), "fentry");
	assert_string_equal(hook_type_name(HOOK_KPROBE), "kprobe");
	assert_string_equal(hook_type_name((enum hook_type)42), "?");
}

/* ---- the real guest role table ---- */

static struct hook_role roles[16];

static int role_idx(const char *name)
{
	int i;

	for (i = 0; i < guest_nr_roles; i++)
		if (!strcmp(roles[i].name, name))
			return i;
	fail_msg("no role %s", name);
	return -1;
}

static const struct hook_cand *chosen(const char *name)
{
	const struct hook_role *r = &roles[role_idx(name)];

	return r->chosen < 0 ? NULL : &r->cands[r->chosen];
}

static int select_guest(struct fake_kernel *k, const char **missing)
{
	struct hook_probe p = probe_of(k);

	assert_true(guest_nr_roles <= 16);
	memcpy(roles, guest_roles_template,
	       sizeof(guest_roles_template[0]) * guest_nr_roles);
	return hooks_select(roles, guest_nr_roles, &p, missing);
}

/* tracepoints everywhere (ipi, irq_vectors, csd, sched); fentry
 * refused (as under some hypervisors), no kprobe PMU */
static void test_guest_618(void **state)
{
	struct fake_kernel k = { ALL, ALL, NULL, NULL, 0 };
	const char *missing = NULL;
	char buf[128];
	int i;

	(void)state;
	assert_int_equal(select_guest(&k, &missing), 0);
	assert_int_equal(chosen("send_call_single")->type, HOOK_TP_BTF);
	assert_string_equal(chosen("send_call_single")->prog, "tp_btf_ipi_send_cpu");
	assert_string_equal(hook_desc(&roles[role_idx("send_call_single")],
				      buf, sizeof(buf)),
			    "tp_btf:ipi/ipi_send_cpu");
	assert_int_equal(chosen("send_call_many")->type, HOOK_TP_BTF);
	assert_int_equal(chosen("send_resched")->type, HOOK_TP_BTF);
	assert_int_equal(chosen("entry_call_single")->type, HOOK_TP_BTF);
	assert_string_equal(chosen("entry_call_single")->prog,
			    "tp_btf_call_single_entry");
	/* the csd tracepoints are raw_tp only */
	assert_int_equal(chosen("csd_queue")->type, HOOK_RAW_TP);
	assert_int_equal(chosen("csd_entry")->type, HOOK_RAW_TP);
	for (i = 0; i < guest_nr_roles; i++)
		assert_true(roles[i].chosen >= 0);

	/* the same kernel, BTF-typed tracepoints unavailable: raw_tp */
	k.tp_btf = NULL;
	assert_int_equal(select_guest(&k, &missing), 0);
	for (i = 0; i < guest_nr_roles; i++)
		assert_int_equal(roles[i].cands[roles[i].chosen].type,
				 HOOK_RAW_TP);
}

/* 6.1: no ipi or csd tracepoints (6.3+), fentry works */
static void test_guest_61(void **state)
{
	static const char *const tp[] = {
		"call_function_single_entry", "call_function_entry",
		"reschedule_entry", "irq_work_entry",
		"sched_wake_idle_without_ipi", NULL,
	};
	static const char *const raw[] = {
		"irq_vectors/call_function_single_entry",
		"irq_vectors/call_function_entry",
		"irq_vectors/reschedule_entry", "irq_vectors/irq_work_entry",
		"sched/sched_wake_idle_without_ipi", NULL,
	};
	struct fake_kernel k = { tp, raw, ALL, ALL, 0 };
	const char *missing = NULL;

	(void)state;
	assert_int_equal(select_guest(&k, &missing), 0);
	assert_null(missing);
	assert_int_equal(chosen("send_call_single")->type, HOOK_FENTRY);
	assert_string_equal(chosen("send_call_single")->target,
			    "native_send_call_func_single_ipi");
	assert_string_equal(chosen("send_call_single")->prog,
			    "fentry_send_call_single");
	assert_int_equal(chosen("send_call_many")->type, HOOK_FENTRY);
	assert_int_equal(chosen("send_resched")->type, HOOK_FENTRY);
	assert_int_equal(chosen("send_irq_work")->type, HOOK_FENTRY);
	assert_int_equal(chosen("entry_call_single")->type, HOOK_TP_BTF);
	assert_int_equal(chosen("entry_resched")->type, HOOK_TP_BTF);
	assert_null(chosen("csd_queue"));
	assert_null(chosen("csd_entry"));
	assert_int_equal(chosen("wake_idle_without_ipi")->type, HOOK_TP_BTF);
}

/* only kprobes for the send functions (no BTF: no tp_btf, no fentry) */
static void test_guest_kprobe_only(void **state)
{
	static const char *const raw[] = {
		"irq_vectors/call_function_single_entry",
		"irq_vectors/reschedule_entry", NULL,
	};
	static const char *const kp[] = {
		"native_send_call_func_single_ipi",
		"native_smp_send_reschedule", "native_send_call_func_ipi",
		"arch_irq_work_raise", NULL,
	};
	struct fake_kernel k = { NULL, raw, NULL, kp, 0 };
	const char *missing = NULL;

	(void)state;
	assert_int_equal(select_guest(&k, &missing), 0);
	assert_int_equal(chosen("send_call_single")->type, HOOK_KPROBE);
	assert_string_equal(chosen("send_call_single")->prog,
			    "kprobe_send_call_single");
	assert_int_equal(chosen("send_call_many")->type, HOOK_KPROBE);
	assert_int_equal(chosen("send_resched")->type, HOOK_KPROBE);
	assert_int_equal(chosen("send_irq_work")->type, HOOK_KPROBE);
	assert_int_equal(chosen("entry_call_single")->type, HOOK_RAW_TP);
	assert_int_equal(chosen("entry_resched")->type, HOOK_RAW_TP);
	assert_null(chosen("entry_call_many"));
	assert_null(chosen("entry_irq_work"));
	assert_null(chosen("csd_queue"));
	assert_null(chosen("wake_idle_without_ipi"));
}

static void test_guest_required_missing(void **state)
{
	static const char *const raw[] = {
		"irq_vectors/call_function_single_entry", NULL,
	};
	struct fake_kernel k = { NULL, raw, NULL, NULL, 0 };
	const char *missing = NULL;

	(void)state;
	/* no way to see sends */
	assert_int_equal(select_guest(&k, &missing), -ENOENT);
	assert_string_equal(missing, "send_call_single");
	/* sends but no handler entry */
	k.raw_tp = NULL;
	k.kprobe = ALL;
	missing = NULL;
	assert_int_equal(select_guest(&k, &missing), -ENOENT);
	assert_string_equal(missing, "entry_call_single");
}

/* ---- hooks_apply on the real BPF object (open only, no load) ---- */

static int quiet(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	(void)l;
	(void)fmt;
	(void)ap;
	return 0;
}

static bool is_chosen_prog(const char *name)
{
	int i;

	for (i = 0; i < guest_nr_roles; i++)
		if (roles[i].chosen >= 0 &&
		    !strcmp(roles[i].cands[roles[i].chosen].prog, name))
			return true;
	return false;
}

static void check_autoload(struct bpf_object *obj, int want_on)
{
	struct bpf_program *prog;
	int on = 0, total = 0;

	bpf_object__for_each_program(prog, obj) {
		const char *name = bpf_program__name(prog);
		bool want = is_chosen_prog(name);

		total++;
		if (bpf_program__autoload(prog) != want)
			fail_msg("%s: autoload %d, want %d", name,
				 bpf_program__autoload(prog), want);
		on += want;
	}
	assert_true(total >= 20);
	assert_int_equal(on, want_on);
}

static void test_apply_real_object(void **state)
{
	static const char *const tp[] = {
		"call_function_single_entry", "call_function_entry",
		"reschedule_entry", "irq_work_entry", NULL,
	};
	struct fake_kernel k618 = { ALL, ALL, NULL, NULL, 0 };
	struct fake_kernel k61 = { tp, NULL, ALL, ALL, 0 };
	struct bpf_object *obj;
	const char *missing;
	int i;

	(void)state;
	libbpf_set_print(quiet);
	obj = bpf_object__open_file(BPF_OBJ, NULL);
	if (!obj)
		fail_msg("cannot open %s (run from the repo root after make)",
			 BPF_OBJ);

	/* every candidate of every role names a program in the object */
	for (i = 0; i < guest_nr_roles; i++) {
		int j;

		for (j = 0; j < HOOK_MAX_CANDS &&
			    guest_roles_template[i].cands[j].type; j++)
			if (!bpf_object__find_program_by_name(obj,
				guest_roles_template[i].cands[j].prog))
				fail_msg("role %s: no program %s",
					 guest_roles_template[i].name,
					 guest_roles_template[i].cands[j].prog);
	}

	/* 6.18-like: the three ipi_send_cpu roles share one program:
	 * ipi_send_cpu, ipi_send_cpumask, 4 entries, timer, 2 csd, wake = 10 */
	assert_int_equal(select_guest(&k618, &missing), 0);
	assert_int_equal(hooks_apply(roles, guest_nr_roles, obj), 0);
	check_autoload(obj, 10);
	assert_true(bpf_program__autoload(
		bpf_object__find_program_by_name(obj, "tp_btf_ipi_send_cpu")));
	assert_false(bpf_program__autoload(
		bpf_object__find_program_by_name(obj, "raw_tp_ipi_send_cpu")));
	assert_false(bpf_program__autoload(
		bpf_object__find_program_by_name(obj, "fentry_send_call_single")));

	/* re-applying another selection switches the old ones off:
	 * 4 fentry sends + 4 tp_btf entries */
	assert_int_equal(select_guest(&k61, &missing), 0);
	assert_int_equal(hooks_apply(roles, guest_nr_roles, obj), 0);
	check_autoload(obj, 8);
	assert_false(bpf_program__autoload(
		bpf_object__find_program_by_name(obj, "tp_btf_ipi_send_cpu")));
	assert_true(bpf_program__autoload(
		bpf_object__find_program_by_name(obj, "fentry_send_resched")));

	/* a chosen program missing from the object */
	roles[0].cands[roles[0].chosen].prog = "no_such_prog";
	assert_int_equal(hooks_apply(roles, guest_nr_roles, obj), -ENOENT);
	bpf_object__close(obj);
}

static bool fk_tracefs(const char *cat_ev UNUSED, void *ctx UNUSED)
{
	return true;
}

static const char *fk_btf_obj(enum hook_type t UNUSED, const char *target,
			      void *ctx UNUSED)
{
	return strcmp(target, "cat/ev") ? "vmlinux" : "kvm";
}

/* --force-hooks: a role takes its candidate of the forced type when the
 * kernel offers it, else its usual choice. */
static void test_force_hooks(void **state)
{
	struct fake_kernel k = { ALL, ALL, ALL, NULL, 0 };
	struct hook_probe p = probe_of(&k);
	struct hook_role roles[3] = { full_role(true), full_role(false), {
		.name = "tp", .cands = { HOOK_TP3("cat", "ev", "ev") } } };

	(void)state;
	p.has_tracefs_event = fk_tracefs;
	p.force = HOOK_FENTRY;
	assert_int_equal(hooks_select(roles, 3, &p, NULL), 0);
	assert_int_equal(roles[0].cands[roles[0].chosen].type, HOOK_FENTRY);
	assert_int_equal(roles[2].cands[roles[2].chosen].type, HOOK_TP_BTF);
	p.force = HOOK_KPROBE;			/* not offered: usual choice */
	assert_int_equal(hooks_select(roles, 3, &p, NULL), 0);
	assert_int_equal(roles[0].cands[roles[0].chosen].type, HOOK_TP_BTF);
	p.force = HOOK_TRACEPOINT;
	assert_int_equal(hooks_select(roles, 3, &p, NULL), 0);
	assert_int_equal(roles[0].cands[roles[0].chosen].type, HOOK_TP_BTF);
	assert_int_equal(roles[2].cands[roles[2].chosen].type, HOOK_TRACEPOINT);
	assert_string_equal(roles[2].cands[roles[2].chosen].prog, "tp_ev");
	p.force = HOOK_RAW_TP;
	assert_int_equal(hooks_select(roles, 3, &p, NULL), 0);
	assert_int_equal(roles[1].cands[roles[1].chosen].type, HOOK_RAW_TP);
	assert_int_equal(hook_type_from_name("tracepoint"), HOOK_TRACEPOINT);
	assert_int_equal(hook_type_from_name("tp_btf"), HOOK_TP_BTF);
	assert_int_equal(hook_type_from_name("kprobes"), HOOK_NONE);
	assert_int_equal(hook_type_from_name("none"), HOOK_NONE);
	assert_int_equal(hook_type_from_name(NULL), HOOK_NONE);
}

/* The BTF object of a tp_btf / fentry choice is recorded, not of others. */
static void test_btf_object(void **state)
{
	struct fake_kernel k = { ALL, ALL, ALL, NULL, 0 };
	struct hook_probe p = probe_of(&k);
	struct hook_role roles[1] = { full_role(true) };

	(void)state;
	p.btf_obj = fk_btf_obj;
	assert_int_equal(hooks_select(roles, 1, &p, NULL), 0);
	assert_string_equal(roles[0].btf_obj, "kvm");
	p.force = HOOK_FENTRY;
	assert_int_equal(hooks_select(roles, 1, &p, NULL), 0);
	assert_string_equal(roles[0].btf_obj, "vmlinux");
	p.force = HOOK_RAW_TP;
	assert_int_equal(hooks_select(roles, 1, &p, NULL), 0);
	assert_string_equal(roles[0].btf_obj, "");
}

/* Every host role's candidates name programs of the host object, and each
 * forced rung loads its own programs. */
static void test_host_roles_match_object(void **state)
{
	static const enum hook_type rungs[] = { HOOK_TP_BTF, HOOK_RAW_TP,
		HOOK_TRACEPOINT, HOOK_FENTRY, HOOK_KPROBE };
	struct fake_kernel k = { ALL, ALL, ALL, ALL, 0 };
	struct hook_probe p = probe_of(&k);
	struct hook_role roles[32];
	struct bpf_object *obj;
	size_t r;
	int i, j;

	(void)state;
	assert_true(host_nr_roles <= 32);
	libbpf_set_print(quiet);
	obj = bpf_object__open_file("build/ipi_host.bpf.o", NULL);
	if (!obj)
		fail_msg("cannot open build/ipi_host.bpf.o");
	for (i = 0; i < host_nr_roles; i++)
		for (j = 0; j < HOOK_MAX_CANDS &&
			    host_roles_template[i].cands[j].type; j++)
			if (!bpf_object__find_program_by_name(obj,
				host_roles_template[i].cands[j].prog))
				fail_msg("role %s: no program %s",
					 host_roles_template[i].name,
					 host_roles_template[i].cands[j].prog);
	p.has_tracefs_event = fk_tracefs;
	for (r = 0; r < sizeof(rungs) / sizeof(rungs[0]); r++) {
		int forced = 0;

		memcpy(roles, host_roles_template,
		       sizeof(roles[0]) * host_nr_roles);
		p.force = rungs[r];
		assert_int_equal(hooks_select(roles, host_nr_roles, &p, NULL), 0);
		assert_int_equal(hooks_apply(roles, host_nr_roles, obj), 0);
		for (i = 0; i < host_nr_roles; i++)
			forced += roles[i].cands[roles[i].chosen].type == rungs[r];
		/* kvm:* roles have tracepoints; the kick fentry and kprobe */
		assert_true(forced >= (rungs[r] == HOOK_FENTRY ||
				       rungs[r] == HOOK_KPROBE ? 1 : 7));
	}
	bpf_object__close(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preference_order),
		cmocka_unit_test(test_required_missing),
		cmocka_unit_test(test_optional_missing),
		cmocka_unit_test(test_hook_desc),
		cmocka_unit_test(test_guest_618),
		cmocka_unit_test(test_guest_61),
		cmocka_unit_test(test_guest_kprobe_only),
		cmocka_unit_test(test_guest_required_missing),
		cmocka_unit_test(test_apply_real_object),
		cmocka_unit_test(test_force_hooks),
		cmocka_unit_test(test_btf_object),
		cmocka_unit_test(test_host_roles_match_object),
	};

	return cmocka_run_group_tests_name("hooks", tests, NULL, NULL);
}
