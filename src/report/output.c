// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include "json.h"
#include "output.h"

struct counter_name {
	int stat;
	const char *key;
};

/* Loss: events the tracer could not account for. */
static const struct counter_name lost_names[] = {
	{ ST_RB_DROP, "ringbuf_drops" },
	{ ST_PENDING_OVERWRITE, "pending_overwritten" },
	{ ST_CSD_COLLISION, "csd_collisions" },
	{ ST_CPU_RANGE, "cpu_out_of_range" },
};

static const struct counter_name counter_names[] = {
	{ ST_SENDS, "sends" },
	{ ST_HANDLED, "paired" },
	{ ST_UNPAIRED_HANDLER, "handler_without_send" },
	{ ST_COALESCED, "coalesced_sends" },
	{ ST_SEND_OTHER, "sends_not_followed" },
	{ ST_UNSERVED, "sends_unserved" },
	{ ST_CSD_QUEUED, "csd_queued" },
	{ ST_CSD_RUN, "csd_run" },
	{ ST_CSD_UNPAIRED, "csd_run_without_queue" },
	{ ST_TRACER_IPI, "tracer_ipis" },
	{ ST_WAKE_NO_IPI, "wake_idle_without_ipi" },
};


const char *fmt_ns(__u64 ns, char *buf, size_t len)
{
	if (ns < 10000)
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	else if (ns < 10000000)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 10000000000ULL)
		snprintf(buf, len, "%.1fms", ns / 1e6);
	else
		snprintf(buf, len, "%.1fs", ns / 1e9);
	return buf;
}

/* A record whose CPU is beyond the loader's matrix is lost like one the
 * kernel refused for its CPU id. */
static __u64 lost_count(const struct guest_report *r, int stat)
{
	__u64 n = r->stats[stat];

	if (stat == ST_CPU_RANGE && r->agg)
		n += r->agg->out_of_range;
	return n;
}

int report_lost_total(const struct guest_report *r, __u64 *total)
{
	size_t i;

	*total = r->recursion_misses;
	for (i = 0; i < ARRAY_SIZE(lost_names); i++)
		*total += lost_count(r, lost_names[i].stat);
	return *total != 0;
}

void report_counter_lists(const struct guest_report *r,
			  struct named_count *counters, int *nr_counters,
			  struct named_count *lost, int *nr_lost)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(counter_names); i++) {
		counters[i].name = counter_names[i].key;
		counters[i].value = r->stats[counter_names[i].stat];
	}
	*nr_counters = ARRAY_SIZE(counter_names);
	for (i = 0; i < ARRAY_SIZE(lost_names); i++) {
		lost[i].name = lost_names[i].key;
		lost[i].value = lost_count(r, lost_names[i].stat);
	}
	lost[i].name = "recursion_misses";
	lost[i].value = r->recursion_misses;
	*nr_lost = ARRAY_SIZE(lost_names) + 1;
}

static void print_stars(FILE *f, __u64 val, __u64 max, int width)
{
	int n = max ? (int)(val * width / max) : 0, i;

	for (i = 0; i < width; i++)
		fputc(i < n ? '*' : ' ', f);
}

void print_log2_hist(FILE *f, const struct hist *h, const char *unit)
{
	uint64_t b[HIST_LOG2], max = 0;
	int i, lo = -1, top = hist_log2(h, b);

	for (i = 0; i < top; i++) {
		if (b[i] > max)
			max = b[i];
		if (lo < 0 && b[i])
			lo = i;
	}
	if (lo < 0)
		return;
	fprintf(f, "%20s : count    distribution\n", unit);
	for (i = lo; i < top; i++) {
		fprintf(f, "%10llu -> %-10llu : %-8llu |",
			(unsigned long long)hist_log2_lo(i),
			(unsigned long long)hist_log2_hi(i),
			(unsigned long long)b[i]);
		print_stars(f, b[i], max, 40);
		fputs("|\n", f);
	}
}

static void print_summary(FILE *f, const struct hist *h)
{
	static const double ps[] = { 50, 90, 99, 99.9 };
	static const char *pn[] = { "p50", "p90", "p99", "p99.9" };
	char b1[32], b2[32], b3[32];
	size_t i;

	fprintf(f, "count %llu  min %s  avg %s", (unsigned long long)h->count,
		fmt_ns(h->min, b1, sizeof(b1)),
		fmt_ns(hist_mean(h), b2, sizeof(b2)));
	for (i = 0; i < ARRAY_SIZE(ps); i++)
		fprintf(f, "  %s %s", pn[i],
			fmt_ns(hist_percentile(h, ps[i]), b3, sizeof(b3)));
	fprintf(f, "  max %s\n", fmt_ns(h->max, b1, sizeof(b1)));
}

