/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The report layer: reports describe what they say once, as a tree of
 * objects, lists, tables and metric families holding numbers, strings,
 * labels and histograms; a back end (one file each: emit_text.c,
 * emit_json.c, emit_openmetrics.c) decides how it looks.
 *
 * Audience: a few things only make sense to people (a caption, a CPU
 * matrix, "12.3us"), only to programs reading data (hook names, sparse pair
 * lists) or only to a metrics scraper (a report's families). Put them
 * between emit_only(e, EMIT_HUMAN / EMIT_DATA / EMIT_METRICS / EMIT_MACHINE)
 * and emit_only(e, EMIT_ALL); everything else reaches every back end. Each
 * back end declares the one audience it serves.
 *
 * Labels: emit_label() is a string that names the object it is in (kind,
 * NUMA class). JSON prints it as a string member, OpenMetrics as a label of
 * the samples below it, text leaves it out when the object has a title.
 *
 * Metric families (emit_family) are what OpenMetrics renders; it ignores
 * everything outside them. A scrape is a function that emits families
 * (see metrics.h); the same function rendered by text or JSON still works.
 *
 * Adding an output format: one emit_<name>.c defining a struct
 * emit_backend, and in emit.c its extern declaration and a line in the
 * table of back ends, which is what a CLI value (--format NAME) resolves
 * against via emit_backend_find().
 *
 * Porting a report that threads `bool json` (host_report.c), as done for
 * the guest in output.c:
 *  - one function `void host_report_emit(struct emitter *e, const struct
 *    host_report *r)` replaces host_text() and host_json(); the caller
 *    prints it with emit_document(stdout, format, fn, r), the format being
 *    emit_backend_find(<the CLI's --format value>);
 *  - a text heading is emit_obj_titled() ("Stage  count  p50 ..." rows are
 *    emit_table() with struct emit_col, EMIT_COL_NS for "12.3us" cells);
 *    JSON-only members (mode, duration_s, hooks, samples) go under
 *    emit_only(e, EMIT_DATA), text-only lines under EMIT_HUMAN or
 *    emit_caption();
 *  - a struct hist is emit_hist() (count, min/avg/p50/p90/p99/p999/max,
 *    log2 buckets; text prints the summary and the bar chart);
 *  - host counters and losses become X-macro lists like IPT_COUNTERS /
 *    IPT_LOSSES in ipitrace.h, so text, JSON and the metrics share keys;
 *  - /metrics for host mode: a `void host_scrape(struct emitter *e, void
 *    *ctx)` emitting families (stages and exit-to-entry times as
 *    EMIT_HISTOGRAM in seconds labelled stage / reason / target state,
 *    halts and exits as EMIT_COUNTER), passed to metrics_poll(); call it
 *    under emit_only(e, EMIT_METRICS) at the end of the report too, so
 *    --format openmetrics prints it.
 */
#ifndef __IPT_EMIT_H
#define __IPT_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "hist.h"

enum emit_kind {
	EMIT_OBJECT,		/* members with keys */
	EMIT_LIST,		/* members without keys */
	EMIT_TABLE,		/* a list of row objects with columns (text) */
	EMIT_FAMILY,		/* a metric family: objects of labels + value */
};

enum emit_audience {
	EMIT_HUMAN = 1,		/* text */
	EMIT_DATA = 2,		/* JSON */
	EMIT_METRICS = 4,	/* OpenMetrics */
	EMIT_MACHINE = EMIT_DATA | EMIT_METRICS,
	EMIT_ALL = EMIT_HUMAN | EMIT_MACHINE,
};

enum emit_metric {
	EMIT_COUNTER,
	EMIT_GAUGE,
	EMIT_HISTOGRAM,
};

enum emit_col_fmt {
	EMIT_COL_PLAIN,		/* numbers as they are */
	EMIT_COL_NS,		/* nanoseconds as "12.3us" */
};

/* A text column: the row member @key, under @title, in @width characters
 * (negative: left aligned), @gap spaces before it (0 counts as 1). */
struct emit_col {
	const char *key;
	const char *title;
	int width;
	int gap;
	enum emit_col_fmt fmt;
};

enum emit_vtype {
	EMIT_V_U64, EMIT_V_I64, EMIT_V_DBL, EMIT_V_STR, EMIT_V_BOOL,
	EMIT_V_NULL, EMIT_V_LABEL, EMIT_V_HIST,
};

struct emit_value {
	enum emit_vtype type;
	union {
		uint64_t u;
		int64_t i;
		double d;
		const char *s;	/* STR (NULL: null), LABEL */
		bool b;
		const struct hist *h;
	};
};

/* One open container, as the back ends see it. */
struct emit_frame {
	enum emit_kind kind;
	const char *key;	/* NULL in lists and at the top */
	char title[160];	/* "" when none */
	const struct emit_col *cols;	/* EMIT_TABLE */
	int nr_cols;
	const char *metric;	/* EMIT_FAMILY: name, type, unit, help */
	enum emit_metric type;
	const char *unit;
	const char *help;
	int items;		/* members the back end has seen */
	bool hidden;		/* not for this back end's audience */
};

struct emitter;

struct emit_backend {
	const char *name;	/* the CLI value: "text", "json", ... */
	const char *mime;	/* HTTP Content-Type of a document */
	enum emit_audience audience;	/* exactly one of HUMAN, DATA, METRICS */
	size_t priv_size;	/* zeroed state for the back end */
	void (*doc_begin)(struct emitter *e);
	void (*doc_end)(struct emitter *e);
	void (*open)(struct emitter *e, struct emit_frame *f);
	void (*close)(struct emitter *e, struct emit_frame *f);
	void (*value)(struct emitter *e, const char *key,
		      const struct emit_value *v);
	void (*caption)(struct emitter *e, const char *text);
};

struct emitter {
	const struct emit_backend *be;
	FILE *f;
	void *priv;
	struct emit_frame *stack;	/* grows; [0] is the document */
	int depth;			/* open containers, the document included */
	int cap;
	enum emit_audience only;
};

extern const struct emit_backend emit_text, emit_json, emit_openmetrics,
	emit_prometheus;

/* NULL when no back end has that name. */
const struct emit_backend *emit_backend_find(const char *name);
/* "text, json, openmetrics" for usage and error messages */
const char *emit_backend_names(void);

typedef void (*emit_fn)(struct emitter *e, const void *arg);

/* One document from @fn on @f with back end @be; -ENOMEM or -EIO. */
int emit_document(FILE *f, const struct emit_backend *be, emit_fn fn,
		  const void *arg);

/* -ENOMEM on failure. emit_close() frees; it does not close @f. */
int emit_open(struct emitter *e, const struct emit_backend *be, FILE *f);
void emit_close(struct emitter *e);

/* A document: one report, one scrape. Ending a document with containers
 * still open, or closing one that is not open, aborts (a programming
 * error, never a runtime condition). */
void emit_doc_begin(struct emitter *e);
void emit_doc_end(struct emitter *e);

void emit_obj(struct emitter *e, const char *key);
/* an object with a text heading, printf-style */
__attribute__((format(printf, 3, 4)))
void emit_obj_titled(struct emitter *e, const char *key, const char *fmt, ...);
void emit_list(struct emitter *e, const char *key, const char *title);
void emit_table(struct emitter *e, const char *key, const char *title,
		const struct emit_col *cols, int nr_cols);
void emit_family(struct emitter *e, const char *name, enum emit_metric type,
		 const char *unit, const char *help);
void emit_end(struct emitter *e);

void emit_u64(struct emitter *e, const char *key, uint64_t v);
void emit_i64(struct emitter *e, const char *key, int64_t v);
void emit_dbl(struct emitter *e, const char *key, double v);
void emit_str(struct emitter *e, const char *key, const char *v);
void emit_bool(struct emitter *e, const char *key, bool v);
void emit_null(struct emitter *e, const char *key);
void emit_label(struct emitter *e, const char *key, const char *v);
/* latency histogram in ns; key NULL: its members go into the current
 * object (count, min_ns, ..., hist) */
void emit_hist(struct emitter *e, const char *key, const struct hist *h);
/* a line of text for people (only back ends with a caption hook) */
__attribute__((format(printf, 2, 3)))
void emit_caption(struct emitter *e, const char *fmt, ...);
void emit_only(struct emitter *e, enum emit_audience a);

/* emit_only(@a) within the audience already chosen (for helpers called
 * from inside an emit_only() section); returns what to restore. */
static inline enum emit_audience emit_narrow(struct emitter *e,
					     enum emit_audience a)
{
	enum emit_audience prev = e->only;

	e->only = prev & a;
	return prev;
}

/* Text helpers (fmt_ns also for cells a report formats itself). */
const char *fmt_ns(uint64_t ns, char *buf, size_t len);	/* "12.3us" */
void print_log2_hist(FILE *f, const struct hist *h, const char *unit);

/* for back ends: the innermost open container (the document at depth 1) */
static inline struct emit_frame *emit_top(struct emitter *e)
{
	return &e->stack[e->depth - 1];
}

#endif
