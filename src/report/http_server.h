/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The /metrics HTTP server's own thread. It never runs the tracer's code:
 * it asks the trace loop for a fresh snapshot (want_fd), waits for it
 * (published under the lock, announced on wake_fd) and sends it. Clients
 * are non-blocking, bounded in number, size and time, so a slow or silent
 * client costs the tracer nothing.
 */
#ifndef __IPT_HTTP_SERVER_H
#define __IPT_HTTP_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

enum { SNAP_OPENMETRICS, SNAP_PROMETHEUS, SNAP_MAX };

struct http_snapshot {
	pthread_mutex_t lock;
	char *body[SNAP_MAX];
	size_t len[SNAP_MAX];
	const char *mime[SNAP_MAX];
	unsigned long gen;	/* bumped per published snapshot */
	unsigned long wanted;	/* the generation a waiting client needs */
	bool stop;
};

struct http_server {
	int listen_fd;
	int want_fd[2];		/* server -> trace loop: a scrape waits */
	int wake_fd[2];		/* trace loop -> server: published, or stop */
	struct http_snapshot snap;
	pthread_t thread;
	bool running;
};

#define HTTP_MAX_CLIENTS	16
#define HTTP_REQUEST_MAX	4096
#define HTTP_READ_MS		2000	/* whole request, from accept */
#define HTTP_TOTAL_MS		10000	/* request and response */

int http_server_start(struct http_server *s);
void http_server_stop(struct http_server *s);

/* Parse one request head: 0 with *fmt set (SNAP_*) and *head for HEAD, or
 * the HTTP status to answer (400, 404, 405). */
int http_parse_request(const char *req, int *fmt, bool *head);

#endif
