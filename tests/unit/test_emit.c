// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the report layer (src/report/emit*.c): each back end, the
 * balance checks, deep nesting, and a strict OpenMetrics check of the
 * guest scrape. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#define JS_MAX_DEPTH 100000
#include "json_check.h"
#include "emit.h"
#include "json.h"
#include "metrics.h"
#include "output.h"
#include "topology.h"

#define HAS(s, needle) do {						\
	if (!strstr((s), (needle)))					\
		fail_msg("missing '%s' in:\n%s", (needle), (s));	\
} while (0)

static char *render(const struct emit_backend *be, emit_fn fn, const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(emit_document(f, be, fn, arg), 0);
	fclose(f);
	return buf;
}

/* ---- one document, every construct ---- */

static const struct emit_col cols[] = {
	{ .key = "name", .title = "NAME", .width = -6 },
	{ .key = "lat_ns", .title = "LAT", .width = 8, .fmt = EMIT_COL_NS },
	{ .key = "n", .title = "N", .gap = 3 },
};

static void sample_doc(struct emitter *e, const void *arg)
{
	const struct hist *h = arg;

	emit_caption(e, "--- a caption ---");
	emit_only(e, EMIT_MACHINE);
	emit_str(e, "mode", "test");
	emit_only(e, EMIT_ALL);
	emit_obj_titled(e, "counters", "Counters:");
	emit_u64(e, "a", 1);
	emit_i64(e, "b", -2);
	emit_bool(e, "c", true);
	emit_null(e, "d");
	emit_str(e, "e", "x\"y");
	emit_end(e);
	emit_obj_titled(e, "lat", "Latency %s:", "same");
	emit_label(e, "numa", "same");
	emit_hist(e, NULL, h);
	emit_end(e);
	emit_table(e, "rows", "A table", cols, 3);
	emit_obj(e, NULL);
	emit_str(e, "name", "one");
	emit_u64(e, "lat_ns", 12345);
	emit_u64(e, "n", 7);
	emit_list(e, "hidden_in_text", NULL);
	emit_u64(e, NULL, 424242);
	emit_end(e);
	emit_end(e);
	emit_obj(e, NULL);
	emit_str(e, "name", "two");
	emit_u64(e, "lat_ns", 5);
	emit_only(e, EMIT_HUMAN);
	emit_str(e, "n", "people");
	emit_only(e, EMIT_ALL);
	emit_end(e);
	emit_end(e);
	emit_list(e, "notes", "notes:");
	emit_str(e, NULL, "first");
	emit_str(e, NULL, "second");
	emit_end(e);
	emit_list(e, "empty", "never printed:");
	emit_end(e);
	emit_family(e, "t_events", EMIT_COUNTER, NULL, "Events.");
	emit_obj(e, NULL);
	emit_label(e, "what", "a\\b\"c\nd");
	emit_u64(e, "value", 3);
	emit_end(e);
	emit_end(e);
}

static struct hist *sample_hist(void)
{
	struct hist *h = calloc(1, sizeof(*h));
	int i;

	assert_non_null(h);
	for (i = 0; i < 10; i++)
		hist_add(h, 3000);
	hist_add(h, 100000);
	return h;
}

static void test_json_backend(void **state)
{
	struct hist *h = sample_hist();
	char *s;

	(void)state;
	s = render(&emit_json, sample_doc, h);
	if (!json_valid(s))
		fail_msg("invalid JSON:\n%s", s);
	assert_string_equal(s + strlen(s) - 2, "}\n");
	assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);	/* one line */
	HAS(s, "{\"mode\":\"test\",\"counters\":{\"a\":1,\"b\":-2,\"c\":true,"
	       "\"d\":null,\"e\":\"x\\\"y\"}");
	HAS(s, "\"lat\":{\"numa\":\"same\",\"count\":11,\"min_ns\":3000,");
	HAS(s, "\"hist\":[{\"lo_ns\":2048,\"hi_ns\":4095,\"count\":10},"
	       "{\"lo_ns\":65536,\"hi_ns\":131071,\"count\":1}]}");
	HAS(s, "\"rows\":[{\"name\":\"one\",\"lat_ns\":12345,\"n\":7,"
	       "\"hidden_in_text\":[424242]},{\"name\":\"two\",\"lat_ns\":5}]");
	HAS(s, "\"notes\":[\"first\",\"second\"],\"empty\":[]");
	HAS(s, "\"t_events\":[{\"what\":\"a\\\\b\\\"c\\u000ad\",\"value\":3}]");
	assert_null(strstr(s, "caption"));
	assert_null(strstr(s, "people"));
	free(s);
	free(h);
}

