// SPDX-License-Identifier: GPL-2.0
/* Writing a record file (docs/record-format.md): one line per item, every
 * byte hashed (FNV-1a 64) into the trailer so the reader can tell a
 * truncated or altered file from a complete one. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
#include "rec_int.h"
#include "topology.h"

__u64 rec_hash(__u64 h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n--) {
		h ^= *s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

__u64 rec_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

__attribute__((format(printf, 2, 3)))
void rec_line(struct rec_writer *w, const char *fmt, ...)
{
	char buf[REC_MAX_LINE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(buf) - 1) {
		w->err = -EOVERFLOW;
		return;
	}
	buf[n++] = '\n';
	w->hash = rec_hash(w->hash, buf, n);
	if (fwrite(buf, 1, n, w->f) != (size_t)n && !w->err)
		w->err = -errno ? -errno : -EIO;
}

/* a header string: printable, no spaces (the reader splits on them) */
static void clean_word(char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			*s = '_';
}

static void read_word(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	out[0] = 0;
	if (!f)
		return;
	if (!fgets(out, len, f))
		out[0] = 0;
	fclose(f);
	out[strcspn(out, "\n")] = 0;
	clean_word(out);
}

static void write_header(struct rec_writer *w, const struct topology *topo)
{
	struct utsname u;
	char cs[32];
	int cpu;

	rec_line(w, "%s %d %s", REC_MAGIC, REC_VERSION,
		 w->side == REC_GUEST ? "guest" : "host");
	if (uname(&u) == 0) {
		clean_word(u.release);
		rec_line(w, "kernel %s", u.release);
	}
	read_word("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		  cs, sizeof(cs));
	if (cs[0])
		rec_line(w, "clocksource %s", cs);
	rec_line(w, "clock monotonic");
	if (topo && topo->nr_cpus > 0) {
		rec_line(w, "cpus %d", topo->nr_cpus);
		for (cpu = 0; cpu < topo->nr_cpus && cpu < IPT_MAX_CPUS; cpu++)
			if (topo->cpu_node[cpu] >= 0)
				rec_line(w, "node %d %d", cpu, topo->cpu_node[cpu]);
	}
	if (w->side == REC_HOST)
		rec_line(w, "halts recorded");
	rec_line(w, "start %llu", (unsigned long long)rec_mono_ns());
}

int rec_create(struct rec_writer **wp, const char *path, int side,
	       const struct topology *topo)
{
	struct rec_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->f = fopen(path, "we");
	if (!w->f) {
		int err = -errno;

		free(w);
		return err;
	}
	setvbuf(w->f, NULL, _IOFBF, 1 << 16);
	w->side = side;
	w->hash = REC_HASH_INIT;
	write_header(w, topo);
	*wp = w;
	return w->err;
}

void rec_guest_event(struct rec_writer *w, const struct ipi_event *e)
{
	if (!w || e->type != REC_IPI)
		return;
	rec_line(w, "g %llu %llu %u %u %u %d %u %u",
		 (unsigned long long)e->send_ns, (unsigned long long)e->lat_ns,
		 e->src_cpu, e->dst_cpu, e->kind, rec_kind_vector(e->kind),
		 e->flags, e->coalesced);
	w->nr++;
}

void rec_host_result(struct rec_writer *w, const struct kick_result *r)
{
	unsigned flags = (r->timed_out ? REC_HF_TIMED_OUT : 0) |
			 (r->superseded ? REC_HF_SUPERSEDED : 0) |
			 (r->ipi_first ? REC_HF_FIRST : 0) |
			 (r->pv ? REC_HF_PV : 0);
	char ts[KS_MAX * 21 + 1];
	int i, n = 0;

	if (!w)
		return;
	for (i = 0; i < KS_MAX; i++)
		n += snprintf(ts + n, sizeof(ts) - n, " %llu",
			      (unsigned long long)r->t[i]);
	rec_line(w, "h %llu %u %d %d %u %u %d %d %d %d %u %llu %llu%s",
		 (unsigned long long)r->ipi_id, r->vm_pid, r->src_vcpu,
		 r->dst_vcpu, r->src_tid, r->dst_tid, r->src_cpu, r->dst_cpu,
		 r->state, r->vector, flags, (unsigned long long)r->exit_ts,
		 (unsigned long long)r->halt_ns, ts);
	w->nr++;
}

void rec_host_pv(struct rec_writer *w, const struct kick_pv_send *s)
{
	if (!w)
		return;
	rec_line(w, "pv %llu %u %d %u %d %u %llu %llu",
		 (unsigned long long)s->ts, s->vm_pid, s->src_vcpu, s->src_tid,
		 s->vector, s->min_apicid, (unsigned long long)s->bitmap_lo,
		 (unsigned long long)s->bitmap_hi);
}

void rec_host_halt(struct rec_writer *w, const struct kick_halt_sample *s)
{
	if (!w || s->vcpu < 0 || s->ns > s->end_ts)
		return;
	rec_line(w, "halt %llu %llu %u %d", (unsigned long long)s->end_ts,
		 (unsigned long long)s->ns, s->vm_pid, s->vcpu);
}

bool rec_pv_covers(const struct kick_pv_send *s, int apicid)
{
	long d = (long)apicid - (long)s->min_apicid;

	if (d < 0 || d >= 128)
		return false;
	return d < 64 ? s->bitmap_lo >> d & 1 : s->bitmap_hi >> (d - 64) & 1;
}

int rec_finish(struct rec_writer *w)
{
	char buf[64];
	int err, n;

	if (!w)
		return 0;
	rec_line(w, "stop %llu", (unsigned long long)rec_mono_ns());
	/* the trailer is not part of its own hash */
	n = snprintf(buf, sizeof(buf), "end %llu %016llx\n",
		     (unsigned long long)w->nr, (unsigned long long)w->hash);
	if (fwrite(buf, 1, n, w->f) != (size_t)n && !w->err)
		w->err = -EIO;
	if (fclose(w->f) && !w->err)
		w->err = -errno;
	err = w->err;
	free(w);
	return err;
}

int rec_kind_vector(int kind)
{
	switch (kind) {
	case IPI_CALL_SINGLE: return 0xfb;
	case IPI_CALL_MANY: return 0xfc;
	case IPI_RESCHED: return 0xfd;
	case IPI_IRQ_WORK: return 0xf6;
	default: return 0;
	}
}

int record_open(struct rec_writer **w, const char *path, int side,
		const struct topology *topo)
{
	int err;

	*w = NULL;
	if (!path)
		return 0;
	err = rec_create(w, path, side, topo);
	if (err) {
		fprintf(stderr, "ipitrace: cannot write %s: %s\n", path,
			strerror(-err));
		return -1;
	}
	rec_tsc_sample(*w);
	if (side == REC_GUEST)
		rec_guest_clocks(*w);
	return 0;
}

void record_close(struct rec_writer *w, const char *path)
{
	int err;

	rec_tsc_sample(w);
	err = rec_finish(w);

	if (err)
		fprintf(stderr, "ipitrace: cannot write %s: %s\n", path,
			strerror(-err));
}
