// SPDX-License-Identifier: GPL-2.0
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

static int cpu_columns(const char *line)
{
	const char *p = line;
	int n = 0;

	while ((p = strstr(p, "CPU"))) {
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

static __u64 row_sum(const char *line, int ncols)
{
	const char *p = strchr(line, ':') + 1;
	__u64 sum = 0;
	char *end;
	int i;

	for (i = 0; i < ncols; i++) {
		unsigned long long v = strtoull(p, &end, 10);

		if (end == p)
			break;
		sum += v;
		p = end;
	}
	return sum;
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
			ncols = cpu_columns(line);
			continue;
		}
		r = row_of(line);
		if (r < 0 || (found & 1u << r))
			continue;
		sum[r] = row_sum(line, ncols);
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
