// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kagg.h"

#define PAIR_BATCH	4096	/* pairs per BPF_MAP_LOOKUP_BATCH */

int kagg_snap_init(struct kagg_snap *s, int nr_cpus)
{
	memset(s, 0, sizeof(*s));
	s->nr_cpus = nr_cpus;
	return nr_cpus > 0 ? 0 : -EINVAL;
}

void kagg_snap_free(struct kagg_snap *s)
{
	free(s->pairs);
	s->pairs = NULL;
	s->nr_pairs = s->cap_pairs = 0;
}

static __u32 pair_key(__u32 src, __u32 dst)
{
	return src << 16 | dst;
}

static struct kagg_pair *snap_append(struct kagg_snap *s)
{
	if (s->nr_pairs == s->cap_pairs) {
		size_t cap = s->cap_pairs ? s->cap_pairs * 2 : 64;
		struct kagg_pair *p = realloc(s->pairs, cap * sizeof(*p));

		if (!p)
			return NULL;
		s->pairs = p;
		s->cap_pairs = cap;
	}
	return &s->pairs[s->nr_pairs++];
}

static int by_key(const void *x, const void *y)
{
	const struct kagg_pair *a = x, *b = y;

	return a->key < b->key ? -1 : a->key > b->key;
}

int kagg_snap_set_pair(struct kagg_snap *s, __u32 src, __u32 dst,
		       const struct ipt_pair_val *v)
{
	struct kagg_pair *p = snap_append(s);

	if (!p)
		return -ENOMEM;
	p->key = pair_key(src, dst);
	p->v = *v;
	qsort(s->pairs, s->nr_pairs, sizeof(*s->pairs), by_key);
	return 0;
}

static int add_pairs(struct kagg_snap *s, const struct ipt_pair_key *k,
		     const struct ipt_pair_val *v, __u32 n)
{
	struct kagg_pair *p;
	__u32 i;

	for (i = 0; i < n; i++) {
		p = snap_append(s);
		if (!p)
			return -ENOMEM;
		p->key = pair_key(k[i].src, k[i].dst);
		p->v = v[i];
	}
	return 0;
}

/* Kernels before 5.6 have no batch operations: one key at a time. */
static int read_pairs_by_key(struct kagg_snap *s, int fd)
{
	struct ipt_pair_key k, next, *prev = NULL;
	struct ipt_pair_val v;
	int err;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		s->reads += 2;
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;	/* never deleted; cannot vanish */
		err = add_pairs(s, &k, &v, 1);
		if (err)
			return err;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int read_pairs(struct kagg_snap *s, int fd)
{
	struct ipt_pair_key *keys = calloc(PAIR_BATCH, sizeof(*keys));
	struct ipt_pair_val *vals = calloc(PAIR_BATCH, sizeof(*vals));
	__u32 in = 0, out = 0, n;
	int err = -ENOMEM, first = 1;

	s->nr_pairs = 0;
	while (keys && vals) {
		n = PAIR_BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys,
					   vals, &n, NULL);
		s->reads++;
		if (err && errno != ENOENT)
			break;
		if (add_pairs(s, keys, vals, n)) {
			err = -ENOMEM;
			break;
		}
		if (err) {	/* ENOENT: that was the last batch */
			err = 0;
			break;
		}
		in = out;
		first = 0;
	}
	if (err && first && (errno == EINVAL || errno == EOPNOTSUPP ||
			     errno == ENOTSUP || errno == 524)) {
		s->nr_pairs = 0;
		err = read_pairs_by_key(s, fd);
	} else if (err) {
		err = -errno;
	}
	free(keys);
	free(vals);
	qsort(s->pairs, s->nr_pairs, sizeof(*s->pairs), by_key);
	return err;
}

int kagg_read(struct kagg_snap *s, int hist_fd, int pair_fd)
{
	int ncpu = libbpf_num_possible_cpus(), c, err = 0;
	struct ipt_hist_val *vals;
	__u32 k;

	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	s->reads = 0;
	for (k = 0; k < IPT_AGG_SLOTS; k++) {
		hist_reset(&s->h[k]);
		s->reads++;
		if (bpf_map_lookup_elem(hist_fd, &k, vals)) {
			err = -errno;
			continue;
		}
		for (c = 0; c < ncpu; c++)
			hist_merge_val(&s->h[k], &vals[c]);
	}
	free(vals);
	if (pair_fd >= 0) {
		int perr = read_pairs(s, pair_fd);

		if (perr)
			err = perr;
	}
	return err;
}

static void fill_pairs(struct agg *a, const struct kagg_snap *cur,
		       const struct kagg_snap *prev)
{
	const struct kagg_pair *c, *p;
	struct ipt_pair_val d;
	size_t i, j = 0;
	int k;

	for (i = 0; i < cur->nr_pairs; i++) {
		c = &cur->pairs[i];
		d = c->v;
		while (prev && j < prev->nr_pairs && prev->pairs[j].key < c->key)
			j++;
		p = prev && j < prev->nr_pairs && prev->pairs[j].key == c->key ?
		    &prev->pairs[j] : NULL;
		if (p) {
			for (k = 0; k < IPI_KIND_MAX; k++)
				d.count[k] -= p->v.count[k];
			d.sum_ns -= p->v.sum_ns;
		}
		agg_set_pair(a, c->key >> 16, c->key & 0xffff, d.count,
			     d.sum_ns);
	}
}

void kagg_fill(struct agg *a, const struct kagg_snap *cur,
	       const struct kagg_snap *prev, unsigned int what)
{
	struct hist h;
	int i;

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
	if (what & KAGG_PAIRS)
		fill_pairs(a, cur, prev);
}

void kagg_size_pair_map(struct bpf_map *m, int nr_cpus, const char *release)
{
	__u32 n = (__u32)nr_cpus * nr_cpus;
	int major = 0, minor = 0;

	sscanf(release, "%d.%d", &major, &minor);
	if (major > 6 || (major == 6 && minor >= 1)) {
		bpf_map__set_map_flags(m, bpf_map__map_flags(m) |
				       BPF_F_NO_PREALLOC);
	} else if (n > KAGG_PREALLOC_PAIRS) {
		n = KAGG_PREALLOC_PAIRS;
	}
	bpf_map__set_max_entries(m, n);
}
