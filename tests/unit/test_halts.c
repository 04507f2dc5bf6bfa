// SPDX-License-Identifier: GPL-2.0
/* Host model: halt accounting (src/host/halts.c). */
#include "host_fixture.h"

static void test_halt_accounting(void **state)
{
	struct fix *f = *state;
	const struct kick_halt *h = kick_halt_total(f->k);
	const struct kick_vcpu_info *v = NULL;
	size_t i;

	halt_end(f, 1000, 102, 1000, 0, 1);	/* polled */
	halt_end(f, 2000, 102, 50000, 1, 1);	/* blocked */
	halt_end(f, 3000, 102, 500, 0, 0);	/* invalid wakeup, polling */
	halt_end(f, 4000, 999, 700, 1, 1);	/* unknown thread */
	halt_poll(f, 5000, 102, 1, 20000, 10000);
	halt_poll(f, 6000, 102, 0, 10000, 20000);
	assert_int_equal(f->n, 0);
	assert_int_equal(h->halts, 4);
	assert_int_equal(h->polled, 1);
	assert_int_equal(h->blocked, 2);
	assert_int_equal(h->invalid, 1);
	assert_int_equal(h->poll_ns, 1500);
	assert_int_equal(h->wait_ns, 50700);
	assert_int_equal(h->grow, 1);
	assert_int_equal(h->shrink, 1);
	assert_int_equal(kick_halt_hist(f->k)->count, 4);
	assert_int_equal(kick_get_stats(f->k)->unattributed_halts, 1);
	for (i = 0; i < kick_nr_vcpus(f->k); i++) {
		const struct kick_vcpu_info *x = kick_vcpu_at(f->k, i);

		if (x->pid == 100 && x->vcpu == 1)
			v = x;
	}
	assert_non_null(v);
	assert_int_equal(v->tid, 102);
	assert_int_equal(v->halt.halts, 3);
	assert_int_equal(v->halt.polled, 1);
	assert_int_equal(v->halt.blocked, 1);
	assert_int_equal(v->halt.grow, 1);
	assert_int_equal(v->halt.shrink, 1);
	assert_int_equal(v->halt.poll_window_ns, 10000);
	/* --vcpu 0: vCPU1's halts are not counted */
	kick_reset_stats(f->k);
	kick_set_filter(f->k, 0, 0);
	halt_end(f, 7000, 102, 1000, 0, 1);
	halt_end(f, 8000, 101, 1000, 0, 1);
	assert_int_equal(h->halts, 1);
	assert_int_equal(h->poll_window_ns, 10000);
}

/* A blocked halt splits at its thread's switch-out to sleep: polling before
 * it, waiting after it. A switch-out outside the halt does not count. */
static void test_halt_poll_wait_split(void **state)
{
	struct fix *f = *state;
	const struct kick_halt *h = kick_halt_total(f->k);

	/* halt from 100000 to 200000: polls 30000, then sleeps */
	switch_out(f, 130000, 102, 1);
	halt_end(f, 200000, 102, 100000, 1, 1);
	assert_int_equal(h->blocked, 1);
	assert_int_equal(h->blocked_split, 1);
	assert_int_equal(h->poll_ns, 30000);
	assert_int_equal(h->wait_ns, 70000);
	/* the last switch-out (130000) is before this halt (250000..300000) */
	halt_end(f, 300000, 102, 50000, 1, 1);
	assert_int_equal(h->blocked, 2);
	assert_int_equal(h->blocked_split, 1);
	assert_int_equal(h->poll_ns, 30000);
	assert_int_equal(h->wait_ns, 120000);
}

/* Halts before the thread is known as a vCPU are that vCPU's once it is. */
static void test_early_halts_adopted(void **state)
{
	struct fix *f = *state;
	const struct kick_vcpu_info *v = NULL;
	size_t i;

	halt_end(f, 1000, 502, 300, 1, 1);
	halt_end(f, 2000, 502, 400, 0, 1);
	assert_int_equal(kick_get_stats(f->k)->unattributed_halts, 2);
	assert_int_equal(kick_halt_total(f->k)->halts, 2);
	assert_int_equal(kick_set_thread(f->k, 502, 500, 1), 0);
	for (i = 0; i < kick_nr_vcpus(f->k); i++)
		if (kick_vcpu_at(f->k, i)->pid == 500)
			v = kick_vcpu_at(f->k, i);
	assert_non_null(v);
	assert_int_equal(v->halt.halts, 2);
	assert_int_equal(v->halt.blocked, 1);
	assert_int_equal(v->halt.polled, 1);
	assert_int_equal(kick_get_stats(f->k)->unattributed_halts, 0);
	assert_int_equal(kick_halt_total(f->k)->halts, 2);	/* not twice */
}

struct halt_log {
	struct kick_halt_sample s[8];
	int n;
};

static void log_halt(const struct kick_halt_sample *s, void *ctx)
{
	struct halt_log *l = ctx;

	if (l->n < 8)
		l->s[l->n] = *s;
	l->n++;
}

/* The advisor's hook: one sample per halt end, as it ended. */
static void test_halt_samples(void **state)
{
	struct fix *f = *state;
	struct halt_log l = { .n = 0 };
	const struct kick_halt_sample *s = l.s;

	kick_set_halt_cb(f->k, log_halt, &l);
	halt_end(f, 1000, 102, 700, 0, 1);	/* window unknown yet */
	/* a halt that polled with 10 us, grew the window to 20 us inside */
	halt_poll(f, 1900, 102, 1, 20000, 10000);
	halt_end(f, 2000, 102, 800, 0, 1);
	/* an IPI's halt end, blocked, with the window now 20 us */
	ipi(f, 3000, 101, 1);
	accept(f, 3100, 101, 1);
	halt_end(f, 3500, 102, 40000, 1, 1);
	halt_end(f, 4000, 102, 300, 0, 0);	/* invalid: not polled */
	halt_end(f, 5000, 902, 900, 1, 1);	/* thread of unknown vCPU */
	assert_int_equal(l.n, 5);
	assert_int_equal(s[0].vm_pid, 100);
	assert_int_equal(s[0].vcpu, 1);
	assert_int_equal(s[0].end_ts, 1000);
	assert_int_equal(s[0].ns, 700);
	assert_true(s[0].polled);
	assert_false(s[0].by_ipi);
	assert_int_equal(s[0].poll_window_ns, -1);
	assert_int_equal(s[1].poll_window_ns, 10000);
	assert_true(s[2].by_ipi);
	assert_true(s[2].waited);
	assert_false(s[2].polled);
	assert_int_equal(s[2].ns, 40000);
	assert_int_equal(s[2].poll_window_ns, 20000);
	assert_false(s[3].polled);
	assert_false(s[3].valid);
	assert_int_equal(s[4].vcpu, -1);
	assert_int_equal(s[4].vm_pid, 900);
	/* filtered out halts are not sampled */
	kick_set_filter(f->k, 200, -1);
	halt_end(f, 6000, 102, 100, 0, 1);
	assert_int_equal(l.n, 5);
	halt_end(f, 6000, 202, 100, 0, 1);
	assert_int_equal(l.n, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_halt_accounting),
		T(test_halt_poll_wait_split),
		T(test_early_halts_adopted),
		T(test_halt_samples),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
