// SPDX-License-Identifier: GPL-2.0
/*
 * Aggregation at scale: memory and time per report at 64, 256 and 1,024
 * CPUs, fed synthetic pairs. `make bench-agg` builds it twice: against this
 * tree's aggregation, and with -DDENSE against the dense per-pair arrays
 * it replaced (src/guest/agg.c and kagg.c of commit 0906bc6, taken from
 * git), so "before" is measured, not computed, wherever it fits in memory.
 *
 * Paths, per CPU count and case (all pairs active, or sparse: 4 targets
 * per CPU):
 *   aggregate  -a -C: a real BPF pair map (before: an array of nr * nr;
 *              after: a hash map of the pairs seen), its counts bumped
 *              between reports; a report reads it (kagg_read), takes the
 *              interval (kagg_fill), walks the pairs as the JSON output
 *              does (mean) and resets.
 *   records    per-event -C: RECS records a pair through agg_add, then the
 *              walk (median) and the reset.
 * Prints one line per run: impl cpus case path pairs user_bytes
 * kernel_bytes ms_per_report map_reads_per_report ns_per_record
 * (user bytes: malloc'd while a report's structures are live, mallinfo2;
 * kernel bytes: the pair map's memlock from /proc/self/fdinfo).
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "agg.h"
#include "kagg.h"
#include "topology.h"

#ifdef DENSE
#define IMPL	"before"
#else
#define IMPL	"after"
#endif
#define REPORTS	3
#define RECS	2		/* records per pair per report */
#define CHUNK	4096

