// SPDX-License-Identifier: GPL-2.0
/* Unit tests for src/join: matching and segments on made-up records
 * (the real ones come from the end-to-end lab, tests/qemu/test-e2e.sh). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "join.h"

#define UNUSED		__attribute__((unused))
#define N		50
#define OFF		5000000000LL	/* host = guest + OFF */

static struct record g, h;

/* N guest IPIs 0 -> 2 (cross node) every 100 us, each seen by the host
 * 3 us after the send; one more guest IPI the host never saw; host IPIs
 * to other vCPUs and vectors in between */
static void make(bool chain)
{
	int i;

	memset(&g, 0, sizeof(g));
	memset(&h, 0, sizeof(h));
	g.side = REC_GUEST;
	h.side = REC_HOST;
	g.nr_cpus = 4;
	for (i = 0; i < 4; i++)
		g.node[i] = i / 2;
	strcpy(g.clocksource, "kvm-clock");
	g.g = calloc(N + 1, sizeof(*g.g));
	g.nr = N + 1;
	h.h = calloc(2 * N, sizeof(*h.h));
	h.start_ns = 1;
	h.end_ns = ~0ULL >> 2;
	for (i = 0; i <= N; i++) {
		/* written per CPU ring: not in send order */
		struct rec_guest_ipi *x = &g.g[(i * 7) % (N + 1)];

		x->send_ns = 1000000 + i * 100000;
		x->lat_ns = 20000;
		x->src_cpu = 0;
		x->dst_cpu = 2;
		x->vector = 0xfb;
	}
	for (i = 0; i < N; i++) {
		struct rec_host_ipi *y = &h.h[h.nr++], *z = &h.h[h.nr++];
		__u64 s = 1000000 + i * 100000 + OFF;
		int k;

		y->vm_pid = z->vm_pid = 42;
		y->src_vcpu = 0;
		y->dst_vcpu = 2;
		y->vector = 0xfb;
		y->exit_ts = s + 2000;
		for (k = 0; k < KS_MAX; k++)
			y->t[k] = s + 3000 + k * 1000;
		*z = *y;
		z->dst_vcpu = 1;	/* another target: never a match */
	}
	if (chain) {
		/* guest TSC = guest mono + 1e9; host TSC = guest TSC + 1e10
		 * (the VM's offset is -1e10); host mono = host TSC - 6e9 */
		g.nr_tsc = h.nr_tsc = 2;
		g.tsc[0] = (struct rec_tsc){ .mono = 0, .tsc = 1000000000, .err = 50 };
		g.tsc[1] = (struct rec_tsc){ .mono = 1000000000,
					     .tsc = 2000000000, .err = 50 };
		h.tsc[0] = (struct rec_tsc){ .mono = 1000000000,
					     .tsc = 7000000000, .err = 50 };
		h.tsc[1] = (struct rec_tsc){ .mono = 10000000000,
					     .tsc = 16000000000, .err = 50 };
		h.nr_vms = 1;
		h.vms[0] = (struct rec_vm_tsc){ .pid = 42, .vcpus = 4,
			.offset_min = -10000000000LL,
			.offset_max = -10000000000LL, .ratio = 1ULL << 32 };
	}
}

static void check(struct join *j)
{
	size_t i;
	int p;

	assert_int_equal(j->pid, 42);
	assert_int_equal(j->nr, N);
	assert_int_equal(j->guest_ipis, N + 1);
	assert_int_equal(j->unmatched[JU_NO_ICR], 1);
	assert_int_equal(j->negative, 0);
	for (i = 0; i < j->nr; i++) {
		const struct join_match *m = &j->m[i];
		__s64 sum = 0;

		assert_int_equal(h.h[m->h].dst_vcpu, 2);
		for (p = JP_EXIT; p < JP_MAX; p++)
			sum += m->seg[p];
		assert_int_equal(sum, g.g[m->g].lat_ns);
		assert_int_equal(m->numa, IPT_NUMA_CROSS);
	}
	assert_int_equal(j->grp[IPI_CALL_SINGLE][IPT_NUMA_CROSS][TS_BLOCKED].count, N);
	assert_true(j->lo <= j->offset && j->offset <= j->hi);
}

static void test_chain(void **state UNUSED)
{
	struct join_opts o = { .window_ns = 50000 };
	struct join *j = calloc(1, sizeof(*j));
	char err[128];

	make(true);
	assert_int_equal(join_run(j, &g, &h, &o, err, sizeof(err)), 0);
	assert_int_equal(j->clock, JC_TSC);
	assert_int_equal(j->offset, OFF);
	assert_int_equal(j->chain_err, 200);
	check(j);
	join_free(j);
	free(j);
}

static void test_aligned(void **state UNUSED)
{
	struct join_opts o = { .window_ns = 50000 };
	struct join *j = calloc(1, sizeof(*j));
	char err[128];

	make(true);
	h.vms[0].mixed = true;	/* vCPUs disagree: no TSC chain */
	assert_int_equal(join_run(j, &g, &h, &o, err, sizeof(err)), 0);
	assert_int_equal(j->clock, JC_ALIGNED);
	check(j);
	join_free(j);
	free(j);
}

static void test_wrong_sides(void **state UNUSED)
{
	struct join_opts o = { .window_ns = 50000 };
	struct join *j = calloc(1, sizeof(*j));
	char err[128];

	make(false);
	assert_int_equal(join_run(j, &h, &g, &o, err, sizeof(err)), -1);
	free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_aligned),
		cmocka_unit_test(test_wrong_sides),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
