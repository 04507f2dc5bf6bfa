// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "files.h"
#include "privs.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#ifndef CAP_SYSLOG
#define CAP_SYSLOG 34
#endif

static int read_caps(struct __user_cap_data_struct *d)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	memset(d, 0, 2 * sizeof(*d));
	return syscall(SYS_capget, &hdr, d) ? -errno : 0;
}

static int has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return !!(d[cap / 32].effective & (1U << (cap % 32)));
}

/* Root is not enough: what counts is the effective set (a service may run
 * as root with a reduced bounding set). */
int check_privileges(FILE *err)
{
	struct __user_cap_data_struct d[2];

	if (read_caps(d)) {
		fprintf(err, "ipitrace: cannot read this process's capabilities: %s\n",
			strerror(errno));
		return -1;
	}
	if (has_cap(d, CAP_SYS_ADMIN) ||
	    (has_cap(d, CAP_BPF) && has_cap(d, CAP_PERFMON)))
		return 0;
	fprintf(err, "ipitrace: need root, or the capabilities%s%s to load and attach BPF programs\n",
		has_cap(d, CAP_BPF) ? "" : " CAP_BPF",
		has_cap(d, CAP_PERFMON) ? "" : " CAP_PERFMON");
	return -1;
}

static int read_int_file(const char *path, int *v)
{
	FILE *f = fopen(path, "re");
	int ok = f && fscanf(f, "%d", v) == 1;

	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

void kallsyms_hidden_reason(char *buf, size_t len)
{
	struct __user_cap_data_struct d[2];
	int kptr = -1;

	read_int_file("/proc/sys/kernel/kptr_restrict", &kptr);
	if (kptr >= 2)
		snprintf(buf, len, "kernel.kptr_restrict=%d hides kernel addresses even from root",
			 kptr);
	else if (kptr == 1 && (read_caps(d) || !has_cap(d, CAP_SYSLOG)))
		snprintf(buf, len, "kernel.kptr_restrict=1 and no CAP_SYSLOG: kernel addresses are hidden");
	else
		snprintf(buf, len, "the symbol is not in /proc/kallsyms (kernel.kptr_restrict=%d)",
			 kptr);
}

/* Capabilities kept once every program is attached: reading and updating
 * maps is a bpf() call, which needs CAP_BPF; nothing else is needed. */
static const int kept_caps[] = { CAP_BPF };

int drop_privileges(FILE *err)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	size_t i;

	if (read_caps(d))
		return -1;
	for (i = 0; i < 2; i++) {
		__u32 keep = 0;
		size_t k;

		for (k = 0; k < sizeof(kept_caps) / sizeof(kept_caps[0]); k++)
			if (kept_caps[k] / 32 == (int)i)
				keep |= 1U << (kept_caps[k] % 32);
		d[i].effective &= keep;
		d[i].permitted &= keep;
		d[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, d) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		fprintf(err, "ipitrace: cannot drop capabilities: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

int check_btf(const char *btf_path, FILE *err)
{
	const char *path = btf_path ? btf_path : "/sys/kernel/btf/vmlinux";
	int ret = check_regular_file(path);

	if (!ret)
		return 0;
	if (btf_path)
		fprintf(err, "ipitrace: cannot read BTF file '%s': %s\n",
			btf_path, file_strerror(ret));
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
