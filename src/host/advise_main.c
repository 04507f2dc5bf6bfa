// SPDX-License-Identifier: GPL-2.0
/* `ipitrace advise [options] FILE`: the halt_poll_ns advisor offline, on
 * recorded halts (halt_file.h), or with --guest on guest idle periods. */
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "advice.h"
#include "advise.h"
#include "cli.h"
#include "halt_file.h"
#include "opts.h"

static const char advise_intro[] =
"Usage: ipitrace advise [options] FILE   (FILE '-' = stdin)\n"
"Replays recorded vCPU halts under candidate halt_poll_ns settings and\n"
"recommends one (docs/advisor.md has the file format and the model).\n";

struct advise_args {
	const char *format;
	bool guest, ipi_only;
	const char *svg, *file;
	long svg_vm;
	struct adv_opts o;
	double share_pct;
	double blocked, polled;	/* < 0: not given */
	long cap, span, max_ns;	/* < 0: not given */
	const char *kvm;
};

static int parse_kvm(const char *arg, void *field)
{
	struct adv_kvm k;

	if (adv_kvm_by_name(arg, &k) < 0)
		return -1;
	*(const char **)field = arg;
	return 0;
}

#define F(field)	offsetof(struct advise_args, field)

static const struct opt_spec advise_specs[] = {
	{ "json", 'j', OPT_CUSTOM, .off = F(format), .parse = cli_set_json,
	  .help = "JSON instead of text" },
	{ "svg", 0, OPT_STRING, "FILE", .off = F(svg),
	  .help = "also write the plot (CPU vs latency saved)" },
	{ "svg-vm", 0, OPT_LONG, "PID", .off = F(svg_vm), .min = 1,
	  .max = UINT32_MAX, .help = "plot this VM instead of all VMs" },
	{ "share", 0, OPT_SECONDS, "PCT", .off = F(share_pct), .min = 1,
	  .max = 100, .help = "target share of the achievable saving (90)" },
	{ "budget", 0, OPT_SECONDS, "CORES", .off = F(o.budget), .min = 0,
	  .max = 1e6, .help = "also the best setting within CORES of polling" },
	{ "blocked-ns", 0, OPT_SECONDS, "NS", .off = F(blocked), .min = 0,
	  .max = 1e12,
	  .help = "wake-up latency of a blocked halt (or blocked_ns= in\n"
		  "FILE; else the median measured in FILE's ftrace\n"
		  "accept_irq -> halt end)" },
	{ "polled-ns", 0, OPT_SECONDS, "NS", .off = F(polled), .min = 0,
	  .max = 1e12, .help = "the same for a polled halt" },
	{ "halt-poll-ns", 0, OPT_LONG, "NS", .off = F(cap), .min = 0,
	  .max = UINT32_MAX, .help = "halt_poll_ns when the halts were traced" },
	{ "kvm", 0, OPT_CUSTOM, "6.1|6.12", .off = F(kvm), .parse = parse_kvm,
	  .help = "KVM's grow/shrink defaults of that kernel (6.1)" },
	{ "span-ns", 0, OPT_LONG, "NS", .off = F(span), .min = 1,
	  .max = LONG_MAX, .help = "trace span (default: first halt to last)" },
	{ "ipi-only", 0, OPT_FLAG, .off = F(ipi_only),
	  .help = "latency saved over IPI-ended wake-ups only" },
	{ "max-ns", 0, OPT_LONG, "NS", .off = F(max_ns), .min = 1000,
	  .max = 1000000000,
	  .help = "largest window/cap priced (2000000; up to 1 s)" },
	{ "guest", 0, OPT_FLAG, .off = F(guest),
	  .help = "FILE holds guest idle periods: price guest-side\n"
		  "polling (haltpoll, idle=poll) instead; there\n"
		  "--blocked-ns/--polled-ns are the IPI latency to\n"
		  "a halted/polling vCPU" },
};

static const struct opt_table advise_table = {
	.prog = "ipitrace advise",
	.specs = advise_specs,
	.nr = sizeof(advise_specs) / sizeof(advise_specs[0]),
};

static int parse_args(int argc, char **argv, struct advise_args *a)
{
	char err[256];
	int ret;

	memset(a, 0, sizeof(*a));
	adv_opts_default(&a->o);
	a->format = "text";
	a->blocked = a->polled = -1;
	a->cap = a->span = a->max_ns = -1;
	ret = opts_parse_args(&advise_table, argc, argv, a, &a->file, 1, err,
			      sizeof(err));
	if (ret == OPTS_HELP) {
		fputs(advise_intro, stdout);
		opts_usage(&advise_table, 0, stdout);
		return 1;
	}
	if (ret) {
		fprintf(stderr, "ipitrace advise: %s (see ipitrace advise -h)\n",
			err);
		return -1;
	}
	if (a->share_pct > 0)
		a->o.share = a->share_pct / 100;
	if (a->max_ns > 0)
		a->o.max_ns = a->max_ns;
	return 0;
}

