// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for the halt_poll_ns advisor (src/host/advisor.c): small
 * sequences whose every number is derived by hand in the comments, KVM's
 * adaptive window traced step by step, properties over random sequences,
 * and the replay against KVM's own kvm_halt_poll_ns events recorded in an
 * SVM KVM host (tests/fixtures/kvm-halts-*.trace).
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "advisor.h"

#define UNUSED		__attribute__((unused))
#define ADV_MAX_SET_TEST	40

/* A blocked halt traced with a known window w: dur = idle + blocked. */
static struct adv_halt blocked(uint64_t end, uint64_t dur, int64_t w)
{
	return (struct adv_halt){ .end_ns = end, .dur_ns = dur, .window_ns = w,
				  .vm = 1, .vcpu = 0, .polled = false,
				  .valid = true, .ipi = true };
}

static void add(struct adv_input *in, struct adv_halt h)
{
	assert_int_equal(adv_input_add(in, &h), 0);
}

/* Costs 20 us blocked, 1 us polled; span 1 ms. Traced with polling off
 * (window 0 known), so idle = dur - 20000 for each blocked halt:
 *   h1 dur  25000 -> I   5000     h4 dur 20500 -> I 500
 *   h2 dur  70000 -> I  50000     h5 polled, dur 300, window 0: the event
 *   h3 dur 120000 -> I 100000        was pending (I = 0)                */
static void small_input(struct adv_input *in)
{
	struct adv_halt h5 = blocked(2000000, 300, 0);

	adv_input_init(in);
	in->costs = (struct adv_costs){ .blocked_ns = 20000, .polled_ns = 1000 };
	in->span_ns = 1000000;
	add(in, blocked(100000, 25000, 0));
	add(in, blocked(300000, 70000, 0));
	add(in, blocked(600000, 120000, 0));
	add(in, blocked(800000, 20500, 0));
	h5.polled = true;
	h5.ipi = false;
	add(in, h5);
	adv_prepare(in);
}

static void test_fixed_window_by_hand(void **state UNUSED)
{
	struct adv_setting s = { ADV_FIXED, 10000 };
	struct adv_input in;
	struct adv_stats st;

	small_input(&in);
	assert_int_equal(adv_eval(&in, 0, &s, &st), 0);
	/* W = 10 us: h1 (5 us) caught, poll 5000 + 1000 = 6000, saves 19000;
	 * h2, h3 outlast it: 10000 each burnt, no saving; h4 caught, poll
	 * 1500, saves 19000; h5 pending: caught at once, poll = its 300 ns,
	 * saves 1000 - 1000 = 0. */
	assert_int_equal(st.wakeups, 5);
	assert_int_equal(st.caught, 3);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.polls_fail, 2);
	assert_int_equal(st.ipi_wakeups, 4);
	assert_int_equal(st.ipi_caught, 2);
	assert_float_equal(st.poll_ok_ns, 7800, 1e-9);
	assert_float_equal(st.poll_fail_ns, 20000, 1e-9);
	assert_float_equal(st.cores, 27800 / 1e6, 1e-12);
	assert_float_equal(st.saved_ns, 38000, 1e-9);
	/* saved sorted 0 0 0 19000 19000: rank ceil(2.5) = 3 -> 0, rank
	 * ceil(4.95) = 5 -> 19000; latency 1000 1000 1000 20000 20000 */
	assert_float_equal(st.saved_p50, 0, 1e-9);
	assert_float_equal(st.saved_p99, 19000, 1e-9);
	assert_float_equal(st.lat_p50, 1000, 1e-9);
	assert_float_equal(st.lat_p99, 20000, 1e-9);

	/* W = 200 us catches all: h2 polls 51000, h3 101000; poll total
	 * 6000 + 51000 + 101000 + 1500 + 300 = 159800; four savings of 19000 */
	s.ns = 200000;
	assert_int_equal(adv_eval(&in, 0, &s, &st), 0);
	assert_int_equal(st.caught, 5);
	assert_int_equal(st.polls_fail, 0);
	assert_float_equal(st.poll_ok_ns, 159800, 1e-9);
	assert_float_equal(st.cores, 0.1598, 1e-12);
	assert_float_equal(st.saved_ns, 76000, 1e-9);
	assert_float_equal(st.saved_p50, 19000, 1e-9);
	adv_input_free(&in);
}

