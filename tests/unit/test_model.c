// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for the host model (src/host: stages, halts, exits, the
 * registry) and its report (src/report/host_report.c) on recorded event
 * sequences.
 *
 * VM A is pid 100 with vCPU n on thread 101 + n, VM B pid 200 with vCPU n
 * on thread 201 + n; a vCPU thread's home CPU is its vCPU id.
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
#include "host_report.h"
#include "kick.h"

#define UNUSED		__attribute__((unused))
#define VEC		0xfb
#define MS		1000000ULL

struct fix {
	struct kick *k;
	struct host_agg *agg;
	struct kick_result r[32];
	int n;
};

static void capture(const struct kick_result *r, void *ctx)
{
	struct fix *f = ctx;

	if (f->n < 32)
		f->r[f->n] = *r;
	f->n++;
	host_agg_add(f->agg, r);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	int i;

	assert_non_null(f);
	f->agg = host_agg_new(NULL);
	f->k = kick_new(capture, f);
	assert_non_null(f->agg);
	assert_non_null(f->k);
	for (i = 0; i < 4; i++) {
		assert_int_equal(kick_set_thread(f->k, 101 + i, 100, i), 0);
		assert_int_equal(kick_set_thread(f->k, 201 + i, 200, i), 0);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	kick_free(f->k);
	host_agg_free(f->agg);
	free(f);
	return 0;
}

static struct host_event ev(int type, __u64 ts, __u32 tid, __u32 cpu)
{
	struct host_event e = {
		.ts = ts, .tid = tid, .pid = tid / 100 * 100, .cpu = cpu,
		.type = (__u16)type,
	};

	return e;
}

static __u32 home(__u32 tid)
{
	return tid % 100 - 1;
}

/* kvm_apic_ipi from thread @s with this ICR */
static void ipi_icr(struct fix *f, __u64 ts, __u32 s, __u32 icr, __u32 dest)
{
	struct host_event e = ev(HE_APIC_IPI, ts, s, home(s));

	e.u.apic_ipi.icr_low = icr;
	e.u.apic_ipi.dest_id = dest;
	kick_event(f->k, &e);
}

/* kvm_apic_ipi: fixed, physical, no shorthand */
static void ipi(struct fix *f, __u64 ts, __u32 s, int dest)
{
	ipi_icr(f, ts, s, VEC, dest);
}

static void accept(struct fix *f, __u64 ts, __u32 s, int apicid)
{
	struct host_event e = ev(HE_ACCEPT_IRQ, ts, s, home(s));

	e.u.accept.apicid = apicid;
	e.u.accept.vec = VEC;
	kick_event(f->k, &e);
}

static void sched_ev(struct fix *f, int type, __u64 ts, __u32 cur,
		     __u32 cpu, __u32 t, __u32 aux)
{
	struct host_event e = ev(type, ts, cur, cpu);

	e.u.sched.tid = t;
	e.u.sched.aux = aux;
	kick_event(f->k, &e);
}

static void waking(struct fix *f, __u64 ts, __u32 s, __u32 t)
{
	sched_ev(f, HE_WAKING, ts, s, home(s), t, home(t));
}

static void wakeup(struct fix *f, __u64 ts, __u32 s, __u32 t)
{
	sched_ev(f, HE_WAKEUP, ts, s, home(s), t, home(t));
}

static void switch_in(struct fix *f, __u64 ts, __u32 t)
{
	sched_ev(f, HE_SWITCH_IN, ts, 0, home(t), t, 0);
}

static void switch_out(struct fix *f, __u64 ts, __u32 t, __u32 state)
{
	sched_ev(f, HE_SWITCH_OUT, ts, t, home(t), t, state);
}

/* kvm_vcpu_kick of @vcpu from thread @s */
static void kick(struct fix *f, __u64 ts, __u32 s, int vcpu)
{
	struct host_event e = ev(HE_KICK, ts, s, home(s));

	e.u.vcpu.vcpu_id = vcpu;
	kick_event(f->k, &e);
}

/* ipi_send_cpu from thread @s to host CPU @cpu */
static void ipi_send(struct fix *f, __u64 ts, __u32 s, __u32 cpu)
{
	struct host_event e = ev(HE_IPI_KICK, ts, s, home(s));

	e.u.ipi.cpu = cpu;
	kick_event(f->k, &e);
}

static void halt_end(struct fix *f, __u64 ts, __u32 t, __u64 ns, int waited,
		     int valid)
{
	struct host_event e = ev(HE_HALT_END, ts, t, home(t));

	e.u.halt.ns = ns;
	e.u.halt.waited = waited;
	e.u.halt.valid = valid;
	kick_event(f->k, &e);
}

static void halt_poll(struct fix *f, __u64 ts, __u32 t, int grow,
		      __u32 new_ns, __u32 old_ns)
{
	struct host_event e = ev(HE_HALT_POLL, ts, t, home(t));

	e.u.poll.vcpu_id = home(t);
	e.u.poll.grow = grow;
	e.u.poll.new_ns = new_ns;
	e.u.poll.old_ns = old_ns;
	kick_event(f->k, &e);
}

static void vm_entry(struct fix *f, __u64 ts, __u32 t)
{
	struct host_event e = ev(HE_VM_ENTRY, ts, t, home(t));

	e.u.vcpu.vcpu_id = home(t);
	kick_event(f->k, &e);
}

static void vm_exit_isa(struct fix *f, __u64 ts, __u32 t, __u32 isa,
			__u32 reason)
{
	struct host_event e = ev(HE_VM_EXIT, ts, t, home(t));

	e.u.exit.vcpu_id = home(t);
	e.u.exit.isa = isa;
	e.u.exit.reason = reason;
	kick_event(f->k, &e);
}

static void vm_exit(struct fix *f, __u64 ts, __u32 t, __u32 reason)
{
	vm_exit_isa(f, ts, t, 1, reason);
}

static void msr(struct fix *f, __u64 ts, __u32 t, __u32 ecx)
{
	struct host_event e = ev(HE_MSR, ts, t, home(t));

	e.u.msr.write = 1;
	e.u.msr.ecx = ecx;
	kick_event(f->k, &e);
}

/* IPI from vCPU0 to vCPU1 of VM A, blocked target */
static void blocked_sequence(struct fix *f, __u64 t0)
{
	ipi(f, t0, 101, 1);
	accept(f, t0 + 100, 101, 1);
	waking(f, t0 + 200, 101, 102);
	wakeup(f, t0 + 300, 101, 102);
	switch_in(f, t0 + 400, 102);
	halt_end(f, t0 + 500, 102, 50000, 1, 1);
}

static void test_blocked(void **state)
{
	struct fix *f = *state;
	const struct kick_result *r = &f->r[0];

	blocked_sequence(f, 1000);
	assert_int_equal(f->n, 1);
	assert_int_equal(r->vm_pid, 100);
	assert_int_equal(r->src_vcpu, 0);
	assert_int_equal(r->dst_vcpu, 1);
	assert_int_equal(r->src_tid, 101);
	assert_int_equal(r->dst_tid, 102);
	assert_int_equal(r->src_cpu, 0);
	assert_int_equal(r->dst_cpu, 1);
	assert_int_equal(r->state, TS_BLOCKED);
	assert_int_equal(r->vector, VEC);
	assert_true(r->ipi_first);
	assert_int_equal(r->t[KS_ICR], 1000);
	assert_int_equal(r->t[KS_ACCEPT], 1100);
	assert_int_equal(r->t[KS_KICK], 1200);
	assert_int_equal(r->t[KS_WAKEUP], 1300);
	assert_int_equal(r->t[KS_ON_CPU], 1400);
	assert_int_equal(r->t[KS_HALT_END], 1500);
	assert_int_equal(r->t[KS_VM_ENTRY], 0);
	assert_int_equal(r->halt_ns, 50000);
	assert_int_equal(f->agg->ipis, 1);
	assert_int_equal(f->agg->st[TS_MAX][KS_TOTAL].min, 500);
	assert_int_equal(f->agg->st[TS_BLOCKED][KS_WAKEUP].min, 100);
}

static void test_polled(void **state)
{
	struct fix *f = *state;
	const struct kick_result *r = &f->r[0];

	ipi(f, 1000, 101, 1);
	accept(f, 1100, 101, 1);
	halt_end(f, 1400, 102, 3000, 0, 1);
	assert_int_equal(f->n, 1);
	assert_int_equal(r->state, TS_POLLING);
	assert_int_equal(r->t[KS_ACCEPT], 1100);
	assert_int_equal(r->t[KS_KICK], 0);
	assert_int_equal(r->t[KS_WAKEUP], 0);
	assert_int_equal(r->t[KS_HALT_END], 1400);
	/* halt end measured from accept, the previous observed stage */
	assert_int_equal(f->agg->st[TS_POLLING][KS_HALT_END].min, 300);
	assert_int_equal(f->agg->seen[TS_POLLING][KS_KICK], 0);
}

static void test_running_timeout(void **state)
{
	struct fix *f = *state;
	const struct kick_result *r = &f->r[0];

	switch_in(f, 500, 102);			/* 102 last ran on CPU 1 */
	ipi(f, 1000, 101, 1);
	accept(f, 1100, 101, 1);
	kick(f, 1200, 101, 1);
	kick_flush(f->k, 1000 + 5 * MS);
	assert_int_equal(f->n, 0);
	kick_flush(f->k, 1000 + KICK_DEFAULT_TIMEOUT_NS);
	assert_int_equal(f->n, 1);
	assert_int_equal(r->state, TS_RUNNING);
	assert_true(r->timed_out);
	assert_int_equal(r->t[KS_KICK], 1200);
	assert_int_equal(r->t[KS_HALT_END], 0);
	assert_int_equal(r->dst_cpu, 1);	/* last known */
	assert_int_equal(kick_get_stats(f->k)->timed_out, 1);
}

static void test_interleaved(void **state)
{
	struct fix *f = *state;
	int i;

	ipi(f, 1000, 101, 1);
	ipi(f, 1010, 103, 3);
	accept(f, 1100, 103, 3);
	accept(f, 1110, 101, 1);
	waking(f, 1200, 103, 104);
	waking(f, 1210, 101, 102);
	/* a waking of 104 from the wrong sender's context is not a kick */
	waking(f, 1220, 101, 104);
	wakeup(f, 1300, 101, 102);
	wakeup(f, 1310, 103, 104);
	halt_end(f, 1400, 104, 9000, 1, 1);
	halt_end(f, 1500, 102, 8000, 1, 1);
	assert_int_equal(f->n, 2);
	for (i = 0; i < 2; i++) {
		const struct kick_result *r = &f->r[i];
		bool a = r->dst_vcpu == 1;

		assert_int_equal(r->src_vcpu, a ? 0 : 2);
		assert_int_equal(r->dst_vcpu, a ? 1 : 3);
		assert_int_equal(r->state, TS_BLOCKED);
		assert_int_equal(r->t[KS_ICR], a ? 1000 : 1010);
		assert_int_equal(r->t[KS_ACCEPT], a ? 1110 : 1100);
		assert_int_equal(r->t[KS_KICK], a ? 1210 : 1200);
		assert_int_equal(r->t[KS_WAKEUP], a ? 1300 : 1310);
		assert_int_equal(r->t[KS_HALT_END], a ? 1500 : 1400);
		assert_int_equal(r->halt_ns, a ? 8000 : 9000);
	}
	assert_int_equal(f->agg->ipis, 2);
}

static void test_lost_wakeup(void **state)
{
	struct fix *f = *state;
	const struct kick_result *r = &f->r[0];

	ipi(f, 1000, 101, 1);
	accept(f, 1100, 101, 1);
	waking(f, 1200, 101, 102);
	/* sched_wakeup lost */
	switch_in(f, 1450, 102);
	halt_end(f, 1500, 102, 50000, 1, 1);
	assert_int_equal(f->n, 1);
	assert_int_equal(r->t[KS_WAKEUP], 0);
	assert_int_equal(r->t[KS_ON_CPU], 1450);
	assert_int_equal(f->agg->seen[TS_MAX][KS_WAKEUP], 0);
	assert_int_equal(f->agg->st[TS_MAX][KS_ON_CPU].min, 250);
	assert_int_equal(f->agg->st[TS_MAX][KS_ON_CPU].count, 1);
	assert_int_equal(f->agg->st[TS_MAX][KS_TOTAL].min, 500);
}

static void test_stale_and_reordered(void **state)
{
	struct fix *f = *state;
	const struct kick_result *r = &f->r[0];

	ipi(f, 1000, 101, 1);
	wakeup(f, 900, 101, 102);		/* older than the IPI: ignored */
	accept(f, 1100, 101, 1);
	switch_in(f, 1400, 102);
	wakeup(f, 1300, 101, 102);		/* after a later stage: ignored */
	halt_end(f, 1500, 102, 50000, 1, 1);
	assert_int_equal(f->n, 1);
	assert_int_equal(r->t[KS_WAKEUP], 0);
	assert_int_equal(r->t[KS_ON_CPU], 1400);
	assert_int_equal(r->state, TS_BLOCKED);
}

static void test_kick_no_halt(void **state)
{
	struct fix *f = *state;
	const struct kick_result *r = &f->r[0];

	vm_entry(f, 500, 102);			/* entries observable; 102 on CPU 1 */
	ipi(f, 1000, 101, 1);
	accept(f, 1100, 101, 1);
	ipi_send(f, 1200, 101, 1);
	assert_int_equal(f->n, 0);
	vm_entry(f, 1800, 102);
	assert_int_equal(f->n, 1);
	assert_int_equal(r->state, TS_RUNNING);
	assert_int_equal(r->t[KS_KICK], 1200);
	assert_int_equal(r->t[KS_HALT_END], 0);
	assert_int_equal(r->t[KS_VM_ENTRY], 1800);
	assert_int_equal(r->dst_cpu, 1);
	assert_int_equal(f->agg->st[TS_RUNNING][KS_VM_ENTRY].min, 600);
}

static void test_blocked_then_entry(void **state)
{
	struct fix *f = *state;
	const struct kick_result *r = &f->r[0];

	vm_entry(f, 500, 103);
	blocked_sequence(f, 1000);
	assert_int_equal(f->n, 0);		/* waits for the VM entry */
	vm_entry(f, 1700, 102);
	assert_int_equal(f->n, 1);
	assert_int_equal(r->state, TS_BLOCKED);
	assert_int_equal(r->t[KS_HALT_END], 1500);
	assert_int_equal(r->t[KS_VM_ENTRY], 1700);
	assert_int_equal(f->agg->st[TS_MAX][KS_TOTAL].min, 700);
}

static void test_other_vm(void **state)
{
	struct fix *f = *state;
	int i;

	ipi(f, 1000, 101, 1);
	ipi(f, 1001, 201, 1);
	accept(f, 1100, 201, 1);
	accept(f, 1101, 101, 1);
	kick(f, 1150, 201, 1);		/* VM B's kick */
	waking(f, 1200, 201, 202);
	waking(f, 1201, 101, 102);
	halt_end(f, 1300, 202, 1000, 1, 1);
	halt_end(f, 1400, 102, 2000, 1, 1);
	assert_int_equal(f->n, 2);
	for (i = 0; i < 2; i++) {
		const struct kick_result *r = &f->r[i];
		bool a = r->vm_pid == 100;

		assert_int_equal(r->dst_tid, a ? 102 : 202);
		assert_int_equal(r->t[KS_ACCEPT], a ? 1101 : 1100);
		assert_int_equal(r->t[KS_KICK], a ? 1201 : 1150);
		assert_int_equal(r->t[KS_HALT_END], a ? 1400 : 1300);
	}
	/* filter: VM B only */
	kick_set_filter(f->k, 200, -1);
	ipi(f, 2000, 101, 1);
	halt_end(f, 2100, 102, 100, 0, 1);
	ipi(f, 2000, 201, 1);
	halt_end(f, 2100, 202, 100, 0, 1);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->r[2].vm_pid, 200);
	assert_int_equal(kick_get_stats(f->k)->filtered, 1);
}

