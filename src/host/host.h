/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __IPT_HOST_H
#define __IPT_HOST_H

#include "cli.h"
#include "hooks.h"

extern const struct hook_role host_roles_template[];
extern const int host_nr_roles;

int host_run(const struct ipt_opts *o);

#endif
