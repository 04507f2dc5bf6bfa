// SPDX-License-Identifier: GPL-2.0
/*
 * ipiload: send IPIs from one CPU to another and measure them independently
 * of ipitrace (the workload for integration tests and `make run`).
 *
 *   ipiload [--src CPU] [--dst CPU] [--count N | --duration SEC]
 *           [--mode cpuid|membarrier|multicast|resched|storm] [--gap-us U]
 *           [--skip CPU] [--json]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include "ipigen.h"

#define DEFAULT_COUNT		1000
#define DEFAULT_DURATION_GAP_US	1000

static const char usage[] =
"Usage: ipiload [--src CPU] [--dst CPU] [--count N | --duration SEC]\n"
"               [--mode cpuid|membarrier|multicast|resched|storm] [--gap-us U]\n"
"               [--skip CPU] [--json]\n"
"\n"
"Sends IPIs from CPU --src to CPU --dst and prints its own measurement:\n"
"calls done, elapsed time, and the round trip of one call (p50/mean/p99).\n"
"\n"
"  -s, --src CPU       CPU the sender runs on (default 0)\n"
"  -d, --dst CPU       target CPU (default 1, else the last CPU);\n"
"                      --dst == --src gives local calls (no IPI)\n"
"  -n, --count N       number of calls (default 1000)\n"
"  -t, --duration SEC  loop until SEC seconds have passed instead\n"
"  -m, --mode M        cpuid: pread of /dev/cpu/DST/cpuid, which runs\n"
"                        smp_call_function_single() to DST and sleeps until\n"
"                        done: one IPI to DST and usually one back (the\n"
"                        wakeup of the sender); target idle (default)\n"
"                      membarrier: a thread spins on DST and the sender\n"
"                        calls membarrier(PRIVATE_EXPEDITED[_RSEQ]): one\n"
"                        IPI to a busy DST per call, sender spins\n"
"                      multicast: a thread spins on every other CPU and each\n"
"                        membarrier(PRIVATE_EXPEDITED) IPIs them all at once\n"
"                        (smp_call_function_many(); --dst is ignored)\n"
"  -x, --skip CPU      multicast: no busy thread on CPU: the IPIs go to a\n"
"                        strict subset of the other CPUs (x86 then sends\n"
"                        them by a mask, never the all-but-self shorthand)\n"
"                      resched: a SCHED_FIFO thread on DST sleeps on an\n"
"                        eventfd while a normal thread spins there; each\n"
"                        call wakes it, which preempts the spinner: one\n"
"                        reschedule IPI to DST per call (sender spins on a\n"
"                        flag, no IPI back)\n"
"                      storm: membarrier back to back, no gap even with\n"
"                        --duration: the fastest IPI rate two CPUs make\n"
"  -g, --gap-us U      pause between calls (default 0; 1000 with --duration)\n"
"  -j, --json          one JSON object instead of text\n";

struct opts {
	int src, dst;
	long count;
	double duration;
	int membarrier;
	int multicast;		/* membarrier to busy threads on all other CPUs */
	int skip;		/* multicast: no busy thread there, -1 none */
	int resched;		/* wake a FIFO thread on a busy DST */
	int storm;		/* membarrier, never a gap */
	long gap_us;
	int json;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int parse_long(const char *s, long min, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return -EINVAL;
	*out = v;
	return 0;
}

