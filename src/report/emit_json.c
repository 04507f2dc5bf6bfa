// SPDX-License-Identifier: GPL-2.0
/* JSON back end: one compact document per line (interval reports stream
 * as JSON lines); metric families become lists of labelled objects. */
#include "emit.h"
#include "json.h"

static struct jw *jw_of(struct emitter *e)
{
	return e->priv;
}

static void json_doc_begin(struct emitter *e)
{
	jw_init(jw_of(e), e->f);
	jw_obj(jw_of(e), NULL);
}

static void json_doc_end(struct emitter *e)
{
	jw_obj_end(jw_of(e));
	jw_done(jw_of(e));
}

static void json_open(struct emitter *e, struct emit_frame *f)
{
	if (f->kind == EMIT_OBJECT)
		jw_obj(jw_of(e), f->key);
	else
		jw_arr(jw_of(e), f->key);
}

static void json_close(struct emitter *e, struct emit_frame *f)
{
	if (f->kind == EMIT_OBJECT)
		jw_obj_end(jw_of(e));
	else
		jw_arr_end(jw_of(e));
}

/* count, min, mean, percentiles, max, then the non-empty log2 buckets */
static void json_hist(struct jw *w, const struct hist *h)
{
	uint64_t b[HIST_LOG2];
	int i, top = hist_log2(h, b);

	jw_u64(w, "count", h->count);
	jw_u64(w, "min_ns", h->min);
	jw_u64(w, "avg_ns", hist_mean(h));
	jw_u64(w, "p50_ns", hist_percentile(h, 50));
	jw_u64(w, "p90_ns", hist_percentile(h, 90));
	jw_u64(w, "p99_ns", hist_percentile(h, 99));
	jw_u64(w, "p999_ns", hist_percentile(h, 99.9));
	jw_u64(w, "max_ns", h->max);
	jw_arr(w, "hist");
	for (i = 0; i < top; i++) {
		if (!b[i])
			continue;
		jw_obj(w, NULL);
		jw_u64(w, "lo_ns", hist_log2_lo(i));
		jw_u64(w, "hi_ns", hist_log2_hi(i));
		jw_u64(w, "count", b[i]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void json_value(struct emitter *e, const char *key,
		       const struct emit_value *v)
{
	struct jw *w = jw_of(e);

	switch (v->type) {
	case EMIT_V_U64:
		jw_u64(w, key, v->u);
		break;
	case EMIT_V_I64:
		jw_i64(w, key, v->i);
		break;
	case EMIT_V_DBL:
		jw_dbl(w, key, v->d);
		break;
	case EMIT_V_STR:
	case EMIT_V_LABEL:
		jw_str(w, key, v->s);
		break;
	case EMIT_V_BOOL:
		jw_bool(w, key, v->b);
		break;
	case EMIT_V_NULL:
		jw_null(w, key);
		break;
	case EMIT_V_HIST:
		/* inline in an object when it has no key of its own */
		if (key || emit_top(e)->kind != EMIT_OBJECT)
			jw_obj(w, key);
		json_hist(w, v->h);
		if (key || emit_top(e)->kind != EMIT_OBJECT)
			jw_obj_end(w);
		break;
	}
}

const struct emit_backend emit_json = {
	.name = "json",
	.mime = "application/json",
	.audience = EMIT_DATA,
	.priv_size = sizeof(struct jw),
	.doc_begin = json_doc_begin,
	.doc_end = json_doc_end,
	.open = json_open,
	.close = json_close,
	.value = json_value,
};
