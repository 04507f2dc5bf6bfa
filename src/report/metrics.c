// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "http_server.h"
#include "metrics.h"

struct metrics_server {
	int port;
	struct http_server http;
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

static bool is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *a6 = (const void *)ss;
	const struct sockaddr_in *a4 = (const void *)ss;

	if (ss->ss_family == AF_INET)
		return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
}

static int open_pipe(int fds[2])
{
	return pipe2(fds, O_CLOEXEC | O_NONBLOCK) ? -errno : 0;
}

static int open_listener(struct metrics_server *s, struct sockaddr_storage *ss,
			 socklen_t sl)
{
	int fd, one = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	s->http.listen_fd = fd;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)ss, sl) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)ss, &sl))
		return -errno;
	s->port = ntohs(ss->ss_family == AF_INET6 ?
			((struct sockaddr_in6 *)ss)->sin6_port :
			((struct sockaddr_in *)ss)->sin_port);
	return 0;
}

struct metrics_server *metrics_listen(const char *spec, FILE *err)
{
	struct metrics_server *s;
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *port;
	char host[128];
	int ret;

	if (split_spec(spec, host, sizeof(host), &port) ||
	    parse_addr(host, port, &ss, &sl)) {
		fprintf(err, "ipitrace: invalid --metrics address '%s' (PORT or ADDR:PORT, numeric)\n",
			spec);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		fprintf(err, "ipitrace: out of memory\n");
		return NULL;
	}
	s->http.listen_fd = s->http.want_fd[0] = s->http.want_fd[1] =
		s->http.wake_fd[0] = s->http.wake_fd[1] = -1;
	pthread_mutex_init(&s->http.snap.lock, NULL);
	s->http.snap.mime[SNAP_OPENMETRICS] = emit_openmetrics.mime;
	s->http.snap.mime[SNAP_PROMETHEUS] = emit_prometheus.mime;
	ret = open_listener(s, &ss, sl);
	if (!ret)
		ret = open_pipe(s->http.want_fd);
	if (!ret)
		ret = open_pipe(s->http.wake_fd);
	if (ret) {
		fprintf(err, "ipitrace: cannot listen on '%s': %s\n", spec,
			strerror(-ret));
		metrics_close(s);
		return NULL;
	}
	if (!is_loopback(&ss))
		fprintf(err, "ipitrace: warning: /metrics on '%s' is reachable from other hosts, without authentication\n",
			spec);
	return s;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

void metrics_close(struct metrics_server *s)
{
	int i;

	if (!s)
		return;
	http_server_stop(&s->http);
	close_fd(s->http.listen_fd);
	for (i = 0; i < 2; i++) {
		close_fd(s->http.want_fd[i]);
		close_fd(s->http.wake_fd[i]);
	}
	for (i = 0; i < SNAP_MAX; i++)
		free(s->http.snap.body[i]);
	pthread_mutex_destroy(&s->http.snap.lock);
	free(s);
}

int metrics_port(const struct metrics_server *s)
{
	return s->port;
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

/* Render both formats and hand them to the server thread. */
static void publish_snapshot(struct metrics_server *s, metrics_scrape_fn scrape,
			     void *ctx)
{
	static const struct emit_backend *const be[SNAP_MAX] = {
		[SNAP_OPENMETRICS] = &emit_openmetrics,
		[SNAP_PROMETHEUS] = &emit_prometheus,
	};
	struct http_snapshot *snap = &s->http.snap;
	char *body[SNAP_MAX], one = 1;
	size_t len[SNAP_MAX];
	int i;

	for (i = 0; i < SNAP_MAX; i++)
		body[i] = metrics_render(be[i], scrape, ctx, &len[i]);
	pthread_mutex_lock(&snap->lock);
	for (i = 0; i < SNAP_MAX; i++) {
		free(snap->body[i]);
		snap->body[i] = body[i];
		snap->len[i] = len[i];
	}
	snap->gen++;
	pthread_mutex_unlock(&snap->lock);
	if (write(s->http.wake_fd[1], &one, 1) < 0 && errno != EAGAIN)
		return;
}

/*
 * The trace loop's side: sleep up to @timeout_ms, and render a snapshot
 * when the server thread has a client waiting for one. The thread starts
 * on the first call, after the tracer has dropped its privileges (they are
 * per thread).
 */
void metrics_poll(struct metrics_server *s, int timeout_ms,
		  metrics_scrape_fn scrape, void *ctx)
{
	struct pollfd p = { .fd = s->http.want_fd[0], .events = POLLIN };
	bool wanted;
	char buf[64];

	if (!s->http.running && http_server_start(&s->http))
		fprintf(stderr, "ipitrace: cannot start the /metrics server thread\n");
	if (poll(&p, 1, timeout_ms) <= 0)
		return;
	while (read(s->http.want_fd[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&s->http.snap.lock);
	wanted = s->http.snap.wanted > s->http.snap.gen;
	pthread_mutex_unlock(&s->http.snap.lock);
	if (wanted)
		publish_snapshot(s, scrape, ctx);
}
