// SPDX-License-Identifier: GPL-2.0
/* Host report (src/report/host_*.c) over the host model. */
#include "host_fixture.h"

static char *render(struct fix *f, bool json, const bool hooked[KS_MAX])
{
	static const struct hook_desc_pair hooks[] = {
		{ "icr_write", "tp_btf:kvm_apic_ipi", "kvm" },
		{ "kick", NULL, NULL }, { "vm_exit", NULL, NULL },
	};
	static const __u64 lost[HS_MAX] = { [HS_EVENTS] = 9, [HS_RB_DROP] = 3 };
	struct host_report *r = host_report_new(NULL, hooked, hooks, 3);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int i;

	assert_non_null(r);
	assert_non_null(m);
	host_report_set_view(r, true, true);
	for (i = 0; i < f->n; i++)
		host_report_add(r, &f->r[i]);
	assert_int_equal(host_report_agg(r)->results, f->n);
	host_report_print(r, f->k, 1.0, lost, 0, json, m);
	fclose(m);
	host_report_free(r);
	return buf;
}

/* the stage object of @name in the top-level "stages" array */
static const char *stage_obj(const char *js, const char *name)
{
	char key[64];
	const char *s = strstr(js, "\"stages\":[");

	assert_non_null(s);
	snprintf(key, sizeof(key), "{\"name\":\"%s\"", name);
	s = strstr(s, key);
	assert_non_null(s);
	return s;
}

static void assert_stage(const char *js, const char *name, const char *want)
{
	const char *s = stage_obj(js, name), *e = strchr(s, '}');

	assert_non_null(e);
	assert_true(strstr(s, want) && strstr(s, want) < e);
}

static void test_report(void **state)
{
	static const char *keys[] = {
		"\"mode\":\"host\"", "\"duration_s\":", "\"hooks\":{",
		"\"kick\":null", "\"hooks_btf\":{\"icr_write\":\"kvm\"}", "\"lost\":{\"ringbuf_drops\":3,", "\"ipis\":2", "\"vms\":[",
		"{\"pid\":100,\"vcpus\":4}", "\"stages\":[", "\"by_target_state\":{",
		"\"blocked\":{\"count\":1", "\"polling\":{\"count\":1",
		"\"running\":{\"count\":0", "\"by_numa\":{", "\"same\":{",
		"\"cross\":{", "\"halt\":{", "\"per_vcpu\":[", "\"poll_window_ns\":",
		"\"exits_observable\":false", "\"exits\":[]",
	};
	/* no hook for sched_switch; kvm_entry attached but never fires */
	static const bool hooked[KS_MAX] = {
		[KS_ICR] = true, [KS_ACCEPT] = true, [KS_KICK] = true,
		[KS_WAKEUP] = true, [KS_HALT_END] = true, [KS_VM_ENTRY] = true,
	};
	struct fix *f = *state;
	char *js, *txt;
	size_t i;

	ipi(f, 1000, 101, 1);
	accept(f, 1100, 101, 1);
	waking(f, 1200, 101, 102);
	wakeup(f, 1300, 101, 102);
	halt_end(f, 1500, 102, 50000, 1, 1);
	ipi(f, 2000, 101, 1);
	accept(f, 2100, 101, 1);
	halt_end(f, 2300, 102, 100, 0, 1);
	assert_int_equal(f->n, 2);

	js = render(f, true, hooked);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!strstr(js, keys[i]))
			fail_msg("missing %s in %s", keys[i], js);
	}
	assert_stage(js, "accept", "\"observable\":true,\"count\":2,\"p50_ns\":");
	assert_stage(js, "on_cpu", "\"observable\":false,\"count\":0,"
		     "\"p50_ns\":null,\"p99_ns\":null,\"mean_ns\":null");
	assert_stage(js, "vm_entry", "\"observable\":false,\"count\":0,"
		     "\"p50_ns\":null");
	assert_stage(js, "total", "\"observable\":true,\"count\":2");
	/* ICR write: the origin, no VM exit seen before it: no latency */
	assert_stage(js, "icr_write", "\"observable\":true,\"count\":2,"
		     "\"p50_ns\":null");
	assert_null(strstr(js, "\"p50_ns\":0,"));
	free(js);

	txt = render(f, false, hooked);
	assert_non_null(strstr(txt, "on_cpu     not observable on this kernel (no hook)"));
	assert_non_null(strstr(txt, "vm_entry   not observable on this kernel "
			       "(hook attached, never fired)"));
	assert_non_null(strstr(txt, "IPIs followed: 2"));
	free(txt);
}

/* Keys "k=" of the text line that starts with @title, as " k1 k2 ... ". */
static void text_keys(const char *txt, const char *title, char *out, size_t len)
{
	const char *l = strstr(txt, title), *e, *p;

	assert_non_null(l);
	e = strchr(l + 1, '\n');
	out[0] = 0;
	for (p = l + strlen(title); p < e; ) {
		const char *k = p + strspn(p, " "), *eq = strchr(k, '=');

		if (!eq || eq > e)
			break;
		snprintf(out + strlen(out), len - strlen(out), " %.*s",
			 (int)(eq - k), k);
		p = eq + strcspn(eq, " \n");
	}
	strncat(out, " ", len - strlen(out) - 1);
}

