// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "hooks.h"

static int access_ok_file(const char *path)
{
	return access(path, R_OK) ? -errno : 0;
}

static const char usage_text[] =
"Usage: ipitrace --guest [OPTIONS]     IPI send-to-handler latency (guest or bare metal)\n"
"       ipitrace --host  [OPTIONS]     KVM host: vCPU kick path and halt polling\n"
"       ipitrace bench [OPTIONS]       IPI round-trip benchmark (ipitrace bench -h)\n"
"\n"
"  -d, --duration SEC     trace for SEC seconds (default: until Ctrl-C)\n"
"  -i, --interval SEC     print a report every SEC seconds\n"
"  -c, --count N          stop after N interval reports\n"
"  -j, --json             print JSON instead of text\n"
"  -a, --aggregate        in-kernel histograms, no per-IPI records (lowest\n"
"                         overhead; no --callers, pairs show count and mean)\n"
"  -C, --cpu-pairs        source x target CPU matrix (count and median)\n"
"      --callers[=N]      top N send callsites and functions (default 10)\n"
"      --list-hooks       print the hook chosen for each role and exit\n"
"      --btf FILE         kernel BTF for CO-RE when /sys/kernel/btf/vmlinux is missing\n"
"      --sysfs-root DIR   read the NUMA layout under DIR instead of /sys\n"
"      --numa-map MAP     explicit CPU->node map, e.g. 0-1:0/2-3:1\n"
"      --no-csd           do not pair CSDs (csd:* tracepoints)\n"
"      --metrics [ADDR:]PORT  serve OpenMetrics at http://ADDR:PORT/metrics\n"
"                         (totals since start; ADDR defaults to 127.0.0.1)\n"
"      --stale-ms MS      a pending send older than MS is dropped (default 1000)\n"
"  -v, --verbose          libbpf messages and hook probing details\n"
"  -h, --help             this help\n"
"\n"
"Host mode:\n"
"      --vcpu-kick        per-stage breakdown from ICR write to target vCPU running\n"
"      --halt             halt and halt-polling summary (with --exits)\n"
"      --exits            VM exits per reason and per vCPU, exit-to-entry times\n"
"      --force-hooks TYPE each role uses its TYPE hook where it has one the\n"
"                         kernel offers (tp_btf, raw_tp, fentry, kprobe, tracepoint)\n"
"  -p, --pid PID          only this VM process\n"
"      --vcpu N           only this vCPU\n"
"      --samples N        JSON: raw stage timestamps of the first N IPIs\n";

void cli_usage(FILE *f)
{
	fputs(usage_text, f);
}

enum {
	OPT_GUEST = 256, OPT_HOST, OPT_CALLERS, OPT_LIST_HOOKS, OPT_BTF,
	OPT_SYSFS, OPT_NUMA_MAP, OPT_NO_CSD, OPT_STALE, OPT_VCPU_KICK,
	OPT_HALT, OPT_VCPU, OPT_METRICS, OPT_SAMPLES, OPT_EXITS, OPT_FORCE_HOOKS,
};