struct pairset {
	__u32 *src, *dst;
	size_t n;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t heap_bytes(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

static long map_memlock(int fd)
{
	char path[64], line[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* all: every (src, dst); sparse: 4 targets per source */
static int make_pairs(struct pairset *p, int nr, int all)
{
	size_t cap = all ? (size_t)nr * nr : (size_t)nr * 4, k = 0;
	int s, d, j, t[4];

	p->src = calloc(cap, sizeof(*p->src));
	p->dst = calloc(cap, sizeof(*p->dst));
	if (!p->src || !p->dst)
		return -ENOMEM;
	for (s = 0; s < nr; s++) {
		if (all) {
			for (d = 0; d < nr; d++, k++) {
				p->src[k] = s;
				p->dst[k] = d;
			}
			continue;
		}
		t[0] = (s + 1) % nr;
		t[1] = (s + nr / 2) % nr;
		t[2] = (s + 3) % nr;
		t[3] = (s * 13 + 5) % nr;
		for (j = 0; j < 4; j++) {
			if (j && (t[j] == t[0] || t[j] == t[1] ||
				  (j == 3 && t[3] == t[2])))
				continue;
			p->src[k] = s;
			p->dst[k++] = t[j];
		}
	}
	p->n = k;
	return 0;
}

/* The kernel side of -a -C as each implementation sizes it. */
static int pair_map_create(int nr)
{
#ifdef DENSE
	return bpf_map_create(BPF_MAP_TYPE_ARRAY, "bench_pairs", 4,
			      sizeof(struct ipt_pair_val), nr * nr, NULL);
#else
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);

	return bpf_map_create(BPF_MAP_TYPE_HASH, "bench_pairs",
			      sizeof(struct ipt_pair_key),
			      sizeof(struct ipt_pair_val), nr * nr, &o);
#endif
}

/* Each pair's counts as the kernel would have them after report @r. */
static int pair_map_fill(int fd, const struct pairset *p, int nr, int r)
{
#ifdef DENSE
	__u32 keys[CHUNK];
#else
	struct ipt_pair_key keys[CHUNK];
#endif
	static struct ipt_pair_val vals[CHUNK];
	__u32 n;
	size_t i, j;

	for (i = 0; i < p->n; i += n) {
		n = p->n - i < CHUNK ? p->n - i : CHUNK;
		for (j = 0; j < n; j++) {
#ifdef DENSE
			keys[j] = p->src[i + j] * nr + p->dst[i + j];
#else
			keys[j] = (struct ipt_pair_key){ p->src[i + j], p->dst[i + j] };
#endif
			memset(&vals[j], 0, sizeof(vals[j]));
			vals[j].count[IPI_CALL_SINGLE] = (r + 1) * 3;
			vals[j].count[IPI_RESCHED] = r + 1;
			vals[j].sum_ns = (r + 1) * 4 * (1000 + (i + j) % 5000);
		}
		if (bpf_map_update_batch(fd, keys, vals, &n, NULL))
			return -errno;
	}
	return 0;
}

/* What the JSON output reads of every pair: mean or median. */
static __u64 walk_pairs(const struct agg *a, int median)
{
	__u64 x = 0;
#ifdef DENSE
	int s, d;

	for (s = 0; s < a->nr_cpus; s++)
		for (d = 0; d < a->nr_cpus; d++) {
			const struct hist *h = agg_pair(a, s, d);

			if (h && h->count)
				x += median ? hist_percentile(h, 50) : hist_mean(h);
		}
#else
	struct pair_stat **v;
	size_t i, n;

	v = pairs_sorted(&a->pairs, &n);
	for (i = 0; i < n; i++)
		if (v[i]->count)
			x += median ? agg_pair_median(a, v[i]) :
			     v[i]->sum / v[i]->count;
	free(v);
#endif
	return x;
}

struct result {
	size_t user;
	long kernel;
	double ms;
	double reads;
	double ns_rec;
};

static int run_aggregate(const struct topology *t, int nr,
			 const struct pairset *p, struct result *res)
{
	struct kagg_snap snap[2], tmp;
	int hfd, pfd, r, err = 0;
	size_t m0 = heap_bytes();
	double ms = 0, reads = 0, t0;
	struct agg a;

	hfd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "bench_hist", 4,
			     sizeof(struct ipt_hist_val), IPT_AGG_SLOTS, NULL);
	pfd = pair_map_create(nr);
	if (hfd < 0 || pfd < 0)
		return -errno;
	if (agg_init(&a, t, nr) || kagg_snap_init(&snap[0], nr) ||
	    kagg_snap_init(&snap[1], nr))
		return -ENOMEM;
	pair_map_fill(pfd, p, nr, 0);
	kagg_read(&snap[1], hfd, pfd);
	for (r = 1; r <= REPORTS && !err; r++) {
		err = pair_map_fill(pfd, p, nr, r);
		t0 = now_ms();
		err = err ? err : kagg_read(&snap[0], hfd, pfd);
		kagg_fill(&a, &snap[0], &snap[1], KAGG_ALL);
		walk_pairs(&a, 0);
		ms += now_ms() - t0;
#ifdef DENSE
		reads += IPT_AGG_SLOTS + (double)nr * nr;
#else
		reads += snap[0].reads;
#endif
		if (r == REPORTS)
			res->user = heap_bytes() - m0;
		t0 = now_ms();
		agg_reset(&a);
		ms += now_ms() - t0;
		tmp = snap[1];
		snap[1] = snap[0];
		snap[0] = tmp;
	}
	res->kernel = map_memlock(pfd);
	res->ms = ms / REPORTS;
	res->reads = reads / REPORTS;
	agg_free(&a);
	kagg_snap_free(&snap[0]);
	kagg_snap_free(&snap[1]);
	close(hfd);
	close(pfd);
	return err;
}

static int run_records(const struct topology *t, int nr,
		       const struct pairset *p, struct result *res)
{
	struct ipi_event e = { .type = REC_IPI, .callsite = 0x1000 };
	size_t i, m0 = heap_bytes();
	double ms = 0, add = 0, t0;
	struct agg a;
	int r, k;

	if (agg_init(&a, t, nr))
		return -ENOMEM;
	for (r = 0; r < REPORTS; r++) {
		t0 = now_ms();
		for (i = 0; i < p->n; i++)
			for (k = 0; k < RECS; k++) {
				e.src_cpu = p->src[i];
				e.dst_cpu = p->dst[i];
				e.kind = k ? IPI_RESCHED : IPI_CALL_SINGLE;
				e.lat_ns = 1000 + (i * 7 + k * 311) % 50000;
				agg_add(&a, &e);
			}
		add += now_ms() - t0;
		t0 = now_ms();
		walk_pairs(&a, 1);
		ms += now_ms() - t0;
		if (r == REPORTS - 1)
			res->user = heap_bytes() - m0;
		t0 = now_ms();
		agg_reset(&a);
		ms += now_ms() - t0;
	}
	res->kernel = 0;
	res->ms = ms / REPORTS;
	res->reads = 0;
	res->ns_rec = add * 1e6 / REPORTS / (p->n * RECS);
	agg_free(&a);
	return 0;
}

/* The dense code's bytes where running it would not fit: nr * nr pointers
 * and kind counts (and 48-byte snapshots, aggregate), a 4 KiB histogram
 * per pair seen; the array map of nr * nr values. */
static void dense_computed(int nr, size_t pairs, int aggregate,
			   struct result *res)
{
	size_t nn = (size_t)nr * nr;

	res->user = nn * (sizeof(void *) + IPI_KIND_MAX * sizeof(__u64)) +
		    pairs * sizeof(struct hist) +
		    (aggregate ? 2 * nn * sizeof(struct ipt_pair_val) : 0);
	res->kernel = aggregate ? (long)(nn * sizeof(struct ipt_pair_val)) : 0;
	res->ms = -1;
	res->reads = aggregate ? IPT_AGG_SLOTS + (double)nn : 0;
	res->ns_rec = -1;
}

static void print(int nr, const char *cas, const char *path, size_t pairs,
		  const struct result *r, int computed)
{
	printf("%s %d %s %s %zu %zu %ld %.3f %.0f %.1f %s\n", IMPL, nr, cas,
	       path, pairs, r->user, r->kernel, r->ms, r->reads, r->ns_rec,
	       computed ? "computed" : "measured");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const int cpus[] = { 64, 256, 1024 };
	/* beyond this the dense code's 4 KiB per pair is computed, not run */
	size_t dense_limit = argc > 1 ? strtoull(argv[1], NULL, 0) : 1 << 30;
	unsigned int i;
	int all, err;

	for (i = 0; i < ARRAY_SIZE(cpus); i++) {
		int nr = cpus[i];
		char map[64];
		struct topology t;

		/* two nodes, like the QEMU guests */
		snprintf(map, sizeof(map), "0-%d:0/%d-%d:1", nr / 2 - 1, nr / 2,
			 nr - 1);
		if (topology_parse_map(&t, map))
			return 1;
		for (all = 0; all < 2; all++) {
			const char *cas = all ? "all" : "sparse";
			struct result res = { 0 };
			struct pairset p;
			int dense_big;

			if (make_pairs(&p, nr, all))
				return 1;
			dense_big = p.n * sizeof(struct hist) > dense_limit;
#ifndef DENSE
			dense_big = 0;
#endif
			if (dense_big) {
				dense_computed(nr, p.n, 1, &res);
				print(nr, cas, "aggregate", p.n, &res, 1);
				dense_computed(nr, p.n, 0, &res);
				print(nr, cas, "records", p.n, &res, 1);
			} else {
				err = run_aggregate(&t, nr, &p, &res);
				if (err) {
					fprintf(stderr, "aggbench: aggregate %d %s: %s\n",
						nr, cas, strerror(-err));
					return 1;
				}
				print(nr, cas, "aggregate", p.n, &res, 0);
				run_records(&t, nr, &p, &res);
				print(nr, cas, "records", p.n, &res, 0);
			}
			free(p.src);
			free(p.dst);
		}
		topology_free(&t);
	}
	return 0;
}
