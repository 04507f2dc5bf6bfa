// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the guest report (src/report/output.c) and the JSON
 * writer (src/report/json.c). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "agg.h"
#include "json.h"
#include "output.h"
#include "topology.h"

#include "json_check.h"

static void test_validator_self_check(void **state)
{
	(void)state;
	assert_true(json_valid("{\"a\":[1,2.5,-3e4,true,false,null,\"x\\u0001\"],\"b\":{}}\n"));
	assert_false(json_valid("{\"a\":1,}"));
	assert_false(json_valid("{\"a\" 1}"));
	assert_false(json_valid("[1,2"));
	assert_false(json_valid("{\"a\":nan}"));
	assert_false(json_valid("\"a\nb\""));
	assert_false(json_valid("{}{}"));
	assert_true(balanced("{\"}\":[\"[\"]}"));
	assert_false(balanced("{]"));
}

/* ---- capture helpers ---- */

struct cap {
	char *buf;
	size_t len;
	FILE *f;
};

static void cap_open(struct cap *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
}

static char *cap_close(struct cap *c)
{
	fclose(c->f);
	return c->buf;
}

#define HAS(s, needle) do {						\
	if (!strstr((s), (needle)))					\
		fail_msg("missing '%s' in:\n%s", (needle), (s));	\
} while (0)

/* ---- json writer ---- */

static void test_jw_escaping(void **state)
{
	struct cap c;
	struct jw w;
	char *s;

	(void)state;
	cap_open(&c);
	jw_init(&w, c.f);
	jw_obj(&w, NULL);
	jw_str(&w, "q", "say \"hi\"");
	jw_str(&w, "bs", "a\\b");
	jw_str(&w, "ctl", "l1\nl2\tx\r\x01\x1f");
	jw_str(&w, "k\"ey", "v");
	jw_str(&w, "utf8", "caf\xc3\xa9 \x7f");
	jw_str(&w, "null", NULL);
	jw_str(&w, "empty", "");
	jw_obj_end(&w);
	jw_done(&w);
	s = cap_close(&c);
	HAS(s, "\"q\":\"say \\\"hi\\\"\"");
	HAS(s, "\"bs\":\"a\\\\b\"");
	HAS(s, "\"ctl\":\"l1\\u000al2\\u0009x\\u000d\\u0001\\u001f\"");
	HAS(s, "\"k\\\"ey\":\"v\"");
	HAS(s, "\"utf8\":\"caf\xc3\xa9 \x7f\"");
	HAS(s, "\"null\":null");
	HAS(s, "\"empty\":\"\"");
	/* no raw control character survives */
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			assert_true(*p == '\n' && p[1] == '\0');
	assert_true(json_valid(s));
	free(s);
}

static void test_jw_structure(void **state)
{
	struct cap c;
	struct jw w;
	char *s;

	(void)state;
	cap_open(&c);
	jw_init(&w, c.f);
	jw_obj(&w, NULL);
	jw_u64(&w, "u", UINT64_MAX);
	jw_i64(&w, "i", INT64_MIN);
	jw_dbl(&w, "d", 1.5);
	jw_bool(&w, "t", true);
	jw_bool(&w, "f", false);
	jw_null(&w, "n");
	jw_arr(&w, "a");
	jw_u64(&w, NULL, 1);
	jw_obj(&w, NULL);
	jw_obj_end(&w);
	jw_arr(&w, NULL);
	jw_arr_end(&w);
	jw_u64(&w, NULL, 2);
	jw_arr_end(&w);
	jw_obj(&w, "o");
	jw_arr(&w, "e");
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_done(&w);
	/* a second document on the same writer (interval reports) */
	jw_obj(&w, NULL);
	jw_u64(&w, "x", 1);
	jw_obj_end(&w);
	jw_done(&w);
	s = cap_close(&c);
	assert_string_equal(s,
		"{\"u\":18446744073709551615,\"i\":-9223372036854775808,"
		"\"d\":1.500000,\"t\":true,\"f\":false,\"n\":null,"
		"\"a\":[1,{},[],2],\"o\":{\"e\":[]}}\n"
		"{\"x\":1}\n");
	free(s);
}

