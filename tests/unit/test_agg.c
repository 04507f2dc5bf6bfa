// SPDX-License-Identifier: GPL-2.0
/* Unit tests for aggregation (src/guest/agg.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "agg.h"
#include "topology.h"

struct fix {
	struct topology topo;
	struct agg agg;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(topology_parse_map(&f->topo, "0-1:0/2-3:1"), 0);
	assert_int_equal(f->topo.nr_cpus, 4);
	assert_int_equal(agg_init(&f->agg, &f->topo, 4), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	agg_free(&f->agg);
	topology_free(&f->topo);
	free(f);
	return 0;
}

static struct ipi_event ev(int type, int kind, __u32 src, __u32 dst,
			   __u64 lat, __u64 callsite, __u64 func)
{
	struct ipi_event e = {
		.send_ns = 1000000, .lat_ns = lat, .callsite = callsite,
		.func = func, .src_cpu = src, .dst_cpu = dst,
		.type = (__u8)type, .kind = (__u8)kind,
	};

	return e;
}

static void add(struct agg *a, int type, int kind, __u32 src, __u32 dst,
		__u64 lat)
{
	struct ipi_event e = ev(type, kind, src, dst, lat, 0x1000, 0x2000);

	agg_add(a, &e);
}

/* every IPI record lands in exactly one (NUMA class, kind) histogram */
static __u64 ipi_records(const struct agg *a)
{
	__u64 n = 0;
	int c, k;

	for (c = 0; c < IPT_NUMA_MAX; c++)
		for (k = 0; k < IPI_KIND_MAX; k++)
			n += a->ipi[c][k].count;
	return n;
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(ipi_kind_name(IPI_CALL_SINGLE), "call_single");
	assert_string_equal(ipi_kind_name(IPI_CALL_MANY), "call_many");
	assert_string_equal(ipi_kind_name(IPI_RESCHED), "resched");
	assert_string_equal(ipi_kind_name(IPI_IRQ_WORK), "irq_work");
	assert_string_equal(ipi_kind_name(IPI_OTHER), "other");
	assert_string_equal(ipi_kind_name(IPI_KIND_MAX), "?");
	assert_string_equal(ipi_kind_name(-1), "?");
	assert_string_equal(numa_class_name(IPT_NUMA_SAME), "same");
	assert_string_equal(numa_class_name(IPT_NUMA_CROSS), "cross");
	assert_string_equal(numa_class_name(IPT_NUMA_UNKNOWN), "unknown");
	assert_string_equal(numa_class_name(IPT_NUMA_MAX), "?");
}

static void test_numa_class(void **state)
{
	struct fix *f = *state;
	struct agg *a = &f->agg;
	struct agg none;

	assert_int_equal(agg_numa_class(a, 0, 1), IPT_NUMA_SAME);
	assert_int_equal(agg_numa_class(a, 1, 0), IPT_NUMA_SAME);
	assert_int_equal(agg_numa_class(a, 2, 3), IPT_NUMA_SAME);
	assert_int_equal(agg_numa_class(a, 0, 2), IPT_NUMA_CROSS);
	assert_int_equal(agg_numa_class(a, 3, 1), IPT_NUMA_CROSS);
	assert_int_equal(agg_numa_class(a, 0, 0), IPT_NUMA_SAME);
	assert_int_equal(agg_numa_class(a, 3, 3), IPT_NUMA_SAME);
	/* a CPU the map does not know */
	assert_int_equal(agg_numa_class(a, 0, 9), IPT_NUMA_UNKNOWN);
	assert_int_equal(agg_numa_class(a, 9, 9), IPT_NUMA_SAME);	/* self */
	/* no topology at all */
	assert_int_equal(agg_init(&none, NULL, 4), 0);
	assert_int_equal(agg_numa_class(&none, 0, 2), IPT_NUMA_UNKNOWN);
	assert_int_equal(agg_numa_class(&none, 2, 2), IPT_NUMA_SAME);
	agg_free(&none);
}

