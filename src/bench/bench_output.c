// SPDX-License-Identifier: GPL-2.0
/* `ipitrace bench` rows through the report layer (text or JSON). */
#include <stdio.h>
#include <string.h>
#include "bench_int.h"
#include "ipitrace.h"

/* ---- output ---- */

static int fmt_cpus(char *buf, size_t len, const int *cpus, int nr)
{
	size_t off = 0;
	int i, j;

	buf[0] = '\0';
	for (i = 0; i < nr && off < len; i = j + 1) {
		for (j = i; j + 1 < nr && cpus[j + 1] == cpus[j] + 1; j++)
			;
		if (j == i)
			off += snprintf(buf + off, len - off, "%s%d",
					off ? "," : "", cpus[i]);
		else
			off += snprintf(buf + off, len - off, "%s%d-%d",
					off ? "," : "", cpus[i], cpus[j]);
	}
	return off;
}

static void fmt_nodes(const struct bench *b, char *buf, size_t len,
		      const struct bench_row *r)
{
	int nodes[IPIGEN_MAX_TARGETS], nr = 0, i, j, node;

	for (i = 0; i < r->nr_dst; i++) {
		node = node_of(b, r->dst[i]);
		for (j = 0; j < nr && nodes[j] != node; j++)
			;
		if (j == nr)
			nodes[nr++] = node;
	}
	fmt_cpus(buf, len, nodes, nr);
}

static void fmt_count(char *buf, size_t len, long long v)
{
	if (v < 0)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%lld", v);
}

static const struct emit_col row_cols[] = {
	{ .key = "name", .title = "IPI type", .width = -28 },
	{ .key = "state", .title = "state", .width = -5 },
	{ .key = "mech", .title = "mech", .width = -14 },
	{ .key = "total_ns", .title = "total ns", .width = 14 },
	{ .key = "mean_ns", .title = "mean ns", .width = 9 },
	{ .key = "p50_ns", .title = "p50 ns", .width = 9 },
	{ .key = "p99_ns", .title = "p99 ns", .width = 9 },
	{ .key = "cpus", .title = "CPUs", .width = -9, .gap = 2 },
	{ .key = "nodes", .title = "nodes", .width = -9 },
	{ .key = "cal", .title = "CAL dst/src" },
};

/* The header, then the rows' table is open until run_plan() is done. */
void emit_header(struct bench *b)
{
	struct emitter *e = &b->out;
	char tgt[256];

	fmt_cpus(tgt, sizeof(tgt), b->o.targets.cpus, b->o.targets.nr);
	emit_caption(e, "ipitrace bench: %ld IPIs per row, from CPU %d (node %d) "
		     "to CPUs %s; %d NUMA node(s); gap %ld us", b->o.ipis,
		     b->o.src, node_of(b, b->o.src), tgt,
		     b->topo.nr_nodes > 0 ? b->topo.nr_nodes : 1, b->o.gap_us);
	emit_only(e, EMIT_MACHINE);
	emit_i64(e, "ipis", b->o.ipis);
	emit_i64(e, "gap_us", b->o.gap_us);
	emit_i64(e, "src_cpu", b->o.src);
	emit_only(e, EMIT_ALL);
	emit_table(&b->out, "rows", NULL, row_cols, ARRAY_SIZE(row_cols));
}


/* People read "0->1" and "12/10"; programs get the lists and numbers. */
static void emit_row_human(struct bench *b, const struct bench_row *r)
{
	char buf[128], dcpus[96], dnodes[96], cd[24], cs[24];
	struct emitter *e = &b->out;

	fmt_cpus(dcpus, sizeof(dcpus), r->dst, r->nr_dst);
	fmt_nodes(b, dnodes, sizeof(dnodes), r);
	fmt_count(cd, sizeof(cd), r->cal_dst);
	fmt_count(cs, sizeof(cs), r->cal_src);
	emit_only(e, EMIT_HUMAN);
	snprintf(buf, sizeof(buf), "%d->%s", b->o.src, dcpus);
	emit_str(e, "cpus", buf);
	snprintf(buf, sizeof(buf), "%d->%s", node_of(b, b->o.src), dnodes);
	emit_str(e, "nodes", buf);
	snprintf(buf, sizeof(buf), "%s/%s", cd, cs);
	emit_str(e, "cal", buf);
	emit_only(e, EMIT_ALL);
}

void emit_row(struct bench *b, const struct bench_row *r)
{
	struct emitter *e = &b->out;
	int i;

	emit_obj(e, NULL);
	emit_str(e, "name", r->name);
	emit_str(e, "target", r->target);
	emit_str(e, "state", r->state);
	emit_str(e, "mech", ipigen_mech_name(r->mech));
	emit_u64(e, "ipis", r->st.count);
	emit_u64(e, "total_ns", r->st.total);
	emit_u64(e, "mean_ns", r->st.mean);
	emit_u64(e, "p50_ns", r->st.p50);
	emit_u64(e, "p99_ns", r->st.p99);
	emit_u64(e, "min_ns", r->st.min);
	emit_u64(e, "max_ns", r->st.max);
	emit_i64(e, "src_cpu", b->o.src);
	emit_i64(e, "src_node", node_of(b, b->o.src));
	emit_list(e, "dst_cpus", NULL);
	for (i = 0; i < r->nr_dst; i++)
		emit_i64(e, NULL, r->dst[i]);
	emit_end(e);
	emit_list(e, "dst_nodes", NULL);
	for (i = 0; i < r->nr_dst; i++)
		emit_i64(e, NULL, node_of(b, r->dst[i]));
	emit_end(e);
	emit_i64(e, "cal_dst", r->cal_dst);
	emit_i64(e, "cal_src", r->cal_src);
	emit_row_human(b, r);
	emit_end(e);
}

void emit_notes(struct bench *b)
{
	int i;

	emit_list(&b->out, "notes", "notes:");
	for (i = 0; i < b->nr_notes; i++)
		emit_str(&b->out, NULL, b->notes[i]);
	emit_end(&b->out);
}

