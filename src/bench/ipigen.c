// SPDX-License-Identifier: GPL-2.0
/* ipigen: real IPIs from user space (see ipigen.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/membarrier.h>
#include "ipigen.h"

#define CPU_ONLINE_PATH	"/sys/devices/system/cpu/online"

int ipigen_pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return 0;
}

static int parse_range(const char *s, char **end, int *lo, int *hi)
{
	long a, b;

	errno = 0;
	a = strtol(s, end, 10);
	if (errno || *end == s || a < 0 || a > 1 << 20)
		return -EINVAL;
	b = a;
	if (**end == '-') {
		s = *end + 1;
		b = strtol(s, end, 10);
		if (errno || *end == s || b < a || b > 1 << 20)
			return -EINVAL;
	}
	*lo = a;
	*hi = b;
	return 0;
}

int ipigen_parse_cpulist(const char *s, int *cpus, int max)
{
	int n = 0, lo, hi;
	char *end;

	while (*s && *s != '\n') {
		if (parse_range(s, &end, &lo, &hi))
			return -EINVAL;
		for (; lo <= hi; lo++) {
			if (n >= max)
				return -EINVAL;
			cpus[n++] = lo;
		}
		if (*end == ',')
			end++;
		else if (*end && *end != '\n')
			return -EINVAL;
		s = end;
	}
	return n;
}

static int read_online(int *cpus, int max)
{
	char buf[4096];
	ssize_t len;
	int fd;

	fd = open(CPU_ONLINE_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -EIO;
	buf[len] = '\0';
	return ipigen_parse_cpulist(buf, cpus, max);
}

int ipigen_cpu_online(int cpu)
{
	int cpus[CPU_SETSIZE], n, i;

	n = read_online(cpus, CPU_SETSIZE);
	if (n < 0)	/* no sysfs: trust sysconf */
		return cpu >= 0 && cpu < sysconf(_SC_NPROCESSORS_ONLN);
	for (i = 0; i < n; i++)
		if (cpus[i] == cpu)
			return 1;
	return 0;
}

int ipigen_nr_cpus(void)
{
	int cpus[CPU_SETSIZE], n;
	long nr;

	n = read_online(cpus, CPU_SETSIZE);
	if (n > 0)
		return cpus[n - 1] + 1;
	nr = sysconf(_SC_NPROCESSORS_ONLN);
	return nr > 0 ? nr : 1;
}

/* ---- cpuid device ---- */

static int run_modprobe_cpuid(void)
{
	int status, fd;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execlp("modprobe", "modprobe", "cpuid", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ENOENT;
}

static void cpuid_open_error(int cpu, const char *path, int err)
{
	switch (err) {
	case ENOENT:
	case ENODEV:
		fprintf(stderr, "ipigen: %s is missing: the cpuid driver is not "
			"available (needs CONFIG_X86_CPUID; `modprobe cpuid` "
			"failed)\n", path);
		break;
	case ENXIO:
		fprintf(stderr, "ipigen: %s: CPU %d is offline\n", path, cpu);
		break;
	case EACCES:
	case EPERM:
		fprintf(stderr, "ipigen: %s: %s (needs root / CAP_SYS_RAWIO)\n",
			path, strerror(err));
		break;
	default:
		fprintf(stderr, "ipigen: %s: %s\n", path, strerror(err));
	}
}

int ipigen_cpuid_open(int cpu)
{
	static int modprobe_tried;
	char path[64];
	int fd, err;

	if (!ipigen_cpu_online(cpu)) {
		fprintf(stderr, "ipigen: CPU %d is not an online CPU\n", cpu);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/dev/cpu/%d/cpuid", cpu);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && !modprobe_tried) {
		modprobe_tried = 1;
		run_modprobe_cpuid();
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		err = errno;
		cpuid_open_error(cpu, path, err);
		return -err;
	}
	return fd;
}

int ipigen_cpuid_call(int fd)
{
	unsigned char buf[16];
	ssize_t n;

	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	return n == sizeof(buf) ? 0 : -EIO;
}

/* ---- membarrier ---- */

static int membarrier(int cmd, unsigned int flags, int cpu_id)
{
	return syscall(__NR_membarrier, cmd, flags, cpu_id);
}

static int mb_try_flag_cpu(void)
{
	int cpu = sched_getcpu();

	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0))
		return 0;
	/* EINVAL before 5.10: FLAG_CPU unknown */
	return membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
			  MEMBARRIER_CMD_FLAG_CPU, cpu < 0 ? 0 : cpu) == 0;
}

int ipigen_mb_init(void)
{
	static int caps = -1;
	int q;

	if (caps >= 0)
		return caps;
	caps = 0;
	q = membarrier(MEMBARRIER_CMD_QUERY, 0, 0);
	if (q < 0)
		return caps;
	if ((q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    !membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0))
		caps |= IPIGEN_MB_EXPEDITED;
	if ((q & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) && mb_try_flag_cpu())
		caps |= IPIGEN_MB_CPU;
	return caps;
}

int ipigen_mb_all(void)
{
	if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0))
		return -errno;
	return 0;
}

int ipigen_mb_cpu(int cpu)
{
	if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
		       MEMBARRIER_CMD_FLAG_CPU, cpu))
		return -errno;
	return 0;
}

/* ---- busy targets ---- */

