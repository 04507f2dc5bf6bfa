// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the guest BPF programs' logic: the code the programs run
 * (include/ipi_guest_core.h over include/ipi_pair.h), driven by synthetic
 * event sequences through shims in place of the clock, maps and rings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>
#include <stdbool.h>
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#include "ipitrace.h"
#include "ipt_hist.h"

#define NCPU		8
#define MAX_EV		64
#define STALE_NS	1000000000ULL	/* the default --stale-ms 1000 */
#define FN_CALL_SINGLE	0xffffffff81100000ULL
#define FN_RB_NOTIFY	0xffffffff81300000ULL

/*
 * The shims and variables include/ipi_guest_core.h runs on: the BPF object
 * has a clock, CPU ids, maps and read-only data where this test has plain
 * variables it sets per event.
 */
static struct ipt_pending_cpu pending[IPT_MAX_CPUS];
static struct ipt_cpu_state cpu_state[IPT_MAX_CPUS];
static struct csd_slot csds[IPT_CSD_SLOTS];
static __s32 cpu_node[IPT_MAX_CPUS];
static __u64 stale_ns, unserved_ns;
static __u32 nr_cpus, nr_cpus_all;
static bool aggregate, pair_counts, csd_pairing;
static __u64 ksym_call_single, ksym_call_many, ksym_rb_notify;

#define IPT_KSYM_CALL_SINGLE	ksym_call_single
#define IPT_KSYM_CALL_MANY	ksym_call_many
#define IPT_KSYM_RB_NOTIFY	ksym_rb_notify

/* A model of the rest of the BPF side: counters, ring buffer, histograms. */
struct sim {
	__u64 now;
	__u32 cpu;
	__u64 stats[ST_MAX];
	struct ipi_event ev[MAX_EV];
	int nev;
	struct ipt_hist_val hist[NCPU][IPT_AGG_SLOTS];
	struct ipt_pair_val pairs[NCPU * NCPU];
	bool pair_map_full;	/* the pair map refuses new pairs */
};

static struct sim S;

static __u64 ipt_now(void) { return S.now; }
static __u32 ipt_this_cpu(void) { return S.cpu; }
static void ipt_stat(__u32 idx) { S.stats[idx]++; }
static void ipt_stat_add(__u32 idx, __u64 n) { S.stats[idx] += n; }

static void ipt_emit(const struct ipi_event *e)
{
	assert_true(S.nev < MAX_EV);
	S.ev[S.nev++] = *e;
}

static struct ipt_hist_val *ipt_hist(__u32 idx)
{
	return idx < IPT_AGG_SLOTS ? &S.hist[S.cpu][idx] : NULL;
}

static struct ipt_pair_val *ipt_pair(__u32 src, __u32 dst)
{
	if (S.pair_map_full || src >= NCPU || dst >= NCPU)
		return NULL;
	return &S.pairs[src * NCPU + dst];
}

static __u64 ipt_mask_word(const void *mask, __u32 w)
{
	return ((const __u64 *)mask)[w];
}

#include "ipi_guest_core.h"

static int setup(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	memset(pending, 0, sizeof(pending));
	memset(cpu_state, 0, sizeof(cpu_state));
	memset(csds, 0, sizeof(csds));
	memset(cpu_node, 0, sizeof(cpu_node));
	stale_ns = STALE_NS;
	unserved_ns = 1000000;
	nr_cpus = nr_cpus_all = NCPU;
	aggregate = pair_counts = csd_pairing = false;
	ksym_call_single = FN_CALL_SINGLE;
	ksym_call_many = 0;
	ksym_rb_notify = FN_RB_NOTIFY;
	return 0;
}

static void at(__u32 cpu, __u64 t)
{
	S.cpu = cpu;
	S.now = t;
}

/* note_send() from @src to @dst; returns what the pending slot made of it */
static int sim_send_fn(__u32 src, __u32 dst, int kind, __u64 t,
		       __u64 callsite, __u64 func)
{
	__u64 co = S.stats[ST_COALESCED], ow = S.stats[ST_PENDING_OVERWRITE];

	assert_true(dst < NCPU && kind < IPI_KIND_MAX);
	at(src, t);
	ipt_note_send(dst, kind, callsite, func, 0);
	if (S.stats[ST_COALESCED] != co)
		return PEND_COALESCED;
	return S.stats[ST_PENDING_OVERWRITE] != ow ? PEND_STALE : PEND_NEW;
}

