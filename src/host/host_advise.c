// SPDX-License-Identifier: GPL-2.0
/* The halt_poll_ns advisor fed live from the host model (host_advise.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "files.h"
#include "halt_file.h"
#include "host_advise.h"

struct host_advise {
	struct adv_opts opts;
	const char *params;
	struct adv_input in;
	struct advice adv;
	bool built;
	unsigned measured;	/* HF_BLOCKED / HF_POLLED from this trace */
	__u64 start_ns;
	/* each IPI's wake-up latency keyed like the halt it ended (vm, vcpu,
	 * end), matched at the end: the IPI can complete before or after its
	 * halt is seen */
	struct adv_input wakes;
};

static long read_param(const char *dir, const char *name)
{
	char path[256], *buf = NULL, *end;
	long v = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (read_small_file(path, 64, &buf))
		return -1;
	v = strtol(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || v < 0)
		v = -1;
	free(buf);
	return v;
}

struct host_advise *host_advise_new(const struct adv_opts *o,
				    const char *params)
{
	struct host_advise *ha = calloc(1, sizeof(*ha));

	if (!ha)
		return NULL;
	ha->opts = *o;
	ha->params = params ? params : "/sys/module/kvm/parameters";
	adv_input_init(&ha->in);
	adv_input_init(&ha->wakes);
	return ha;
}

void host_advise_free(struct host_advise *ha)
{
	if (!ha)
		return;
	if (ha->built)
		advice_free(&ha->adv);
	adv_input_free(&ha->in);
	adv_input_free(&ha->wakes);
	free(ha);
}

/* KVM's setting and adaptive parameters as they are now: this kernel's
 * defaults (6.1's) where a parameter cannot be read. */
void host_advise_start(struct host_advise *ha, __u64 now_ns)
{
	struct adv_input *in = &ha->in;
	long v;

	ha->start_ns = now_ns;
	in->kvm = ADV_KVM_6_1;
	in->traced_cap_ns = read_param(ha->params, "halt_poll_ns");
	if ((v = read_param(ha->params, "halt_poll_ns_grow")) >= 0)
		in->kvm.grow = v;
	if ((v = read_param(ha->params, "halt_poll_ns_grow_start")) >= 0)
		in->kvm.grow_start = v;
	if ((v = read_param(ha->params, "halt_poll_ns_shrink")) >= 0)
		in->kvm.shrink = v;
}

void host_advise_halt(const struct kick_halt_sample *s, void *ctx)
{
	struct host_advise *ha = ctx;
	struct adv_halt h = {
		.end_ns = s->end_ts,
		.dur_ns = s->ns,
		.window_ns = s->poll_window_ns >= 0 ? s->poll_window_ns :
						      ADV_UNKNOWN,
		.vm = s->vm_pid,
		.vcpu = s->vcpu >= 0 ? s->vcpu : 0,
		.polled = s->polled,
		.valid = s->valid,
		.ipi = s->by_ipi,
	};

	if (s->end_ts < ha->start_ns || !ha->start_ns)
		return;		/* before every hook was in place */
	adv_input_add(&ha->in, &h);
}

/* The IPI's wake-up latency goes to the halt it ended: from the accept
 * (the wake event; else the ICR write) to the halt end, for a target that
 * was blocked or polling. */
void host_advise_result(struct host_advise *ha, const struct kick_result *r)
{
	__u64 end = r->t[KS_HALT_END];
	__u64 from = r->t[KS_ACCEPT] ? r->t[KS_ACCEPT] : r->t[KS_ICR];
	struct adv_halt w = { .end_ns = end, .wake_ns = end - from,
			      .vm = r->vm_pid, .vcpu = r->dst_vcpu };

	if (!end || !from || from > end || r->dst_vcpu < 0 ||
	    (r->state != TS_BLOCKED && r->state != TS_POLLING))
		return;
	adv_input_add(&ha->wakes, &w);
}

/* Both in adv_halt_cmp order: each IPI's latency onto its halt. */
static void match_wakes(struct host_advise *ha)
{
	struct adv_input *in = &ha->in, *w = &ha->wakes;
	size_t i = 0, j = 0;
	int c;

	adv_prepare(in);
	adv_prepare(w);
	while (i < w->n && j < in->n) {
		c = adv_halt_cmp(&w->halts[i], &in->halts[j]);
		if (!c) {
			in->halts[j].wake_ns = w->halts[i].wake_ns;
			in->halts[j].ipi = true;
		}
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
}

int host_advise_build(struct host_advise *ha, __u64 end_ns)
{
	struct adv_input *in = &ha->in;
	int err;

	if (ha->built) {
		advice_free(&ha->adv);
		ha->built = false;
	}
	if (!in->n)
		return -ENODATA;
	in->span_ns = end_ns > ha->start_ns ? end_ns - ha->start_ns : 0;
	in->blocked_samples = in->polled_samples = 0;
	match_wakes(ha);
	ha->measured = hf_measured_costs(in, 0);
	if (!(ha->measured & HF_BLOCKED))
		in->costs.blocked_ns = HOST_ADV_BLOCKED_NS;
	if (!(ha->measured & HF_POLLED))
		in->costs.polled_ns = HOST_ADV_POLLED_NS;
	err = advice_build(in, &ha->opts, &ha->adv);
	ha->built = !err;
	return err;
}

static void cost(struct emitter *e, const char *state, bool measured,
		 double ns, __u64 samples)
{
	emit_obj(e, state);
	emit_dbl(e, "ns", ns);
	emit_str(e, "source", measured ? "measured" : "default");
	emit_u64(e, "samples", samples);
	emit_end(e);
}

static const char *cost_text(char *buf, size_t len, bool measured, double ns,
			     __u64 samples, const char *state)
{
	if (measured)
		snprintf(buf, len, "%s %.2f us (median of %llu IPIs)", state,
			 ns / 1e3, (unsigned long long)samples);
	else
		snprintf(buf, len, "%s: no IPI to a %s vCPU traced, default "
			 "%.2f us (docs/advisor.md)", state, state, ns / 1e3);
	return buf;
}

void host_advise_emit(struct emitter *e, const void *arg)
{
	const struct host_advise *ha = arg;
	const struct adv_input *in = &ha->in;
	bool b = ha->measured & HF_BLOCKED, p = ha->measured & HF_POLLED;
	enum emit_audience prev;
	char t1[128], t2[128];

	emit_obj_titled(e, "advice", "Live halt_poll_ns advice:");
	emit_caption(e, "wake-up latency (accept -> halt end) of this trace's "
		     "IPIs:\n  %s\n  %s",
		     cost_text(t1, sizeof(t1), b, in->costs.blocked_ns,
			       in->blocked_samples, "blocked"),
		     cost_text(t2, sizeof(t2), p, in->costs.polled_ns,
			       in->polled_samples, "polling"));
	prev = emit_narrow(e, EMIT_MACHINE);
	emit_obj(e, "costs");
	cost(e, "blocked", b, in->costs.blocked_ns, in->blocked_samples);
	cost(e, "polled", p, in->costs.polled_ns, in->polled_samples);
	emit_end(e);
	emit_only(e, prev);
	advice_emit(e, &ha->adv);
	emit_end(e);
}

int host_advise_svg(const struct host_advise *ha, const char *path)
{
	FILE *f;
	int err;

	if (!ha->built)
		return -ENODATA;
	f = fopen(path, "w");
	if (!f)
		return -errno;
	err = advice_svg(f, &ha->adv, 0);
	if (fclose(f) && !err)
		err = -EIO;
	return err;
}
