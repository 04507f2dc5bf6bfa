/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipigen: generate real IPIs from user space, and time them.
 *
 *  - cpuid: pread() of /dev/cpu/N/cpuid runs smp_call_function_single() to
 *    CPU N and sleeps until it is done. From another CPU that is one
 *    function-call IPI to N, plus (usually) a second one back: N's remote
 *    wakeup of the sleeping reader (ttwu_queue_wakelist). With N == the
 *    caller's CPU it is the same call with no IPI (the local baseline).
 *  - membarrier PRIVATE_EXPEDITED: smp_call_function_many() to every other
 *    CPU currently running one of this process's threads; the caller spins
 *    until all are done (one IPI per target, no wakeup back). Idle CPUs, or
 *    CPUs running other tasks, get no IPI: keep targets busy with spinners.
 *  - membarrier PRIVATE_EXPEDITED_RSEQ + MEMBARRIER_CMD_FLAG_CPU: the same
 *    for one CPU (kernel >= 5.10), smp_call_function_single(wait=1); on the
 *    caller's own CPU it runs locally without an IPI.
 */
#ifndef __IPT_IPIGEN_H
#define __IPT_IPIGEN_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

/* ---- CPUs ---- */

/* Pin the calling thread to @cpu. 0 or -errno. */
int ipigen_pin_self(int cpu);
/* Is @cpu an online CPU (per /sys/devices/system/cpu/online)? */
int ipigen_cpu_online(int cpu);
/* Number of possible CPUs (highest online CPU + 1), at least 1. */
int ipigen_nr_cpus(void);
/*
 * Parse a cpulist ("0-3,8,10-11") into @cpus (up to @max entries, in
 * order). Returns the number of CPUs or -EINVAL.
 */
int ipigen_parse_cpulist(const char *s, int *cpus, int max);

/* ---- cpuid device ---- */

/*
 * Open /dev/cpu/@cpu/cpuid read-only. If the device node is missing, runs
 * `modprobe cpuid` once and retries. Returns an fd or -errno; on error a
 * message naming the cause is printed to stderr.
 */
int ipigen_cpuid_open(int cpu);
/* One call: pread 16 bytes at offset 0. 0 or -errno. */
int ipigen_cpuid_call(int fd);

/* ---- membarrier ---- */

#define IPIGEN_MB_EXPEDITED	(1 << 0)	/* PRIVATE_EXPEDITED usable */
#define IPIGEN_MB_CPU		(1 << 1)	/* _RSEQ + FLAG_CPU usable */

/*
 * Query and register (once per process) for PRIVATE_EXPEDITED and, where
 * the kernel has it, PRIVATE_EXPEDITED_RSEQ. Returns IPIGEN_MB_* bits
 * (0 if membarrier cannot send IPIs here).
 */
int ipigen_mb_init(void);
/* IPI every other CPU running one of our threads. 0 or -errno. */
int ipigen_mb_all(void);
/* IPI @cpu if it runs one of our threads (needs IPIGEN_MB_CPU). */
int ipigen_mb_cpu(int cpu);

/* ---- busy targets ---- */

struct ipigen_spinner {
	pthread_t thread;
	int cpu;
	int started;		/* the thread runs on cpu */
	int stop;		/* set by ipigen_spinner_stop() */
	int err;		/* pinning error, -errno */
};

/*
 * Start a thread pinned to @cpu that spins in user space until stopped.
 * Returns once it is running on @cpu. 0 or -errno.
 */
int ipigen_spinner_start(struct ipigen_spinner *s, int cpu);
void ipigen_spinner_stop(struct ipigen_spinner *s);

/* ---- generators and timing ---- */

enum ipigen_mech {
	IPIGEN_CPUID,		/* pread of /dev/cpu/N/cpuid */
	IPIGEN_CPUID_EACH,	/* one cpuid read to each target, in turn */
	IPIGEN_MB_ALL_CPUS,	/* membarrier PRIVATE_EXPEDITED */
	IPIGEN_MB_ONE_CPU,	/* membarrier _RSEQ with FLAG_CPU */
};

#define IPIGEN_MAX_TARGETS	256

struct ipigen {
	enum ipigen_mech mech;
	int nr;				/* number of targets */
	int cpus[IPIGEN_MAX_TARGETS];
	int fds[IPIGEN_MAX_TARGETS];	/* cpuid fds, -1 if unused */
};

/*
 * Prepare @g to send to @cpus[0..@nr-1] (for the cpuid and FLAG_CPU
 * mechanisms only cpus[0] is used unless IPIGEN_CPUID_EACH). Opens the
 * devices and checks membarrier support. 0 or -errno (message printed).
 */
int ipigen_open(struct ipigen *g, enum ipigen_mech mech,
		const int *cpus, int nr);
void ipigen_close(struct ipigen *g);
/* One "IPI" of the generator (one round for CPUID_EACH). 0 or -errno. */
int ipigen_fire(struct ipigen *g);
const char *ipigen_mech_name(enum ipigen_mech mech);

/* CLOCK_MONOTONIC in ns. */
uint64_t ipigen_now_ns(void);
/* Sleep for @ns (no-op for 0). */
void ipigen_sleep_ns(uint64_t ns);

/*
 * Fire @g @n times, storing each call's duration in @samples, sleeping
 * @gap_ns between calls. Returns the number of calls done (n) or -errno
 * from the first failing call.
 */
long ipigen_run(struct ipigen *g, uint64_t *samples, size_t n,
		uint64_t gap_ns);

struct ipigen_stats {
	size_t count;
	uint64_t total;		/* sum of samples */
	uint64_t mean;
	uint64_t min;
	uint64_t p50;
	uint64_t p99;
	uint64_t max;
};

/*
 * Statistics of @v[0..@n-1] (sorts a copy; @v is untouched). Percentiles
 * are nearest-rank. 0, or -ENOMEM (stats zeroed).
 */
int ipigen_stats(const uint64_t *v, size_t n, struct ipigen_stats *st);
/* Nearest-rank percentile @pct (0..100) of a sorted array. */
uint64_t ipigen_percentile(const uint64_t *sorted, size_t n, unsigned pct);

#endif /* __IPT_IPIGEN_H */