static int sim_send(__u32 src, __u32 dst, int kind, __u64 t)
{
	return sim_send_fn(src, dst, kind, t, 0xffffffff81000000ULL + src,
			   0xffffffff82000000ULL + kind);
}

/* on_send_mask(): one multicast send fans out to every CPU in @mask */
static void sim_send_mask(__u32 src, __u64 mask, __u64 t)
{
	__u64 words[IPT_MASK_WORDS_ALL] = { mask };

	at(src, t);
	ipt_on_send_mask(words, 0xffffffff81000000ULL + src);
}

/* on_entry(): handler entry on @cpu; returns 1 if a record was emitted */
static int sim_handler(__u32 cpu, int kind, __u64 t)
{
	int n = S.nev;

	assert_true(cpu < NCPU && kind < IPI_KIND_MAX);
	at(cpu, t);
	ipt_on_entry(kind);
	return S.nev - n;
}

#define SENDS		S.stats[ST_SENDS]
#define COALESCED	S.stats[ST_COALESCED]
#define OVERWRITTEN	S.stats[ST_PENDING_OVERWRITE]
#define UNPAIRED	S.stats[ST_UNPAIRED_HANDLER]
#define SLOT(c, k)	pending[c].kind[k]

static const struct ipi_event *find_ev(__u32 src, __u32 dst, int kind)
{
	int i;

	for (i = 0; i < S.nev; i++)
		if (S.ev[i].src_cpu == src && S.ev[i].dst_cpu == dst &&
		    S.ev[i].kind == kind)
			return &S.ev[i];
	fail_msg("no event %u -> %u kind %d", src, dst, kind);
	return NULL;
}

static void test_single(void **state)
{
	(void)state;
	assert_int_equal(sim_send(0, 1, IPI_CALL_SINGLE, 1000), PEND_NEW);
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 3500), 1);
	assert_int_equal(S.nev, 1);
	assert_int_equal(S.ev[0].type, REC_IPI);
	assert_int_equal(S.ev[0].kind, IPI_CALL_SINGLE);
	assert_int_equal(S.ev[0].src_cpu, 0);
	assert_int_equal(S.ev[0].dst_cpu, 1);
	assert_int_equal(S.ev[0].send_ns, 1000);
	assert_int_equal(S.ev[0].lat_ns, 2500);
	assert_int_equal(S.ev[0].coalesced, 0);
	assert_int_equal(S.ev[0].flags, 0);
	assert_int_equal(S.ev[0].callsite, 0xffffffff81000000ULL);
	assert_int_equal(S.ev[0].func, 0xffffffff82000000ULL + IPI_CALL_SINGLE);
	/* the slot is free again */
	assert_int_equal(SLOT(1, IPI_CALL_SINGLE).send_ns, 0);
	assert_int_equal(SLOT(1, IPI_CALL_SINGLE).coalesced, 0);
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 4000), 0);
	assert_int_equal(UNPAIRED, 1);
	/* and reusable */
	assert_int_equal(sim_send(2, 1, IPI_CALL_SINGLE, 5000), PEND_NEW);
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 5100), 1);
	assert_int_equal(S.ev[1].src_cpu, 2);
	assert_int_equal(S.ev[1].lat_ns, 100);
}

static void test_self_flag_and_clock(void **state)
{
	(void)state;
	assert_int_equal(sim_send(3, 3, IPI_IRQ_WORK, 1000), PEND_NEW);
	assert_int_equal(sim_handler(3, IPI_IRQ_WORK, 1200), 1);
	assert_int_equal(S.ev[0].src_cpu, 3);	/* a self-IPI: source == target */
	assert_int_equal(S.ev[0].lat_ns, 200);
	/* handler clock behind the send's (cross-CPU skew): latency 0, not
	 * a huge unsigned value */
	sim_send(0, 2, IPI_RESCHED, 5000);
	assert_int_equal(sim_handler(2, IPI_RESCHED, 4990), 1);
	assert_int_equal(S.ev[1].lat_ns, 0);
}

