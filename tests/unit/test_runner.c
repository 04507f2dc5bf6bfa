// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the mode runner's role tables against the real BPF
 * objects (src/common/runner.c, the guest and host role tables). */
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
#include "runner.h"

#define UNUSED		__attribute__((unused))

struct mode_objects {
	const char *obj;
	const struct hook_role *roles;
	const int *nr_roles;
};

static const struct mode_objects modes[] = {
	{ "build/ipi_guest.bpf.o", guest_roles_template, &guest_nr_roles },
	{ "build/ipi_host.bpf.o", host_roles_template, &host_nr_roles },
};

static int quiet(enum libbpf_print_level l UNUSED, const char *fmt UNUSED,
		 va_list ap UNUSED)
{
	return 0;
}

static bool is_candidate(const struct mode_objects *m, const char *prog)
{
	int i, j;

	for (i = 0; i < *m->nr_roles; i++)
		for (j = 0; j < HOOK_MAX_CANDS && m->roles[i].cands[j].type; j++)
			if (!strcmp(m->roles[i].cands[j].prog, prog))
				return true;
	return false;
}

/*
 * Both ways between a mode's roles and its object: every candidate names a
 * program in the object, and every program in the object is some role's
 * candidate (a program no role can choose is dead, or a role is missing).
 */
static void test_roles_match_objects(void **state UNUSED)
{
	size_t m;

	libbpf_set_print(quiet);
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct bpf_object *obj = bpf_object__open_file(modes[m].obj, NULL);
		struct bpf_program *p;
		int i, j, progs = 0;

		if (!obj)
			fail_msg("cannot open %s (run from the repo root after make)",
				 modes[m].obj);
		for (i = 0; i < *modes[m].nr_roles; i++) {
			const struct hook_role *r = &modes[m].roles[i];

			for (j = 0; j < HOOK_MAX_CANDS && r->cands[j].type; j++)
				if (!bpf_object__find_program_by_name(obj,
							r->cands[j].prog))
					fail_msg("%s: role %s: no program %s",
						 modes[m].obj, r->name,
						 r->cands[j].prog);
		}
		bpf_object__for_each_program(p, obj) {
			progs++;
			if (!is_candidate(&modes[m], bpf_program__name(p)))
				fail_msg("%s: program %s serves no role",
					 modes[m].obj, bpf_program__name(p));
		}
		assert_true(progs > *modes[m].nr_roles / 2);
		bpf_object__close(obj);
	}
}

static int position(const char **progs, int n, const char *prog)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(progs[i], prog))
			return i;
	return -1;
}

/* Every role on its first candidate: handlers before senders, a program
 * shared by several roles once. */
static void test_guest_attach_plan(void **state UNUSED)
{
	struct hook_role roles[RUN_MAX_ROLES];
	const char *progs[64];
	int i, n;

	memcpy(roles, guest_roles_template,
	       sizeof(roles[0]) * guest_nr_roles);
	for (i = 0; i < guest_nr_roles; i++)
		roles[i].chosen = 0;
	n = attach_plan(roles, guest_nr_roles, progs, 64);
	/* ipi_send_cpu serves three send roles: 11 roles, 9 programs */
	assert_int_equal(n, guest_nr_roles - 2);
	for (i = 0; i < n; i++)
		assert_int_equal(position(progs, n, progs[i]), i);
	assert_true(position(progs, n, "tp_btf_call_single_entry") <
		    position(progs, n, "tp_btf_ipi_send_cpu"));
	assert_true(position(progs, n, "tp_btf_resched_entry") <
		    position(progs, n, "tp_btf_ipi_send_cpumask"));
	assert_true(position(progs, n, "tp_btf_irq_work_entry") <
		    position(progs, n, "raw_tp_csd_queue_cpu"));
	assert_int_equal(attach_plan(roles, guest_nr_roles, progs, 3), -E2BIG);

	/* an unchosen role attaches nothing */
	roles[0].chosen = -1;
	roles[2].chosen = -1;
	roles[3].chosen = -1;
	assert_int_equal(attach_plan(roles, guest_nr_roles, progs, 64), n - 1);
	assert_int_equal(position(progs, n - 1, "tp_btf_ipi_send_cpu"), -1);
}

/* The halt end (kvm_vcpu_wakeup) before everything else in host mode. */
static void test_host_attach_plan(void **state UNUSED)
{
	struct hook_role roles[RUN_MAX_ROLES];
	const char *progs[64];
	int i, n;

	memcpy(roles, host_roles_template, sizeof(roles[0]) * host_nr_roles);
	for (i = 0; i < host_nr_roles; i++)
		roles[i].chosen = 0;
	n = attach_plan(roles, host_nr_roles, progs, 64);
	assert_int_equal(n, host_nr_roles);
	assert_string_equal(progs[0], "tp_btf_kvm_vcpu_wakeup");
	assert_true(position(progs, n, "tp_btf_sched_wakeup") > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_match_objects),
		cmocka_unit_test(test_guest_attach_plan),
		cmocka_unit_test(test_host_attach_plan),
	};

	return cmocka_run_group_tests_name("runner", tests, NULL, NULL);
}
