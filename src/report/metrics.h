/* SPDX-License-Identifier: GPL-2.0 */
/* A scrape endpoint: OpenMetrics text over a minimal single-threaded HTTP
 * server polled from the trace loop. */
#ifndef __IPT_METRICS_H
#define __IPT_METRICS_H

#include <stdio.h>
#include <linux/types.h>
#include "agg.h"
#include "output.h"

struct metrics_server;

/* Writes the exposition for one scrape. */
typedef void (*metrics_render_fn)(FILE *f, void *ctx);

/* "PORT", "ADDR:PORT" or "[V6ADDR]:PORT"; NULL with a message on @err. */
struct metrics_server *metrics_listen(const char *spec, FILE *err);
void metrics_close(struct metrics_server *s);
/* Wait up to @timeout_ms for scrapes and serve them. */
void metrics_poll(struct metrics_server *s, int timeout_ms,
		  metrics_render_fn render, void *ctx);
int metrics_port(const struct metrics_server *s);

/* The exposition of a guest-mode aggregation: latency histograms by kind
 * and NUMA class, and counters (cumulative values since start). */
void metrics_render_guest(FILE *f, const struct agg *a,
			  const struct named_count *counters, int nr_counters,
			  const struct named_count *lost, int nr_lost);

#endif