static void text_classes(FILE *f, const struct agg *a)
{
	int n, k, shown = 0;

	for (k = 0; k < IPI_KIND_MAX; k++) {
		for (n = 0; n < IPT_NUMA_MAX; n++) {
			const struct hist *h = &a->ipi[n][k];

			if (!h->count)
				continue;
			fprintf(f, "\nIPI %s, %s node: ", ipi_kind_name(k),
				numa_class_name(n));
			print_summary(f, h);
			print_log2_hist(f, h, "nsecs");
			shown++;
		}
	}
	for (n = 0; n < IPT_NUMA_MAX; n++) {
		if (!a->csd[n].count)
			continue;
		fprintf(f, "\nCSD queue -> function, %s node: ", numa_class_name(n));
		print_summary(f, &a->csd[n]);
		print_log2_hist(f, &a->csd[n], "nsecs");
		shown++;
	}
	if (!shown)
		fprintf(f, "\nNo IPIs paired.\n");
}

static void text_pairs(FILE *f, const struct agg *a)
{
	char buf[32];
	int s, d;

	fprintf(f, "\nCPU pairs (count / %s), rows: source, columns: target\n",
		a->pairs_mean_only ? "mean" : "median");
	fprintf(f, "%8s", "src\\dst");
	for (d = 0; d < a->nr_cpus; d++)
		fprintf(f, " %16d", d);
	fputc('\n', f);
	for (s = 0; s < a->nr_cpus; s++) {
		fprintf(f, "%8d", s);
		for (d = 0; d < a->nr_cpus; d++) {
			const struct hist *h = agg_pair(a, s, d);

			if (!h || !h->count) {
				fprintf(f, " %16s", "-");
				continue;
			}
			snprintf(buf, sizeof(buf), "%llu/",
				 (unsigned long long)h->count);
			fmt_ns(a->pairs_mean_only ? hist_mean(h) :
			       hist_percentile(h, 50), buf + strlen(buf),
			       sizeof(buf) - strlen(buf));
			fprintf(f, " %16s", buf);
		}
		fputc('\n', f);
	}
}

static const char *sym(const struct ksyms *ks, __u64 addr, char *buf, size_t len)
{
	if (ks)
		ksyms_format(ks, addr, buf, len);
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)addr);
	return buf;
}

static const char *rec_label(const struct caller_stat *c)
{
	return ipi_kind_name(c->kind);
}

static void text_callers(FILE *f, const struct guest_report *r)
{
	struct caller_stat top[256];
	char b1[128], b2[128], b3[32];
	size_t i, n;
	int want = r->callers < 256 ? r->callers : 256;

	n = agg_top_callers(r->agg, top, want);
	fprintf(f, "\nTop senders (callsite / function)\n");
	fprintf(f, "%-12s %8s %10s  %-40s %s\n", "KIND", "COUNT", "AVG",
		"CALLSITE", "FUNCTION");
	for (i = 0; i < n; i++)
		fprintf(f, "%-12s %8llu %10s  %-40s %s\n", rec_label(&top[i]),
			(unsigned long long)top[i].count,
			fmt_ns(top[i].sum_ns / top[i].count, b3, sizeof(b3)),
			sym(r->ksyms, top[i].callsite, b1, sizeof(b1)),
			sym(r->ksyms, top[i].func, b2, sizeof(b2)));
}

void report_text(FILE *f, const struct guest_report *r)
{
	__u64 lost;
	size_t i;

	fprintf(f, "\n--- %.1f s ---", r->duration_s);
	text_classes(f, r->agg);
	if (r->cpu_pairs)
		text_pairs(f, r->agg);
	if (r->callers)
		text_callers(f, r);
	fprintf(f, "\nCounters:");
	for (i = 0; i < ARRAY_SIZE(counter_names); i++)
		fprintf(f, " %s=%llu", counter_names[i].key,
			(unsigned long long)r->stats[counter_names[i].stat]);
	report_lost_total(r, &lost);
	fprintf(f, "\nLost: %llu", (unsigned long long)lost);
	for (i = 0; i < ARRAY_SIZE(lost_names); i++)
		fprintf(f, " %s=%llu", lost_names[i].key,
			(unsigned long long)lost_count(r, lost_names[i].stat));
	fprintf(f, " recursion_misses=%llu\n",
		(unsigned long long)r->recursion_misses);
	fflush(f);
}

