// SPDX-License-Identifier: GPL-2.0
/* Halt tables of the host report (see host_halts.h). */
#include "host_halts.h"
#include "output.h"

static void json_lat(struct jw *w, const char *key, bool ok, __u64 v)
{
	if (ok)
		jw_u64(w, key, v);
	else
		jw_null(w, key);
}

static void text_per_vcpu(FILE *f, const struct kick *k)
{
	char b1[32];
	size_t i;

	fprintf(f, "\n%8s %5s %8s %8s %8s %8s %8s %6s %6s %10s\n", "PID",
		"VCPU", "TID", "HALTS", "POLLED", "BLOCKED", "INVALID", "GROW",
		"SHRINK", "POLL_WIN");
	for (i = 0; i < kick_nr_vcpus(k); i++) {
		const struct kick_vcpu_info *v = kick_vcpu_at(k, i);
		const struct kick_halt *h = &v->halt;

		if (!v->known || !kick_filter_match(k, v->pid, v->vcpu))
			continue;
		fprintf(f, "%8u %5d %8u %8llu %8llu %8llu %8llu %6llu %6llu %10s\n",
			v->pid, v->vcpu, v->tid, (unsigned long long)h->halts,
			(unsigned long long)h->polled,
			(unsigned long long)h->blocked,
			(unsigned long long)h->invalid,
			(unsigned long long)h->grow,
			(unsigned long long)h->shrink,
			fmt_ns(h->poll_window_ns, b1, sizeof(b1)));
	}
}

void host_halts_text(FILE *f, const struct kick *k, bool detail, bool hooked)
{
	const struct kick_halt *h = kick_halt_total(k);
	const struct hist *hh = kick_halt_hist(k);
	char b1[32], b2[32];

	fprintf(f, "\nHalts: %llu  polled %llu  blocked %llu  invalid %llu\n",
		(unsigned long long)h->halts, (unsigned long long)h->polled,
		(unsigned long long)h->blocked, (unsigned long long)h->invalid);
	if (!h->halts) {
		if (!kick_stage_events(k, KS_HALT_END))
			fprintf(f, "  halt ends: not observable on this kernel (%s)\n",
				hooked ? "hook attached, never fired" : "no hook");
		return;
	}
	fprintf(f, "  time polling %s, waiting %s (%llu of %llu blocked halts "
		"split at the switch-out to sleep; the rest count as waiting)\n",
		fmt_ns(h->poll_ns, b1, sizeof(b1)),
		fmt_ns(h->wait_ns, b2, sizeof(b2)),
		(unsigned long long)h->blocked_split,
		(unsigned long long)h->blocked);
	fprintf(f, "  halt-poll window: grow %llu  shrink %llu\n",
		(unsigned long long)h->grow, (unsigned long long)h->shrink);
	fprintf(f, "  halt time: mean %s  p50 %s",
		fmt_ns(hist_mean(hh), b1, sizeof(b1)),
		fmt_ns(hist_percentile(hh, 50), b2, sizeof(b2)));
	fprintf(f, "  p99 %s\n", fmt_ns(hist_percentile(hh, 99), b1, sizeof(b1)));
	if (!detail)
		return;
	print_log2_hist(f, hh, "nsecs");
	text_per_vcpu(f, k);
}

static void json_per_vcpu(struct jw *w, const struct kick *k)
{
	size_t i;

	jw_arr(w, "per_vcpu");
	for (i = 0; i < kick_nr_vcpus(k); i++) {
		const struct kick_vcpu_info *v = kick_vcpu_at(k, i);

		if (!v->known || !kick_filter_match(k, v->pid, v->vcpu))
			continue;
		jw_obj(w, NULL);
		jw_u64(w, "pid", v->pid);
		jw_i64(w, "vcpu", v->vcpu);
		jw_u64(w, "tid", v->tid);
		jw_u64(w, "halts", v->halt.halts);
		jw_u64(w, "polled", v->halt.polled);
		jw_u64(w, "blocked", v->halt.blocked);
		jw_u64(w, "invalid", v->halt.invalid);
		jw_u64(w, "poll_ns", v->halt.poll_ns);
		jw_u64(w, "wait_ns", v->halt.wait_ns);
		jw_u64(w, "grow", v->halt.grow);
		jw_u64(w, "shrink", v->halt.shrink);
		jw_u64(w, "poll_window_ns", v->halt.poll_window_ns);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

void host_halts_json(struct jw *w, const struct kick *k)
{
	const struct kick_halt *h = kick_halt_total(k);
	const struct hist *hh = kick_halt_hist(k);

	jw_obj(w, "halt");
	jw_u64(w, "halts", h->halts);
	jw_u64(w, "polled", h->polled);
	jw_u64(w, "blocked", h->blocked);
	jw_u64(w, "invalid", h->invalid);
	jw_u64(w, "poll_ns", h->poll_ns);
	jw_u64(w, "wait_ns", h->wait_ns);
	jw_u64(w, "blocked_split", h->blocked_split);
	jw_u64(w, "grow", h->grow);
	jw_u64(w, "shrink", h->shrink);
	json_lat(w, "p50_ns", hh->count, hist_percentile(hh, 50));
	json_lat(w, "p99_ns", hh->count, hist_percentile(hh, 99));
	json_per_vcpu(w, k);
	jw_obj_end(w);
}