/* ---- fmt_ns ---- */

static void test_fmt_ns(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(fmt_ns(0, b, sizeof(b)), "0ns");
	assert_string_equal(fmt_ns(1, b, sizeof(b)), "1ns");
	assert_string_equal(fmt_ns(9999, b, sizeof(b)), "9999ns");
	assert_string_equal(fmt_ns(10000, b, sizeof(b)), "10.0us");
	assert_string_equal(fmt_ns(12345, b, sizeof(b)), "12.3us");
	assert_string_equal(fmt_ns(999999, b, sizeof(b)), "1000.0us");
	assert_string_equal(fmt_ns(10000000, b, sizeof(b)), "10.0ms");
	assert_string_equal(fmt_ns(123456789, b, sizeof(b)), "123.5ms");
	assert_string_equal(fmt_ns(10000000000ULL, b, sizeof(b)), "10.0s");
	assert_string_equal(fmt_ns(3600000000000ULL, b, sizeof(b)), "3600.0s");
	assert_non_null(fmt_ns(UINT64_MAX, b, sizeof(b)));
	assert_ptr_equal(fmt_ns(5, b, sizeof(b)), b);
	/* truncation stays terminated */
	assert_string_equal(fmt_ns(123456, b, 4), "123");
}

/* ---- reports ---- */

struct fix {
	struct topology topo;
	struct agg agg;
	struct hook_role roles[3];
	struct guest_report r;
};

static void add(struct agg *a, int type, int kind, __u32 src, __u32 dst,
		__u64 lat, __u64 callsite)
{
	struct ipi_event e = {
		.lat_ns = lat, .src_cpu = src, .dst_cpu = dst, .type = (__u8)type,
		.kind = (__u8)kind, .callsite = callsite, .func = 0xabc,
	};

	agg_add(a, &e);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	int i;

	assert_non_null(f);
	assert_int_equal(topology_parse_map(&f->topo, "0-1:0/2-3:1"), 0);
	assert_int_equal(agg_init(&f->agg, &f->topo, 4), 0);
	for (i = 0; i < 100; i++)
		add(&f->agg, REC_IPI, IPI_CALL_SINGLE, 0, 1, 1000 + 10 * i, 0x10);
	for (i = 0; i < 10; i++)
		add(&f->agg, REC_IPI, IPI_RESCHED, 0, 2, 50000 + i, 0x20);
	hist_add(&f->agg.csd[IPT_NUMA_CROSS], 7000);	/* kernel CSD histogram */
	f->roles[0] = (struct hook_role){ .name = "send_call_single",
		.required = true, .chosen = 0,
		.cands = { { HOOK_TP_BTF, "ipi/ipi_send_cpu", "p" } } };
	f->roles[1] = (struct hook_role){ .name = "csd_queue", .chosen = -1,
		.cands = { { HOOK_RAW_TP, "csd/csd_queue_cpu", "q" } } };
	f->roles[2] = (struct hook_role){ .name = "send_call_many",
		.chosen = 1, .cands = { { HOOK_TP_BTF, "ipi/x", "a" },
					{ HOOK_FENTRY, "native_send_call_func_ipi", "b" } } };
	f->r.duration_s = 2.5;
	f->r.roles = f->roles;
	f->r.nr_roles = 3;
	f->r.agg = &f->agg;
	f->r.stats[ST_SENDS] = 123;
	f->r.stats[ST_HANDLED] = 111;
	f->r.stats[ST_RB_DROP] = 4;
	f->r.stats[ST_PENDING_OVERWRITE] = 2;
	f->r.stats[ST_RECURSION_MISS] = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	agg_free(&f->agg);
	topology_free(&f->topo);
	free(f);
	return 0;
}

