/* SPDX-License-Identifier: GPL-2.0 */
/* CPU -> NUMA node map, from sysfs or from an explicit map. */
#ifndef __IPT_TOPOLOGY_H
#define __IPT_TOPOLOGY_H

#include <linux/types.h>
#include "ipitrace.h"

#define TOPOLOGY_MAX_CPUS	8192	/* x86 CONFIG_NR_CPUS upper bound */
#define TOPOLOGY_MAX_NODES	1024	/* 1 << CONFIG_NODES_SHIFT max */

struct topology {
	int nr_cpus;		/* 1 + highest CPU id seen (possible CPUs) */
	int nr_nodes;		/* 1 + highest node id */
	int *cpu_node;		/* [nr_cpus]; -1 when the CPU has no node (offline/unknown) */
};

/*
 * Load the map from sysfs. @sysfs_root is "/sys" normally (NULL means
 * "/sys"); reads <root>/devices/system/node/node<N>/cpulist and
 * <root>/devices/system/cpu/possible (if present). nr_cpus covers every
 * possible CPU and every CPU listed by a node. Without node directories
 * (no NUMA) every possible CPU is on node 0. Memory-only nodes (empty
 * cpulist) count towards nr_nodes.
 *
 * @t is overwritten (not freed). Returns 0, or -errno and leaves @t
 * empty (zeroed): -ENOENT when neither source exists, -EINVAL on a
 * malformed file or a CPU listed by two nodes.
 */
int topology_load(struct topology *t, const char *sysfs_root);

/*
 * Explicit map, e.g. for --numa-map or tests. Syntax:
 *
 *	map   := group ( '/' group )*
 *	group := cpulist ':' node
 *
 * e.g. "0-1,4:0/2-3,5:1": CPUs 0, 1, 4 on node 0; 2, 3, 5 on node 1.
 * cpulist is the kernel list format below, node a decimal < 1024. No
 * whitespace. CPUs not listed map to -1. A CPU listed twice, an empty
 * group or any malformed part => -EINVAL, a CPU >= TOPOLOGY_MAX_CPUS =>
 * -ERANGE; @t is left empty on error.
 */
int topology_parse_map(struct topology *t, const char *spec);

/* Node of @cpu, -1 if unknown or out of range. */
int topology_node_of(const struct topology *t, int cpu);

/* 1 when @a and @b are on the same node, 0 cross-node, -1 unknown. */
int topology_same_node(const struct topology *t, int a, int b);

/* IPT_NUMA_SAME for one CPU with itself; IPT_NUMA_UNKNOWN without a map, for a
 * negative CPU or one without a node. */
enum ipt_numa topology_class(const struct topology *t, int a, int b);

/* Release the map and zero @t; safe on an empty or zeroed @t. */
void topology_free(struct topology *t);

/*
 * Parse a kernel cpulist ("0-3,8,10-11", one trailing '\n' allowed) and
 * set set[cpu] = 1 for each listed CPU (other entries are left alone;
 * @set may be NULL to only validate). Returns 1 + the highest CPU listed,
 * -EINVAL on malformed input (empty, "3-1", "1,,2", signs, spaces,
 * stride syntax), -ERANGE when a CPU is >= @max. On error @set may be
 * partly written.
 */
int cpulist_parse(const char *s, unsigned char *set, int max);

/* "same", "cross", "unknown" (enum ipt_numa) */
const char *numa_class_name(int c);

#endif