static void test_superseded(void **state)
{
	struct fix *f = *state;

	ipi(f, 1000, 101, 1);
	accept(f, 1100, 101, 1);
	ipi(f, 2000, 103, 1);		/* vCPU2 -> vCPU1 before it ran */
	assert_int_equal(f->n, 1);
	assert_true(f->r[0].superseded);
	assert_int_equal(f->r[0].state, TS_RUNNING);
	assert_int_equal(f->r[0].t[KS_ACCEPT], 1100);
	accept(f, 2100, 103, 1);
	halt_end(f, 2300, 102, 100, 0, 1);
	assert_int_equal(f->n, 2);
	assert_int_equal(f->r[1].src_vcpu, 2);
	assert_int_equal(f->r[1].t[KS_ICR], 2000);
	assert_int_equal(f->r[1].state, TS_POLLING);
	assert_int_equal(kick_get_stats(f->k)->superseded, 1);
}

static void test_broadcast(void **state)
{
	struct fix *f = *state;
	int i, firsts = 0;

	/* all excluding self: targets come from the accepts */
	ipi_icr(f, 1000, 101, VEC | 3u << 18, 0);
	accept(f, 1100, 101, 1);
	accept(f, 1110, 101, 2);
	accept(f, 1120, 101, 3);
	halt_end(f, 1300, 103, 10, 0, 1);
	halt_end(f, 1310, 102, 10, 0, 1);
	halt_end(f, 1320, 104, 10, 1, 1);
	assert_int_equal(f->n, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(f->r[i].ipi_id, f->r[0].ipi_id);
		assert_int_equal(f->r[i].t[KS_ACCEPT], 1100 + 10 * (f->r[i].dst_vcpu - 1));
		firsts += f->r[i].ipi_first;
	}
	assert_int_equal(firsts, 1);
	assert_int_equal(f->agg->ipis, 1);
	assert_int_equal(f->agg->results, 3);
}