static void test_report_json(void **state)
{
	struct fix *f = *state;
	struct cap c;
	char *s;

	cap_open(&c);
	report_print(c.f, &emit_json, &f->r);
	s = cap_close(&c);
	assert_true(balanced(s));
	if (!json_valid(s))
		fail_msg("invalid JSON:\n%s", s);
	assert_true(s[0] == '{');
	assert_true(s[strlen(s) - 1] == '\n');
	HAS(s, "\"mode\":\"guest\"");
	HAS(s, "\"duration_s\":2.5");
	HAS(s, "\"hooks\":{");
	HAS(s, "\"send_call_single\":\"tp_btf:ipi/ipi_send_cpu\"");
	HAS(s, "\"csd_queue\":null");
	HAS(s, "\"send_call_many\":\"fentry:native_send_call_func_ipi\"");
	HAS(s, "\"lost\":{");
	HAS(s, "\"ringbuf_drops\":4");
	HAS(s, "\"pending_overwritten\":2");
	HAS(s, "\"recursion_misses\":1");
	HAS(s, "\"counters\":{");
	HAS(s, "\"sends\":123");
	HAS(s, "\"paired\":111");
	HAS(s, "\"classes\":[");
	HAS(s, "\"kind\":\"call_single\",\"numa\":\"same\",\"count\":100,"
	       "\"min_ns\":1000,\"avg_ns\":1495,");
	HAS(s, "\"kind\":\"resched\",\"numa\":\"cross\",\"count\":10,"
	       "\"min_ns\":50000,\"avg_ns\":50004,");
	HAS(s, "\"p50_ns\":");
	HAS(s, "\"p90_ns\":");
	HAS(s, "\"p99_ns\":");
	HAS(s, "\"max_ns\":1990");
	HAS(s, "\"max_ns\":50009");
	HAS(s, "\"hist\":[{\"lo_ns\":512,\"hi_ns\":1023,\"count\":3}");
	HAS(s, "{\"lo_ns\":1024,\"hi_ns\":2047,\"count\":97}");
	HAS(s, "{\"lo_ns\":32768,\"hi_ns\":65535,\"count\":10}");
	HAS(s, "\"csd_classes\":[{\"kind\":\"csd\",\"numa\":\"cross\",\"count\":1");
	/* off unless asked */
	assert_null(strstr(s, "\"cpu_pairs\""));
	assert_null(strstr(s, "\"callers\""));
	free(s);

	f->r.cpu_pairs = 1;
	f->r.callers = 2;
	cap_open(&c);
	report_print(c.f, &emit_json, &f->r);
	s = cap_close(&c);
	assert_true(balanced(s));
	if (!json_valid(s))
		fail_msg("invalid JSON:\n%s", s);
	HAS(s, "\"cpu_pairs\":[{\"src\":0,\"dst\":1,\"numa\":\"same\",\"count\":100,");
	HAS(s, "{\"src\":0,\"dst\":2,\"numa\":\"cross\",\"count\":10,");
	HAS(s, "\"callers\":[{\"kind\":\"call_single\",\"callsite\":\"0x10\","
	       "\"function\":\"0xabc\",\"count\":100,\"avg_ns\":1495,"
	       "\"max_ns\":1990}");
	HAS(s, "{\"kind\":\"resched\",\"callsite\":\"0x20\"");
	assert_null(strstr(s, "\"kind\":\"csd\",\"callsite\""));	/* top 2 */
	free(s);
}

static void test_report_json_empty(void **state)
{
	struct fix *f = *state;
	struct cap c;
	char *s;

	agg_reset(&f->agg);
	memset(f->r.stats, 0, sizeof(f->r.stats));
	f->r.cpu_pairs = 1;
	f->r.callers = 10;
	cap_open(&c);
	report_print(c.f, &emit_json, &f->r);
	s = cap_close(&c);
	if (!json_valid(s))
		fail_msg("invalid JSON:\n%s", s);
	HAS(s, "\"classes\":[]");
	HAS(s, "\"csd_classes\":[]");
	HAS(s, "\"cpu_pairs\":[]");
	HAS(s, "\"callers\":[]");
	free(s);
}