static void test_coalesced(void **state)
{
	(void)state;
	assert_int_equal(sim_send(0, 1, IPI_RESCHED, 1000), PEND_NEW);
	assert_int_equal(sim_send(2, 1, IPI_RESCHED, 1300), PEND_COALESCED);
	assert_int_equal(sim_handler(1, IPI_RESCHED, 2000), 1);
	assert_int_equal(S.nev, 1);
	/* the oldest send wins: its source, time and callsite */
	assert_int_equal(S.ev[0].src_cpu, 0);
	assert_int_equal(S.ev[0].send_ns, 1000);
	assert_int_equal(S.ev[0].lat_ns, 1000);
	assert_int_equal(S.ev[0].callsite, 0xffffffff81000000ULL);
	assert_int_equal(S.ev[0].coalesced, 1);
	assert_int_equal(COALESCED, 1);
	/* a second handler has nothing to pair with */
	assert_int_equal(sim_handler(1, IPI_RESCHED, 2100), 0);
	/* the coalesced count does not leak into the next pairing */
	sim_send(0, 1, IPI_RESCHED, 3000);
	sim_send(0, 1, IPI_RESCHED, 3001);
	sim_send(0, 1, IPI_RESCHED, 3002);
	assert_int_equal(sim_handler(1, IPI_RESCHED, 3010), 1);
	assert_int_equal(S.ev[1].coalesced, 2);
	assert_int_equal(S.ev[1].lat_ns, 10);
	sim_send(0, 1, IPI_RESCHED, 4000);
	assert_int_equal(sim_handler(1, IPI_RESCHED, 4010), 1);
	assert_int_equal(S.ev[2].coalesced, 0);
}

static void test_interleaved(void **state)
{
	const struct ipi_event *e;

	(void)state;
	sim_send(0, 1, IPI_CALL_SINGLE, 100);
	sim_send(2, 3, IPI_CALL_SINGLE, 150);
	sim_send(4, 5, IPI_RESCHED, 160);
	sim_send(1, 0, IPI_CALL_SINGLE, 170);
	assert_int_equal(sim_handler(3, IPI_CALL_SINGLE, 400), 1);
	assert_int_equal(sim_handler(5, IPI_RESCHED, 410), 1);
	assert_int_equal(sim_handler(0, IPI_CALL_SINGLE, 500), 1);
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 900), 1);
	assert_int_equal(S.nev, 4);
	assert_int_equal(COALESCED, 0);
	e = find_ev(2, 3, IPI_CALL_SINGLE);
	assert_int_equal(e->lat_ns, 250);
	e = find_ev(4, 5, IPI_RESCHED);
	assert_int_equal(e->lat_ns, 250);
	e = find_ev(1, 0, IPI_CALL_SINGLE);
	assert_int_equal(e->lat_ns, 330);
	e = find_ev(0, 1, IPI_CALL_SINGLE);
	assert_int_equal(e->lat_ns, 800);
	assert_int_equal(e->callsite, 0xffffffff81000000ULL);
}

static void test_multicast(void **state)
{
	__u32 cpu;

	(void)state;
	sim_send_mask(0, (1 << 1) | (1 << 2) | (1 << 5), 1000);
	assert_int_equal(SENDS, 3);
	for (cpu = 0; cpu < NCPU; cpu++)
		assert_int_equal(SLOT(cpu, IPI_CALL_MANY).send_ns,
				 cpu == 1 || cpu == 2 || cpu == 5 ? 1000 : 0);
	/* each target completes its own, in any order */
	assert_int_equal(sim_handler(5, IPI_CALL_MANY, 1500), 1);
	assert_int_equal(sim_handler(1, IPI_CALL_MANY, 1200), 1);
	assert_int_equal(sim_handler(3, IPI_CALL_MANY, 1300), 0);
	assert_int_equal(sim_handler(2, IPI_CALL_MANY, 1900), 1);
	assert_int_equal(sim_handler(2, IPI_CALL_MANY, 2000), 0);
	assert_int_equal(S.nev, 3);
	assert_int_equal(find_ev(0, 5, IPI_CALL_MANY)->lat_ns, 500);
	assert_int_equal(find_ev(0, 1, IPI_CALL_MANY)->lat_ns, 200);
	assert_int_equal(find_ev(0, 2, IPI_CALL_MANY)->lat_ns, 900);
	assert_int_equal(UNPAIRED, 2);
	/* a multicast overlapping a pending one coalesces only the overlap */
	sim_send_mask(0, (1 << 1) | (1 << 2), 3000);
	sim_send_mask(4, (1 << 2) | (1 << 3), 3100);
	assert_int_equal(COALESCED, 1);
	assert_int_equal(sim_handler(2, IPI_CALL_MANY, 3200), 1);
	assert_int_equal(S.ev[S.nev - 1].src_cpu, 0);
	assert_int_equal(S.ev[S.nev - 1].coalesced, 1);
	assert_int_equal(sim_handler(3, IPI_CALL_MANY, 3200), 1);
	assert_int_equal(S.ev[S.nev - 1].src_cpu, 4);
	assert_int_equal(S.ev[S.nev - 1].lat_ns, 100);
	assert_int_equal(S.ev[S.nev - 1].coalesced, 0);
}

