// SPDX-License-Identifier: GPL-2.0
/* CPU -> NUMA node map, from sysfs or from an explicit map. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "files.h"
#include "topology.h"

/* Scratch state while building a map: node per CPU, and a CPU set. */
struct scratch {
	int *map;		/* [TOPOLOGY_MAX_CPUS], -1 = no node */
	unsigned char *set;	/* [TOPOLOGY_MAX_CPUS] */
	int nr_cpus;
	int nr_nodes;
};

/* Decimal without sign or spaces; advances *p past the digits. */
static int parse_uint(const char **p, int *val)
{
	const char *s = *p;
	long v = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s++ - '0');
		if (v > INT_MAX)
			return -ERANGE;
	}
	*p = s;
	*val = (int)v;
	return 0;
}

/* "a" or "a-b"; advances *p. */
static int parse_range(const char **p, int *lo, int *hi)
{
	int err;

	err = parse_uint(p, lo);
	if (err)
		return err;
	*hi = *lo;
	if (**p != '-')
		return 0;
	(*p)++;
	err = parse_uint(p, hi);
	if (err)
		return err;
	return *hi < *lo ? -EINVAL : 0;
}

int cpulist_parse(const char *s, unsigned char *set, int max)
{
	int lo, hi, top = -1, err;

	if (!s)
		return -EINVAL;
	for (;;) {
		err = parse_range(&s, &lo, &hi);
		if (err)
			return err;
		if (hi >= max)
			return -ERANGE;
		if (set)
			memset(set + lo, 1, hi - lo + 1);
		if (hi > top)
			top = hi;
		if (*s != ',')
			break;
		s++;
	}
	if (*s == '\n')
		s++;
	return *s ? -EINVAL : top + 1;
}

static int scratch_init(struct scratch *sc)
{
	int i;

	sc->nr_cpus = 0;
	sc->nr_nodes = 0;
	sc->map = malloc(TOPOLOGY_MAX_CPUS * sizeof(*sc->map));
	sc->set = malloc(TOPOLOGY_MAX_CPUS);
	if (!sc->map || !sc->set) {
		free(sc->map);
		free(sc->set);
		return -ENOMEM;
	}
	for (i = 0; i < TOPOLOGY_MAX_CPUS; i++)
		sc->map[i] = -1;
	return 0;
}

static void scratch_fini(struct scratch *sc)
{
	free(sc->map);
	free(sc->set);
}

/* Map every CPU in sc->set (below @nr) to @node; a CPU mapped twice is an error. */
static int scratch_assign(struct scratch *sc, int nr, int node)
{
	int cpu;

	for (cpu = 0; cpu < nr; cpu++) {
		if (!sc->set[cpu])
			continue;
		if (sc->map[cpu] >= 0)
			return -EINVAL;
		sc->map[cpu] = node;
	}
	if (nr > sc->nr_cpus)
		sc->nr_cpus = nr;
	if (node + 1 > sc->nr_nodes)
		sc->nr_nodes = node + 1;
	return 0;
}

/* Copy the scratch map into @t. */
static int scratch_export(struct scratch *sc, struct topology *t)
{
	size_t sz = (size_t)sc->nr_cpus * sizeof(*t->cpu_node);

	t->cpu_node = malloc(sz ? sz : 1);
	if (!t->cpu_node)
		return -ENOMEM;
	memcpy(t->cpu_node, sc->map, sz);
	t->nr_cpus = sc->nr_cpus;
	t->nr_nodes = sc->nr_nodes;
	return 0;
}

/* sysfs node files are a line or two; a longer one is not a cpulist */
#define TOPOLOGY_FILE_MAX	(64 << 10)

static int read_file(const char *path, char **out)
{
	return read_small_file(path, TOPOLOGY_FILE_MAX, out);
}

static int build_path(char *buf, size_t len, const char *root, const char *rel)
{
	int n = snprintf(buf, len, "%s/devices/system/%s", root, rel);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Parse the cpulist file at @path into sc->set (cleared first). Returns
 * 1 + highest CPU, 0 for an empty list (memory-only node), or -errno.
 */
static int read_cpulist(struct scratch *sc, const char *path)
{
	char *buf = NULL;
	int ret;

	ret = read_file(path, &buf);
	if (ret)
		return ret;
	memset(sc->set, 0, TOPOLOGY_MAX_CPUS);
	if (buf[strspn(buf, " \n")] == '\0')
		ret = 0;
	else
		ret = cpulist_parse(buf, sc->set, TOPOLOGY_MAX_CPUS);
	free(buf);
	return ret;
}

/* "node<N>" => N, else -1. */
static int node_id(const char *name)
{
	const char *p = name + 4;
	int id;

	if (strncmp(name, "node", 4) || parse_uint(&p, &id) || *p)
		return -1;
	return id;
}

static int load_node(struct scratch *sc, const char *root, int node)
{
	char rel[64], path[PATH_MAX];
	int nr, err;

	if (node >= TOPOLOGY_MAX_NODES)
		return -EINVAL;
	snprintf(rel, sizeof(rel), "node/node%d/cpulist", node);
	err = build_path(path, sizeof(path), root, rel);
	if (err)
		return err;
	nr = read_cpulist(sc, path);
	if (nr < 0)
		return nr == -ERANGE ? -EINVAL : nr;
	return scratch_assign(sc, nr, node);
}

/* Returns the number of node directories loaded, or -errno. */
static int load_nodes(struct scratch *sc, const char *root)
{
	char path[PATH_MAX];
	struct dirent *de;
	int id, cnt = 0, err;
	DIR *dir;

	err = build_path(path, sizeof(path), root, "node");
	if (err)
		return err;
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		id = node_id(de->d_name);
		if (id < 0)
			continue;
		err = load_node(sc, root, id);
		if (err)
			break;
		cnt++;
	}
	closedir(dir);
	return err ? err : cnt;
}

