/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host report: halts and halt polling (kvm_vcpu_wakeup, kvm_halt_poll_ns)
 * in total and per vCPU, as text and JSON, from the host model.
 */
#ifndef __IPT_HOST_HALTS_H
#define __IPT_HOST_HALTS_H

#include <stdbool.h>
#include <stdio.h>
#include "json.h"
#include "kick.h"

/* @detail: histogram and per-vCPU table; @hooked: kvm_vcpu_wakeup attached */
void host_halts_text(FILE *f, const struct kick *k, bool detail, bool hooked);
/* the "halt" object */
void host_halts_json(struct jw *w, const struct kick *k);

#endif