static void *spinner_fn(void *arg)
{
	struct ipigen_spinner *s = arg;
	int err;

	err = ipigen_pin_self(s->cpu);
	if (err) {
		__atomic_store_n(&s->err, err, __ATOMIC_RELEASE);
		return NULL;
	}
	__atomic_store_n(&s->started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
		;
	return NULL;
}

int ipigen_spinner_start(struct ipigen_spinner *s, int cpu)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->cpu = cpu;
	err = pthread_create(&s->thread, NULL, spinner_fn, s);
	if (err)
		return -err;
	while (!__atomic_load_n(&s->started, __ATOMIC_ACQUIRE)) {
		err = __atomic_load_n(&s->err, __ATOMIC_ACQUIRE);
		if (err) {
			pthread_join(s->thread, NULL);
			return err;
		}
		ipigen_sleep_ns(100000);
	}
	return 0;
}

void ipigen_spinner_stop(struct ipigen_spinner *s)
{
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	pthread_join(s->thread, NULL);
}

/* ---- generators ---- */

const char *ipigen_mech_name(enum ipigen_mech mech)
{
	switch (mech) {
	case IPIGEN_CPUID:
		return "cpuid";
	case IPIGEN_CPUID_EACH:
		return "cpuid-each";
	case IPIGEN_MB_ALL_CPUS:
		return "membarrier";
	case IPIGEN_MB_ONE_CPU:
		return "membarrier-cpu";
	}
	return "?";
}

static int open_cpuid_fds(struct ipigen *g)
{
	int i, n = g->mech == IPIGEN_CPUID ? 1 : g->nr;

	for (i = 0; i < n; i++) {
		g->fds[i] = ipigen_cpuid_open(g->cpus[i]);
		if (g->fds[i] < 0)
			return g->fds[i];
	}
	return 0;
}

static int check_mb(struct ipigen *g)
{
	int caps = ipigen_mb_init(), i;

	for (i = 0; i < g->nr; i++) {
		if (!ipigen_cpu_online(g->cpus[i])) {
			fprintf(stderr, "ipigen: CPU %d is not an online CPU\n",
				g->cpus[i]);
			return -EINVAL;
		}
	}
	if (g->mech == IPIGEN_MB_ALL_CPUS && !(caps & IPIGEN_MB_EXPEDITED)) {
		fprintf(stderr, "ipigen: membarrier PRIVATE_EXPEDITED is not "
			"available on this kernel\n");
		return -EOPNOTSUPP;
	}
	if (g->mech == IPIGEN_MB_ONE_CPU && !(caps & IPIGEN_MB_CPU)) {
		fprintf(stderr, "ipigen: membarrier PRIVATE_EXPEDITED_RSEQ with "
			"MEMBARRIER_CMD_FLAG_CPU is not available (needs kernel "
			">= 5.10 and CONFIG_RSEQ)\n");
		return -EOPNOTSUPP;
	}
	return 0;
}

int ipigen_open(struct ipigen *g, enum ipigen_mech mech,
		const int *cpus, int nr)
{
	int i, err;

	if (nr < 1 || nr > IPIGEN_MAX_TARGETS)
		return -EINVAL;
	g->mech = mech;
	g->nr = nr;
	for (i = 0; i < nr; i++) {
		g->cpus[i] = cpus[i];
		g->fds[i] = -1;
	}
	if (mech == IPIGEN_CPUID || mech == IPIGEN_CPUID_EACH)
		err = open_cpuid_fds(g);
	else
		err = check_mb(g);
	if (err)
		ipigen_close(g);
	return err;
}

void ipigen_close(struct ipigen *g)
{
	int i;

	for (i = 0; i < g->nr; i++) {
		if (g->fds[i] >= 0)
			close(g->fds[i]);
		g->fds[i] = -1;
	}
}

int ipigen_fire(struct ipigen *g)
{
	int i, err;

	switch (g->mech) {
	case IPIGEN_CPUID:
		return ipigen_cpuid_call(g->fds[0]);
	case IPIGEN_CPUID_EACH:
		for (i = 0; i < g->nr; i++) {
			err = ipigen_cpuid_call(g->fds[i]);
			if (err)
				return err;
		}
		return 0;
	case IPIGEN_MB_ALL_CPUS:
		return ipigen_mb_all();
	case IPIGEN_MB_ONE_CPU:
		return ipigen_mb_cpu(g->cpus[0]);
	}
	return -EINVAL;
}

/* ---- timing ---- */

uint64_t ipigen_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void ipigen_sleep_ns(uint64_t ns)
{
	struct timespec ts;

	if (!ns)
		return;
	ts.tv_sec = ns / 1000000000ull;
	ts.tv_nsec = ns % 1000000000ull;
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

long ipigen_run(struct ipigen *g, uint64_t *samples, size_t n,
		uint64_t gap_ns)
{
	uint64_t t0;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		t0 = ipigen_now_ns();
		err = ipigen_fire(g);
		samples[i] = ipigen_now_ns() - t0;
		if (err)
			return err;
		ipigen_sleep_ns(gap_ns);
	}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t ipigen_percentile(const uint64_t *sorted, size_t n, unsigned pct)
{
	size_t rank;

	if (!n)
		return 0;
	if (pct > 100)
		pct = 100;
	rank = (n * pct + 99) / 100;	/* ceil(n * pct / 100) */
	return sorted[rank ? rank - 1 : 0];
}

int ipigen_stats(const uint64_t *v, size_t n, struct ipigen_stats *st)
{
	uint64_t *s;
	size_t i;

	memset(st, 0, sizeof(*st));
	if (!n)
		return 0;
	s = malloc(n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u64);
	st->count = n;
	for (i = 0; i < n; i++)
		st->total += s[i];
	st->mean = st->total / n;
	st->min = s[0];
	st->max = s[n - 1];
	st->p50 = ipigen_percentile(s, n, 50);
	st->p99 = ipigen_percentile(s, n, 99);
	free(s);
	return 0;
}
