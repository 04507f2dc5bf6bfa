// SPDX-License-Identifier: GPL-2.0
/* Unit tests for ipigen's statistics and cpulist helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "ipigen.h"

static void test_stats_basic(void **state)
{
	uint64_t v[] = { 50, 10, 40, 20, 30 };
	struct ipigen_stats st;

	(void)state;
	assert_int_equal(ipigen_stats(v, 5, &st), 0);
	assert_int_equal(st.count, 5);
	assert_int_equal(st.total, 150);
	assert_int_equal(st.mean, 30);
	assert_int_equal(st.min, 10);
	assert_int_equal(st.max, 50);
	assert_int_equal(st.p50, 30);
	assert_int_equal(st.p99, 50);
	/* the input is not sorted in place */
	assert_int_equal(v[0], 50);
	assert_int_equal(v[4], 30);
}

static void test_stats_empty(void **state)
{
	struct ipigen_stats st;

	(void)state;
	assert_int_equal(ipigen_stats(NULL, 0, &st), 0);
	assert_int_equal(st.count, 0);
	assert_int_equal(st.p50, 0);
}

static void test_percentile_nearest_rank(void **state)
{
	uint64_t v[100];
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		v[i] = i + 1;
	assert_int_equal(ipigen_percentile(v, 100, 50), 50);
	assert_int_equal(ipigen_percentile(v, 100, 99), 99);
	assert_int_equal(ipigen_percentile(v, 100, 100), 100);
	assert_int_equal(ipigen_percentile(v, 100, 0), 1);
	assert_int_equal(ipigen_percentile(v, 1, 99), 1);
	assert_int_equal(ipigen_percentile(v, 2, 50), 1);
	assert_int_equal(ipigen_percentile(v, 0, 50), 0);
}

static void test_cpulist(void **state)
{
	int cpus[16];

	(void)state;
	assert_int_equal(ipigen_parse_cpulist("0-2,5,7-8\n", cpus, 16), 6);
	assert_int_equal(cpus[0], 0);
	assert_int_equal(cpus[2], 2);
	assert_int_equal(cpus[3], 5);
	assert_int_equal(cpus[5], 8);
	assert_int_equal(ipigen_parse_cpulist("3", cpus, 16), 1);
	assert_int_equal(cpus[0], 3);
	assert_int_equal(ipigen_parse_cpulist("3-1", cpus, 16), -EINVAL);
	assert_int_equal(ipigen_parse_cpulist("1,x", cpus, 16), -EINVAL);
	assert_int_equal(ipigen_parse_cpulist("0-20", cpus, 16), -EINVAL);
	assert_int_equal(ipigen_parse_cpulist("-1", cpus, 16), -EINVAL);
}

static void test_local_cpuid_call(void **state)
{
	struct ipigen g;
	uint64_t s[4];
	int cpu = 0;

	(void)state;
	if (ipigen_pin_self(cpu) || ipigen_open(&g, IPIGEN_CPUID, &cpu, 1))
		skip();
	assert_int_equal(ipigen_run(&g, s, 4, 0), 4);
	assert_true(s[0] > 0);
	ipigen_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_basic),
		cmocka_unit_test(test_stats_empty),
		cmocka_unit_test(test_percentile_nearest_rank),
		cmocka_unit_test(test_cpulist),
		cmocka_unit_test(test_local_cpuid_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