static void test_learn_thread(void **state)
{
	struct fix *f = *state;

	/* VM 300: only the sender thread is known */
	assert_int_equal(kick_set_thread(f->k, 301, 300, 0), 0);
	ipi(f, 1000, 301, 1);
	accept(f, 1100, 301, 1);
	waking(f, 1200, 301, 302);
	halt_end(f, 1500, 302, 100, 1, 1);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->r[0].dst_tid, 302);
	assert_int_equal(f->r[0].t[KS_KICK], 1200);
	assert_int_equal(kick_get_stats(f->k)->learned, 1);
}

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

static void test_exits(void **state)
{
	struct fix *f = *state;
	const struct kick_exit *msr = NULL, *hlt = NULL;
	char buf[48];
	size_t i;

	vm_exit(f, 1000, 101, 32);
	vm_entry(f, 1400, 101);
	vm_exit(f, 2000, 101, 32);
	vm_entry(f, 2600, 101);
	vm_exit(f, 3000, 102, 12);
	vm_entry(f, 9000, 102);
	vm_exit(f, 9500, 102, 12);		/* still out at the end */
	assert_true(kick_entries_seen(f->k));
	assert_int_equal(kick_nr_exits(f->k), 2);
	for (i = 0; i < kick_nr_exits(f->k); i++) {
		const struct kick_exit *x = kick_exit_at(f->k, i);

		if (x->reason == 32)
			msr = x;
		if (x->reason == 12)
			hlt = x;
	}
	assert_non_null(msr);
	assert_non_null(hlt);
	assert_int_equal(msr->count, 2);
	assert_int_equal(msr->timed, 2);
	assert_int_equal(msr->total_ns, 1000);
	assert_int_equal(hlt->count, 2);
	assert_int_equal(hlt->timed, 1);
	assert_int_equal(hlt->total_ns, 6000);
	assert_string_equal(kick_exit_name(1, 32, buf, sizeof(buf)), "MSR_WRITE");
	assert_string_equal(kick_exit_name(2, 0x78, buf, sizeof(buf)), "hlt");
	assert_string_equal(kick_exit_name(2, 0x13, buf, sizeof(buf)), "write_cr3");
	assert_string_equal(kick_exit_name(1, 999, buf, sizeof(buf)), "0x3e7");
}

