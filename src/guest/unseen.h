/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Handlers no program of ours ran in: a kernel may run no BPF program in
 * some contexts (seen on this project's 6.18 guest: none while one task
 * runs, not even in the IPIs that interrupt it, and no recursion miss
 * counted). /proc/interrupts counts every handler; the difference over a
 * span is the loss "handlers_unseen".
 */
#ifndef __IPT_UNSEEN_H
#define __IPT_UNSEEN_H

#include <stdbool.h>
#include <linux/types.h>
#include "irqstat.h"

struct hook_role;

/* The IPI handler entries our programs ran in, from the kernel counters of
 * their outcomes: paired, without a send, unserved, a tracer's IPI. */
__u64 handlers_seen(const __u64 *stats);

/* Whether every handler role /proc/interrupts counts is attached: the
 * comparison is meaningless with one missing. */
bool unseen_roles_ok(const struct hook_role *roles, int n);
/*
 * IPIs the kernel counted in [irq0, irq1] beyond the handler entries our
 * programs counted in [seen0, seen1], at least 0. Read the interrupts
 * inside the counters' span (after them at its start, before them at its
 * end) and a handler we saw is never taken for one we did not.
 */
__u64 unseen_between(const __u64 irq0[IRQ_ROWS], __u64 seen0,
		     const __u64 irq1[IRQ_ROWS], __u64 seen1);

#endif
