/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by ipitrace's BPF programs. */
#ifndef __IPT_BPF_H
#define __IPT_BPF_H

/* One program per tracepoint and flavour: tp_btf_<name> and raw_tp_<name>,
 * for the loader to pick from (src/common/hooks.h HOOK_TP). */
#define TP_BOTH(tp, name, proto, call)					\
SEC("tp_btf/" #tp) int BPF_PROG(tp_btf_##name, proto) { return call; }	\
SEC("raw_tp/" #tp) int BPF_PROG(raw_tp_##name, proto) { return call; }

/* One fentry and one kprobe program on a kernel function. */
#define FN_PAIR(fn, name, proto, call)					\
SEC("fentry/" #fn) int BPF_PROG(fentry_##name, proto) { return call; }	\
SEC("kprobe/" #fn) int BPF_KPROBE(kprobe_##name, proto) { return call; }

#define ARGS(...) __VA_ARGS__

/* Bump counter idx of a per-CPU array of __u64. Atomic: a hook in an
 * interrupt may nest inside one in process context on this CPU. */
#define ipt_stat_inc(map, idx) ({					\
	__u32 __k = (idx);						\
	__u64 *__v = bpf_map_lookup_elem(map, &__k);			\
	if (__v)							\
		__sync_fetch_and_add(__v, 1);				\
})

#endif /* __IPT_BPF_H */
