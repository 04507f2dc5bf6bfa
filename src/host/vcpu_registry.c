// SPDX-License-Identifier: GPL-2.0
/*
 * The host model's registry: threads (by tid) and vCPUs (by VM pid and
 * vCPU id), and which thread runs which vCPU.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

static size_t idx_slot(const struct idx *x, __u64 key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 20) & (x->cap - 1);
}

static int idx_find(const struct idx *x, __u64 key)
{
	size_t i;

	if (!x->cap)
		return -1;
	for (i = idx_slot(x, key); x->vals[i] >= 0; i = (i + 1) & (x->cap - 1))
		if (x->keys[i] == key)
			return x->vals[i];
	return -1;
}

static void idx_insert(struct idx *x, __u64 key, int val)
{
	size_t i = idx_slot(x, key);

	while (x->vals[i] >= 0)
		i = (i + 1) & (x->cap - 1);
	x->keys[i] = key;
	x->vals[i] = val;
	x->n++;
}

static int idx_grow(struct idx *x)
{
	struct idx old = *x;
	size_t i, cap = x->cap ? x->cap * 2 : 64;

	x->keys = calloc(cap, sizeof(*x->keys));
	x->vals = malloc(cap * sizeof(*x->vals));
	if (!x->keys || !x->vals) {
		free(x->keys);
		free(x->vals);
		*x = old;
		return -ENOMEM;
	}
	memset(x->vals, 0xff, cap * sizeof(*x->vals));
	x->cap = cap;
	x->n = 0;
	for (i = 0; i < old.cap; i++)
		if (old.vals[i] >= 0)
			idx_insert(x, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
	return 0;
}

static int idx_put(struct idx *x, __u64 key, int val)
{
	if ((x->n + 1) * 2 > x->cap && idx_grow(x))
		return -ENOMEM;
	idx_insert(x, key, val);
	return 0;
}

static void idx_free(struct idx *x)
{
	free(x->keys);
	free(x->vals);
	memset(x, 0, sizeof(*x));
}

/* Append @p to a pointer array; returns its index or -ENOMEM. */
static int ptr_push(void ***arr, size_t *nr, size_t *cap, void *p)
{
	if (*nr == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		void **n = realloc(*arr, c * sizeof(*n));

		if (!n)
			return -ENOMEM;
		*arr = n;
		*cap = c;
	}
	(*arr)[*nr] = p;
	return (int)(*nr)++;
}

static __u64 vc_key(__u32 pid, int vcpu)
{
	return (__u64)pid << 32 | (__u32)vcpu;
}

struct kthread *hm_thread_find(const struct kick *k, __u32 tid)
{
	int i = idx_find(&k->thr_idx, tid);

	return i < 0 ? NULL : k->thr[i];
}

struct kthread *hm_thread_get(struct kick *k, __u32 tid, __u32 pid)
{
	struct kthread *t = hm_thread_find(k, tid);
	int i;

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tid = tid;
	t->pid = pid;
	t->vcpu = -1;
	t->last_cpu = -1;
	t->poll_window = -1;
	t->poll_window_halt = -1;
	t->exit_msr = KICK_NO_MSR;
	i = ptr_push((void ***)&k->thr, &k->nr_thr, &k->cap_thr, t);
	if (i < 0 || idx_put(&k->thr_idx, tid, i)) {
		if (i >= 0)
			k->nr_thr--;
		free(t);
		return NULL;
	}
	return t;
}

int hm_vcpu_index(const struct kick *k, __u32 pid, int vcpu)
{
	return idx_find(&k->vc_idx, vc_key(pid, vcpu));
}

struct kvcpu *hm_vcpu_find(const struct kick *k, __u32 pid, int vcpu)
{
	int i = hm_vcpu_index(k, pid, vcpu);

	return i < 0 ? NULL : k->vc[i];
}

struct kvcpu *hm_vcpu_get(struct kick *k, __u32 pid, int vcpu)
{
	struct kvcpu *v = hm_vcpu_find(k, pid, vcpu);
	int i;

	if (v || vcpu < 0)
		return v;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->info.pid = pid;
	v->info.vcpu = vcpu;
	v->pend.state = -1;
	v->pend.dst_cpu = -1;
	i = ptr_push((void ***)&k->vc, &k->nr_vc, &k->cap_vc, v);
	if (i < 0 || idx_put(&k->vc_idx, vc_key(pid, vcpu), i)) {
		if (i >= 0)
			k->nr_vc--;
		free(v);
		return NULL;
	}
	return v;
}

/* the vCPU thread @t runs, if known */
struct kvcpu *hm_thread_vcpu(const struct kick *k, const struct kthread *t)
{
	if (!t || t->vcpu < 0)
		return NULL;
	return hm_vcpu_find(k, t->pid, t->vcpu);
}

/* thread @t runs vCPU @vcpu of its VM (and no other thread does) */
void hm_bind(struct kick *k, struct kthread *t, int vcpu)
{
	struct kvcpu *v;
	struct kthread *o;

	if (!t || vcpu < 0)
		return;
	v = hm_vcpu_get(k, t->pid, vcpu);
	if (!v)
		return;
	if (t->vcpu == vcpu && v->info.tid == t->tid)
		return;
	if (t->vcpu >= 0 && t->vcpu != vcpu) {
		struct kvcpu *ov = hm_vcpu_find(k, t->pid, t->vcpu);

		if (ov && ov->info.tid == t->tid)
			ov->info.tid = 0;
	}
	if (v->info.tid && v->info.tid != t->tid) {
		o = hm_thread_find(k, v->info.tid);
		if (o && o->vcpu == vcpu)
			o->vcpu = -1;
	}
	t->vcpu = vcpu;
	v->info.tid = t->tid;
	v->info.known = true;
	hm_adopt_early_halts(k, t, v);
}

bool hm_filter_pid(const struct kick *k, __u32 pid)
{
	return !k->f_pid || k->f_pid == pid;
}

bool kick_filter_match(const struct kick *k, __u32 pid, int vcpu)
{
	return hm_filter_pid(k, pid) && (k->f_vcpu < 0 || k->f_vcpu == vcpu);
}

int kick_set_thread(struct kick *k, __u32 tid, __u32 vm_pid, int vcpu_id)
{
	struct kthread *t = hm_thread_get(k, tid, vm_pid);

	if (!t)
		return -ENOMEM;
	if (t->pid != vm_pid) {
		t->vcpu = -1;
		t->pid = vm_pid;
	}
	hm_bind(k, t, vcpu_id);
	return t->vcpu == vcpu_id || vcpu_id < 0 ? 0 : -ENOMEM;
}

void hm_registry_free(struct kick *k)
{
	size_t i;

	for (i = 0; i < k->nr_vc; i++) {
		struct kvcpu *v = k->vc[i];

		if (v->pend.active)
			hm_ipi_put(k, v->pend.ipi);
		free(v);
	}
	for (i = 0; i < k->nr_thr; i++) {
		hm_close_open(k, k->thr[i]);
		free(k->thr[i]);
	}
	free(k->vc);
	free(k->thr);
	idx_free(&k->vc_idx);
	idx_free(&k->thr_idx);
}

size_t kick_nr_vcpus(const struct kick *k)
{
	return k->nr_vc;
}

const struct kick_vcpu_info *kick_vcpu_at(const struct kick *k, size_t i)
{
	return i < k->nr_vc ? &k->vc[i]->info : NULL;
}
