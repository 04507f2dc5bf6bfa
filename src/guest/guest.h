/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __IPT_GUEST_H
#define __IPT_GUEST_H

#include "cli.h"
#include "hooks.h"

/* The guest-side roles and their candidate hooks, best first. */
extern const struct hook_role guest_roles_template[];
extern const int guest_nr_roles;

int guest_run(const struct ipt_opts *o);

#endif
