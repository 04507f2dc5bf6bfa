/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host report: halts and halt polling (kvm_vcpu_wakeup, kvm_halt_poll_ns)
 * in total and per vCPU, from the host model, through the emitter.
 */
#ifndef __IPT_HOST_HALTS_H
#define __IPT_HOST_HALTS_H

#include <stdbool.h>
#include "emit.h"
#include "kick.h"

/* The "halt" object; people get its summary lines and, with @detail, the
 * histogram and per-vCPU table. @hooked: kvm_vcpu_wakeup attached. */
void host_halts_emit(struct emitter *e, const struct kick *k, bool detail,
		     bool hooked);
/* The halt families of a scrape: halts by outcome, seconds polling and
 * waiting, poll-window changes. */
void host_halts_scrape(struct emitter *e, const struct kick *k);

#endif
