/* SPDX-License-Identifier: GPL-2.0 */
/* A scrape endpoint. It knows nothing of modes: a scrape is whatever the
 * mode's scrape function emits (metric families, see emit.h), rendered in
 * the OpenMetrics format for scrapers that ask for it (Accept), else in
 * Prometheus' text format 0.0.4. The HTTP side runs in its own thread
 * (http_server.c); the trace loop renders only when a client waits. */
#ifndef __IPT_METRICS_H
#define __IPT_METRICS_H

#include <stdio.h>
#include "emit.h"

struct metrics_server;

/* Emits the families of one scrape (cumulative values). */
typedef void (*metrics_scrape_fn)(struct emitter *e, void *ctx);

/* "PORT", "ADDR:PORT" or "[V6ADDR]:PORT"; NULL with a message on @err. */
struct metrics_server *metrics_listen(const char *spec, FILE *err);
void metrics_close(struct metrics_server *s);
/* Wait up to @timeout_ms for scrapes and serve them. */
void metrics_poll(struct metrics_server *s, int timeout_ms,
		  metrics_scrape_fn scrape, void *ctx);
int metrics_port(const struct metrics_server *s);
/* The body of one scrape in back end @be's format, malloc'd; NULL if out
 * of memory. */
char *metrics_render(const struct emit_backend *be, metrics_scrape_fn scrape,
		     void *ctx, size_t *len);

#endif
