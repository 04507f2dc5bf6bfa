// SPDX-License-Identifier: GPL-2.0
/* Host-mode aggregation of completed IPIs (see host_report.h). */
#include <stdlib.h>
#include <string.h>
#include "host_report.h"

struct host_agg *host_agg_new(const struct topology *topo)
{
	struct host_agg *a = calloc(1, sizeof(*a));

	if (a)
		a->topo = topo;
	return a;
}

void host_agg_free(struct host_agg *a)
{
	free(a);
}

void host_agg_reset(struct host_agg *a)
{
	const struct topology *topo = a->topo;

	memset(a, 0, sizeof(*a));
	a->topo = topo;
}


int host_numa_class(const struct topology *topo, int a, int b)
{
	return topology_class(topo, a, b);
}

static void agg_sample(struct host_agg *a, int state, int stage, __u64 v,
		       bool delta)
{
	a->seen[TS_MAX][stage]++;
	if (delta)
		hist_add(&a->st[TS_MAX][stage], v);
	if (state < 0 || state >= TS_MAX)
		return;
	a->seen[state][stage]++;
	if (delta)
		hist_add(&a->st[state][stage], v);
}

void host_agg_add(struct host_agg *a, const struct kick_result *r)
{
	__u64 icr = r->t[KS_ICR], last = icr;
	bool any = false;
	int i, s, n;

	if (!icr)
		return;
	a->results++;
	if (r->ipi_first)
		a->ipis++;
	agg_sample(a, r->state, KS_ICR, icr - r->exit_ts,
		   r->exit_ts && r->exit_ts <= icr);
	/* each stage as a delta from the previous observed one, in path order */
	for (i = 1; i < KS_MAX; i++) {
		s = kick_stage_at(i);
		if (!r->t[s] || r->t[s] < last)
			continue;
		agg_sample(a, r->state, s, r->t[s] - last, true);
		last = r->t[s];
		any = true;
	}
	if (!any)
		return;
	agg_sample(a, r->state, KS_TOTAL, last - icr, true);
	n = host_numa_class(a->topo, r->src_cpu, r->dst_cpu);
	a->numa_count[n]++;
	hist_add(&a->numa_total[n], last - icr);
}

void host_agg_cb(const struct kick_result *r, void *ctx)
{
	host_agg_add(ctx, r);
}
