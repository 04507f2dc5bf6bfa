/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __IPT_PRIVS_H
#define __IPT_PRIVS_H

#include <stdio.h>

/* 0 when we may load and attach tracing programs (root, or CAP_BPF with
 * CAP_PERFMON, or CAP_SYS_ADMIN); else prints why on @err and returns -1. */
int check_privileges(FILE *err);
/* 0 when CO-RE has BTF: @btf_path if given, else the kernel's own. */
int check_btf(const char *btf_path, FILE *err);
/* libbpf messages only with -v */
void setup_libbpf_logging(int verbose);

#endif
