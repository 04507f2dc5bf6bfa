// SPDX-License-Identifier: GPL-2.0
/* `ipitrace report [options] FILE`: a --record file rendered offline by
 * the report of the mode that wrote it, through any back end. */
#include <stdlib.h>
#include <string.h>
#include "agg.h"
#include "cli.h"
#include "host_report.h"
#include "opts.h"
#include "output.h"
#include "rec_cmd.h"
#include "record.h"
#include "topology.h"

static const char report_intro[] =
"Usage: ipitrace report [options] FILE\n"
"Prints the report of a --record FILE (guest or host) offline\n"
"(docs/record-format.md has the format).\n";

struct report_args {
	const char *format;
	const char *file;
};

#define F(field)	offsetof(struct report_args, field)

static const struct opt_spec report_specs[] = {
	{ "json", 'j', OPT_CUSTOM, .off = F(format), .parse = cli_set_json,
	  .help = "JSON instead of text" },
	{ "format", 0, OPT_STRING, "NAME", .off = F(format),
	  .help = "output format: text, json, openmetrics" },
};

static const struct opt_table report_table = {
	.prog = "ipitrace report",
	.specs = report_specs,
	.nr = sizeof(report_specs) / sizeof(report_specs[0]),
};

/* The file's own topology (a node per CPU; CPUs without one: unknown). */
int rec_topology(const struct record *r, struct topology *t)
{
	int cpu, n = r->nr_cpus ? r->nr_cpus : IPT_MAX_CPUS;

	t->nr_cpus = n;
	t->nr_nodes = 0;
	t->cpu_node = malloc(sizeof(int) * n);
	if (!t->cpu_node)
		return -1;
	for (cpu = 0; cpu < n; cpu++) {
		t->cpu_node[cpu] = r->node[cpu];
		if (r->node[cpu] >= t->nr_nodes)
			t->nr_nodes = r->node[cpu] + 1;
	}
	return 0;
}

static int guest_report_file(const struct record *rec, const struct topology *t,
			     const struct emit_backend *be)
{
	struct guest_report r = {
		.duration_s = rec->end_ns > rec->start_ns ?
			(rec->end_ns - rec->start_ns) / 1e9 : 0,
	};
	struct agg agg = { 0 };
	size_t i;
	int err;

	if (agg_init(&agg, t, t->nr_cpus))
		return -1;
	agg.no_pairs = true;
	for (i = 0; i < rec->nr; i++) {
		const struct rec_guest_ipi *g = &rec->g[i];
		struct ipi_event e = {
			.send_ns = g->send_ns, .lat_ns = g->lat_ns,
			.src_cpu = g->src_cpu, .dst_cpu = g->dst_cpu,
			.type = REC_IPI, .kind = g->kind, .flags = g->flags,
			.coalesced = g->coalesced,
		};

		agg_add(&agg, &e);
	}
	r.stats[ST_SENDS] = r.stats[ST_HANDLED] = rec->nr;
	r.agg = &agg;
	err = report_print(stdout, be, &r);
	agg_free(&agg);
	return err ? -1 : 0;
}

void rec_to_result(const struct rec_host_ipi *h, struct kick_result *r)
{
	memset(r, 0, sizeof(*r));
	r->ipi_id = h->ipi_id;
	r->vm_pid = h->vm_pid;
	r->src_vcpu = h->src_vcpu;
	r->dst_vcpu = h->dst_vcpu;
	r->src_tid = h->src_tid;
	r->dst_tid = h->dst_tid;
	r->src_cpu = h->src_cpu;
	r->dst_cpu = h->dst_cpu;
	r->state = h->state;
	r->vector = h->vector;
	r->exit_ts = h->exit_ts;
	r->halt_ns = h->halt_ns;
	memcpy(r->t, h->t, sizeof(r->t));
	r->timed_out = h->flags & REC_HF_TIMED_OUT;
	r->superseded = h->flags & REC_HF_SUPERSEDED;
	r->ipi_first = h->flags & REC_HF_FIRST;
}

static int host_report_file(const struct record *rec, const struct topology *t,
			    const struct emit_backend *be)
{
	bool hooked[KS_MAX];
	struct host_report *rep;
	struct kick *k;
	struct kick_result res;
	__u64 lost[HS_MAX] = { 0 };
	size_t i;
	int err, s;

	/* a stage counts as hooked when some record has it */
	for (s = 0; s < KS_MAX; s++) {
		hooked[s] = false;
		for (i = 0; i < rec->nr && !hooked[s]; i++)
			hooked[s] = rec->h[i].t[s] != 0;
	}
	rep = host_report_new(t, hooked, NULL, 0);
	k = kick_new(NULL, NULL);
	if (!rep || !k) {
		host_report_free(rep);
		kick_free(k);
		return -1;
	}
	host_report_set_view(rep, true, false);
	for (i = 0; i < rec->nr; i++) {
		rec_to_result(&rec->h[i], &res);
		host_report_add(rep, &res);
	}
	err = host_report_print(rep, k, rec->end_ns > rec->start_ns ?
				(rec->end_ns - rec->start_ns) / 1e9 : 0,
				lost, 0, be, stdout);
	host_report_free(rep);
	kick_free(k);
	return err ? -1 : 0;
}

int rec_cmd_args(const struct opt_table *t, const char *intro, int argc,
		 char **argv, void *out, const char **files, int nr_files,
		 const char *const *format, const struct emit_backend **be)
{
	char err[256];
	int ret;

	ret = opts_parse_args(t, argc, argv, out, files, nr_files, err,
			      sizeof(err));
	if (ret == OPTS_HELP) {
		fputs(intro, stdout);
		opts_usage(t, 0, stdout);
		return -1;
	}
	if (ret || !(*be = emit_backend_find(*format))) {
		fprintf(stderr, "%s: %s (see %s -h)\n", t->prog,
			ret ? err : "unknown --format", t->prog);
		return 2;
	}
	return 0;
}

int rec_cmd_read(const char *prog, const char *path, struct record *r)
{
	char err[256];

	if (!rec_read(path, r, err, sizeof(err)))
		return 0;
	fprintf(stderr, "%s: %s: %s\n", prog, path, err);
	return -1;
}

int report_main(int argc, char **argv)
{
	struct report_args a = { .format = "text" };
	const struct emit_backend *be;
	struct topology t = { 0 };
	struct record rec;
	int ret;

	ret = rec_cmd_args(&report_table, report_intro, argc, argv, &a, &a.file,
			   1, &a.format, &be);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (rec_cmd_read("ipitrace report", a.file, &rec))
		return 1;
	ret = rec_topology(&rec, &t);
	if (!ret)
		ret = rec.side == REC_GUEST ? guest_report_file(&rec, &t, be) :
					      host_report_file(&rec, &t, be);
	if (ret)
		fprintf(stderr, "ipitrace report: out of memory or write error\n");
	topology_free(&t);
	rec_free(&rec);
	return ret ? 1 : 0;
}