/*
 * Read cpu/possible into sc->set; returns 1 + highest possible CPU, 0
 * when the file is absent, or -errno.
 */
static int load_possible(struct scratch *sc, const char *root)
{
	char path[PATH_MAX];
	int nr, err;

	err = build_path(path, sizeof(path), root, "cpu/possible");
	if (err)
		return err;
	nr = read_cpulist(sc, path);
	if (nr == -ENOENT)
		return 0;
	return nr == -ERANGE ? -EINVAL : nr;
}

static int load(struct scratch *sc, const char *root)
{
	int nr_nodes, nr_possible;

	nr_nodes = load_nodes(sc, root);
	if (nr_nodes < 0)
		return nr_nodes;
	nr_possible = load_possible(sc, root);
	if (nr_possible < 0)
		return nr_possible;
	if (!nr_nodes) {
		/* No NUMA: every possible CPU on node 0. */
		if (!nr_possible)
			return -ENOENT;
		return scratch_assign(sc, nr_possible, 0);
	}
	/* Possible CPUs without a node keep -1. */
	if (nr_possible > sc->nr_cpus)
		sc->nr_cpus = nr_possible;
	return sc->nr_cpus ? 0 : -ENOENT;
}

int topology_load(struct topology *t, const char *sysfs_root)
{
	struct scratch sc;
	int err;

	memset(t, 0, sizeof(*t));
	if (!sysfs_root)
		sysfs_root = "/sys";
	err = scratch_init(&sc);
	if (err)
		return err;
	err = load(&sc, sysfs_root);
	if (!err)
		err = scratch_export(&sc, t);
	scratch_fini(&sc);
	return err;
}

/* One "cpulist:node" group, modified in place. */
static int parse_group(struct scratch *sc, char *group)
{
	char *colon = strrchr(group, ':');
	const char *p;
	int node, nr, err;

	if (!colon)
		return -EINVAL;
	*colon = '\0';
	p = colon + 1;
	err = parse_uint(&p, &node);
	if (err || *p || node >= TOPOLOGY_MAX_NODES)
		return -EINVAL;
	memset(sc->set, 0, TOPOLOGY_MAX_CPUS);
	nr = cpulist_parse(group, sc->set, TOPOLOGY_MAX_CPUS);
	if (nr < 0)
		return nr;
	return scratch_assign(sc, nr, node);
}

static int parse_map(struct scratch *sc, char *spec)
{
	char *group;
	int err;

	if (strpbrk(spec, " \t\r\n"))
		return -EINVAL;
	while ((group = strsep(&spec, "/"))) {
		err = parse_group(sc, group);
		if (err)
			return err;
	}
	return 0;
}

int topology_parse_map(struct topology *t, const char *spec)
{
	struct scratch sc;
	char *copy;
	int err;

	memset(t, 0, sizeof(*t));
	if (!spec)
		return -EINVAL;
	err = scratch_init(&sc);
	if (err)
		return err;
	copy = strdup(spec);
	err = copy ? parse_map(&sc, copy) : -ENOMEM;
	if (!err)
		err = scratch_export(&sc, t);
	free(copy);
	scratch_fini(&sc);
	return err;
}

int topology_node_of(const struct topology *t, int cpu)
{
	if (!t || !t->cpu_node || cpu < 0 || cpu >= t->nr_cpus)
		return -1;
	return t->cpu_node[cpu];
}

int topology_same_node(const struct topology *t, int a, int b)
{
	int na = topology_node_of(t, a), nb = topology_node_of(t, b);

	if (na < 0 || nb < 0)
		return -1;
	return na == nb;
}

void topology_free(struct topology *t)
{
	if (!t)
		return;
	free(t->cpu_node);
	memset(t, 0, sizeof(*t));
}

enum ipt_numa topology_class(const struct topology *t, int a, int b)
{
	int same;

	if (a >= 0 && a == b)
		return IPT_NUMA_SAME;
	if (!t || a < 0 || b < 0)
		return IPT_NUMA_UNKNOWN;
	same = topology_same_node(t, a, b);
	return same < 0 ? IPT_NUMA_UNKNOWN : same ? IPT_NUMA_SAME : IPT_NUMA_CROSS;
}

static const char *numa_names[IPT_NUMA_MAX] = {
	[IPT_NUMA_SAME] = "same",
	[IPT_NUMA_CROSS] = "cross",
	[IPT_NUMA_UNKNOWN] = "unknown",
};

const char *numa_class_name(int c)
{
	return c >= 0 && c < IPT_NUMA_MAX ? numa_names[c] : "?";
}
