// SPDX-License-Identifier: GPL-2.0
/* Readers of recorded halts and guest idle periods (halt_file.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "halt_file.h"

#define HF_MAX_LINE	4096
#define HF_MAX_FIELDS	10
#define HF_MAX_THREADS	4096

static void set_err(char *err, size_t len, unsigned long line,
		    const char *fmt, ...)
{
	size_t k;
	va_list ap;

	k = snprintf(err, len, "line %lu: ", line);
	if (k >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(err + k, len - k, fmt, ap);
	va_end(ap);
}

/* Whole token as an unsigned number, at most max. */
static int to_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int to_flag(const char *s, bool *out)
{
	if (strcmp(s, "0") && strcmp(s, "1"))
		return -1;
	*out = *s == '1';
	return 0;
}

static size_t split(char *s, char **tok, size_t max)
{
	size_t n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(s, ", \t\r\n", &save); t && n < max;
	     t = strtok_r(NULL, ", \t\r\n", &save))
		tok[n++] = t;
	return t ? max + 1 : n;	/* max + 1: too many fields */
}

/* key=value; returns the HF_* bit, 0 for a known key without one, -1. */
static int setting(const char *k, const char *v, struct adv_input *in)
{
	uint64_t x;

	if (!strcmp(k, "kvm")) {
		return adv_kvm_by_name(v, &in->kvm) < 0 ? -1 : HF_KVM;
	}
	if (to_u64(v, UINT32_MAX * 1000ULL, &x))
		return -1;
	if (!strcmp(k, "blocked_ns"))
		return in->costs.blocked_ns = x, HF_BLOCKED;
	if (!strcmp(k, "polled_ns"))
		return in->costs.polled_ns = x, HF_POLLED;
	if (!strcmp(k, "halt_poll_ns") && x <= UINT32_MAX)
		return in->traced_cap_ns = x, HF_CAP;
	if (!strcmp(k, "span_ns"))
		return in->span_ns = x, HF_SPAN;
	if (x > UINT32_MAX)
		return -1;
	if (!strcmp(k, "grow"))
		return in->kvm.grow = x, HF_KVM;
	if (!strcmp(k, "grow_start"))
		return in->kvm.grow_start = x, HF_KVM;
	if (!strcmp(k, "shrink"))
		return in->kvm.shrink = x, HF_KVM;
	return -1;
}

static int csv_halt(char **t, size_t n, struct adv_halt *h)
{
	uint64_t vm, vcpu;

	if (n < 7 || n > 9)
		return -1;
	memset(h, 0, sizeof(*h));
	h->window_ns = ADV_UNKNOWN;
	if (to_u64(t[0], UINT32_MAX, &vm) || to_u64(t[1], UINT32_MAX, &vcpu) ||
	    to_u64(t[2], UINT64_MAX, &h->end_ns) ||
	    to_u64(t[3], UINT64_MAX, &h->dur_ns) ||
	    to_flag(t[4], &h->polled) || to_flag(t[5], &h->valid) ||
	    to_flag(t[6], &h->ipi))
		return -1;
	h->vm = vm;
	h->vcpu = vcpu;
	if (n > 7 && strcmp(t[7], "-") && strcmp(t[7], "-1")) {
		uint64_t w;

		if (to_u64(t[7], UINT32_MAX, &w))
			return -1;
		h->window_ns = w;
	}
	if (n > 8 && to_u64(t[8], UINT64_MAX, &h->wake_ns))
		return -1;
	return h->dur_ns > h->end_ns ? -1 : 0;
}

/* Per-thread window state for ftrace input. */
struct thr {
	uint32_t tid;
	int64_t cur;		/* last "new", ADV_UNKNOWN */
	int64_t pending_old;	/* "old" of an event not yet followed by its
				 * halt's kvm_vcpu_wakeup, or ADV_UNKNOWN */
};

struct ftrace_state {
	struct thr thr[HF_MAX_THREADS];
	size_t n;
};

