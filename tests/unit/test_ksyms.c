// SPDX-License-Identifier: GPL-2.0
/* Unit tests for src/common/ksyms.c. Run from the repo root, or set IPT_FIXTURES. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ksyms.h"

#define UNUSED		__attribute__((unused))

#define REAL_SYM	"generic_smp_call_function_single_interrupt"

static const char *fixture(const char *name)
{
	static char path[PATH_MAX];
	const char *dir = getenv("IPT_FIXTURES");

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "tests/fixtures", name);
	return path;
}

static int setup(void **state)
{
	*state = ksyms_load(fixture("kallsyms"));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	ksyms_free(*state);
	return 0;
}

/* ksyms_search(@addr) is @name in @mod (NULL = vmlinux) at @at. */
static void check_sym(const struct ksyms *ks, unsigned long addr,
		      const char *name, const char *mod, unsigned long at)
{
	const struct ksym *sym = ksyms_search(ks, addr);

	assert_non_null(sym);
	assert_string_equal(sym->name, name);
	assert_int_equal(sym->addr, at);
	if (mod)
		assert_string_equal(sym->module, mod);
	else
		assert_null(sym->module);
}

static void check_fmt(const struct ksyms *ks, unsigned long addr, const char *want)
{
	char buf[128];
	int n = ksyms_format(ks, addr, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void test_search_exact(void **state)
{
	const struct ksyms *ks = *state;

	check_sym(ks, 0xffffffff81450a50UL, REAL_SYM, NULL, 0xffffffff81450a50UL);
	check_sym(ks, 0xffffffff81450a40UL,
		  "__pfx_generic_smp_call_function_single_interrupt", NULL,
		  0xffffffff81450a40UL);
	check_sym(ks, 0xffffffff81045f00UL, "arch_send_call_function_ipi_mask",
		  NULL, 0xffffffff81045f00UL);		/* W */
	check_sym(ks, 0xffffffff81046000UL, "arch_irq_work_raise", NULL,
		  0xffffffff81046000UL);		/* w */
	check_sym(ks, 0xffffffffc0120000UL, "foo_ipi_cb", "foo", 0xffffffffc0120000UL);
}

static void test_search_inside(void **state)
{
	const struct ksyms *ks = *state;

	check_sym(ks, 0xffffffff81450a51UL, REAL_SYM, NULL, 0xffffffff81450a50UL);
	check_sym(ks, 0xffffffff81450affUL, REAL_SYM, NULL, 0xffffffff81450a50UL);
	check_sym(ks, 0xffffffff81450b00UL, "__flush_smp_call_function_queue",
		  NULL, 0xffffffff81450b00UL);
	/* module symbols were listed out of order */
	check_sym(ks, 0xffffffffc0120fffUL, "foo_ipi_cb", "foo", 0xffffffffc0120000UL);
	check_sym(ks, 0xffffffffc0121004UL, "foo_send", "foo", 0xffffffffc0121000UL);
	check_sym(ks, 0xffffffffc0124000UL, "foo_init", "foo", 0xffffffffc0123000UL);
	/* data symbols are not symbols: the text before them wins */
	check_sym(ks, 0xffffffff82000100UL, "_etext", NULL, 0xffffffff81c00000UL);
	check_sym(ks, 0xffffffff82800010UL, "_etext", NULL, 0xffffffff81c00000UL);
	check_sym(ks, 0xffffffffc0125000UL, "foo_init", "foo", 0xffffffffc0123000UL);
}

static void test_search_edges(void **state)
{
	const struct ksyms *ks = *state;

	assert_null(ksyms_search(ks, 0));
	assert_null(ksyms_search(ks, 0x1000));
	assert_null(ksyms_search(ks, 0xffffffff80ffffffUL));
	check_sym(ks, 0xffffffff81000000UL, "startup_64", NULL, 0xffffffff81000000UL);
	check_sym(ks, 0xffffffffc0300000UL, "bpf_prog_6deef7357e7b4530_ipi", "bpf",
		  0xffffffffc0300000UL);
	check_sym(ks, ~0UL, "bpf_prog_6deef7357e7b4530_ipi", "bpf",
		  0xffffffffc0300000UL);
	assert_null(ksyms_search(NULL, 0xffffffff81000000UL));
}

/* Aliases at one address: the first listed is returned, all are found by name. */
static void test_duplicates(void **state)
{
	const struct ksyms *ks = *state;

	check_sym(ks, 0xffffffff81000000UL, "startup_64", NULL, 0xffffffff81000000UL);
	check_sym(ks, 0xffffffff8100006fUL, "startup_64", NULL, 0xffffffff81000000UL);
	check_sym(ks, 0xffffffff81451000UL, "smp_call_function_single", NULL,
		  0xffffffff81451000UL);
	check_sym(ks, 0xffffffff81451010UL, "smp_call_function_single", NULL,
		  0xffffffff81451000UL);
	check_sym(ks, 0xffffffffc0200000UL, "bar_handler", "bar", 0xffffffffc0200000UL);
	assert_int_equal(ksyms_addr(ks, "_stext"), 0xffffffff81000000UL);
	assert_int_equal(ksyms_addr(ks, "_text"), 0xffffffff81000000UL);
	assert_int_equal(ksyms_addr(ks, "__smp_call_function_single_alias"),
			 0xffffffff81451000UL);
	assert_int_equal(ksyms_addr(ks, "bar_alias"), 0xffffffffc0200000UL);
}

static void test_addr(void **state)
{
	const struct ksyms *ks = *state;

	assert_int_equal(ksyms_addr(ks, REAL_SYM), 0xffffffff81450a50UL);
	assert_int_equal(ksyms_addr(ks, "smp_call_function_many_cond"),
			 0xffffffff81452000UL);
	assert_int_equal(ksyms_addr(ks, "foo_send"), 0xffffffffc0121000UL);
	/* foo_init is in [foo] and [bar]: the first (lowest) one */
	assert_int_equal(ksyms_addr(ks, "foo_init"), 0xffffffffc0123000UL);
	/* ignored: absolute, data, rodata, bss, module data */
	assert_int_equal(ksyms_addr(ks, "fixed_percpu_data"), 0);
	assert_int_equal(ksyms_addr(ks, "data_at_text_address"), 0);
	assert_int_equal(ksyms_addr(ks, "init_task"), 0);
	assert_int_equal(ksyms_addr(ks, "static_data"), 0);
	assert_int_equal(ksyms_addr(ks, "linux_banner"), 0);
	assert_int_equal(ksyms_addr(ks, "__bss_start"), 0);
	assert_int_equal(ksyms_addr(ks, "bss_local"), 0);
	assert_int_equal(ksyms_addr(ks, "foo_data"), 0);
	assert_int_equal(ksyms_addr(ks, "foo_bss"), 0);
	/* names match whole */
	assert_int_equal(ksyms_addr(ks, "foo"), 0);
	assert_int_equal(ksyms_addr(ks, "[foo]"), 0);
	assert_int_equal(ksyms_addr(ks, "smp_call_function"), 0);
	assert_int_equal(ksyms_addr(ks, ""), 0);
	assert_int_equal(ksyms_addr(ks, NULL), 0);
	assert_int_equal(ksyms_addr(NULL, "foo_send"), 0);
}

static void test_format(void **state)
{
	const struct ksyms *ks = *state;
	char buf[16];

	check_fmt(ks, 0, "-");
	check_fmt(ks, 0x1234, "0x1234");
	check_fmt(ks, 0xffffffff80ffffffUL, "0xffffffff80ffffff");
	check_fmt(ks, 0xffffffff81450a50UL, REAL_SYM);
	check_fmt(ks, 0xffffffff81450a6aUL, REAL_SYM "+0x1a");
	check_fmt(ks, 0xffffffff81451abcUL, "smp_call_function_single+0xabc");
	check_fmt(ks, 0xffffffffc0120000UL, "foo_ipi_cb [foo]");
	check_fmt(ks, 0xffffffffc012301aUL, "foo_init+0x1a [foo]");
	check_fmt(ks, 0xffffffffc0201001UL, "foo_init+0x1 [bar]");
	check_fmt(ks, 0xffffffffc0300010UL, "bpf_prog_6deef7357e7b4530_ipi+0x10 [bpf]");
	check_fmt(NULL, 0xffffffff81450a50UL, "0xffffffff81450a50");
	check_fmt(NULL, 0, "-");

	/* truncation: snprintf semantics, always terminated */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(ksyms_format(ks, 0xffffffff81450a6aUL, buf, sizeof(buf)),
			 strlen(REAL_SYM "+0x1a"));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_int_equal(strncmp(buf, REAL_SYM, sizeof(buf) - 1), 0);
	assert_int_equal(ksyms_format(ks, 0xffffffffc0120000UL, NULL, 0),
			 strlen("foo_ipi_cb [foo]"));
}

static void test_load_errors(void **state UNUSED)
{
	errno = 0;
	assert_null(ksyms_load(fixture("no-such-kallsyms")));
	assert_int_equal(errno, ENOENT);
	ksyms_free(NULL);
}

/* What an unprivileged reader sees: every address is 0 => empty table. */
static void test_load_zeroed(void **state UNUSED)
{
	char path[] = "/tmp/ipt-kallsyms-XXXXXX";
	struct ksyms *ks;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("0000000000000000 T _text\n"
	      "0000000000000000 T " REAL_SYM "\n"
	      "0000000000000000 t foo_init\t[foo]\n"
	      "garbage\n\n"
	      "ffffffff8100 T\n", f);
	fclose(f);
	ks = ksyms_load(path);
	unlink(path);
	assert_non_null(ks);
	assert_int_equal(ksyms_addr(ks, REAL_SYM), 0);
	assert_null(ksyms_search(ks, 0xffffffff81450a50UL));
	check_fmt(ks, 0xffffffff81450a50UL, "0xffffffff81450a50");
	ksyms_free(ks);
}

/* First address in @path as an independent check for "all zero". */
static int kallsyms_hidden(const char *path)
{
	unsigned long addr = 0;
	FILE *f = fopen(path, "r");
	int n;

	if (!f)
		return 1;
	n = fscanf(f, "%lx", &addr);
	fclose(f);
	return n != 1 || !addr;
}

static void test_real_kallsyms(void **state UNUSED)
{
	const struct ksym *sym;
	struct ksyms *ks;
	unsigned long addr;
	char buf[128];

	if (kallsyms_hidden("/proc/kallsyms")) {
		print_message("kallsyms addresses hidden (not root?), skipping\n");
		skip();
	}
	ks = ksyms_load(NULL);		/* NULL means /proc/kallsyms */
	assert_non_null(ks);
	addr = ksyms_addr(ks, REAL_SYM);
	assert_int_not_equal(addr, 0);
	sym = ksyms_search(ks, addr);
	assert_non_null(sym);
	assert_string_equal(sym->name, REAL_SYM);
	assert_null(sym->module);
	sym = ksyms_search(ks, addr + 1);
	assert_string_equal(sym->name, REAL_SYM);
	ksyms_format(ks, addr + 4, buf, sizeof(buf));
	assert_string_equal(buf, REAL_SYM "+0x4");
	ksyms_free(ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_search_exact),
		cmocka_unit_test(test_search_inside),
		cmocka_unit_test(test_search_edges),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_zeroed),
		cmocka_unit_test(test_real_kallsyms),
	};

	return cmocka_run_group_tests_name("ksyms", tests, setup, teardown);
}
