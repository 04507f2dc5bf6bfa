// SPDX-License-Identifier: GPL-2.0
/* The report layer's core: the container stack, audiences, balance checks
 * and the table of back ends. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "emit.h"

/* Every output format; --format NAME resolves against this table. A new
 * back end declares itself here: extern const struct emit_backend emit_x; */
static const struct emit_backend *const backends[] = {
	&emit_text,
	&emit_json,
	&emit_openmetrics,
	&emit_prometheus,
};

#define NR_BACKENDS	(sizeof(backends) / sizeof(backends[0]))

const struct emit_backend *emit_backend_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < NR_BACKENDS; i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

const char *emit_backend_names(void)
{
	static char buf[128];
	size_t i, off = 0;

	if (buf[0])
		return buf;
	for (i = 0; i < NR_BACKENDS && off < sizeof(buf); i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%s",
				i ? ", " : "", backends[i]->name);
	return buf;
}

__attribute__((noreturn))
static void emit_fail(const struct emitter *e, const char *what)
{
	fprintf(stderr, "ipitrace: report layer (%s): %s\n",
		e->be ? e->be->name : "?", what);
	fflush(stderr);
	abort();
}

int emit_open(struct emitter *e, const struct emit_backend *be, FILE *f)
{
	memset(e, 0, sizeof(*e));
	e->be = be;
	e->f = f;
	e->cap = 8;
	e->stack = calloc(e->cap, sizeof(*e->stack));
	e->priv = be->priv_size ? calloc(1, be->priv_size) : NULL;
	if (!e->stack || (be->priv_size && !e->priv)) {
		emit_close(e);
		return -ENOMEM;
	}
	return 0;
}

void emit_close(struct emitter *e)
{
	free(e->stack);
	free(e->priv);
	e->stack = NULL;
	e->priv = NULL;
}

int emit_document(FILE *f, const struct emit_backend *be, emit_fn fn,
		  const void *arg)
{
	struct emitter e;

	if (emit_open(&e, be, f))
		return -ENOMEM;
	emit_doc_begin(&e);
	fn(&e, arg);
	emit_doc_end(&e);
	emit_close(&e);
	return ferror(f) ? -EIO : 0;
}

static bool for_us(const struct emitter *e)
{
	if (e->depth && emit_top((struct emitter *)e)->hidden)
		return false;
	return e->only & e->be->audience;
}

/* Keys: required for members of an object, absent in lists. */
static void check_key(const struct emitter *e, const char *key, bool inline_ok)
{
	const struct emit_frame *top;

	if (!e->depth)
		emit_fail(e, "member outside a document");
	top = &e->stack[e->depth - 1];
	if (top->kind == EMIT_OBJECT && !key && !inline_ok)
		emit_fail(e, "object member without a key");
	if (top->kind != EMIT_OBJECT && key)
		emit_fail(e, "list member with a key");
}

static struct emit_frame *push(struct emitter *e, enum emit_kind kind,
			       const char *key)
{
	struct emit_frame *f;

	if (e->depth == e->cap) {
		f = realloc(e->stack, 2 * e->cap * sizeof(*f));
		if (!f)
			emit_fail(e, "out of memory for nesting");
		e->stack = f;
		e->cap *= 2;
	}
	f = &e->stack[e->depth];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->key = key;
	f->hidden = !for_us(e);
	e->depth++;
	return f;
}

static void opened(struct emitter *e, struct emit_frame *f)
{
	if (f->hidden)
		return;
	if (e->depth > 1)
		e->stack[e->depth - 2].items++;
	e->be->open(e, f);
}

void emit_doc_begin(struct emitter *e)
{
	if (e->depth)
		emit_fail(e, "document begun inside another");
	push(e, EMIT_OBJECT, NULL)->hidden = false;
	e->only = EMIT_ALL;
	if (e->be->doc_begin)
		e->be->doc_begin(e);
}

void emit_doc_end(struct emitter *e)
{
	if (e->depth != 1)
		emit_fail(e, e->depth ? "document ends with containers open" :
				 "document ended twice or never begun");
	if (e->only != EMIT_ALL)
		emit_fail(e, "document ends inside emit_only()");
	if (e->be->doc_end)
		e->be->doc_end(e);
	e->depth = 0;
	fflush(e->f);
}

