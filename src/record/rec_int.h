/* SPDX-License-Identifier: GPL-2.0 */
/* Inside the record module: the writer and helpers shared by its files. */
#ifndef __IPT_REC_INT_H
#define __IPT_REC_INT_H

#include "record.h"

#define REC_HASH_INIT	0xcbf29ce484222325ULL

struct rec_writer {
	FILE *f;
	int side;
	int err;
	__u64 nr;
	__u64 hash;
};

__u64 rec_hash(__u64 h, const void *p, size_t n);
__u64 rec_mono_ns(void);
__attribute__((format(printf, 2, 3)))
void rec_line(struct rec_writer *w, const char *fmt, ...);

#endif
