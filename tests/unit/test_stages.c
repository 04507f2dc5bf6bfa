// SPDX-License-Identifier: GPL-2.0
/* Host model: the per-IPI stage machine (src/host/stages.c). */
#include "host_fixture.h"

#define UNUSED		__attribute__((unused))

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
	/* the second wakeup was refused for its order, and counted */
	assert_int_equal(kick_get_stats(f->k)->out_of_order, 1);
	assert_int_equal(kick_get_stats(f->k)->out_of_order_by[KS_WAKEUP], 1);
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

static struct kick_pv_send pv_seen[4];
static int nr_pv_seen;

static void on_pv(const struct kick_pv_send *s, void *ctx)
{
	(void)ctx;
	if (nr_pv_seen < 4)
		pv_seen[nr_pv_seen] = *s;
	nr_pv_seen++;
}

static void test_pv_hypercall(void **state)
{
	struct fix *f = *state;
	struct host_event e = ev(HE_PV_SEND_IPI, 1000, 101, home(101));
	int i;

	/* vCPU 0 names APIC ids 1 and 3 (min 1, bits 0 and 2); KVM accepts
	 * only 1 and 3: the targets come from the accepts, both flagged PV */
	nr_pv_seen = 0;
	kick_set_pv_cb(f->k, on_pv, NULL);
	e.u.pv_ipi.bitmap_lo = 0x5;
	e.u.pv_ipi.min_apicid = 1;
	e.u.pv_ipi.icr = VEC;
	kick_event(f->k, &e);
	accept(f, 1100, 101, 1);
	accept(f, 1110, 101, 3);
	halt_end(f, 1300, 102, 10, 1, 1);
	halt_end(f, 1310, 104, 10, 1, 1);
	assert_int_equal(f->n, 2);
	for (i = 0; i < 2; i++) {
		assert_true(f->r[i].pv);
		assert_int_equal(f->r[i].src_vcpu, 0);
		assert_int_equal(f->r[i].t[KS_ICR], 1000);
	}
	assert_int_equal(nr_pv_seen, 1);
	assert_int_equal(pv_seen[0].src_vcpu, 0);
	assert_int_equal(pv_seen[0].vm_pid, 100);
	assert_int_equal(pv_seen[0].vector, VEC);
	assert_int_equal(pv_seen[0].min_apicid, 1);
	assert_int_equal(pv_seen[0].bitmap_lo, 0x5);
	/* an ICR write is not PV; a hypercall of a filtered-out VM not seen */
	ipi(f, 2000, 101, 2);
	halt_end(f, 2100, 103, 10, 1, 1);
	assert_int_equal(f->n, 3);
	assert_false(f->r[2].pv);
	kick_set_filter(f->k, 200, -1);
	e.ts = 3000;
	kick_event(f->k, &e);
	assert_int_equal(nr_pv_seen, 1);
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

/*
 * The sequence that lost an IPI's accept on 6.12 (ftrace order, target
 * vCPU1 running in guest mode on CPU 1): the sender's thread sent an
 * unrelated IPI (a remote wake-up) to CPU 1 between its ICR write and
 * KVM's accept; that IPI was taken as the kick and the accept refused
 * as out of order, silently. Only an IPI after the accept is the kick;
 * a kick event before the accept is refused and counted.
 */
static void test_kick_only_after_accept(void **state)
{
	struct fix *f = *state;
	const struct kick_stats *st = kick_get_stats(f->k);
	const struct kick_result *r = &f->r[0];
	bool hooked[KS_MAX];

	memset(hooked, 1, sizeof(hooked));
	kick_set_hooked(f->k, hooked);
	vm_entry(f, 500, 102);			/* 102 runs on CPU 1 */
	ipi(f, 10000, 101, 1);
	ipi_send(f, 10010, 101, 1);		/* ttwu_queue_wakelist to CPU 1 */
	kick(f, 10020, 101, 1);			/* a kick of vCPU1 not from this IPI */
	accept(f, 38000, 101, 1);
	ipi_send(f, 38100, 101, 0);		/* to another CPU: not the kick */
	ipi_send(f, 38200, 101, 1);		/* kvm_vcpu_kick's IPI */
	vm_entry(f, 60000, 102);
	assert_int_equal(f->n, 1);
	assert_int_equal(r->t[KS_ICR], 10000);
	assert_int_equal(r->t[KS_ACCEPT], 38000);
	assert_int_equal(r->t[KS_KICK], 38200);
	assert_int_equal(r->t[KS_VM_ENTRY], 60000);
	assert_int_equal(r->state, TS_RUNNING);
	assert_int_equal(st->out_of_order, 1);
	assert_int_equal(st->out_of_order_by[KS_KICK], 1);
	assert_int_equal(st->out_of_order_by[KS_ACCEPT], 0);
	assert_int_equal(st->foreign_ipis, 2);
}

/* Without accept events in the run, a kick needs no accept. */
static void test_kick_without_accept_hook(void **state)
{
	struct fix *f = *state;

	ipi(f, 1000, 101, 1);
	kick(f, 1100, 101, 1);
	halt_end(f, 1500, 102, 100, 1, 1);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->r[0].t[KS_KICK], 1100);
	assert_int_equal(kick_get_stats(f->k)->out_of_order, 0);
}

