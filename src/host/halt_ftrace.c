// SPDX-License-Identifier: GPL-2.0
/*
 * ftrace text input for the offline advisor: kvm:kvm_vcpu_wakeup (one
 * halt), kvm:kvm_halt_poll_ns (the window; it precedes the wakeup event
 * of its own halt, both in the vCPU thread) and kvm:kvm_apic_accept_irq
 * (an interrupt for a vCPU: if it falls inside a halt of that vCPU, the
 * halt was ended by it; the time from it to the halt end is the halt's
 * measured wake-up latency). vm = tgid if recorded (options/record-tgid),
 * vcpu = thread id; a thread's vCPU id comes from its kvm_halt_poll_ns
 * events or its name ("CPU N/KVM", QEMU's and ipivm's) and is taken to
 * equal its APIC id (true for their default topologies).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "halt_file.h"

#define HF_MAX_THREADS	4096
#define HF_ACCEPTS	4	/* per vCPU, not yet matched to a halt */

struct thr {
	uint32_t tid, tgid;
	int64_t vcpu;		/* from kvm_halt_poll_ns, ADV_UNKNOWN */
	int64_t cur;		/* last "new", ADV_UNKNOWN */
	int64_t pending_old;	/* "old" of an event whose halt's wakeup has
				 * not been seen yet, or ADV_UNKNOWN */
};

struct acc {
	uint32_t tgid, apicid;
	uint64_t ts[HF_ACCEPTS];
	unsigned n;
};

struct hf_ftrace {
	struct thr thr[HF_MAX_THREADS];
	size_t nthr;
	struct acc acc[HF_MAX_THREADS];
	size_t nacc;
};

struct hf_ftrace *hf_ftrace_new(void)
{
	return calloc(1, sizeof(struct hf_ftrace));
}

void hf_ftrace_free(struct hf_ftrace *fs)
{
	free(fs);
}

static struct thr *thread(struct hf_ftrace *fs, uint32_t tid, uint32_t tgid)
{
	size_t i;

	for (i = 0; i < fs->nthr; i++)
		if (fs->thr[i].tid == tid)
			return &fs->thr[i];
	if (fs->nthr == HF_MAX_THREADS)
		return NULL;
	fs->thr[fs->nthr] = (struct thr){ tid, tgid, ADV_UNKNOWN, ADV_UNKNOWN,
					  ADV_UNKNOWN };
	return &fs->thr[fs->nthr++];
}

static struct acc *accepts(struct hf_ftrace *fs, uint32_t tgid,
			   uint32_t apicid, bool add)
{
	size_t i;

	for (i = 0; i < fs->nacc; i++)
		if (fs->acc[i].tgid == tgid && fs->acc[i].apicid == apicid)
			return &fs->acc[i];
	if (!add || fs->nacc == HF_MAX_THREADS)
		return NULL;
	fs->acc[fs->nacc] = (struct acc){ .tgid = tgid, .apicid = apicid };
	return &fs->acc[fs->nacc++];
}

/* The cpu field " [NNN]" of an ftrace line, or NULL. */
static const char *cpu_field(const char *line)
{
	const char *b = strstr(line, " [");

	while (b && !isdigit((unsigned char)b[2]))
		b = strstr(b + 1, " [");
	return b;
}

/* QEMU names vCPU threads "CPU N/KVM" (so does ipivm). */
static int64_t comm_vcpu(const char *line, const char *dash)
{
	unsigned n;
	int end = 0;

	while (line < dash && *line == ' ')
		line++;
	if (sscanf(line, "CPU %u/KVM%n", &n, &end) == 1 && line + end == dash)
		return n;
	return ADV_UNKNOWN;
}

/* "comm-TID (TGID) [CPU] flags SEC.USEC: event: ..." up to the event;
 * vcpu from the comm, or ADV_UNKNOWN */
static int head(const char *line, const char *ev, uint32_t *tid,
		uint32_t *tgid, int64_t *vcpu, uint64_t *ts)
{
	const char *b = cpu_field(line), *p;
	unsigned long sec, usec;

	if (!b)
		return -1;
	p = b;
	while (p > line && p[-1] == ' ')
		p--;
	*tgid = 0;
	if (p > line && p[-1] == ')') {
		const char *o = p - 1;

		while (o > line && *o != '(')
			o--;
		*tgid = strtoul(o + 1, NULL, 10);	/* "-------": 0 */
		p = o;
		while (p > line && p[-1] == ' ')
			p--;
	}
	while (p > line && isdigit((unsigned char)p[-1]))
		p--;
	if (p == line || p[-1] != '-')
		return -1;
	*tid = strtoul(p, NULL, 10);
	*vcpu = comm_vcpu(line, p - 1);
	p = ev;
	while (p > b && p[-1] == ' ')
		p--;
	while (p > b && p[-1] != ' ')
		p--;
	if (sscanf(p, "%lu.%lu:", &sec, &usec) != 2)
		return -1;
	*ts = sec * 1000000000ULL + usec * 1000ULL;
	return 0;
}

