// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for the guest-side polling replay (src/host/advisor_guest.c),
 * the recommendation picks, the halt file reader and the advice output.
 * Every expected number is derived by hand in the comments.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "advice.h"
#include "advisor_guest.h"
#include "halt_file.h"

#define UNUSED		__attribute__((unused))

/* haltpoll defaults (grow 2, grow_start 50000, shrink 2), cap 200 us. */
static void test_haltpoll_by_hand(void **state UNUSED)
{
	static const struct {
		uint64_t dur;
		bool caught;
		double poll, halt;
		uint32_t before, after;
	} r[] = {
		/* limit 0: halts 30000; 0 < 30000 <= cap: grow, 0*2 < 50000
		 * -> grow_start 50000 */
		{ 30000, false, 0, 30000, 0, 50000 },
		/* 20000 < 50000: caught by the poll, no adjustment */
		{ 20000, true, 20000, 0, 50000, 50000 },
		/* polls 50000, halts 30000: not > limit, not > cap: keep */
		{ 80000, false, 50000, 30000, 50000, 50000 },
		/* polls 50000, halts 100000 in (50000, 200000]: 100000 */
		{ 150000, false, 50000, 100000, 50000, 100000 },
		/* 90000 < 100000: caught */
		{ 90000, true, 90000, 0, 100000, 100000 },
		/* polls 100000, halts 300000 > cap: shrink / 2 = 50000 */
		{ 400000, false, 100000, 300000, 100000, 50000 },
		/* polls 50000, halts 950000 > cap: 25000 */
		{ 1000000, false, 50000, 950000, 50000, 25000 },
	};
	struct gadv_setting s = { GADV_HALTPOLL, 200000 };
	struct gadv_params gp = GADV_DEFAULTS;
	struct gadv_cpu c = { 0 };
	struct gadv_outcome o;
	size_t i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		gadv_step(&c, &s, &gp, r[i].dur, &o);
		if (o.caught != r[i].caught || o.poll_ns != r[i].poll ||
		    o.halt_ns != r[i].halt || o.limit_before != r[i].before ||
		    o.limit_after != r[i].after)
			fail_msg("period %zu: caught %d poll %.0f halt %.0f limit "
				 "%u->%u", i, o.caught, o.poll_ns, o.halt_ns,
				 o.limit_before, o.limit_after);
	}
}

/* The same seven periods with IPI flags y y n y y n n; an IPI to a halted
 * vCPU costs 30 us, to a polling one 2 us: 28000 saved per caught IPI.
 * Span 10 ms. */
static const struct gadv_idle periods[] = {
	{ 0, 30000, true }, { 0, 20000, true }, { 0, 80000, false },
	{ 0, 150000, true }, { 0, 90000, true }, { 0, 400000, false },
	{ 0, 1000000, false },
};

static void test_guest_settings_by_hand(void **state UNUSED)
{
	struct gadv_params gp = GADV_DEFAULTS;
	struct gadv_costs c = { 30000, 2000 };
	struct gadv_setting s = { GADV_HALTPOLL, 200000 };
	struct gadv_stats st;

	assert_int_equal(gadv_eval(periods, 7, 10000000, &s, &gp, &c, &st), 0);
	/* caught: periods 2 and 5, both IPIs; poll 20000 + 50000 + 50000 +
	 * 90000 + 100000 + 50000 = 360000 -> 0.036 cores */
	assert_int_equal(st.caught, 2);
	assert_int_equal(st.ipi_periods, 4);
	assert_int_equal(st.ipi_caught, 2);
	assert_int_equal(st.halts, 5);
	assert_float_equal(st.poll_ns, 360000, 1e-9);
	assert_float_equal(st.cores, 0.036, 1e-12);
	assert_float_equal(st.saved_ns, 56000, 1e-9);
	/* saved over IPI periods 0 28000 0 28000: rank 2 -> 0, rank 4 */
	assert_float_equal(st.saved_p50, 0, 0);
	assert_float_equal(st.saved_p99, 28000, 0);

	/* idle=poll: everything caught; poll = all idle time, 1770000 */
	s.kind = GADV_IDLE_POLL;
	assert_int_equal(gadv_eval(periods, 7, 10000000, &s, &gp, &c, &st), 0);
	assert_int_equal(st.caught, 7);
	assert_int_equal(st.halts, 0);
	assert_float_equal(st.poll_ns, 1770000, 1e-9);
	assert_float_equal(st.saved_ns, 4 * 28000, 1e-9);

	/* off: nothing polled, nothing saved */
	s.kind = GADV_OFF;
	assert_int_equal(gadv_eval(periods, 7, 10000000, &s, &gp, &c, &st), 0);
	assert_int_equal(st.caught, 0);
	assert_float_equal(st.cores, 0, 0);
	assert_float_equal(st.saved_ns, 0, 0);
}

