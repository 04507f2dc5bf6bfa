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
	assert_int_equal(j->unmatched[JU_NO_HOST], 1);
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

/* A host path longer than its guest latency (the clocks stepped while it
 * ran): matched, counted, kept out of the breakdown and of the fit, and no
 * other IPI's segments go negative for it. */
static void outlasting(bool chain)
{
	struct join_opts o = { .window_ns = 50000 };
	struct join *j = calloc(1, sizeof(*j));
	struct rec_host_ipi *y;
	char err[128];
	size_t i, n = 0;

	make(true);
	if (!chain)
		h.vms[0].mixed = true;
	y = &h.h[10];			/* the 6th IPI's host side, to vCPU 2 */
	y->t[KS_VM_ENTRY] = y->exit_ts + 21000;	/* > 20 us latency */
	assert_int_equal(join_run(j, &g, &h, &o, err, sizeof(err)), 0);
	assert_int_equal(j->nr, N);
	assert_int_equal(j->outlasting, 1);
	assert_int_equal(j->negative, 0);
	assert_int_equal(j->residual, 0);
	assert_true(j->lo <= j->offset && j->offset <= j->hi);
	for (i = 0; i < j->nr; i++)
		if (j->m[i].outlasts) {
			assert_ptr_equal(&h.h[j->m[i].h], y);
			n++;
		}
	assert_int_equal(n, 1);
	assert_int_equal(j->grp[IPI_CALL_SINGLE][IPT_NUMA_CROSS][TS_BLOCKED].count,
			 N - 1);
	join_free(j);
	free(j);
}

static void test_outlasting_chain(void **state UNUSED)
{
	outlasting(true);
}

static void test_outlasting_aligned(void **state UNUSED)
{
	outlasting(false);
}

static struct rec_guest_ipi *add_g(__u64 send, int src, int dst, int kind)
{
	struct rec_guest_ipi *x;

	g.g = realloc(g.g, (g.nr + 1) * sizeof(*g.g));
	x = memset(&g.g[g.nr++], 0, sizeof(*x));
	x->send_ns = send;
	x->lat_ns = 20000;
	x->src_cpu = src;
	x->dst_cpu = dst;
	x->kind = kind;
	x->vector = rec_kind_vector(kind);
	return x;
}

/* a host IPI for the guest IPI sent at @send (guest time): exit 2 us,
 * ICR 3 us after, a stage every us */
static struct rec_host_ipi *add_h(__u64 send, int src, int dst, int vector,
				  int state, unsigned flags)
{
	struct rec_host_ipi *y;
	int k;

	h.h = realloc(h.h, (h.nr + 1) * sizeof(*h.h));
	y = memset(&h.h[h.nr++], 0, sizeof(*y));
	y->vm_pid = 42;
	y->src_vcpu = src;
	y->dst_vcpu = dst;
	y->vector = vector;
	y->state = state;
	y->flags = flags;
	y->exit_ts = send + OFF + 2000;
	for (k = 0; k < KS_MAX; k++)
		y->t[k] = send + OFF + 3000 + k * 1000;
	return y;
}

/*
 * One guest IPI per reason, on top of make(true) (whose one unmatched IPI,
 * 0 -> 2 at 6 ms, now has its target in a recorded halt: no_host_ipi):
 *  10 ms  0 -> 3, the host's IPI to a halt-polling target whose next VM
 *         entry comes 40 us after the guest's handler: polled_target
 *  11 ms  1 -> {2, 3} multicast, one hypercall naming both; the host's
 *         per-target IPI to 2 only: 1 -> 2 matched (pv path), 1 -> 3
 *         pv_hypercall
 *  12 ms  2 -> 0, nothing from vCPU 2 on the host, 0 not halted: posted
 *  13 ms  2 -> 1, nothing from vCPU 2, 1 halted then: no_host_ipi
 *  14 ms  ipitrace's own: tracer
 *  30 ms  after the host stopped recording: outside_window
 */
