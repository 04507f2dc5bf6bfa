// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "http_server.h"

enum client_state { C_FREE, C_READ, C_WAIT, C_WRITE };

struct client {
	enum client_state state;
	int fd;
	long long born_ms;
	char req[HTTP_REQUEST_MAX + 1];
	size_t got;
	int fmt;
	bool head;
	unsigned long need;	/* snapshot generation to answer with */
	char *out;
	size_t out_len, sent;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The value of header @name (case-insensitive), up to its line's end. */
static void header_value(const char *req, const char *name, char *out,
			 size_t len)
{
	size_t n = strlen(name), v;
	const char *p = strchr(req, '\n');

	out[0] = 0;
	for (; p && p[1]; p = strchr(p + 1, '\n')) {
		if (strncasecmp(p + 1, name, n) || p[1 + n] != ':')
			continue;
		p += 2 + n;
		v = strcspn(p, "\r\n");
		snprintf(out, len, "%.*s", (int)v, p);
		return;
	}
}

int http_parse_request(const char *req, int *fmt, bool *head)
{
	char accept[512];
	const char *path;

	if (!strncmp(req, "GET ", 4))
		*head = false;
	else if (!strncmp(req, "HEAD ", 5))
		*head = true;
	else
		return strchr(req, ' ') ? 405 : 400;
	path = strchr(req, ' ') + 1;
	if (strncmp(path, "/metrics", 8) || (path[8] != ' ' && path[8] != '?'))
		return 404;
	/* OpenMetrics only for a scraper that asks for it */
	header_value(req, "Accept", accept, sizeof(accept));
	*fmt = strstr(accept, "application/openmetrics-text") ?
	       SNAP_OPENMETRICS : SNAP_PROMETHEUS;
	return 0;
}

static void client_free(struct client *c)
{
	if (c->state != C_FREE)
		close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
}

static void respond(struct client *c, int status, const char *mime,
		    const char *body, size_t len)
{
	static const char *const reasons[] = {
		[200] = "OK", [400] = "Bad Request", [404] = "Not Found",
		[405] = "Method Not Allowed", [503] = "Service Unavailable",
	};
	size_t cap = 256 + (c->head ? 0 : len);

	c->out = malloc(cap);
	if (!c->out) {
		client_free(c);
		return;
	}
	c->out_len = snprintf(c->out, cap,
		"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
		status, reasons[status], mime, len,
		status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!c->head) {
		memcpy(c->out + c->out_len, body, len);
		c->out_len += len;
	}
	c->sent = 0;
	c->state = C_WRITE;
}

static void ask_for_snapshot(struct http_server *s, struct client *c)
{
	char one = 1;

	pthread_mutex_lock(&s->snap.lock);
	c->need = s->snap.gen + 1;
	if (s->snap.wanted < c->need)
		s->snap.wanted = c->need;
	pthread_mutex_unlock(&s->snap.lock);
	if (write(s->want_fd[1], &one, 1) < 0 && errno != EAGAIN)
		c->need = 0;
	c->state = C_WAIT;
}

static void on_request(struct http_server *s, struct client *c)
{
	static const char nf[] = "try /metrics\n";
	int status = http_parse_request(c->req, &c->fmt, &c->head);

	if (!status)
		ask_for_snapshot(s, c);
	else
		respond(c, status, "text/plain", nf, status == 404 ? sizeof(nf) - 1 : 0);
}

static void read_client(struct http_server *s, struct client *c)
{
	ssize_t n = recv(c->fd, c->req + c->got, HTTP_REQUEST_MAX - c->got, 0);

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			client_free(c);
		return;
	}
	c->got += n;
	c->req[c->got] = 0;
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
		on_request(s, c);
	else if (c->got == HTTP_REQUEST_MAX)
		respond(c, 400, "text/plain", "", 0);
}

static void write_client(struct client *c)
{
	ssize_t n = send(c->fd, c->out + c->sent, c->out_len - c->sent,
			 MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || (c->sent += n) == c->out_len)
		client_free(c);
}

