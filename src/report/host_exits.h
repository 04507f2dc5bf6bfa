/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host report: the VM exit tables (like `perf kvm stat`, plus p50/p99 of
 * exit-to-entry time), by reason (MSR exits also by MSR) and per vCPU,
 * from the host model's exit rows, through the emitter.
 */
#ifndef __IPT_HOST_EXITS_H
#define __IPT_HOST_EXITS_H

#include <stdbool.h>
#include "emit.h"
#include "kick.h"

/* "exits_observable", "exits_total", "exits_timed", "exits" and
 * "exits_per_vcpu"; people get the total and, with @detail, the tables.
 * @hooked: kvm_exit attached. */
void host_exits_emit(struct emitter *e, const struct kick *k, bool detail,
		     bool hooked);
/* The exit families of a scrape: counts and exit-to-entry histograms by
 * reason (and MSR). */
void host_exits_scrape(struct emitter *e, const struct kick *k);

#endif