static void make_reasons(bool halts)
{
	struct rec_host_ipi *y;
	struct rec_guest_ipi *x;

	make(true);
	h.end_ns = OFF + 20000000;
	h.have_halts = halts;
	add_g(10000000, 0, 3, IPI_CALL_SINGLE);
	y = add_h(10000000, 0, 3, 0xfb, TS_POLLING, REC_HF_FIRST);
	y->t[KS_KICK] = y->t[KS_WAKEUP] = y->t[KS_ON_CPU] = 0;
	y->t[KS_VM_ENTRY] = 10000000 + OFF + 60000;
	add_g(11000000, 1, 2, IPI_CALL_MANY);
	add_g(11000000, 1, 3, IPI_CALL_MANY);
	add_h(11000000, 1, 2, 0xfc, TS_BLOCKED, REC_HF_PV | REC_HF_FIRST);
	h.pv = calloc(1, sizeof(*h.pv));
	h.pv[h.nr_pv++] = (struct kick_pv_send){
		.ts = 11000000 + OFF + 3000, .vm_pid = 42, .src_vcpu = 1,
		.src_tid = 7, .vector = 0xfc, .min_apicid = 0,
		.bitmap_lo = 1 << 2 | 1 << 3,
	};
	add_g(12000000, 2, 0, IPI_CALL_SINGLE);
	add_g(13000000, 2, 1, IPI_CALL_SINGLE);
	h.halts = calloc(2, sizeof(*h.halts));
	h.halts[h.nr_halts++] = (struct rec_halt){
		.end_ts = 13000000 + OFF + 100000, .ns = 500000, .vm_pid = 42,
		.vcpu = 1,
	};
	h.halts[h.nr_halts++] = (struct rec_halt){
		.end_ts = 6000000 + OFF + 100000, .ns = 500000, .vm_pid = 42,
		.vcpu = 2,
	};
	x = add_g(14000000, 0, 2, IPI_CALL_SINGLE);
	x->flags = IPT_F_TRACER;
	add_g(30000000, 0, 2, IPI_CALL_SINGLE);
}

static void test_reasons(void **state UNUSED)
{
	struct join_opts o = { .window_ns = 50000 };
	struct join *j = calloc(1, sizeof(*j));
	char err[128];
	size_t i;

	make_reasons(true);
	assert_int_equal(join_run(j, &g, &h, &o, err, sizeof(err)), 0);
	assert_int_equal(j->clock, JC_TSC);
	assert_int_equal(j->nr, N + 1);
	assert_int_equal(j->matched_by_path[JPATH_ICR], N);
	assert_int_equal(j->matched_by_path[JPATH_PV], 1);
	assert_int_equal(j->host_by_path[JPATH_PV], 1);
	assert_int_equal(j->host_pv_sends, 1);
	assert_int_equal(j->guest_ipis, N + 6);
	assert_int_equal(j->unmatched[JU_OUTSIDE], 1);
	assert_int_equal(j->unmatched[JU_POLLED], 1);
	assert_int_equal(j->unmatched[JU_PV], 1);
	assert_int_equal(j->unmatched[JU_POSTED], 1);
	assert_int_equal(j->unmatched[JU_NO_HOST], 2);
	assert_int_equal(j->unmatched[JU_TRACER], 1);
	assert_int_equal(j->negative, 0);
	for (i = 0; i < j->nr; i++) {
		const struct rec_guest_ipi *x = &g.g[j->m[i].g];

		assert_int_equal(j->m[i].path, x->kind == IPI_CALL_MANY ?
				 JPATH_PV : JPATH_ICR);
		if (x->kind == IPI_CALL_MANY)
			assert_int_equal(x->dst_cpu, 2);
	}
	/* the multicast IPI has its breakdown too */
	assert_int_equal(j->grp[IPI_CALL_MANY][IPT_NUMA_CROSS][TS_BLOCKED].count, 1);
	join_free(j);

	/* a version 1 host file has no halts: nothing tells posted apart */
	make_reasons(false);
	assert_int_equal(join_run(j, &g, &h, &o, err, sizeof(err)), 0);
	assert_int_equal(j->unmatched[JU_POSTED], 0);
	assert_int_equal(j->unmatched[JU_NO_HOST], 3);
	assert_int_equal(j->unmatched[JU_PV], 1);
	assert_int_equal(j->unmatched[JU_POLLED], 1);
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
		cmocka_unit_test(test_outlasting_chain),
		cmocka_unit_test(test_outlasting_aligned),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_wrong_sides),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
