// SPDX-License-Identifier: GPL-2.0
/*
 * VM exit accounting: kvm_exit opens an exit in its vCPU thread, kvm_msr
 * inside an MSR exit names its MSR, the thread's next kvm_entry closes it
 * (exit-to-entry time). Rows by reason (MSR exits also by MSR), in total
 * and per vCPU. Reason names are the kernel's own, from the uapi headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/kvm.h>	/* the exception vectors SVM_EXIT_REASONS names */
#include <asm/svm.h>
#include <asm/vmx.h>
#include "model.h"
#include "ipitrace.h"


#define ISA_VMX	1
#define ISA_SVM	2

struct exit_name {
	__u32 reason;
	const char *name;
};

static const struct exit_name vmx_exits[] = { VMX_EXIT_REASONS };
static const struct exit_name svm_exits[] = { SVM_EXIT_REASONS };

static const char *exit_lookup(const struct exit_name *t, size_t n, __u32 r)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].reason == r)
			return t[i].name;
	return NULL;
}

const char *kick_exit_name(__u32 isa, __u32 reason, char *buf, size_t len)
{
	const char *s = NULL;

	/* VMX: the basic exit reason is the low 16 bits */
	if (isa == ISA_VMX)
		s = exit_lookup(vmx_exits, ARRAY_SIZE(vmx_exits), reason & 0xffff);
	else if (isa == ISA_SVM)
		s = exit_lookup(svm_exits, ARRAY_SIZE(svm_exits), reason);
	if (s)
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, "0x%x", reason);
	return buf;
}

const char *kick_msr_name(__s64 msr)
{
	static const struct {
		__u32 msr;
		const char *name;
	} names[] = {
		{ 0x830, "icr" }, { 0x80b, "eoi" }, { 0x808, "tpr" },
		{ 0x838, "tmict" }, { 0x6e0, "tsc_deadline" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (msr == names[i].msr)
			return names[i].name;
	return NULL;
}

static bool msr_exit(__u32 isa, __u32 reason)
{
	if (isa == ISA_SVM)
		return reason == SVM_EXIT_MSR;
	reason &= 0xffff;
	return isa == ISA_VMX && (reason == EXIT_REASON_MSR_READ ||
				  reason == EXIT_REASON_MSR_WRITE);
}

static struct kick_exit *row(struct exit_tab *tab, const struct kthread *t,
			     __s64 msr, bool per_vcpu, bool create)
{
	__u32 pid = per_vcpu ? t->pid : 0;
	int vcpu = per_vcpu ? t->vcpu : -1;
	struct kick_exit *x;
	size_t i;

	for (i = 0; i < tab->n; i++) {
		x = &tab->x[i];
		if (x->isa == t->exit_isa && x->reason == t->exit_reason &&
		    x->msr == msr && x->pid == pid && x->vcpu == vcpu)
			return x;
	}
	if (!create)
		return NULL;
	if (tab->n == tab->cap) {
		size_t c = tab->cap ? tab->cap * 2 : 16;

		x = realloc(tab->x, c * sizeof(*x));
		if (!x)
			return NULL;
		tab->x = x;
		tab->cap = c;
	}
	x = &tab->x[tab->n++];
	memset(x, 0, sizeof(*x));
	x->isa = t->exit_isa;
	x->reason = t->exit_reason;
	x->msr = msr;
	x->pid = pid;
	x->vcpu = vcpu;
	return x;
}

/* @fn on the exit's total row and its vCPU's row (when known) */
static void each_row(struct kick *k, const struct kthread *t, __s64 msr,
		     bool create, void (*fn)(struct kick_exit *x, void *arg),
		     void *arg)
{
	struct kick_exit *x = row(&k->exits, t, msr, false, create);

	if (x)
		fn(x, arg);
	if (t->vcpu < 0)
		return;
	x = row(&k->vexits, t, msr, true, create);
	if (x)
		fn(x, arg);
}

static void count_one(struct kick_exit *x, void *arg)
{
	int *d = arg;

	x->count += *d;
}

static void time_one(struct kick_exit *x, void *arg)
{
	const __u64 *ns = arg;

	x->timed++;
	x->total_ns += *ns;
	hist_add(&x->hist, *ns);
}

void hm_on_vm_exit(struct kick *k, const struct host_event *e,
		   struct kthread *t)
{
	int one = 1;

	hm_bind(k, t, e->u.exit.vcpu_id);
	t->exit_ts = e->ts;
	t->exit_isa = e->u.exit.isa;
	t->exit_reason = e->u.exit.reason;
	t->exit_msr = KICK_NO_MSR;
	if (kick_filter_match(k, e->pid, t->vcpu))
		each_row(k, t, KICK_NO_MSR, true, count_one, &one);
}

/* kvm_msr inside an MSR exit: the exit moves to its MSR's row */
void hm_on_msr(struct kick *k, const struct host_event *e, struct kthread *t)
{
	struct kick_exit *x;
	int one = 1, minus = -1;

	if (!t->exit_ts || t->exit_msr != KICK_NO_MSR ||
	    !msr_exit(t->exit_isa, t->exit_reason))
		return;
	t->exit_msr = e->u.msr.ecx;
	if (!kick_filter_match(k, e->pid, t->vcpu))
		return;
	/* counted in this span (not before a reset) */
	x = row(&k->exits, t, KICK_NO_MSR, false, false);
	if (!x || !x->count)
		return;
	each_row(k, t, KICK_NO_MSR, false, count_one, &minus);
	each_row(k, t, t->exit_msr, true, count_one, &one);
}

void hm_on_vm_entry(struct kick *k, const struct host_event *e,
		    struct kthread *t)
{
	hm_bind(k, t, e->u.vcpu.vcpu_id);
	k->entries_seen = true;
	hm_close_open(k, t);
	if (t->exit_ts && e->ts >= t->exit_ts &&
	    kick_filter_match(k, e->pid, t->vcpu)) {
		__u64 ns = e->ts - t->exit_ts;

		each_row(k, t, t->exit_msr, false, time_one, &ns);
	}
	t->exit_ts = 0;
	hm_stage_vm_entry(k, e, t);
}

void hm_exits_reset(struct kick *k)
{
	k->exits.n = 0;
	k->vexits.n = 0;
}

void hm_exits_free(struct kick *k)
{
	free(k->exits.x);
	free(k->vexits.x);
}

size_t kick_nr_exits(const struct kick *k)
{
	return k->exits.n;
}

const struct kick_exit *kick_exit_at(const struct kick *k, size_t i)
{
	return i < k->exits.n ? &k->exits.x[i] : NULL;
}

size_t kick_nr_vcpu_exits(const struct kick *k)
{
	return k->vexits.n;
}

const struct kick_exit *kick_vcpu_exit_at(const struct kick *k, size_t i)
{
	return i < k->vexits.n ? &k->vexits.x[i] : NULL;
}

bool kick_entries_seen(const struct kick *k)
{
	return k->entries_seen;
}
