// SPDX-License-Identifier: GPL-2.0
/*
 * The clock relations a join needs, sampled while recording.
 *
 * Guest on kvm-clock: sched_clock (trace_clock "local") = kvmclock - the
 * sched offset kvm-clock prints at boot, and CLOCK_MONOTONIC (what BPF
 * timestamps) - sched_clock is measured here by writing markers into a
 * private tracefs instance between two clock_gettime() calls.
 *
 * Both sides: (CLOCK_MONOTONIC, TSC) pairs at start and stop, and on the
 * host each VM's TSC offset from KVM's debugfs: guest TSC = host TSC +
 * offset. (KVM_GET_CLOCK would give kvmclock directly, but KVM refuses VM
 * ioctls from any process but the VM's creator: -EIO.) The narrowest
 * bracket of a few tries wins.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include "rec_int.h"

#define SYNC_TRIES	32

static __s64 sched_offset_from_klog(void)
{
	static const char key[] = "kvm-clock: using sched offset of ";
	int size = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	char *buf, *p;
	__s64 v = -1;
	int n;

	if (size <= 0)
		return -1;
	buf = malloc(size + 1);
	if (!buf)
		return -1;
	n = klogctl(3, buf, size);		/* SYSLOG_ACTION_READ_ALL */
	if (n > 0) {
		buf[n] = 0;
		p = strstr(buf, key);
		if (p)
			v = strtoll(p + sizeof(key) - 1, NULL, 10);
	}
	free(buf);
	return v;
}

static const char *const trace_roots[] = {
	"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
};

static int put(const char *dir, const char *file, const char *s)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -1;
}

/* "... 123.456789: tracing_mark_write: ipt-sync 7" -> 7, *us */
static int parse_marker(const char *line, __u64 *us)
{
	const char *m = strstr(line, ": tracing_mark_write: ipt-sync ");
	const char *p;
	unsigned long sec, usec;

	if (!m)
		return -1;
	for (p = m; p > line && p[-1] != ' '; p--)
		;
	if (sscanf(p, "%lu.%6lu", &sec, &usec) != 2)
		return -1;
	*us = sec * 1000000ULL + usec;
	return atoi(m + strlen(": tracing_mark_write: ipt-sync "));
}

/* CLOCK_MONOTONIC - trace_clock local, through instance @dir */
static int sample_local(const char *dir, __s64 *off, __u64 *err)
{
	__u64 t0[SYNC_TRIES], t1[SYNC_TRIES], best = ~0ULL, us;
	char path[320], line[512];
	int fd, i, k;
	FILE *f;

	if (put(dir, "trace_clock", "local") || put(dir, "tracing_on", "1"))
		return -1;
	snprintf(path, sizeof(path), "%s/trace_marker", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (i = 0; i < SYNC_TRIES; i++) {
		char msg[32];
		int n = snprintf(msg, sizeof(msg), "ipt-sync %d", i);

		t0[i] = rec_mono_ns();
		if (write(fd, msg, n) != n)
			t0[i] = 0;
		t1[i] = rec_mono_ns();
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/trace", dir);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		k = parse_marker(line, &us);
		if (k < 0 || k >= SYNC_TRIES || !t0[k] || t1[k] - t0[k] >= best)
			continue;
		best = t1[k] - t0[k];
		/* printed in whole us: the marker's time is in [us, us + 1) */
		*off = (__s64)((t0[k] + t1[k]) / 2) - (__s64)(us * 1000 + 500);
		*err = best / 2 + 500;
	}
	fclose(f);
	return best == ~0ULL ? -1 : 0;
}

void rec_guest_clocks(struct rec_writer *w)
{
	char dir[256];
	__s64 so = sched_offset_from_klog(), off;
	__u64 err;
	size_t i;

	if (!w)
		return;
	if (so >= 0)
		rec_line(w, "sync sched_offset %lld", (long long)so);
	for (i = 0; i < sizeof(trace_roots) / sizeof(trace_roots[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/instances/ipitrace-sync-%d",
			 trace_roots[i], (int)getpid());
		if (mkdir(dir, 0700))
			continue;
		if (!sample_local(dir, &off, &err))
			rec_line(w, "sync local %lld %llu", (long long)off,
				 (unsigned long long)err);
		rmdir(dir);
		return;
	}
}

#if defined(__x86_64__) || defined(__i386__)
static __u64 rdtsc(void)
{
	unsigned int lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return (__u64)hi << 32 | lo;
}

void rec_tsc_sample(struct rec_writer *w)
{
	__u64 best = ~0ULL, t0, t1, tsc, mono = 0, at = 0;
	int i;

	if (!w)
		return;
	for (i = 0; i < SYNC_TRIES; i++) {
		t0 = rec_mono_ns();
		tsc = rdtsc();
		t1 = rec_mono_ns();
		if (t1 - t0 < best) {
			best = t1 - t0;
			mono = (t0 + t1) / 2;
			at = tsc;
		}
	}
	rec_line(w, "sync tsc %llu %llu %llu", (unsigned long long)mono,
		 (unsigned long long)at, (unsigned long long)(best / 2 + 1));
}
#else
void rec_tsc_sample(struct rec_writer *w)
{
}
#endif

static int read_num(const char *path, long long *v)
{
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%lld", v) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

/* vcpuN/tsc-offset (and tsc-scaling-ratio) under debugfs kvm/<pid>-<fd> */
static void vm_dir_tsc(struct rec_writer *w, __u32 pid, const char *dir)
{
	char path[512];
	struct dirent *d;
	long long off, ratio;
	DIR *dd = opendir(dir);

	if (!dd)
		return;
	while ((d = readdir(dd))) {
		if (strncmp(d->d_name, "vcpu", 4))
			continue;
		snprintf(path, sizeof(path), "%s/%.32s/tsc-offset", dir, d->d_name);
		if (read_num(path, &off))
			continue;
		snprintf(path, sizeof(path), "%s/%.32s/tsc-scaling-ratio", dir,
			 d->d_name);
		if (read_num(path, &ratio))
			ratio = 0;
		rec_line(w, "vmtsc %u %d %lld %llu", pid, atoi(d->d_name + 4), off,
			 (unsigned long long)ratio);
	}
	closedir(dd);
}

void rec_host_vm_tsc(struct rec_writer *w, __u32 pid)
{
	static const char root[] = "/sys/kernel/debug/kvm";
	char prefix[24], dir[320];
	struct dirent *d;
	DIR *dd;
	int found = 0;

	if (!w)
		return;
	dd = opendir(root);
	if (!dd) {
		rec_line(w, "note vm %u: no TSC offset: %s: %s", pid, root,
			 strerror(errno));
		return;
	}
	snprintf(prefix, sizeof(prefix), "%u-", pid);
	while ((d = readdir(dd))) {
		if (strncmp(d->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(dir, sizeof(dir), "%s/%.64s", root, d->d_name);
		vm_dir_tsc(w, pid, dir);
		found = 1;
	}
	closedir(dd);
	if (!found)
		rec_line(w, "note vm %u: no TSC offset: no %s/%s*", pid, root, prefix);
}
