// SPDX-License-Identifier: GPL-2.0
/*
 * Reading a record file: every line checked before it is believed (a
 * record file is input like any other, and may be truncated, altered or
 * made up): known keywords, exact field counts, decimal numbers within
 * their range, CPUs within the file's own topology, host stage times in
 * path order, the count and FNV-1a hash of the trailer, nothing after it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "rec_int.h"

#define MAX_FIELDS	24

struct parser {
	struct record *r;
	size_t lineno;
	char *err;
	size_t len;
	size_t cap;
	size_t cap_pv, cap_halts;
	bool ended;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (p->lineno)
		n = snprintf(p->err, p->len, "line %zu: ", p->lineno);
	if (n < 0 || (size_t)n >= p->len)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->len - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* a whole unsigned decimal token, <= max */
static int num_u(const char *s, __u64 max, __u64 *out)
{
	__u64 v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		unsigned d = *s - '0';

		if (*s < '0' || *s > '9' || v > ~0ULL / 10 ||
		    (v == ~0ULL / 10 && d > ~0ULL % 10))
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int num_s(const char *s, __s64 min, __s64 max, __s64 *out)
{
	__u64 v;

	if (s[0] == '-') {
		if (num_u(s + 1, (__u64)1 << 63, &v) || !v)
			return -1;
		*out = v == (__u64)1 << 63 ? INT64_MIN : -(__s64)v;
	} else {
		if (num_u(s, INT64_MAX, &v))
			return -1;
		*out = v;
	}
	return *out < min || *out > max ? -1 : 0;
}

#define U(i, max, dst) do {						\
	__u64 _v;							\
	if (num_u(f[i], (max), &_v))					\
		return fail(p, "%s: field %d: not a number in [0, %llu]: '%.24s'", \
			    f[0], (i), (unsigned long long)(max), f[i]); \
	(dst) = _v;							\
} while (0)
#define S(i, min, max, dst) do {					\
	__s64 _v;							\
	if (num_s(f[i], (min), (max), &_v))				\
		return fail(p, "%s: field %d: not a number in [%lld, %lld]: '%.24s'", \
			    f[0], (i), (long long)(min), (long long)(max), f[i]); \
	(dst) = _v;							\
} while (0)

static int want(struct parser *p, char **f, int n, int expect)
{
	if (n != expect)
		return fail(p, "'%s' takes %d fields, not %d", f[0], expect - 1,
			    n - 1);
	return 0;
}

static void *grow(struct parser *p, size_t size)
{
	struct record *r = p->r;
	void **arr = r->side == REC_GUEST ? (void **)&r->g : (void **)&r->h;
	void *n;

	if (r->nr == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;

		if (cap > REC_MAX_RECORDS)
			cap = REC_MAX_RECORDS;
		if (r->nr == cap)
			return NULL;
		n = realloc(*arr, cap * size);
		if (!n)
			return NULL;
		*arr = n;
		p->cap = cap;
	}
	return (char *)*arr + r->nr * size;
}

static int cpu_ok(const struct record *r, __u64 cpu)
{
	return cpu < IPT_MAX_CPUS && (!r->nr_cpus || cpu < (__u64)r->nr_cpus);
}

static int guest_line(struct parser *p, char **f, int n)
{
	struct rec_guest_ipi *g;
	__u64 v;

	if (p->r->side != REC_GUEST)
		return fail(p, "a guest IPI in a host record");
	if (want(p, f, n, 9))
		return -1;
	if (!(g = grow(p, sizeof(*g))))
		return fail(p, "more than %u records, or out of memory",
			    REC_MAX_RECORDS);
	U(1, ~0ULL, g->send_ns);
	U(2, ~0ULL - g->send_ns, g->lat_ns);
	U(3, IPT_MAX_CPUS - 1, g->src_cpu);
	U(4, IPT_MAX_CPUS - 1, g->dst_cpu);
	U(5, IPI_KIND_MAX - 1, g->kind);
	U(6, 255, g->vector);
	U(7, 0xffff, g->flags);
	U(8, 0xffffffff, v);
	g->coalesced = v;
	if (!cpu_ok(p->r, g->src_cpu) || !cpu_ok(p->r, g->dst_cpu))
		return fail(p, "CPU %u or %u beyond the file's %d CPUs",
			    g->src_cpu, g->dst_cpu, p->r->nr_cpus);
	p->r->nr++;
	return 0;
}