/* Each CPU's governor starts at limit 0; periods of CPU 1 interleaved in
 * the input are ordered by gadv_build without losing time order. */
static void test_guest_per_cpu(void **state UNUSED)
{
	struct gadv_input in = { 0 };
	struct gadv_advice a;
	struct gadv_params gp = GADV_DEFAULTS;
	size_t i, k;

	in.p = calloc(14, sizeof(*in.p));
	assert_non_null(in.p);
	for (i = 0; i < 7; i++) {	/* CPU 1 then CPU 0, alternating */
		in.p[2 * i] = periods[i];
		in.p[2 * i].cpu = 1;
		in.p[2 * i + 1] = periods[i];
	}
	in.n = in.alloc = 14;
	in.costs = (struct gadv_costs){ 30000, 2000 };
	in.span_ns = 10000000;
	assert_int_equal(gadv_build(&in, &gp, &a), 0);
	for (i = 0; i < 14; i++)
		assert_int_equal(in.p[i].dur_ns, periods[i % 7].dur_ns);
	for (k = 0; k < a.nset; k++)
		if (a.set[k].kind == GADV_HALTPOLL && a.set[k].ns == 200000)
			break;
	assert_true(k < a.nset);
	/* twice the single-CPU figures */
	assert_int_equal(a.st[k].caught, 4);
	assert_float_equal(a.st[k].poll_ns, 720000, 1e-9);
	gadv_input_free(&in);
}

static void test_picks_by_hand(void **state UNUSED)
{
	static const struct adv_setting s[] = {
		{ ADV_FIXED, 0 }, { ADV_FIXED, 10000 }, { ADV_FIXED, 100000 },
		{ ADV_ADAPTIVE, 10000 }, { ADV_ADAPTIVE, 100000 },
	};
	struct adv_stats st[5] = { 0 };
	static const double cores[] = { 0, 0.01, 0.10, 0.005, 0.02 };
	static const double saved[] = { 0, 50, 100, 40, 95 };
	int i;

	for (i = 0; i < 5; i++) {
		st[i].cores = cores[i];
		st[i].saved_ns = saved[i];
	}
	assert_float_equal(adv_best_saved(st, 5), 100, 0);
	/* 90 of 100: adaptive 100 us (95); fixed only 100 us (100) */
	assert_int_equal(adv_pick_share(s, st, 5, ADV_ADAPTIVE, 100, 0.9), 4);
	assert_int_equal(adv_pick_share(s, st, 5, ADV_FIXED, 100, 0.9), 2);
	/* 50: adaptive 10 us saves 40 only; fixed 10 us (50) is cheapest */
	assert_int_equal(adv_pick_share(s, st, 5, ADV_ADAPTIVE, 100, 0.5), 4);
	assert_int_equal(adv_pick_share(s, st, 5, ADV_FIXED, 100, 0.5), 1);
	/* nothing to save: off (fixed 0 is halt_poll_ns=0 for adaptive) */
	assert_int_equal(adv_pick_share(s, st, 5, ADV_ADAPTIVE, 0, 0.9), 0);
	/* budgets */
	assert_int_equal(adv_pick_budget(s, st, 5, ADV_ADAPTIVE, 0.015), 3);
	assert_int_equal(adv_pick_budget(s, st, 5, ADV_ADAPTIVE, 0.001), 0);
	assert_int_equal(adv_pick_budget(s, st, 5, ADV_FIXED, 0.05), 1);
	assert_int_equal(adv_pick_budget(s, st, 5, ADV_FIXED, 1), 2);
}

