/* SPDX-License-Identifier: GPL-2.0 */
/* A tiny streaming JSON writer: commas and escaping handled here. Nesting
 * has no limit (the stack grows); closing what is not open, or ending a
 * document with something open, aborts: that is a bug in the caller. */
#ifndef __IPT_JSON_H
#define __IPT_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JW_INLINE 16

struct jw {
	FILE *f;
	int depth;		/* open objects and arrays */
	int cap;		/* entries in .st */
	unsigned char *st;	/* per level: JW_FIRST | JW_ARRAY */
	unsigned char inl[JW_INLINE];	/* .st until deeper than this */
};

void jw_init(struct jw *w, FILE *f);
void jw_obj(struct jw *w, const char *key);	/* key NULL inside arrays / top */
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w, const char *key);
void jw_arr_end(struct jw *w);
void jw_str(struct jw *w, const char *key, const char *v);	/* NULL -> null */
void jw_u64(struct jw *w, const char *key, uint64_t v);
void jw_i64(struct jw *w, const char *key, int64_t v);
void jw_dbl(struct jw *w, const char *key, double v);
void jw_bool(struct jw *w, const char *key, bool v);
void jw_null(struct jw *w, const char *key);
/* newline after the top-level value; frees what nesting grew */
void jw_done(struct jw *w);

#endif