static void test_text_backend(void **state)
{
	struct hist *h = sample_hist();
	char *s;

	(void)state;
	s = render(&emit_text, sample_doc, h);
	HAS(s, "--- a caption ---\n");
	HAS(s, "\nCounters: a=1 b=-2 c=yes d=- e=x\"y\n");
	HAS(s, "\nLatency same: count 11  min 3000ns");
	HAS(s, "               nsecs : count    distribution\n"
	       "      2048 -> 4095       : 10       |****************************************|\n");
	HAS(s, "\nA table\n"
	       "NAME        LAT   N\n"
	       "one      12.3us   7\n"
	       "two         5ns   people\n");
	HAS(s, "\nnotes:\n  - first\n  - second\n");
	HAS(s, "t_events: Events.\n  what=a\\b\"c\nd value=3\n");
	assert_null(strstr(s, "never printed"));
	assert_null(strstr(s, "mode"));		/* machine only */
	assert_null(strstr(s, "424242"));		/* a list inside a row */
	assert_null(strstr(s, "numa"));		/* the title names it */
	free(s);
	free(h);
}

/* ---- OpenMetrics: a strict check of the exposition ---- */

#include "om_check.h"

static void test_om_validator_fails(void **state)
{
	(void)state;
	assert_null(om_validate("# TYPE a counter\na_total 1\n# EOF\n"));
	assert_non_null(om_validate("# TYPE a counter\na_total 1\n"));
	assert_non_null(om_validate("# TYPE a counter\na 1\n# EOF\n"));
	assert_non_null(om_validate("# TYPE a counter\na_total{x=\"1} 1\n# EOF\n"));
	assert_non_null(om_validate("# TYPE a counter\nb_total 1\n# EOF\n"));
	assert_non_null(om_validate("# TYPE a histogram\na_bucket{le=\"1\"} 2\n"
				    "a_bucket{le=\"2\"} 1\n# EOF\n"));
	assert_non_null(om_validate("# TYPE a histogram\na_bucket{le=\"1\"} 2\n"
				    "a_bucket{le=\"+Inf\"} 2\na_count 3\n# EOF\n"));
	assert_non_null(om_validate("# TYPE a counter\n# TYPE a counter\n# EOF\n"));
	assert_non_null(om_validate("# EOF\n# TYPE a counter\n"));
}

static void test_openmetrics_backend(void **state)
{
	struct hist *h = sample_hist();
	const char *why;
	char *s;

	(void)state;
	s = render(&emit_openmetrics, sample_doc, h);
	why = om_validate(s);
	if (why)
		fail_msg("%s\n%s", why, s);
	/* only families are exposition */
	assert_string_equal(s, "# TYPE t_events counter\n"
			       "# HELP t_events Events.\n"
			       "t_events_total{what=\"a\\\\b\\\"c\\nd\"} 3\n"
			       "# EOF\n");
	free(s);
	free(h);
}

/* the guest scrape of a real aggregation, through the server's renderer */
static void scrape(struct emitter *e, void *ctx)
{
	scrape_guest(e, ctx);
}

static void report_fn(struct emitter *e, const void *r)
{
	report_guest(e, r);
}

static void test_guest_scrape_is_valid(void **state)
{
	struct guest_report r = { .agg = NULL };
	char *rep;
	struct topology t;
	struct agg a;
	const char *why;
	size_t len;
	char *s;
	int i;

	(void)state;
	assert_int_equal(topology_parse_map(&t, "0-1:0/2-3:1"), 0);
	assert_int_equal(agg_init(&a, &t, 4), 0);
	for (i = 0; i < 500; i++) {
		struct ipi_event ev = { .type = REC_IPI, .kind = i % IPI_KIND_MAX,
					.src_cpu = i % 4, .dst_cpu = (i + 1) % 4,
					.lat_ns = 100 + 97 * (uint64_t)i * i };

		agg_add(&a, &ev);
	}
	hist_add(&a.csd[IPT_NUMA_SAME], 4000);
	r.agg = &a;
	for (i = 0; i < ST_ALL; i++)
		r.stats[i] = 10 * i + 1;
	s = metrics_render(&emit_openmetrics, scrape, &r, &len);
	assert_non_null(s);
	why = om_validate(s);
	if (why)
		fail_msg("%s", why);
	HAS(s, "ipitrace_ipi_latency_seconds_bucket{kind=\"csd\",numa=\"same\",le=\"0.000004095\"} 1\n");
	/* a report in OpenMetrics is that scrape, for the report's span */
	r.duration_s = 1;
	r.callers = 3;
	r.cpu_pairs = 1;
	rep = render(&emit_openmetrics, report_fn, &r);
	assert_string_equal(rep, s);
	free(rep);
	free(s);
	/* the same scrape as JSON is valid JSON */
	s = metrics_render(&emit_json, scrape, &r, &len);
	assert_non_null(s);
	assert_true(json_valid(s));
	free(s);
	agg_free(&a);
	topology_free(&t);
}

