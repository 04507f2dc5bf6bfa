// SPDX-License-Identifier: GPL-2.0
/* Unit tests for src/common/topology.c. Run from the repo root, or set IPT_FIXTURES. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "topology.h"

#define UNUSED		__attribute__((unused))

static const char *fixture(const char *name)
{
	static char path[PATH_MAX];
	const char *dir = getenv("IPT_FIXTURES");

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "tests/fixtures", name);
	return path;
}

/* Load fixture @name and compare with @want[0..nr). */
static void check_fixture(const char *name, const int *want, int nr, int nodes)
{
	struct topology t;
	int cpu;

	assert_int_equal(topology_load(&t, fixture(name)), 0);
	assert_int_equal(t.nr_cpus, nr);
	assert_int_equal(t.nr_nodes, nodes);
	for (cpu = 0; cpu < nr; cpu++)
		assert_int_equal(topology_node_of(&t, cpu), want[cpu]);
	assert_int_equal(topology_node_of(&t, nr), -1);
	assert_int_equal(topology_node_of(&t, -1), -1);
	topology_free(&t);
	assert_null(t.cpu_node);
	assert_int_equal(t.nr_cpus, 0);
}

static void test_fixture_2node(void **state UNUSED)
{
	static const int want[] = { 0, 0, 1, 1 };

	check_fixture("sysfs-2node", want, 4, 2);
}

static void test_fixture_4node(void **state UNUSED)
{
	static const int want[] = { 0, 1, 2, 3, 0, 1, 2, 3 };

	check_fixture("sysfs-4node", want, 8, 4);
}

static void test_fixture_offline(void **state UNUSED)
{
	static const int want[] = { 0, 0, -1, 1, 1, -1 };

	check_fixture("sysfs-offline", want, 6, 2);
}

static void test_fixture_nonuma(void **state UNUSED)
{
	static const int want[] = { 0, 0, 0, 0 };

	check_fixture("sysfs-nonuma", want, 4, 1);
}

static void test_load_missing(void **state UNUSED)
{
	struct topology t;

	assert_int_equal(topology_load(&t, fixture("no-such-dir")), -ENOENT);
	assert_null(t.cpu_node);
	assert_int_equal(t.nr_cpus, 0);
	assert_int_equal(t.nr_nodes, 0);
}