static void test_handler_without_send(void **state)
{
	int k;

	(void)state;
	for (k = 0; k < IPI_KIND_MAX; k++)
		assert_int_equal(sim_handler(4, k, 1000), 0);
	assert_int_equal(S.nev, 0);
	assert_int_equal(UNPAIRED, IPI_KIND_MAX);
	/* the pending array is untouched */
	assert_int_equal(SLOT(4, IPI_RESCHED).send_ns, 0);
	assert_int_equal(SLOT(4, IPI_RESCHED).coalesced, 0);
}

static void test_stale(void **state)
{
	(void)state;
	stale_ns = 1000000;	/* 1 ms */
	assert_int_equal(sim_send(0, 1, IPI_RESCHED, 1000), PEND_NEW);
	sim_send(2, 1, IPI_RESCHED, 2000);	/* coalesced */
	/* just below the limit: still coalesced */
	assert_int_equal(sim_send(2, 1, IPI_RESCHED, 1000 + 1000000 - 1),
			 PEND_COALESCED);
	/* at the limit: the pending one (handler lost) is overwritten */
	assert_int_equal(sim_send(3, 1, IPI_RESCHED, 1000 + 1000000),
			 PEND_STALE);
	assert_int_equal(OVERWRITTEN, 1);
	assert_int_equal(SLOT(1, IPI_RESCHED).send_ns, 1001000);
	assert_int_equal(SLOT(1, IPI_RESCHED).coalesced, 0);
	assert_int_equal(sim_handler(1, IPI_RESCHED, 1001500), 1);
	assert_int_equal(S.ev[0].src_cpu, 3);
	assert_int_equal(S.ev[0].callsite, 0xffffffff81000003ULL);
	assert_int_equal(S.ev[0].lat_ns, 500);
	assert_int_equal(S.ev[0].coalesced, 0);
	assert_int_equal(S.ev[0].flags, 0);
}

/*
 * Two CPUs send to the same target at nearly the same time: the one that
 * read the clock first may reach the compare-and-swap second, so a send can
 * find a pending one that is *newer* than itself. That is a coalesced send,
 * not a stale pending slot to count as lost.
 */
static void test_concurrent_send_older_timestamp(void **state)
{
	(void)state;
	assert_int_equal(sim_send(1, 0, IPI_RESCHED, 10005), PEND_NEW);
	assert_int_equal(sim_send(2, 0, IPI_RESCHED, 10000), PEND_COALESCED);
	assert_int_equal(OVERWRITTEN, 0);
	assert_int_equal(sim_handler(0, IPI_RESCHED, 10100), 1);
	assert_int_equal(S.ev[0].src_cpu, 1);
	assert_int_equal(S.ev[0].coalesced, 1);
	assert_int_equal(S.ev[0].lat_ns, 95);
}

/*
 * A sender caught between taking the slot and publishing its timestamp
 * (an interrupt on its CPU, say): a handler then finds the slot busy and
 * pairs nothing rather than the previous send's fields; another sender
 * folds into the one being published. Once published, it pairs normally.
 */
static void test_slot_being_published(void **state)
{
	struct ipi_pending *p = &SLOT(1, IPI_CALL_SINGLE);

	(void)state;
	p->send_ns = PEND_BUSY;		/* CPU 0 mid-publish */
	p->src_cpu = 7;			/* a previous send's leftovers */
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 1000), 0);
	assert_int_equal(p->send_ns, PEND_BUSY);
	assert_int_equal(sim_send(2, 1, IPI_CALL_SINGLE, 1001), PEND_COALESCED);
	p->src_cpu = 0;			/* CPU 0 finishes: fields, then time */
	p->send_ns = 990;
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 1100), 1);
	assert_int_equal(S.ev[0].src_cpu, 0);
	assert_int_equal(S.ev[0].lat_ns, 110);
	assert_int_equal(S.ev[0].coalesced, 1);
	assert_int_equal(p->send_ns, 0);
}

/* A send's flags reach its handler: how the handler drops the IPIs that
 * ipitrace's own ring-buffer wake-ups raised (IPT_F_TRACER). */