static void test_counts_by_class_and_kind(void **state)
{
	struct fix *f = *state;
	struct agg *a = &f->agg;
	int n, k;
	__u64 total = 0;

	add(a, REC_IPI, IPI_CALL_SINGLE, 0, 1, 1000);	/* same */
	add(a, REC_IPI, IPI_CALL_SINGLE, 0, 1, 3000);	/* same */
	add(a, REC_IPI, IPI_CALL_SINGLE, 0, 2, 5000);	/* cross */
	add(a, REC_IPI, IPI_RESCHED, 3, 0, 7000);	/* cross */
	add(a, REC_IPI, IPI_RESCHED, 2, 3, 2000);	/* same */
	add(a, REC_IPI, IPI_IRQ_WORK, 1, 1, 400);	/* self: same */
	add(a, REC_IPI, IPI_CALL_MANY, 2, 1, 9000);	/* cross */
	assert_int_equal(ipi_records(a), 7);
	assert_int_equal(a->ipi[IPT_NUMA_SAME][IPI_CALL_SINGLE].count, 2);
	assert_int_equal(a->ipi[IPT_NUMA_SAME][IPI_CALL_SINGLE].min, 1000);
	assert_int_equal(a->ipi[IPT_NUMA_SAME][IPI_CALL_SINGLE].max, 3000);
	assert_int_equal(hist_mean(&a->ipi[IPT_NUMA_SAME][IPI_CALL_SINGLE]), 2000);
	assert_int_equal(a->ipi[IPT_NUMA_CROSS][IPI_CALL_SINGLE].count, 1);
	assert_int_equal(a->ipi[IPT_NUMA_CROSS][IPI_CALL_SINGLE].sum, 5000);
	assert_int_equal(a->ipi[IPT_NUMA_CROSS][IPI_RESCHED].count, 1);
	assert_int_equal(a->ipi[IPT_NUMA_SAME][IPI_RESCHED].count, 1);
	assert_int_equal(a->ipi[IPT_NUMA_SAME][IPI_IRQ_WORK].count, 1);
	assert_int_equal(a->ipi[IPT_NUMA_CROSS][IPI_CALL_MANY].count, 1);
	for (n = 0; n < IPT_NUMA_MAX; n++)
		for (k = 0; k < IPI_KIND_MAX; k++)
			total += a->ipi[n][k].count;
	assert_int_equal(total, 7);
	assert_int_equal(a->ipi[IPT_NUMA_UNKNOWN][IPI_CALL_SINGLE].count, 0);
	assert_int_equal(a->ipi[IPT_NUMA_SAME][IPI_OTHER].count, 0);
	assert_int_equal(a->out_of_range, 0);
	for (n = 0; n < IPT_NUMA_MAX; n++)
		assert_int_equal(a->csd[n].count, 0);
}

static void test_pair_matrix(void **state)
{
	struct fix *f = *state;
	struct agg *a = &f->agg;
	int s, d, i;

	for (i = 0; i < 5; i++)
		add(a, REC_IPI, IPI_CALL_SINGLE, 0, 3, 1000 + i);
	add(a, REC_IPI, IPI_RESCHED, 0, 3, 50);		/* kinds merged */
	add(a, REC_IPI, IPI_RESCHED, 3, 0, 60);		/* direction kept */
	add(a, REC_IPI, IPI_IRQ_WORK, 2, 2, 70);
	assert_int_equal(agg_pair(a, 0, 3)->count, 6);
	assert_int_equal(agg_pair(a, 0, 3)->min, 50);
	assert_int_equal(agg_pair(a, 3, 0)->count, 1);
	assert_int_equal(agg_pair(a, 2, 2)->count, 1);
	for (s = 0; s < 4; s++)
		for (d = 0; d < 4; d++)
			if (!((s == 0 && d == 3) || (s == 3 && d == 0) ||
			      (s == 2 && d == 2)))
				assert_null(agg_pair(a, s, d));
	/* out of the matrix */
	assert_null(agg_pair(a, -1, 0));
	assert_null(agg_pair(a, 0, 4));
	assert_null(agg_pair(a, 4, 0));
}

