/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Recorded halts for the offline advisor (`ipitrace advise FILE`), one
 * halt per line; docs/advisor.md has the format. Two kinds of lines, mixed
 * freely:
 *   CSV   vm,vcpu,end_ns,dur_ns,polled,valid,ipi[,window_ns[,wake_ns]]
 *         (commas or blanks; window_ns -1 or "-" = unknown), and
 *         key=value settings (blocked_ns, polled_ns, halt_poll_ns, span_ns,
 *         grow, grow_start, shrink, kvm=6.1|6.12); '#' starts a comment;
 *   ftrace kvm:kvm_vcpu_wakeup, kvm:kvm_halt_poll_ns and
 *         kvm:kvm_apic_accept_irq lines as trace/trace_pipe print them
 *         (halt_ftrace.c); other ftrace events are skipped.
 * Guest idle periods (`ipitrace advise --guest`): cpu,dur_ns,ipi lines and
 * halted_ns, polling_ns, span_ns settings.
 */
#ifndef __IPT_HALT_FILE_H
#define __IPT_HALT_FILE_H

#include <stdio.h>
#include "advisor.h"
#include "advisor_guest.h"

/* A kvm_halt_poll_ns event as recorded (ftrace input only). */
struct hf_poll_event {
	uint32_t tid;
	bool grow;
	uint32_t new_win, old_win;
};

struct hf_events {
	struct hf_poll_event *ev;
	size_t n, alloc;
};

/* Which settings the file gave (a CLI value overrides them). */
#define HF_BLOCKED	(1 << 0)
#define HF_POLLED	(1 << 1)
#define HF_CAP		(1 << 2)
#define HF_SPAN		(1 << 3)
#define HF_KVM		(1 << 4)

/* Appends to in (and ev if not NULL). 0, or -1 with "line N: why" in err.
 * *seen gets the HF_* settings the file set. */
int halt_file_read(FILE *f, struct adv_input *in, struct hf_events *ev,
		   unsigned *seen, char *err, size_t len);
void hf_events_free(struct hf_events *ev);

/* Costs the file did not give (bits not in have), from the halts'
 * measured wake_ns: the median over blocked / polled ones. Returns the
 * HF_BLOCKED / HF_POLLED bits it set. */
unsigned hf_measured_costs(struct adv_input *in, unsigned have);

/* ftrace lines (halt_ftrace.c): 0 taken (or another event), 1 not an
 * ftrace line, -1 a malformed kvm event. */
struct hf_ftrace;
struct hf_ftrace *hf_ftrace_new(void);
void hf_ftrace_free(struct hf_ftrace *fs);
int hf_ftrace_line(struct hf_ftrace *fs, const char *line,
		   struct adv_input *in, struct hf_events *evs);

int guest_file_read(FILE *f, struct gadv_input *in, char *err, size_t len);

#endif