static FILE *open_in(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;

	if (!f)
		perror(path);
	return f;
}

/* CLI values override the file's. */
static int apply_args(const struct advise_args *a, struct adv_input *in,
		      unsigned seen)
{
	if (a->kvm)
		adv_kvm_by_name(a->kvm, &in->kvm);
	if (a->blocked >= 0)
		in->costs.blocked_ns = a->blocked, seen |= HF_BLOCKED;
	if (a->polled >= 0)
		in->costs.polled_ns = a->polled, seen |= HF_POLLED;
	if (a->cap >= 0)
		in->traced_cap_ns = a->cap;
	if (a->span > 0)
		in->span_ns = a->span;
	in->ipi_only = a->ipi_only;
	seen |= hf_measured_costs(in, seen);
	if ((seen & (HF_BLOCKED | HF_POLLED)) != (HF_BLOCKED | HF_POLLED)) {
		fprintf(stderr, "ipitrace advise: the wake-up latency of a blocked "
			"and of a polled halt are needed: --blocked-ns, --polled-ns, "
			"blocked_ns=, polled_ns= in the file, or kvm_apic_accept_irq "
			"events before both kinds of halt end\n");
		return -1;
	}
	if (!in->n) {
		fprintf(stderr, "ipitrace advise: no halts in %s\n", a->file);
		return -1;
	}
	return 0;
}

static int write_svg(const struct advise_args *a, const struct advice *adv)
{
	size_t g = 0;
	FILE *f;
	int err;

	if (a->svg_vm) {
		for (g = 1; g < adv->ngroups; g++)
			if (adv->groups[g].vm == a->svg_vm)
				break;
		if (g == adv->ngroups) {
			fprintf(stderr, "ipitrace advise: no VM %ld\n", a->svg_vm);
			return -1;
		}
	}
	f = fopen(a->svg, "w");
	if (!f) {
		perror(a->svg);
		return -1;
	}
	err = advice_svg(f, adv, g);
	if (fclose(f) || err) {
		fprintf(stderr, "ipitrace advise: writing %s failed\n", a->svg);
		return -1;
	}
	return 0;
}

static int host_advice(const struct advise_args *a, FILE *f)
{
	struct adv_input in;
	struct advice adv;
	char err[256];
	unsigned seen;
	int ret = 1;

	adv_input_init(&in);
	if (halt_file_read(f, &in, NULL, &seen, err, sizeof(err))) {
		fprintf(stderr, "ipitrace advise: %s: %s\n", a->file, err);
		goto out;
	}
	if (apply_args(a, &in, seen))
		goto out;
	if (advice_build(&in, &a->o, &adv)) {
		fprintf(stderr, "ipitrace advise: out of memory\n");
		goto out;
	}
	ret = advice_report(stdout, emit_backend_find(a->format), &adv) ||
	      (a->svg && write_svg(a, &adv)) ? 1 : 0;
	advice_free(&adv);
out:
	adv_input_free(&in);
	return ret;
}

static int guest_advice(const struct advise_args *a, FILE *f)
{
	struct gadv_params gp = GADV_DEFAULTS;
	struct gadv_input in = { 0 };
	struct gadv_advice ga;
	char err[256];
	int ret = 1;

	if (guest_file_read(f, &in, err, sizeof(err))) {
		fprintf(stderr, "ipitrace advise: %s: %s\n", a->file, err);
		goto out;
	}
	if (a->span > 0)
		in.span_ns = a->span;
	if (a->blocked >= 0)	/* to a halted / a polling vCPU */
		in.costs.halted_ns = a->blocked;
	if (a->polled >= 0)
		in.costs.polling_ns = a->polled;
	if (!in.n || !in.span_ns || in.costs.halted_ns <= 0) {
		fprintf(stderr, "ipitrace advise --guest: idle periods, span_ns= "
			"(or --span-ns) and the IPI latency to a halted vCPU, "
			"halted_ns= (or --blocked-ns), are needed\n");
		goto out;
	}
	if (gadv_build(&in, &gp, &ga)) {
		fprintf(stderr, "ipitrace advise: out of memory\n");
		goto out;
	}
	ret = gadvice_report(stdout, emit_backend_find(a->format), &ga) ? 1 : 0;
out:
	gadv_input_free(&in);
	return ret;
}

int advise_main(int argc, char **argv)
{
	struct advise_args a;
	FILE *f;
	int r = parse_args(argc, argv, &a);

	if (r)
		return r > 0 ? 0 : 2;
	if (a.guest && a.svg) {
		fprintf(stderr, "ipitrace advise: --svg is for host advice\n");
		return 2;
	}
	f = open_in(a.file);
	if (!f)
		return 1;
	r = a.guest ? guest_advice(&a, f) : host_advice(&a, f);
	if (f != stdin)
		fclose(f);
	return r;
}
