// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the guest BPF programs' logic, continued (tests/unit/
 * pair_sim.h): CSD pairing, aggregate mode, the pair map, CPUs beyond the
 * traced range.
 */
#include "pair_sim.h"

/* CSD pairing: the queued function names the send that follows, and the
 * queue -> function entry latency goes to the CSD histogram. */
static void test_csd_pairing(void **state)
{
	const __u64 csd = 0xffff888001234560ULL, fn = 0xffffffff81700000ULL;
	struct ipt_hist_val *h;
	__u64 other, third;

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
	/* two live CSDs of one set both keep their slot; a third one
	 * replaces one of them: a counted loss */
	at(0, 3000);
	other = csd + 128 + 64;		/* another CSD of the same set */
	while (ipt_csd_slot(other, 0) != ipt_csd_slot(csd + 128, 0))
		other += 64;
	third = other + 64;
	while (ipt_csd_slot(third, 0) != ipt_csd_slot(csd + 128, 0))
		third += 64;
	ipt_on_csd_queue(1, fn, csd + 128);
	ipt_on_csd_queue(1, fn, other);
	assert_int_equal(S.stats[ST_CSD_COLLISION], 0);
	ipt_on_csd_entry(other);
	ipt_on_csd_entry(csd + 128);
	assert_int_equal(S.stats[ST_CSD_UNPAIRED], 1);	/* the one above */
	ipt_on_csd_queue(1, fn, csd + 128);
	ipt_on_csd_queue(1, fn, other);
	ipt_on_csd_queue(1, fn, third);
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
		cmocka_unit_test_setup(test_csd_pairing, setup),
		cmocka_unit_test_setup(test_aggregate, setup),
		cmocka_unit_test_setup(test_cpus_beyond_limit, setup),
		cmocka_unit_test_setup(test_pair_map_full, setup),
	};

	return cmocka_run_group_tests_name("pair_agg", tests, NULL, NULL);
}
