// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the log-linear histogram (src/common/hist.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "hist.h"

/* Deterministic PRNG (xorshift64*), independent of libc's rand(). */
static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s ? s : 0x9e3779b97f4a7c15ULL;
}

static uint64_t rng_u64(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* uniform in (0, 1) */
static double rng_unit(void)
{
	return ((rng_u64() >> 11) + 0.5) / 9007199254740992.0;
}

static struct hist *hist_new(void)
{
	struct hist *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	return h;
}

static void check_slot_bounds(uint64_t v)
{
	int s = hist_slot(v);

	assert_in_range(s, 0, HIST_SLOTS - 1);
	if (v < hist_slot_lo(s) || v > hist_slot_hi(s))
		fail_msg("v=%llu slot=%d [%llu, %llu]", (unsigned long long)v, s,
			 (unsigned long long)hist_slot_lo(s),
			 (unsigned long long)hist_slot_hi(s));
}

static void test_slot_small_range(void **state)
{
	uint64_t v;
	int prev = -1, s;

	(void)state;
	for (v = 0; v <= 100000; v++) {
		s = hist_slot(v);
		assert_true(s >= prev);
		/* slots are contiguous: a step never skips a slot */
		assert_true(s - prev <= 1);
		check_slot_bounds(v);
		prev = s;
	}
	/* exact below HIST_SUB */
	for (v = 0; v < HIST_SUB; v++) {
		assert_int_equal(hist_slot(v), (int)v);
		assert_int_equal(hist_slot_lo((int)v), v);
		assert_int_equal(hist_slot_hi((int)v), v);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_slot_random_u64(void **state)
{
	enum { N = 200000 };
	uint64_t *v = malloc(N * sizeof(*v));
	int i, prev = -1;

	(void)state;
	assert_non_null(v);
	rng_seed(42);
	for (i = 0; i < N; i++) {
		/* spread over all magnitudes, not only the top bits */
		v[i] = rng_u64() >> (rng_u64() % 64);
		check_slot_bounds(v[i]);
	}
	qsort(v, N, sizeof(*v), cmp_u64);
	for (i = 0; i < N; i++) {
		int s = hist_slot(v[i]);

		assert_true(s >= prev);
		prev = s;
	}
	free(v);
	/* extremes and powers of two */
	check_slot_bounds(UINT64_MAX);
	assert_int_equal(hist_slot_hi(hist_slot(UINT64_MAX)), UINT64_MAX);
	for (i = 0; i < 64; i++) {
		check_slot_bounds(1ULL << i);
		check_slot_bounds((1ULL << i) - 1);
		check_slot_bounds((1ULL << i) + 1);
	}
}

static void test_slot_edges_contiguous(void **state)
{
	int s, top = hist_slot(UINT64_MAX);

	(void)state;
	for (s = 0; s <= top; s++) {
		assert_int_equal(hist_slot(hist_slot_lo(s)), s);
		assert_int_equal(hist_slot(hist_slot_hi(s)), s);
		assert_true(hist_slot_lo(s) <= hist_slot_hi(s));
		if (s < top)
			assert_int_equal(hist_slot_hi(s) + 1, hist_slot_lo(s + 1));
		/* relative width of a slot is at most 1/HIST_SUB */
		if (s >= HIST_SUB)
			assert_true(hist_slot_hi(s) - hist_slot_lo(s) + 1 <=
				    hist_slot_lo(s) / HIST_SUB);
	}
}

/* nearest rank, computed exactly: rank = ceil(p/100 * n), p given in
 * thousandths of a percent to stay in integers */
static uint64_t exact_percentile(const uint64_t *sorted, size_t n,
				 uint64_t p_milli)
{
	uint64_t rank = (p_milli * n + 100000 - 1) / 100000;

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static const uint64_t pcts_milli[] = {
	1000, 5000, 10000, 25000, 50000, 75000, 90000, 95000, 99000, 99900,
	99990,
};

static void check_percentiles(uint64_t *v, size_t n, const char *what)
{
	struct hist *h = hist_new();
	size_t i;

	for (i = 0; i < n; i++)
		hist_add(h, v[i]);
	qsort(v, n, sizeof(*v), cmp_u64);
	assert_int_equal(h->count, n);
	assert_int_equal(h->min, v[0]);
	assert_int_equal(h->max, v[n - 1]);
	assert_int_equal(hist_percentile(h, 0), v[0]);
	assert_int_equal(hist_percentile(h, 100), v[n - 1]);
	for (i = 0; i < sizeof(pcts_milli) / sizeof(pcts_milli[0]); i++) {
		double p = pcts_milli[i] / 1000.0;
		uint64_t want = exact_percentile(v, n, pcts_milli[i]);
		uint64_t got = hist_percentile(h, p);
		uint64_t diff = got > want ? got - want : want - got;

		/* the estimate lies in the exact sample's sub-bucket:
		 * error <= bucket width <= 12.5% of the value */
		if ((double)diff > want * 0.125)
			fail_msg("%s p%.3f: got %llu want %llu", what, p,
				 (unsigned long long)got,
				 (unsigned long long)want);
	}
	free(h);
}

static void test_percentile_uniform(void **state)
{
	enum { N = 100003 };
	uint64_t *v = malloc(N * sizeof(*v));
	size_t i;

	(void)state;
	assert_non_null(v);
	rng_seed(1);
	for (i = 0; i < N; i++)
		v[i] = 1000 + rng_u64() % 99000;	/* 1us .. 100us */
	check_percentiles(v, N, "uniform");
	/* small integers: exact */
	for (i = 0; i < N; i++)
		v[i] = rng_u64() % 8;
	check_percentiles(v, N, "uniform-small");
	free(v);
}

static void test_percentile_exponential(void **state)
{
	enum { N = 100003 };
	uint64_t *v = malloc(N * sizeof(*v));
	size_t i;

	(void)state;
	assert_non_null(v);
	rng_seed(2);
	for (i = 0; i < N; i++)
		v[i] = (uint64_t)(-5000.0 * log(rng_unit())) + 1; /* mean 5us */
	check_percentiles(v, N, "exponential");
	free(v);
}

static void test_percentile_bimodal(void **state)
{
	enum { N = 100003 };
	uint64_t *v = malloc(N * sizeof(*v));
	size_t i;

	(void)state;
	assert_non_null(v);
	rng_seed(3);
	for (i = 0; i < N; i++) {
		if (rng_u64() % 100 < 70)	/* fast local IPIs */
			v[i] = 800 + rng_u64() % 400;
		else				/* vCPU not running */
			v[i] = 200000 + rng_u64() % 800000;
	}
	check_percentiles(v, N, "bimodal");
	free(v);
}

static void test_percentile_few_samples(void **state)
{
	uint64_t v[] = { 100, 200, 300, 400, 500 };
	struct hist *h = hist_new();
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++)
		hist_add(h, v[i]);
	assert_int_equal(hist_percentile(h, 0), 100);
	assert_int_equal(hist_percentile(h, -5), 100);
	assert_int_equal(hist_percentile(h, 100), 500);
	assert_int_equal(hist_percentile(h, 150), 500);
	for (i = 1; i <= 100; i++) {
		uint64_t want = exact_percentile(v, 5, i * 1000);
		uint64_t got = hist_percentile(h, (double)i);

		assert_true(got >= 100 && got <= 500);
		assert_true((double)(got > want ? got - want : want - got) <=
			    want * 0.125);
	}
	/* one sample: every percentile is it */
	hist_reset(h);
	hist_add(h, 12345);
	for (i = 0; i <= 100; i += 10)
		assert_int_equal(hist_percentile(h, (double)i), 12345);
	assert_int_equal(hist_mean(h), 12345);
	free(h);
}

static void test_empty(void **state)
{
	struct hist *h = hist_new();
	uint64_t b[HIST_LOG2];
	int i;

	(void)state;
	assert_int_equal(h->count, 0);
	assert_int_equal(hist_percentile(h, 0), 0);
	assert_int_equal(hist_percentile(h, 50), 0);
	assert_int_equal(hist_percentile(h, 100), 0);
	assert_int_equal(hist_mean(h), 0);
	memset(b, 0xff, sizeof(b));
	assert_int_equal(hist_log2(h, b), 0);
	for (i = 0; i < HIST_LOG2; i++)
		assert_int_equal(b[i], 0);
	free(h);
}

static void test_reset(void **state)
{
	struct hist *h = hist_new(), *z = hist_new();

	(void)state;
	hist_add(h, 5);
	hist_add(h, 500000);
	hist_reset(h);
	assert_memory_equal(h, z, sizeof(*h));
	hist_add(h, 77);
	assert_int_equal(h->min, 77);
	assert_int_equal(h->max, 77);
	free(h);
	free(z);
}

static void test_merge(void **state)
{
	struct hist *a = hist_new(), *b = hist_new(), *all = hist_new();
	struct hist *e = hist_new(), *copy = hist_new();
	int i;

	(void)state;
	rng_seed(4);
	for (i = 0; i < 5000; i++) {
		uint64_t v = 100 + rng_u64() % 10000;

		hist_add(a, v);
		hist_add(all, v);
	}
	for (i = 0; i < 3000; i++) {
		uint64_t v = 50 + rng_u64() % 1000000;

		hist_add(b, v);
		hist_add(all, v);
	}
	hist_merge(a, b);
	assert_memory_equal(a, all, sizeof(*a));

	/* merging an empty histogram changes nothing */
	memcpy(copy, a, sizeof(*a));
	hist_merge(a, e);
	assert_memory_equal(a, copy, sizeof(*a));

	/* merging into an empty one copies min/max too */
	hist_merge(e, b);
	assert_memory_equal(e, b, sizeof(*e));

	/* min from the source when it is lower; dst min kept otherwise */
	hist_reset(a);
	hist_reset(b);
	hist_add(a, 10);
	hist_add(b, 3);
	hist_add(b, 20);
	hist_merge(a, b);
	assert_int_equal(a->min, 3);
	assert_int_equal(a->max, 20);
	assert_int_equal(a->count, 3);
	assert_int_equal(a->sum, 33);
	free(a);
	free(b);
	free(all);
	free(e);
	free(copy);
}

static void test_log2_view(void **state)
{
	struct hist *h = hist_new();
	uint64_t b[HIST_LOG2], sum = 0;
	int i, top, single;

	(void)state;
	/* each value lands in the log2 bucket that contains it */
	rng_seed(5);
	for (i = 0; i < 20000; i++) {
		uint64_t v = i < 1000 ? (uint64_t)i : rng_u64() >> (rng_u64() % 64);
		int j;

		hist_reset(h);
		hist_add(h, v);
		top = hist_log2(h, b);
		assert_true(top >= 1 && top <= HIST_LOG2);
		single = -1;
		for (j = 0; j < HIST_LOG2; j++) {
			if (!b[j])
				continue;
			assert_int_equal(single, -1);
			single = j;
		}
		assert_int_equal(single, top - 1);
		assert_int_equal(b[single], 1);
		if (v < hist_log2_lo(single) || v > hist_log2_hi(single))
			fail_msg("v=%llu bucket %d [%llu, %llu]",
				 (unsigned long long)v, single,
				 (unsigned long long)hist_log2_lo(single),
				 (unsigned long long)hist_log2_hi(single));
	}
	/* bounds are contiguous and cover 0..UINT64_MAX */
	assert_int_equal(hist_log2_lo(0), 0);
	assert_int_equal(hist_log2_hi(63), UINT64_MAX);
	for (i = 0; i < HIST_LOG2 - 1; i++)
		assert_int_equal(hist_log2_hi(i) + 1, hist_log2_lo(i + 1));

	/* a mix: buckets sum to count */
	hist_reset(h);
	for (i = 0; i < 50000; i++)
		hist_add(h, rng_u64() >> (rng_u64() % 64));
	hist_add(h, 0);
	hist_add(h, 1);
	hist_add(h, UINT64_MAX);
	top = hist_log2(h, b);
	assert_int_equal(top, HIST_LOG2);
	for (i = 0; i < HIST_LOG2; i++)
		sum += b[i];
	assert_int_equal(sum, h->count);
	assert_true(b[0] >= 2);	/* 0 and 1 */
	free(h);
}

/* Slots worked out by hand from the layout: values below 8 are exact, then
 * 8 sub-buckets per power of two (slot = (log2 - 2) * 8 + next 3 bits). */
static void test_slot_table(void **state)
{
	static const struct { uint64_t v; int slot; uint64_t lo, hi; } t[] = {
		{ 0, 0, 0, 0 },		{ 7, 7, 7, 7 },
		{ 8, 8, 8, 8 },		{ 15, 15, 15, 15 },
		{ 16, 16, 16, 17 },	{ 17, 16, 16, 17 },
		{ 18, 17, 18, 19 },	{ 31, 23, 30, 31 },
		{ 32, 24, 32, 35 },	{ 1000, 63, 960, 1023 },
		{ 1024, 64, 1024, 1151 },	{ 4095, 79, 3840, 4095 },
		{ 1000000, 143, 983040, 1048575 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(hist_slot(t[i].v), t[i].slot);
		assert_int_equal(hist_slot_lo(t[i].slot), t[i].lo);
		assert_int_equal(hist_slot_hi(t[i].slot), t[i].hi);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_table),
		cmocka_unit_test(test_slot_small_range),
		cmocka_unit_test(test_slot_random_u64),
		cmocka_unit_test(test_slot_edges_contiguous),
		cmocka_unit_test(test_percentile_uniform),
		cmocka_unit_test(test_percentile_exponential),
		cmocka_unit_test(test_percentile_bimodal),
		cmocka_unit_test(test_percentile_few_samples),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_log2_view),
	};

	return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
