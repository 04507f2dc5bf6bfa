// SPDX-License-Identifier: GPL-2.0
/* The advice over one traced window: all VMs, then each VM. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "advice.h"

void adv_opts_default(struct adv_opts *o)
{
	o->share = 0.9;
	o->budget = -1;
	o->rule_q = 0.8;
	o->max_ns = ADV_MAX_NS_DEFAULT;
}

struct polls {
	double *v;
	size_t n;
};

static void collect_polls(void *ctx,
			  const struct adv_halt *h __attribute__((unused)),
			  const struct adv_outcome *o)
{
	struct polls *p = ctx;

	if (o->caught)
		p->v[p->n++] = o->halt_ns;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The rule's percentile from polls KVM's default would have made, when
 * the trace holds no successful poll (traced with polling off). */
static double simulated_percentile(const struct adv_input *in, uint32_t vm,
				   double q)
{
	struct adv_setting s = { ADV_ADAPTIVE, ADV_KVM_DEFAULT_CAP };
	struct polls p = { .v = malloc((in->n + 1) * sizeof(double)) };
	double r = -1;
	size_t k;

	if (!p.v)
		return -1;
	adv_replay(in, vm, &s, collect_polls, &p);
	if (p.n) {
		qsort(p.v, p.n, sizeof(double), cmp_dbl);
		k = (size_t)ceil(q * p.n - 1e-9);
		r = p.v[(k < 1 ? 1 : k) - 1];
	}
	free(p.v);
	return r;
}

static int price_rule(const struct adv_input *in, struct adv_group *g,
		      double q)
{
	double p = adv_success_percentile(in, g->vm, q);

	g->rule.simulated = p < 0;
	if (p < 0)
		p = simulated_percentile(in, g->vm, q);
	if (p < 0)
		return 0;
	g->rule.valid = true;
	g->rule.set = (struct adv_setting){ ADV_ADAPTIVE, (uint32_t)ceil(p) };
	return adv_eval(in, g->vm, &g->rule.set, &g->rule.st);
}

static int build_group(struct advice *a, struct adv_group *g)
{
	const struct adv_input *in = a->in;
	const struct adv_opts *o = &a->opts;
	size_t i;
	int err;

	for (i = 0; i < in->n; i++) {
		const struct adv_halt *h = &in->halts[i];

		if (g->vm && h->vm != g->vm)
			continue;
		g->halts++;
		if (i == 0 || h->vm != h[-1].vm || h->vcpu != h[-1].vcpu)
			g->vcpus++;
	}
	for (i = 0; i < a->nset; i++) {
		err = adv_eval(in, g->vm, &a->set[i], &g->st[i]);
		if (err)
			return err;
	}
	g->best_saved_ns = adv_best_saved(g->st, a->nset);
	g->rec = adv_pick_share(a->set, g->st, a->nset, ADV_ADAPTIVE,
				g->best_saved_ns, o->share);
	g->rec_reached = g->rec >= 0;
	if (g->rec < 0)	/* the adaptive setting saving most */
		g->rec = adv_pick_budget(a->set, g->st, a->nset, ADV_ADAPTIVE,
					 INFINITY);
	g->rec_fixed = adv_pick_share(a->set, g->st, a->nset, ADV_FIXED,
				      g->best_saved_ns, o->share);
	g->budget = g->budget_fixed = -1;
	if (o->budget >= 0) {
		g->budget = adv_pick_budget(a->set, g->st, a->nset,
					    ADV_ADAPTIVE, o->budget);
		g->budget_fixed = adv_pick_budget(a->set, g->st, a->nset,
						  ADV_FIXED, o->budget);
	}
	g->dflt.valid = true;
	g->dflt.set = (struct adv_setting){ ADV_ADAPTIVE, ADV_KVM_DEFAULT_CAP };
	err = adv_eval(in, g->vm, &g->dflt.set, &g->dflt.st);
	if (err)
		return err;
	return price_rule(in, g, o->rule_q);
}

int advice_build(struct adv_input *in, const struct adv_opts *o,
		 struct advice *a)
{
	size_t i, nvm = 0, k;
	int err;

	memset(a, 0, sizeof(*a));
	a->opts = *o;
	a->in = in;
	adv_prepare(in);
	a->nset = adv_default_settings(a->set, ADV_MAX_SETTINGS, o->max_ns);
	a->span_ns = adv_span(in);
	for (i = 0; i < in->n; i++)
		nvm += i == 0 || in->halts[i].vm != in->halts[i - 1].vm;
	a->groups = calloc(nvm + 1, sizeof(*a->groups));
	if (!a->groups)
		return -ENOMEM;
	a->ngroups = nvm + 1;
	for (i = 0, k = 1; i < in->n; i++)
		if (i == 0 || in->halts[i].vm != in->halts[i - 1].vm)
			a->groups[k++].vm = in->halts[i].vm;
	/* a VM numbered 0 would read as "all": fold it into the total */
	if (nvm && a->groups[1].vm == 0) {
		memmove(&a->groups[1], &a->groups[2],
			(nvm - 1) * sizeof(*a->groups));
		a->ngroups--;
	}
	for (i = 0; i < a->ngroups; i++) {
		err = build_group(a, &a->groups[i]);
		if (err) {
			advice_free(a);
			return err;
		}
	}
	return 0;
}

void advice_free(struct advice *a)
{
	free(a->groups);
	a->groups = NULL;
	a->ngroups = 0;
}