static void json_hist(struct jw *w, const struct hist *h)
{
	uint64_t b[HIST_LOG2];
	int i, top = hist_log2(h, b);

	jw_u64(w, "count", h->count);
	jw_u64(w, "min_ns", h->min);
	jw_u64(w, "avg_ns", hist_mean(h));
	jw_u64(w, "p50_ns", hist_percentile(h, 50));
	jw_u64(w, "p90_ns", hist_percentile(h, 90));
	jw_u64(w, "p99_ns", hist_percentile(h, 99));
	jw_u64(w, "p999_ns", hist_percentile(h, 99.9));
	jw_u64(w, "max_ns", h->max);
	jw_arr(w, "hist");
	for (i = 0; i < top; i++) {
		if (!b[i])
			continue;
		jw_obj(w, NULL);
		jw_u64(w, "lo_ns", hist_log2_lo(i));
		jw_u64(w, "hi_ns", hist_log2_hi(i));
		jw_u64(w, "count", b[i]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void json_hooks(struct jw *w, const struct guest_report *r)
{
	char buf[128];
	int i;

	jw_obj(w, "hooks");
	for (i = 0; i < r->nr_roles; i++)
		jw_str(w, r->roles[i].name, hook_desc(&r->roles[i], buf,
							sizeof(buf)));
	jw_obj_end(w);
}

static void json_classes(struct jw *w, const struct agg *a)
{
	int n, k;

	jw_arr(w, "classes");
	for (k = 0; k < IPI_KIND_MAX; k++) {
		for (n = 0; n < IPT_NUMA_MAX; n++) {
			if (!a->ipi[n][k].count)
				continue;
			jw_obj(w, NULL);
			jw_str(w, "kind", ipi_kind_name(k));
			jw_str(w, "numa", numa_class_name(n));
			json_hist(w, &a->ipi[n][k]);
			jw_obj_end(w);
		}
	}
	jw_arr_end(w);
	jw_arr(w, "csd_classes");
	for (n = 0; n < IPT_NUMA_MAX; n++) {
		if (!a->csd[n].count)
			continue;
		jw_obj(w, NULL);
		jw_str(w, "kind", "csd");
		jw_str(w, "numa", numa_class_name(n));
		json_hist(w, &a->csd[n]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void json_pair_kinds(struct jw *w, const struct agg *a, int s, int d)
{
	int k;

	jw_obj(w, "kinds");
	for (k = 0; k < IPI_KIND_MAX; k++)
		if (agg_pair_kind(a, s, d, k))
			jw_u64(w, ipi_kind_name(k), agg_pair_kind(a, s, d, k));
	jw_obj_end(w);
}

static void json_pairs(struct jw *w, const struct agg *a)
{
	int s, d;

	jw_arr(w, "cpu_pairs");
	for (s = 0; s < a->nr_cpus; s++) {
		for (d = 0; d < a->nr_cpus; d++) {
			const struct hist *h = agg_pair(a, s, d);

			if (!h || !h->count)
				continue;
			jw_obj(w, NULL);
			jw_u64(w, "src", s);
			jw_u64(w, "dst", d);
			jw_str(w, "numa", numa_class_name(agg_numa_class(a, s, d)));
			jw_u64(w, "count", h->count);
			jw_u64(w, "avg_ns", hist_mean(h));
			if (a->pairs_mean_only)
				jw_null(w, "p50_ns");
			else
				jw_u64(w, "p50_ns", hist_percentile(h, 50));
			json_pair_kinds(w, a, s, d);
			jw_obj_end(w);
		}
	}
	jw_arr_end(w);
}

static void json_callers(struct jw *w, const struct guest_report *r)
{
	struct caller_stat top[256];
	char buf[128];
	size_t i, n;

	n = agg_top_callers(r->agg, top, r->callers < 256 ? r->callers : 256);
	jw_arr(w, "callers");
	for (i = 0; i < n; i++) {
		jw_obj(w, NULL);
		jw_str(w, "kind", rec_label(&top[i]));
		jw_str(w, "callsite", sym(r->ksyms, top[i].callsite, buf, sizeof(buf)));
		jw_str(w, "function", sym(r->ksyms, top[i].func, buf, sizeof(buf)));
		jw_u64(w, "count", top[i].count);
		jw_u64(w, "avg_ns", top[i].sum_ns / top[i].count);
		jw_u64(w, "max_ns", top[i].max_ns);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

void report_json(FILE *f, const struct guest_report *r)
{
	struct jw w;
	size_t i;

	jw_init(&w, f);
	jw_obj(&w, NULL);
	jw_str(&w, "mode", "guest");
	jw_dbl(&w, "duration_s", r->duration_s);
	json_hooks(&w, r);
	jw_obj(&w, "lost");
	for (i = 0; i < ARRAY_SIZE(lost_names); i++)
		jw_u64(&w, lost_names[i].key, lost_count(r, lost_names[i].stat));
	jw_u64(&w, "recursion_misses", r->recursion_misses);
	jw_obj_end(&w);
	jw_obj(&w, "counters");
	for (i = 0; i < ARRAY_SIZE(counter_names); i++)
		jw_u64(&w, counter_names[i].key, r->stats[counter_names[i].stat]);
	jw_obj_end(&w);
	json_classes(&w, r->agg);
	if (r->cpu_pairs)
		json_pairs(&w, r->agg);
	if (r->callers)
		json_callers(&w, r);
	jw_obj_end(&w);
	jw_done(&w);
}