static char *render(struct fix *f, bool json, const bool hooked[KS_MAX])
{
	static const struct hook_desc_pair hooks[] = {
		{ "icr_write", "tp_btf:kvm_apic_ipi" }, { "kick", NULL },
		{ "vm_exit", NULL },
	};
	static const __u64 lost[HS_MAX] = { [HS_EVENTS] = 9, [HS_RB_DROP] = 3 };
	struct host_report *r = host_report_new(NULL, hooked, hooks, 3);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int i;

	assert_non_null(r);
	assert_non_null(m);
	host_report_set_view(r, true, true);
	for (i = 0; i < f->n; i++)
		host_report_add(r, &f->r[i]);
	assert_int_equal(host_report_agg(r)->results, f->n);
	host_report_print(r, f->k, 1.0, lost, 0, json, m);
	fclose(m);
	host_report_free(r);
	return buf;
}

/* the stage object of @name in the top-level "stages" array */
static const char *stage_obj(const char *js, const char *name)
{
	char key[64];
	const char *s = strstr(js, "\"stages\":[");

	assert_non_null(s);
	snprintf(key, sizeof(key), "{\"name\":\"%s\"", name);
	s = strstr(s, key);
	assert_non_null(s);
	return s;
}

static void assert_stage(const char *js, const char *name, const char *want)
{
	const char *s = stage_obj(js, name), *e = strchr(s, '}');

	assert_non_null(e);
	assert_true(strstr(s, want) && strstr(s, want) < e);
}

