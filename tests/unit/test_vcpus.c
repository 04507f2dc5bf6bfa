// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "vcpus.h"

#define UNUSED		__attribute__((unused))

static void test_comm(void **state UNUSED)
{
	assert_int_equal(vcpu_from_comm("CPU 0/KVM"), 0);
	assert_int_equal(vcpu_from_comm("CPU 17/KVM\n"), 17);
	assert_int_equal(vcpu_from_comm("CPU 1/KVMX"), -1);
	assert_int_equal(vcpu_from_comm("CPU /KVM"), -1);
	assert_int_equal(vcpu_from_comm("CPU -1/KVM"), -1);
	assert_int_equal(vcpu_from_comm("qemu-system-x86"), -1);
	assert_int_equal(vcpu_from_comm("IO mon_iothread"), -1);
	assert_int_equal(vcpu_from_comm(""), -1);
}

static void put(const char *root, const char *rel, const char *text)
{
	char path[512], dir[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	strcpy(dir, path);
	for (slash = dir + strlen(root) + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = 0;
		mkdir(dir, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

struct seen {
	int n;
	int pid[8], tid[8], vcpu[8];
};

static void record(pid_t pid, pid_t tid, int vcpu, void *ctx)
{
	struct seen *s = ctx;

	if (s->n < 8) {
		s->pid[s->n] = pid;
		s->tid[s->n] = tid;
		s->vcpu[s->n] = vcpu;
	}
	s->n++;
}

static int find_tid(const struct seen *s, int tid)
{
	int i;

	for (i = 0; i < s->n && i < 8; i++)
		if (s->tid[i] == tid)
			return i;
	return -1;
}

static void test_scan_fake_proc(void **state UNUSED)
{
	char root[] = "/tmp/ipt-proc-XXXXXX";
	struct seen s = {};
	int i;

	assert_non_null(mkdtemp(root));
	put(root, "100/task/100/comm", "qemu-system-x86\n");
	put(root, "100/task/101/comm", "CPU 0/KVM\n");
	put(root, "100/task/102/comm", "CPU 1/KVM\n");
	put(root, "200/task/200/comm", "bash\n");
	put(root, "300/task/301/comm", "CPU 3/KVM\n");
	put(root, "self/task/1/comm", "CPU 9/KVM\n");	/* not numeric: skipped */

	assert_int_equal(vcpu_scan(root, 0, record, &s), 3);
	i = find_tid(&s, 102);
	assert_true(i >= 0);
	assert_int_equal(s.pid[i], 100);
	assert_int_equal(s.vcpu[i], 1);
	i = find_tid(&s, 301);
	assert_true(i >= 0);
	assert_int_equal(s.pid[i], 300);
	assert_int_equal(s.vcpu[i], 3);

	memset(&s, 0, sizeof(s));
	assert_int_equal(vcpu_scan(root, 100, record, &s), 2);
	assert_true(find_tid(&s, 301) < 0);
	assert_int_equal(vcpu_scan("/nonexistent-proc", 0, record, &s) < 0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comm),
		cmocka_unit_test(test_scan_fake_proc),
	};

	return cmocka_run_group_tests_name("vcpus", tests, NULL, NULL);
}