static int host_line(struct parser *p, char **f, int n)
{
	struct rec_host_ipi *h;
	__u64 last = 0;
	int i, st;

	if (p->r->side != REC_HOST)
		return fail(p, "a host IPI in a guest record");
	if (want(p, f, n, 14 + KS_MAX))
		return -1;
	if (!(h = grow(p, sizeof(*h))))
		return fail(p, "more than %u records, or out of memory",
			    REC_MAX_RECORDS);
	U(1, ~0ULL, h->ipi_id);
	U(2, 0x7fffffff, h->vm_pid);
	S(3, -1, 4095, h->src_vcpu);
	S(4, -1, 4095, h->dst_vcpu);
	U(5, 0x7fffffff, h->src_tid);
	U(6, 0x7fffffff, h->dst_tid);
	S(7, -1, IPT_MAX_CPUS - 1, h->src_cpu);
	S(8, -1, IPT_MAX_CPUS - 1, h->dst_cpu);
	U(9, TS_MAX - 1, h->state);
	S(10, -1, 255, h->vector);
	U(11, p->r->version >= 2 ? 15 : 7, h->flags);
	U(12, ~0ULL, h->exit_ts);
	U(13, ~0ULL, h->halt_ns);
	for (i = 0; i < KS_MAX; i++)
		U(14 + i, ~0ULL, h->t[i]);
	for (i = 0; (st = kick_stage_at(i)) >= 0; i++) {
		if (!h->t[st])
			continue;
		if (h->t[st] < last)
			return fail(p, "stage %s before the stage preceding it",
				    kick_stage_name(st));
		last = h->t[st];
	}
	if (h->exit_ts && h->t[KS_ICR] && h->exit_ts > h->t[KS_ICR])
		return fail(p, "VM exit after its ICR write");
	p->r->nr++;
	return 0;
}

/* one more element of *@arr (@nr used, @cap allocated) */
static void *grow_arr(void **arr, size_t nr, size_t *cap, size_t size)
{
	void *n;

	if (nr == *cap) {
		size_t c = *cap ? *cap * 2 : 64;

		if (c > REC_MAX_RECORDS)
			c = REC_MAX_RECORDS;
		if (nr == c || !(n = realloc(*arr, c * size)))
			return NULL;
		*arr = n;
		*cap = c;
	}
	return (char *)*arr + nr * size;
}

static int v2_host(struct parser *p, const char *what)
{
	if (p->r->version < 2)
		return fail(p, "'%s' in a version %d record", what, p->r->version);
	if (p->r->side != REC_HOST)
		return fail(p, "'%s' in a guest record", what);
	return 0;
}

static int pv_line(struct parser *p, char **f, int n)
{
	struct record *r = p->r;
	struct rec_pv_send *s;

	if (v2_host(p, f[0]) || want(p, f, n, 9))
		return -1;
	if (!(s = grow_arr((void **)&r->pv, r->nr_pv, &p->cap_pv, sizeof(*s))))
		return fail(p, "more than %u hypercalls, or out of memory",
			    REC_MAX_RECORDS);
	U(1, ~0ULL, s->ts);
	U(2, 0x7fffffff, s->vm_pid);
	S(3, -1, 4095, s->src_vcpu);
	U(4, 0x7fffffff, s->src_tid);
	S(5, 0, 255, s->vector);
	U(6, 4095, s->min_apicid);
	U(7, ~0ULL, s->bitmap_lo);
	U(8, ~0ULL, s->bitmap_hi);
	r->nr_pv++;
	return 0;
}

