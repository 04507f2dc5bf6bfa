/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The simulator the guest BPF logic's unit tests run on: the code the
 * programs run (include/ipi_guest_core.h over include/ipi_pair.h), driven
 * by synthetic event sequences through shims in place of the clock, maps
 * and rings. Included by tests/unit/test_pair.c and test_pair_agg.c.
 */
#ifndef __PAIR_SIM_H
#define __PAIR_SIM_H

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

static inline __u64 ipt_now(void) { return S.now; }
static inline __u32 ipt_this_cpu(void) { return S.cpu; }
static inline void ipt_stat(__u32 idx) { S.stats[idx]++; }
static inline void ipt_stat_add(__u32 idx, __u64 n) { S.stats[idx] += n; }

static inline void ipt_emit(const struct ipi_event *e)
{
	assert_true(S.nev < MAX_EV);
	S.ev[S.nev++] = *e;
}

static inline struct ipt_hist_val *ipt_hist(__u32 idx)
{
	return idx < IPT_AGG_SLOTS ? &S.hist[S.cpu][idx] : NULL;
}

static inline struct ipt_pair_val *ipt_pair(__u32 src, __u32 dst)
{
	if (S.pair_map_full || src >= NCPU || dst >= NCPU)
		return NULL;
	return &S.pairs[src * NCPU + dst];
}

static inline __u64 ipt_mask_word(const void *mask, __u32 w)
{
	return ((const __u64 *)mask)[w];
}

#include "ipi_guest_core.h"

static inline int setup(void **state)
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

static inline void at(__u32 cpu, __u64 t)
{
	S.cpu = cpu;
	S.now = t;
}

/* note_send() from @src to @dst; returns what the pending slot made of it */
static inline int sim_send_fn(__u32 src, __u32 dst, int kind, __u64 t,
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

static inline int sim_send(__u32 src, __u32 dst, int kind, __u64 t)
{
	return sim_send_fn(src, dst, kind, t, 0xffffffff81000000ULL + src,
			   0xffffffff82000000ULL + kind);
}

/* on_send_mask(): one multicast send fans out to every CPU in @mask */
static inline void sim_send_mask(__u32 src, __u64 mask, __u64 t)
{
	__u64 words[IPT_MASK_WORDS_ALL] = { mask };

	at(src, t);
	ipt_on_send_mask(words, 0xffffffff81000000ULL + src);
}

/* on_entry(): handler entry on @cpu; returns 1 if a record was emitted */
static inline int sim_handler(__u32 cpu, int kind, __u64 t)
{
	int n = S.nev;

	assert_true(cpu < NCPU && kind < IPI_KIND_MAX);
	at(cpu, t);
	ipt_on_entry(kind);
	return S.nev - n;
}

/* on_tick(): a local timer interrupt on @cpu */
static inline void sim_tick(__u32 cpu, __u64 t)
{
	at(cpu, t);
	ipt_on_tick();
}

#define SENDS		S.stats[ST_SENDS]
#define COALESCED	S.stats[ST_COALESCED]
#define OVERWRITTEN	S.stats[ST_PENDING_OVERWRITE]
#define UNPAIRED	S.stats[ST_UNPAIRED_HANDLER]
#define SLOT(c, k)	pending[c].kind[k]

static inline const struct ipi_event *find_ev(__u32 src, __u32 dst, int kind)
{
	int i;

	for (i = 0; i < S.nev; i++)
		if (S.ev[i].src_cpu == src && S.ev[i].dst_cpu == dst &&
		    S.ev[i].kind == kind)
			return &S.ev[i];
	fail_msg("no event %u -> %u kind %d", src, dst, kind);
	return NULL;
}

#endif
