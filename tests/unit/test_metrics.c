// SPDX-License-Identifier: GPL-2.0
/* OpenMetrics exposition of an aggregation, and the address parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http_server.h"
#include "metrics.h"
#include "output.h"
#include "topology.h"

#define UNUSED		__attribute__((unused))

static void scrape(struct emitter *e, void *ctx)
{
	scrape_guest(e, ctx);
}

static char *render(const struct agg *a)
{
	struct guest_report r = { .agg = a };
	char *buf;
	size_t len;

	r.stats[ST_SENDS] = 7;
	buf = metrics_render(&emit_openmetrics, scrape, &r, &len);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static unsigned long long sample(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	assert_non_null(p);
	return strtoull(p + strlen(name) + 1, NULL, 10);
}

static void test_exposition(void **state UNUSED)
{
	struct topology t;
	struct agg a;
	struct ipi_event e = { .type = REC_IPI, .kind = IPI_CALL_SINGLE,
			       .src_cpu = 0, .dst_cpu = 2 };
	char *text;
	int i;

	assert_int_equal(topology_parse_map(&t, "0-1:0/2-3:1"), 0);
	assert_int_equal(agg_init(&a, &t, 4), 0);
	for (i = 0; i < 10; i++) {
		e.lat_ns = 3000;	/* bucket [2048, 4095] */
		agg_add(&a, &e);
	}
	e.lat_ns = 100000;		/* bucket [65536, 131071] */
	agg_add(&a, &e);
	text = render(&a);

	assert_non_null(strstr(text, "# TYPE ipitrace_ipi_latency_seconds histogram\n"));
	assert_non_null(strstr(text, "# UNIT ipitrace_ipi_latency_seconds seconds\n"));
	assert_int_equal(sample(text, "ipitrace_ipi_latency_seconds_bucket{kind=\"call_single\",numa=\"cross\",le=\"0.000004095\"}"), 10);
	assert_int_equal(sample(text, "ipitrace_ipi_latency_seconds_bucket{kind=\"call_single\",numa=\"cross\",le=\"0.000065535\"}"), 10);
	assert_int_equal(sample(text, "ipitrace_ipi_latency_seconds_bucket{kind=\"call_single\",numa=\"cross\",le=\"0.000131071\"}"), 11);
	assert_int_equal(sample(text, "ipitrace_ipi_latency_seconds_bucket{kind=\"call_single\",numa=\"cross\",le=\"+Inf\"}"), 11);
	/* a bound is the bucket's largest value: 4095 ns is inside "4095" */
	assert_int_equal(sample(text, "ipitrace_ipi_latency_seconds_bucket{kind=\"call_single\",numa=\"cross\",le=\"0.000002047\"}"), 0);
	assert_int_equal(sample(text, "ipitrace_ipi_latency_seconds_count{kind=\"call_single\",numa=\"cross\"}"), 11);
	assert_non_null(strstr(text, "ipitrace_ipi_latency_seconds_sum{kind=\"call_single\",numa=\"cross\"} 0.000130000\n"));
	assert_null(strstr(text, "numa=\"same\""));	/* empty classes are left out */
	assert_int_equal(sample(text, "ipitrace_events_total{counter=\"sends\"}"), 7);
	assert_int_equal(sample(text, "ipitrace_lost_total{reason=\"ringbuf_drops\"}"), 0);
	assert_true(strlen(text) > 6);
	assert_string_equal(text + strlen(text) - 6, "# EOF\n");
	free(text);
	agg_free(&a);
	topology_free(&t);
}

static void test_listen_errors(void **state UNUSED)
{
	FILE *devnull = fopen("/dev/null", "w");
	struct metrics_server *s;

	assert_null(metrics_listen("notaport", devnull));
	assert_null(metrics_listen("example.com:80", devnull));	/* numeric only */
	assert_null(metrics_listen("127.0.0.1:", devnull));
	s = metrics_listen("127.0.0.1:0", devnull);
	assert_non_null(s);
	assert_true(metrics_port(s) > 0);
	metrics_close(s);
	fclose(devnull);
}

/* Methods, paths and Accept headers as scrapers and strangers send them. */
static void test_parse_request(void **state UNUSED)
{
	bool head;
	int fmt;

	assert_int_equal(http_parse_request("GET /metrics HTTP/1.1\r\nHost: a\r\n"
		"Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n\r\n",
		&fmt, &head), 0);
	assert_int_equal(fmt, SNAP_OPENMETRICS);
	assert_false(head);
	assert_int_equal(http_parse_request("HEAD /metrics?x=1 HTTP/1.0\r\n\r\n",
					    &fmt, &head), 0);
	assert_int_equal(fmt, SNAP_PROMETHEUS);
	assert_true(head);
	/* the header name is case-insensitive; another header's value does
	 * not count */
	assert_int_equal(http_parse_request("GET /metrics HTTP/1.1\r\n"
		"ACCEPT: application/openmetrics-text\r\n\r\n", &fmt, &head), 0);
	assert_int_equal(fmt, SNAP_OPENMETRICS);
	assert_int_equal(http_parse_request("GET /metrics HTTP/1.1\r\n"
		"X-Note: application/openmetrics-text\r\nAccept: */*\r\n\r\n",
		&fmt, &head), 0);
	assert_int_equal(fmt, SNAP_PROMETHEUS);
	assert_int_equal(http_parse_request("POST /metrics HTTP/1.1\r\n\r\n",
					    &fmt, &head), 405);
	assert_int_equal(http_parse_request("GET /metricsx HTTP/1.1\r\n\r\n",
					    &fmt, &head), 404);
	assert_int_equal(http_parse_request("GET / HTTP/1.1\r\n\r\n", &fmt,
					    &head), 404);
	assert_int_equal(http_parse_request("garbage\r\n\r\n", &fmt, &head),
			 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exposition),
		cmocka_unit_test(test_listen_errors),
		cmocka_unit_test(test_parse_request),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