static void test_report(void **state)
{
	static const char *keys[] = {
		"\"mode\":\"host\"", "\"duration_s\":", "\"hooks\":{",
		"\"kick\":null", "\"lost\":{\"ringbuf_drops\":3,", "\"ipis\":2", "\"vms\":[",
		"{\"pid\":100,\"vcpus\":4}", "\"stages\":[", "\"by_target_state\":{",
		"\"blocked\":{\"count\":1", "\"polling\":{\"count\":1",
		"\"running\":{\"count\":0", "\"by_numa\":{", "\"same\":{",
		"\"cross\":{", "\"halt\":{", "\"per_vcpu\":[", "\"poll_window_ns\":",
		"\"exits_observable\":false", "\"exits\":[]",
	};
	/* no hook for sched_switch; kvm_entry attached but never fires */
	static const bool hooked[KS_MAX] = {
		[KS_ICR] = true, [KS_ACCEPT] = true, [KS_KICK] = true,
		[KS_WAKEUP] = true, [KS_HALT_END] = true, [KS_VM_ENTRY] = true,
	};
	struct fix *f = *state;
	char *js, *txt;
	size_t i;

	ipi(f, 1000, 101, 1);
	accept(f, 1100, 101, 1);
	waking(f, 1200, 101, 102);
	wakeup(f, 1300, 101, 102);
	halt_end(f, 1500, 102, 50000, 1, 1);
	ipi(f, 2000, 101, 1);
	accept(f, 2100, 101, 1);
	halt_end(f, 2300, 102, 100, 0, 1);
	assert_int_equal(f->n, 2);

	js = render(f, true, hooked);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!strstr(js, keys[i]))
			fail_msg("missing %s in %s", keys[i], js);
	}
	assert_stage(js, "accept", "\"observable\":true,\"count\":2,\"p50_ns\":");
	assert_stage(js, "on_cpu", "\"observable\":false,\"count\":0,"
		     "\"p50_ns\":null,\"p99_ns\":null,\"mean_ns\":null");
	assert_stage(js, "vm_entry", "\"observable\":false,\"count\":0,"
		     "\"p50_ns\":null");
	assert_stage(js, "total", "\"observable\":true,\"count\":2");
	/* ICR write: the origin, no VM exit seen before it: no latency */
	assert_stage(js, "icr_write", "\"observable\":true,\"count\":2,"
		     "\"p50_ns\":null");
	assert_null(strstr(js, "\"p50_ns\":0,"));
	free(js);

	txt = render(f, false, hooked);
	assert_non_null(strstr(txt, "on_cpu     not observable on this kernel (no hook)"));
	assert_non_null(strstr(txt, "vm_entry   not observable on this kernel "
			       "(hook attached, never fired)"));
	assert_non_null(strstr(txt, "IPIs followed: 2"));
	free(txt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_blocked),
		T(test_polled),
		T(test_running_timeout),
		T(test_interleaved),
		T(test_lost_wakeup),
		T(test_stale_and_reordered),
		T(test_kick_no_halt),
		T(test_blocked_then_entry),
		T(test_other_vm),
		T(test_superseded),
		T(test_broadcast),
		T(test_learn_thread),
		T(test_halt_accounting),
		T(test_halt_poll_wait_split),
		T(test_early_halts_adopted),
		T(test_exits),
		T(test_report),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
