// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "files.h"
#include "irqstat.h"

#define IRQSTAT_MAX_BYTES	(64u << 20)	/* 1,024 CPUs: a few MB */

static const char *const row_names[IRQ_ROWS] = {
	[IRQ_CAL] = "CAL",
	[IRQ_RES] = "RES",
	[IRQ_IWI] = "IWI",
};

const char *irqstat_row_name(enum irq_row row)
{
	return row >= 0 && row < IRQ_ROWS ? row_names[row] : "?";
}

/* The header's CPU columns: their count, and with @cols their CPU ids
 * (offline CPUs have no column). */
static int cpu_columns(const char *line, int *cols)
{
	const char *p = line, *eol = strchr(line, '\n');
	int n = 0;

	while ((p = strstr(p, "CPU")) && (!eol || p < eol)) {
		if (cols)
			cols[n] = atoi(p + 3);
		n++;
		p += 3;
	}
	return n;
}

static int row_of(const char *line)
{
	int r;

	line += strspn(line, " ");
	for (r = 0; r < IRQ_ROWS; r++) {
		size_t len = strlen(row_names[r]);

		if (!strncmp(line, row_names[r], len) && line[len] == ':')
			return r;
	}
	return -1;
}

/* Call @fn(column, value, ctx) for each of the row's first @ncols
 * numbers (the description after them can hold numbers too). */
static void row_values(const char *line, int ncols,
		       void (*fn)(int col, __u64 v, void *ctx), void *ctx)
{
	const char *p = strchr(line, ':') + 1;
	char *end;
	int i;

	for (i = 0; i < ncols; i++) {
		unsigned long long v = strtoull(p, &end, 10);

		if (end == p)
			break;
		fn(i, v, ctx);
		p = end;
	}
}

static void add_value(int col __attribute__((unused)), __u64 v, void *ctx)
{
	*(__u64 *)ctx += v;
}

unsigned irqstat_parse(const char *text, __u64 sum[IRQ_ROWS])
{
	const char *line = text, *nl;
	unsigned found = 0;
	int ncols = -1, r;

	memset(sum, 0, sizeof(*sum) * IRQ_ROWS);
	for (; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (ncols < 0) {
			ncols = cpu_columns(line, NULL);
			continue;
		}
		r = row_of(line);
		if (r < 0 || (found & 1u << r))
			continue;
		row_values(line, ncols, add_value, &sum[r]);
		found |= 1u << r;
	}
	return found;
}

int irqstat_read(const char *path, __u64 sum[IRQ_ROWS])
{
	char *text;
	int err;

	err = read_small_file(path ? path : "/proc/interrupts",
			      IRQSTAT_MAX_BYTES, &text);
	if (err)
		return err;
	err = (int)irqstat_parse(text, sum);
	free(text);
	return err;
}

struct cpu_values {
	const int *cols;
	long long *v;
	int max;
};

static void put_value(int col, __u64 v, void *ctx)
{
	struct cpu_values *c = ctx;

	if (c->cols[col] >= 0 && c->cols[col] < c->max)
		c->v[c->cols[col]] = (long long)v;
}

int irqstat_parse_cpus(const char *text, enum irq_row row, long long *v,
		       int max)
{
	const char *nl = strchr(text, '\n'), *line;
	struct cpu_values c = { .v = v, .max = max };
	int i, ncols, *cols, err = -ENOENT;

	for (i = 0; i < max; i++)
		v[i] = -1;
	ncols = cpu_columns(text, NULL);
	cols = calloc(ncols + 1, sizeof(*cols));
	if (!cols)
		return -ENOMEM;
	cpu_columns(text, cols);
	c.cols = cols;
	for (line = nl ? nl + 1 : NULL; line && *line;
	     line = (nl = strchr(line, '\n')) ? nl + 1 : NULL) {
		if (row_of(line) == (int)row) {
			row_values(line, ncols, put_value, &c);
			err = 0;
			break;
		}
	}
	free(cols);
	return err;
}

int irqstat_read_cpus(const char *path, enum irq_row row, long long *v,
		      int max)
{
	char *text;
	int err;

	err = read_small_file(path ? path : "/proc/interrupts",
			      IRQSTAT_MAX_BYTES, &text);
	if (err)
		return err;
	err = irqstat_parse_cpus(text, row, v, max);
	free(text);
	return err;
}
