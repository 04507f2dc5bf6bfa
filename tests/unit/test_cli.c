// SPDX-License-Identifier: GPL-2.0
/* Unit tests for option parsing (src/common/cli.c, src/common/opts.c). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "cli.h"
#include "hooks.h"

static struct ipt_opts O;
static char E[256];

/* getopt permutes argv: parse a writable copy */
static int parse_v(const char *const *args)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = "ipitrace";
	while (*args) {
		assert_true(argc < 31);
		argv[argc++] = (char *)*args++;
	}
	argv[argc] = NULL;
	E[0] = '\0';
	return cli_parse(argc, argv, &O, E, sizeof(E));
}

#define PARSE(...) parse_v((const char *const[]){ __VA_ARGS__, NULL })

#define REJECT(substr, ...) do {					\
	assert_int_equal(PARSE(__VA_ARGS__), -1);			\
	if (!strstr(E, substr))						\
		fail_msg("message '%s' lacks '%s'", E, substr);		\
} while (0)

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--guest"), 0);
	assert_int_equal(O.mode, MODE_GUEST);
	assert_true(O.duration == 0);
	assert_true(O.interval == 0);
	assert_int_equal(O.count, 0);
	assert_string_equal(O.format, "text");
	assert_false(O.cpu_pairs);
	assert_int_equal(O.callers, 0);
	assert_int_equal(O.stale_ms, 1000);
	assert_int_equal(O.pid, -1);
	assert_int_equal(O.vcpu, -1);
	assert_null(O.btf);
	assert_null(O.numa_map);
	assert_null(O.sysfs_root);
}

static void test_valid_combos(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--guest", "-d", "5", "-j"), 0);
	assert_int_equal(O.mode, MODE_GUEST);
	assert_true(O.duration == 5.0);
	assert_string_equal(O.format, "json");

	assert_int_equal(PARSE("--guest", "-i", "1", "-c", "3"), 0);
	assert_true(O.interval == 1.0);
	assert_int_equal(O.count, 3);
	assert_string_equal(O.format, "text");	/* reset between calls */
	assert_true(O.duration == 0);

	assert_int_equal(PARSE("--guest", "--callers"), 0);
	assert_int_equal(O.callers, 10);
	assert_int_equal(PARSE("--guest", "--callers=5"), 0);
	assert_int_equal(O.callers, 5);

	assert_int_equal(PARSE("--guest", "--numa-map", "0-1:0/2-3:1"), 0);
	assert_string_equal(O.numa_map, "0-1:0/2-3:1");
	assert_int_equal(PARSE("--guest", "--numa-map=X"), 0);
	assert_string_equal(O.numa_map, "X");

	assert_int_equal(PARSE("--host", "--vcpu-kick", "-p", "123"), 0);
	assert_int_equal(O.mode, MODE_HOST);
	assert_true(O.vcpu_kick);
	assert_int_equal(O.pid, 123);

	assert_int_equal(PARSE("--host", "--halt", "--vcpu", "0"), 0);
	assert_true(O.halt);
	assert_int_equal(O.vcpu, 0);

	/* host metrics through the report layer, like the guest's */
	assert_int_equal(PARSE("--host", "--metrics", "9464", "--format",
			       "openmetrics"), 0);
	assert_string_equal(O.metrics, "9464");
	assert_string_equal(O.format, "openmetrics");

	assert_int_equal(PARSE("--host", "--halt", "--advise", "--share", "80",
			       "--budget", "0.5", "--svg", "/tmp/a.svg"), 0);
	assert_true(O.advise && O.share_pct == 80 && O.budget == 0.5);
	assert_string_equal(O.svg, "/tmp/a.svg");
	assert_int_equal(PARSE("--host", "--advise"), 0);
	assert_true(O.budget < 0 && O.share_pct == 0 && !O.svg &&
		    !O.adv_max_ns);
	assert_int_equal(PARSE("--host", "--advise", "--max-ns", "50000000"), 0);
	assert_int_equal(O.adv_max_ns, 50000000);

	/* long forms, grouped short options, options after the mode */
	assert_int_equal(PARSE("-jC", "--duration=2.5", "--interval", "0.5",
			       "--count=4", "--guest", "-v", "--no-csd",
			       "--stale-ms", "20", "--list-hooks",
			       "--sysfs-root", "/tmp"), 0);
	assert_true(!strcmp(O.format, "json") && O.cpu_pairs && O.verbose && O.no_csd &&
		    O.list_hooks);
	assert_true(O.duration == 2.5);
	assert_true(O.interval == 0.5);
	assert_int_equal(O.count, 4);
	assert_int_equal(O.stale_ms, 20);
	assert_string_equal(O.sysfs_root, "/tmp");

	assert_int_equal(PARSE("--guest", "-d5"), 0);
	assert_true(O.duration == 5.0);
	assert_int_equal(PARSE("--guest", "--btf", "/proc/version"), 0);
	assert_string_equal(O.btf, "/proc/version");
}