static FILE *text(const char *s)
{
	FILE *f = fmemopen((void *)s, strlen(s), "r");

	assert_non_null(f);
	return f;
}

static void test_reader_csv(void **state UNUSED)
{
	static const char good[] =
		"# comment\n"
		"blocked_ns=20000  # trailing comment\n"
		"polled_ns=1000\nhalt_poll_ns=200000\nkvm=6.12\nspan_ns=5000000\n"
		"7,1,100000,25000,0,1,1\n"
		"7 0 200000 3000 1 1 0 40000\n"
		"8,2,300000,9000,1,0,0,-,2500\n";
	struct adv_input in;
	char err[128];
	unsigned seen;
	FILE *f = text(good);

	adv_input_init(&in);
	assert_int_equal(halt_file_read(f, &in, NULL, &seen, err, sizeof(err)), 0);
	fclose(f);
	assert_int_equal(seen, HF_BLOCKED | HF_POLLED | HF_CAP | HF_SPAN | HF_KVM);
	assert_float_equal(in.costs.blocked_ns, 20000, 0);
	assert_int_equal(in.traced_cap_ns, 200000);
	assert_int_equal(in.kvm.shrink, 2);
	assert_int_equal(in.span_ns, 5000000);
	assert_int_equal(in.n, 3);
	assert_int_equal(in.halts[0].vm, 7);
	assert_int_equal(in.halts[0].window_ns, ADV_UNKNOWN);
	assert_true(in.halts[0].ipi && !in.halts[0].polled);
	assert_int_equal(in.halts[1].window_ns, 40000);
	assert_true(in.halts[1].polled);
	assert_false(in.halts[2].valid);
	assert_int_equal(in.halts[2].wake_ns, 2500);
	adv_input_free(&in);
}

static void expect_error(const char *s, const char *msg)
{
	struct adv_input in;
	char err[128] = "";
	unsigned seen;
	FILE *f = text(s);

	adv_input_init(&in);
	assert_int_equal(halt_file_read(f, &in, NULL, &seen, err, sizeof(err)), -1);
	fclose(f);
	if (!strstr(err, msg))
		fail_msg("'%s': error '%s', expected '%s'", s, err, msg);
	adv_input_free(&in);
}

static void test_reader_rejects(void **state UNUSED)
{
	expect_error("1,0,100,50,0,1\n", "line 1: expected");	/* 6 fields */
	expect_error("\n1,0,100,50,2,1,0\n", "line 2: expected");	/* flag 2 */
	expect_error("1,0,100,500,0,1,0\n", "line 1");	/* dur > end */
	expect_error("1,0,x,50,0,1,0\n", "line 1");
	expect_error("1,0,100,-5,0,1,0\n", "line 1");
	expect_error("bogus=1\n", "bad setting bogus");
	expect_error("kvm=5.4\n", "bad setting kvm");
	expect_error("blocked_ns=1e4\n", "bad setting");
	expect_error("1,0,100,50,0,1,0,5000000000\n", "line 1");	/* > u32 */
	expect_error("a [001] 1.0: kvm_vcpu_wakeup: wait time 5 ns\n",
		     "bad ftrace");
}

/* ftrace lines: tid, tgid, time, and the window from the thread's
 * kvm_halt_poll_ns event (which precedes its halt's kvm_vcpu_wakeup). */