/* Answer every waiting client whose snapshot has been published. */
static void publish(struct http_server *s, struct client *cl)
{
	int i;

	pthread_mutex_lock(&s->snap.lock);
	for (i = 0; i < HTTP_MAX_CLIENTS; i++) {
		struct client *c = &cl[i];

		if (c->state != C_WAIT || c->need > s->snap.gen)
			continue;
		if (s->snap.body[c->fmt])
			respond(c, 200, s->snap.mime[c->fmt],
				s->snap.body[c->fmt], s->snap.len[c->fmt]);
		else
			respond(c, 503, "text/plain", "", 0);
	}
	pthread_mutex_unlock(&s->snap.lock);
}

/* A free slot; when none, the oldest client still to finish its request
 * makes room: connections that say nothing cannot lock scrapers out. */
static struct client *free_slot(struct client *cl)
{
	struct client *oldest = NULL;
	int i;

	for (i = 0; i < HTTP_MAX_CLIENTS; i++) {
		if (cl[i].state == C_FREE)
			return &cl[i];
		if (cl[i].state == C_READ &&
		    (!oldest || cl[i].born_ms < oldest->born_ms))
			oldest = &cl[i];
	}
	if (oldest)
		client_free(oldest);
	return oldest;
}

static void accept_client(struct http_server *s, struct client *cl)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct client *c;

	if (fd < 0)
		return;
	c = free_slot(cl);
	if (!c) {
		close(fd);
		return;
	}
	c->state = C_READ;
	c->fd = fd;
	c->born_ms = now_ms();
}

/* Drop clients past their deadline; returns ms until the next one. */
static int expire(struct client *cl)
{
	long long now = now_ms(), next = 1000, left;
	int i;

	for (i = 0; i < HTTP_MAX_CLIENTS; i++) {
		if (cl[i].state == C_FREE)
			continue;
		left = cl[i].born_ms + (cl[i].state == C_READ ? HTTP_READ_MS :
					HTTP_TOTAL_MS) - now;
		if (left <= 0)
			client_free(&cl[i]);
		else if (left < next)
			next = left;
	}
	return (int)next;
}

static void *serve(void *arg)
{
	struct http_server *s = arg;
	struct client *cl = calloc(HTTP_MAX_CLIENTS, sizeof(*cl));
	struct pollfd p[HTTP_MAX_CLIENTS + 2];
	int map[HTTP_MAX_CLIENTS + 2], i, n;
	char buf[64];

	while (cl && !__atomic_load_n(&s->snap.stop, __ATOMIC_ACQUIRE)) {
		int timeout = expire(cl);

		n = 0;
		p[n++] = (struct pollfd){ .fd = s->wake_fd[0], .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
		for (i = 0; i < HTTP_MAX_CLIENTS; i++) {
			if (cl[i].state != C_READ && cl[i].state != C_WRITE)
				continue;
			map[n] = i;
			p[n++] = (struct pollfd){ .fd = cl[i].fd, .events =
				cl[i].state == C_READ ? POLLIN : POLLOUT };
		}
		if (poll(p, n, timeout) <= 0)
			continue;
		if (p[0].revents) {
			while (read(s->wake_fd[0], buf, sizeof(buf)) > 0)
				;
			publish(s, cl);
		}
		if (p[1].revents)
			accept_client(s, cl);
		for (i = 2; i < n; i++) {
			struct client *c = &cl[map[i]];

			if (!p[i].revents || c->fd != p[i].fd)
				continue;
			if (c->state == C_READ)
				read_client(s, c);
			else if (c->state == C_WRITE)
				write_client(c);
		}
	}
	for (i = 0; cl && i < HTTP_MAX_CLIENTS; i++)
		client_free(&cl[i]);
	free(cl);
	return NULL;
}

int http_server_start(struct http_server *s)
{
	int err = pthread_create(&s->thread, NULL, serve, s);

	s->running = !err;
	return -err;
}

void http_server_stop(struct http_server *s)
{
	char one = 1;

	if (!s->running)
		return;
	__atomic_store_n(&s->snap.stop, true, __ATOMIC_RELEASE);
	if (write(s->wake_fd[1], &one, 1) < 0)
		pthread_cancel(s->thread);
	pthread_join(s->thread, NULL);
	s->running = false;
}