static void test_zero_window(void **state UNUSED)
{
	struct adv_setting s = { ADV_FIXED, 0 };
	struct adv_input in;
	struct adv_stats st;

	small_input(&in);
	assert_int_equal(adv_eval(&in, 0, &s, &st), 0);
	assert_int_equal(st.caught, 0);
	assert_int_equal(st.pending, 1);	/* never blocks, not a poll */
	assert_int_equal(st.polls_fail, 0);
	assert_float_equal(st.cores, 0, 0);
	assert_float_equal(st.saved_ns, 0, 0);
	/* latency: four blocked (20000), the pending one 1000 */
	assert_float_equal(st.lat_p50, 20000, 1e-9);
	adv_input_free(&in);
}

/* Replays a sequence of (dur, expected window, event, old, new) rows. */
struct step_row {
	uint64_t dur;
	uint32_t window;
	int event;
	uint32_t old_win, new_win;
	bool caught;
	double poll;
};

static void run_steps(const struct adv_kvm *k, uint32_t cap,
		      const struct adv_costs *c, const struct step_row *r,
		      size_t n)
{
	struct adv_setting s = { ADV_ADAPTIVE, cap };
	struct adv_input in;
	struct adv_vcpu v = { 0 };
	struct adv_outcome o;
	size_t i;

	adv_input_init(&in);
	in.costs = *c;
	for (i = 0; i < n; i++) {
		struct adv_halt h = blocked(1000000 * (i + 1), r[i].dur,
					    ADV_UNKNOWN);

		adv_step(&v, &s, k, &h, &in, &o);
		if (o.window != r[i].window || o.event != r[i].event ||
		    o.caught != r[i].caught ||
		    fabs(o.poll_ns - r[i].poll) > 1e-9 ||
		    (o.event && (o.old_win != r[i].old_win ||
				 o.new_win != r[i].new_win)))
			fail_msg("step %zu: window %u event %d %u->%u caught %d "
				 "poll %.0f; expected %u %d %u->%u %d %.0f", i,
				 o.window, o.event, o.old_win, o.new_win,
				 o.caught, o.poll_ns, r[i].window, r[i].event,
				 r[i].old_win, r[i].new_win, r[i].caught,
				 r[i].poll);
	}
}

/* Blocked 20 us, polled 1 us; cap 50 us; halts traced blocked with the
 * window unknown, so I = dur - 20000. KVM's rule after each halt:
 * halt <= w: keep; w && halt > cap: shrink; w < cap && halt < cap: grow
 * (x2, at least grow_start 10000). A caught halt lasts I + 1000. */
static const struct adv_costs c20 = { 20000, 1000 };

