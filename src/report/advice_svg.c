// SPDX-License-Identifier: GPL-2.0
/*
 * The advice as a picture: host CPU spent polling (cores, log scale) vs
 * wake-up latency saved (% of the achievable), one point per setting,
 * fixed windows and KVM-adaptive caps as two lines, the target share as a
 * dashed line, the recommendation, the p80 rule and KVM's default marked.
 */
#include <math.h>
#include <stdio.h>
#include "advice.h"

#define W	860
#define H	540
#define ML	80	/* margins */
#define MR	170
#define MT	76
#define MB	70
#define ZGAP	45	/* the 0-cores column left of the first decade */

struct axes {
	double lo, hi;	/* log10 of cores at the plot's left/right edge */
};

static double share_of(const struct adv_group *g, const struct adv_stats *st)
{
	return g->best_saved_ns > 0 ? st->saved_ns / g->best_saved_ns : 0;
}

/* settings at 0 cores sit on the left axis */
static double px(const struct axes *ax, double cores)
{
	double l;

	if (cores <= 0)
		return ML;
	l = log10(cores);
	if (l < ax->lo)
		l = ax->lo;
	return ML + ZGAP + (l - ax->lo) / (ax->hi - ax->lo) * (W - ML - MR - ZGAP);
}

/* a negative saving (polling slower than blocking) is drawn at 0 */
static double py(double share)
{
	if (share < 0)
		share = 0;
	if (share > 1)
		share = 1;
	return MT + (1 - share) * (H - MT - MB);
}

static void axes_fit(struct axes *ax, const struct advice *a,
		     const struct adv_group *g)
{
	double lo = INFINITY, hi = -INFINITY;
	size_t i;

	for (i = 0; i < a->nset; i++) {
		double c = g->st[i].cores;

		if (c <= 0)
			continue;
		if (log10(c) < lo)
			lo = log10(c);
		if (log10(c) > hi)
			hi = log10(c);
	}
	if (lo > hi)
		lo = -3, hi = 0;
	ax->lo = floor(lo);
	ax->hi = ceil(hi);
	if (ax->hi - ax->lo < 1)
		ax->hi = ax->lo + 1;
}

static void frame(FILE *f, const struct axes *ax, const struct advice *a,
		  const struct adv_group *g)
{
	int d, k;

	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
	fprintf(f, "<text x=\"%d\" y=\"26\" font-size=\"17\" font-weight=\"bold\">"
		"halt_poll_ns: host CPU vs wake-up latency saved (%s", ML,
		g->vm ? "VM " : "all VMs");
	if (g->vm)
		fprintf(f, "%u", g->vm);
	fprintf(f, ")</text>\n<text x=\"%d\" y=\"44\" font-size=\"12\" fill=\"#444\">"
		"%llu halts over %.2f s; wake-up latency %.1f us blocked, %.1f us "
		"polled</text>\n<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#444\">"
		"100%% = %.1f us of wake-up latency saved per second of trace "
		"(the best setting)</text>\n",
		ML, (unsigned long long)g->halts, a->span_ns / 1e9,
		a->in->costs.blocked_ns / 1e3, a->in->costs.polled_ns / 1e3,
		ML, 60,
		a->span_ns ? g->best_saved_ns / 1e3 / (a->span_ns / 1e9) : 0);
	for (k = 0; k <= 10; k += 2) {	/* y grid */
		double y = py(k / 10.0);

		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
			"<text x=\"%d\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\">%d%%</text>\n",
			ML, y, W - MR, y, ML - 6, y + 4, k * 10);
	}
	for (d = (int)ax->lo; d <= (int)ax->hi; d++) {	/* x decades */
		double x = px(ax, pow(10, d));

		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
			"<text x=\"%.1f\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%g</text>\n",
			x, MT, x, H - MB, x, H - MB + 18, pow(10, d));
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">0</text>\n",
		ML, H - MB + 18);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>"
		"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n",
		ML, H - MB, W - MR, H - MB, ML, MT, ML, H - MB);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\">"
		"host CPU spent polling (cores, log scale)</text>\n",
		(ML + W - MR) / 2, H - 22);
	fprintf(f, "<text x=\"18\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 18 %d)\">wake-up latency saved "
		"(%% of achievable)</text>\n", (MT + H - MB) / 2, (MT + H - MB) / 2);
	fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#c00\" "
		"stroke-dasharray=\"6 4\"/><text x=\"%d\" y=\"%.1f\" font-size=\"11\" "
		"fill=\"#c00\">target %.0f%%</text>\n", ML, py(a->opts.share),
		W - MR, py(a->opts.share), W - MR + 4, py(a->opts.share) + 4,
		a->opts.share * 100);
}