/* Build a throwaway sysfs tree under a mkdtemp() root. */
static void put(const char *root, const char *rel, const char *text)
{
	char path[PATH_MAX], cmd[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/devices/system/%s", root, rel);
	*strrchr(path, '/') = '\0';
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/devices/system/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void rm_tree(const char *root)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

static void test_load_memory_only_node(void **state UNUSED)
{
	char root[] = "/tmp/ipt-topo-XXXXXX";
	struct topology t;

	assert_non_null(mkdtemp(root));
	put(root, "cpu/possible", "0-1\n");
	put(root, "node/node0/cpulist", "0-1\n");
	put(root, "node/node1/cpulist", "\n");	/* CXL / memory-only */
	assert_int_equal(topology_load(&t, root), 0);
	assert_int_equal(t.nr_cpus, 2);
	assert_int_equal(t.nr_nodes, 2);
	assert_int_equal(topology_same_node(&t, 0, 1), 1);
	topology_free(&t);
	rm_tree(root);
}

static void test_load_bad_sysfs(void **state UNUSED)
{
	char root[] = "/tmp/ipt-topo-XXXXXX";
	struct topology t;

	assert_non_null(mkdtemp(root));
	put(root, "node/node0/cpulist", "0-1\n");
	put(root, "node/node1/cpulist", "1-2\n");	/* CPU 1 twice */
	assert_int_equal(topology_load(&t, root), -EINVAL);
	assert_null(t.cpu_node);
	put(root, "node/node1/cpulist", "2-x\n");
	assert_int_equal(topology_load(&t, root), -EINVAL);
	/* no cpu/possible: nr_cpus comes from the nodes alone */
	put(root, "node/node1/cpulist", "2-3\n");
	assert_int_equal(topology_load(&t, root), 0);
	assert_int_equal(t.nr_cpus, 4);
	assert_int_equal(topology_node_of(&t, 3), 1);
	topology_free(&t);
	rm_tree(root);
}

/* A cpulist far bigger than one read() chunk: "0,2,4,...,8190". */
static void test_load_long_cpulist(void **state UNUSED)
{
	char root[] = "/tmp/ipt-topo-XXXXXX";
	char *list, *p;
	struct topology t;
	int cpu;

	assert_non_null(mkdtemp(root));
	list = malloc(TOPOLOGY_MAX_CPUS * 3);
	assert_non_null(list);
	for (p = list, cpu = 0; cpu < TOPOLOGY_MAX_CPUS; cpu += 2)
		p += sprintf(p, "%s%d", cpu ? "," : "", cpu);
	strcpy(p, "\n");
	assert_true(strlen(list) > 16384);
	put(root, "node/node0/cpulist", list);
	for (p = list, cpu = 1; cpu < TOPOLOGY_MAX_CPUS; cpu += 2)
		p += sprintf(p, "%s%d", cpu > 1 ? "," : "", cpu);
	strcpy(p, "\n");
	put(root, "node/node1/cpulist", list);
	free(list);
	put(root, "cpu/possible", "0-8191\n");
	assert_int_equal(topology_load(&t, root), 0);
	assert_int_equal(t.nr_cpus, TOPOLOGY_MAX_CPUS);
	for (cpu = 0; cpu < TOPOLOGY_MAX_CPUS; cpu++)
		assert_int_equal(topology_node_of(&t, cpu), cpu & 1);
	topology_free(&t);
	rm_tree(root);
}

static void test_same_node(void **state UNUSED)
{
	struct topology t;

	assert_int_equal(topology_load(&t, fixture("sysfs-4node")), 0);
	assert_int_equal(topology_same_node(&t, 0, 4), 1);
	assert_int_equal(topology_same_node(&t, 3, 7), 1);
	assert_int_equal(topology_same_node(&t, 0, 1), 0);
	assert_int_equal(topology_same_node(&t, 4, 5), 0);
	assert_int_equal(topology_same_node(&t, 2, 2), 1);
	assert_int_equal(topology_same_node(&t, 0, 8), -1);
	assert_int_equal(topology_same_node(&t, -1, 0), -1);
	topology_free(&t);

	assert_int_equal(topology_load(&t, fixture("sysfs-offline")), 0);
	assert_int_equal(topology_same_node(&t, 0, 1), 1);
	assert_int_equal(topology_same_node(&t, 1, 3), 0);
	assert_int_equal(topology_same_node(&t, 0, 2), -1);
	assert_int_equal(topology_same_node(&t, 5, 4), -1);
	topology_free(&t);

	assert_int_equal(topology_same_node(NULL, 0, 0), -1);
	topology_free(&t);	/* double free of a zeroed map is harmless */
}

static void test_parse_map(void **state UNUSED)
{
	struct topology t;

	assert_int_equal(topology_parse_map(&t, "0-1,4:0/2-3,5:1"), 0);
	assert_int_equal(t.nr_cpus, 6);
	assert_int_equal(t.nr_nodes, 2);
	assert_int_equal(topology_node_of(&t, 0), 0);
	assert_int_equal(topology_node_of(&t, 1), 0);
	assert_int_equal(topology_node_of(&t, 2), 1);
	assert_int_equal(topology_node_of(&t, 3), 1);
	assert_int_equal(topology_node_of(&t, 4), 0);
	assert_int_equal(topology_node_of(&t, 5), 1);
	assert_int_equal(topology_same_node(&t, 1, 4), 1);
	assert_int_equal(topology_same_node(&t, 4, 5), 0);
	topology_free(&t);

	/* holes are unknown; node ids need not be dense */
	assert_int_equal(topology_parse_map(&t, "0:0/7:3"), 0);
	assert_int_equal(t.nr_cpus, 8);
	assert_int_equal(t.nr_nodes, 4);
	assert_int_equal(topology_node_of(&t, 3), -1);
	assert_int_equal(topology_node_of(&t, 7), 3);
	topology_free(&t);

	assert_int_equal(topology_parse_map(&t, "0-3:0"), 0);
	assert_int_equal(t.nr_nodes, 1);
	assert_int_equal(topology_same_node(&t, 0, 3), 1);
	topology_free(&t);
}

static void test_parse_map_errors(void **state UNUSED)
{
	static const char *const bad[] = {
		"", ":", ":0", "0:", "0-1", "0-1:x", "0-1:-1", "0-1:0/",
		"/0-1:0", "0-1:0//2:1", "0-1:0/1-2:1", "3-1:0", "0-1:0:1",
		"0-1 :0", "0-1:0\n", "0-1:0,2:1", "0-1:1024", "a:0",
		"0-1;0", "0-1:0;2-3:1", "99999999999:0",
	};
	struct topology t;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t.nr_cpus = 42;
		if (topology_parse_map(&t, bad[i]) >= 0)
			fail_msg("accepted bad map \"%s\"", bad[i]);
		assert_null(t.cpu_node);
		assert_int_equal(t.nr_cpus, 0);
	}
	assert_int_equal(topology_parse_map(&t, "0-1:0/1-2:1"), -EINVAL);
	assert_int_equal(topology_parse_map(&t, NULL), -EINVAL);
	assert_int_equal(topology_parse_map(&t, "8192:0"), -ERANGE);
}

static void test_cpulist(void **state UNUSED)
{
	unsigned char set[16];
	int i;

	memset(set, 0, sizeof(set));
	assert_int_equal(cpulist_parse("0", set, 16), 1);
	assert_int_equal(set[0], 1);
	assert_int_equal(cpulist_parse("0-0", set, 16), 1);
	assert_int_equal(cpulist_parse("0\n", set, 16), 1);

	memset(set, 0, sizeof(set));
	assert_int_equal(cpulist_parse("0-3,8,10-11\n", set, 16), 12);
	for (i = 0; i < 16; i++)
		assert_int_equal(set[i], (i <= 3 || i == 8 || i == 10 || i == 11));

	memset(set, 0, sizeof(set));
	assert_int_equal(cpulist_parse("15", set, 16), 16);
	assert_int_equal(set[15], 1);
	assert_int_equal(cpulist_parse("3,1", NULL, 16), 4);	/* unordered ok */
	assert_int_equal(cpulist_parse("16", set, 16), -ERANGE);
	assert_int_equal(cpulist_parse("0-16", set, 16), -ERANGE);
}

static void test_cpulist_bad(void **state UNUSED)
{
	static const char *const bad[] = {
		"3-1", "a", "", "\n", "1,,2", ",1", "1,", "-1", "1-", "1-2-3",
		"+1", " 1", "1 ", "1\n\n", "0-7:2", "0x1", "1\n2",
	};
	unsigned char set[16];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cpulist_parse(bad[i], set, 16) != -EINVAL)
			fail_msg("cpulist \"%s\" not rejected with -EINVAL", bad[i]);
	assert_int_equal(cpulist_parse(NULL, set, 16), -EINVAL);
	assert_int_equal(cpulist_parse("99999999999", set, 16), -ERANGE);
}