static int halt_line(struct parser *p, char **f, int n)
{
	struct record *r = p->r;
	struct rec_halt *x;

	if (v2_host(p, f[0]))
		return -1;
	if (!strcmp(f[0], "halts")) {
		if (want(p, f, n, 2))
			return -1;
		if (strcmp(f[1], "recorded"))
			return fail(p, "unknown halts '%.24s'", f[1]);
		r->have_halts = true;
		return 0;
	}
	if (want(p, f, n, 5))
		return -1;
	if (!(x = grow_arr((void **)&r->halts, r->nr_halts, &p->cap_halts,
			   sizeof(*x))))
		return fail(p, "more than %u halts, or out of memory",
			    REC_MAX_RECORDS);
	U(1, ~0ULL, x->end_ts);
	U(2, x->end_ts, x->ns);
	U(3, 0x7fffffff, x->vm_pid);
	S(4, 0, 4095, x->vcpu);
	r->nr_halts++;
	return 0;
}

/* keep the earliest and the latest */
static void add_tsc(struct record *r, const struct rec_tsc *t)
{
	if (r->nr_tsc == 0) {
		r->tsc[0] = *t;
		r->nr_tsc = 1;
	} else if (r->nr_tsc == 1) {
		r->tsc[1] = *t;
		if (t->mono < r->tsc[0].mono) {
			r->tsc[1] = r->tsc[0];
			r->tsc[0] = *t;
		}
		r->nr_tsc = 2;
	} else if (t->mono < r->tsc[0].mono) {
		r->tsc[0] = *t;
	} else if (t->mono > r->tsc[1].mono) {
		r->tsc[1] = *t;
	}
}

static int sync_line(struct parser *p, char **f, int n)
{
	struct record *r = p->r;
	__s64 off;
	__u64 err;

	if (n >= 2 && !strcmp(f[1], "sched_offset")) {
		if (want(p, f, n, 3))
			return -1;
		S(2, 0, INT64_MAX, off);
		r->sched_offset = off;
		r->have_sched_offset = true;
		return 0;
	}
	if (n >= 2 && !strcmp(f[1], "local")) {
		if (want(p, f, n, 4))
			return -1;
		S(2, INT64_MIN / 2, INT64_MAX / 2, off);
		U(3, 1000000000, err);
		if (!r->have_local || err < r->local_err_ns) {
			r->mono_minus_local = off;
			r->local_err_ns = err;
			r->have_local = true;
		}
		return 0;
	}
	if (n >= 2 && !strcmp(f[1], "tsc")) {
		struct rec_tsc t;

		if (want(p, f, n, 5))
			return -1;
		U(2, INT64_MAX, t.mono);
		U(3, INT64_MAX, t.tsc);
		U(4, 1000000000, t.err);
		add_tsc(r, &t);
		return 0;
	}
	return fail(p, "unknown sync '%.24s'", n >= 2 ? f[1] : "");
}

static int vm_line(struct parser *p, char **f, int n)
{
	struct record *r = p->r;
	struct rec_vm_tsc *v = NULL;
	__u32 pid;
	__s64 off;
	__u64 ratio, vcpu;
	int i;

	if (want(p, f, n, 5))
		return -1;
	U(1, 0x7fffffff, pid);
	U(2, 4095, vcpu);
	S(3, INT64_MIN / 2, INT64_MAX / 2, off);
	U(4, ~0ULL, ratio);
	(void)vcpu;
	for (i = 0; i < r->nr_vms && !v; i++)
		if (r->vms[i].pid == pid)
			v = &r->vms[i];
	if (!v) {
		if (r->nr_vms == REC_MAX_VMS)
			return fail(p, "more than %d VMs", REC_MAX_VMS);
		v = &r->vms[r->nr_vms++];
		*v = (struct rec_vm_tsc){ .pid = pid, .offset_min = off,
					  .offset_max = off, .ratio = ratio };
	}
	v->mixed |= v->ratio != ratio;
	if (off < v->offset_min)
		v->offset_min = off;
	if (off > v->offset_max)
		v->offset_max = off;
	v->vcpus++;
	return 0;
}

