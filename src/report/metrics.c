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

struct scrape_call {
	metrics_scrape_fn fn;
	void *ctx;
};

static void scrape_doc(struct emitter *e, const void *arg)
{
	const struct scrape_call *c = arg;

	c->fn(e, c->ctx);
}

char *metrics_render(const struct emit_backend *be, metrics_scrape_fn scrape,
		     void *ctx, size_t *len)
{
	struct scrape_call c = { scrape, ctx };
	char *body = NULL;
	FILE *f;
	int err;

	*len = 0;
	f = open_memstream(&body, len);
	if (!f)
		return NULL;
	err = emit_document(f, be, scrape_doc, &c);
	if (fclose(f) || err) {
		free(body);
		return NULL;
	}
	return body;
}

/* One request per connection; a slow client gets 100 ms, then is dropped:
 * the trace loop drains the rings between scrapes. */
static void serve(int fd, metrics_scrape_fn scrape, void *ctx)
{
	const struct emit_backend *be = &emit_openmetrics;
	struct timeval tv = { 0, 100000 };
	char req[2048], *body;
	size_t blen, got = 0;
	ssize_t n;

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
	body = metrics_render(be, scrape, ctx, &blen);
	if (!body) {
		respond(fd, "500 Internal Server Error", "text/plain", "", 0);
		return;
	}
	respond(fd, "200 OK", be->mime, body, blen);
	free(body);
}

void metrics_poll(struct metrics_server *s, int timeout_ms,
		  metrics_scrape_fn scrape, void *ctx)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	int fd;

	if (poll(&p, 1, timeout_ms) <= 0)
		return;
	/* one scrape per tick: a crowd of clients cannot starve the tracer */
	fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	serve(fd, scrape, ctx);
	close(fd);
}