/* Keys of the flat JSON object "@name":{...}, as " k1 k2 ... ". */
static void json_keys(const char *js, const char *name, char *out, size_t len)
{
	char key[64];
	const char *p, *e;

	snprintf(key, sizeof(key), "\"%s\":{", name);
	p = strstr(js, key);
	assert_non_null(p);
	p += strlen(key);
	e = strchr(p, '}');
	out[0] = 0;
	while (p < e && *p == '"') {
		const char *q = strchr(p + 1, '"');

		snprintf(out + strlen(out), len - strlen(out), " %.*s",
			 (int)(q - p - 1), p + 1);
		p = q + strcspn(q, ",}");
		p += *p == ',';
	}
	strncat(out, " ", len - strlen(out) - 1);
}

/* Every counter the text prints is in the JSON, and no other. */
static void test_counters_text_equals_json(void **state)
{
	static const bool hooked[KS_MAX] = { [KS_ICR] = true };
	struct fix *f = *state;
	char t[1024], j[1024];
	char *js, *txt;

	ipi(f, 1000, 101, 1);
	switch_in(f, 1400, 102);
	wakeup(f, 1300, 101, 102);		/* out of order */
	halt_end(f, 1500, 102, 50000, 1, 1);
	halt_end(f, 1600, 999, 10, 0, 1);	/* unattributed */
	js = render(f, true, hooked);
	txt = render(f, false, hooked);
	text_keys(txt, "\nCounters:", t, sizeof(t));
	json_keys(js, "counters", j, sizeof(j));
	assert_string_equal(t, j);
	assert_non_null(strstr(t, " superseded timed_out learned_threads "
			       "unattributed_halts "));
	text_keys(txt, "\nLost:", t, sizeof(t));
	json_keys(js, "lost", j, sizeof(j));
	assert_string_equal(t, j);
	assert_non_null(strstr(t, " out_of_order_events "));
	assert_non_null(strstr(js, "\"out_of_order_events\":1"));
	assert_non_null(strstr(txt, "out_of_order_events=1"));
	assert_non_null(strstr(txt, "by stage refused: wakeup=1"));
	assert_non_null(strstr(js, "\"out_of_order_by_stage\":{\"icr_write\":0,"
			       "\"accept\":0,\"kick\":0,\"wakeup\":1,"));
	assert_non_null(strstr(js, "\"unattributed_halts\":1"));
	free(js);
	free(txt);
}

/* --exits: perf-kvm-stat-like columns, rows by reason and MSR and vCPU. */
static void test_exit_tables(void **state)
{
	struct fix *f = *state;
	char *js, *txt;
	int i;

	for (i = 0; i < 4; i++) {
		vm_exit_isa(f, 1000 + i * 1000, 101, 2, 0x7c);
		msr(f, 1100 + i * 1000, 101, i < 3 ? 0x830 : 0x80b);
		vm_entry(f, 1300 + i * 1000, 101);
	}
	vm_exit_isa(f, 9000, 102, 2, 0x78);
	vm_entry(f, 9700, 102);
	txt = render(f, false, NULL);
	js = render(f, true, NULL);
	assert_non_null(strstr(txt, "VM exits: 5\n"));
	assert_non_null(strstr(txt, "REASON                     SAMPLES SAMPLES%   TIME%"
			       "       MIN       MAX       AVG       P50       P99"));
	assert_non_null(strstr(txt, "msr 0x830 (icr)                  3   60.00%  47.37%     300ns     300ns"));
	assert_non_null(strstr(txt, "hlt                              1   20.00%  36.84%     700ns"));
	/* per vCPU, shares of that vCPU's own exits */
	assert_non_null(strstr(txt, "     100     0 msr 0x830 (icr)                  3   75.00%  75.00%"));
	assert_non_null(strstr(txt, "     100     1 hlt                              1  100.00% 100.00%"));
	assert_non_null(strstr(js, "\"exits_total\":5"));
	assert_non_null(strstr(js, "{\"reason\":\"msr\",\"isa\":2,\"msr\":\"0x830\","
			       "\"msr_name\":\"icr\",\"count\":3,"));
	assert_non_null(strstr(js, "\"total_ns\":900,\"min_ns\":300,\"max_ns\":300,"));
	assert_non_null(strstr(js, "\"exits_per_vcpu\":[{\"pid\":100,\"vcpu\":0,"
			       "\"reason\":\"msr\""));
	assert_non_null(strstr(js, "{\"pid\":100,\"vcpu\":1,\"reason\":\"hlt\","
			       "\"isa\":2,\"msr\":null,\"msr_name\":null,\"count\":1,"
			       "\"share\":1.000000,\"samples_pct\":100.000000,\"timed\":1,\"time_pct\":100.000000,"
			       "\"total_ns\":700,\"min_ns\":700,\"max_ns\":700,"));
	free(js);
	free(txt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_report),
		T(test_counters_text_equals_json),
		T(test_exit_tables),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
