// SPDX-License-Identifier: GPL-2.0
/* Reading a record file: the host's lines (IPIs, hypercalls, halts, VMs). */
#include <stdlib.h>
#include <string.h>
#include "rec_parse.h"

int rec_host_line(struct parser *p, char **f, int n)
{
	struct rec_host_ipi *h;
	__u64 last = 0;
	int i, st;

	if (p->r->side != REC_HOST)
		return rec_fail(p, "a host IPI in a guest record");
	if (rec_want(p, f, n, 14 + KS_MAX))
		return -1;
	if (!(h = rec_grow(p, sizeof(*h))))
		return rec_fail(p, "more than %u records, or out of memory",
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
			return rec_fail(p, "stage %s before the stage preceding it",
				    kick_stage_name(st));
		last = h->t[st];
	}
	if (h->exit_ts && h->t[KS_ICR] && h->exit_ts > h->t[KS_ICR])
		return rec_fail(p, "VM exit after its ICR write");
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
		return rec_fail(p, "'%s' in a version %d record", what, p->r->version);
	if (p->r->side != REC_HOST)
		return rec_fail(p, "'%s' in a guest record", what);
	return 0;
}

int rec_pv_line(struct parser *p, char **f, int n)
{
	struct record *r = p->r;
	struct kick_pv_send *s;

	if (v2_host(p, f[0]) || rec_want(p, f, n, 9))
		return -1;
	if (!(s = grow_arr((void **)&r->pv, r->nr_pv, &p->cap_pv, sizeof(*s))))
		return rec_fail(p, "more than %u hypercalls, or out of memory",
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

int rec_halt_line(struct parser *p, char **f, int n)
{
	struct record *r = p->r;
	struct rec_halt *x;

	if (v2_host(p, f[0]))
		return -1;
	if (!strcmp(f[0], "halts")) {
		if (rec_want(p, f, n, 2))
			return -1;
		if (strcmp(f[1], "recorded"))
			return rec_fail(p, "unknown halts '%.24s'", f[1]);
		r->have_halts = true;
		return 0;
	}
	if (rec_want(p, f, n, 5))
		return -1;
	if (!(x = grow_arr((void **)&r->halts, r->nr_halts, &p->cap_halts,
			   sizeof(*x))))
		return rec_fail(p, "more than %u halts, or out of memory",
			    REC_MAX_RECORDS);
	U(1, ~0ULL, x->end_ts);
	U(2, x->end_ts, x->ns);
	U(3, 0x7fffffff, x->vm_pid);
	S(4, 0, 4095, x->vcpu);
	r->nr_halts++;
	return 0;
}

/* keep the earliest and the latest */
int rec_vm_line(struct parser *p, char **f, int n)
{
	struct record *r = p->r;
	struct rec_vm_tsc *v = NULL;
	__u32 pid;
	__s64 off;
	__u64 ratio, vcpu;
	int i;

	if (rec_want(p, f, n, 5))
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
			return rec_fail(p, "more than %d VMs", REC_MAX_VMS);
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

