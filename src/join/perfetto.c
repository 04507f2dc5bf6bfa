// SPDX-License-Identifier: GPL-2.0
/*
 * The joined IPIs as a Chrome/Perfetto trace-event JSON timeline: process
 * 1 is the guest with one track per vCPU, process 2 the host with one
 * track per vCPU thread; each segment of an IPI is a complete event ("X")
 * on the track where it happens, and the segments of one IPI are tied by
 * one flow (ph s / t / f with the IPI's id). Times in us from the first
 * send.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "agg.h"
#include "join.h"

#define PID_GUEST	1
#define PID_HOST	2

struct trk {
	int pid;
	__u32 tid;
};

/* where segment p (ending at point p) runs */
static struct trk track_of(const struct join *j, const struct join_match *m,
			   int p)
{
	const struct rec_guest_ipi *g = &j->g->g[m->g];
	const struct rec_host_ipi *h = &j->h->h[m->h];

	switch (p) {
	case JP_EXIT:
		return (struct trk){ PID_GUEST, g->src_cpu };
	case JP_ICR: case JP_ACCEPT: case JP_KICK: case JP_WAKEUP:
		if (h->src_tid)
			return (struct trk){ PID_HOST, h->src_tid };
		return (struct trk){ PID_GUEST, g->src_cpu };
	case JP_ON_CPU: case JP_HALT_END: case JP_VM_ENTRY:
		if (h->dst_tid)
			return (struct trk){ PID_HOST, h->dst_tid };
		/* fall through */
	default:
		return (struct trk){ PID_GUEST, g->dst_cpu };
	}
}

static void meta(FILE *f, bool *first, int pid, __u32 tid, const char *what,
		 const char *name)
{
	fprintf(f, "%s\n{\"ph\":\"M\",\"pid\":%d,\"tid\":%u,\"name\":\"%s\","
		"\"args\":{\"name\":\"%s\"}}", *first ? "" : ",", pid, tid, what,
		name);
	*first = false;
}

static void tracks(FILE *f, const struct join *j, bool *first)
{
	char name[64];
	size_t i, k;
	__u32 done[512];
	size_t nd = 0;
	int cpu;

	meta(f, first, PID_GUEST, 0, "process_name", "guest (L2) vCPUs");
	meta(f, first, PID_HOST, 0, "process_name", "host (L1) vCPU threads");
	for (cpu = 0; cpu < (j->g->nr_cpus ? j->g->nr_cpus : 1); cpu++) {
		snprintf(name, sizeof(name), "vCPU %d", cpu);
		meta(f, first, PID_GUEST, cpu, "thread_name", name);
	}
	for (i = 0; i < j->nr; i++) {
		const struct rec_host_ipi *h = &j->h->h[j->m[i].h];
		__u32 tids[2] = { h->src_tid, h->dst_tid };
		int vcpus[2] = { h->src_vcpu, h->dst_vcpu }, t;

		for (t = 0; t < 2; t++) {
			if (!tids[t])
				continue;
			for (k = 0; k < nd && done[k] != tids[t]; k++)
				;
			if (k < nd || nd == sizeof(done) / sizeof(done[0]))
				continue;
			done[nd++] = tids[t];
			snprintf(name, sizeof(name), "CPU %d/KVM (tid %u)",
				 vcpus[t], tids[t]);
			meta(f, first, PID_HOST, tids[t], "thread_name", name);
		}
	}
}

static double us(const struct join *j, __u64 t, __u64 t0)
{
	return ((double)t - (double)t0) / 1000.0;
}

static void one_ipi(FILE *f, const struct join *j, size_t i, __u64 t0)
{
	const struct join_match *m = &j->m[i];
	const struct rec_guest_ipi *g = &j->g->g[m->g];
	__u64 prev = m->pt[JP_SEND];
	int p, last = JP_HANDLER, first = 1;

	for (p = JP_EXIT; p < JP_MAX; p++) {
		struct trk t = track_of(j, m, p);
		const char *ph;

		if (!m->pt[p])
			continue;
		fprintf(f, ",\n{\"ph\":\"X\",\"pid\":%d,\"tid\":%u,\"ts\":%.3f,"
			"\"dur\":%.3f,\"name\":\"%s->%s\",\"cat\":\"ipi\","
			"\"args\":{\"ipi\":%zu,\"kind\":\"%s\",\"src\":%u,\"dst\":%u}}",
			t.pid, t.tid, us(j, prev, t0),
			m->seg[p] > 0 ? m->seg[p] / 1000.0 : 0.0,
			join_point_name(p - 1), join_point_name(p), i,
			ipi_kind_name(g->kind), g->src_cpu, g->dst_cpu);
		/* the flow: out of the first segment, through the others, into
		 * the handler's (bound to the enclosing slice) */
		ph = first ? "s" : p == last ? "f" : "t";
		fprintf(f, ",\n{\"ph\":\"%s\",\"pid\":%d,\"tid\":%u,\"ts\":%.3f,"
			"\"name\":\"ipi\",\"cat\":\"ipi\",\"id\":%zu%s}", ph, t.pid,
			t.tid, us(j, prev, t0), i + 1,
			p == last ? ",\"bp\":\"e\"" : "");
		first = 0;
		prev = m->pt[p];
	}
}

int join_perfetto(const struct join *j, const char *path)
{
	FILE *f = fopen(path, "we");
	__u64 t0 = ~0ULL;
	bool first = true;
	size_t i;
	int err;

	if (!f)
		return -errno;
	for (i = 0; i < j->nr; i++)
		if (j->m[i].pt[JP_SEND] < t0)
			t0 = j->m[i].pt[JP_SEND];
	fprintf(f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
	tracks(f, j, &first);
	for (i = 0; i < j->nr; i++)
		one_ipi(f, j, i, t0);
	fprintf(f, "\n]}\n");
	err = ferror(f) ? -EIO : 0;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}
