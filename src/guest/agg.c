// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "agg.h"

#define IPI_KIND_NAME(e, name)	[e] = name,
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
	a->pairs = calloc((size_t)nr_cpus * nr_cpus, sizeof(*a->pairs));
	a->pair_kinds = calloc((size_t)nr_cpus * nr_cpus * IPI_KIND_MAX,
			       sizeof(*a->pair_kinds));
	a->cap_callers = 1024;
	a->callers = calloc(a->cap_callers, sizeof(*a->callers));
	if (!a->pairs || !a->pair_kinds || !a->callers) {
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

static void add_pair(struct agg *a, const struct ipi_event *e)
{
	struct hist **h;

	if (e->src_cpu >= (__u32)a->nr_cpus || e->dst_cpu >= (__u32)a->nr_cpus) {
		a->out_of_range++;
		return;
	}
	a->pair_kinds[(e->src_cpu * a->nr_cpus + e->dst_cpu) * IPI_KIND_MAX +
		      e->kind]++;
	if (a->no_pair_hists)
		return;
	h = &a->pairs[e->src_cpu * a->nr_cpus + e->dst_cpu];
	if (!*h)
		*h = calloc(1, sizeof(**h));
	if (*h)
		hist_add(*h, e->lat_ns);
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

const struct hist *agg_pair(const struct agg *a, int src, int dst)
{
	if (src < 0 || dst < 0 || src >= a->nr_cpus || dst >= a->nr_cpus)
		return NULL;
	return a->pairs[src * a->nr_cpus + dst];
}

__u64 agg_pair_kind(const struct agg *a, int src, int dst, int kind)
{
	if (src < 0 || dst < 0 || src >= a->nr_cpus || dst >= a->nr_cpus ||
	    kind < 0 || kind >= IPI_KIND_MAX)
		return 0;
	return a->pair_kinds[(src * a->nr_cpus + dst) * IPI_KIND_MAX + kind];
}

void agg_reset(struct agg *a)
{
	size_t i;

	memset(a->ipi, 0, sizeof(a->ipi));
	memset(a->csd, 0, sizeof(a->csd));
	for (i = 0; i < (size_t)a->nr_cpus * a->nr_cpus; i++) {
		free(a->pairs[i]);
		a->pairs[i] = NULL;
	}
	memset(a->pair_kinds, 0, (size_t)a->nr_cpus * a->nr_cpus *
	       IPI_KIND_MAX * sizeof(*a->pair_kinds));
	memset(a->callers, 0, a->cap_callers * sizeof(*a->callers));
	a->nr_callers = 0;
	a->out_of_range = 0;
	a->pairs_mean_only = false;
}

void agg_free(struct agg *a)
{
	if (a->pairs && a->pair_kinds && a->callers)
		agg_reset(a);
	free(a->pair_kinds);
	free(a->pairs);
	free(a->callers);
	a->pairs = NULL;
	a->pair_kinds = NULL;
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

void agg_set_pair(struct agg *a, int src, int dst, const __u64 *kind_counts,
		  __u64 sum_ns)
{
	struct hist **h;
	__u64 n = 0;
	int k;

	if (src < 0 || dst < 0 || src >= a->nr_cpus || dst >= a->nr_cpus)
		return;
	for (k = 0; k < IPI_KIND_MAX; k++) {
		a->pair_kinds[(src * a->nr_cpus + dst) * IPI_KIND_MAX + k] =
			kind_counts[k];
		n += kind_counts[k];
	}
	h = &a->pairs[src * a->nr_cpus + dst];
	if (!n) {
		free(*h);
		*h = NULL;
		return;
	}
	if (!*h)
		*h = calloc(1, sizeof(**h));
	if (!*h)
		return;
	hist_reset(*h);
	(*h)->count = n;
	(*h)->sum = sum_ns;
	a->pairs_mean_only = true;
}

__u64 agg_pair_mean(const struct agg *a, int src, int dst)
{
	const struct hist *h = agg_pair(a, src, dst);

	return h ? hist_mean(h) : 0;
}
