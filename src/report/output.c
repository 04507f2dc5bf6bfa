// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "ipitrace.h"

struct stat_key {
	int stat;
	const char *key;
};

#define STAT_KEY(e, key, where, doc)	{ e, key },
static const struct stat_key counter_keys[] = { IPT_COUNTERS(STAT_KEY) };
static const struct stat_key loss_keys[] = { IPT_LOSSES(STAT_KEY) };
#undef STAT_KEY


/* A record whose CPU is beyond the loader's matrix is lost like one the
 * kernel refused for its CPU id. */
__u64 report_stat(const struct guest_report *r, int stat)
{
	__u64 n = stat >= 0 && stat < ST_ALL ? r->stats[stat] : 0;

	if (stat == ST_CPU_RANGE && r->agg)
		n += r->agg->out_of_range;
	return n;
}

int report_lost_total(const struct guest_report *r, __u64 *total)
{
	size_t i;

	*total = 0;
	for (i = 0; i < ARRAY_SIZE(loss_keys); i++)
		*total += report_stat(r, loss_keys[i].stat);
	return *total != 0;
}

static void emit_hooks(struct emitter *e, const struct guest_report *r)
{
	char buf[128];
	int i;

	emit_obj(e, "hooks");
	for (i = 0; i < r->nr_roles; i++)
		emit_str(e, r->roles[i].name,
			 hook_desc(&r->roles[i], buf, sizeof(buf)));
	emit_end(e);
}

static void emit_class(struct emitter *e, const char *kind, int numa,
		       const struct hist *h)
{
	if (strcmp(kind, "csd"))
		emit_obj_titled(e, NULL, "IPI %s, %s node:", kind,
				numa_class_name(numa));
	else
		emit_obj_titled(e, NULL, "CSD queue -> function, %s node:",
				numa_class_name(numa));
	emit_label(e, "kind", kind);
	emit_label(e, "numa", numa_class_name(numa));
	emit_hist(e, NULL, h);
	emit_end(e);
}

static void emit_classes(struct emitter *e, const struct agg *a)
{
	int n, k, shown = 0;

	emit_list(e, "classes", NULL);
	for (k = 0; k < IPI_KIND_MAX; k++)
		for (n = 0; n < IPT_NUMA_MAX; n++)
			if (a->ipi[n][k].count) {
				emit_class(e, ipi_kind_name(k), n, &a->ipi[n][k]);
				shown++;
			}
	emit_end(e);
	emit_list(e, "csd_classes", NULL);
	for (n = 0; n < IPT_NUMA_MAX; n++)
		if (a->csd[n].count) {
			emit_class(e, "csd", n, &a->csd[n]);
			shown++;
		}
	emit_end(e);
	if (!shown)
		emit_caption(e, "No IPIs paired.");
}

/* The CPUs that appear as a source (or a target) of a pair seen: the
 * matrix has a row (column) for each, not one per CPU of the machine. */
static int *seen_cpus(struct pair_stat **v, size_t n, int nr_cpus, int dst,
		      int *count)
{
	unsigned char *seen = calloc(nr_cpus ? nr_cpus : 1, 1);
	int *cpus = calloc(nr_cpus ? nr_cpus : 1, sizeof(*cpus));
	size_t i;
	int c;

	*count = 0;
	if (!seen || !cpus) {
		free(seen);
		free(cpus);
		return NULL;
	}
	for (i = 0; i < n; i++)
		seen[dst ? v[i]->dst : v[i]->src] = 1;
	for (c = 0; c < nr_cpus; c++)
		if (seen[c])
			cpus[(*count)++] = c;
	free(seen);
	return cpus;
}

static void pair_cell(const struct agg *a, const struct pair_stat *p,
		      char *cell, size_t len)
{
	if (!p) {
		snprintf(cell, len, "-");
		return;
	}
	snprintf(cell, len, "%llu/", (unsigned long long)p->count);
	fmt_ns(a->pairs_mean_only ? p->sum / p->count : agg_pair_median(a, p),
	       cell + strlen(cell), len - strlen(cell));
}

