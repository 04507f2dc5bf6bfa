// SPDX-License-Identifier: GPL-2.0
/*
 * ipt_floor: load and attach bpf/ipi_floor.bpf.c (one atomic add per hook
 * call on ipi_send_cpu and call_function_single_entry), run until
 * SIGINT/SIGTERM or -d SEC, print the counters.
 *
 *   ipt_floor [-d SEC] [-j] [--clock]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "ipi_floor.skel.h"

static const char usage[] =
"Usage: ipt_floor [-d SEC] [-j] [--clock]\n"
"\n"
"Attaches empty tp_btf programs (one atomic add each) to ipi:ipi_send_cpu,\n"
"ipi_send_cpumask and the handler entries of call_function_single,\n"
"call_function and reschedule IPIs:\n"
"the floor that the overhead\n"
"benchmark compares ipitrace's per-hook cost with.\n"
"\n"
"  -d, --duration SEC  stop after SEC seconds (default: until SIGINT/SIGTERM)\n"
"  -j, --json          print the counters as one JSON object\n"
"  -c, --clock         also read the clock on both sides and subtract (the\n"
"                      least a send-to-handler pairing can do)\n";

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt,
		       va_list args)
{
	if (level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "clock", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct ipi_floor_bpf *skel;
	double duration = 0, start;
	int json = 0, clock_pair = 0, c, err;
	char *end;

	while ((c = getopt_long(argc, argv, "d:jch", lopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || end == optarg || !(duration > 0)) {
				fprintf(stderr, "ipt_floor: bad duration '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'j':
			json = 1;
			break;
		case 'c':
			clock_pair = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ipt_floor: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}

	libbpf_set_print(quiet_print);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	skel = ipi_floor_bpf__open();
	err = skel ? 0 : -errno;
	if (skel) {
		skel->rodata->clock_pair = clock_pair;
		err = ipi_floor_bpf__load(skel);
		if (err) {
			ipi_floor_bpf__destroy(skel);
			skel = NULL;
		}
	}
	if (!skel) {
		fprintf(stderr, "ipt_floor: cannot load BPF programs: %s\n",
			strerror(-err));
		return 1;
	}
	err = ipi_floor_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "ipt_floor: cannot attach: %s\n",
			strerror(-err));
		ipi_floor_bpf__destroy(skel);
		return 1;
	}
	if (!json)
		fprintf(stderr, "ipt_floor: attached, waiting%s\n",
			duration > 0 ? "" : " for SIGINT/SIGTERM");

	start = now_s();
	while (!stopping && !(duration > 0 && now_s() - start >= duration))
		usleep(20000);

	if (json)
		printf("{\"duration_s\":%.6f,\"send\":%llu,\"handler\":%llu}\n",
		       now_s() - start,
		       (unsigned long long)__atomic_load_n(&skel->bss->send_cnt, __ATOMIC_RELAXED),
		       (unsigned long long)__atomic_load_n(&skel->bss->handler_cnt, __ATOMIC_RELAXED));
	else
		printf("ipt_floor: %.3f s: ipi_send_cpu %llu, call_function_single_entry %llu\n",
		       now_s() - start,
		       (unsigned long long)__atomic_load_n(&skel->bss->send_cnt, __ATOMIC_RELAXED),
		       (unsigned long long)__atomic_load_n(&skel->bss->handler_cnt, __ATOMIC_RELAXED));
	ipi_floor_bpf__destroy(skel);
	return 0;
}
