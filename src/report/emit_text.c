// SPDX-License-Identifier: GPL-2.0
/* Text back end, libbpf-tools style: titled blocks separated by a blank
 * line, members inline after a title ("Counters: sends=1 paired=1"),
 * histograms as a summary line and a log2 bar chart, tables as aligned
 * columns printed row by row. */
#include <stdlib.h>
#include <string.h>
#include "emit.h"
#include "ipitrace.h"

#define CELL_LEN	160

struct text {
	bool started;		/* something printed in this document */
	bool line;		/* a line is open: members go inline */
	int table_depth;	/* depth of the open table, 0: none */
	int row_depth;		/* depth of the row being collected, 0: none */
	char (*cells)[CELL_LEN];
};


const char *fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns < 10000)
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	else if (ns < 10000000)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 10000000000ULL)
		snprintf(buf, len, "%.1fms", ns / 1e6);
	else
		snprintf(buf, len, "%.1fs", ns / 1e9);
	return buf;
}

static void print_stars(FILE *f, uint64_t val, uint64_t max, int width)
{
	int n = max ? (int)(val * width / max) : 0, i;

	for (i = 0; i < width; i++)
		fputc(i < n ? '*' : ' ', f);
}

void print_log2_hist(FILE *f, const struct hist *h, const char *unit)
{
	uint64_t b[HIST_LOG2], max = 0;
	int i, lo = -1, top = hist_log2(h, b);

	for (i = 0; i < top; i++) {
		if (b[i] > max)
			max = b[i];
		if (lo < 0 && b[i])
			lo = i;
	}
	if (lo < 0)
		return;
	fprintf(f, "%20s : count    distribution\n", unit);
	for (i = lo; i < top; i++) {
		fprintf(f, "%10llu -> %-10llu : %-8llu |",
			(unsigned long long)hist_log2_lo(i),
			(unsigned long long)hist_log2_hi(i),
			(unsigned long long)b[i]);
		print_stars(f, b[i], max, 40);
		fputs("|\n", f);
	}
}

static void print_summary(FILE *f, const struct hist *h)
{
	static const double ps[] = { 50, 90, 99, 99.9 };
	static const char *pn[] = { "p50", "p90", "p99", "p99.9" };
	char b1[32], b2[32], b3[32];
	size_t i;

	fprintf(f, "count %llu  min %s  avg %s", (unsigned long long)h->count,
		fmt_ns(h->min, b1, sizeof(b1)),
		fmt_ns(hist_mean(h), b2, sizeof(b2)));
	for (i = 0; i < ARRAY_SIZE(ps); i++)
		fprintf(f, "  %s %s", pn[i],
			fmt_ns(hist_percentile(h, ps[i]), b3, sizeof(b3)));
	fprintf(f, "  max %s\n", fmt_ns(h->max, b1, sizeof(b1)));
}

static struct text *tx(struct emitter *e)
{
	return e->priv;
}

static void end_line(struct emitter *e)
{
	if (tx(e)->line)
		fputc('\n', e->f);
	tx(e)->line = false;
}

/* a new block: a blank line before all but the first */
static void block(struct emitter *e)
{
	end_line(e);
	if (tx(e)->started)
		fputc('\n', e->f);
	tx(e)->started = true;
}

static struct emit_frame *parent(struct emitter *e, int up)
{
	return e->depth > up ? &e->stack[e->depth - 1 - up] : NULL;
}

/* A titled list prints its title before its first member only. */
static void list_title(struct emitter *e, struct emit_frame *list)
{
	if (list && list->kind == EMIT_LIST && list->title[0] &&
	    list->items == 1) {
		block(e);
		fprintf(e->f, "%s\n", list->title);
	}
}

static void format(char *buf, size_t len, const struct emit_value *v,
		   enum emit_col_fmt fmt)
{
	switch (v->type) {
	case EMIT_V_U64:
		if (fmt == EMIT_COL_NS)
			fmt_ns(v->u, buf, len);
		else
			snprintf(buf, len, "%llu", (unsigned long long)v->u);
		break;
	case EMIT_V_I64:
		snprintf(buf, len, "%lld", (long long)v->i);
		break;
	case EMIT_V_DBL:
		snprintf(buf, len, "%g", v->d);
		break;
	case EMIT_V_STR:
	case EMIT_V_LABEL:
		snprintf(buf, len, "%s", v->s ? v->s : "-");
		break;
	case EMIT_V_BOOL:
		snprintf(buf, len, "%s", v->b ? "yes" : "no");
		break;
	case EMIT_V_NULL:
	case EMIT_V_HIST:
		snprintf(buf, len, "-");
		break;
	}
}