static struct thr *thread(struct ftrace_state *fs, uint32_t tid)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		if (fs->thr[i].tid == tid)
			return &fs->thr[i];
	if (fs->n == HF_MAX_THREADS)
		return NULL;
	fs->thr[fs->n] = (struct thr){ tid, ADV_UNKNOWN, ADV_UNKNOWN };
	return &fs->thr[fs->n++];
}

/* "comm-TID (TGID) [CPU] flags SEC.USEC: event: ..." up to the event */
static int ftrace_head(const char *line, const char *ev, uint32_t *tid,
		       uint32_t *tgid, uint64_t *ts)
{
	const char *b = strstr(line, " ["), *p;
	unsigned long sec, usec;
	int k;

	while (b && !isdigit((unsigned char)b[2]))
		b = strstr(b + 1, " [");
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
		*tgid = strtoul(o + 1, NULL, 10);
		p = o;
		while (p > line && p[-1] == ' ')
			p--;
	}
	while (p > line && isdigit((unsigned char)p[-1]))
		p--;
	if (p == line || p[-1] != '-')
		return -1;
	*tid = strtoul(p, NULL, 10);
	p = ev;
	while (p > b && p[-1] == ' ')
		p--;
	while (p > b && p[-1] != ' ')
		p--;
	k = sscanf(p, "%lu.%lu:", &sec, &usec);
	if (k != 2)
		return -1;
	*ts = sec * 1000000000ULL + usec * 1000ULL;
	return 0;
}

/* Some other ftrace event: "... [CPU] ... SEC.USEC: name: ..." */
static bool other_ftrace(const char *line)
{
	const char *b = strstr(line, " [");
	unsigned long sec, usec;
	char colon;

	while (b && !isdigit((unsigned char)b[2]))
		b = strstr(b + 1, " [");
	for (; b && *b; b = strchr(b + 1, ' ')) {
		while (*b == ' ')
			b++;
		if (sscanf(b, "%lu.%lu%c", &sec, &usec, &colon) == 3 &&
		    colon == ':')
			return true;
	}
	return false;
}

static int ftrace_line(struct ftrace_state *fs, const char *line,
		       struct adv_input *in, struct hf_events *evs)
{
	const char *ev;
	uint32_t tid, tgid;
	uint64_t ts;
	struct thr *t;

	if ((ev = strstr(line, "kvm_vcpu_wakeup: "))) {
		char how[8], val[8];
		long long ns;
		struct adv_halt h = { 0 };

		if (ftrace_head(line, ev, &tid, &tgid, &ts) ||
		    sscanf(ev + 17, "%7s time %lld ns, polling %7s", how, &ns,
			   val) != 3 || ns < 0 || (uint64_t)ns > ts ||
		    !(t = thread(fs, tid)))
			return -1;
		h.end_ns = ts;
		h.dur_ns = ns;
		h.polled = !strcmp(how, "poll");
		h.valid = !strcmp(val, "valid");
		h.vm = tgid ? tgid : 1;
		h.vcpu = tid;
		h.window_ns = t->pending_old != ADV_UNKNOWN ? t->pending_old : t->cur;
		t->pending_old = ADV_UNKNOWN;
		return adv_input_add(in, &h) ? -1 : 0;
	}
	if ((ev = strstr(line, "kvm_halt_poll_ns: "))) {
		unsigned vcpu, nw, old;
		char dir[8];

		if (ftrace_head(line, ev, &tid, &tgid, &ts) ||
		    sscanf(ev + 18, "vcpu %u: halt_poll_ns %u (%7s %u)", &vcpu,
			   &nw, dir, &old) != 4 || !(t = thread(fs, tid)))
			return -1;
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
		evs->ev[evs->n++] = (struct hf_poll_event){
			tid, !strcmp(dir, "grow"), nw, old };
		return 0;
	}
	return 1;	/* some other event: ignored */
}