/* The README's usage tables, copied by hand: an independent list. */
static const char *const documented[] = {
	"--duration SEC", "--interval SEC", "--count N", "--json ",
	"--aggregate", "--cpu-pairs", "--callers[=N]", "--list-hooks",
	"--btf FILE", "--sysfs-root DIR", "--numa-map MAP", "--no-csd",
	"--metrics [ADDR:]PORT", "--verbose", "--vcpu-kick", "--halt ",
	"--pid PID", "--vcpu N", "--samples N", "--stale-ms MS", "--format NAME",
	"--exits ", "--force-hooks TYPE", "--csd ", "--advise ", "--share PCT",
	"--budget CORES", "--svg FILE", "--max-ns NS",
	NULL,
};

static void test_help(void **state)
{
	FILE *saved = stdout;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(m);
	stdout = m;
	assert_int_equal(PARSE("-h"), CLI_HELP);
	stdout = fopen("/dev/null", "w");
	assert_int_equal(PARSE("--guest", "--help"), CLI_HELP);
	fclose(stdout);
	stdout = saved;
	fclose(m);
	assert_non_null(strstr(buf, "Usage: ipitrace"));
	assert_non_null(strstr(buf, "--numa-map"));
	/* every option the README documents is in the help, once */
	for (const char *const *d = documented; *d; d++) {
		char *at = strstr(buf, *d);

		if (!at || strstr(at + 1, *d))
			fail_msg("help lists '%s' %s", *d, at ? "twice" : "not at all");
	}
	free(buf);
}

