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
#include "rec_parse.h"

int rec_fail(struct parser *p, const char *fmt, ...)
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
int rec_num_u(const char *s, __u64 max, __u64 *out)
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

int rec_num_s(const char *s, __s64 min, __s64 max, __s64 *out)
{
	__u64 v;

	if (s[0] == '-') {
		if (rec_num_u(s + 1, (__u64)1 << 63, &v) || !v)
			return -1;
		*out = v == (__u64)1 << 63 ? INT64_MIN : -(__s64)v;
	} else {
		if (rec_num_u(s, INT64_MAX, &v))
			return -1;
		*out = v;
	}
	return *out < min || *out > max ? -1 : 0;
}

int rec_want(struct parser *p, char **f, int n, int expect)
{
	if (n != expect)
		return rec_fail(p, "'%s' takes %d fields, not %d", f[0], expect - 1,
			    n - 1);
	return 0;
}

void *rec_grow(struct parser *p, size_t size)
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

int rec_cpu_ok(const struct record *r, __u64 cpu)
{
	return cpu < IPT_MAX_CPUS && (!r->nr_cpus || cpu < (__u64)r->nr_cpus);
}

static int guest_line(struct parser *p, char **f, int n)
{
	struct rec_guest_ipi *g;
	__u64 v;

	if (p->r->side != REC_GUEST)
		return rec_fail(p, "a guest IPI in a host record");
	if (rec_want(p, f, n, 9))
		return -1;
	if (!(g = rec_grow(p, sizeof(*g))))
		return rec_fail(p, "more than %u records, or out of memory",
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
	if (!rec_cpu_ok(p->r, g->src_cpu) || !rec_cpu_ok(p->r, g->dst_cpu))
		return rec_fail(p, "CPU %u or %u beyond the file's %d CPUs",
			    g->src_cpu, g->dst_cpu, p->r->nr_cpus);
	p->r->nr++;
	return 0;
}

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
		if (rec_want(p, f, n, 3))
			return -1;
		S(2, 0, INT64_MAX, off);
		r->sched_offset = off;
		r->have_sched_offset = true;
		return 0;
	}
	if (n >= 2 && !strcmp(f[1], "local")) {
		if (rec_want(p, f, n, 4))
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

		if (rec_want(p, f, n, 5))
			return -1;
		U(2, INT64_MAX, t.mono);
		U(3, INT64_MAX, t.tsc);
		U(4, 1000000000, t.err);
		add_tsc(r, &t);
		return 0;
	}
	return rec_fail(p, "unknown sync '%.24s'", n >= 2 ? f[1] : "");
}

static int copy_word(struct parser *p, char **f, int n, char *dst, size_t len)
{
	if (rec_want(p, f, n, 2))
		return -1;
	if (strlen(f[1]) >= len)
		return rec_fail(p, "%s too long", f[0]);
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
		if (rec_want(p, f, n, 2))
			return -1;
		return strcmp(f[1], "monotonic") ?
			rec_fail(p, "unknown clock '%.24s'", f[1]) : 0;
	}
	if (!strcmp(f[0], "cpus")) {
		if (rec_want(p, f, n, 2))
			return -1;
		if (r->nr_cpus || r->nr)
			return rec_fail(p, "cpus after CPUs were used");
		U(1, IPT_MAX_CPUS, r->nr_cpus);
		return 0;
	}
	if (!strcmp(f[0], "node")) {
		if (rec_want(p, f, n, 3))
			return -1;
		U(1, IPT_MAX_CPUS - 1, cpu);
		U(2, 4095, node);
		if (!rec_cpu_ok(r, cpu))
			return rec_fail(p, "node of CPU %llu beyond the file's CPUs",
				    (unsigned long long)cpu);
		r->node[cpu] = node;
		return 0;
	}
	if (!strcmp(f[0], "start") || !strcmp(f[0], "stop")) {
		if (rec_want(p, f, n, 2))
			return -1;
		if (f[0][2] == 'a')
			U(1, ~0ULL, r->start_ns);
		else
			U(1, ~0ULL, r->end_ns);
		return 0;
	}
	return rec_fail(p, "unknown line '%.24s'", f[0]);
}

static int end_line(struct parser *p, char **f, int n, __u64 hash)
{
	__u64 count, want_hash = 0;
	const char *s = f[2];

	if (rec_want(p, f, n, 3))
		return -1;
	U(1, ~0ULL, count);
	if (strlen(s) != 16)
		return rec_fail(p, "end: the hash is not 16 hex digits");
	for (; *s; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' :
			*s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;

		if (d < 0)
			return rec_fail(p, "end: the hash is not 16 hex digits");
		want_hash = want_hash << 4 | d;
	}
	if (count != p->r->nr)
		return rec_fail(p, "end says %llu records, the file holds %zu",
			    (unsigned long long)count, p->r->nr);
	if (want_hash != hash)
		return rec_fail(p, "checksum mismatch: the file was altered");
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
		return rec_fail(p, "not an ipitrace record");
	if (rec_num_u(f[1], 1000, &v))
		return rec_fail(p, "bad version '%.24s'", f[1]);
	if (v < REC_VERSION_MIN || v > REC_VERSION)
		return rec_fail(p, "record version %llu; this ipitrace reads versions %d to %d",
			    (unsigned long long)v, REC_VERSION_MIN, REC_VERSION);
	p->r->version = v;
	if (!strcmp(f[2], "guest"))
		p->r->side = REC_GUEST;
	else if (!strcmp(f[2], "host"))
		p->r->side = REC_HOST;
	else
		return rec_fail(p, "unknown side '%.24s'", f[2]);
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
		return rec_fail(p, "too many fields");
	if (!strcmp(f[0], "g"))
		return guest_line(p, f, n);
	if (!strcmp(f[0], "h"))
		return rec_host_line(p, f, n);
	if (!strcmp(f[0], "sync"))
		return sync_line(p, f, n);
	if (!strcmp(f[0], "vmtsc"))
		return rec_vm_line(p, f, n);
	if (!strcmp(f[0], "pv"))
		return rec_pv_line(p, f, n);
	if (!strcmp(f[0], "halt") || !strcmp(f[0], "halts"))
		return rec_halt_line(p, f, n);
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
			rec_fail(&p, n > REC_MAX_LINE ? "line too long" : "NUL byte");
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
		rec_fail(&p, "empty file");
		goto bad;
	}
	if (!p.ended) {
		p.lineno = 0;
truncated:
		rec_fail(&p, "truncated: no end line (the recording did not finish?)");
		goto bad;
	}
	return 0;
bad_tail:
	rec_fail(&p, "data after the end line");
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