int halt_file_read(FILE *f, struct adv_input *in, struct hf_events *ev,
		   unsigned *seen, char *err, size_t len)
{
	struct ftrace_state *fs = calloc(1, sizeof(*fs));
	char line[HF_MAX_LINE], *tok[HF_MAX_FIELDS], *eq, *hash;
	unsigned long no = 0;
	struct adv_halt h;
	size_t n;
	int r, ret = -1;

	*seen = 0;
	if (!fs) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		no++;
		if (!strchr(line, '\n') && !feof(f)) {
			set_err(err, len, no, "line too long");
			goto out;
		}
		if (strstr(line, ": kvm_")) {
			r = ftrace_line(fs, line, in, ev);
			if (r < 0) {
				set_err(err, len, no, "bad ftrace kvm line");
				goto out;
			}
			continue;
		}
		if (other_ftrace(line))
			continue;
		if ((hash = strchr(line, '#')))
			*hash = 0;
		n = split(line, tok, HF_MAX_FIELDS);
		if (n == 0)
			continue;
		if (n == 1 && (eq = strchr(tok[0], '='))) {
			*eq = 0;
			r = setting(tok[0], eq + 1, in);
			if (r < 0) {
				set_err(err, len, no, "bad setting %s", tok[0]);
				goto out;
			}
			*seen |= r;
			continue;
		}
		if (csv_halt(tok, n, &h)) {
			set_err(err, len, no, "expected vm,vcpu,end_ns,dur_ns,"
				"polled,valid,ipi[,window_ns[,wake_ns]]");
			goto out;
		}
		if (adv_input_add(in, &h)) {
			set_err(err, len, no, "out of memory");
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, len, "read error");
		goto out;
	}
	ret = 0;
out:
	free(fs);
	return ret;
}

void hf_events_free(struct hf_events *ev)
{
	free(ev->ev);
	memset(ev, 0, sizeof(*ev));
}

static int guest_setting(const char *k, const char *v, struct gadv_input *in)
{
	uint64_t x;

	if (to_u64(v, UINT64_MAX, &x))
		return -1;
	if (!strcmp(k, "halted_ns"))
		in->costs.halted_ns = x;
	else if (!strcmp(k, "polling_ns"))
		in->costs.polling_ns = x;
	else if (!strcmp(k, "span_ns"))
		in->span_ns = x;
	else
		return -1;
	return 0;
}

static int guest_add(struct gadv_input *in, char **t, size_t n)
{
	struct gadv_idle p = { 0 };
	uint64_t cpu;

	if (n != 3 || to_u64(t[0], UINT32_MAX, &cpu) ||
	    to_u64(t[1], UINT64_MAX, &p.dur_ns) || to_flag(t[2], &p.ipi))
		return -1;
	p.cpu = cpu;
	if (in->n == in->alloc) {
		size_t na = in->alloc ? in->alloc * 2 : 1024;
		void *q = realloc(in->p, na * sizeof(*in->p));

		if (!q)
			return -1;
		in->p = q;
		in->alloc = na;
	}
	in->p[in->n++] = p;
	return 0;
}

int guest_file_read(FILE *f, struct gadv_input *in, char *err, size_t len)
{
	char line[HF_MAX_LINE], *tok[HF_MAX_FIELDS], *eq, *hash;
	unsigned long no = 0;
	size_t n;

	while (fgets(line, sizeof(line), f)) {
		no++;
		if (!strchr(line, '\n') && !feof(f)) {
			set_err(err, len, no, "line too long");
			return -1;
		}
		if ((hash = strchr(line, '#')))
			*hash = 0;
		n = split(line, tok, HF_MAX_FIELDS);
		if (n == 0)
			continue;
		if (n == 1 && (eq = strchr(tok[0], '='))) {
			*eq = 0;
			if (guest_setting(tok[0], eq + 1, in)) {
				set_err(err, len, no, "bad setting %s", tok[0]);
				return -1;
			}
			continue;
		}
		if (guest_add(in, tok, n)) {
			set_err(err, len, no, "expected cpu,dur_ns,ipi");
			return -1;
		}
	}
	return ferror(f) ? -1 : 0;
}
