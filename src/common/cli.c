// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "files.h"
#include "hooks.h"
#include "emit.h"
#include "opts.h"

static int parse_hook_type(const char *arg, void *field)
{
	int t = hook_type_from_name(arg);

	*(int *)field = t;
	return t ? 0 : -EINVAL;
}

#define GUEST	(1u << MODE_GUEST)
#define HOST	(1u << MODE_HOST)
#define F(field)	offsetof(struct ipt_opts, field)

static const struct opt_spec cli_specs[] = {
	{ "guest", 0, OPT_MODE, .off = F(mode), .implied = MODE_GUEST },
	{ "host", 0, OPT_MODE, .off = F(mode), .implied = MODE_HOST },
	{ "duration", 'd', OPT_SECONDS, "SEC", .off = F(duration),
	  .min = 0.001, .max = 1e7,
	  .help = "trace for SEC seconds (default: until Ctrl-C)" },
	{ "interval", 'i', OPT_SECONDS, "SEC", .off = F(interval),
	  .min = 0.05, .max = 1e7,
	  .help = "print a report every SEC seconds (>= 0.05: the drain tick)" },
	{ "count", 'c', OPT_LONG, "N", .off = F(count), .min = 1, .max = 1L << 40,
	  .help = "stop after N interval reports" },
	{ "json", 'j', OPT_CUSTOM, .off = F(format), .parse = cli_set_json,
	  .help = "print JSON instead of text (--format json)" },
	{ "format", 0, OPT_STRING, "NAME", .off = F(format),
	  .help = "report format: text (default), json, openmetrics,\n"
		  "prometheus (the text format 0.0.4)" },
	{ "list-hooks", 0, OPT_FLAG, .off = F(list_hooks),
	  .help = "print the hook chosen for each role and exit" },
	{ "btf", 0, OPT_STRING, "FILE", .off = F(btf),
	  .help = "kernel BTF for CO-RE when /sys/kernel/btf/vmlinux is missing" },
	{ "sysfs-root", 0, OPT_STRING, "DIR", .off = F(sysfs_root),
	  .help = "read the NUMA layout under DIR instead of /sys" },
	{ "numa-map", 0, OPT_STRING, "MAP", .off = F(numa_map),
	  .help = "explicit CPU->node map, e.g. 0-1:0/2-3:1" },
	{ "force-hooks", 0, OPT_CUSTOM, "TYPE", .off = F(force_hooks),
	  .parse = parse_hook_type,
	  .help = "each role uses its TYPE hook where it has one the\n"
		  "kernel offers (tp_btf, raw_tp, fentry, kprobe, tracepoint)" },
	{ "metrics", 0, OPT_STRING, "[ADDR:]PORT", .off = F(metrics),
	  .help = "serve OpenMetrics at http://ADDR:PORT/metrics\n"
		  "(totals since start; ADDR defaults to 127.0.0.1)" },
	{ "record", 0, OPT_STRING, "FILE", .off = F(record),
	  .help = "also write every IPI to FILE, for `ipitrace report FILE`\n"
		  "and `ipitrace join GUEST_FILE HOST_FILE`" },
	{ "verbose", 'v', OPT_FLAG, .off = F(verbose),
	  .help = "libbpf messages and hook probing details" },
	{ "aggregate", 'a', OPT_FLAG, .off = F(aggregate), .modes = GUEST,
	  .help = "in-kernel histograms, no per-IPI records (lowest\n"
		  "overhead; no --callers, pairs show count and mean)" },
	{ "cpu-pairs", 'C', OPT_FLAG, .off = F(cpu_pairs), .modes = GUEST,
	  .help = "source x target CPU matrix (count and median)" },
	{ "callers", 0, OPT_LONG, "N", .optional = true, .off = F(callers),
	  .min = 1, .max = 100000, .implied = 10, .modes = GUEST,
	  .help = "top N send callsites and functions (default 10)" },
	{ "csd", 0, OPT_FLAG, .off = F(csd), .modes = GUEST,
	  .help = "pair CSDs too (csd:* tracepoints: two more hooks per\n"
		  "function-call IPI); on with --callers" },
	{ "no-csd", 0, OPT_FLAG, .off = F(no_csd), .modes = GUEST,
	  .help = "never pair CSDs, not even with --callers" },
	{ "stale-ms", 0, OPT_LONG, "MS", .off = F(stale_ms), .min = 1,
	  .max = 3600000, .modes = GUEST,
	  .help = "a pending send older than MS is dropped (default 1000)" },
	{ "vcpu-kick", 0, OPT_FLAG, .off = F(vcpu_kick), .modes = HOST,
	  .help = "per-stage breakdown from ICR write to target vCPU running" },
	{ "halt", 0, OPT_FLAG, .off = F(halt), .modes = HOST,
	  .help = "halt and halt-polling summary (with --exits)" },
	{ "exits", 0, OPT_FLAG, .off = F(exits), .modes = HOST,
	  .help = "VM exits per reason and per vCPU, exit-to-entry times" },
	{ "pid", 'p', OPT_LONG, "PID", .off = F(pid), .min = 1, .max = 1L << 30,
	  .modes = HOST, .help = "only this VM process" },
	{ "vcpu", 0, OPT_LONG, "N", .off = F(vcpu), .min = 0, .max = 1 << 20,
	  .modes = HOST, .help = "only this vCPU" },
	{ "samples", 0, OPT_LONG, "N", .off = F(samples), .min = 1,
	  .max = 1000000, .modes = HOST,
	  .help = "JSON: raw stage timestamps of the first N IPIs" },
	{ "advise", 0, OPT_FLAG, .off = F(advise), .modes = HOST,
	  .help = "halt_poll_ns advice from the traced halts, priced with\n"
		  "this host's wake-up costs, with the final report" },
	{ "share", 0, OPT_SECONDS, "PCT", .off = F(share_pct), .min = 1,
	  .max = 100, .modes = HOST,
	  .help = "--advise: target share of the achievable saving (90)" },
	{ "budget", 0, OPT_SECONDS, "CORES", .off = F(budget), .min = 0,
	  .max = 1e6, .modes = HOST,
	  .help = "--advise: also the best setting within CORES of polling" },
	{ "svg", 0, OPT_STRING, "FILE", .off = F(svg), .modes = HOST,
	  .help = "--advise: write the plot (CPU vs latency saved) to FILE" },
	{ "max-ns", 0, OPT_LONG, "NS", .off = F(adv_max_ns), .min = 1000,
	  .max = 1000000000, .modes = HOST,
	  .help = "--advise: largest window/cap priced (2000000; up to 1 s)" },
};

