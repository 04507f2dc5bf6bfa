/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixture of the host model's unit tests (test_stages.c, test_halts.c,
 * test_exits.c, test_host_report.c): a model fed with recorded event
 * sequences, its results captured and aggregated.
 *
 * VM A is pid 100 with vCPU n on thread 101 + n, VM B pid 200 with vCPU n
 * on thread 201 + n; a vCPU thread's home CPU is its vCPU id.
 */
#ifndef __IPT_HOST_FIXTURE_H
#define __IPT_HOST_FIXTURE_H

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

/* each test file uses some of the helpers */
#pragma GCC diagnostic ignored "-Wunused-function"

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

#endif
