/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host report: the VM exit tables (like `perf kvm stat`, plus p50/p99 of
 * exit-to-entry time), by reason (MSR exits also by MSR) and per vCPU,
 * as text and JSON, from the host model's exit rows.
 */
#ifndef __IPT_HOST_EXITS_H
#define __IPT_HOST_EXITS_H

#include <stdbool.h>
#include <stdio.h>
#include "json.h"
#include "kick.h"

/* @detail: the tables, else the total only; @hooked: kvm_exit attached */
void host_exits_text(FILE *f, const struct kick *k, bool detail, bool hooked);
/* "exits_observable", "exits" and "exits_per_vcpu" */
void host_exits_json(struct jw *w, const struct kick *k);

#endif