/* People get a source x target matrix of count/median. */
static void emit_pair_matrix(struct emitter *e, const struct agg *a,
			     struct pair_stat **v, size_t n)
{
	int nsrc, ndst, *srcs = seen_cpus(v, n, a->nr_cpus, 0, &nsrc);
	int *dsts = seen_cpus(v, n, a->nr_cpus, 1, &ndst);
	struct emit_col *cols = calloc(ndst + 1, sizeof(*cols));
	char (*keys)[12] = calloc(ndst + 1, sizeof(*keys));
	char cell[48];
	int s, d;

	if (!srcs || !dsts || !cols || !keys)
		goto out;
	cols[0] = (struct emit_col){ .key = "src", .title = "src\\dst",
				     .width = 8 };
	for (d = 0; d < ndst; d++) {
		snprintf(keys[d], sizeof(keys[d]), "%d", dsts[d]);
		cols[d + 1] = (struct emit_col){ .key = keys[d],
						 .title = keys[d], .width = 16 };
	}
	emit_table(e, "cpu_matrix", a->pairs_mean_only ?
		   "CPU pairs (count / mean), rows: source, columns: target" :
		   "CPU pairs (count / median), rows: source, columns: target",
		   cols, ndst + 1);
	for (s = 0; s < nsrc; s++) {
		emit_obj(e, NULL);
		emit_u64(e, "src", srcs[s]);
		for (d = 0; d < ndst; d++) {
			pair_cell(a, agg_pair(a, srcs[s], dsts[d]), cell,
				  sizeof(cell));
			emit_str(e, keys[d], cell);
		}
		emit_end(e);
	}
	emit_end(e);
out:
	free(srcs);
	free(dsts);
	free(cols);
	free(keys);
}

static void emit_pair(struct emitter *e, const struct agg *a,
		      const struct pair_stat *p)
{
	int k;

	emit_obj(e, NULL);
	emit_u64(e, "src", p->src);
	emit_u64(e, "dst", p->dst);
	emit_str(e, "numa", numa_class_name(agg_numa_class(a, p->src, p->dst)));
	emit_u64(e, "count", p->count);
	emit_u64(e, "avg_ns", p->sum / p->count);
	if (a->pairs_mean_only || !p->nb)
		emit_null(e, "p50_ns");
	else
		emit_u64(e, "p50_ns", agg_pair_median(a, p));
	emit_obj(e, "kinds");
	for (k = 0; k < IPI_KIND_MAX; k++)
		if (p->kinds[k])
			emit_u64(e, ipi_kind_name(k), p->kinds[k]);
	emit_end(e);
	emit_end(e);
}

/* Programs get the pairs seen, with their kinds, by source then target. */
static void emit_pairs(struct emitter *e, const struct agg *a)
{
	size_t i, n, k = 0;
	struct pair_stat **v = pairs_sorted(&a->pairs, &n);

	for (i = 0; i < n; i++)	/* pairs a kernel delta left at 0 */
		if (v[i]->count)
			v[k++] = v[i];
	emit_only(e, EMIT_HUMAN);
	emit_pair_matrix(e, a, v, k);
	emit_only(e, EMIT_MACHINE);
	emit_list(e, "cpu_pairs", NULL);
	for (i = 0; i < k; i++)
		emit_pair(e, a, v[i]);
	emit_end(e);
	emit_only(e, EMIT_ALL);
	free(v);
}

static const char *sym(const struct ksyms *ks, __u64 addr, char *buf, size_t len)
{
	if (ks)
		ksyms_format(ks, addr, buf, len);
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)addr);
	return buf;
}

static const struct emit_col caller_cols[] = {
	{ .key = "kind", .title = "KIND", .width = -12 },
	{ .key = "count", .title = "COUNT", .width = 8 },
	{ .key = "avg_ns", .title = "AVG", .width = 10, .fmt = EMIT_COL_NS },
	{ .key = "callsite", .title = "CALLSITE", .width = -40, .gap = 2 },
	{ .key = "function", .title = "FUNCTION" },
};