/* CSD latencies come from the kernel's histograms (kind IPI_KIND_MAX) */
static void test_csd_classes(void **state)
{
	struct fix *f = *state;
	struct agg *a = &f->agg;
	struct hist same = {}, cross = {};
	int n, k;

	hist_add(&same, 2000);
	hist_add(&same, 100);
	hist_add(&cross, 4000);
	agg_set_class(a, IPT_NUMA_SAME, IPI_KIND_MAX, &same);
	agg_set_class(a, IPT_NUMA_CROSS, IPI_KIND_MAX, &cross);
	assert_int_equal(a->csd[IPT_NUMA_SAME].count, 2);
	assert_int_equal(a->csd[IPT_NUMA_CROSS].count, 1);
	assert_int_equal(a->csd[IPT_NUMA_CROSS].max, 4000);
	for (n = 0; n < IPT_NUMA_MAX; n++)
		for (k = 0; k < IPI_KIND_MAX; k++)
			assert_int_equal(a->ipi[n][k].count, 0);
	/* CSD records are not IPIs: not in the CPU-pair matrix */
	assert_null(agg_pair(a, 0, 1));
	assert_null(agg_pair(a, 0, 2));
}

static void test_out_of_range_cpu(void **state)
{
	struct fix *f = *state;
	struct agg *a = &f->agg;
	struct ipi_event e = ev(REC_IPI, IPI_RESCHED, 0, 200, 100, 1, 2);

	agg_add(a, &e);
	e.src_cpu = 4;
	e.dst_cpu = 0;
	agg_add(a, &e);
	e.src_cpu = 0xffffffff;
	e.dst_cpu = 0xfffffffe;
	agg_add(a, &e);
	assert_int_equal(a->out_of_range, 3);
	assert_int_equal(ipi_records(a), 3);
	/* still counted by kind; the node is unknown */
	assert_int_equal(a->ipi[IPT_NUMA_UNKNOWN][IPI_RESCHED].count, 3);
	/* nothing in the matrix */
	assert_null(agg_pair(a, 0, 0));
	/* a valid one still lands in the matrix */
	e.src_cpu = 1;
	e.dst_cpu = 0;
	agg_add(a, &e);
	assert_int_equal(agg_pair(a, 1, 0)->count, 1);
	assert_int_equal(a->out_of_range, 3);
}

static void test_bad_kind(void **state)
{
	struct fix *f = *state;
	struct agg *a = &f->agg;
	struct ipi_event e = ev(REC_IPI, IPI_KIND_MAX, 0, 1, 100, 1, 2);
	int n, k;

	agg_add(a, &e);
	e.kind = 0xff;
	agg_add(a, &e);
	for (n = 0; n < IPT_NUMA_MAX; n++)
		for (k = 0; k < IPI_KIND_MAX; k++)
			assert_int_equal(a->ipi[n][k].count, 0);
	assert_null(agg_pair(a, 0, 1));
}

static void test_callers_ranking(void **state)
{
	struct fix *f = *state;
	struct agg *a = &f->agg;
	struct caller_stat top[8];
	struct ipi_event e;
	size_t n, i;

	/* A: 5 records, B: 2, C: 9, D: 1 */
	for (i = 0; i < 5; i++) {
		e = ev(REC_IPI, IPI_RESCHED, 0, 1, 100 * (i + 1), 0xa, 0);
		agg_add(a, &e);
	}
	for (i = 0; i < 2; i++) {
		e = ev(REC_IPI, IPI_CALL_SINGLE, 0, 1, 10, 0xb, 0xbf);
		agg_add(a, &e);
	}
	for (i = 0; i < 9; i++) {
		e = ev(REC_IPI, IPI_IRQ_WORK, 0, 2, 20, 0xc, 0xcf);
		agg_add(a, &e);
	}
	e = ev(REC_IPI, IPI_CALL_MANY, 0, 1, 30, 0xd, 0xdf);
	agg_add(a, &e);
	/* same callsite/func, another kind: another caller */
	e = ev(REC_IPI, IPI_CALL_MANY, 0, 1, 30, 0xb, 0xbf);
	agg_add(a, &e);
	assert_int_equal(a->nr_callers, 5);

	n = agg_top_callers(a, top, 8);
	assert_int_equal(n, 5);
	assert_int_equal(top[0].callsite, 0xc);
	assert_int_equal(top[0].count, 9);
	assert_int_equal(top[0].kind, IPI_IRQ_WORK);
	assert_int_equal(top[0].func, 0xcf);
	assert_int_equal(top[1].callsite, 0xa);
	assert_int_equal(top[1].count, 5);
	assert_int_equal(top[1].sum_ns, 1500);
	assert_int_equal(top[1].max_ns, 500);
	assert_int_equal(top[1].kind, IPI_RESCHED);
	assert_int_equal(top[2].callsite, 0xb);
	assert_int_equal(top[2].kind, IPI_CALL_SINGLE);
	assert_int_equal(top[2].count, 2);
	assert_int_equal(top[3].count, 1);
	assert_int_equal(top[4].count, 1);
	/* truncation keeps the biggest */
	n = agg_top_callers(a, top, 2);
	assert_int_equal(n, 2);
	assert_int_equal(top[0].callsite, 0xc);
	assert_int_equal(top[1].callsite, 0xa);
	assert_int_equal(agg_top_callers(a, top, 0), 0);
}

