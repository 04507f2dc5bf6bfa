// SPDX-License-Identifier: GPL-2.0
/* VM exit tables of the host report (see host_exits.h). */
#include <stdlib.h>
#include "host_exits.h"
#include "host_report_int.h"

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

static const struct emit_col exit_cols[] = {
	{ .key = "pid", .title = "PID", .width = 8 },
	{ .key = "vcpu", .title = "VCPU", .width = 5 },
	{ .key = "name", .title = "REASON", .width = -24 },
	{ .key = "count", .title = "SAMPLES", .width = 9 },
	{ .key = "samples_pct_text", .title = "SAMPLES%", .width = 8 },
	{ .key = "time_pct_text", .title = "TIME%", .width = 7 },
	{ .key = "min_ns", .title = "MIN", .width = 9, .fmt = EMIT_COL_NS },
	{ .key = "max_ns", .title = "MAX", .width = 9, .fmt = EMIT_COL_NS },
	{ .key = "mean_ns", .title = "AVG", .width = 9, .fmt = EMIT_COL_NS },
	{ .key = "p50_ns", .title = "P50", .width = 9, .fmt = EMIT_COL_NS },
	{ .key = "p99_ns", .title = "P99", .width = 9, .fmt = EMIT_COL_NS },
};

static void exit_row(struct emitter *e, const struct kick_exit *x,
		     __u64 count, __u64 ns, bool per_vcpu)
{
	const struct hist *h = &x->hist;
	char name[64], msr[24];
	bool ok = x->timed > 0;
	enum emit_audience prev;

	emit_obj(e, NULL);
	if (per_vcpu) {
		emit_u64(e, "pid", x->pid);
		emit_i64(e, "vcpu", x->vcpu);
	}
	prev = emit_narrow(e, EMIT_MACHINE);
	emit_str(e, "reason", kick_exit_name(x->isa, x->reason, name,
					     sizeof(name)));
	emit_u64(e, "isa", x->isa);
	snprintf(msr, sizeof(msr), "0x%llx", (unsigned long long)x->msr);
	emit_str(e, "msr", x->msr == KICK_NO_MSR ? NULL : msr);
	emit_str(e, "msr_name", x->msr == KICK_NO_MSR ? NULL :
		 kick_msr_name(x->msr));
	emit_only(e, prev);
	emit_u64(e, "count", x->count);
	emit_narrow(e, EMIT_MACHINE);
	emit_dbl(e, "share", count ? (double)x->count / count : 0);
	emit_dbl(e, "samples_pct", pct(x->count, count));
	emit_u64(e, "timed", x->timed);
	if (ok)
		emit_dbl(e, "time_pct", pct(x->total_ns, ns));
	else
		emit_null(e, "time_pct");
	host_emit_lat(e, "total_ns", ok, x->total_ns);
	emit_only(e, prev);
	host_emit_lat(e, "min_ns", ok, h->min);
	host_emit_lat(e, "max_ns", ok, h->max);
	host_emit_lat(e, "mean_ns", ok, hist_mean(h));
	host_emit_lat(e, "p50_ns", ok, hist_percentile(h, 50));
	host_emit_lat(e, "p99_ns", ok, hist_percentile(h, 99));
	emit_narrow(e, EMIT_HUMAN);
	emit_str(e, "name", row_name(x, name, sizeof(name)));
	snprintf(msr, sizeof(msr), "%.2f%%", pct(x->count, count));
	emit_str(e, "samples_pct_text", msr);
	snprintf(msr, sizeof(msr), "%.2f%%", pct(x->total_ns, ns));
	emit_str(e, "time_pct_text", ok ? msr : "-");
	emit_only(e, prev);
	emit_end(e);
}

static void exit_table(struct emitter *e, const struct kick *k, bool per_vcpu)
{
	struct exit_rows r;
	__u64 count, ns;
	size_t i;

	/* the per-vCPU table has the PID and VCPU columns first */
	emit_table(e, per_vcpu ? "exits_per_vcpu" : "exits",
		   per_vcpu ? "By vCPU:" : "Exit-to-entry time by reason:",
		   exit_cols + (per_vcpu ? 0 : 2),
		   ARRAY_SIZE(exit_cols) - (per_vcpu ? 0 : 2));
	if (!exit_rows(k, per_vcpu, &r)) {
		for (i = 0; i < r.n; i++) {
			shares_of(&r, i, per_vcpu, &count, &ns);
			exit_row(e, r.x[i], count, ns, per_vcpu);
		}
		free(r.x);
	}
	emit_end(e);
}

void host_exits_emit(struct emitter *e, const struct kick *k, bool detail,
		     bool hooked)
{
	enum emit_audience prev = e->only;
	struct exit_rows r;

	if (exit_rows(k, false, &r))
		return;
	emit_narrow(e, EMIT_MACHINE);
	emit_bool(e, "exits_observable", kick_nr_exits(k) > 0);
	emit_u64(e, "exits_total", r.count);
	emit_bool(e, "exits_timed", kick_entries_seen(k));
	emit_only(e, prev & EMIT_HUMAN);
	if (!r.n)
		emit_caption(e, "VM exits: not observable on this kernel (%s)",
			     hooked ? "hook attached, never fired" : "no hook");
	else
		emit_caption(e, "VM exits: %llu%s", (unsigned long long)r.count,
			     kick_entries_seen(k) ? "" :
			     "  (no VM entry seen: exit-to-entry times unknown)");
	free(r.x);
	/* people get the tables with --exits / --halt, programs always */
	emit_only(e, prev & (detail && r.n ? EMIT_ALL : EMIT_MACHINE));
	exit_table(e, k, false);
	exit_table(e, k, true);
	emit_only(e, prev);
}

/* msr="icr" / "0x..." on MSR exits, "" elsewhere: one label set */
static void exit_labels(struct emitter *e, const struct kick_exit *x,
			char *buf, size_t len)
{
	const char *m = x->msr == KICK_NO_MSR ? NULL : kick_msr_name(x->msr);

	emit_label(e, "reason", kick_exit_name(x->isa, x->reason, buf, len));
	if (x->msr != KICK_NO_MSR && !m) {
		snprintf(buf, len, "0x%llx", (unsigned long long)x->msr);
		m = buf;
	}
	emit_label(e, "msr", m ? m : "none");
}

void host_exits_scrape(struct emitter *e, const struct kick *k)
{
	struct exit_rows r;
	char buf[40];
	size_t i;

	if (exit_rows(k, false, &r))
		return;
	emit_family(e, "ipitrace_host_exits", EMIT_COUNTER, NULL,
		    "VM exits (kvm_exit) by reason, MSR exits also by MSR.");
	for (i = 0; i < r.n; i++) {
		emit_obj(e, NULL);
		exit_labels(e, r.x[i], buf, sizeof(buf));
		emit_u64(e, "value", r.x[i]->count);
		emit_end(e);
	}
	emit_end(e);
	emit_family(e, "ipitrace_host_exit_to_entry_seconds", EMIT_HISTOGRAM,
		    "seconds", "VM exit to the next VM entry of the same vCPU thread.");
	for (i = 0; i < r.n; i++) {
		if (!r.x[i]->timed)
			continue;
		emit_obj(e, NULL);
		exit_labels(e, r.x[i], buf, sizeof(buf));
		emit_hist(e, NULL, &r.x[i]->hist);
		emit_end(e);
	}
	emit_end(e);
	free(r.x);
}
