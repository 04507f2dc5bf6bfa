// SPDX-License-Identifier: GPL-2.0
/* The exposition formats: OpenMetrics 1.0 and Prometheus' classic text
 * format 0.0.4, which differ in the header lines and the end. Metric
 * families only (anything outside one is not exposition and is left out);
 * the labels of the objects a sample sits in become its labels. */
#include <string.h>
#include "emit.h"

#define LABELS_LEN	512

struct om {
	char labels[LABELS_LEN];	/* k="v",k="v" of the open objects */
	size_t len;
	size_t saved[64];		/* .len at each object's start */
	int nr_saved;
	const struct emit_frame *family;
	bool classic;			/* text 0.0.4: no UNIT, no EOF */
};

/* The same buckets in every scrape (le = 2 ns .. 2^36 ns, then +Inf), as
 * scrapers expect of one series. */
#define OM_BUCKETS	36

static struct om *om_of(struct emitter *e)
{
	return e->priv;
}

static const char *type_name(enum emit_metric t)
{
	return t == EMIT_COUNTER ? "counter" : t == EMIT_GAUGE ? "gauge" :
	       "histogram";
}

static void om_open(struct emitter *e, struct emit_frame *f)
{
	struct om *m = om_of(e);

	if (f->kind == EMIT_FAMILY) {
		/* 0.0.4 names a counter family by its sample, with _total */
		const char *sfx = m->classic && f->type == EMIT_COUNTER ?
				  "_total" : "";

		if (m->classic && f->help)
			fprintf(e->f, "# HELP %s%s %s\n", f->metric, sfx, f->help);
		fprintf(e->f, "# TYPE %s%s %s\n", f->metric, sfx,
			type_name(f->type));
		if (f->unit && !m->classic)
			fprintf(e->f, "# UNIT %s %s\n", f->metric, f->unit);
		if (f->help && !m->classic)
			fprintf(e->f, "# HELP %s %s\n", f->metric, f->help);
		m->family = f;
		m->len = 0;
		m->labels[0] = 0;
		m->nr_saved = 0;
		return;
	}
	if (m->nr_saved < (int)(sizeof(m->saved) / sizeof(m->saved[0])))
		m->saved[m->nr_saved] = m->len;
	m->nr_saved++;
}

static void om_close(struct emitter *e, struct emit_frame *f)
{
	struct om *m = om_of(e);

	if (f->kind == EMIT_FAMILY) {
		m->family = NULL;
		return;
	}
	if (--m->nr_saved < (int)(sizeof(m->saved) / sizeof(m->saved[0]))) {
		m->len = m->saved[m->nr_saved];
		m->labels[m->len] = 0;
	}
}

/* label values escape backslash, double quote and newline */
static void add_label(struct om *m, const char *k, const char *v)
{
	size_t n = m->len;
	char *b = m->labels;

	n += snprintf(b + n, n < LABELS_LEN ? LABELS_LEN - n : 0, "%s%s=\"",
		      n ? "," : "", k);
	for (; *v && n + 3 < LABELS_LEN; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n')
			b[n++] = '\\';
		b[n++] = *v == '\n' ? 'n' : *v;
	}
	if (n + 2 >= LABELS_LEN)
		return;			/* too long: the label is left out */
	b[n++] = '"';
	b[n] = 0;
	m->len = n;
}

static void sample_name(struct emitter *e, const char *suffix,
			const char *extra)
{
	struct om *m = om_of(e);

	fprintf(e->f, "%s%s", m->family->metric, suffix);
	if (m->len || extra)
		fprintf(e->f, "{%s%s%s}", m->labels, m->len && extra ? "," : "",
			extra ? extra : "");
}

/* histograms hold nanoseconds; a family in seconds scales them */
static bool in_seconds(struct emitter *e)
{
	const char *u = om_of(e)->family->unit;

	return u && !strcmp(u, "seconds");
}

/* A bucket's upper bound is the largest whole nanosecond it holds, written
 * exactly (no float rounding), so a value on the bound is inside it. */
static void format_le(char *buf, size_t len, uint64_t ns, bool seconds)
{
	if (!seconds) {
		snprintf(buf, len, "le=\"%llu\"", (unsigned long long)ns);
		return;
	}
	snprintf(buf, len, "le=\"%llu.%09llu\"",
		 (unsigned long long)(ns / 1000000000ULL),
		 (unsigned long long)(ns % 1000000000ULL));
}

static void om_hist(struct emitter *e, const struct hist *h)
{
	double scale = in_seconds(e) ? 1e-9 : 1;
	uint64_t b[HIST_LOG2], cum = 0;
	char le[48];
	int i;

	hist_log2(h, b);
	for (i = 0; i < OM_BUCKETS; i++) {
		cum += b[i];
		format_le(le, sizeof(le), hist_log2_hi(i), scale != 1);
		sample_name(e, "_bucket", le);
		fprintf(e->f, " %llu\n", (unsigned long long)cum);
	}
	sample_name(e, "_bucket", "le=\"+Inf\"");
	fprintf(e->f, " %llu\n", (unsigned long long)h->count);
	sample_name(e, "_count", NULL);
	fprintf(e->f, " %llu\n", (unsigned long long)h->count);
	sample_name(e, "_sum", NULL);
	if (scale != 1)
		fprintf(e->f, " %.9f\n", h->sum * scale);
	else
		fprintf(e->f, " %llu\n", (unsigned long long)h->sum);
}

static void om_value(struct emitter *e, const char *key,
		     const struct emit_value *v)
{
	struct om *m = om_of(e);
	const char *suffix;

	if (!m->family)
		return;
	suffix = m->family->type == EMIT_COUNTER ? "_total" : "";
	switch (v->type) {
	case EMIT_V_LABEL:
		add_label(m, key, v->s);
		break;
	case EMIT_V_HIST:
		om_hist(e, v->h);
		break;
	case EMIT_V_U64:
		sample_name(e, suffix, NULL);
		fprintf(e->f, " %llu\n", (unsigned long long)v->u);
		break;
	case EMIT_V_I64:
		sample_name(e, suffix, NULL);
		fprintf(e->f, " %lld\n", (long long)v->i);
		break;
	case EMIT_V_DBL:
		sample_name(e, suffix, NULL);
		fprintf(e->f, " %.9g\n", v->d);
		break;
	default:
		break;			/* not a sample */
	}
}

static void om_doc_begin(struct emitter *e)
{
	memset(e->priv, 0, sizeof(struct om));
	om_of(e)->classic = e->be == &emit_prometheus;
}

static void om_doc_end(struct emitter *e)
{
	if (!om_of(e)->classic)
		fputs("# EOF\n", e->f);
}

#define EXPOSITION(n, type)				\
	{ .name = n, .mime = type, .audience = EMIT_METRICS,	\
	  .priv_size = sizeof(struct om), .doc_begin = om_doc_begin, \
	  .doc_end = om_doc_end, .open = om_open, .close = om_close, \
	  .value = om_value }

const struct emit_backend emit_openmetrics = EXPOSITION("openmetrics",
	"application/openmetrics-text; version=1.0.0; charset=utf-8");
/* What a scraper gets when it does not ask for OpenMetrics. */
const struct emit_backend emit_prometheus = EXPOSITION("prometheus",
	"text/plain; version=0.0.4; charset=utf-8");