/* Cells left empty at the end of a row are not printed (no blanks). */
static void print_cols(struct emitter *e, const struct emit_frame *t,
		       bool header)
{
	int i, n = t->nr_cols;

	while (n > 1 && !*(header ? t->cols[n - 1].title : tx(e)->cells[n - 1]))
		n--;
	for (i = 0; i < n; i++) {
		const struct emit_col *c = &t->cols[i];
		const char *s = header ? c->title : tx(e)->cells[i];

		if (i)
			fprintf(e->f, "%*s", c->gap > 0 ? c->gap : 1, "");
		if (i == n - 1 && (c->width <= 0 || !*s))
			fputs(s, e->f);		/* no trailing blanks */
		else
			fprintf(e->f, "%*s", c->width, s);
	}
	fputc('\n', e->f);
}

static void text_open(struct emitter *e, struct emit_frame *f)
{
	struct text *t = tx(e);

	if (t->row_depth)
		return;			/* nested in a row: not a column */
	list_title(e, parent(e, 1));
	if (f->kind == EMIT_TABLE) {
		block(e);
		if (f->title[0])
			fprintf(e->f, "%s\n", f->title);
		t->cells = calloc(f->nr_cols ? f->nr_cols : 1, CELL_LEN);
		t->table_depth = e->depth;
		print_cols(e, f, true);
		return;
	}
	if (t->table_depth && e->depth == t->table_depth + 1) {
		if (t->cells)
			memset(t->cells, 0, (size_t)parent(e, 1)->nr_cols * CELL_LEN);
		t->row_depth = e->depth;
		return;
	}
	if (f->kind == EMIT_LIST) {
		end_line(e);
		return;			/* its title comes with its first member */
	}
	if (f->kind == EMIT_FAMILY) {
		block(e);
		fprintf(e->f, "%s%s%s", f->metric, f->help ? ": " : "",
			f->help ? f->help : "");
		t->line = true;
		return;
	}
	if (f->title[0]) {
		block(e);
		fputs(f->title, e->f);
		t->line = true;
	} else if (f->kind == EMIT_OBJECT && f->key) {
		block(e);
		fprintf(e->f, "%s:", f->key);
		t->line = true;
	} else if (f->kind == EMIT_OBJECT) {
		end_line(e);
		fputs(" ", e->f);
		t->line = true;
	}
}

static void text_close(struct emitter *e, struct emit_frame *f)
{
	struct text *t = tx(e);

	if (t->row_depth && e->depth > t->row_depth)
		return;
	if (t->row_depth == e->depth) {
		if (t->cells)
			print_cols(e, parent(e, 1), false);
		fflush(e->f);
		t->row_depth = 0;
		return;
	}
	if (f->kind == EMIT_TABLE) {
		free(t->cells);
		t->cells = NULL;
		t->table_depth = 0;
	}
	end_line(e);
}

static void row_cell(struct emitter *e, const char *key,
		     const struct emit_value *v)
{
	const struct emit_frame *tbl = parent(e, 1);
	int i;

	if (e->depth != tx(e)->row_depth || !key || !tx(e)->cells)
		return;
	for (i = 0; i < tbl->nr_cols; i++)
		if (!strcmp(tbl->cols[i].key, key))
			format(tx(e)->cells[i], CELL_LEN, v, tbl->cols[i].fmt);
}

static void text_value(struct emitter *e, const char *key,
		       const struct emit_value *v)
{
	struct emit_frame *top = emit_top(e);
	struct text *t = tx(e);
	char buf[CELL_LEN];

	if (t->row_depth) {
		row_cell(e, key, v);
		return;
	}
	list_title(e, top);
	if (v->type == EMIT_V_LABEL && (top->title[0] || top->kind == EMIT_FAMILY))
		return;			/* the title names it */
	if (v->type == EMIT_V_HIST) {
		if (key)
			fprintf(e->f, " %s:", key);
		fputc(' ', e->f);
		print_summary(e->f, v->h);
		t->line = false;
		print_log2_hist(e->f, v->h, "nsecs");
		return;
	}
	format(buf, sizeof(buf), v, EMIT_COL_PLAIN);
	if (top->kind == EMIT_LIST) {
		end_line(e);
		fprintf(e->f, "  - %s\n", buf);
		return;
	}
	t->started = true;
	t->line = true;
	if (key)
		fprintf(e->f, " %s=%s", key, buf);
	else
		fprintf(e->f, " %s", buf);
}

static void text_caption(struct emitter *e, const char *text)
{
	if (tx(e)->row_depth)
		return;
	block(e);
	fprintf(e->f, "%s\n", text);
}

static void text_doc_begin(struct emitter *e)
{
	memset(e->priv, 0, sizeof(struct text));
}

static void text_doc_end(struct emitter *e)
{
	end_line(e);
	free(tx(e)->cells);
	tx(e)->cells = NULL;
}

const struct emit_backend emit_text = {
	.name = "text",
	.mime = "text/plain; charset=utf-8",
	.audience = EMIT_HUMAN,
	.priv_size = sizeof(struct text),
	.doc_begin = text_doc_begin,
	.doc_end = text_doc_end,
	.open = text_open,
	.close = text_close,
	.value = text_value,
	.caption = text_caption,
};