static void test_rejects(void **state)
{
	(void)state;
	REJECT("unknown option", "--guest", "--bogus");
	REJECT("--bogus", "--guest", "--bogus");
	REJECT("unknown option", "--guest", "-x");
	REJECT("-x", "--guest", "-x");
	REJECT("needs a value", "--guest", "-d");
	REJECT("-d", "--guest", "-d");
	REJECT("needs a value", "--guest", "--duration");
	REJECT("--duration", "--guest", "--duration");
	REJECT("needs a value", "--guest", "--numa-map");
	REJECT("needs a value", "--guest", "--btf");
	/* a no-argument long option given a value */
	REJECT("unknown option '--json=1'", "--guest", "--json=1");
	REJECT("unknown option '--guest=1'", "--guest=1");

	REJECT("invalid value 'abc' for --duration", "--guest", "-d", "abc");
	REJECT("invalid value '-1' for --duration", "--guest", "-d", "-1");
	REJECT("invalid value '0' for --duration", "--guest", "-d", "0");
	REJECT("invalid value '1e999' for --duration", "--guest", "-d", "1e999");
	REJECT("invalid value '5s' for --duration", "--guest", "-d", "5s");
	REJECT("invalid value '' for --duration", "--guest", "-d", "");
	REJECT("invalid value 'nan' for --duration", "--guest", "-d", "nan");
	REJECT("invalid value 'inf' for --duration", "--guest", "-d", "inf");
	REJECT("for --interval", "--guest", "-i", "0.001");
	REJECT("for --count", "--guest", "-i", "1", "-c", "0");
	REJECT("for --count", "--guest", "-i", "1", "-c", "1.5");
	REJECT("for --callers", "--guest", "--callers=0");
	REJECT("for --callers", "--guest", "--callers=abc");
	REJECT("for --stale-ms", "--guest", "--stale-ms", "0");
	REJECT("for --pid", "--host", "-p", "0");
	REJECT("for --vcpu", "--host", "--vcpu", "-1");

	REJECT("--count needs --interval", "--guest", "-c", "3");
	REJECT("choose a mode", "-d", "5");
	REJECT("choose a mode", "-j");
	REJECT("only one mode", "--guest", "--host");
	REJECT("needs --host", "--guest", "--vcpu-kick");
	REJECT("needs --host", "--guest", "--halt");
	REJECT("needs --host", "--guest", "-p", "5");
	REJECT("needs --host", "--guest", "--vcpu", "1");
	REJECT("needs --host", "--guest", "--advise");
	REJECT("options of --advise", "--host", "--budget", "1");
	REJECT("options of --advise", "--host", "--max-ns", "50000000");
	REJECT("invalid value '999' for --max-ns", "--host", "--advise",
	       "--max-ns", "999");
	REJECT("invalid value '150' for --share", "--host", "--advise",
	       "--share", "150");
	REJECT("unexpected argument 'extra'", "--guest", "extra");
	REJECT("unexpected argument 'extra'", "extra", "--guest", "-j");
	/* --callers takes its value only with '=' */
	REJECT("unexpected argument '5'", "--guest", "--callers", "5");
	REJECT("cannot read BTF file '/nonexistent'", "--guest", "--btf",
	       "/nonexistent");
	REJECT("needs --guest", "--host", "--aggregate");
	REJECT("unknown --format 'xml' (one of: text, json, openmetrics, prometheus)",
	       "--guest", "--format", "xml");
	REJECT("needs --guest", "--host", "--no-csd");
	/* one strict number parser: no blanks, '+' or a sign where none fits */
	REJECT("invalid value ' 5' for --count", "--guest", "-i", "1", "-c", " 5");
	REJECT("invalid value '+5' for --count", "--guest", "-i", "1", "-c", "+5");
	REJECT("invalid value '-0' for --callers", "--guest", "--callers=-0");
	REJECT("invalid value '+5' for --callers", "--guest", "--callers=+5");
	REJECT("invalid value '+1' for --duration", "--guest", "-d", "+1");
	REJECT("invalid value ' 1' for --duration", "--guest", "-d", " 1");
	/* a device or a directory is no BTF file: refused before libbpf */
	REJECT("'/dev/null': not a regular file", "--guest", "--btf", "/dev/null");
	REJECT("'/tmp': Is a directory", "--guest", "--btf", "/tmp");
	/* after "--", everything is positional */
	REJECT("unexpected argument '-j'", "--guest", "--", "-j");
}

/*
 * A parse that stopped inside a group of short options ("-xj": x is
 * unknown, j not yet read) must not leak into the next parse: cli_parse
 * resets getopt completely.
 */
static void test_getopt_state_reset(void **state)
{
	(void)state;
	/* the message names the bad character, not the previous argument */
	REJECT("unknown option '-x'", "--guest", "-xj");
	assert_int_equal(PARSE("--guest"), 0);
	assert_string_equal(O.format, "text");
	REJECT("unknown option", "--guest", "-jx");
	/* the stale group would make "-d" read "x..." or similar */
	assert_int_equal(PARSE("--guest", "-d", "3"), 0);
	assert_true(O.duration == 3.0);
	REJECT("for --duration", "--guest", "-dfoo");
	assert_int_equal(PARSE("--guest", "-i", "2"), 0);
	assert_true(O.interval == 2.0);
}

