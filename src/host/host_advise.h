/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `ipitrace --host --advise`: the halt_poll_ns advisor (advice.h) fed live
 * from the host model. Every halt end (kick_set_halt_cb) is one advisor
 * halt; an IPI that ended a halt gives that halt its wake-up latency
 * (accept, else ICR write, to halt end), so the blocked and polled costs
 * are this host's medians by the target's state, from the kick path.
 * KVM's parameters (halt_poll_ns, grow, grow_start, shrink) are read from
 * /sys/module/kvm/parameters when tracing starts.
 */
#ifndef __IPT_HOST_ADVISE_H
#define __IPT_HOST_ADVISE_H

#include <linux/types.h>
#include "advice.h"
#include "emit.h"
#include "kick.h"

/* Used for a state with no traced wake-up (docs/advisor.md). */
#define HOST_ADV_BLOCKED_NS	25000
#define HOST_ADV_POLLED_NS	1500

struct host_advise;

/* @params: the directory of KVM's module parameters (NULL: the system's) */
struct host_advise *host_advise_new(const struct adv_opts *o,
				    const char *params);
void host_advise_free(struct host_advise *ha);
/* tracing starts now (@now_ns: CLOCK_MONOTONIC, like the events) */
void host_advise_start(struct host_advise *ha, __u64 now_ns);
/* kick_halt_cb: ctx is the struct host_advise */
void host_advise_halt(const struct kick_halt_sample *s, void *ctx);
void host_advise_result(struct host_advise *ha, const struct kick_result *r);
/* The advice over the halts so far, tracing ending at @end_ns. 0 or
 * -errno (-ENODATA: no halts). */
int host_advise_build(struct host_advise *ha, __u64 end_ns);
/* emit_fn: the "advice" member (costs and their source, then advice_emit);
 * only after a successful host_advise_build() */
void host_advise_emit(struct emitter *e, const void *ha);
/* The plot of all VMs; 0 or -errno. */
int host_advise_svg(const struct host_advise *ha, const char *path);

#endif