/* The first unmatched interrupt for the halting vCPU inside the halt. */
static void match_accept(struct hf_ftrace *fs, const struct thr *t,
			 struct adv_halt *h)
{
	struct acc *a;
	uint64_t start = h->end_ns - h->dur_ns, best = 0;
	unsigned i;

	if (t->vcpu < 0 || !(a = accepts(fs, t->tgid, t->vcpu, false)))
		return;
	for (i = 0; i < a->n; i++)
		if (a->ts[i] >= start && a->ts[i] <= h->end_ns &&
		    (!best || a->ts[i] < best))
			best = a->ts[i];
	a->n = 0;
	if (!best)
		return;
	h->ipi = true;
	h->wake_ns = h->end_ns > best ? h->end_ns - best : 1;
}

static int wakeup(struct hf_ftrace *fs, const char *line, const char *ev,
		  struct adv_input *in)
{
	char how[8], val[8];
	long long ns;
	struct adv_halt h = { 0 };
	uint32_t tid, tgid;
	int64_t vcpu;
	struct thr *t;

	if (head(line, ev, &tid, &tgid, &vcpu, &h.end_ns) ||
	    sscanf(ev + 17, "%7s time %lld ns, polling %7s", how, &ns, val) != 3 ||
	    ns < 0 || (uint64_t)ns > h.end_ns || !(t = thread(fs, tid, tgid)))
		return -1;
	if (t->vcpu < 0)
		t->vcpu = vcpu;
	h.dur_ns = ns;
	h.polled = !strcmp(how, "poll");
	h.valid = !strcmp(val, "valid");
	h.vm = tgid ? tgid : 1;
	h.vcpu = tid;
	h.window_ns = t->pending_old != ADV_UNKNOWN ? t->pending_old : t->cur;
	t->pending_old = ADV_UNKNOWN;
	match_accept(fs, t, &h);
	return adv_input_add(in, &h) ? -1 : 0;
}

static int poll_ns(struct hf_ftrace *fs, const char *line, const char *ev,
		   struct hf_events *evs)
{
	unsigned vcpu, nw, old;
	uint32_t tid, tgid;
	int64_t cvcpu;
	uint64_t ts;
	char dir[8];
	struct thr *t;

	if (head(line, ev, &tid, &tgid, &cvcpu, &ts) ||
	    sscanf(ev + 18, "vcpu %u: halt_poll_ns %u (%7s %u)", &vcpu, &nw,
		   dir, &old) != 4 || !(t = thread(fs, tid, tgid)))
		return -1;
	t->vcpu = vcpu;
	t->pending_old = old;
	t->cur = nw;
	if (!evs)
		return 0;
	if (evs->n == evs->alloc) {
		size_t na = evs->alloc ? evs->alloc * 2 : 256;
		void *p = realloc(evs->ev, na * sizeof(*evs->ev));

		if (!p)
			return -1;
		evs->ev = p;
		evs->alloc = na;
	}
	evs->ev[evs->n++] = (struct hf_poll_event){ tid, !strcmp(dir, "grow"),
						    nw, old };
	return 0;
}

static int accept_irq(struct hf_ftrace *fs, const char *line, const char *ev)
{
	unsigned apicid, vec;
	uint32_t tid, tgid;
	int64_t vcpu;
	uint64_t ts;
	struct acc *a;

	if (head(line, ev, &tid, &tgid, &vcpu, &ts) ||
	    sscanf(ev + 21, "apicid %x vec %u", &apicid, &vec) != 2)
		return -1;
	a = accepts(fs, tgid, apicid, true);
	if (!a)
		return 0;
	if (a->n == HF_ACCEPTS) {	/* keep the latest ones */
		memmove(a->ts, a->ts + 1, (HF_ACCEPTS - 1) * sizeof(a->ts[0]));
		a->n--;
	}
	a->ts[a->n++] = ts;
	return 0;
}

/* Any ftrace event line: "... [CPU] ... SEC.USEC: name: ..." */
static bool is_ftrace(const char *line)
{
	const char *b = cpu_field(line);
	unsigned long sec, usec;
	char colon;

	for (; b && *b; b = strchr(b + 1, ' ')) {
		while (*b == ' ')
			b++;
		if (sscanf(b, "%lu.%lu%c", &sec, &usec, &colon) == 3 &&
		    colon == ':')
			return true;
	}
	return false;
}

int hf_ftrace_line(struct hf_ftrace *fs, const char *line,
		   struct adv_input *in, struct hf_events *evs)
{
	const char *ev;

	if ((ev = strstr(line, ": kvm_vcpu_wakeup: ")))
		return wakeup(fs, line, ev + 2, in);
	if ((ev = strstr(line, ": kvm_halt_poll_ns: ")))
		return poll_ns(fs, line, ev + 2, evs);
	if ((ev = strstr(line, ": kvm_apic_accept_irq: ")))
		return accept_irq(fs, line, ev + 2);
	return is_ftrace(line) ? 0 : 1;
}
