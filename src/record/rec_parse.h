/* SPDX-License-Identifier: GPL-2.0 */
/* Inside the record reader: the line parser its files share. */
#ifndef __IPT_REC_PARSE_H
#define __IPT_REC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include "record.h"

#define MAX_FIELDS	24

struct parser {
	struct record *r;
	size_t lineno;
	char *err;
	size_t len;
	size_t cap;
	size_t cap_pv, cap_halts;
	bool ended;
};

__attribute__((format(printf, 2, 3)))
int rec_fail(struct parser *p, const char *fmt, ...);
/* a whole decimal token within its range: 0, else -1 */
int rec_num_u(const char *s, __u64 max, __u64 *out);
int rec_num_s(const char *s, __s64 min, __s64 max, __s64 *out);
int rec_want(struct parser *p, char **f, int n, int expect);
/* room for one more IPI record, or NULL */
void *rec_grow(struct parser *p, size_t size);
int rec_cpu_ok(const struct record *r, __u64 cpu);

/* field i of f as a number within its range, or fail the line */
#define U(i, max, dst) do {						\
	__u64 _v;							\
	if (rec_num_u(f[i], (max), &_v))				\
		return rec_fail(p, "%s: field %d: not a number in [0, %llu]: '%.24s'", \
				f[0], (i), (unsigned long long)(max), f[i]); \
	(dst) = _v;							\
} while (0)
#define S(i, min, max, dst) do {					\
	__s64 _v;							\
	if (rec_num_s(f[i], (min), (max), &_v))				\
		return rec_fail(p, "%s: field %d: not a number in [%lld, %lld]: '%.24s'", \
				f[0], (i), (long long)(min), (long long)(max), f[i]); \
	(dst) = _v;							\
} while (0)

/* the host's lines (rec_read_host.c) */
int rec_host_line(struct parser *p, char **f, int n);
int rec_pv_line(struct parser *p, char **f, int n);
int rec_halt_line(struct parser *p, char **f, int n);
int rec_vm_line(struct parser *p, char **f, int n);

#endif
