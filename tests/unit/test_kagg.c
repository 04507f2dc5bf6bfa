// SPDX-License-Identifier: GPL-2.0
/* Aggregate mode: an interval is the difference of two kernel snapshots. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "kagg.h"
#include "topology.h"

#define UNUSED		__attribute__((unused))

#define IDX(numa, kind) ((numa) * IPT_AGG_KINDS + (kind))

static void test_fill_since_start_and_delta(void **state UNUSED)
{
	struct kagg_snap prev, cur;
	struct ipt_pair_val pv = { .count[IPI_CALL_SINGLE] = 100,
				   .sum_ns = 100000 };
	struct ipt_pair_val cv = { .count[IPI_CALL_SINGLE] = 150,
				   .sum_ns = 100000 + 50 * 64000 };
	struct topology t;
	struct agg a;
	int i;

	assert_int_equal(topology_parse_map(&t, "0-1:0/2-3:1"), 0);
	assert_int_equal(agg_init(&a, &t, 4), 0);
	assert_int_equal(kagg_snap_init(&prev, 4), 0);
	assert_int_equal(kagg_snap_init(&cur, 4), 0);

	for (i = 0; i < 100; i++)
		hist_add(&prev.h[IDX(IPT_NUMA_CROSS, IPI_CALL_SINGLE)], 1000);
	cur.h[IDX(IPT_NUMA_CROSS, IPI_CALL_SINGLE)] =
		prev.h[IDX(IPT_NUMA_CROSS, IPI_CALL_SINGLE)];
	for (i = 0; i < 50; i++)
		hist_add(&cur.h[IDX(IPT_NUMA_CROSS, IPI_CALL_SINGLE)], 64000);
	hist_add(&cur.h[IDX(IPT_NUMA_SAME, IPI_KIND_MAX)], 5000);	/* a CSD */
	assert_int_equal(kagg_snap_set_pair(&prev, 0, 2, &pv), 0);
	assert_int_equal(kagg_snap_set_pair(&cur, 0, 2, &cv), 0);

	kagg_fill(&a, &cur, NULL, KAGG_ALL);
	assert_int_equal(a.ipi[IPT_NUMA_CROSS][IPI_CALL_SINGLE].count, 150);
	assert_int_equal(a.csd[IPT_NUMA_SAME].count, 1);
	assert_int_equal(agg_pair_kind(&a, 0, 2, IPI_CALL_SINGLE), 150);

	kagg_fill(&a, &cur, &prev, KAGG_ALL);
	/* only the interval's 50 IPIs of 64 us */
	assert_int_equal(a.ipi[IPT_NUMA_CROSS][IPI_CALL_SINGLE].count, 50);
	assert_int_equal(hist_mean(&a.ipi[IPT_NUMA_CROSS][IPI_CALL_SINGLE]), 64000);
	assert_true(a.ipi[IPT_NUMA_CROSS][IPI_CALL_SINGLE].min >= 56000);
	assert_true(a.ipi[IPT_NUMA_CROSS][IPI_CALL_SINGLE].max <= 64000);
	assert_int_equal(agg_pair_kind(&a, 0, 2, IPI_CALL_SINGLE), 50);
	assert_int_equal(agg_pair_mean(&a, 0, 2), 64000);
	assert_true(a.pairs_mean_only);
	assert_null(agg_pair(&a, 1, 3));

	/* per-event mode: only the CSD classes come from the kernel */
	agg_reset(&a);
	kagg_fill(&a, &cur, NULL, KAGG_CSD);
	assert_int_equal(a.csd[IPT_NUMA_SAME].count, 1);
	assert_int_equal(a.ipi[IPT_NUMA_CROSS][IPI_CALL_SINGLE].count, 0);
	assert_int_equal(agg_pair_kind(&a, 0, 2, IPI_CALL_SINGLE), 0);

	kagg_snap_free(&prev);
	kagg_snap_free(&cur);
	agg_free(&a);
	topology_free(&t);
}

static void test_hist_delta_empty(void **state UNUSED)
{
	struct hist a = {}, d;

	hist_add(&a, 10);
	hist_delta(&d, &a, &a);
	assert_int_equal(d.count, 0);
	assert_int_equal(d.min, 0);
	assert_int_equal(d.max, 0);
	assert_int_equal(hist_percentile(&d, 50), 0);
}

/* A real BPF pair map of 10,000 pairs, as the guest programs fill it: read
 * in batches of 4,096 (a read per histogram slot + 3), every pair once,
 * sorted. */
static void test_read_pair_map_in_batches(void **state UNUSED)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	struct ipt_pair_key k;
	struct ipt_pair_val v = { 0 };
	struct kagg_snap s;
	int hfd, pfd, i;

	hfd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "t_hist", 4,
			     sizeof(struct ipt_hist_val), IPT_AGG_SLOTS, NULL);
	pfd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_pairs", sizeof(k),
			     sizeof(v), 1024 * 1024, &o);
	if (hfd < 0 || pfd < 0) {
		if (hfd >= 0)
			close(hfd);
		skip();		/* not allowed to create BPF maps here */
	}
	for (i = 0; i < 10000; i++) {
		k = (struct ipt_pair_key){ .src = i / 100, .dst = 1000 - i % 100 };
		v.count[IPI_CALL_SINGLE] = i;
		v.sum_ns = 7ULL * i;
		assert_int_equal(bpf_map_update_elem(pfd, &k, &v, BPF_NOEXIST), 0);
	}
	assert_int_equal(kagg_snap_init(&s, 1024), 0);
	assert_int_equal(kagg_read(&s, hfd, pfd), 0);
	assert_int_equal(s.nr_pairs, 10000);
	assert_int_equal(s.reads, IPT_AGG_SLOTS + 3);
	for (i = 0; i < 10000; i++) {
		const struct kagg_pair *p = &s.pairs[i];
		int n = (p->key >> 16) * 100 + 1000 - (p->key & 0xffff);

		if (i)
			assert_true(s.pairs[i - 1].key < p->key);
		assert_int_equal(p->v.count[IPI_CALL_SINGLE], n);
		assert_int_equal(p->v.sum_ns, 7ULL * n);
	}
	kagg_snap_free(&s);
	close(hfd);
	close(pfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill_since_start_and_delta),
		cmocka_unit_test(test_hist_delta_empty),
		cmocka_unit_test(test_read_pair_map_in_batches),
	};

	return cmocka_run_group_tests_name("kagg", tests, NULL, NULL);
}