static void test_parse_seconds(void **state)
{
	double v = -1;

	(void)state;
	assert_int_equal(parse_seconds("5", 0.001, 10, &v), 0);
	assert_true(v == 5.0);
	assert_int_equal(parse_seconds("0.25", 0.001, 10, &v), 0);
	assert_true(v == 0.25);
	assert_int_equal(parse_seconds("1e1", 0.001, 10, &v), 0);
	assert_true(v == 10.0);
	/* bounds are inclusive */
	assert_int_equal(parse_seconds("0.001", 0.001, 10, &v), 0);
	assert_int_equal(parse_seconds("10", 0.001, 10, &v), 0);
	v = 42;
	assert_int_equal(parse_seconds("10.0001", 0.001, 10, &v), -EINVAL);
	assert_int_equal(parse_seconds("0.0009", 0.001, 10, &v), -EINVAL);
	assert_int_equal(parse_seconds(NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(parse_seconds("", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_seconds("abc", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_seconds("5s", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_seconds("5 ", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_seconds("1e999", 0, 1e308, &v), -EINVAL);
	assert_int_equal(parse_seconds("-1e999", -1e308, 1e308, &v), -EINVAL);
	assert_int_equal(parse_seconds("inf", 0, INFINITY, &v), -EINVAL);
	assert_int_equal(parse_seconds("nan", -1e308, 1e308, &v), -EINVAL);
	assert_int_equal(parse_seconds("-1", 0, 10, &v), -EINVAL);
	/* the output is untouched on error */
	assert_true(v == 42);
	/* denormal underflow sets ERANGE: rejected */
	assert_int_equal(parse_seconds("1e-320", 0, 10, &v), -EINVAL);
}

static void test_parse_long(void **state)
{
	long v = -7;

	(void)state;
	assert_int_equal(parse_long("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_long("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_long("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	v = 99;
	assert_int_equal(parse_long("11", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_long("-1", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_long(NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(parse_long("", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_long("1.5", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_long("0x10", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_long("12abc", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_long("abc", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_long("5 ", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_long("99999999999999999999999", 0, LONG_MAX, &v),
			 -EINVAL);
	assert_int_equal(parse_long("-99999999999999999999999", LONG_MIN, 0, &v),
			 -EINVAL);
	assert_int_equal(v, 99);
	assert_int_equal(parse_long("9223372036854775807", 0, LONG_MAX, &v), 0);
	assert_int_equal(v, LONG_MAX);
	/* decimal even with a leading zero (no octal) */
	assert_int_equal(parse_long("010", 0, 100, &v), 0);
	assert_int_equal(v, 10);
}

static void test_host_hook_options(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--host", "--exits", "--force-hooks", "tracepoint"), 0);
	assert_true(O.exits);
	assert_int_equal(O.force_hooks, HOOK_TRACEPOINT);
	assert_int_equal(PARSE("--host", "--force-hooks", "kprobe", "--list-hooks"), 0);
	assert_int_equal(O.force_hooks, HOOK_KPROBE);
	assert_false(O.exits);
	REJECT("invalid value 'kprobes' for --force-hooks", "--host", "--force-hooks", "kprobes");
	REJECT("needs a value", "--host", "--force-hooks");
	REJECT("--exits needs --host", "--guest", "--exits");
	/* the runner is shared: the guest forces rungs too */
	assert_int_equal(PARSE("--guest", "--force-hooks", "raw_tp"), 0);
	assert_int_equal(O.force_hooks, HOOK_RAW_TP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_valid_combos),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_getopt_state_reset),
		cmocka_unit_test(test_parse_seconds),
		cmocka_unit_test(test_parse_long),
		cmocka_unit_test(test_host_hook_options),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