static void test_report_text(void **state)
{
	struct fix *f = *state;
	struct cap c;
	char *s;
	__u64 lost;

	cap_open(&c);
	report_print(c.f, &emit_text, &f->r);
	s = cap_close(&c);
	HAS(s, "--- 2.5 s ---");
	HAS(s, "IPI call_single, same node: count 100  min 1000ns  avg 1495ns");
	HAS(s, "max 1990ns");
	HAS(s, "IPI resched, cross node: count 10  min 50.0us");
	HAS(s, "CSD queue -> function, cross node: count 1");
	HAS(s, "               nsecs : count    distribution\n");
	HAS(s, "       512 -> 1023       : 3        |*");
	HAS(s, "      1024 -> 2047       : 97       |****************************************|\n");
	HAS(s, "     32768 -> 65535      : 10       |****************************************|\n");
	HAS(s, "Counters: sends=123 paired=111");
	HAS(s, "Lost: 7 ringbuf_drops=4 pending_overwritten=2");
	HAS(s, "recursion_misses=1 handlers_unseen=0\n");
	assert_null(strstr(s, "CPU pairs"));
	assert_null(strstr(s, "Top senders"));
	free(s);
	assert_int_equal(report_lost_total(&f->r, &lost), 1);
	assert_int_equal(lost, 7);

	f->r.cpu_pairs = 1;
	f->r.callers = 5;
	cap_open(&c);
	report_print(c.f, &emit_text, &f->r);
	s = cap_close(&c);
	HAS(s, "CPU pairs (count / median)");
	HAS(s, "100/");
	HAS(s, "Top senders");
	HAS(s, "call_single");
	HAS(s, "0x10");
	HAS(s, "csd");
	free(s);

	agg_reset(&f->agg);
	memset(f->r.stats, 0, sizeof(f->r.stats));
	cap_open(&c);
	report_print(c.f, &emit_text, &f->r);
	s = cap_close(&c);
	HAS(s, "No IPIs paired.");
	HAS(s, "Lost: 0 ");
	free(s);
	assert_int_equal(report_lost_total(&f->r, &lost), 0);
	assert_int_equal(lost, 0);
}

/* ---- every counter text prints is in JSON and the metrics too ---- */

#define KEY(e, key, where, doc)	key,
static const char *const counter_keys[] = { IPT_COUNTERS(KEY) };
static const char *const loss_keys[] = { IPT_LOSSES(KEY) };
#undef KEY
#define NR_KEYS	(ARRAY_SIZE(counter_keys) + ARRAY_SIZE(loss_keys))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct kv {
	char key[64];
	unsigned long long v;
};

/* "key=value" words of the line that starts with @head */
static int text_pairs(const char *s, const char *head, struct kv *out, int max)
{
	const char *p = strstr(s, head), *end;
	int n = 0;

	assert_non_null(p);
	end = strchr(p, '\n');
	for (p += strlen(head); p < end && n < max; ) {
		const char *eq = strchr(p, '=');

		while (*p == ' ' || isdigit((unsigned char)*p))
			p++;			/* "Lost: 7" total */
		if (!eq || eq > end)
			break;
		assert_true(eq - p < 64);
		memcpy(out[n].key, p, eq - p);
		out[n].key[eq - p] = 0;
		out[n].v = strtoull(eq + 1, (char **)&p, 10);
		n++;
	}
	return n;
}

/* "key":value members of the JSON object "name":{...} (flat) */
static int json_pairs(const char *s, const char *name, struct kv *out, int max)
{
	char head[80];
	const char *p, *end;
	int n = 0;

	snprintf(head, sizeof(head), "\"%s\":{", name);
	p = strstr(s, head);
	assert_non_null(p);
	p += strlen(head);
	end = strchr(p, '}');
	while (p < end && n < max) {
		const char *q = strchr(p + 1, '"');

		assert_true(*p == '"' && q && q - p - 1 < 64 && q[1] == ':');
		memcpy(out[n].key, p + 1, q - p - 1);
		out[n].key[q - p - 1] = 0;
		out[n].v = strtoull(q + 2, (char **)&p, 10);
		n++;
		if (*p == ',')
			p++;
	}
	return n;
}

static unsigned long long find(const struct kv *kv, int n, const char *key)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].v;
	fail_msg("'%s' missing", key);
	return 0;
}

