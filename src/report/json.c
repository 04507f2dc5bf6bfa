// SPDX-License-Identifier: GPL-2.0
#include "json.h"

void jw_init(struct jw *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->first[0] = true;
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
	if (!w->first[w->depth])
		fputc(',', w->f);
	w->first[w->depth] = false;
	if (k) {
		put_escaped(w->f, k);
		fputc(':', w->f);
	}
}

static void open(struct jw *w, const char *k, char c)
{
	key(w, k);
	fputc(c, w->f);
	if (w->depth < JW_DEPTH - 1)
		w->depth++;
	w->first[w->depth] = true;
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
	fputc('}', w->f);
	if (w->depth)
		w->depth--;
}

void jw_arr_end(struct jw *w)
{
	fputc(']', w->f);
	if (w->depth)
		w->depth--;
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
	fputc('\n', w->f);
	fflush(w->f);
	w->first[0] = true;
}