static int default_dst(int src)
{
	int nr = ipigen_nr_cpus(), cpu;

	if (src != 1 && ipigen_cpu_online(1))
		return 1;
	for (cpu = nr - 1; cpu >= 0; cpu--)
		if (cpu != src && ipigen_cpu_online(cpu))
			return cpu;
	return src;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 't' },
		{ "mode", required_argument, NULL, 'm' },
		{ "gap-us", required_argument, NULL, 'g' },
		{ "skip", required_argument, NULL, 'x' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	long v;
	char *end;
	int c;

	*o = (struct opts){ .src = 0, .dst = -1, .count = -1, .gap_us = -1,
			    .skip = -1 };
	while ((c = getopt_long(argc, argv, "s:d:n:t:m:g:x:jh", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
		case 'd':
		case 'x':
			if (parse_long(optarg, 0, &v) || v > 1 << 20) {
				fprintf(stderr, "ipiload: bad CPU '%s'\n", optarg);
				return -1;
			}
			*(c == 's' ? &o->src : c == 'd' ? &o->dst : &o->skip) = v;
			break;
		case 'n':
			if (parse_long(optarg, 1, &o->count)) {
				fprintf(stderr, "ipiload: bad count '%s'\n", optarg);
				return -1;
			}
			break;
		case 't':
			o->duration = strtod(optarg, &end);
			if (*end || end == optarg || !(o->duration > 0)) {
				fprintf(stderr, "ipiload: bad duration '%s'\n", optarg);
				return -1;
			}
			break;
		case 'm':
			if (!strcmp(optarg, "cpuid")) {
				o->membarrier = 0;
			} else if (!strcmp(optarg, "membarrier")) {
				o->membarrier = 1;
			} else if (!strcmp(optarg, "storm")) {
				o->membarrier = 1;
				o->storm = 1;
			} else if (!strcmp(optarg, "resched")) {
				o->resched = 1;
			} else if (!strcmp(optarg, "multicast")) {
				o->membarrier = 1;
				o->multicast = 1;
			} else {
				fprintf(stderr, "ipiload: bad mode '%s' (cpuid|membarrier|multicast|resched|storm)\n",
					optarg);
				return -1;
			}
			break;
		case 'g':
			if (parse_long(optarg, 0, &o->gap_us)) {
				fprintf(stderr, "ipiload: bad gap '%s'\n", optarg);
				return -1;
			}
			break;
		case 'j':
			o->json = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ipiload: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->count > 0 && o->duration > 0) {
		fprintf(stderr, "ipiload: --count and --duration are exclusive\n");
		return -1;
	}
	if (o->count < 0 && !(o->duration > 0))
		o->count = DEFAULT_COUNT;
	if (o->gap_us < 0)
		o->gap_us = o->duration > 0 && !o->storm ?
			    DEFAULT_DURATION_GAP_US : 0;
	return 0;
}

static int check_cpus(struct opts *o)
{
	if (!ipigen_cpu_online(o->src)) {
		fprintf(stderr, "ipiload: --src %d is not an online CPU\n", o->src);
		return -1;
	}
	if (o->dst < 0 && !o->multicast)
		o->dst = default_dst(o->src);
	if (!o->multicast && !ipigen_cpu_online(o->dst)) {
		fprintf(stderr, "ipiload: --dst %d is not an online CPU\n", o->dst);
		return -1;
	}
	if (o->multicast) {
		o->dst = -1;
		return 0;
	}
	if ((o->membarrier || o->resched) && o->dst == o->src) {
		fprintf(stderr, "ipiload: membarrier and resched modes need --dst != --src\n");
		return -1;
	}
	return 0;
}

/* Growable sample buffer. */
struct samples {
	uint64_t *v;
	size_t n, cap;
};

static int samples_push(struct samples *s, uint64_t x)
{
	uint64_t *nv;
	size_t cap;

	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 4096;
		nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	return 0;
}

/*
 * Reschedule IPIs: a SCHED_FIFO waiter on DST sleeps in read(eventfd) while
 * a spinner keeps DST busy (so DST is not polling in idle and the wake-up
 * is not queued on its wakelist). Waking the waiter preempts the spinner:
 * resched_curr() sends DST a reschedule IPI. The waiter answers through a
 * counter the sender spins on, so nothing IPIs the sender back.
 */
struct resched {
	int efd;
	pthread_t waiter;
	int dst;
	int started, err;
	volatile uint64_t done;
	volatile int stop;
};

static void *resched_waiter(void *arg)
{
	struct resched *r = arg;
	struct sched_param sp = { .sched_priority = 1 };
	uint64_t v;

	r->err = ipigen_pin_self(r->dst);
	if (!r->err && pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp))
		r->err = -EPERM;
	__atomic_store_n(&r->started, 1, __ATOMIC_RELEASE);
	if (r->err)
		return NULL;
	while (!r->stop) {
		if (read(r->efd, &v, sizeof(v)) != sizeof(v))
			break;
		__atomic_add_fetch(&r->done, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int resched_open(struct resched *r, int dst)
{
	memset(r, 0, sizeof(*r));
	r->dst = dst;
	r->efd = eventfd(0, 0);
	if (r->efd < 0)
		return -errno;
	if (pthread_create(&r->waiter, NULL, resched_waiter, r))
		return -EAGAIN;
	while (!__atomic_load_n(&r->started, __ATOMIC_ACQUIRE))
		usleep(100);
	if (r->err)
		fprintf(stderr, "ipiload: FIFO thread on CPU %d: %s\n", dst,
			strerror(-r->err));
	usleep(10000);		/* let it block in read() */
	return r->err;
}

static int resched_fire(struct resched *r)
{
	uint64_t one = 1, want = r->done + 1;

	if (write(r->efd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	while (__atomic_load_n(&r->done, __ATOMIC_ACQUIRE) < want)
		__builtin_ia32_pause();
	return 0;
}

static void resched_close(struct resched *r)
{
	uint64_t one = 1;

	r->stop = 1;
	if (write(r->efd, &one, sizeof(one)) < 0)
		perror("ipiload: eventfd");
	pthread_join(r->waiter, NULL);
	close(r->efd);
}

static struct resched rs;

static int fire(struct ipigen *g, const struct opts *o)
{
	return o->resched ? resched_fire(&rs) : ipigen_fire(g);
}

static int run_loop(struct ipigen *g, const struct opts *o,
		    struct samples *s, uint64_t *elapsed)
{
	uint64_t start = ipigen_now_ns(), end = 0, t0;
	int err;

	if (o->duration > 0)
		end = start + (uint64_t)(o->duration * 1e9);
	while (!stopping) {
		if (end ? ipigen_now_ns() >= end : (long)s->n >= o->count)
			break;
		t0 = ipigen_now_ns();
		err = fire(g, o);
		if (!err)
			err = samples_push(s, ipigen_now_ns() - t0);
		if (err) {
			fprintf(stderr, "ipiload: %s call failed: %s\n",
				ipigen_mech_name(g->mech), strerror(-err));
			return err;
		}
		ipigen_sleep_ns((uint64_t)o->gap_us * 1000);
	}
	*elapsed = ipigen_now_ns() - start;
	return 0;
}

static void report(const struct opts *o, const struct ipigen *g,
		   const struct ipigen_stats *st, uint64_t elapsed)
{
	const char *mode = o->resched ? "resched" : o->multicast ? "multicast" :
			   o->storm ? "storm" : o->membarrier ? "membarrier" :
			   "cpuid";

	if (o->json) {
		printf("{\"mode\":\"%s\",\"mech\":\"%s\",\"src\":%d,\"dst\":%d,"
		       "\"count\":%zu,\"gap_us\":%ld,\"elapsed_ns\":%llu,"
		       "\"rtt_p50_ns\":%llu,\"rtt_mean_ns\":%llu,"
		       "\"rtt_p99_ns\":%llu,\"rate_per_s\":%.0f}\n",
		       mode, o->resched ? "eventfd-wake" : ipigen_mech_name(g->mech), o->src, o->dst,
		       st->count, o->gap_us, (unsigned long long)elapsed,
		       (unsigned long long)st->p50,
		       (unsigned long long)st->mean,
		       (unsigned long long)st->p99,
		       elapsed ? st->count * 1e9 / elapsed : 0.0);
		return;
	}
	printf("ipiload: %s (%s) CPU %d -> CPU %d: %zu calls in %.3f s (gap %ld us)\n",
	       mode, o->resched ? "eventfd-wake" : ipigen_mech_name(g->mech), o->src, o->dst, st->count,
	       elapsed / 1e9, o->gap_us);
	printf("round trip ns: p50 %llu  mean %llu  p99 %llu\n",
	       (unsigned long long)st->p50, (unsigned long long)st->mean,
	       (unsigned long long)st->p99);
}

/* Multicast: a busy thread on every other online CPU, and one
 * membarrier(PRIVATE_EXPEDITED) per call IPIs them all at once. */
static int open_multicast(struct ipigen *g, const struct opts *o,
			  struct ipigen_spinner *spin, int *nr)
{
	int cpus[IPIGEN_MAX_TARGETS], cpu, n = 0, err;

	*nr = 0;
	if (!(ipigen_mb_init() & IPIGEN_MB_EXPEDITED)) {
		fprintf(stderr, "ipiload: membarrier PRIVATE_EXPEDITED unavailable\n");
		return -ENOTSUP;
	}
	for (cpu = 0; cpu < ipigen_nr_cpus() && n < IPIGEN_MAX_TARGETS; cpu++) {
		if (cpu == o->src || cpu == o->skip || !ipigen_cpu_online(cpu))
			continue;
		err = ipigen_spinner_start(&spin[n], cpu);
		if (err) {
			fprintf(stderr, "ipiload: busy thread on CPU %d: %s\n",
				cpu, strerror(-err));
			break;
		}
		cpus[n++] = cpu;
	}
	*nr = n;
	if (n < 1)
		return -ENODEV;
	return ipigen_open(g, IPIGEN_MB_ALL_CPUS, cpus, n);
}

static int open_gen(struct ipigen *g, const struct opts *o,
		    struct ipigen_spinner *spin, int *nr_spin)
{
	enum ipigen_mech mech = IPIGEN_CPUID;
	int err;

	*nr_spin = 0;
	if (o->multicast)
		return open_multicast(g, o, spin, nr_spin);
	if (o->membarrier || o->resched) {
		mech = ipigen_mb_init() & IPIGEN_MB_CPU ?
		       IPIGEN_MB_ONE_CPU : IPIGEN_MB_ALL_CPUS;
		err = ipigen_spinner_start(spin, o->dst);
		if (err) {
			fprintf(stderr, "ipiload: busy thread on CPU %d: %s\n",
				o->dst, strerror(-err));
			return err;
		}
	}
	*nr_spin = 1;
	if (o->resched) {
		g->mech = IPIGEN_CPUID;		/* unused; named "resched" */
		return resched_open(&rs, o->dst);
	}
	return ipigen_open(g, mech, &o->dst, 1);
}

int main(int argc, char **argv)
{
	static struct ipigen_spinner spin[IPIGEN_MAX_TARGETS];
	struct samples s = {};
	struct ipigen_stats st;
	struct ipigen g;
	struct opts o;
	uint64_t elapsed = 0;
	int err, i, nr_spin;

	if (parse_opts(argc, argv, &o) || check_cpus(&o))
		return 2;
	err = ipigen_pin_self(o.src);
	if (err) {
		fprintf(stderr, "ipiload: cannot run on CPU %d: %s\n", o.src,
			strerror(-err));
		return 1;
	}
	if (open_gen(&g, &o, spin, &nr_spin)) {
		for (i = 0; i < nr_spin; i++)
			ipigen_spinner_stop(&spin[i]);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	err = run_loop(&g, &o, &s, &elapsed);
	for (i = 0; i < nr_spin; i++)
		ipigen_spinner_stop(&spin[i]);
	if (o.resched)
		resched_close(&rs);
	else
		ipigen_close(&g);
	if (!err)
		err = ipigen_stats(s.v, s.n, &st);
	if (!err)
		report(&o, &g, &st, elapsed);
	free(s.v);
	return err ? 1 : 0;
}