static void test_adaptive_6_1_by_hand(void **state UNUSED)
{
	/* shrink = 0: any shrink resets the window to 0 */
	static const struct step_row r[] = {
		/* I 5000, w 0: blocks, halt 25000 < cap: grow 0 -> 10000 */
		{ 25000, 0, +1, 0, 10000, false, 0 },
		/* I 5000 < 10000: caught, halt 6000 <= w: keep */
		{ 25000, 10000, 0, 0, 0, true, 6000 },
		/* I 15000 >= w: 10000 burnt, halt 35000: grow 20000 */
		{ 35000, 10000, +1, 10000, 20000, false, 10000 },
		/* I 15000 < 20000: caught, halt 16000: keep */
		{ 35000, 20000, 0, 0, 0, true, 16000 },
		/* I 80000: 20000 burnt, halt 100000 > cap: shrink to 0 */
		{ 100000, 20000, -1, 20000, 0, false, 20000 },
		/* I 10000, w 0: halt 30000: grow 10000 */
		{ 30000, 0, +1, 0, 10000, false, 0 },
		/* I 8000: caught, halt 9000: keep */
		{ 28000, 10000, 0, 0, 0, true, 9000 },
		/* I 25000: 10000 burnt, halt 45000: grow 20000 */
		{ 45000, 10000, +1, 10000, 20000, false, 10000 },
		/* I 25000: 20000 burnt, halt 45000: grow 40000 */
		{ 45000, 20000, +1, 20000, 40000, false, 20000 },
		/* I 25000 < 40000: caught, halt 26000: keep */
		{ 45000, 40000, 0, 0, 0, true, 26000 },
		/* I 40000 = w: not caught, 40000 burnt, halt 60000: shrink 0 */
		{ 60000, 40000, -1, 40000, 0, false, 40000 },
	};

	run_steps(&ADV_KVM_6_1, 50000, &c20, r, sizeof(r) / sizeof(r[0]));
}

static void test_adaptive_6_12_by_hand(void **state UNUSED)
{
	/* shrink = 2: halve, and 0 below grow_start */
	static const struct step_row r[] = {
		{ 25000, 0, +1, 0, 10000, false, 0 },
		{ 25000, 10000, 0, 0, 0, true, 6000 },
		{ 35000, 10000, +1, 10000, 20000, false, 10000 },
		{ 35000, 20000, 0, 0, 0, true, 16000 },
		/* halt 100000 > cap: 20000 / 2 = 10000 (not below 10000) */
		{ 100000, 20000, -1, 20000, 10000, false, 20000 },
		/* I 10000 = w: 10000 burnt, halt 30000: grow 20000 */
		{ 30000, 10000, +1, 10000, 20000, false, 10000 },
		/* I 8000: caught, halt 9000: keep */
		{ 28000, 20000, 0, 0, 0, true, 9000 },
		/* I 25000 >= 20000: burnt, halt 45000: grow 40000 */
		{ 45000, 20000, +1, 20000, 40000, false, 20000 },
		/* I 25000 < 40000: caught twice, halt 26000 */
		{ 45000, 40000, 0, 0, 0, true, 26000 },
		{ 45000, 40000, 0, 0, 0, true, 26000 },
		/* I 40000: burnt, halt 60000 > cap: 40000 / 2 = 20000 */
		{ 60000, 40000, -1, 40000, 20000, false, 40000 },
		/* I 19000: caught, halt 20000 = w exactly: keep, no grow */
		{ 39000, 20000, 0, 0, 0, true, 20000 },
	};

	run_steps(&ADV_KVM_6_12, 50000, &c20, r, sizeof(r) / sizeof(r[0]));
}

/* Grow is not capped (6.1.176, 6.12): the trace shows new = 40000 over a
 * 30 us cap; the next halt starts clamped to the cap. Blocked 2 us,
 * polled 0.5 us. */
static void test_adaptive_grow_over_cap(void **state UNUSED)
{
	static const struct adv_costs c = { 2000, 500 };
	static const struct step_row r[] = {
		/* I 5000, w 0: halt 7000: grow 10000 */
		{ 7000, 0, +1, 0, 10000, false, 0 },
		/* I 15000: 10000 burnt, halt 17000: grow 20000 */
		{ 17000, 10000, +1, 10000, 20000, false, 10000 },
		/* I 25000: 20000 burnt, halt 27000 < 30000: grow 40000 */
		{ 27000, 20000, +1, 20000, 40000, false, 20000 },
		/* window min(40000, 30000): I 25000 caught, halt 25500 */
		{ 27000, 30000, 0, 0, 0, true, 25500 },
	};

	run_steps(&ADV_KVM_6_12, 30000, &c, r, sizeof(r) / sizeof(r[0]));
}

