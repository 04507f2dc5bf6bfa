// SPDX-License-Identifier: GPL-2.0
/* VM exit tables of the host report (see host_exits.h). */
#include <stdlib.h>
#include "host_exits.h"
#include "output.h"

/* One table's rows, sorted, with their totals. */
struct exit_rows {
	const struct kick_exit **x;
	size_t n;
	__u64 count;		/* exits */
	__u64 ns;		/* exit-to-entry time of the timed ones */
};

static int by_count(const void *a, const void *b)
{
	const struct kick_exit *x = *(const struct kick_exit **)a;
	const struct kick_exit *y = *(const struct kick_exit **)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->vcpu != y->vcpu)
		return x->vcpu < y->vcpu ? -1 : 1;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* rows of the totals (@per_vcpu false) or of every vCPU; 0 or -1 */
static int exit_rows(const struct kick *k, bool per_vcpu, struct exit_rows *r)
{
	size_t i, n = per_vcpu ? kick_nr_vcpu_exits(k) : kick_nr_exits(k);

	r->n = 0;
	r->count = r->ns = 0;
	r->x = calloc(n ? n : 1, sizeof(*r->x));
	if (!r->x)
		return -1;
	for (i = 0; i < n; i++) {
		const struct kick_exit *x = per_vcpu ? kick_vcpu_exit_at(k, i) :
						       kick_exit_at(k, i);

		if (!x->count && !x->timed)
			continue;
		if (per_vcpu && !kick_filter_match(k, x->pid, x->vcpu))
			continue;
		r->x[r->n++] = x;
		r->count += x->count;
		r->ns += x->total_ns;
	}
	qsort(r->x, r->n, sizeof(*r->x), by_count);
	return 0;
}

/* "msr" or "msr 0x830 (icr)" */
static const char *row_name(const struct kick_exit *x, char *buf, size_t len)
{
	char name[40];
	const char *m;

	kick_exit_name(x->isa, x->reason, name, sizeof(name));
	if (x->msr == KICK_NO_MSR) {
		snprintf(buf, len, "%s", name);
		return buf;
	}
	m = kick_msr_name(x->msr);
	snprintf(buf, len, "%s 0x%llx%s%s%s", name, (unsigned long long)x->msr,
		 m ? " (" : "", m ? m : "", m ? ")" : "");
	return buf;
}

/* the exits and time that row @i's shares are of: its table's, or for a
 * vCPU row its own vCPU's */
static void shares_of(const struct exit_rows *r, size_t i, bool per_vcpu,
		      __u64 *count, __u64 *ns)
{
	size_t j;

	*count = r->count;
	*ns = r->ns;
	if (!per_vcpu)
		return;
	*count = *ns = 0;
	for (j = 0; j < r->n; j++)
		if (r->x[j]->pid == r->x[i]->pid &&
		    r->x[j]->vcpu == r->x[i]->vcpu) {
			*count += r->x[j]->count;
			*ns += r->x[j]->total_ns;
		}
}

static double pct(__u64 a, __u64 b)
{
	return b ? 100.0 * a / b : 0;
}

static void text_header(FILE *f, bool per_vcpu)
{
	if (per_vcpu)
		fprintf(f, "%8s %5s ", "PID", "VCPU");
	fprintf(f, "%-24s %9s %8s %7s %9s %9s %9s %9s %9s\n", "REASON",
		"SAMPLES", "SAMPLES%", "TIME%", "MIN", "MAX", "AVG", "P50",
		"P99");
}

static void text_row(FILE *f, const struct kick_exit *x, __u64 count,
		     __u64 ns, bool per_vcpu)
{
	const struct hist *h = &x->hist;
	char name[64], b[5][32];

	if (per_vcpu)
		fprintf(f, "%8u %5d ", x->pid, x->vcpu);
	fprintf(f, "%-24s %9llu %7.2f%% ", row_name(x, name, sizeof(name)),
		(unsigned long long)x->count, pct(x->count, count));
	if (!x->timed) {
		fprintf(f, "%7s %9s %9s %9s %9s %9s\n", "-", "-", "-", "-",
			"-", "-");
		return;
	}
	fprintf(f, "%6.2f%% %9s %9s %9s %9s %9s\n", pct(x->total_ns, ns),
		fmt_ns(h->min, b[0], sizeof(b[0])),
		fmt_ns(h->max, b[1], sizeof(b[1])),
		fmt_ns(hist_mean(h), b[2], sizeof(b[2])),
		fmt_ns(hist_percentile(h, 50), b[3], sizeof(b[3])),
		fmt_ns(hist_percentile(h, 99), b[4], sizeof(b[4])));
}