static void emit_callers(struct emitter *e, const struct guest_report *r)
{
	struct caller_stat top[256];
	char buf[128];
	size_t i, n;

	n = agg_top_callers(r->agg, top, r->callers < 256 ? r->callers : 256);
	emit_table(e, "callers", "Top senders (callsite / function)",
		   caller_cols, ARRAY_SIZE(caller_cols));
	for (i = 0; i < n; i++) {
		emit_obj(e, NULL);
		emit_str(e, "kind", ipi_kind_name(top[i].kind));
		emit_str(e, "callsite", sym(r->ksyms, top[i].callsite, buf,
					    sizeof(buf)));
		emit_str(e, "function", sym(r->ksyms, top[i].func, buf,
					    sizeof(buf)));
		emit_u64(e, "count", top[i].count);
		emit_u64(e, "avg_ns", top[i].sum_ns / top[i].count);
		emit_u64(e, "max_ns", top[i].max_ns);
		emit_end(e);
	}
	emit_end(e);
}

static void emit_stats(struct emitter *e, const struct guest_report *r)
{
	__u64 lost;
	size_t i;

	emit_obj_titled(e, "counters", "Counters:");
	for (i = 0; i < ARRAY_SIZE(counter_keys); i++)
		emit_u64(e, counter_keys[i].key, report_stat(r, counter_keys[i].stat));
	emit_end(e);
	report_lost_total(r, &lost);
	emit_obj_titled(e, "lost", "Lost: %llu", (unsigned long long)lost);
	for (i = 0; i < ARRAY_SIZE(loss_keys); i++)
		emit_u64(e, loss_keys[i].key, report_stat(r, loss_keys[i].stat));
	emit_end(e);
}

void report_guest(struct emitter *e, const struct guest_report *r)
{
	emit_caption(e, "\n--- %.1f s ---", r->duration_s);
	emit_only(e, EMIT_MACHINE);
	emit_str(e, "mode", "guest");
	emit_dbl(e, "duration_s", r->duration_s);
	emit_hooks(e, r);
	emit_only(e, EMIT_ALL);
	emit_classes(e, r->agg);
	if (r->cpu_pairs)
		emit_pairs(e, r->agg);
	if (r->callers)
		emit_callers(e, r);
	emit_stats(e, r);
	emit_only(e, EMIT_METRICS);
	scrape_guest(e, r);	/* the span's values, as a scrape names them */
	emit_only(e, EMIT_ALL);
}

static void report_fn(struct emitter *e, const void *r)
{
	report_guest(e, r);
}

int report_print(FILE *f, const struct emit_backend *be,
		 const struct guest_report *r)
{
	return emit_document(f, be, report_fn, r);
}

static void scrape_family(struct emitter *e, const char *name,
			  const char *label, const char *help,
			  const struct stat_key *keys, size_t n,
			  const struct guest_report *r)
{
	size_t i;

	emit_family(e, name, EMIT_COUNTER, NULL, help);
	for (i = 0; i < n; i++) {
		emit_obj(e, NULL);
		emit_label(e, label, keys[i].key);
		emit_u64(e, "value", report_stat(r, keys[i].stat));
		emit_end(e);
	}
	emit_end(e);
}

void scrape_guest(struct emitter *e, const struct guest_report *r)
{
	const struct agg *a = r->agg;
	int k, n;

	emit_family(e, "ipitrace_ipi_latency_seconds", EMIT_HISTOGRAM,
		    "seconds", "IPI send to handler entry (kind csd: CSD queue to function entry).");
	for (k = 0; k <= IPI_KIND_MAX; k++) {
		for (n = 0; n < IPT_NUMA_MAX; n++) {
			const struct hist *h = k < IPI_KIND_MAX ?
					       &a->ipi[n][k] : &a->csd[n];

			if (!h->count)
				continue;
			emit_obj(e, NULL);
			emit_label(e, "kind", k < IPI_KIND_MAX ?
				   ipi_kind_name(k) : "csd");
			emit_label(e, "numa", numa_class_name(n));
			emit_hist(e, NULL, h);
			emit_end(e);
		}
	}
	emit_end(e);
	scrape_family(e, "ipitrace_events", "counter", "In-kernel event counters.",
		      counter_keys, ARRAY_SIZE(counter_keys), r);
	scrape_family(e, "ipitrace_lost", "reason",
		      "Events ipitrace could not account for.",
		      loss_keys, ARRAY_SIZE(loss_keys), r);
}