static void test_flags_reach_handler(void **state)
{
	struct ipi_pending p = {};
	struct ipi_event e = {};

	(void)state;
	assert_int_equal(ipt_pend_send(&p, 1000, 2, 0, 0, IPT_F_TRACER,
				       stale_ns), PEND_NEW);
	assert_int_equal(ipt_pend_take(&p, 1500, &e), 1);
	assert_true(e.flags & IPT_F_TRACER);
	assert_int_equal(ipt_pend_send(&p, 2000, 2, 0, 0, 0, stale_ns),
			 PEND_NEW);
	assert_int_equal(ipt_pend_take(&p, 2500, &e), 1);
	assert_false(e.flags & IPT_F_TRACER);
}

static void test_kinds_apart(void **state)
{
	(void)state;
	sim_send(0, 1, IPI_RESCHED, 1000);
	/* a call_single handler does not consume the resched pending */
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 1100), 0);
	assert_int_equal(SLOT(1, IPI_RESCHED).send_ns, 1000);
	/* the same target, another kind: independent, not coalesced */
	assert_int_equal(sim_send(0, 1, IPI_CALL_SINGLE, 1200), PEND_NEW);
	assert_int_equal(sim_send(0, 1, IPI_CALL_MANY, 1250), PEND_NEW);
	assert_int_equal(COALESCED, 0);
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 1300), 1);
	assert_int_equal(S.ev[0].kind, IPI_CALL_SINGLE);
	assert_int_equal(S.ev[0].lat_ns, 100);
	assert_int_equal(sim_handler(1, IPI_RESCHED, 1400), 1);
	assert_int_equal(S.ev[1].kind, IPI_RESCHED);
	assert_int_equal(S.ev[1].lat_ns, 400);
	assert_int_equal(sim_handler(1, IPI_CALL_MANY, 1450), 1);
	assert_int_equal(S.ev[2].lat_ns, 200);
	/* the same kind on another CPU is another slot */
	sim_send(0, 2, IPI_RESCHED, 2000);
	assert_int_equal(sim_handler(1, IPI_RESCHED, 2100), 0);
	assert_int_equal(sim_handler(2, IPI_RESCHED, 2100), 1);
}

static void test_send_cpu_kind(void **state)
{
	const __u64 cs_fn = 0xffffffff81100000ULL;
	const __u64 other = 0xffffffff81200000ULL;

	(void)state;
	/* no callback: smp_send_reschedule() */
	assert_int_equal(ipt_send_cpu_kind(0, 3, 1, cs_fn), IPI_RESCHED);
	assert_int_equal(ipt_send_cpu_kind(0, 1, 1, cs_fn), IPI_RESCHED);
	/* generic_smp_call_function_single_interrupt, also to self */
	assert_int_equal(ipt_send_cpu_kind(cs_fn, 3, 1, cs_fn), IPI_CALL_SINGLE);
	assert_int_equal(ipt_send_cpu_kind(cs_fn, 1, 1, cs_fn), IPI_CALL_SINGLE);
	/* another callback to self: irq_work_raise() */
	assert_int_equal(ipt_send_cpu_kind(other, 2, 2, cs_fn), IPI_IRQ_WORK);
	/* another callback to a remote CPU: not followed */
	assert_int_equal(ipt_send_cpu_kind(other, 3, 2, cs_fn), IPI_OTHER);
	/* the call-single symbol unknown (a weak __ksym is 0): a NULL
	 * callback is still a reschedule, not a call-single */
	assert_int_equal(ipt_send_cpu_kind(other, 3, 2, 0), IPI_OTHER);
	assert_int_equal(ipt_send_cpu_kind(0, 3, 2, 0), IPI_RESCHED);
	assert_int_equal(ipt_send_cpu_kind(0, 2, 2, 0), IPI_RESCHED);
}

/* The ipi_send_cpu program: kind from the callback, then pairing. */
static void test_send_cpu_tracepoint(void **state)
{
	(void)state;
	at(0, 1000);
	ipt_on_send_cpu(1, 0xffffffff81000010ULL, FN_CALL_SINGLE);
	at(0, 1100);
	ipt_on_send_cpu(1, 0xffffffff81000020ULL, 0);		/* resched */
	at(2, 1200);
	ipt_on_send_cpu(3, 0xffffffff81000030ULL, 0xffffffff81500000ULL);
	assert_int_equal(S.stats[ST_SEND_OTHER], 1);		/* remote, not ours */
	assert_int_equal(SENDS, 2);
	assert_int_equal(sim_handler(1, IPI_RESCHED, 1300), 1);
	assert_int_equal(S.ev[0].callsite, 0xffffffff81000020ULL);
	assert_int_equal(S.ev[0].func, 0);
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 1400), 1);
	assert_int_equal(S.ev[1].lat_ns, 400);
	/* without CSD pairing the function is not known */
	assert_int_equal(S.ev[1].func, 0);
	/* call-single symbol unknown: such a send is "other", never paired */
	ksym_call_single = 0;
	at(0, 2000);
	ipt_on_send_cpu(1, 0, FN_CALL_SINGLE);
	assert_int_equal(S.stats[ST_SEND_OTHER], 2);
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 2100), 0);
}

