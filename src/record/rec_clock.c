// SPDX-License-Identifier: GPL-2.0
/*
 * The clock relations a join needs, sampled while recording.
 *
 * Guest on kvm-clock: sched_clock (trace_clock "local") = kvmclock - the
 * sched offset kvm-clock prints at boot, and CLOCK_MONOTONIC (what BPF
 * timestamps) - sched_clock is measured here by writing markers into a
 * private tracefs instance between two clock_gettime() calls.
 *
 * Host: kvmclock of a VM - CLOCK_MONOTONIC, from KVM_GET_CLOCK on the VM's
 * file descriptor (taken from its VMM with pidfd_getfd) between two
 * clock_gettime() calls. The narrowest bracket of a few tries wins.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/kvm.h>
#include "rec_int.h"

#define SYNC_TRIES	32

#ifndef SYS_pidfd_open
#define SYS_pidfd_open	434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd	438
#endif

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

/* the VMM's fd number of its "kvm-vm" anon inode, -1 none */
static int find_vm_fd(__u32 pid)
{
	char path[64], link[96], target[64];
	struct dirent *d;
	int fd = -1;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while (fd < 0 && (d = readdir(dir))) {
		ssize_t n;

		snprintf(link, sizeof(link), "%s/%.16s", path, d->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!strcmp(target, "anon_inode:kvm-vm"))
			fd = atoi(d->d_name);
	}
	closedir(dir);
	return fd;
}

void rec_host_vm_clock(struct rec_writer *w, __u32 pid)
{
	__u64 best = ~0ULL, t0, t1, at = 0;
	__s64 off = 0;
	int pfd, vfd, rfd, i;

	if (!w)
		return;
	if ((rfd = find_vm_fd(pid)) < 0) {
		rec_line(w, "note vm %u: no KVM_GET_CLOCK: no kvm-vm fd in /proc/%u/fd",
			 pid, pid);
		return;
	}
	pfd = syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0) {
		rec_line(w, "note vm %u: no KVM_GET_CLOCK: pidfd_open: %s", pid,
			 strerror(errno));
		return;
	}
	vfd = syscall(SYS_pidfd_getfd, pfd, rfd, 0);
	close(pfd);
	if (vfd < 0) {
		rec_line(w, "note vm %u: no KVM_GET_CLOCK: pidfd_getfd: %s", pid,
			 strerror(errno));
		return;
	}
	for (i = 0; i < SYNC_TRIES; i++) {
		struct kvm_clock_data c = { 0 };

		t0 = rec_mono_ns();
		if (ioctl(vfd, KVM_GET_CLOCK, &c)) {
			rec_line(w, "note vm %u: KVM_GET_CLOCK: %s", pid,
				 strerror(errno));
			break;
		}
		t1 = rec_mono_ns();
		if (t1 - t0 < best) {
			best = t1 - t0;
			at = (t0 + t1) / 2;
			off = (__s64)c.clock - (__s64)at;
		}
	}
	close(vfd);
	if (best != ~0ULL)
		rec_line(w, "vmclock %u %lld %llu %llu", pid, (long long)off,
			 (unsigned long long)(best / 2), (unsigned long long)at);
}
