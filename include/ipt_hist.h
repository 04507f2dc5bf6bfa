/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Log-linear histogram layout shared by the BPF programs (aggregate mode
 * keeps these in per-CPU maps) and user space (src/common/hist.c): 8 sub-buckets
 * per power of two, exact count/sum/min/max.
 */
#ifndef __IPT_HIST_H_SHARED
#define __IPT_HIST_H_SHARED

#define HIST_SUB_BITS	3
#define HIST_SUB	(1 << HIST_SUB_BITS)
#define HIST_SLOTS	(64 * HIST_SUB)

struct ipt_hist_val {
	__u64 slots[HIST_SLOTS];
	__u64 count;
	__u64 sum;
	__u64 min;
	__u64 max;
};

/* floor(log2(v)) for v > 0, without a count-leading-zeros instruction
 * (BPF has none). */
static __always_inline int ipt_ilog2(__u64 v)
{
	int r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1)
		r += 1;
	return r;
}

static __always_inline int ipt_hist_slot(__u64 v)
{
	int e;

	if (v < HIST_SUB)
		return (int)v;
	e = ipt_ilog2(v);
	return (e - HIST_SUB_BITS + 1) * HIST_SUB +
	       (int)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* Update from the CPU that owns this per-CPU value: no atomics needed. */
static __always_inline void ipt_hist_add(struct ipt_hist_val *h, __u64 v)
{
	int s = ipt_hist_slot(v);

	if (s >= 0 && s < HIST_SLOTS)
		h->slots[s]++;
	if (!h->count || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += v;
}

#endif