/* Unnamed vCPU threads (no "CPU N/KVM"): the target's thread is learned
 * from its halt end while it alone has an IPI pending in its VM, never
 * from the sender's own halt; later IPIs then find it at once. */
static void test_unnamed_threads(void **state)
{
	struct fix *f = *state;

	ipi(f, 1000, 701, 1);
	accept(f, 1100, 701, 1);
	halt_end(f, 1200, 701, 100, 0, 1);	/* the sender's own halt */
	assert_int_equal(f->n, 0);
	halt_end(f, 1300, 702, 900, 1, 1);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->r[0].vm_pid, 700);
	assert_int_equal(f->r[0].dst_vcpu, 1);
	assert_int_equal(f->r[0].dst_tid, 702);
	assert_int_equal(f->r[0].t[KS_HALT_END], 1300);
	assert_int_equal(f->r[0].state, TS_BLOCKED);
	assert_int_equal(kick_get_stats(f->k)->learned, 1);
	/* the next IPI: a polled halt, no wake-up to learn from */
	ipi(f, 2000, 701, 1);
	accept(f, 2100, 701, 1);
	halt_end(f, 2200, 702, 50, 0, 1);
	assert_int_equal(f->n, 2);
	assert_int_equal(f->r[1].t[KS_HALT_END], 2200);
	assert_int_equal(f->r[1].state, TS_POLLING);
	assert_int_equal(kick_get_stats(f->k)->unattributed_halts, 1);
	/* the sender is named by KVM's own events: kvm_entry's vcpu_id */
	vm_entry(f, 2300, 701);			/* home(701) = vCPU 0 */
	ipi(f, 3000, 701, 1);
	halt_end(f, 3100, 702, 50, 0, 1);
	assert_int_equal(f->n, 2);		/* entries now seen: waits */
	vm_entry(f, 3200, 702);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->r[2].src_vcpu, 0);
	assert_int_equal(f->r[2].dst_vcpu, 1);
}

/* The path order is the stage table's, and every stage is named. */
static void test_stage_path(void **state UNUSED)
{
	static const char *want[] = { "icr_write", "accept", "kick", "wakeup",
		"on_cpu", "halt_end", "vm_entry" };
	int i;

	for (i = 0; i < KS_MAX; i++)
		assert_string_equal(kick_stage_name(kick_stage_at(i)), want[i]);
	assert_int_equal(kick_stage_at(KS_MAX), -1);
	assert_string_equal(kick_stage_name(KS_TOTAL), "total");
	/* the event table feeds each stage from at least one event type */
	for (i = 0; i < KS_MAX; i++) {
		int type, n = 0;

		for (type = 0; type < HE_TYPE_MAX; type++)
			n += kick_event_stage(type) == kick_stage_at(i);
		assert_true(n > 0);
	}
	assert_int_equal(kick_event_stage(HE_IPI_KICK), KS_KICK);
	/* the BPF side learns vCPU threads from the same event types */
	for (i = 1; i < HE_TYPE_MAX; i++) {
		struct host_event e = { .type = (__u16)i };

		assert_int_equal(kick_in_vcpu_thread(&e), HE_IN_VCPU_THREAD(i));
	}
	assert_int_equal(kick_event_stage(HE_MSR), -1);
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
		T(test_pv_hypercall),
		T(test_learn_thread),
		T(test_kick_only_after_accept),
		T(test_kick_without_accept_hook),
		T(test_unnamed_threads),
		T(test_stage_path),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
