// SPDX-License-Identifier: GPL-2.0
/*
 * ipi_floor: the "empty program" floor for the overhead benchmark.
 *
 * tp_btf programs on the same hooks ipitrace uses for single-target
 * function-call IPIs, each doing one atomic add to a global counter and
 * nothing else. Their run_time_ns / run_cnt (kernel.bpf_stats_enabled) is
 * the least a BPF program on these hooks can cost on this machine.
 *
 * With clock_pair set (ipt_floor --clock) each program also does the least
 * any send-to-handler pairing must: the send side reads the clock and
 * publishes it, the handler side reads the clock and subtracts. The
 * difference between the two floors is what timestamps alone cost.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile bool clock_pair;

__u64 send_cnt;
__u64 handler_cnt;
__u64 send_ns;
__u64 lat_sum_ns;

static __always_inline void floor_on_send(void)
{
	__sync_fetch_and_add(&send_cnt, 1);
	if (clock_pair)
		send_ns = bpf_ktime_get_ns();
}

static __always_inline void floor_on_handler(void)
{
	__sync_fetch_and_add(&handler_cnt, 1);
	if (clock_pair)
		lat_sum_ns += bpf_ktime_get_ns() - send_ns;
}

/* Plain ctx signature: the arguments are not read, only the call counted. */
SEC("tp_btf/ipi_send_cpu")
int floor_send(__u64 *ctx)
{
	(void)ctx;
	floor_on_send();
	return 0;
}

SEC("tp_btf/call_function_single_entry")
int floor_handler(__u64 *ctx)
{
	(void)ctx;
	floor_on_handler();
	return 0;
}

/* The same floor on the other IPI kinds' hooks (reschedule, multicast). */
SEC("tp_btf/ipi_send_cpumask")
int floor_send_mask(__u64 *ctx)
{
	(void)ctx;
	floor_on_send();
	return 0;
}

SEC("tp_btf/reschedule_entry")
int floor_resched(__u64 *ctx)
{
	(void)ctx;
	floor_on_handler();
	return 0;
}

SEC("tp_btf/call_function_entry")
int floor_call_many(__u64 *ctx)
{
	(void)ctx;
	floor_on_handler();
	return 0;
}
