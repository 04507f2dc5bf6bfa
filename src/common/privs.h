/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __IPT_PRIVS_H
#define __IPT_PRIVS_H

#include <stddef.h>
#include <stdio.h>

/* 0 when we may load and attach tracing programs (CAP_BPF with
 * CAP_PERFMON, or CAP_SYS_ADMIN, in the effective set); else names what
 * is missing on @err and returns -1. */
int check_privileges(FILE *err);
/* Why kernel addresses cannot be read from /proc/kallsyms, into @buf. */
void kallsyms_hidden_reason(char *buf, size_t len);
/* Once attached: keep only CAP_BPF (map reads), forbid regaining any
 * (no_new_privs). Returns 0 or -1 with a message. */
int drop_privileges(FILE *err);
/* 0 when CO-RE has BTF: @btf_path if given, else the kernel's own. */
int check_btf(const char *btf_path, FILE *err);
/* libbpf messages only with -v */
void setup_libbpf_logging(int verbose);

#endif
