/* SPDX-License-Identifier: GPL-2.0 */
/* Finding vCPU threads: QEMU (and our test VM) name them "CPU N/KVM". */
#ifndef __IPT_VCPUS_H
#define __IPT_VCPUS_H

#include <sys/types.h>

typedef void (*vcpu_found_fn)(pid_t pid, pid_t tid, int vcpu, void *ctx);

/* vCPU number from a thread name, -1 if it is not a vCPU thread's. */
int vcpu_from_comm(const char *comm);
/* Walk <proc_root>/<pid>/task/<tid>/comm (only @pid when > 0); calls @fn
 * for each vCPU thread. Returns how many were found, or -errno. */
int vcpu_scan(const char *proc_root, pid_t pid, vcpu_found_fn fn, void *ctx);

#endif
