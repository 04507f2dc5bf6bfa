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
#include <stdlib.h>
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

#define MAX_LANES	64

/* one segment of one IPI on its track; lanes keep overlapping segments
 * of different IPIs on separate rows, as the format wants slices on one
 * thread nested */
struct slice {
	struct trk t;
	__u64 ts, end;		/* ns from the first send */
	size_t ipi;
	int p, lane;
};

static int cmp_track_ts(const void *a, const void *b)
{
	const struct slice *x = a, *y = b;

	if (x->t.pid != y->t.pid)
		return x->t.pid - y->t.pid;
	if (x->t.tid != y->t.tid)
		return x->t.tid < y->t.tid ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static bool same_track(const struct slice *x, const struct slice *y)
{
	return x->t.pid == y->t.pid && x->t.tid == y->t.tid;
}

static int cmp_ipi(const void *a, const void *b)
{
	const struct slice *x = a, *y = b;

	if (x->ipi != y->ipi)
		return x->ipi < y->ipi ? -1 : 1;
	return x->p - y->p;
}

/* ns as us with 3 decimals, exactly */
static void us(FILE *f, const char *key, __u64 ns)
{
	fprintf(f, ",\"%s\":%llu.%03llu", key, (unsigned long long)(ns / 1000),
		(unsigned long long)(ns % 1000));
}

static size_t collect(const struct join *j, struct slice *sl, __u64 t0)
{
	size_t i, n = 0;
	int p;

	for (i = 0; i < j->nr; i++) {
		const struct join_match *m = &j->m[i];
		__u64 prev = m->pt[JP_SEND];

		if (m->outlasts)	/* no time order to draw */
			continue;
		for (p = JP_EXIT; p < JP_MAX; p++) {
			if (!m->pt[p])
				continue;
			sl[n] = (struct slice){ .t = track_of(j, m, p), .ipi = i,
						.p = p, .ts = prev - t0,
						.end = (m->pt[p] > prev ? m->pt[p] : prev) - t0 };
			n++;
			prev = m->pt[p];
		}
	}
	return n;
}

/* first lane of the track free at the slice's start */
static void lanes(struct slice *sl, size_t n)
{
	__u64 busy[MAX_LANES];
	size_t i;
	int l;

	qsort(sl, n, sizeof(*sl), cmp_track_ts);
	for (i = 0; i < n; i++) {
		if (!i || !same_track(&sl[i - 1], &sl[i]))
			for (l = 0; l < MAX_LANES; l++)
				busy[l] = 0;
		for (l = 0; l < MAX_LANES - 1 && busy[l] > sl[i].ts; l++)
			;
		sl[i].lane = l;
		busy[l] = sl[i].end;
	}
}

static __u32 lane_tid(const struct slice *s)
{
	return s->t.tid * MAX_LANES + s->lane;
}

static void meta(FILE *f, bool *first, int pid, __u32 tid, const char *what,
		 const char *name)
{
	fprintf(f, "%s\n{\"ph\":\"M\",\"pid\":%d,\"tid\":%u,\"name\":\"%s\","
		"\"args\":{\"name\":\"%s\"}}", *first ? "" : ",", pid, tid, what,
		name);
	*first = false;
}

/* a name per track and lane, once: sl is sorted by track and time */
static void tracks(FILE *f, const struct join *j, const struct slice *sl,
		   size_t n, bool *first)
{
	char name[80], base[64];
	bool named[MAX_LANES];
	size_t i;
	int l, k;

	meta(f, first, PID_GUEST, 0, "process_name", "guest (L2) vCPUs");
	meta(f, first, PID_HOST, 0, "process_name", "host (L1) vCPU threads");
	for (i = 0; i < n; i++) {
		const struct slice *s = &sl[i];

		if (!i || !same_track(&s[-1], s))
			memset(named, 0, sizeof(named));
		if (named[s->lane])
			continue;
		named[s->lane] = true;
		if (s->t.pid == PID_GUEST) {
			snprintf(base, sizeof(base), "vCPU %u", s->t.tid);
		} else {
			const struct rec_host_ipi *h = &j->h->h[j->m[s->ipi].h];

			snprintf(base, sizeof(base), "CPU %d/KVM (tid %u)",
				 h->src_tid == s->t.tid ? h->src_vcpu : h->dst_vcpu,
				 s->t.tid);
		}
		l = s->lane;
		k = snprintf(name, sizeof(name), "%s", base);
		if (l)
			snprintf(name + k, sizeof(name) - k, " #%d", l + 1);
		meta(f, first, s->t.pid, lane_tid(s), "thread_name", name);
	}
}

/* slices of one IPI (sl sorted by IPI, then point), tied by a flow */
static size_t one_ipi(FILE *f, const struct join *j, const struct slice *sl,
		      size_t n)
{
	const struct rec_guest_ipi *g = &j->g->g[j->m[sl->ipi].g];
	size_t k;

	for (k = 0; k < n && sl[k].ipi == sl->ipi; k++) {
		const struct slice *s = &sl[k];
		bool last = k + 1 == n || sl[k + 1].ipi != s->ipi;

		fprintf(f, ",\n{\"ph\":\"X\",\"pid\":%d,\"tid\":%u", s->t.pid,
			lane_tid(s));
		us(f, "ts", s->ts);
		us(f, "dur", s->end - s->ts);
		fprintf(f, ",\"name\":\"%s->%s\",\"cat\":\"ipi\",\"args\":"
			"{\"ipi\":%zu,\"kind\":\"%s\",\"src\":%u,\"dst\":%u}}",
			join_point_name(s->p - 1), join_point_name(s->p), s->ipi,
			ipi_kind_name(g->kind), g->src_cpu, g->dst_cpu);
		fprintf(f, ",\n{\"ph\":\"%s\",\"pid\":%d,\"tid\":%u",
			!k ? "s" : last ? "f" : "t", s->t.pid, lane_tid(s));
		us(f, "ts", s->ts);
		fprintf(f, ",\"name\":\"ipi\",\"cat\":\"ipi\",\"id\":%zu%s}",
			s->ipi + 1, last ? ",\"bp\":\"e\"" : "");
	}
	return k;
}

int join_perfetto(const struct join *j, const char *path)
{
	struct slice *sl = calloc(j->nr * JP_MAX + 1, sizeof(*sl));
	FILE *f = sl ? fopen(path, "we") : NULL;
	__u64 t0 = ~0ULL;
	bool first = true;
	size_t i, n;
	int err;

	if (!f) {
		err = sl ? -errno : -ENOMEM;
		free(sl);
		return err;
	}
	for (i = 0; i < j->nr; i++)
		if (j->m[i].pt[JP_SEND] < t0)
			t0 = j->m[i].pt[JP_SEND];
	n = collect(j, sl, t0);
	lanes(sl, n);
	fprintf(f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
	tracks(f, j, sl, n, &first);
	qsort(sl, n, sizeof(*sl), cmp_ipi);
	for (i = 0; i < n; )
		i += one_ipi(f, j, sl + i, n - i);
	fprintf(f, "\n]}\n");
	free(sl);
	err = ferror(f) ? -EIO : 0;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}