static void text_table(FILE *f, const struct kick *k, bool per_vcpu)
{
	struct exit_rows r;
	__u64 count, ns;
	size_t i;

	if (exit_rows(k, per_vcpu, &r))
		return;
	text_header(f, per_vcpu);
	for (i = 0; i < r.n; i++) {
		shares_of(&r, i, per_vcpu, &count, &ns);
		text_row(f, r.x[i], count, ns, per_vcpu);
	}
	free(r.x);
}

void host_exits_text(FILE *f, const struct kick *k, bool detail, bool hooked)
{
	struct exit_rows r;

	if (exit_rows(k, false, &r))
		return;
	if (!r.n) {
		fprintf(f, "\nVM exits: not observable on this kernel (%s)\n",
			hooked ? "hook attached, never fired" : "no hook");
		free(r.x);
		return;
	}
	fprintf(f, "\nVM exits: %llu%s\n", (unsigned long long)r.count,
		kick_entries_seen(k) ? "" :
		"  (no VM entry seen: exit-to-entry times unknown)");
	free(r.x);
	if (!detail)
		return;
	fprintf(f, "Exit-to-entry time by reason:\n");
	text_table(f, k, false);
	fprintf(f, "\nBy vCPU:\n");
	text_table(f, k, true);
}

static void json_lat(struct jw *w, const char *key, bool ok, __u64 v)
{
	if (ok)
		jw_u64(w, key, v);
	else
		jw_null(w, key);
}

static void json_row(struct jw *w, const struct kick_exit *x,
		     __u64 count, __u64 ns, bool per_vcpu)
{
	const struct hist *h = &x->hist;
	char name[40], msr[24];
	bool ok = x->timed > 0;

	jw_obj(w, NULL);
	if (per_vcpu) {
		jw_u64(w, "pid", x->pid);
		jw_i64(w, "vcpu", x->vcpu);
	}
	jw_str(w, "reason", kick_exit_name(x->isa, x->reason, name,
					   sizeof(name)));
	jw_u64(w, "isa", x->isa);
	snprintf(msr, sizeof(msr), "0x%llx", (unsigned long long)x->msr);
	jw_str(w, "msr", x->msr == KICK_NO_MSR ? NULL : msr);
	jw_str(w, "msr_name", x->msr == KICK_NO_MSR ? NULL :
		   kick_msr_name(x->msr));
	jw_u64(w, "count", x->count);
	jw_dbl(w, "share", count ? (double)x->count / count : 0);
	jw_dbl(w, "samples_pct", pct(x->count, count));
	jw_u64(w, "timed", x->timed);
	if (ok)
		jw_dbl(w, "time_pct", pct(x->total_ns, ns));
	else
		jw_null(w, "time_pct");
	json_lat(w, "total_ns", ok, x->total_ns);
	json_lat(w, "min_ns", ok, h->min);
	json_lat(w, "max_ns", ok, h->max);
	json_lat(w, "mean_ns", ok, hist_mean(h));
	json_lat(w, "p50_ns", ok, hist_percentile(h, 50));
	json_lat(w, "p99_ns", ok, hist_percentile(h, 99));
	jw_obj_end(w);
}

static void json_table(struct jw *w, const struct kick *k, bool per_vcpu)
{
	struct exit_rows r;
	__u64 count, ns;
	size_t i;

	jw_arr(w, per_vcpu ? "exits_per_vcpu" : "exits");
	if (!exit_rows(k, per_vcpu, &r)) {
		for (i = 0; i < r.n; i++) {
			shares_of(&r, i, per_vcpu, &count, &ns);
			json_row(w, r.x[i], count, ns, per_vcpu);
		}
		free(r.x);
	}
	jw_arr_end(w);
}

void host_exits_json(struct jw *w, const struct kick *k)
{
	struct exit_rows r;

	jw_bool(w, "exits_observable", kick_nr_exits(k) > 0);
	if (!exit_rows(k, false, &r)) {
		jw_u64(w, "exits_total", r.count);
		free(r.x);
	}
	jw_bool(w, "exits_timed", kick_entries_seen(k));
	json_table(w, k, false);
	json_table(w, k, true);
}
