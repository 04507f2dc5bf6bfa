/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-IPI records on disk (--record FILE) and back (ipitrace report,
 * ipitrace join): the line format of docs/record-format.md, version 2
 * (version 1 files are read too).
 * A guest file holds one "g" line per IPI (send, handler, CPUs, kind); a
 * host file one "h" line per IPI-target (every stage of the kick path).
 * Both carry what the join needs: kernel, clock, topology and the clock
 * offsets observed while recording.
 */
#ifndef __IPT_RECORD_H
#define __IPT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
#include "ipitrace.h"
#include "kick.h"

#define REC_VERSION	2
#define REC_VERSION_MIN	1	/* the oldest version read */
#define REC_MAGIC	"ipitrace-record"
#define REC_MAX_LINE	1024
#define REC_MAX_VMS	16
#define REC_MAX_RECORDS	(16u << 20)

enum rec_side { REC_GUEST = 1, REC_HOST = 2 };

struct rec_guest_ipi {
	__u64 send_ns;		/* CLOCK_MONOTONIC of the guest */
	__u64 lat_ns;		/* handler entry - send */
	__u32 src_cpu, dst_cpu;
	__u8 kind;		/* enum ipi_kind */
	__u8 vector;		/* x86 vector of the kind, 0 unknown */
	__u16 flags;
	__u32 coalesced;
};

/* struct kick_result as a record (host CLOCK_MONOTONIC ns) */
struct rec_host_ipi {
	__u64 ipi_id;
	__u32 vm_pid;
	int src_vcpu, dst_vcpu;
	__u32 src_tid, dst_tid;
	int src_cpu, dst_cpu;
	int state;
	int vector;
	__u64 exit_ts;
	__u64 halt_ns;
	__u64 t[KS_MAX];	/* by enum kick_stage; 0 = not seen */
	__u32 flags;		/* REC_HF_* */
};

#define REC_HF_TIMED_OUT	1
#define REC_HF_SUPERSEDED	2
#define REC_HF_FIRST		4
#define REC_HF_PV		8	/* the PV send-IPI hypercall's, not an
					 * ICR write's (version 2) */

/* A PV send-IPI hypercall (host, version 2) is read back as the host model
 * reported it: struct kick_pv_send. */

/* A halt of a vCPU, ended at end_ts after ns (host, version 2) */
struct rec_halt {
	__u64 end_ts, ns;
	__u32 vm_pid;
	int vcpu;
};

/* A (CLOCK_MONOTONIC, TSC) pair read back to back (the narrowest
 * bracket of a few tries; err: half of it) */
struct rec_tsc {
	__u64 mono, tsc, err;
};

/* The TSC offset of a VM (host debugfs kvm/<pid>-<fd>/vcpuN/tsc-offset):
 * guest TSC = host TSC + offset when the ratio is KVM's default. */
struct rec_vm_tsc {
	__u32 pid;
	int vcpus;		/* vCPUs read */
	bool mixed;		/* vCPUs with different ratios */
	__s64 offset_min, offset_max;	/* over the vCPUs (a kernel that
					 * rewrites it per vCPU load) */
	__u64 ratio;		/* tsc-scaling-ratio, 0 when not there */
};

struct record {
	int version;
	int side;			/* enum rec_side */
	char kernel[65];		/* uname -r */
	char clocksource[32];		/* current_clocksource, "" unknown */
	int nr_cpus;
	int node[IPT_MAX_CPUS];		/* NUMA node per CPU, -1 unknown */
	__u64 start_ns, end_ns;		/* recording span, own clock */
	/* guest: CLOCK_MONOTONIC - trace_clock "local" (sched_clock) */
	bool have_local;
	__s64 mono_minus_local;
	__u64 local_err_ns;
	/* guest: kvm-clock's sched offset (dmesg) */
	bool have_sched_offset;
	__u64 sched_offset;
	/* the earliest and the latest "sync tsc" */
	int nr_tsc;
	struct rec_tsc tsc[2];
	int nr_vms;
	struct rec_vm_tsc vms[REC_MAX_VMS];
	size_t nr;			/* records */
	struct rec_guest_ipi *g;	/* side REC_GUEST */
	struct rec_host_ipi *h;		/* side REC_HOST */
	/* host, version 2: the PV send-IPI hypercalls and the vCPUs' halts
	 * (have_halts: recorded, even if there were none) */
	size_t nr_pv, nr_halts;
	struct kick_pv_send *pv;
	struct rec_halt *halts;
	bool have_halts;
};

/* does hypercall @s name APIC id @apicid as a target */
bool rec_pv_covers(const struct kick_pv_send *s, int apicid);

/* Writing. rec_create() writes the header; the rec_*() lines follow in
 * any order; rec_finish() writes the trailer with the record count and
 * checksum and closes. All return 0 or -errno. */
struct rec_writer;
struct topology;

int rec_create(struct rec_writer **w, const char *path, int side,
	       const struct topology *topo);
void rec_guest_event(struct rec_writer *w, const struct ipi_event *e);
void rec_host_result(struct rec_writer *w, const struct kick_result *r);
void rec_host_pv(struct rec_writer *w, const struct kick_pv_send *s);
void rec_host_halt(struct rec_writer *w, const struct kick_halt_sample *s);
/* guest: sample the clock relations (kvm-clock: sched offset, local) */
void rec_guest_clocks(struct rec_writer *w);
/* both: a (CLOCK_MONOTONIC, TSC) pair (x86; nothing elsewhere) */
void rec_tsc_sample(struct rec_writer *w);
/* host: the TSC offsets of VM @pid's vCPUs, from debugfs */
void rec_host_vm_tsc(struct rec_writer *w, __u32 pid);
int rec_finish(struct rec_writer *w);
/* For the modes: rec_create() (and the guest's clock sample) when @path
 * is set, else *w = NULL; -1 after saying why on stderr. */
int record_open(struct rec_writer **w, const char *path, int side,
		const struct topology *topo);
/* rec_finish(), saying on stderr when the file could not be written */
void record_close(struct rec_writer *w, const char *path);

/* Reading: the whole file or a buffer (the fuzzer's entry). 0, or -1 with
 * "line N: why" in @err. rec_free() releases what a read filled. */
int rec_read(const char *path, struct record *r, char *err, size_t len);
int rec_parse(const char *buf, size_t size, struct record *r, char *err,
	      size_t len);
void rec_free(struct record *r);

/* CPU vector of a guest IPI kind (x86), 0 when none */
int rec_kind_vector(int kind);

#endif
