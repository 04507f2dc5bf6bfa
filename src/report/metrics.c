// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "metrics.h"

struct metrics_server {
	int fd;
	int port;
};

static int split_spec(const char *spec, char *host, size_t hlen,
		      const char **port)
{
	const char *colon = strrchr(spec, ':');
	size_t n;

	if (!colon) {
		snprintf(host, hlen, "127.0.0.1");
		*port = spec;
		return 0;
	}
	n = colon - spec;
	if (n && spec[0] == '[' && spec[n - 1] == ']') {
		spec++;
		n -= 2;
	}
	if (n >= hlen)
		return -EINVAL;
	memcpy(host, spec, n);
	host[n] = 0;
	*port = colon + 1;
	return 0;
}

/* Numeric addresses only (no resolver: the binary is also linked
 * statically). */
static int parse_addr(const char *host, const char *port,
		      struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	char *end;
	long p;

	p = strtol(port, &end, 10);
	if (!*port || *end || p < 0 || p > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(p);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(p);
		*len = sizeof(*a6);
		return 0;
	}
	return -EINVAL;
}

struct metrics_server *metrics_listen(const char *spec, FILE *err)
{
	struct metrics_server *s = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *port;
	char host[128];
	int one = 1;

	if (split_spec(spec, host, sizeof(host), &port) ||
	    parse_addr(host, port, &ss, &sl)) {
		fprintf(err, "ipitrace: invalid --metrics address '%s' (PORT or ADDR:PORT, numeric)\n",
			spec);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		goto fail;
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->fd, (struct sockaddr *)&ss, sl) || listen(s->fd, 16) ||
	    getsockname(s->fd, (struct sockaddr *)&ss, &sl))
		goto fail;
	s->port = ntohs(ss.ss_family == AF_INET6 ?
			((struct sockaddr_in6 *)&ss)->sin6_port :
			((struct sockaddr_in *)&ss)->sin_port);
	return s;
fail:
	fprintf(err, "ipitrace: cannot listen on '%s': %s\n", spec, strerror(errno));
	if (s && s->fd > 0)
		close(s->fd);
	free(s);
	return NULL;
}

void metrics_close(struct metrics_server *s)
{
	if (!s)
		return;
	close(s->fd);
	free(s);
}

int metrics_port(const struct metrics_server *s)
{
	return s->port;
}

static void send_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

static void respond(int fd, const char *status, const char *type,
		    const char *body, size_t len)
{
	char hdr[256];
	int n;

	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		     status, type, len);
	send_all(fd, hdr, n);
	send_all(fd, body, len);
}

/* One request per connection; a slow client gets 100 ms, then is dropped:
 * the trace loop drains the rings between scrapes. */
static void serve(int fd, metrics_render_fn render, void *ctx)
{
	struct timeval tv = { 0, 100000 };
	char req[2048], *body = NULL;
	size_t blen = 0, got = 0;
	ssize_t n;
	FILE *f;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < sizeof(req) - 1) {
		n = recv(fd, req + got, sizeof(req) - 1 - got, 0);
		if (n <= 0)
			break;
		got += n;
		req[got] = 0;
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[got] = 0;
	if (strncmp(req, "GET /metrics", 12) ||
	    (req[12] != ' ' && req[12] != '?')) {
		respond(fd, "404 Not Found", "text/plain", "try /metrics\n", 13);
		return;
	}
	f = open_memstream(&body, &blen);
	if (!f) {
		respond(fd, "500 Internal Server Error", "text/plain", "", 0);
		return;
	}
	render(f, ctx);
	fclose(f);
	respond(fd, "200 OK",
		"application/openmetrics-text; version=1.0.0; charset=utf-8",
		body, blen);
	free(body);
}

void metrics_poll(struct metrics_server *s, int timeout_ms,
		  metrics_render_fn render, void *ctx)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	int fd;

	if (poll(&p, 1, timeout_ms) <= 0)
		return;
	/* one scrape per tick: a crowd of clients cannot starve the tracer */
	fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	serve(fd, render, ctx);
	close(fd);
}

/* The same buckets in every scrape (le = 2 ns .. 2^36 ns, then +Inf), as
 * scrapers expect of one series. */
#define METRICS_BUCKETS	36

static void render_hist(FILE *f, const char *labels, const struct hist *h)
{
	uint64_t b[HIST_LOG2], cum = 0;
	int i;

	hist_log2(h, b);
	for (i = 0; i < METRICS_BUCKETS; i++) {
		cum += b[i];
		fprintf(f, "ipitrace_ipi_latency_seconds_bucket{%s,le=\"%.9g\"} %llu\n",
			labels, (hist_log2_hi(i) + 1) / 1e9,
			(unsigned long long)cum);
	}
	fprintf(f, "ipitrace_ipi_latency_seconds_bucket{%s,le=\"+Inf\"} %llu\n",
		labels, (unsigned long long)h->count);
	fprintf(f, "ipitrace_ipi_latency_seconds_count{%s} %llu\n", labels,
		(unsigned long long)h->count);
	fprintf(f, "ipitrace_ipi_latency_seconds_sum{%s} %.9f\n", labels,
		h->sum / 1e9);
}

void metrics_render_guest(FILE *f, const struct agg *a,
			  const struct named_count *counters, int nr_counters,
			  const struct named_count *lost, int nr_lost)
{
	char labels[96];
	int k, n, i;

	fputs("# TYPE ipitrace_ipi_latency_seconds histogram\n"
	      "# UNIT ipitrace_ipi_latency_seconds seconds\n"
	      "# HELP ipitrace_ipi_latency_seconds IPI send to handler entry (kind csd: CSD queue to function entry).\n", f);
	for (k = 0; k <= IPI_KIND_MAX; k++) {
		for (n = 0; n < IPT_NUMA_MAX; n++) {
			const struct hist *h = k < IPI_KIND_MAX ?
					       &a->ipi[n][k] : &a->csd[n];

			if (!h->count)
				continue;
			snprintf(labels, sizeof(labels), "kind=\"%s\",numa=\"%s\"",
				 k < IPI_KIND_MAX ? ipi_kind_name(k) : "csd",
				 numa_class_name(n));
			render_hist(f, labels, h);
		}
	}
	fputs("# TYPE ipitrace_events counter\n"
	      "# HELP ipitrace_events In-kernel event counters.\n", f);
	for (i = 0; i < nr_counters; i++)
		fprintf(f, "ipitrace_events_total{counter=\"%s\"} %llu\n",
			counters[i].name, (unsigned long long)counters[i].value);
	fputs("# TYPE ipitrace_lost counter\n"
	      "# HELP ipitrace_lost Events ipitrace could not account for.\n", f);
	for (i = 0; i < nr_lost; i++)
		fprintf(f, "ipitrace_lost_total{reason=\"%s\"} %llu\n",
			lost[i].name, (unsigned long long)lost[i].value);
	fputs("# EOF\n", f);
}
