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

int halt_file_read(FILE *f, struct adv_input *in, struct hf_events *ev,
		   unsigned *seen, char *err, size_t len)
{
	struct hf_ftrace *fs = hf_ftrace_new();
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
		r = hf_ftrace_line(fs, line, in, ev);
		if (r < 0) {
			set_err(err, len, no, "bad ftrace kvm line");
			goto out;
		}
		if (r == 0)
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
	hf_ftrace_free(fs);
	return ret;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median measured wake-up latency of the halts that ended polled or not. */
static uint64_t median_wake(const struct adv_input *in, bool polled,
			    uint64_t *n)
{
	uint64_t *v = malloc((in->n + 1) * sizeof(*v)), m = 0;
	size_t i;

	*n = 0;
	if (!v)
		return 0;
	for (i = 0; i < in->n; i++)
		if (in->halts[i].wake_ns && in->halts[i].polled == polled)
			v[(*n)++] = in->halts[i].wake_ns;
	if (*n) {
		qsort(v, *n, sizeof(*v), cmp_u64);
		m = v[(*n - 1) / 2];
	}
	free(v);
	return m;
}

unsigned hf_measured_costs(struct adv_input *in, unsigned have)
{
	uint64_t n, m;
	unsigned got = 0;

	if (!(have & HF_BLOCKED) && (m = median_wake(in, false, &n))) {
		in->costs.blocked_ns = m;
		in->blocked_samples = n;
		got |= HF_BLOCKED;
	}
	if (!(have & HF_POLLED) && (m = median_wake(in, true, &n))) {
		in->costs.polled_ns = m;
		in->polled_samples = n;
		got |= HF_POLLED;
	}
	return got;
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
