// SPDX-License-Identifier: GPL-2.0
/*
 * cpuid-ipi: cause a known number of function-call IPIs without a kernel
 * module. Reading /dev/cpu/N/cpuid from another CPU runs
 * smp_call_function_single() to CPU N and waits for it, so each read is one
 * IPI to N (plus, usually, a remote-wakeup IPI back to the reader's CPU).
 *
 * usage: cpuid-ipi [-c SRC_CPU] [-n COUNT] TARGET_CPU...
 *
 * Pins itself to SRC_CPU (default 0), then for each target does COUNT
 * 16-byte reads of CPUID leaf 0 and prints one line per target:
 *   target=N src=S count=C total_ns=T avg_ns=A
 * Exit status 0 on success, 1 on any error. Built statically for the QEMU
 * guests (tests/qemu/test-qemu.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: cpuid-ipi [-c SRC_CPU] [-n COUNT] TARGET_CPU...\n");
	exit(1);
}

int main(int argc, char **argv)
{
	long src = 0, count = 1000;
	cpu_set_t set;
	int opt, i, rc = 0;

	while ((opt = getopt(argc, argv, "c:n:h")) != -1) {
		switch (opt) {
		case 'c': src = strtol(optarg, NULL, 0); break;
		case 'n': count = strtol(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (optind >= argc || count <= 0 || src < 0 || src >= CPU_SETSIZE)
		usage();

	CPU_ZERO(&set);
	CPU_SET(src, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "cpuid-ipi: sched_setaffinity(%ld): %s\n", src, strerror(errno));
		return 1;
	}

	for (i = optind; i < argc; i++) {
		long cpu = strtol(argv[i], NULL, 0);
		char path[64];
		unsigned int regs[4];
		long long t0, t1;
		long n;
		int fd;

		snprintf(path, sizeof(path), "/dev/cpu/%ld/cpuid", cpu);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "cpuid-ipi: open %s: %s\n", path, strerror(errno));
			rc = 1;
			continue;
		}
		t0 = now_ns();
		for (n = 0; n < count; n++) {
			if (pread(fd, regs, sizeof(regs), 0) != (ssize_t)sizeof(regs)) {
				fprintf(stderr, "cpuid-ipi: read %s: %s\n", path, strerror(errno));
				rc = 1;
				break;
			}
		}
		t1 = now_ns();
		close(fd);
		printf("target=%ld src=%ld count=%ld total_ns=%lld avg_ns=%lld\n",
		       cpu, src, n, t1 - t0, n ? (t1 - t0) / n : 0);
		fflush(stdout);
	}
	return rc;
}