static void test_reader_ftrace(void **state UNUSED)
{
	static const char tr[] =
		"  CPU 1/KVM-210  (  200) [001] ..... 5.000100: kvm_vcpu_wakeup: wait time 900000 ns, polling valid\n"
		"  CPU 1/KVM-210  (  200) [001] ..... 5.002000: kvm_halt_poll_ns: vcpu 1: halt_poll_ns 10000 (grow 0)\n"
		"  CPU 0/KVM-209  (  200) [000] ..... 5.001990: kvm_apic_accept_irq: apicid 1 vec 240 (Fixed|edge)\n"
		"  CPU 1/KVM-210  (  200) [001] ..... 5.002001: kvm_vcpu_wakeup: wait time 30000 ns, polling valid\n"
		"  CPU 0/KVM-209  (  200) [000] ..... 5.002900: kvm_apic_accept_irq: apicid 1 vec 240 (Fixed|edge)\n"
		"  CPU 0/KVM-209  (  200) [000] ..... 5.002998: kvm_apic_accept_irq: apicid 1 vec 240 (Fixed|edge)\n"
		"  CPU 0/KVM-209  (  200) [000] ..... 5.002999: kvm_apic_accept_irq: apicid 0 vec 240 (Fixed|edge)\n"
		"  CPU 1/KVM-210  (  200) [000] ..... 5.003000: kvm_vcpu_wakeup: poll time 4000 ns, polling invalid\n"
		"  other-5 [000] ..... 5.004000: sched_switch: prev_comm=x\n";
	struct adv_input in;
	struct hf_events ev = { 0 };
	char err[128];
	unsigned seen;
	FILE *f = text(tr);

	adv_input_init(&in);
	assert_int_equal(halt_file_read(f, &in, &ev, &seen, err, sizeof(err)), 0);
	fclose(f);
	assert_int_equal(in.n, 3);
	assert_int_equal(ev.n, 1);
	assert_true(ev.ev[0].grow);
	assert_int_equal(ev.ev[0].new_win, 10000);
	assert_int_equal(in.halts[0].vm, 200);
	assert_int_equal(in.halts[0].vcpu, 210);
	assert_int_equal(in.halts[0].end_ns, 5000100000ULL);
	assert_int_equal(in.halts[0].dur_ns, 900000);
	assert_int_equal(in.halts[0].window_ns, ADV_UNKNOWN);
	/* the event's halt polled with the old window, 0 */
	assert_int_equal(in.halts[1].window_ns, 0);
	assert_false(in.halts[1].polled);
	/* the next one with the new one */
	assert_int_equal(in.halts[2].window_ns, 10000);
	assert_true(in.halts[2].polled);
	assert_false(in.halts[2].valid);
	/* interrupts for APIC id 1 (= vCPU 1 of thread 210): the first halt
	 * (its vCPU not known yet) none; the second, 5.001971-5.002001, the
	 * one at 5.001990: 11 us to the halt end; the third, 5.002996-
	 * 5.003000: 5.002998 (5.002900 came before it; APIC id 0 is
	 * another vCPU): 2 us */
	assert_false(in.halts[0].ipi);
	assert_true(in.halts[1].ipi);
	assert_int_equal(in.halts[1].wake_ns, 11000);
	assert_true(in.halts[2].ipi);
	assert_int_equal(in.halts[2].wake_ns, 2000);
	/* the costs, medians of one each; given ones are kept */
	assert_int_equal(hf_measured_costs(&in, 0), HF_BLOCKED | HF_POLLED);
	assert_float_equal(in.costs.blocked_ns, 11000, 0);
	assert_float_equal(in.costs.polled_ns, 2000, 0);
	assert_int_equal(in.blocked_samples, 1);
	in.costs.blocked_ns = 7;
	assert_int_equal(hf_measured_costs(&in, HF_BLOCKED), HF_POLLED);
	assert_float_equal(in.costs.blocked_ns, 7, 0);
	hf_events_free(&ev);
	adv_input_free(&in);
}

/* The whole advice on the hand sequence of test_advisor.c plus a second VM,
 * through the text, JSON and SVG writers. */
