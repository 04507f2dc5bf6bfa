// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "privs.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return !!(d[cap / 32].effective & (1U << (cap % 32)));
}

int check_privileges(FILE *err)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};

	if (geteuid() == 0)
		return 0;
	if (!syscall(SYS_capget, &hdr, data) &&
	    (has_cap(data, CAP_SYS_ADMIN) ||
	     (has_cap(data, CAP_BPF) && has_cap(data, CAP_PERFMON))))
		return 0;
	fprintf(err, "ipitrace: need root (or CAP_BPF and CAP_PERFMON) to load BPF programs\n");
	return -1;
}

int check_btf(const char *btf_path, FILE *err)
{
	const char *path = btf_path ? btf_path : "/sys/kernel/btf/vmlinux";

	if (!access(path, R_OK))
		return 0;
	if (btf_path)
		fprintf(err, "ipitrace: cannot read BTF file '%s': %s\n",
			btf_path, strerror(errno));
	else
		fprintf(err, "ipitrace: kernel BTF not found at %s (kernel built without CONFIG_DEBUG_INFO_BTF?); pass --btf FILE\n",
			path);
	return -1;
}

static int verbose_level;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	if (!verbose_level && level != LIBBPF_WARN)
		return 0;
	if (!verbose_level)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void setup_libbpf_logging(int verbose)
{
	verbose_level = verbose;
	libbpf_set_print(libbpf_print);
}
