// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the sparse CPU-pair table (src/guest/pairs.c) and of the
 * aggregation's memory at 1,024 CPUs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "agg.h"
#include "pairs.h"

/* Many pairs: every one found again, in (src, dst) order, none invented. */
static void test_grow_find_sorted(void **state)
{
	struct pair_table t = { 0 };
	struct pair_stat **v;
	__u32 s, d;
	size_t n, i;

	(void)state;
	for (s = 0; s < 100; s++)
		for (d = 0; d < 100; d += 3)
			pair_add(pairs_get(&t, 1023 - s, d, 1), s * 1000 + d);
	assert_int_equal(t.nr, 100 * 34);
	for (s = 0; s < 100; s++)
		for (d = 0; d < 100; d++) {
			const struct pair_stat *p = pairs_find(&t, 1023 - s, d);

			if (d % 3) {
				assert_null(p);
				continue;
			}
			assert_non_null(p);
			assert_int_equal(p->count, 1);
			assert_int_equal(p->sum, s * 1000 + d);
		}
	assert_null(pairs_get(&t, 5, 5, 0));
	v = pairs_sorted(&t, &n);
	assert_int_equal(n, t.nr);
	for (i = 1; i < n; i++)
		assert_true(v[i - 1]->src < v[i]->src ||
			    (v[i - 1]->src == v[i]->src &&
			     v[i - 1]->dst < v[i]->dst));
	free(v);
	/* cleared: nothing found, the slots kept for the next interval */
	n = t.cap;
	pairs_clear(&t);
	assert_int_equal(t.nr, 0);
	assert_int_equal(t.cap, n);
	assert_null(pairs_find(&t, 1023, 0));
	pairs_free(&t);
}

/* A pair's median from its few histogram slots is the full histogram's. */
static void test_percentile_matches_hist(void **state)
{
	struct pair_table t = { 0 };
	struct pair_stat *p;
	struct hist h = { 0 };
	__u64 v;
	int i;

	(void)state;
	p = pairs_get(&t, 3, 7, 1);
	for (i = 0; i < 5000; i++) {
		v = 800 + (i * 7919) % 90000;
		pair_add(p, v);
		hist_add(&h, v);
	}
	assert_true(p->nb > 0 && p->nb < 100);
	assert_int_equal(p->count, h.count);
	assert_int_equal(p->min, h.min);
	assert_int_equal(p->max, h.max);
	assert_int_equal(pair_percentile(p, 50), hist_percentile(&h, 50));
	assert_int_equal(pair_percentile(p, 99), hist_percentile(&h, 99));
	/* twice: the scratch histogram was left clean */
	assert_int_equal(pair_percentile(p, 50), hist_percentile(&h, 50));
	pairs_free(&t);
}

/* 1,024 CPUs, a few pairs seen: memory for those pairs, not 1,024^2 (the
 * dense code allocated 48 bytes per possible pair here: 50 MB). */
static void test_memory_follows_pairs_seen(void **state)
{
	struct ipi_event e = { .type = REC_IPI, .kind = IPI_CALL_SINGLE };
	struct agg a;
	int i;

	(void)state;
	assert_int_equal(agg_init(&a, NULL, 1024), 0);
	assert_int_equal(pairs_bytes(&a.pairs), 0);
	for (i = 0; i < 40; i++) {
		e.src_cpu = i * 25;
		e.dst_cpu = 1023 - i;
		e.lat_ns = 1000 + i;
		agg_add(&a, &e);
		agg_add(&a, &e);
	}
	assert_int_equal(a.pairs.nr, 40);
	assert_true(pairs_bytes(&a.pairs) < 40 * 1024);
	assert_int_equal(agg_pair(&a, 0, 1023)->count, 2);
	assert_int_equal(agg_pair_kind(&a, 975, 984, IPI_CALL_SINGLE), 2);
	agg_free(&a);
	/* without -C no pair is kept at all */
	assert_int_equal(agg_init(&a, NULL, 1024), 0);
	a.no_pairs = true;
	agg_add(&a, &e);
	assert_int_equal(a.pairs.nr, 0);
	assert_null(agg_pair(&a, e.src_cpu, e.dst_cpu));
	agg_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_find_sorted),
		cmocka_unit_test(test_percentile_matches_hist),
		cmocka_unit_test(test_memory_follows_pairs_seen),
	};

	return cmocka_run_group_tests_name("pairs", tests, NULL, NULL);
}
