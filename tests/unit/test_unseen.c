// SPDX-License-Identifier: GPL-2.0
/* Unit tests for src/common/irqstat.c and src/guest/unseen.c. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "files.h"
#include "hooks.h"
#include "irqstat.h"
#include "unseen.h"

#define UNUSED		__attribute__((unused))
#define ALL_ROWS	((1u << IRQ_ROWS) - 1)

/* The shape of x86 /proc/interrupts: device lines, then named rows whose
 * per-CPU columns end before the description. */
static const char four_cpus[] =
"            CPU0       CPU1       CPU2       CPU3       \n"
"   0:         41          0          0          0   IO-APIC   2-edge      timer\n"
"  24:          0     123456          7          0   PCI-MSIX-0000:00:04.0 0-edge\n"
" NMI:          0          0          0          0   Non-maskable interrupts\n"
" LOC:     904321     812345     700001     650000   Local timer interrupts\n"
" RES:       1200        300         40          5   Rescheduling interrupts\n"
" CAL:      10000       2000        300         41   Function call interrupts\n"
" TLB:         17          3          2          1   TLB shootdowns\n"
" IWI:          9          8          7          6   IRQ work interrupts\n"
" ERR:          0\n"
" MIS:          0\n";

static void test_parse_sums_rows(void **state UNUSED)
{
	__u64 sum[IRQ_ROWS];

	assert_int_equal(irqstat_parse(four_cpus, sum), ALL_ROWS);
	assert_int_equal(sum[IRQ_CAL], 12341);
	assert_int_equal(sum[IRQ_RES], 1545);
	assert_int_equal(sum[IRQ_IWI], 30);
	assert_string_equal(irqstat_row_name(IRQ_CAL), "CAL");
}

/* Numbers in the description are not columns: a row reads as many
 * numbers as the header names CPUs. */
static void test_parse_stops_at_the_columns(void **state UNUSED)
{
	static const char text[] =
		"       CPU0   CPU1\n"
		" CAL:     5      6   Function call 1000 interrupts 7\n";
	__u64 sum[IRQ_ROWS];

	assert_int_equal(irqstat_parse(text, sum), 1u << IRQ_CAL);
	assert_int_equal(sum[IRQ_CAL], 11);
	assert_int_equal(sum[IRQ_RES], 0);
}

static void test_parse_missing_rows(void **state UNUSED)
{
	__u64 sum[IRQ_ROWS];

	assert_int_equal(irqstat_parse("", sum), 0);
	assert_int_equal(irqstat_parse("  CPU0\n  0:  4  timer\n", sum), 0);
	/* "CALX:" is not CAL */
	assert_int_equal(irqstat_parse("  CPU0\n CALX:  4\n", sum), 0);
}

/* The machine's own file: each row its text has is found (x86 has all
 * three), the counts only grow, and a CPU's CAL count is part of the sum. */
static void test_read_proc(void **state UNUSED)
{
	__u64 a[IRQ_ROWS], b[IRQ_ROWS];
	unsigned want = 0;
	long long cal[1];
	char *text;
	int r;

	assert_int_equal(read_small_file("/proc/interrupts", 64u << 20, &text), 0);
	for (r = 0; r < IRQ_ROWS; r++) {
		const char *p = text;
		char key[8];

		snprintf(key, sizeof(key), "%s:", irqstat_row_name(r));
		while ((p = strstr(p, key)) && p > text && p[-1] != '\n' &&
		       p[-1] != ' ')
			p++;
		if (p)
			want |= 1u << r;
	}
	free(text);
#ifdef __x86_64__
	assert_int_equal(want, ALL_ROWS);
#endif
	assert_int_equal(irqstat_read(NULL, a), want);
	assert_int_equal(irqstat_read(NULL, b), want);
	for (r = 0; r < IRQ_ROWS; r++)
		assert_true(b[r] >= a[r]);
	if (want & 1u << IRQ_CAL) {
		assert_int_equal(irqstat_read_cpus(NULL, IRQ_CAL, cal, 1), 0);
		assert_true(cal[0] >= 0 && (__u64)cal[0] <= b[IRQ_CAL]);
	}
	assert_true(irqstat_read("/nonexistent/interrupts", a) < 0);
}

/* Per CPU, by the header's CPU ids: an offline CPU has no column. */
static void test_parse_cpus(void **state UNUSED)
{
	static const char text[] =
		"       CPU0   CPU2   CPU3\n"
		" RES:     1      2      3   Rescheduling interrupts\n"
		" CAL:     5      6      7   Function call interrupts on CPU 9\n";
	long long v[4];

	assert_int_equal(irqstat_parse_cpus(text, IRQ_CAL, v, 4), 0);
	assert_int_equal(v[0], 5);
	assert_int_equal(v[1], -1);
	assert_int_equal(v[2], 6);
	assert_int_equal(v[3], 7);
	/* CPUs beyond @max are left out */
	assert_int_equal(irqstat_parse_cpus(text, IRQ_RES, v, 2), 0);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], -1);
	assert_int_equal(irqstat_parse_cpus(text, IRQ_IWI, v, 4), -ENOENT);
	assert_int_equal(v[0], -1);
}

static void test_between(void **state UNUSED)
{
	__u64 irq0[IRQ_ROWS] = { 100, 50, 10 };
	__u64 irq1[IRQ_ROWS] = { 160, 70, 12 };	/* took 82 */

	assert_int_equal(unseen_between(irq0, 1000, irq1, 1080), 2);
	/* seen more (handlers between the reads of both): never negative */
	assert_int_equal(unseen_between(irq0, 1000, irq1, 1090), 0);
	/* a CPU gone offline took its column: that row adds nothing */
	irq1[IRQ_RES] = 40;
	assert_int_equal(unseen_between(irq0, 1000, irq1, 1060), 2);
}

static void test_roles(void **state UNUSED)
{
	struct hook_role roles[] = {
		{ .name = "entry_call_single", .chosen = 0 },
		{ .name = "entry_call_many", .chosen = 0 },
		{ .name = "entry_resched", .chosen = 1 },
		{ .name = "entry_irq_work", .chosen = 0 },
		{ .name = "send_call_single", .chosen = -1 },
	};
	int n = sizeof(roles) / sizeof(roles[0]);

	assert_true(unseen_roles_ok(roles, n));
	/* CAL counts both function-call vectors: both handlers are needed */
	roles[1].chosen = -1;
	assert_false(unseen_roles_ok(roles, n));
	roles[1].chosen = 0;
	assert_false(unseen_roles_ok(roles, n - 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_sums_rows),
		cmocka_unit_test(test_parse_stops_at_the_columns),
		cmocka_unit_test(test_parse_missing_rows),
		cmocka_unit_test(test_parse_cpus),
		cmocka_unit_test(test_read_proc),
		cmocka_unit_test(test_between),
		cmocka_unit_test(test_roles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