static int copy_word(struct parser *p, char **f, int n, char *dst, size_t len)
{
	if (want(p, f, n, 2))
		return -1;
	if (strlen(f[1]) >= len)
		return fail(p, "%s too long", f[0]);
	strcpy(dst, f[1]);
	return 0;
}

static int meta_line(struct parser *p, char **f, int n)
{
	struct record *r = p->r;
	__u64 cpu, node;

	if (!strcmp(f[0], "kernel"))
		return copy_word(p, f, n, r->kernel, sizeof(r->kernel));
	if (!strcmp(f[0], "clocksource"))
		return copy_word(p, f, n, r->clocksource, sizeof(r->clocksource));
	if (!strcmp(f[0], "clock")) {
		if (want(p, f, n, 2))
			return -1;
		return strcmp(f[1], "monotonic") ?
			fail(p, "unknown clock '%.24s'", f[1]) : 0;
	}
	if (!strcmp(f[0], "cpus")) {
		if (want(p, f, n, 2))
			return -1;
		if (r->nr_cpus || r->nr)
			return fail(p, "cpus after CPUs were used");
		U(1, IPT_MAX_CPUS, r->nr_cpus);
		return 0;
	}
	if (!strcmp(f[0], "node")) {
		if (want(p, f, n, 3))
			return -1;
		U(1, IPT_MAX_CPUS - 1, cpu);
		U(2, 4095, node);
		if (!cpu_ok(r, cpu))
			return fail(p, "node of CPU %llu beyond the file's CPUs",
				    (unsigned long long)cpu);
		r->node[cpu] = node;
		return 0;
	}
	if (!strcmp(f[0], "start") || !strcmp(f[0], "stop")) {
		if (want(p, f, n, 2))
			return -1;
		if (f[0][2] == 'a')
			U(1, ~0ULL, r->start_ns);
		else
			U(1, ~0ULL, r->end_ns);
		return 0;
	}
	return fail(p, "unknown line '%.24s'", f[0]);
}

static int end_line(struct parser *p, char **f, int n, __u64 hash)
{
	__u64 count, want_hash = 0;
	const char *s = f[2];

	if (want(p, f, n, 3))
		return -1;
	U(1, ~0ULL, count);
	if (strlen(s) != 16)
		return fail(p, "end: the hash is not 16 hex digits");
	for (; *s; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' :
			*s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;

		if (d < 0)
			return fail(p, "end: the hash is not 16 hex digits");
		want_hash = want_hash << 4 | d;
	}
	if (count != p->r->nr)
		return fail(p, "end says %llu records, the file holds %zu",
			    (unsigned long long)count, p->r->nr);
	if (want_hash != hash)
		return fail(p, "checksum mismatch: the file was altered");
	p->ended = true;
	return 0;
}

static int split(char *line, char **f)
{
	int n = 0;
	char *s = line;

	for (;;) {
		if (n == MAX_FIELDS)
			return -1;
		f[n++] = s;
		s = strchr(s, ' ');
		if (!s)
			return n;
		*s++ = 0;
	}
}

static int first_line(struct parser *p, char *line)
{
	char *f[MAX_FIELDS];
	__u64 v;
	int n = split(line, f);

	if (n != 3 || strcmp(f[0], REC_MAGIC))
		return fail(p, "not an ipitrace record");
	if (num_u(f[1], 1000, &v))
		return fail(p, "bad version '%.24s'", f[1]);
	if (v < REC_VERSION_MIN || v > REC_VERSION)
		return fail(p, "record version %llu; this ipitrace reads versions %d to %d",
			    (unsigned long long)v, REC_VERSION_MIN, REC_VERSION);
	p->r->version = v;
	if (!strcmp(f[2], "guest"))
		p->r->side = REC_GUEST;
	else if (!strcmp(f[2], "host"))
		p->r->side = REC_HOST;
	else
		return fail(p, "unknown side '%.24s'", f[2]);
	return 0;
}

