// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "agg.h"

#define IPI_KIND_NAME(e, name, prio)	[e] = name,
static const char *kind_names[IPI_KIND_MAX] = { IPI_KINDS(IPI_KIND_NAME) };

const char *ipi_kind_name(int kind)
{
	return kind >= 0 && kind < IPI_KIND_MAX ? kind_names[kind] : "?";
}

int agg_init(struct agg *a, const struct topology *t, int nr_cpus)
{
	memset(a, 0, sizeof(*a));
	a->topo = t;
	a->nr_cpus = nr_cpus;
	a->cap_callers = 1024;
	a->callers = calloc(a->cap_callers, sizeof(*a->callers));
	if (!a->callers) {
		agg_free(a);
		return -ENOMEM;
	}
	return 0;
}

int agg_numa_class(const struct agg *a, __u32 src, __u32 dst)
{
	return topology_class(a->topo, (int)src, (int)dst);
}

static size_t caller_hash(__u64 callsite, __u64 func, int type, int kind)
{
	__u64 h = callsite * 0x9e3779b97f4a7c15ULL ^ func * 0xc2b2ae3d27d4eb4fULL;

	return (size_t)(h ^ (h >> 29) ^ ((__u64)type << 8 | kind));
}

static int callers_grow(struct agg *a)
{
	struct caller_stat *old = a->callers;
	size_t i, old_cap = a->cap_callers;

	a->callers = calloc(old_cap * 2, sizeof(*a->callers));
	if (!a->callers) {
		a->callers = old;
		return -ENOMEM;
	}
	a->cap_callers = old_cap * 2;
	a->nr_callers = 0;
	for (i = 0; i < old_cap; i++) {
		struct caller_stat *c = &old[i], *n;
		size_t j;

		if (!c->count)
			continue;
		j = caller_hash(c->callsite, c->func, c->type, c->kind);
		for (;; j++) {
			n = &a->callers[j & (a->cap_callers - 1)];
			if (!n->count)
				break;
		}
		*n = *c;
		a->nr_callers++;
	}
	free(old);
	return 0;
}

static void add_caller(struct agg *a, const struct ipi_event *e)
{
	size_t j, mask;
	struct caller_stat *c;

	if (a->nr_callers * 2 >= a->cap_callers && callers_grow(a))
		return;
	mask = a->cap_callers - 1;
	for (j = caller_hash(e->callsite, e->func, e->type, e->kind);; j++) {
		c = &a->callers[j & mask];
		if (!c->count) {
			c->callsite = e->callsite;
			c->func = e->func;
			c->type = e->type;
			c->kind = e->kind;
			a->nr_callers++;
			break;
		}
		if (c->callsite == e->callsite && c->func == e->func &&
		    c->type == e->type && c->kind == e->kind)
			break;
	}
	c->count++;
	c->sum_ns += e->lat_ns;
	if (e->lat_ns > c->max_ns)
		c->max_ns = e->lat_ns;
}

static int in_range(const struct agg *a, __u64 src, __u64 dst)
{
	return src < (__u64)a->nr_cpus && dst < (__u64)a->nr_cpus;
}

static void add_pair(struct agg *a, const struct ipi_event *e)
{
	struct pair_stat *p;

	if (!in_range(a, e->src_cpu, e->dst_cpu)) {
		a->out_of_range++;
		return;
	}
	if (a->no_pairs)
		return;
	p = pairs_get(&a->pairs, e->src_cpu, e->dst_cpu, 1);
	if (!p)
		return;
	pair_add(p, e->lat_ns);
	p->kinds[e->kind]++;
}

void agg_add(struct agg *a, const struct ipi_event *e)
{
	int numa = agg_numa_class(a, e->src_cpu, e->dst_cpu);

	if (e->type != REC_IPI || e->kind >= IPI_KIND_MAX)
		return;
	add_caller(a, e);
	hist_add(&a->ipi[numa][e->kind], e->lat_ns);
	add_pair(a, e);
}

const struct pair_stat *agg_pair(const struct agg *a, int src, int dst)
{
	const struct pair_stat *p;

	if (src < 0 || dst < 0 || !in_range(a, src, dst))
		return NULL;
	p = pairs_find(&a->pairs, src, dst);
	return p && p->count ? p : NULL;
}

__u64 agg_pair_kind(const struct agg *a, int src, int dst, int kind)
{
	const struct pair_stat *p = agg_pair(a, src, dst);

	return p && kind >= 0 && kind < IPI_KIND_MAX ? p->kinds[kind] : 0;
}

void agg_reset(struct agg *a)
{
	memset(a->ipi, 0, sizeof(a->ipi));
	memset(a->csd, 0, sizeof(a->csd));
	pairs_clear(&a->pairs);
	memset(a->callers, 0, a->cap_callers * sizeof(*a->callers));
	a->nr_callers = 0;
	a->out_of_range = 0;
	a->pairs_mean_only = false;
}

void agg_free(struct agg *a)
{
	pairs_free(&a->pairs);
	free(a->callers);
	a->callers = NULL;
}

static int by_count_desc(const void *x, const void *y)
{
	const struct caller_stat *a = x, *b = y;

	return a->count < b->count ? 1 : a->count > b->count ? -1 : 0;
}

size_t agg_top_callers(const struct agg *a, struct caller_stat *out,
		       size_t max)
{
	struct caller_stat *all;
	size_t i, n = 0;

	if (!a->nr_callers)
		return 0;
	all = malloc(a->nr_callers * sizeof(*all));
	if (!all)
		return 0;
	for (i = 0; i < a->cap_callers; i++)
		if (a->callers[i].count)
			all[n++] = a->callers[i];
	qsort(all, n, sizeof(*all), by_count_desc);
	if (n > max)
		n = max;
	memcpy(out, all, n * sizeof(*all));
	free(all);
	return n;
}

/* kind IPI_KIND_MAX: the CSD histogram */
void agg_set_class(struct agg *a, int numa, int kind, const struct hist *h)
{
	if (numa < 0 || numa >= IPT_NUMA_MAX || kind < 0 || kind > IPI_KIND_MAX)
		return;
	if (kind == IPI_KIND_MAX)
		a->csd[numa] = *h;
	else
		a->ipi[numa][kind] = *h;
}

/* A pair's totals from the kernel: count and sum by kind, no histogram. */
void agg_set_pair(struct agg *a, int src, int dst, const __u64 *kind_counts,
		  __u64 sum_ns)
{
	struct pair_stat *p;
	__u64 n = 0;
	int k;

	if (a->no_pairs || src < 0 || dst < 0 || !in_range(a, src, dst))
		return;
	for (k = 0; k < IPI_KIND_MAX; k++)
		n += kind_counts[k];
	p = pairs_get(&a->pairs, src, dst, n != 0);
	if (!p)
		return;
	free(p->b);
	p->b = NULL;
	p->nb = p->cap_b = 0;
	memcpy(p->kinds, kind_counts, sizeof(p->kinds));
	p->count = n;
	p->sum = sum_ns;
	p->min = p->max = 0;
	a->pairs_mean_only = true;
}

__u64 agg_pair_mean(const struct agg *a, int src, int dst)
{
	const struct pair_stat *p = agg_pair(a, src, dst);

	return p && p->count ? p->sum / p->count : 0;
}

__u64 agg_pair_median(const struct agg *a, const struct pair_stat *p)
{
	return a->pairs_mean_only ? 0 : pair_percentile(p, 50);
}