static const char *const mode_names[] = {
	[MODE_GUEST] = "guest", [MODE_HOST] = "host",
};

static const struct opt_table cli_table = {
	.prog = "ipitrace",
	.specs = cli_specs,
	.nr = sizeof(cli_specs) / sizeof(cli_specs[0]),
	.mode_names = mode_names,
};

void cli_usage(FILE *f)
{
	fputs("Usage: ipitrace --guest [OPTIONS]     IPI send-to-handler latency (guest or bare metal)\n"
	      "       ipitrace --host  [OPTIONS]     KVM host: vCPU kick path and halt polling\n"
	      "       ipitrace bench [OPTIONS]       IPI round-trip benchmark (ipitrace bench -h)\n"
	      "\n", f);
	opts_usage(&cli_table, 0, f);
	fputs("\nGuest mode:\n", f);
	opts_usage(&cli_table, GUEST, f);
	fputs("\nHost mode:\n", f);
	opts_usage(&cli_table, HOST, f);
}

#define BAD(...) do { snprintf(err, len, __VA_ARGS__); return -1; } while (0)

int cli_set_json(const char *arg __attribute__((unused)), void *field)
{
	*(const char **)field = "json";
	return 0;
}

int cli_parse(int argc, char **argv, struct ipt_opts *o, char *err, size_t len)
{
	int ret;

	memset(o, 0, sizeof(*o));
	o->stale_ms = 1000;
	o->format = "text";
	o->pid = -1;
	o->vcpu = -1;
	o->budget = -1;
	ret = opts_parse(&cli_table, argc, argv, o, err, len);
	if (ret == OPTS_HELP) {
		cli_usage(stdout);
		return CLI_HELP;
	}
	if (ret)
		return ret;
	if (!o->mode)
		BAD("choose a mode: --guest, --host or bench (see --help)");
	if (o->aggregate && o->callers)
		BAD("--callers needs per-IPI records: drop --aggregate");
	if (o->count && !o->interval)
		BAD("--count needs --interval");
	if (!emit_backend_find(o->format))
		BAD("unknown --format '%s' (one of: %s)", o->format,
		    emit_backend_names());
	if ((o->share_pct || o->budget >= 0 || o->svg || o->adv_max_ns) &&
	    !o->advise)
		BAD("--share, --budget, --svg and --max-ns are options of --advise");
	if (o->sysfs_root && o->numa_map)
		BAD("--sysfs-root and --numa-map both give the NUMA layout: choose one");
	if (o->btf && (ret = check_regular_file(o->btf)))
		BAD("cannot read BTF file '%s': %s", o->btf, file_strerror(ret));
	return 0;
}
