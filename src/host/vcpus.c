// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vcpus.h"

int vcpu_from_comm(const char *comm)
{
	char *end;
	long n;

	if (strncmp(comm, "CPU ", 4) || !isdigit((unsigned char)comm[4]))
		return -1;
	n = strtol(comm + 4, &end, 10);
	if (strncmp(end, "/KVM", 4) || (end[4] && end[4] != '\n') || n > 1 << 20)
		return -1;
	return (int)n;
}

static int numeric(const char *s)
{
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static int scan_tasks(const char *proc_root, pid_t pid, vcpu_found_fn fn,
		      void *ctx)
{
	char path[512], comm[64];
	struct dirent *d;
	int found = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%d/task", proc_root, pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		FILE *f;
		int vcpu;

		if (!numeric(d->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%d/task/%s/comm", proc_root,
			 pid, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) &&
		    (vcpu = vcpu_from_comm(comm)) >= 0) {
			fn(pid, atoi(d->d_name), vcpu, ctx);
			found++;
		}
		fclose(f);
	}
	closedir(dir);
	return found;
}

int vcpu_scan(const char *proc_root, pid_t pid, vcpu_found_fn fn, void *ctx)
{
	struct dirent *d;
	int found = 0;
	DIR *dir;

	if (pid > 0)
		return scan_tasks(proc_root, pid, fn, ctx);
	dir = opendir(proc_root);
	if (!dir)
		return -errno;
	while ((d = readdir(dir)))
		if (numeric(d->d_name))
			found += scan_tasks(proc_root, atoi(d->d_name), fn, ctx);
	closedir(dir);
	return found;
}
