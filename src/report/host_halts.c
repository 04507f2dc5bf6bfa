// SPDX-License-Identifier: GPL-2.0
/* Halt tables of the host report (see host_halts.h). */
#include "host_halts.h"
#include "host_report_int.h"

static const struct emit_col vcpu_cols[] = {
	{ .key = "pid", .title = "PID", .width = 8 },
	{ .key = "vcpu", .title = "VCPU", .width = 5 },
	{ .key = "tid", .title = "TID", .width = 8 },
	{ .key = "halts", .title = "HALTS", .width = 8 },
	{ .key = "polled", .title = "POLLED", .width = 8 },
	{ .key = "blocked", .title = "BLOCKED", .width = 8 },
	{ .key = "invalid", .title = "INVALID", .width = 8 },
	{ .key = "grow", .title = "GROW", .width = 6 },
	{ .key = "shrink", .title = "SHRINK", .width = 6 },
	{ .key = "poll_window_ns", .title = "POLL_WIN", .width = 10,
	  .fmt = EMIT_COL_NS },
};

static void per_vcpu(struct emitter *e, const struct kick *k)
{
	size_t i;

	emit_table(e, "per_vcpu", NULL, vcpu_cols, ARRAY_SIZE(vcpu_cols));
	for (i = 0; i < kick_nr_vcpus(k); i++) {
		const struct kick_vcpu_info *v = kick_vcpu_at(k, i);

		if (!v->known || !kick_filter_match(k, v->pid, v->vcpu))
			continue;
		emit_obj(e, NULL);
		emit_u64(e, "pid", v->pid);
		emit_i64(e, "vcpu", v->vcpu);
		emit_u64(e, "tid", v->tid);
		emit_u64(e, "halts", v->halt.halts);
		emit_u64(e, "polled", v->halt.polled);
		emit_u64(e, "blocked", v->halt.blocked);
		emit_u64(e, "invalid", v->halt.invalid);
		emit_u64(e, "poll_ns", v->halt.poll_ns);
		emit_u64(e, "wait_ns", v->halt.wait_ns);
		emit_u64(e, "grow", v->halt.grow);
		emit_u64(e, "shrink", v->halt.shrink);
		emit_u64(e, "poll_window_ns", v->halt.poll_window_ns);
		emit_end(e);
	}
	emit_end(e);
}

static void halt_data(struct emitter *e, const struct kick *k)
{
	const struct kick_halt *h = kick_halt_total(k);
	const struct hist *hh = kick_halt_hist(k);

	emit_obj(e, "halt");
	emit_u64(e, "halts", h->halts);
	emit_u64(e, "polled", h->polled);
	emit_u64(e, "blocked", h->blocked);
	emit_u64(e, "invalid", h->invalid);
	emit_u64(e, "poll_ns", h->poll_ns);
	emit_u64(e, "wait_ns", h->wait_ns);
	emit_u64(e, "blocked_split", h->blocked_split);
	emit_u64(e, "grow", h->grow);
	emit_u64(e, "shrink", h->shrink);
	host_emit_lat(e, "p50_ns", hh->count, hist_percentile(hh, 50));
	host_emit_lat(e, "p99_ns", hh->count, hist_percentile(hh, 99));
	per_vcpu(e, k);
	emit_end(e);
}

static void halt_text(struct emitter *e, const struct kick *k, bool detail,
		      bool hooked)
{
	const struct kick_halt *h = kick_halt_total(k);
	const struct hist *hh = kick_halt_hist(k);
	char b[5][32];

	if (!h->halts) {
		if (kick_stage_events(k, KS_HALT_END))
			emit_caption(e, "Halts: 0  polled 0  blocked 0  invalid 0");
		else
			emit_caption(e, "Halts: 0  polled 0  blocked 0  invalid 0\n"
				     "  halt ends: not observable on this kernel (%s)",
				     hooked ? "hook attached, never fired" : "no hook");
		return;
	}
	emit_caption(e, "Halts: %llu  polled %llu  blocked %llu  invalid %llu\n"
		     "  time polling %s, waiting %s (%llu of %llu blocked halts "
		     "split at the switch-out to sleep; the rest count as waiting)\n"
		     "  halt-poll window: grow %llu  shrink %llu\n"
		     "  halt time: mean %s  p50 %s  p99 %s",
		     (unsigned long long)h->halts, (unsigned long long)h->polled,
		     (unsigned long long)h->blocked, (unsigned long long)h->invalid,
		     fmt_ns(h->poll_ns, b[0], sizeof(b[0])),
		     fmt_ns(h->wait_ns, b[1], sizeof(b[1])),
		     (unsigned long long)h->blocked_split,
		     (unsigned long long)h->blocked,
		     (unsigned long long)h->grow, (unsigned long long)h->shrink,
		     fmt_ns(hist_mean(hh), b[2], sizeof(b[2])),
		     fmt_ns(hist_percentile(hh, 50), b[3], sizeof(b[3])),
		     fmt_ns(hist_percentile(hh, 99), b[4], sizeof(b[4])));
	if (!detail)
		return;
	emit_obj_titled(e, "halt_time", "Halt time:");
	emit_hist(e, NULL, hh);
	emit_end(e);
	per_vcpu(e, k);
}

void host_halts_emit(struct emitter *e, const struct kick *k, bool detail,
		     bool hooked)
{
	enum emit_audience prev = emit_narrow(e, EMIT_DATA);

	halt_data(e, k);
	emit_only(e, prev & EMIT_HUMAN);
	halt_text(e, k, detail, hooked);
	emit_only(e, prev);
}

static void labelled(struct emitter *e, const char *label, const char *v,
		     __u64 n)
{
	emit_obj(e, NULL);
	emit_label(e, label, v);
	emit_u64(e, "value", n);
	emit_end(e);
}

static void seconds(struct emitter *e, const char *name, const char *help,
		    __u64 ns)
{
	emit_family(e, name, EMIT_COUNTER, "seconds", help);
	emit_obj(e, NULL);
	emit_dbl(e, "value", ns / 1e9);
	emit_end(e);
	emit_end(e);
}

void host_halts_scrape(struct emitter *e, const struct kick *k)
{
	const struct kick_halt *h = kick_halt_total(k);

	emit_family(e, "ipitrace_host_halts", EMIT_COUNTER, NULL,
		    "vCPU halts ended (kvm_vcpu_wakeup), by outcome: polled "
		    "(caught by halt polling), blocked, polled_invalid.");
	labelled(e, "outcome", "polled", h->polled);
	labelled(e, "outcome", "blocked", h->blocked);
	/* not blocked, yet not a valid wake-up: the three sum to the halts */
	labelled(e, "outcome", "polled_invalid",
		 h->halts - h->polled - h->blocked);
	emit_end(e);
	seconds(e, "ipitrace_host_halt_poll_seconds",
		"Time vCPU threads spent halt-polling.", h->poll_ns);
	seconds(e, "ipitrace_host_halt_wait_seconds",
		"Time halted vCPU threads spent blocked.", h->wait_ns);
	emit_family(e, "ipitrace_host_halt_poll_window_changes", EMIT_COUNTER,
		    NULL, "kvm_halt_poll_ns window changes, by direction.");
	labelled(e, "direction", "grow", h->grow);
	labelled(e, "direction", "shrink", h->shrink);
	emit_end(e);
}