static void label_ns(uint32_t ns, char *b, size_t len)
{
	if (ns >= 1000000)
		snprintf(b, len, "%gms", ns / 1e6);
	else if (ns >= 1000)
		snprintf(b, len, "%gus", ns / 1e3);
	else
		snprintf(b, len, "%u", ns);
}

static void series(FILE *f, const struct axes *ax, const struct advice *a,
		   const struct adv_group *g, enum adv_kind kind,
		   const char *color, int dy)
{
	double lx = -100, ly = -100;
	char lab[24];
	size_t i;
	bool first = true;

	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", color);
	for (i = 0; i < a->nset; i++)
		if (a->set[i].kind == kind || a->set[i].ns == 0)
			fprintf(f, "%s%.1f,%.1f", first ? "" : " ",
				px(ax, g->st[i].cores), py(share_of(g, &g->st[i]))),
			first = false;
	fprintf(f, "\"/>\n");
	for (i = 0; i < a->nset; i++) {
		double x = px(ax, g->st[i].cores), y = py(share_of(g, &g->st[i]));

		if (a->set[i].kind != kind || a->set[i].ns == 0)
			continue;
		label_ns(a->set[i].ns, lab, sizeof(lab));
		/* no label at 0 cores or on top of the previous one */
		if (g->st[i].cores <= 0 || hypot(x - lx, y - ly) < 14)
			lab[0] = 0;
		else
			lx = x, ly = y;
		if (kind == ADV_FIXED)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>", x, y, color);
		else
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" fill=\"%s\"/>",
				x - 4, y - 4, color);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"%s\">%s</text>\n",
			x + 5, y + dy, color, lab);
	}
}

static void mark(FILE *f, const struct axes *ax, const struct adv_group *g,
		 const struct adv_setting *s, const struct adv_stats *st,
		 const char *what, const char *color, int ly)
{
	double x = px(ax, st->cores), y = py(share_of(g, st));
	char lab[24];

	label_ns(s->ns, lab, sizeof(lab));
	fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"10\" fill=\"none\" stroke=\"%s\" "
		"stroke-width=\"2.5\"/>\n", x, y, color);
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
		"stroke-width=\"0.8\" stroke-dasharray=\"2 3\"/>"
		"<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"%s\">%s %s: "
		"</text><text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"%s\">"
		"%.3g cores, %.0f%%</text>\n",
		x + 10, y, W - MR + 6, ly, color, W - MR + 8, ly, color, what,
		lab, W - MR + 8, ly + 14, color, st->cores, 100 * share_of(g, st));
}

int advice_svg(FILE *f, const struct advice *a, size_t gi)
{
	const struct adv_group *g;
	struct axes ax;

	if (gi >= a->ngroups)
		return -1;
	g = &a->groups[gi];
	axes_fit(&ax, a, g);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", W, H, W, H);
	frame(f, &ax, a, g);
	series(f, &ax, a, g, ADV_FIXED, "#1f77b4", -6);
	series(f, &ax, a, g, ADV_ADAPTIVE, "#2ca02c", 14);
	fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"#1f77b4\"/><text x=\"%d\" "
		"y=\"%d\" font-size=\"12\">fixed window</text>\n<rect x=\"%d\" y=\"%d\" "
		"width=\"8\" height=\"8\" fill=\"#2ca02c\"/><text x=\"%d\" y=\"%d\" "
		"font-size=\"12\">KVM adaptive, cap</text>\n",
		W - MR + 12, MT + 4, W - MR + 22, MT + 8, W - MR + 8, MT + 18,
		W - MR + 22, MT + 26);
	if (g->rec >= 0)
		mark(f, &ax, g, &a->set[g->rec], &g->st[g->rec],
		     g->rec_reached ? "recommended" : "best adaptive", "#d62728",
		     MT + 70);
	if (g->rule.valid) {
		char what[32];

		snprintf(what, sizeof(what), "p%.0f rule", a->opts.rule_q * 100);
		mark(f, &ax, g, &g->rule.set, &g->rule.st, what, "#9467bd",
		     MT + 110);
	}
	mark(f, &ax, g, &g->dflt.set, &g->dflt.st, "KVM default", "#ff7f0e",
	     MT + 150);
	fprintf(f, "</svg>\n");
	return ferror(f) ? -1 : 0;
}