static void test_callers_grow(void **state)
{
	enum { NCALLERS = 5000 };
	struct fix *f = *state;
	struct agg *a = &f->agg;
	struct caller_stat *top = calloc(NCALLERS + 10, sizeof(*top));
	struct ipi_event e;
	__u64 sum = 0, want = 0;
	size_t n, i, j;

	assert_non_null(top);
	/* caller i gets (i % 7) + 1 records; interleave the adds so the
	 * growth happens while existing callers are being updated */
	for (j = 0; j < 7; j++) {
		for (i = 0; i < NCALLERS; i++) {
			if (j > i % 7)
				continue;
			e = ev(REC_IPI, (int)(i % IPI_KIND_MAX), i % 4, (i + 1) % 4,
			       i, 0xffffffff81000000ULL + i * 16, i);
			agg_add(a, &e);
		}
	}
	assert_int_equal(a->nr_callers, NCALLERS);
	assert_true(a->cap_callers >= 2 * NCALLERS);
	assert_int_equal(a->cap_callers & (a->cap_callers - 1), 0);
	n = agg_top_callers(a, top, NCALLERS + 10);
	assert_int_equal(n, NCALLERS);
	for (i = 0; i < n; i++) {
		size_t id = (top[i].callsite - 0xffffffff81000000ULL) / 16;

		assert_true(id < NCALLERS);
		assert_int_equal(top[i].func, id);
		assert_int_equal(top[i].kind, id % IPI_KIND_MAX);
		assert_int_equal(top[i].count, id % 7 + 1);
		assert_int_equal(top[i].sum_ns, id * (id % 7 + 1));
		assert_int_equal(top[i].max_ns, id);
		if (i)
			assert_true(top[i - 1].count >= top[i].count);
		sum += top[i].count;
	}
	/* caller i was added (i % 7) + 1 times */
	for (i = 0; i < NCALLERS; i++)
		want += i % 7 + 1;
	assert_int_equal(sum, want);
	assert_int_equal(ipi_records(a), want);
	free(top);
}

static void test_reset(void **state)
{
	struct fix *f = *state;
	struct agg *a = &f->agg;
	struct caller_stat top[4];
	struct ipi_event e = ev(REC_IPI, IPI_RESCHED, 0, 2, 100, 1, 2);
	int n, k;

	e.coalesced = 2;
	agg_add(a, &e);
	hist_add(&a->csd[IPT_NUMA_CROSS], 100);
	e.dst_cpu = 99;
	agg_add(a, &e);
	agg_reset(a);
	assert_int_equal(a->out_of_range, 0);
	assert_int_equal(a->nr_callers, 0);
	for (n = 0; n < IPT_NUMA_MAX; n++) {
		assert_int_equal(a->csd[n].count, 0);
		for (k = 0; k < IPI_KIND_MAX; k++)
			assert_int_equal(a->ipi[n][k].count, 0);
	}
	assert_null(agg_pair(a, 0, 2));
	assert_int_equal(agg_top_callers(a, top, 4), 0);
	/* the topology and size survive; usable again */
	assert_int_equal(a->nr_cpus, 4);
	e.dst_cpu = 2;
	agg_add(a, &e);
	assert_int_equal(a->ipi[IPT_NUMA_CROSS][IPI_RESCHED].count, 1);
	assert_int_equal(a->ipi[IPT_NUMA_CROSS][IPI_RESCHED].min, 100);
	assert_int_equal(agg_pair(a, 0, 2)->count, 1);
	assert_int_equal(agg_top_callers(a, top, 4), 1);
	assert_int_equal(top[0].count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_numa_class, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts_by_class_and_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pair_matrix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csd_classes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range_cpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callers_ranking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callers_grow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	};

	return cmocka_run_group_tests_name("agg", tests, NULL, NULL);
}
