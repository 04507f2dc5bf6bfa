// SPDX-License-Identifier: GPL-2.0
/* Unit tests for src/record: the record file round trip, and the reader
 * against truncated, altered and made-up files. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "record.h"
#include "topology.h"

#define UNUSED		__attribute__((unused))

/* FNV-1a 64, written again here: the trailer is checked against this */
static uint64_t fnv(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* @body with a correct trailer for @nr records: made-up but well-formed */
static char *sealed(const char *body, unsigned nr)
{
	char *out;

	if (asprintf(&out, "%send %u %016llx\n", body, nr,
		     (unsigned long long)fnv(body, strlen(body))) < 0)
		return NULL;
	return out;
}

static int parse(const char *s, size_t n, struct record *r, char *err)
{
	return rec_parse(s, n, r, err, 256);
}

static char *tmp_path(void)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/ipt-rec-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return path;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(1 << 20);

	assert_non_null(f);
	*n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static char *write_guest(size_t *n)
{
	int nodes[4] = { 0, 0, 1, 1 };
	struct topology t = { .nr_cpus = 4, .nr_nodes = 2, .cpu_node = nodes };
	struct rec_writer *w;
	char *path = tmp_path(), *buf;
	int i;

	assert_int_equal(rec_create(&w, path, REC_GUEST, &t), 0);
	for (i = 0; i < 10; i++) {
		struct ipi_event e = {
			.send_ns = 1000000 + i * 1000, .lat_ns = 500 + i,
			.src_cpu = i % 4, .dst_cpu = (i + 1) % 4, .type = REC_IPI,
			.kind = i % 2 ? IPI_RESCHED : IPI_CALL_SINGLE,
		};
		rec_guest_event(w, &e);
	}
	assert_int_equal(rec_finish(w), 0);
	buf = slurp(path, n);
	unlink(path);
	return buf;
}

static void test_guest_round_trip(void **state UNUSED)
{
	struct record r;
	char err[256];
	size_t n;
	char *buf = write_guest(&n);

	assert_int_equal(parse(buf, n, &r, err), 0);
	assert_int_equal(r.side, REC_GUEST);
	assert_int_equal(r.nr, 10);
	assert_int_equal(r.nr_cpus, 4);
	assert_int_equal(r.node[2], 1);
	assert_int_equal(r.g[3].send_ns, 1003000);
	assert_int_equal(r.g[3].lat_ns, 503);
	assert_int_equal(r.g[3].src_cpu, 3);
	assert_int_equal(r.g[3].dst_cpu, 0);
	assert_int_equal(r.g[3].kind, IPI_RESCHED);
	assert_int_equal(r.g[3].vector, 0xfd);
	assert_int_equal(r.g[4].vector, 0xfb);
	rec_free(&r);
	free(buf);
}

static void test_host_round_trip(void **state UNUSED)
{
	struct kick_result k = {
		.ipi_id = 7, .vm_pid = 1234, .src_vcpu = 0, .dst_vcpu = 2,
		.src_tid = 1240, .dst_tid = 1242, .src_cpu = 0, .dst_cpu = 1,
		.state = TS_BLOCKED, .vector = 0xfb, .exit_ts = 90,
		.t = { 100, 110, 120, 130, 140, 150, 160 }, .ipi_first = true,
	};
	struct kick_pv_send pv = {
		.ts = 95, .vm_pid = 1234, .src_vcpu = 0, .src_tid = 1240,
		.vector = 0xfc, .min_apicid = 1, .bitmap_lo = 0x5,
		.bitmap_hi = 1ULL << 63,
	};
	struct kick_halt_sample hs = {
		.vm_pid = 1234, .vcpu = 2, .end_ts = 150, .ns = 70,
	};
	struct rec_writer *w;
	struct record r;
	char err[256], *path = tmp_path(), *buf;
	size_t n;

	assert_int_equal(rec_create(&w, path, REC_HOST, NULL), 0);
	rec_host_result(w, &k);
	k.pv = true;
	k.ipi_first = false;
	rec_host_result(w, &k);
	rec_host_pv(w, &pv);
	rec_host_halt(w, &hs);
	assert_int_equal(rec_finish(w), 0);
	buf = slurp(path, &n);
	unlink(path);
	assert_int_equal(parse(buf, n, &r, err), 0);
	assert_int_equal(r.side, REC_HOST);
	assert_int_equal(r.version, REC_VERSION);
	assert_int_equal(r.nr, 2);
	assert_int_equal(r.h[0].vm_pid, 1234);
	assert_int_equal(r.h[0].dst_vcpu, 2);
	assert_int_equal(r.h[0].exit_ts, 90);
	assert_int_equal(r.h[0].t[KS_VM_ENTRY], k.t[KS_VM_ENTRY]);
	assert_int_equal(r.h[0].flags, REC_HF_FIRST);
	assert_int_equal(r.h[1].flags, REC_HF_PV);
	assert_true(r.have_halts);
	assert_int_equal(r.nr_pv, 1);
	assert_int_equal(r.pv[0].ts, 95);
	assert_int_equal(r.pv[0].vector, 0xfc);
	assert_int_equal(r.pv[0].bitmap_hi, 1ULL << 63);
	/* APIC ids min + bit (lo), min + 64 + bit (hi) */
	assert_true(rec_pv_covers(&r.pv[0], 1));
	assert_false(rec_pv_covers(&r.pv[0], 2));
	assert_true(rec_pv_covers(&r.pv[0], 3));
	assert_true(rec_pv_covers(&r.pv[0], 128));
	assert_false(rec_pv_covers(&r.pv[0], 0));
	assert_false(rec_pv_covers(&r.pv[0], 129));
	assert_int_equal(r.nr_halts, 1);
	assert_int_equal(r.halts[0].end_ts, 150);
	assert_int_equal(r.halts[0].ns, 70);
	assert_int_equal(r.halts[0].vcpu, 2);
	rec_free(&r);
	free(buf);
}

/* every proper prefix is refused, and says why */
static void test_truncated(void **state UNUSED)
{
	struct record r;
	char err[256];
	size_t n, cut;
	char *buf = write_guest(&n);

	for (cut = 0; cut < n; cut++) {
		err[0] = 0;
		assert_int_equal(parse(buf, cut, &r, err), -1);
		assert_true(err[0]);
	}
	assert_int_equal(parse(buf, n, &r, err), 0);
	rec_free(&r);
	free(buf);
}

/* any one byte changed is refused: by the parser or the checksum */
static void test_altered(void **state UNUSED)
{
	struct record r;
	char err[256];
	size_t n, i;
	char *buf = write_guest(&n);
	int bit;

	for (i = 0; i < n; i++)
		for (bit = 0; bit < 8; bit++) {
			buf[i] ^= 1 << bit;
			assert_int_equal(parse(buf, n, &r, err), -1);
			buf[i] ^= 1 << bit;
		}
	free(buf);
}

static void expect_refused(const char *body, unsigned nr, const char *why)
{
	struct record r;
	char err[256] = "";
	char *s = sealed(body, nr);

	assert_non_null(s);
	if (parse(s, strlen(s), &r, err) != -1)
		fail_msg("accepted: %s", body);
	if (!strstr(err, why))
		fail_msg("'%s' for %s, wanted '%s'", err, body, why);
	free(s);
}

#define G_HDR	"ipitrace-record 1 guest\ncpus 4\n"
#define H_HDR	"ipitrace-record 1 host\n"
#define G2_HDR	"ipitrace-record 2 guest\ncpus 4\n"
#define H2_HDR	"ipitrace-record 2 host\n"

static void test_hostile(void **state UNUSED)
{
	struct record r;
	char err[256], *s, *big;

	/* well-formed and sealed: accepted (the cases below differ by one thing) */
	s = sealed(G_HDR "g 1 2 0 1 0 251 0 0\n", 1);
	assert_int_equal(parse(s, strlen(s), &r, err), 0);
	rec_free(&r);
	free(s);
	expect_refused("ipitrace-record 3 guest\n", 0, "version 3");
	expect_refused("ipitrace-record 0 guest\n", 0, "version 0");
	/* version 1 (still read): no hypercalls, halts or PV flag in it */
	s = sealed(H_HDR "h 1 1 0 1 1 1 0 0 0 251 7 0 0 1 2 3 4 5 6 7\n", 1);
	assert_int_equal(parse(s, strlen(s), &r, err), 0);
	assert_int_equal(r.version, 1);
	assert_false(r.have_halts);
	rec_free(&r);
	free(s);
	expect_refused(H_HDR "h 1 1 0 1 1 1 0 0 0 251 8 0 0 1 2 3 4 5 6 7\n", 1,
		       "field 11");
	expect_refused(H_HDR "pv 1 1 0 1 252 0 6 0\n", 0, "in a version 1");
	expect_refused(H_HDR "halts recorded\n", 0, "in a version 1");
	/* version 2 */
	s = sealed(H2_HDR "halts recorded\npv 1 1 0 1 252 0 6 0\nhalt 10 4 1 2\n"
		   "h 1 1 0 1 1 1 0 0 0 251 12 0 0 1 2 3 4 5 6 7\n", 1);
	assert_int_equal(parse(s, strlen(s), &r, err), 0);
	assert_int_equal(r.nr_pv, 1);
	assert_int_equal(r.nr_halts, 1);
	assert_int_equal(r.h[0].flags, REC_HF_PV | REC_HF_FIRST);
	rec_free(&r);
	free(s);
	expect_refused(H2_HDR "h 1 1 0 1 1 1 0 0 0 251 16 0 0 1 2 3 4 5 6 7\n", 1,
		       "field 11");
	expect_refused(G2_HDR "pv 1 1 0 1 252 0 6 0\n", 0, "in a guest record");
	expect_refused(G2_HDR "halt 10 4 1 2\n", 0, "in a guest record");
	expect_refused(H2_HDR "pv 1 1 0 1 252 0 6\n", 0, "takes 8 fields");
	expect_refused(H2_HDR "pv 1 1 0 1 256 0 6 0\n", 0, "field 5");
	expect_refused(H2_HDR "pv 1 1 0 1 252 4096 6 0\n", 0, "field 6");
	expect_refused(H2_HDR "halt 10 11 1 2\n", 0, "field 2");
	expect_refused(H2_HDR "halt 10 4 1 -1\n", 0, "field 4");
	expect_refused(H2_HDR "halts seen\n", 0, "unknown halts");
	expect_refused("ipitrace-record 1 alien\n", 0, "unknown side");
	expect_refused("something else\n", 0, "not an ipitrace record");
	expect_refused(G_HDR "g 1 2 0 4 0 251 0 0\n", 1, "beyond the file's 4 CPUs");
	expect_refused(G_HDR "g 1 2 0 1 9 251 0 0\n", 1, "field 5");
	expect_refused(G_HDR "g 1 2 0 1 0 256 0 0\n", 1, "field 6");
	expect_refused(G_HDR "g -1 2 0 1 0 251 0 0\n", 1, "field 1");
	expect_refused(G_HDR "g 99999999999999999999 2 0 1 0 251 0 0\n", 1, "field 1");
	expect_refused(G_HDR "g 18446744073709551615 1 0 1 0 251 0 0\n", 1, "field 2");
	expect_refused(G_HDR "g 01 2 0 1 0 251 0 0\n", 1, "field 1");
	expect_refused(G_HDR "g 1 2 0 1 0 251 0\n", 1, "takes 8 fields");
	expect_refused(G_HDR "g 1 2 0 1 0 251 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
		       1, "too many fields");
	expect_refused(G_HDR "g 1 2 0 1 0 251 0 0\n", 2, "end says 2");
	expect_refused(G_HDR "h 1 1 0 1 1 1 0 0 0 251 0 0 0 1 2 3 4 5 6 7\n", 1,
		       "host IPI in a guest record");
	expect_refused(G_HDR "cpus 8\n", 0, "cpus after");
	expect_refused(G_HDR "node 4 0\n", 0, "beyond the file's CPUs");
	expect_refused(G_HDR "bogus 1\n", 0, "unknown line");
	expect_refused(G_HDR "sync local 1\n", 0, "takes 3 fields");
	expect_refused(G_HDR "clock realtime\n", 0, "unknown clock");
	expect_refused(G_HDR "sync tsc 1 2\n", 0, "takes 4 fields");
	expect_refused(G_HDR "sync tsc 1 2 2000000000\n", 0, "field 4");
	expect_refused(H_HDR "vmtsc 1 4096 0 0\n", 0, "field 2");
	/* stages out of path order; a VM exit after its ICR */
	expect_refused(H_HDR "h 1 1 0 1 1 1 0 0 0 251 0 0 0 1 2 3 4 5 7 6\n", 1,
		       "before the stage preceding it");
	expect_refused(H_HDR "h 1 1 0 1 1 1 0 0 0 251 0 5 0 1 2 3 4 5 6 7\n", 1,
		       "VM exit after");
	expect_refused(H_HDR "h 1 1 0 1 1 1 0 0 3 251 0 0 0 1 2 3 4 5 6 7\n", 1,
		       "field 9");
	expect_refused(G_HDR "a\001b\n", 0, "unknown line");
	/* a NUL, an overlong line, bytes after the end */
	assert_int_equal(parse("ipitrace-record 1 guest\n\0\n", 26, &r, err), -1);
	assert_non_null(strstr(err, "NUL"));
	big = calloc(1, 4096);
	memset(big, 'x', 4000);
	big[4000] = '\n';
	assert_int_equal(parse(big, 4001, &r, err), -1);
	assert_non_null(strstr(err, "too long"));
	free(big);
	s = sealed(G_HDR, 0);
	big = malloc(strlen(s) + 8);
	sprintf(big, "%sg 1\n", s);
	assert_int_equal(parse(big, strlen(big), &r, err), -1);
	assert_non_null(strstr(err, "after the end"));
	free(big);
	free(s);
	assert_int_equal(parse("", 0, &r, err), -1);
	assert_int_equal(rec_read("/nonexistent/x", &r, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_round_trip),
		cmocka_unit_test(test_host_round_trip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_altered),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