void emit_obj(struct emitter *e, const char *key)
{
	check_key(e, key, false);
	opened(e, push(e, EMIT_OBJECT, key));
}

void emit_obj_titled(struct emitter *e, const char *key, const char *fmt, ...)
{
	struct emit_frame *f;
	va_list ap;

	check_key(e, key, false);
	f = push(e, EMIT_OBJECT, key);
	va_start(ap, fmt);
	vsnprintf(f->title, sizeof(f->title), fmt, ap);
	va_end(ap);
	opened(e, f);
}

void emit_list(struct emitter *e, const char *key, const char *title)
{
	struct emit_frame *f;

	check_key(e, key, false);
	f = push(e, EMIT_LIST, key);
	snprintf(f->title, sizeof(f->title), "%s", title ? title : "");
	opened(e, f);
}

void emit_table(struct emitter *e, const char *key, const char *title,
		const struct emit_col *cols, int nr_cols)
{
	struct emit_frame *f;

	check_key(e, key, false);
	f = push(e, EMIT_TABLE, key);
	snprintf(f->title, sizeof(f->title), "%s", title ? title : "");
	f->cols = cols;
	f->nr_cols = nr_cols;
	opened(e, f);
}

void emit_family(struct emitter *e, const char *name, enum emit_metric type,
		 const char *unit, const char *help)
{
	struct emit_frame *f;

	check_key(e, name, false);
	if (!name)
		emit_fail(e, "metric family without a name");
	f = push(e, EMIT_FAMILY, name);
	f->metric = name;
	f->type = type;
	f->unit = unit;
	f->help = help;
	opened(e, f);
}

void emit_end(struct emitter *e)
{
	struct emit_frame *f;

	if (e->depth < 2)
		emit_fail(e, "emit_end() without an open container");
	f = &e->stack[e->depth - 1];
	if (!f->hidden)
		e->be->close(e, f);
	e->depth--;
}

static void value(struct emitter *e, const char *key, struct emit_value v,
		  bool inline_ok)
{
	check_key(e, key, inline_ok);
	if (!for_us(e))
		return;
	emit_top(e)->items++;
	e->be->value(e, key, &v);
}

void emit_u64(struct emitter *e, const char *key, uint64_t v)
{
	value(e, key, (struct emit_value){ .type = EMIT_V_U64, .u = v }, false);
}

void emit_i64(struct emitter *e, const char *key, int64_t v)
{
	value(e, key, (struct emit_value){ .type = EMIT_V_I64, .i = v }, false);
}

void emit_dbl(struct emitter *e, const char *key, double v)
{
	value(e, key, (struct emit_value){ .type = EMIT_V_DBL, .d = v }, false);
}

void emit_str(struct emitter *e, const char *key, const char *v)
{
	value(e, key, (struct emit_value){ .type = EMIT_V_STR, .s = v }, false);
}

void emit_bool(struct emitter *e, const char *key, bool v)
{
	value(e, key, (struct emit_value){ .type = EMIT_V_BOOL, .b = v }, false);
}

void emit_null(struct emitter *e, const char *key)
{
	value(e, key, (struct emit_value){ .type = EMIT_V_NULL }, false);
}

void emit_label(struct emitter *e, const char *key, const char *v)
{
	if (!key || !v)
		emit_fail(e, "a label needs a key and a value");
	value(e, key, (struct emit_value){ .type = EMIT_V_LABEL, .s = v }, false);
}

void emit_hist(struct emitter *e, const char *key, const struct hist *h)
{
	value(e, key, (struct emit_value){ .type = EMIT_V_HIST, .h = h }, true);
}

void emit_caption(struct emitter *e, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!e->depth)
		emit_fail(e, "caption outside a document");
	if (!e->be->caption || !for_us(e))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	e->be->caption(e, buf);
}

void emit_only(struct emitter *e, enum emit_audience a)
{
	e->only = a;
}
