/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel's own count of the IPIs each CPU took: the per-CPU rows of
 * /proc/interrupts, per CPU or summed over the CPUs. */
#ifndef __IPT_IRQSTAT_H
#define __IPT_IRQSTAT_H

#include <linux/types.h>

enum irq_row {
	IRQ_CAL,	/* function call (single and many) */
	IRQ_RES,	/* reschedule */
	IRQ_IWI,	/* IRQ work */
	IRQ_ROWS,
};

/* "CAL" for IRQ_CAL */
const char *irqstat_row_name(enum irq_row row);
/* Sums of each row over every CPU column of /proc/interrupts-format @text;
 * a row found sets its bit (1 << row) in the return value, rows not found
 * read 0. */
unsigned irqstat_parse(const char *text, __u64 sum[IRQ_ROWS]);
/* The same from the file @path (NULL: /proc/interrupts): the found mask, or
 * -errno when it cannot be read. */
int irqstat_read(const char *path, __u64 sum[IRQ_ROWS]);

/* One row per CPU: v[cpu] (-1 where the file has no column for it, e.g.
 * an offline CPU), for CPUs below @max. 0, -ENOENT without the row, or
 * -errno. */
int irqstat_parse_cpus(const char *text, enum irq_row row, long long *v,
		       int max);
int irqstat_read_cpus(const char *path, enum irq_row row, long long *v,
		      int max);

#endif
