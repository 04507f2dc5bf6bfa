// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include "json.h"

#define JW_FIRST	1
#define JW_ARRAY	2

void jw_init(struct jw *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->cap = JW_INLINE;
	w->st = w->inl;
	w->st[0] = JW_FIRST;
}

__attribute__((noreturn))
static void jw_fail(const char *what)
{
	fprintf(stderr, "ipitrace: JSON writer: %s\n", what);
	fflush(stderr);
	abort();
}

static void put_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void key(struct jw *w, const char *k)
{
	unsigned char *s = &w->st[w->depth];

	if (!(*s & JW_FIRST))
		fputc(',', w->f);
	*s &= ~JW_FIRST;
	if (w->depth && !(*s & JW_ARRAY) && !k)
		jw_fail("object member without a key");
	if (k) {
		if (!w->depth || (*s & JW_ARRAY))
			jw_fail("key outside an object");
		put_escaped(w->f, k);
		fputc(':', w->f);
	}
}

static void grow(struct jw *w)
{
	unsigned char *st;
	int cap = w->cap * 2;

	st = malloc(cap);
	if (!st)
		jw_fail("out of memory for nesting");
	for (int i = 0; i <= w->depth; i++)
		st[i] = w->st[i];
	if (w->st != w->inl)
		free(w->st);
	w->st = st;
	w->cap = cap;
}

static void open(struct jw *w, const char *k, char c)
{
	key(w, k);
	fputc(c, w->f);
	if (w->depth + 1 >= w->cap)
		grow(w);
	w->depth++;
	w->st[w->depth] = JW_FIRST | (c == '[' ? JW_ARRAY : 0);
}

static void close_level(struct jw *w, bool array)
{
	if (!w->depth)
		jw_fail(array ? "']' with nothing open" : "'}' with nothing open");
	if (!!(w->st[w->depth] & JW_ARRAY) != array)
		jw_fail(array ? "']' closes an object" : "'}' closes an array");
	fputc(array ? ']' : '}', w->f);
	w->depth--;
}

void jw_obj(struct jw *w, const char *k)
{
	open(w, k, '{');
}

void jw_arr(struct jw *w, const char *k)
{
	open(w, k, '[');
}

void jw_obj_end(struct jw *w)
{
	close_level(w, false);
}

void jw_arr_end(struct jw *w)
{
	close_level(w, true);
}

void jw_str(struct jw *w, const char *k, const char *v)
{
	key(w, k);
	if (v)
		put_escaped(w->f, v);
	else
		fputs("null", w->f);
}

void jw_u64(struct jw *w, const char *k, uint64_t v)
{
	key(w, k);
	fprintf(w->f, "%llu", (unsigned long long)v);
}

void jw_i64(struct jw *w, const char *k, int64_t v)
{
	key(w, k);
	fprintf(w->f, "%lld", (long long)v);
}

void jw_dbl(struct jw *w, const char *k, double v)
{
	key(w, k);
	if (v != v || v > 1e300 || v < -1e300)
		fputs("null", w->f);	/* JSON has no NaN or infinity */
	else
		fprintf(w->f, "%.6f", v);
}

void jw_bool(struct jw *w, const char *k, bool v)
{
	key(w, k);
	fputs(v ? "true" : "false", w->f);
}

void jw_null(struct jw *w, const char *k)
{
	key(w, k);
	fputs("null", w->f);
}

void jw_done(struct jw *w)
{
	if (w->depth)
		jw_fail("document ends with objects or arrays open");
	fputc('\n', w->f);
	fflush(w->f);
	if (w->st != w->inl)
		free(w->st);
	w->st = w->inl;
	w->cap = JW_INLINE;
	w->st[0] = JW_FIRST;
}
