// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kagg.h"

int kagg_snap_init(struct kagg_snap *s, int nr_cpus)
{
	memset(s, 0, sizeof(*s));
	s->nr_cpus = nr_cpus;
	s->pairs = calloc((size_t)nr_cpus * nr_cpus, sizeof(*s->pairs));
	return s->pairs ? 0 : -ENOMEM;
}

void kagg_snap_free(struct kagg_snap *s)
{
	free(s->pairs);
	s->pairs = NULL;
}

int kagg_read(struct kagg_snap *s, int hist_fd, int pair_fd)
{
	int ncpu = libbpf_num_possible_cpus(), c, err = 0;
	struct ipt_hist_val *vals = calloc(ncpu, sizeof(*vals));
	__u32 k, n = (__u32)s->nr_cpus * s->nr_cpus;

	if (!vals)
		return -ENOMEM;
	for (k = 0; k < IPT_AGG_SLOTS; k++) {
		hist_reset(&s->h[k]);
		if (bpf_map_lookup_elem(hist_fd, &k, vals)) {
			err = -errno;
			continue;
		}
		for (c = 0; c < ncpu; c++)
			hist_merge_val(&s->h[k], &vals[c]);
	}
	free(vals);
	for (k = 0; pair_fd >= 0 && k < n; k++)
		if (bpf_map_lookup_elem(pair_fd, &k, &s->pairs[k]))
			err = -errno;
	return err;
}

void kagg_fill(struct agg *a, const struct kagg_snap *cur,
	       const struct kagg_snap *prev, unsigned int what)
{
	struct ipt_pair_val d;
	struct hist h;
	int i, k, n = cur->nr_cpus * cur->nr_cpus;

	for (i = 0; i < IPT_AGG_SLOTS; i++) {
		int csd = i % IPT_AGG_KINDS == IPI_KIND_MAX;

		if (!(what & (csd ? KAGG_CSD : KAGG_IPI)))
			continue;
		if (prev)
			hist_delta(&h, &cur->h[i], &prev->h[i]);
		else
			h = cur->h[i];
		agg_set_class(a, i / IPT_AGG_KINDS, i % IPT_AGG_KINDS, &h);
	}
	for (i = 0; (what & KAGG_PAIRS) && i < n; i++) {
		d = cur->pairs[i];
		if (prev) {
			for (k = 0; k < IPI_KIND_MAX; k++)
				d.count[k] -= prev->pairs[i].count[k];
			d.sum_ns -= prev->pairs[i].sum_ns;
		}
		agg_set_pair(a, i / cur->nr_cpus, i % cur->nr_cpus, d.count,
			     d.sum_ns);
	}
}