/* An invalid wake-up always shrinks (kvm_vcpu_halt: !vcpu_valid_wakeup). */
static void test_adaptive_invalid_shrinks(void **state UNUSED)
{
	struct adv_setting s = { ADV_ADAPTIVE, 50000 };
	struct adv_input in;
	struct adv_vcpu v = { 40000 };
	struct adv_outcome o;
	struct adv_halt h = blocked(1000, 3000, ADV_UNKNOWN);
	static const uint32_t want[] = { 20000, 10000, 0 };
	int i;

	adv_input_init(&in);
	in.costs = (struct adv_costs){ 20000, 1000 };
	h.polled = true;	/* I = 3000 - 1000 = 2000: caught each time */
	h.valid = false;
	for (i = 0; i < 3; i++) {
		adv_step(&v, &s, &ADV_KVM_6_12, &h, &in, &o);
		assert_true(o.caught);
		assert_int_equal(o.event, -1);
		/* 40000 -> 20000 -> 10000 -> 5000, below grow_start: 0 */
		assert_int_equal(v.window, want[i]);
	}
}

/* Deterministic PRNG (xorshift64*). */
static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Random true idle times (log-uniform 100 ns .. 5 ms) on 2 VMs x 2 vCPUs,
 * traced under fixed window wt: polled iff idle < wt, dur = idle + cost. */
static void random_trace(struct adv_input *in, const uint64_t *idle,
			 size_t n, uint32_t wt)
{
	uint64_t t = 0;
	size_t i;

	adv_input_init(in);
	in->costs = (struct adv_costs){ 25000, 1500 };
	for (i = 0; i < n; i++) {
		struct adv_halt h = { 0 };
		bool caught = idle[i] < wt;

		h.dur_ns = idle[i] + (caught ? 1500 : 25000);
		t += h.dur_ns + 10000;
		h.end_ns = t;
		h.vm = 100 + i % 2;
		h.vcpu = (i / 2) % 2;
		h.polled = caught;
		h.valid = true;
		h.ipi = i % 3 != 0;
		h.window_ns = wt;
		assert_int_equal(adv_input_add(in, &h), 0);
	}
	adv_prepare(in);
}

#define NRAND 4000

static uint64_t *random_idle(void)
{
	uint64_t *idle = malloc(NRAND * sizeof(*idle));
	size_t i;

	assert_non_null(idle);
	for (i = 0; i < NRAND; i++)	/* 1 + 100 .. 5e6 log-uniform */
		idle[i] = 1 + (uint64_t)(100 * pow(5e4, (rng() >> 11) / 9007199254740992.0));
	return idle;
}

static void test_fixed_monotonic(void **state UNUSED)
{
	struct adv_setting set[ADV_MAX_SET_TEST];
	struct adv_stats prev = { 0 }, st;
	uint64_t *idle = random_idle();
	struct adv_input in;
	size_t n, i;

	random_trace(&in, idle, NRAND, 0);
	n = adv_default_settings(set, ADV_MAX_SET_TEST, ADV_MAX_NS_DEFAULT);
	for (i = 0; i < n; i++) {
		if (set[i].kind != ADV_FIXED)
			continue;
		assert_int_equal(adv_eval(&in, 0, &set[i], &st), 0);
		if (set[i].ns == 0) {
			assert_int_equal(st.caught, 0);
			assert_float_equal(st.cores, 0, 0);
		}
		/* a larger window polls at least as long on every halt */
		assert_true(st.cores >= prev.cores);
		assert_true(st.caught >= prev.caught);
		assert_true(st.saved_ns >= prev.saved_ns);
		prev = st;
	}
	assert_true(prev.cores > 0);
	adv_input_free(&in);
	free(idle);
}

/* The adaptive window never exceeds its cap, so per halt it catches only
 * what the fixed window at the cap catches. */
