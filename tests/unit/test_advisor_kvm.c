// SPDX-License-Identifier: GPL-2.0
/*
 * The advisor against KVM itself: halts recorded with ftrace in an SVM KVM
 * host (QEMU TCG, Debian 6.1 and 6.12 kernels, tests/fixtures/kvm-halts-*
 * .trace) replayed at the recorded halt_poll_ns must give, per vCPU
 * thread, exactly the kvm_halt_poll_ns grow/shrink events KVM traced, and
 * the polled/blocked outcome of every halt. Also the halt file reader.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "advisor.h"
#include "halt_file.h"

#define UNUSED		__attribute__((unused))

static const char *fixture(const char *name)
{
	static char path[PATH_MAX];
	const char *dir = getenv("IPT_FIXTURES");

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "tests/fixtures", name);
	return path;
}

struct replayed {
	struct hf_poll_event *ev;
	size_t n;
	uint64_t caught, mismatched;
};

static void collect(void *ctx, const struct adv_halt *h,
		    const struct adv_outcome *o)
{
	struct replayed *r = ctx;

	r->caught += o->caught || o->pending;
	r->mismatched += (o->caught || o->pending) != h->polled;
	if (!o->event)
		return;
	r->ev[r->n++] = (struct hf_poll_event){ h->vcpu, o->event > 0,
						o->new_win, o->old_win };
}

/* Recorded events of thread tid, in order, into out; returns the count. */
static size_t events_of(const struct hf_poll_event *ev, size_t n,
			uint32_t tid, struct hf_poll_event *out)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (ev[i].tid == tid)
			out[k++] = ev[i];
	return k;
}

static void replay_recorded(const char *name, uint32_t shrink)
{
	struct adv_input in;
	struct hf_events rec = { 0 };
	struct replayed r = { 0 };
	struct hf_poll_event *a, *b;
	struct adv_setting s;
	char err[256];
	unsigned seen;
	uint64_t polled = 0;
	size_t i, na, nb, checked = 0;
	FILE *f = fopen(fixture(name), "r");

	assert_non_null(f);
	adv_input_init(&in);
	assert_int_equal(halt_file_read(f, &in, &rec, &seen, err, sizeof(err)), 0);
	fclose(f);
	assert_true(seen & HF_CAP);
	assert_int_equal(in.kvm.shrink, shrink);
	assert_true(in.n > 500);
	assert_true(rec.n > 20);
	/* ipivm's VM was created after tracing began: its vCPUs started
	 * with window 0 (kvm_vcpu_init) before their first event */
	for (i = 0; i < in.n; i++) {
		if (in.halts[i].window_ns == ADV_UNKNOWN)
			in.halts[i].window_ns = 0;
		polled += in.halts[i].polled;
	}
	in.costs = (struct adv_costs){ 50000, 5000 };
	adv_prepare(&in);
	s = (struct adv_setting){ ADV_ADAPTIVE, (uint32_t)in.traced_cap_ns };
	r.ev = calloc(in.n + 1, sizeof(*r.ev));
	a = calloc(rec.n + in.n + 1, sizeof(*a));
	b = calloc(rec.n + in.n + 1, sizeof(*b));
	assert_non_null(r.ev);
	assert_non_null(a);
	assert_non_null(b);
	adv_replay(&in, 0, &s, collect, &r);
	assert_int_equal(r.mismatched, 0);
	assert_int_equal(r.caught, polled);
	for (i = 0; i < in.n; i++) {
		uint32_t tid = in.halts[i].vcpu;
		size_t j;

		if (i && tid == in.halts[i - 1].vcpu)
			continue;
		na = events_of(rec.ev, rec.n, tid, a);
		nb = events_of(r.ev, r.n, tid, b);
		for (j = 0; j < na && j < nb; j++)
			if (a[j].grow != b[j].grow || a[j].new_win != b[j].new_win ||
			    a[j].old_win != b[j].old_win)
				fail_msg("%s tid %u event %zu: KVM %s %u->%u, "
					 "replay %s %u->%u", name, tid, j,
					 a[j].grow ? "grow" : "shrink",
					 a[j].old_win, a[j].new_win,
					 b[j].grow ? "grow" : "shrink",
					 b[j].old_win, b[j].new_win);
		assert_int_equal(na, nb);
		checked += na;
	}
	assert_int_equal(checked, rec.n);
	printf("%s: %zu halts (%llu polled), %zu kvm_halt_poll_ns events "
	       "reproduced\n", name, in.n, (unsigned long long)polled, checked);
	free(r.ev);
	free(a);
	free(b);
	hf_events_free(&rec);
	adv_input_free(&in);
}

static void test_kvm_6_1_recorded(void **state UNUSED)
{
	replay_recorded("kvm-halts-6.1.trace", 0);
}

static void test_kvm_6_12_recorded(void **state UNUSED)
{
	replay_recorded("kvm-halts-6.12.trace", 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_6_1_recorded),
		cmocka_unit_test(test_kvm_6_12_recorded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