/* ---- nesting has no silent limit ---- */

#define DEEP 5000

static void deep_doc(struct emitter *e, const void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < DEEP; i++) {
		if (i % 2)
			emit_obj(e, NULL);
		else
			emit_list(e, "l", NULL);
	}
	emit_u64(e, i % 2 ? NULL : "v", 42);
	for (i = 0; i < DEEP; i++)
		emit_end(e);
}

static void test_deep_nesting(void **state)
{
	struct jw w;
	char *s, *buf = NULL;
	size_t len = 0;
	FILE *f;
	int i;

	(void)state;
	s = render(&emit_json, deep_doc, NULL);
	assert_true(json_valid(s));
	/* {"l":[{"l":[{ ... "v":42 }]}] ... }\n */
	assert_int_equal(strlen(s), 1 + DEEP / 2 * strlen("\"l\":[{") +
			 strlen("\"v\":42") + DEEP / 2 * strlen("}]") + 2);
	free(s);
	/* the writer itself, beyond its inline levels */
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	jw_init(&w, f);
	for (i = 0; i < 3 * JW_INLINE; i++)
		jw_arr(&w, NULL);
	jw_u64(&w, NULL, 1);
	for (i = 0; i < 3 * JW_INLINE; i++)
		jw_arr_end(&w);
	jw_done(&w);
	fclose(f);
	assert_true(json_valid(buf));
	assert_int_equal(strlen(buf), 3 * JW_INLINE * 2 + 2);
	free(buf);
}

/* ---- unbalanced documents abort with a message ---- */

enum misuse {
	END_NOTHING_OPEN, DOC_END_OPEN, KEYLESS_MEMBER, JW_EXTRA_CLOSE,
	JW_WRONG_CLOSE, JW_DONE_OPEN,
};

static void misuse(enum misuse m)
{
	struct emitter e;
	struct jw w;
	FILE *f = fopen("/dev/null", "w");

	if (m <= KEYLESS_MEMBER) {
		emit_open(&e, &emit_json, f);
		emit_doc_begin(&e);
		emit_obj(&e, "a");
		if (m == KEYLESS_MEMBER)
			emit_u64(&e, NULL, 1);
		emit_end(&e);
		if (m == END_NOTHING_OPEN)
			emit_end(&e);
		if (m == DOC_END_OPEN)
			emit_list(&e, "b", NULL);
		emit_doc_end(&e);
		return;
	}
	jw_init(&w, f);
	jw_obj(&w, NULL);
	jw_arr(&w, "x");
	if (m == JW_WRONG_CLOSE)
		jw_obj_end(&w);
	jw_arr_end(&w);
	if (m != JW_DONE_OPEN)
		jw_obj_end(&w);
	if (m == JW_EXTRA_CLOSE)
		jw_obj_end(&w);
	jw_done(&w);
}

/* runs misuse(@m) in a child; returns what it printed on stderr */
static char *dies(enum misuse m)
{
	static char err[512];
	int p[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(p[1], 2);
		close(p[0]);
		misuse(m);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = 0;
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
		fail_msg("misuse %d did not abort (status 0x%x): %s", m, status, err);
	return err;
}

static void test_balance_failures(void **state)
{
	(void)state;
	HAS(dies(END_NOTHING_OPEN), "emit_end() without an open container");
	HAS(dies(DOC_END_OPEN), "document ends with containers open");
	HAS(dies(KEYLESS_MEMBER), "object member without a key");
	HAS(dies(JW_EXTRA_CLOSE), "'}' with nothing open");
	HAS(dies(JW_WRONG_CLOSE), "'}' closes an array");
	HAS(dies(JW_DONE_OPEN), "document ends with objects or arrays open");
}

static void test_backend_table(void **state)
{
	(void)state;
	assert_ptr_equal(emit_backend_find("text"), &emit_text);
	assert_ptr_equal(emit_backend_find("json"), &emit_json);
	assert_ptr_equal(emit_backend_find("openmetrics"), &emit_openmetrics);
	assert_null(emit_backend_find("xml"));
	assert_null(emit_backend_find(NULL));
	assert_string_equal(emit_backend_names(), "text, json, openmetrics, prometheus");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_backend),
		cmocka_unit_test(test_text_backend),
		cmocka_unit_test(test_om_validator_fails),
		cmocka_unit_test(test_openmetrics_backend),
		cmocka_unit_test(test_guest_scrape_is_valid),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_balance_failures),
		cmocka_unit_test(test_backend_table),
	};

	return cmocka_run_group_tests_name("emit", tests, NULL, NULL);
}