static const struct option long_opts[] = {
	{ "guest", no_argument, NULL, OPT_GUEST },
	{ "host", no_argument, NULL, OPT_HOST },
	{ "duration", required_argument, NULL, 'd' },
	{ "interval", required_argument, NULL, 'i' },
	{ "count", required_argument, NULL, 'c' },
	{ "json", no_argument, NULL, 'j' },
	{ "aggregate", no_argument, NULL, 'a' },
	{ "cpu-pairs", no_argument, NULL, 'C' },
	{ "callers", optional_argument, NULL, OPT_CALLERS },
	{ "list-hooks", no_argument, NULL, OPT_LIST_HOOKS },
	{ "btf", required_argument, NULL, OPT_BTF },
	{ "sysfs-root", required_argument, NULL, OPT_SYSFS },
	{ "numa-map", required_argument, NULL, OPT_NUMA_MAP },
	{ "no-csd", no_argument, NULL, OPT_NO_CSD },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "stale-ms", required_argument, NULL, OPT_STALE },
	{ "vcpu-kick", no_argument, NULL, OPT_VCPU_KICK },
	{ "halt", no_argument, NULL, OPT_HALT },
	{ "pid", required_argument, NULL, 'p' },
	{ "vcpu", required_argument, NULL, OPT_VCPU },
	{ "samples", required_argument, NULL, OPT_SAMPLES },
	{ "exits", no_argument, NULL, OPT_EXITS },
	{ "force-hooks", required_argument, NULL, OPT_FORCE_HOOKS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

int parse_seconds(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	/* plain decimal only: no blanks, hex floats, inf or nan */
	if (!s || !*s || strspn(s, "0123456789.eE+-") != strlen(s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

#define SHORT_OPTS ":d:i:c:jaCp:vh"
#define BAD(...) do { snprintf(err, len, __VA_ARGS__); return -1; } while (0)

int cli_parse(int argc, char **argv, struct ipt_opts *o, char *err, size_t len)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->stale_ms = 1000;
	o->pid = -1;
	o->vcpu = -1;
	optind = 0;	/* glibc: full reset, incl. a half-read "-xj" group */
	opterr = 0;
	while ((c = getopt_long(argc, argv, SHORT_OPTS, long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_GUEST:
		case OPT_HOST:
			if (o->mode)
				BAD("--guest and --host are exclusive");
			o->mode = c == OPT_GUEST ? MODE_GUEST : MODE_HOST;
			break;
		case 'd':
			if (parse_seconds(optarg, 0.001, 1e7, &o->duration))
				BAD("invalid duration '%s' (seconds > 0)", optarg);
			break;
		case 'i':
			if (parse_seconds(optarg, 0.01, 1e7, &o->interval))
				BAD("invalid interval '%s' (seconds > 0)", optarg);
			break;
		case 'c':
			if (parse_long(optarg, 1, 1L << 40, &o->count))
				BAD("invalid count '%s' (integer >= 1)", optarg);
			break;
		case 'j':
			o->json = true;
			break;
		case 'a':
			o->aggregate = true;
			break;
		case 'C':
			o->cpu_pairs = true;
			break;
		case OPT_CALLERS: {
			long n = 10;

			if (optarg && parse_long(optarg, 1, 100000, &n))
				BAD("invalid --callers '%s' (integer >= 1)", optarg);
			o->callers = (int)n;
			break;
		}
		case OPT_LIST_HOOKS:
			o->list_hooks = true;
			break;
		case OPT_BTF:
			o->btf = optarg;
			break;
		case OPT_SYSFS:
			o->sysfs_root = optarg;
			break;
		case OPT_NUMA_MAP:
			o->numa_map = optarg;
			break;
		case OPT_METRICS:
			o->metrics = optarg;
			break;
		case OPT_NO_CSD:
			o->no_csd = true;
			break;
		case OPT_STALE:
			if (parse_long(optarg, 1, 3600000, &o->stale_ms))
				BAD("invalid --stale-ms '%s'", optarg);
			break;
		case OPT_VCPU_KICK:
			o->vcpu_kick = true;
			break;
		case OPT_HALT:
			o->halt = true;
			break;
		case 'p':
			if (parse_long(optarg, 1, 1L << 30, &o->pid))
				BAD("invalid pid '%s'", optarg);
			break;
		case OPT_VCPU:
			if (parse_long(optarg, 0, 1 << 20, &o->vcpu))
				BAD("invalid vCPU '%s'", optarg);
			break;
		case OPT_SAMPLES:
			if (parse_long(optarg, 1, 1000000, &o->samples))
				BAD("invalid --samples '%s'", optarg);
			break;
		case OPT_EXITS:
			o->exits = true;
			break;
		case OPT_FORCE_HOOKS:
			o->force_hooks = hook_type_from_name(optarg);
			if (!o->force_hooks)
				BAD("invalid --force-hooks '%s' (tp_btf, raw_tp, fentry, kprobe or tracepoint)", optarg);
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			cli_usage(stdout);
			return CLI_HELP;
		case ':':
			BAD("option '%s' needs a value", argv[optind - 1]);
		default:
			/* inside a group ("-xj") optind has not moved on:
			 * name the character, not the previous argument */
			if (optopt > 0 && optopt < 128 &&
			    !strchr(SHORT_OPTS, optopt))
				BAD("unknown option '-%c'", optopt);
			BAD("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		BAD("unexpected argument '%s'", argv[optind]);
	if (!o->mode)
		BAD("choose a mode: --guest, --host or bench (see --help)");
	if (o->aggregate && o->callers)
		BAD("--callers needs per-IPI records: drop --aggregate");
	if ((o->aggregate || o->metrics) && o->mode == MODE_HOST)
		BAD("--aggregate and --metrics are guest-mode options");
	if (o->count && !o->interval)
		BAD("--count needs --interval");
	if (o->mode == MODE_GUEST && (o->vcpu_kick || o->halt || o->pid >= 0 ||
				      o->vcpu >= 0 || o->samples || o->exits ||
				      o->force_hooks))
		BAD("--vcpu-kick, --halt, --exits, --force-hooks, --pid, --vcpu and --samples are host-mode options");
	if (o->btf && access_ok_file(o->btf))
		BAD("cannot read BTF file '%s'", o->btf);
	return 0;
}