static int one_line(struct parser *p, char *line, __u64 hash)
{
	char *f[MAX_FIELDS];
	int n;

	if (p->lineno == 1)
		return first_line(p, line);
	if (!strncmp(line, "note ", 5))
		return 0;
	n = split(line, f);
	if (n < 0)
		return fail(p, "too many fields");
	if (!strcmp(f[0], "g"))
		return guest_line(p, f, n);
	if (!strcmp(f[0], "h"))
		return host_line(p, f, n);
	if (!strcmp(f[0], "sync"))
		return sync_line(p, f, n);
	if (!strcmp(f[0], "vmtsc"))
		return vm_line(p, f, n);
	if (!strcmp(f[0], "pv"))
		return pv_line(p, f, n);
	if (!strcmp(f[0], "halt") || !strcmp(f[0], "halts"))
		return halt_line(p, f, n);
	if (!strcmp(f[0], "end"))
		return end_line(p, f, n, hash);
	return meta_line(p, f, n);
}

int rec_parse(const char *buf, size_t size, struct record *r, char *err,
	      size_t len)
{
	struct parser p = { .r = r, .err = err, .len = len };
	char line[REC_MAX_LINE + 1];
	__u64 hash = REC_HASH_INIT;
	size_t off = 0, i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < IPT_MAX_CPUS; i++)
		r->node[i] = -1;
	while (off < size) {
		const char *nl = memchr(buf + off, '\n', size - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : size - off;

		p.lineno++;
		if (p.ended)
			goto bad_tail;
		if (!nl)
			goto truncated;
		if (n > REC_MAX_LINE || memchr(buf + off, 0, n)) {
			fail(&p, n > REC_MAX_LINE ? "line too long" : "NUL byte");
			goto bad;
		}
		memcpy(line, buf + off, n);
		line[n] = 0;
		if (one_line(&p, line, hash))
			goto bad;
		hash = rec_hash(hash, buf + off, n + 1);
		off += n + 1;
	}
	if (!p.lineno) {
		fail(&p, "empty file");
		goto bad;
	}
	if (!p.ended) {
		p.lineno = 0;
truncated:
		fail(&p, "truncated: no end line (the recording did not finish?)");
		goto bad;
	}
	return 0;
bad_tail:
	fail(&p, "data after the end line");
bad:
	rec_free(r);
	return -1;
}

int rec_read(const char *path, struct record *r, char *err, size_t len)
{
	size_t size = 0, cap = 1 << 16;
	char *buf = malloc(cap), *n;
	FILE *f = fopen(path, "re");
	int ret;

	if (!f || !buf) {
		snprintf(err, len, "%s", strerror(errno));
		free(buf);
		if (f)
			fclose(f);
		return -1;
	}
	for (;;) {
		size_t got = fread(buf + size, 1, cap - size, f);

		size += got;
		if (size < cap)
			break;
		if (cap >= (size_t)REC_MAX_RECORDS * 256 ||
		    !(n = realloc(buf, cap * 2))) {
			snprintf(err, len, "too large");
			free(buf);
			fclose(f);
			return -1;
		}
		buf = n;
		cap *= 2;
	}
	ret = ferror(f) ? -1 : 0;
	fclose(f);
	if (ret)
		snprintf(err, len, "read error");
	else
		ret = rec_parse(buf, size, r, err, len);
	free(buf);
	return ret;
}

void rec_free(struct record *r)
{
	free(r->g);
	free(r->h);
	free(r->pv);
	free(r->halts);
	r->g = NULL;
	r->h = NULL;
	r->pv = NULL;
	r->halts = NULL;
	r->nr = r->nr_pv = r->nr_halts = 0;
}