/* The IPIs of a ring-buffer wake-up (ours or another tracer's) are paired
 * and dropped: counted, never a record. */
static void test_tracer_ipi_dropped(void **state)
{
	(void)state;
	at(1, 1000);
	ipt_on_send_cpu(1, 0, FN_RB_NOTIFY);		/* irq_work self-IPI */
	assert_int_equal(S.stats[ST_TRACER_IPI], 1);
	assert_int_equal(sim_handler(1, IPI_IRQ_WORK, 1500), 0);
	assert_int_equal(S.stats[ST_HANDLED], 0);
	assert_int_equal(UNPAIRED, 0);
	assert_int_equal(SLOT(1, IPI_IRQ_WORK).send_ns, 0);
	/* another irq_work is traced */
	at(1, 2000);
	ipt_on_send_cpu(1, 0, 0xffffffff81600000ULL);
	assert_int_equal(sim_handler(1, IPI_IRQ_WORK, 2200), 1);
	assert_int_equal(S.ev[0].kind, IPI_IRQ_WORK);
	assert_int_equal(S.ev[0].func, 0xffffffff81600000ULL);
	assert_int_equal(S.stats[ST_HANDLED], 1);
	/* the wake-up symbol unknown: nothing is taken for ours */
	ksym_rb_notify = 0;
	at(1, 3000);
	ipt_on_send_cpu(1, 0, 0xffffffff81600000ULL);
	assert_int_equal(S.stats[ST_TRACER_IPI], 1);
}

/* CSD pairing: the queued function names the send that follows, and the
 * queue -> function entry latency goes to the CSD histogram. */
static void test_csd_pairing(void **state)
{
	const __u64 csd = 0xffff888001234560ULL, fn = 0xffffffff81700000ULL;
	struct ipt_hist_val *h;
	__u64 other;

	(void)state;
	csd_pairing = true;
	at(0, 1000);
	ipt_on_csd_queue(1, fn, csd);
	at(0, 1010);
	ipt_on_send_cpu(1, 0xffffffff81000010ULL, FN_CALL_SINGLE);
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 1500), 1);
	assert_int_equal(S.ev[0].func, fn);
	at(1, 1600);
	ipt_on_csd_entry(csd);
	h = &S.hist[1][IPT_NUMA_SAME * IPT_AGG_KINDS + IPI_KIND_MAX];
	assert_int_equal(h->count, 1);
	assert_int_equal(h->sum, 600);
	assert_int_equal(S.stats[ST_CSD_QUEUED], 1);
	assert_int_equal(S.stats[ST_CSD_RUN], 1);
	/* run again (or queued before the start): not paired */
	ipt_on_csd_entry(csd);
	assert_int_equal(S.stats[ST_CSD_UNPAIRED], 1);
	assert_int_equal(h->count, 1);
	/* a CSD queued for CPU 2 does not name a send to CPU 1 */
	at(0, 2000);
	ipt_on_csd_queue(2, fn, csd + 64);
	ipt_on_send_cpu(1, 0, FN_CALL_SINGLE);
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 2100), 1);
	assert_int_equal(S.ev[1].func, 0);
	/* a live CSD whose slot another one takes is a counted loss */
	at(0, 3000);
	other = csd + 128 + 64;		/* another CSD of the same slot */
	while (ipt_csd_slot(other) != ipt_csd_slot(csd + 128))
		other += 64;
	ipt_on_csd_queue(1, fn, csd + 128);
	ipt_on_csd_queue(1, fn, other);
	assert_int_equal(S.stats[ST_CSD_COLLISION], 1);
	/* with CSD pairing off the send does not look for a function */
	csd_pairing = false;
	at(0, 4000);
	ipt_on_csd_queue(1, fn, csd + 256);
	ipt_on_send_cpu(1, 0, FN_CALL_SINGLE);
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 4100), 1);
	assert_int_equal(S.ev[S.nev - 1].func, 0);
}

