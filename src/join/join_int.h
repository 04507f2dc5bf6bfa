/* SPDX-License-Identifier: GPL-2.0 */
/* What join.c and join_why.c share: the host IPIs indexed by time. */
#ifndef __IPT_JOIN_INT_H
#define __IPT_JOIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include "join.h"

/* host IPIs of the VM with an ICR write, by ICR time */
struct hidx {
	__u64 t;
	size_t i;
	bool used;
};

static inline int cmp_hidx(const void *a, const void *b)
{
	const struct hidx *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

static inline bool same_ipi(const struct rec_guest_ipi *g, const struct rec_host_ipi *h)
{
	return h->dst_vcpu == (int)g->dst_cpu && h->vector == g->vector &&
	       (h->src_vcpu < 0 || h->src_vcpu == (int)g->src_cpu);
}

/* the first of @n entries of x (sorted by t) with t >= @lim */
static inline size_t lower(const struct hidx *x, size_t n, __s64 lim)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if ((__s64)x[mid].t < lim)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* What the host recorded besides its IPIs, sorted by time, to tell why a
 * guest IPI went unmatched (join_unmatched). */
struct why_idx {
	struct hidx *x, *pv, *halt;	/* host IPIs; hypercalls; halt ends */
	size_t n, npv, nhalt;
	__u64 max_halt;			/* the longest halt */
};

/* Index the host's hypercalls and halt ends of the join's VM; -1 when out
 * of memory. */
int join_why_index(struct join *j, struct why_idx *w);
/* Count the guest IPIs not in @matched, each by its reason (JU_*). */
void join_count_unmatched(struct join *j, const struct why_idx *w,
			  const bool *matched);

#endif
