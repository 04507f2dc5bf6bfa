// SPDX-License-Identifier: GPL-2.0
/* `ipitrace advise [options] FILE`: the halt_poll_ns advisor offline, on
 * recorded halts (halt_file.h), or with --guest on guest idle periods. */
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "advice.h"
#include "advise.h"
#include "cli.h"
#include "halt_file.h"

static const char advise_usage[] =
"Usage: ipitrace advise [options] FILE   (FILE '-' = stdin)\n"
"Replays recorded vCPU halts under candidate halt_poll_ns settings and\n"
"recommends one (docs/advisor.md has the file format and the model).\n"
"  -j, --json            JSON instead of text\n"
"      --svg FILE        also write the plot (CPU vs latency saved)\n"
"      --svg-vm PID      plot this VM instead of all VMs\n"
"      --share PCT       target share of the achievable saving (90)\n"
"      --budget CORES    also the best setting within CORES of polling\n"
"      --blocked-ns NS   wake-up latency of a blocked halt, and of a polled\n"
"      --polled-ns NS    one (or blocked_ns=/polled_ns= in FILE; else the\n"
"                        median measured in FILE's ftrace accept_irq->halt end)\n"
"      --halt-poll-ns NS halt_poll_ns when the halts were traced\n"
"      --kvm 6.1|6.12    KVM's grow/shrink defaults of that kernel (6.1)\n"
"      --span-ns NS      trace span (default: first halt to last)\n"
"      --ipi-only        latency saved over IPI-ended wake-ups only\n"
"      --max-ns NS       largest window/cap priced (2000000; up to 1 s)\n"
"      --guest           FILE holds guest idle periods: price guest-side\n"
"                        polling (haltpoll, idle=poll) instead; there\n"
"                        --blocked-ns/--polled-ns are the IPI latency to\n"
"                        a halted/polling vCPU\n"
"  -h, --help\n";

enum {
	O_SVG = 256, O_SVG_VM, O_SHARE, O_BUDGET, O_BLOCKED, O_POLLED, O_CAP,
	O_KVM, O_SPAN, O_GUEST, O_IPI_ONLY, O_MAX,
};

static const struct option advise_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "svg", required_argument, NULL, O_SVG },
	{ "svg-vm", required_argument, NULL, O_SVG_VM },
	{ "share", required_argument, NULL, O_SHARE },
	{ "budget", required_argument, NULL, O_BUDGET },
	{ "blocked-ns", required_argument, NULL, O_BLOCKED },
	{ "polled-ns", required_argument, NULL, O_POLLED },
	{ "halt-poll-ns", required_argument, NULL, O_CAP },
	{ "kvm", required_argument, NULL, O_KVM },
	{ "span-ns", required_argument, NULL, O_SPAN },
	{ "guest", no_argument, NULL, O_GUEST },
	{ "ipi-only", no_argument, NULL, O_IPI_ONLY },
	{ "max-ns", required_argument, NULL, O_MAX },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct advise_args {
	bool json, guest, ipi_only;
	const char *svg, *file;
	long svg_vm;
	struct adv_opts o;
	double blocked, polled;	/* < 0: not given */
	long cap, span;		/* < 0: not given */
	const char *kvm;
};

static int bad(const char *opt, const char *arg)
{
	fprintf(stderr, "ipitrace advise: bad value for --%s: '%s'\n", opt, arg);
	return -1;
}

static int parse_one(struct advise_args *a, int c, const char *arg)
{
	double share;
	long v;

	switch (c) {
	case 'j':
		a->json = true;
		return 0;
	case O_SVG:
		a->svg = arg;
		return 0;
	case O_SVG_VM:
		return parse_long(arg, 1, UINT32_MAX, &a->svg_vm) ? bad("svg-vm", arg) : 0;
	case O_SHARE:
		if (parse_seconds(arg, 1, 100, &share))
			return bad("share", arg);
		a->o.share = share / 100;
		return 0;
	case O_BUDGET:
		return parse_seconds(arg, 0, 1e6, &a->o.budget) ? bad("budget", arg) : 0;
	case O_BLOCKED:
		return parse_seconds(arg, 0, 1e12, &a->blocked) ? bad("blocked-ns", arg) : 0;
	case O_POLLED:
		return parse_seconds(arg, 0, 1e12, &a->polled) ? bad("polled-ns", arg) : 0;
	case O_CAP:
		return parse_long(arg, 0, UINT32_MAX, &a->cap) ? bad("halt-poll-ns", arg) : 0;
	case O_KVM:
		a->kvm = arg;
		return 0;
	case O_SPAN:
		return parse_long(arg, 1, LONG_MAX, &a->span) ? bad("span-ns", arg) : 0;
	case O_GUEST:
		a->guest = true;
		return 0;
	case O_IPI_ONLY:
		a->ipi_only = true;
		return 0;
	case O_MAX:
		if (parse_long(arg, 1000, 1000000000, &v))
			return bad("max-ns", arg);
		a->o.max_ns = v;
		return 0;
	}
	return -1;
}

static int parse_args(int argc, char **argv, struct advise_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	adv_opts_default(&a->o);
	a->blocked = a->polled = -1;
	a->cap = a->span = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jh", advise_opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(advise_usage, stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "ipitrace advise: %s option '%s'\n%s",
				c == '?' ? "unknown" : "missing value for",
				argv[optind - 1], advise_usage);
			return -1;
		}
		if (parse_one(a, c, optarg))
			return -1;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "ipitrace advise: one FILE expected\n%s", advise_usage);
		return -1;
	}
	a->file = argv[optind];
	if (a->kvm) {
		struct adv_kvm k;

		if (adv_kvm_by_name(a->kvm, &k) < 0)
			return bad("kvm", a->kvm);
	}
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
	if (a->json)
		advice_json(stdout, &adv);
	else
		advice_print(stdout, &adv);
	ret = a->svg && write_svg(a, &adv) ? 1 : 0;
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
	if (a->json)
		gadvice_json(stdout, &ga);
	else
		gadvice_print(stdout, &ga);
	ret = 0;
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