/* Aggregate mode: no records; the handler's CPU histogram of the pair's
 * NUMA class, and the (src, dst) counters only with -C. */
static void test_aggregate(void **state)
{
	struct ipt_hist_val *same, *cross;

	(void)state;
	aggregate = true;
	cpu_node[0] = cpu_node[1] = 0;
	cpu_node[2] = cpu_node[3] = 1;
	cpu_node[4] = -1;
	sim_send(0, 1, IPI_CALL_SINGLE, 1000);
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 3000), 0);
	sim_send(0, 2, IPI_CALL_SINGLE, 1000);
	assert_int_equal(sim_handler(2, IPI_CALL_SINGLE, 8000), 0);
	sim_send(0, 4, IPI_RESCHED, 1000);
	sim_handler(4, IPI_RESCHED, 1500);
	assert_int_equal(S.nev, 0);
	assert_int_equal(S.stats[ST_HANDLED], 3);
	same = &S.hist[1][IPT_NUMA_SAME * IPT_AGG_KINDS + IPI_CALL_SINGLE];
	cross = &S.hist[2][IPT_NUMA_CROSS * IPT_AGG_KINDS + IPI_CALL_SINGLE];
	assert_int_equal(same->count, 1);
	assert_int_equal(same->sum, 2000);
	assert_int_equal(cross->count, 1);
	assert_int_equal(cross->min, 7000);
	assert_int_equal(S.hist[4][IPT_NUMA_UNKNOWN * IPT_AGG_KINDS +
				   IPI_RESCHED].count, 1);
	assert_int_equal(S.pairs[0 * NCPU + 2].count[IPI_CALL_SINGLE], 0);
	pair_counts = true;
	sim_send(0, 2, IPI_CALL_SINGLE, 9000);
	sim_handler(2, IPI_CALL_SINGLE, 9500);
	assert_int_equal(S.pairs[0 * NCPU + 2].count[IPI_CALL_SINGLE], 1);
	assert_int_equal(S.pairs[0 * NCPU + 2].sum_ns, 500);
	assert_int_equal(cross->count, 2);
}

/* A send whose handler ran unseen: a later IPI handler of another kind on
 * its target shows the CPU took interrupts well after it; the handler that
 * finally finds it counts it as unserved instead of pairing it. */
static void test_unserved_send(void **state)
{
	(void)state;
	sim_send(0, 1, IPI_RESCHED, 1000000);
	/* its handler ran, but not through our program; later sends fold in */
	sim_send(0, 1, IPI_RESCHED, 1500000);
	/* a function-call IPI on CPU 1, 3 ms later: CPU 1 takes interrupts */
	sim_send(0, 1, IPI_CALL_SINGLE, 4000000);
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 4010000), 1);
	sim_send(0, 1, IPI_CALL_SINGLE, 9000000);
	assert_int_equal(sim_handler(1, IPI_CALL_SINGLE, 9010000), 1);
	/* 30 ms on, a reschedule handler finds the old send: not paired */
	assert_int_equal(sim_handler(1, IPI_RESCHED, 31000000), 0);
	assert_int_equal(S.stats[ST_UNSERVED], 1);
	assert_int_equal(S.stats[ST_HANDLED], 2);
	assert_int_equal(SLOT(1, IPI_RESCHED).send_ns, 0);
	/* a long latency with no interrupt taken meanwhile is real: paired */
	sim_send(0, 2, IPI_RESCHED, 40000000);
	assert_int_equal(sim_handler(2, IPI_RESCHED, 70000000), 1);
	assert_int_equal(S.ev[S.nev - 1].lat_ns, 30000000);
	/* within unserved_ns of the send another handler may run first (a
	 * higher-priority vector, delivery delay): still paired */
	sim_send(0, 3, IPI_CALL_SINGLE, 80000000);
	sim_send(0, 3, IPI_RESCHED, 80000100);
	assert_int_equal(sim_handler(3, IPI_RESCHED, 80000500), 1);
	assert_int_equal(sim_handler(3, IPI_CALL_SINGLE, 80000900), 1);
	/* interrupts off for 5 ms on CPU 4 with two IPIs pending: taken back
	 * to back (one burst), both really waited 5 ms */
	sim_send(0, 4, IPI_CALL_SINGLE, 90000000);
	assert_int_equal(sim_handler(4, IPI_CALL_SINGLE, 90000020), 1);
	sim_send(0, 4, IPI_CALL_SINGLE, 90001000);
	sim_send(0, 4, IPI_RESCHED, 90001100);
	assert_int_equal(sim_handler(4, IPI_RESCHED, 95000000), 1);
	assert_int_equal(sim_handler(4, IPI_CALL_SINGLE, 95000004), 1);
	assert_int_equal(S.ev[S.nev - 1].lat_ns, 4999004);
	assert_int_equal(S.stats[ST_UNSERVED], 1);
}