static void test_adaptive_within_fixed(void **state UNUSED)
{
	uint64_t *idle = random_idle();
	struct adv_input in;
	static const uint32_t caps[] = { 10000, 50000, 200000, 2000000 };
	size_t i;

	random_trace(&in, idle, NRAND, 0);
	for (i = 0; i < 4; i++) {
		struct adv_setting a = { ADV_ADAPTIVE, caps[i] };
		struct adv_setting f = { ADV_FIXED, caps[i] };
		struct adv_stats sa, sf;

		assert_int_equal(adv_eval(&in, 0, &a, &sa), 0);
		assert_int_equal(adv_eval(&in, 0, &f, &sf), 0);
		assert_true(sa.caught <= sf.caught);
		assert_true(sa.saved_ns <= sf.saved_ns + 1e-6);
		if (caps[i] > 25000 + 1000)	/* else halts never < cap */
			assert_true(sa.grow > 0);
	}
	adv_input_free(&in);
	free(idle);
}

/* The same true halts traced under different windows give the same
 * prediction for every setting: the replay works from any traced one. */
static void test_any_traced_setting(void **state UNUSED)
{
	static const uint32_t traced[] = { 0, 20000, 200000 };
	struct adv_setting set[ADV_MAX_SET_TEST];
	struct adv_stats ref[ADV_MAX_SET_TEST], st;
	uint64_t *idle = random_idle();
	struct adv_input in;
	size_t n, i, t;

	n = adv_default_settings(set, ADV_MAX_SET_TEST, ADV_MAX_NS_DEFAULT);
	for (t = 0; t < 3; t++) {
		random_trace(&in, idle, NRAND, traced[t]);
		for (i = 0; i < n; i++) {
			assert_int_equal(adv_eval(&in, 0, &set[i], &st), 0);
			if (t == 0) {
				ref[i] = st;
				continue;
			}
			/* adaptive: the first window of each vCPU is the traced
			 * one, so a few warm-up halts may differ */
			if (set[i].kind == ADV_ADAPTIVE) {
				if (llabs((long long)st.caught -
					  (long long)ref[i].caught) > 40)
					fail_msg("adaptive %u traced at %u: %llu vs %llu",
						 set[i].ns, traced[t],
						 (unsigned long long)st.caught,
						 (unsigned long long)ref[i].caught);
				continue;
			}
			if (st.caught != ref[i].caught ||
			    /* poll time, not cores: a faster wake-up shortens
			     * the traced timeline, so the span differs */
			    fabs(st.poll_ok_ns + st.poll_fail_ns - ref[i].poll_ok_ns -
				 ref[i].poll_fail_ns) > 1e-3 ||
			    fabs(st.saved_ns - ref[i].saved_ns) > 1e-3)
				fail_msg("setting %zu traced at %u: caught %llu "
					 "vs %llu, cores %.9f vs %.9f, saved %.0f vs %.0f",
					 i, traced[t],
					 (unsigned long long)st.caught,
					 (unsigned long long)ref[i].caught,
					 st.cores, ref[i].cores, st.saved_ns,
					 ref[i].saved_ns);
		}
		/* at the traced window, caught = the traced polled halts */
		if (traced[t]) {
			struct adv_setting f = { ADV_FIXED, traced[t] };
			uint64_t polled = 0;

			for (i = 0; i < in.n; i++)
				polled += in.halts[i].polled;
			assert_int_equal(adv_eval(&in, 0, &f, &st), 0);
			assert_int_equal(st.caught, polled);
		}
		adv_input_free(&in);
	}
	free(idle);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_window_by_hand),
		cmocka_unit_test(test_zero_window),
		cmocka_unit_test(test_adaptive_6_1_by_hand),
		cmocka_unit_test(test_adaptive_6_12_by_hand),
		cmocka_unit_test(test_adaptive_grow_over_cap),
		cmocka_unit_test(test_adaptive_invalid_shrinks),
		cmocka_unit_test(test_fixed_monotonic),
		cmocka_unit_test(test_adaptive_within_fixed),
		cmocka_unit_test(test_any_traced_setting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
