// SPDX-License-Identifier: GPL-2.0
/* Host model: VM exit accounting and names (src/host/exits.c). */
#include "host_fixture.h"

#define UNUSED		__attribute__((unused))

static void test_exits(void **state)
{
	struct fix *f = *state;
	const struct kick_exit *msr = NULL, *hlt = NULL;
	char buf[48];
	size_t i;

	vm_exit(f, 1000, 101, 32);
	vm_entry(f, 1400, 101);
	vm_exit(f, 2000, 101, 32);
	vm_entry(f, 2600, 101);
	vm_exit(f, 3000, 102, 12);
	vm_entry(f, 9000, 102);
	vm_exit(f, 9500, 102, 12);		/* still out at the end */
	assert_true(kick_entries_seen(f->k));
	assert_int_equal(kick_nr_exits(f->k), 2);
	for (i = 0; i < kick_nr_exits(f->k); i++) {
		const struct kick_exit *x = kick_exit_at(f->k, i);

		if (x->reason == 32)
			msr = x;
		if (x->reason == 12)
			hlt = x;
	}
	assert_non_null(msr);
	assert_non_null(hlt);
	assert_int_equal(msr->count, 2);
	assert_int_equal(msr->timed, 2);
	assert_int_equal(msr->total_ns, 1000);
	assert_int_equal(hlt->count, 2);
	assert_int_equal(hlt->timed, 1);
	assert_int_equal(hlt->total_ns, 6000);
	assert_string_equal(kick_exit_name(1, 32, buf, sizeof(buf)), "MSR_WRITE");
	assert_string_equal(kick_exit_name(2, 0x78, buf, sizeof(buf)), "hlt");
	assert_string_equal(kick_exit_name(2, 0x13, buf, sizeof(buf)), "write_cr3");
	assert_string_equal(kick_exit_name(1, 999, buf, sizeof(buf)), "0x3e7");
}

static const struct kick_exit *find_row(const struct fix *f, bool per_vcpu,
					int vcpu, __u32 reason, __s64 msr)
{
	size_t i, n = per_vcpu ? kick_nr_vcpu_exits(f->k) : kick_nr_exits(f->k);

	for (i = 0; i < n; i++) {
		const struct kick_exit *x = per_vcpu ?
			kick_vcpu_exit_at(f->k, i) : kick_exit_at(f->k, i);

		if (x->reason == reason && x->msr == msr &&
		    (!per_vcpu || x->vcpu == vcpu))
			return x;
	}
	return NULL;
}

/* SVM: MSR exits split by the MSR kvm_msr names inside them, in total and
 * per vCPU, with exit-to-entry min/max/percentiles. */
static void test_exits_by_msr_and_vcpu(void **state)
{
	struct fix *f = *state;
	const struct kick_exit *x;
	int i;

	for (i = 0; i < 3; i++) {		/* vCPU0: 3 ICR writes */
		vm_exit_isa(f, 1000 + i * 1000, 101, 2, 0x7c);
		msr(f, 1100 + i * 1000, 101, 0x830);
		vm_entry(f, 1200 + i * 1000 + i * 100, 101);
	}
	vm_exit_isa(f, 5000, 102, 2, 0x7c);	/* vCPU1: an EOI write */
	msr(f, 5050, 102, 0x80b);
	vm_entry(f, 5400, 102);
	vm_exit_isa(f, 6000, 102, 2, 0x78);	/* vCPU1: hlt, never entered */
	msr(f, 6010, 102, 0x830);		/* not an MSR exit: ignored */
	vm_exit_isa(f, 7000, 101, 2, 0x7c);	/* MSR exit without kvm_msr */
	vm_entry(f, 7100, 101);

	x = find_row(f, false, -1, 0x7c, 0x830);
	assert_non_null(x);
	assert_int_equal(x->count, 3);
	assert_int_equal(x->timed, 3);
	assert_int_equal(x->hist.min, 200);
	assert_int_equal(x->hist.max, 400);
	assert_int_equal(x->total_ns, 900);
	x = find_row(f, false, -1, 0x7c, 0x80b);
	assert_non_null(x);
	assert_int_equal(x->count, 1);
	assert_int_equal(x->total_ns, 400);
	x = find_row(f, false, -1, 0x7c, KICK_NO_MSR);
	assert_non_null(x);
	assert_int_equal(x->count, 1);		/* only the one without kvm_msr */
	x = find_row(f, false, -1, 0x78, KICK_NO_MSR);
	assert_non_null(x);
	assert_int_equal(x->count, 1);
	assert_int_equal(x->timed, 0);
	assert_null(find_row(f, false, -1, 0x78, 0x830));
	/* per vCPU */
	x = find_row(f, true, 0, 0x7c, 0x830);
	assert_non_null(x);
	assert_int_equal(x->pid, 100);
	assert_int_equal(x->count, 3);
	assert_null(find_row(f, true, 1, 0x7c, 0x830));
	x = find_row(f, true, 1, 0x7c, 0x80b);
	assert_non_null(x);
	assert_int_equal(x->count, 1);
	x = find_row(f, true, 1, 0x78, KICK_NO_MSR);
	assert_non_null(x);
	assert_int_equal(x->count, 1);
	assert_string_equal(kick_msr_name(0x830), "icr");
	assert_string_equal(kick_msr_name(0x80b), "eoi");
	assert_null(kick_msr_name(0x10));
}

/* Names as the kernel prints them (ftrace's kvm_exit on SVM). */
static void test_exit_names(void **state UNUSED)
{
	static const struct {
		__u32 isa, reason;
		const char *name;
	} want[] = {
		{ 2, 0x060, "interrupt" }, { 2, 0x07c, "msr" }, { 2, 0x078, "hlt" },
		{ 2, 0x07b, "io" }, { 2, 0x400, "npf" }, { 2, 0x072, "cpuid" },
		{ 2, 0x04e, "PF excp" }, { 2, 0x013, "write_cr3" },
		{ 1, 12, "HLT" }, { 1, 1, "EXTERNAL_INTERRUPT" },
		{ 1, 48, "EPT_VIOLATION" }, { 1, 0x80000021, "INVALID_STATE" },
		{ 2, 0x999, "0x999" },
	};
	char buf[48];
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(kick_exit_name(want[i].isa, want[i].reason,
						   buf, sizeof(buf)),
				    want[i].name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_exits),
		T(test_exits_by_msr_and_vcpu),
		T(test_exit_names),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