/* A machine with more CPUs than IPT_MAX_CPUS: the targets beyond it are
 * counted, one per target, never dropped silently. */
static void test_cpus_beyond_limit(void **state)
{
	__u64 words[IPT_MASK_WORDS_ALL] = { 0 };

	(void)state;
	nr_cpus = IPT_MAX_CPUS;
	nr_cpus_all = IPT_MAX_CPUS + 130;
	words[0] = 1 << 1;				/* CPU 1 */
	words[IPT_MASK_WORDS - 1] = 1ULL << 63;		/* CPU 1023 */
	words[IPT_MASK_WORDS] = 3;			/* CPUs 1024, 1025 */
	words[IPT_MASK_WORDS + 2] = 1 << 1;		/* CPU 1153 */
	at(0, 1000);
	ipt_on_send_mask(words, 0xffffffff81000000ULL);
	assert_int_equal(SENDS, 2);
	assert_int_equal(SLOT(1023, IPI_CALL_MANY).send_ns, 1000);
	assert_int_equal(S.stats[ST_CPU_RANGE], 3);
	/* a single-target send beyond the limit, and a handler there */
	at(0, 2000);
	ipt_note_send(IPT_MAX_CPUS + 5, IPI_CALL_SINGLE, 0, 0, 0);
	assert_int_equal(S.stats[ST_CPU_RANGE], 4);
	at(IPT_MAX_CPUS + 5, 3000);
	ipt_on_entry(IPI_CALL_SINGLE);
	assert_int_equal(S.stats[ST_CPU_RANGE], 5);
	assert_int_equal(SENDS, 2);
}

/* Aggregate mode with -C: a pair the full pair map refuses is a counted
 * loss; its latency still reaches the class histogram. */
static void test_pair_map_full(void **state)
{
	(void)state;
	aggregate = pair_counts = true;
	sim_send(0, 1, IPI_CALL_SINGLE, 1000);
	sim_handler(1, IPI_CALL_SINGLE, 1500);
	assert_int_equal(S.pairs[0 * NCPU + 1].count[IPI_CALL_SINGLE], 1);
	S.pair_map_full = true;
	sim_send(0, 2, IPI_CALL_SINGLE, 2000);
	sim_handler(2, IPI_CALL_SINGLE, 2700);
	assert_int_equal(S.stats[ST_PAIR_FULL], 1);
	assert_int_equal(S.stats[ST_HANDLED], 2);
	assert_int_equal(S.hist[2][IPT_NUMA_SAME * IPT_AGG_KINDS +
				   IPI_CALL_SINGLE].count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_single, setup),
		cmocka_unit_test_setup(test_self_flag_and_clock, setup),
		cmocka_unit_test_setup(test_coalesced, setup),
		cmocka_unit_test_setup(test_interleaved, setup),
		cmocka_unit_test_setup(test_multicast, setup),
		cmocka_unit_test_setup(test_handler_without_send, setup),
		cmocka_unit_test_setup(test_stale, setup),
		cmocka_unit_test_setup(test_concurrent_send_older_timestamp, setup),
		cmocka_unit_test_setup(test_slot_being_published, setup),
		cmocka_unit_test_setup(test_flags_reach_handler, setup),
		cmocka_unit_test_setup(test_kinds_apart, setup),
		cmocka_unit_test_setup(test_send_cpu_kind, setup),
		cmocka_unit_test_setup(test_send_cpu_tracepoint, setup),
		cmocka_unit_test_setup(test_tracer_ipi_dropped, setup),
		cmocka_unit_test_setup(test_csd_pairing, setup),
		cmocka_unit_test_setup(test_aggregate, setup),
		cmocka_unit_test_setup(test_unserved_send, setup),
		cmocka_unit_test_setup(test_cpus_beyond_limit, setup),
		cmocka_unit_test_setup(test_pair_map_full, setup),
	};

	return cmocka_run_group_tests_name("pair", tests, NULL, NULL);
}