static void test_counters_same_in_text_json_metrics(void **state)
{
	struct fix *f = *state;
	struct kv tc[32], tl[32], jc[32], jl[32];
	char *text, *json, *om, sample[160];
	int ntc, ntl, njc, njl, i;
	struct emitter e;
	struct cap c;

	for (i = 0; i < ST_ALL; i++)
		f->r.stats[i] = 1000 + 17 * i;	/* each one different */
	cap_open(&c);
	report_print(c.f, &emit_text, &f->r);
	text = cap_close(&c);
	cap_open(&c);
	report_print(c.f, &emit_json, &f->r);
	json = cap_close(&c);
	cap_open(&c);
	assert_int_equal(emit_open(&e, &emit_openmetrics, c.f), 0);
	emit_doc_begin(&e);
	scrape_guest(&e, &f->r);
	emit_doc_end(&e);
	emit_close(&e);
	om = cap_close(&c);

	ntc = text_pairs(text, "Counters:", tc, 32);
	ntl = text_pairs(text, "Lost:", tl, 32);
	njc = json_pairs(json, "counters", jc, 32);
	njl = json_pairs(json, "lost", jl, 32);
	/* the same sets, the whole X-macro lists, nothing else */
	assert_int_equal(ntc, ARRAY_SIZE(counter_keys));
	assert_int_equal(njc, ARRAY_SIZE(counter_keys));
	assert_int_equal(ntl, ARRAY_SIZE(loss_keys));
	assert_int_equal(njl, ARRAY_SIZE(loss_keys));
	assert_int_equal(ST_ALL, NR_KEYS);
	for (i = 0; i < ntc; i++) {
		assert_int_equal(find(jc, njc, tc[i].key), tc[i].v);
		snprintf(sample, sizeof(sample),
			 "ipitrace_events_total{counter=\"%.63s\"} %llu\n",
			 tc[i].key, tc[i].v);
		HAS(om, sample);
	}
	for (i = 0; i < ntl; i++) {
		assert_int_equal(find(jl, njl, tl[i].key), tl[i].v);
		snprintf(sample, sizeof(sample),
			 "ipitrace_lost_total{reason=\"%.63s\"} %llu\n",
			 tl[i].key, tl[i].v);
		HAS(om, sample);
	}
	/* values reach the right names: the loader-side slot and an extra */
	assert_int_equal(find(jl, njl, "recursion_misses"),
			 f->r.stats[ST_RECURSION_MISS]);
	assert_int_equal(find(tc, ntc, "sends"), f->r.stats[ST_SENDS]);
	assert_int_equal(find(tl, ntl, "cpu_out_of_range"),
			 f->r.stats[ST_CPU_RANGE] + f->agg.out_of_range);
	free(text);
	free(json);
	free(om);
}

static void test_print_log2_hist(void **state)
{
	struct hist *h = calloc(1, sizeof(*h));
	struct cap c;
	char *s;

	(void)state;
	assert_non_null(h);
	/* empty: prints nothing */
	cap_open(&c);
	print_log2_hist(c.f, h, "nsecs");
	s = cap_close(&c);
	assert_string_equal(s, "");
	free(s);
	/* leading empty buckets skipped, inner ones kept */
	hist_add(h, 100);
	hist_add(h, 100);
	hist_add(h, 1000);
	cap_open(&c);
	print_log2_hist(c.f, h, "usecs");
	s = cap_close(&c);
	assert_string_equal(s,
		"               usecs : count    distribution\n"
		"        64 -> 127        : 2        |****************************************|\n"
		"       128 -> 255        : 0        |                                        |\n"
		"       256 -> 511        : 0        |                                        |\n"
		"       512 -> 1023       : 1        |********************                    |\n");
	free(s);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validator_self_check),
		cmocka_unit_test(test_jw_escaping),
		cmocka_unit_test(test_jw_structure),
		cmocka_unit_test(test_fmt_ns),
		cmocka_unit_test_setup_teardown(test_report_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_text, setup, teardown),
		cmocka_unit_test(test_print_log2_hist),
		cmocka_unit_test_setup_teardown(test_counters_same_in_text_json_metrics,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
