/* SPDX-License-Identifier: GPL-2.0 */
/* What the guest and host front ends share: hook selection, attaching,
 * reading in-kernel counters, and the trace loop's clock. */
#ifndef __IPT_LOADER_H
#define __IPT_LOADER_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "hooks.h"

struct bpf_object;
struct bpf_link;

#define LOADER_MAX_LINKS 64

struct links {
	struct bpf_link *l[LOADER_MAX_LINKS];
	int n;
};

/* Probe the running kernel and choose hooks, preferring hooks of type
 * @force (--force-hooks; HOOK_NONE: best first) per role; prints the error
 * unless @quiet. Returns 0 or -ENOENT (a required role has no hook). */
struct ksyms;
int select_kernel_hooks(struct hook_role *roles, int n, const struct ksyms *ks,
			bool quiet, enum hook_type force);
void print_hook_table(FILE *f, const struct hook_role *roles, int n);
void detach_programs(struct links *links);
/* Sum a per-CPU array of u64 counters into out[0..n). */
void read_percpu_counters(int map_fd, int n, __u64 *out);
/* Runs the kernel skipped for our programs (bpf_prog_info.recursion_misses). */
__u64 prog_recursion_misses(struct bpf_object *obj);
double mono_now(void);

struct ipt_opts;

/* What a mode does in the shared trace loop. */
/* The longest a trace loop sleeps: a mode without rings wakes this often. */
#define IPT_TICK_MAX_MS		1000
/* A mode with rings to drain wakes at least this often. */
#define IPT_TICK_RING_MS	50

struct trace_ops {
	/* wait up to @max_ms (the next report or the end is due then),
	 * serving what must be served; a mode with rings to drain waits less */
	void (*tick)(void *ctx, int max_ms);
	void (*drain)(void *ctx);		/* consume the rings */
	void (*finish)(void *ctx);		/* before the last report */
	void (*report)(void *ctx, double span);	/* one report covering @span s */
};

/* Until -d, -c interval reports or a signal: tick, drain, report per -i;
 * then the final report (unless the last interval has just been printed). */
void trace_loop(const struct ipt_opts *o, const struct trace_ops *ops,
		void *ctx);

struct topology;
/* From --numa-map when given, else from sysfs under @sysfs_root (NULL:
 * /sys); prints why it failed. */
int load_topology(struct topology *t, const char *sysfs_root,
		  const char *numa_map);

/* Set by SIGINT / SIGTERM: the trace loops end and print the final report. */
extern volatile sig_atomic_t tracer_exiting;

/* Logging, privileges, BTF, signal handlers: what every tracer mode checks
 * before it touches the kernel. Prints why and returns -1 when it cannot go
 * on. */
int tracer_prepare(int verbose, const char *btf);

#endif