static void test_advice_output(void **state UNUSED)
{
	static const char csv[] =
		"blocked_ns=20000\npolled_ns=1000\nspan_ns=1000000\n"
		"1,0,100000,25000,0,1,1,0\n1,0,300000,70000,0,1,1,0\n"
		"1,0,600000,120000,0,1,1,0\n1,0,800000,20500,0,1,1,0\n"
		"2,0,900000,400000,0,1,0,0\n";
	struct adv_input in;
	struct adv_opts o;
	struct advice a;
	char err[128], *buf = NULL;
	size_t len = 0, i;
	unsigned seen;
	FILE *f = text(csv), *out;

	adv_input_init(&in);
	assert_int_equal(halt_file_read(f, &in, NULL, &seen, err, sizeof(err)), 0);
	fclose(f);
	adv_opts_default(&o);
	o.budget = 0.02;
	assert_int_equal(advice_build(&in, &o, &a), 0);
	assert_int_equal(a.ngroups, 3);	/* all, VM 1, VM 2 */
	assert_int_equal(a.groups[1].vm, 1);
	assert_int_equal(a.groups[1].halts, 4);
	/* VM 1: the best saving, 4 x 19000, needs a window over 100 us
	 * (idle 100000 caught only if W > 100000): fixed 200 us */
	assert_float_equal(a.groups[1].best_saved_ns, 76000, 1e-9);
	assert_true(a.groups[1].rec_fixed >= 0);
	assert_int_equal(a.set[a.groups[1].rec_fixed].ns, 200000);
	/* VM 2: idle 380 us, 500 us catches it: nothing cheaper does */
	assert_float_equal(a.groups[2].best_saved_ns, 19000, 1e-9);
	assert_int_equal(a.set[a.groups[2].rec_fixed].ns, 500000);
	/* VM 2's only halt lasts 400 us, over the 200 us cap: KVM's default
	 * never grows its window */
	assert_int_equal(a.groups[2].dflt.st.grow, 0);

	/* only IPI wake-ups count: VM 2's one halt is no IPI */
	advice_free(&a);
	in.ipi_only = true;
	assert_int_equal(advice_build(&in, &o, &a), 0);
	assert_float_equal(a.groups[1].best_saved_ns, 76000, 1e-9);
	assert_float_equal(a.groups[2].best_saved_ns, 0, 0);
	assert_int_equal(a.set[a.groups[2].rec].ns, 0);	/* off */

	out = open_memstream(&buf, &len);
	assert_int_equal(advice_report(out, &emit_json, &a), 0);
	fclose(out);
	assert_true(len > 100 && buf[0] == '{' && buf[len - 1] == '\n');
	{	/* balanced, and one settings object per candidate and group */
		int depth = 0, min = 0;
		size_t kinds = 0;
		char *p;

		for (i = 0; i < len; i++) {
			depth += buf[i] == '{' || buf[i] == '[';
			depth -= buf[i] == '}' || buf[i] == ']';
			if (depth < min)
				min = depth;
		}
		assert_int_equal(depth, 0);
		assert_int_equal(min, 0);
		for (p = buf; (p = strstr(p, "\"kind\":")); p++)
			kinds++;
		assert_true(kinds >= 3 * a.nset);
	}
	free(buf);
	buf = NULL;
	out = open_memstream(&buf, &len);
	assert_int_equal(advice_svg(out, &a, 1), 0);
	fclose(out);
	assert_non_null(strstr(buf, "<svg"));
	assert_non_null(strstr(buf, "</svg>"));
	assert_non_null(strstr(buf, "KVM default"));
	free(buf);
	advice_free(&a);
	adv_input_free(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_haltpoll_by_hand),
		cmocka_unit_test(test_guest_settings_by_hand),
		cmocka_unit_test(test_guest_per_cpu),
		cmocka_unit_test(test_picks_by_hand),
		cmocka_unit_test(test_reader_csv),
		cmocka_unit_test(test_reader_rejects),
		cmocka_unit_test(test_reader_ftrace),
		cmocka_unit_test(test_advice_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