/* The running machine: compare with glibc and with getcpu(2). */
static void test_real_sysfs(void **state UNUSED)
{
	long conf = sysconf(_SC_NPROCESSORS_CONF);
	unsigned int cpu, node;
	struct topology t;
	cpu_set_t mask;

	if (access("/sys/devices/system/cpu", F_OK))
		skip();
	assert_int_equal(topology_load(&t, "/sys"), 0);
	assert_int_equal(t.nr_cpus, conf);
	assert_true(t.nr_nodes >= 1);

	/* every CPU we can run on has a node, the one the kernel reports */
	assert_int_equal(sched_getaffinity(0, sizeof(mask), &mask), 0);
	for (cpu = 0; cpu < (unsigned int)t.nr_cpus && cpu < CPU_SETSIZE; cpu++) {
		cpu_set_t one;
		unsigned int c, n;

		if (!CPU_ISSET(cpu, &mask))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			continue;
		assert_int_equal(getcpu(&c, &n), 0);
		assert_int_equal(c, cpu);
		assert_int_equal(topology_node_of(&t, cpu), n);
	}
	assert_int_equal(sched_setaffinity(0, sizeof(mask), &mask), 0);
	assert_int_equal(getcpu(&cpu, &node), 0);
	assert_true(topology_node_of(&t, cpu) >= 0);
	topology_free(&t);

	assert_int_equal(topology_load(&t, NULL), 0);	/* NULL means /sys */
	assert_int_equal(t.nr_cpus, conf);
	topology_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_2node),
		cmocka_unit_test(test_fixture_4node),
		cmocka_unit_test(test_fixture_offline),
		cmocka_unit_test(test_fixture_nonuma),
		cmocka_unit_test(test_load_missing),
		cmocka_unit_test(test_load_memory_only_node),
		cmocka_unit_test(test_load_bad_sysfs),
		cmocka_unit_test(test_load_long_cpulist),
		cmocka_unit_test(test_same_node),
		cmocka_unit_test(test_parse_map),
		cmocka_unit_test(test_parse_map_errors),
		cmocka_unit_test(test_cpulist),
		cmocka_unit_test(test_cpulist_bad),
		cmocka_unit_test(test_real_sysfs),
	};

	return cmocka_run_group_tests_name("topology", tests, NULL, NULL);
}
