/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Option tables: one row per option says its names, its value's type and
 * bounds, where it is stored, which modes take it and its help line. The
 * getopt tables, the parser, the mode checks and the usage text are all
 * derived from the rows, so help and parser cannot drift.
 */
#ifndef __IPT_OPTS_H
#define __IPT_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum opt_kind {
	OPT_FLAG,	/* bool = true */
	OPT_SECONDS,	/* double: plain decimal within [min, max] */
	OPT_LONG,	/* long: decimal digits (a '-' only when min < 0) */
	OPT_INT,	/* int: as OPT_LONG */
	OPT_STRING,	/* const char *, as given */
	OPT_CUSTOM,	/* parse(arg, field) */
	OPT_MODE,	/* int field = mode; at most one mode option */
};

struct opt_spec {
	const char *name;	/* long name, without "--" */
	char short_name;	/* 0: long only */
	enum opt_kind kind;
	const char *metavar;	/* NULL: takes no value */
	bool optional;		/* value optional ("--callers[=N]") */
	size_t off;		/* offsetof the field in the options struct */
	double min, max;	/* OPT_SECONDS, OPT_LONG bounds */
	long implied;		/* OPT_LONG with an optional value: when absent;
				 * OPT_MODE: the mode's value */
	unsigned modes;		/* bit (1 << mode) of the modes taking it; 0: all */
	int (*parse)(const char *arg, void *field);	/* OPT_CUSTOM */
	const char *help;	/* "\n" continues on an indented line */
};

struct opt_table {
	const char *prog;	/* "ipitrace", "ipitrace bench": error prefix */
	const struct opt_spec *specs;
	int nr;
	const char *const *mode_names;	/* [mode] "guest" ..., for messages */
};

#define OPTS_HELP	1

/* Parse argv into @out. Returns 0, OPTS_HELP (-h seen: nothing printed) or
 * -1 with a message in @err. Options outside the chosen mode (the
 * OPT_MODE field, read after parsing) are refused with their mode named. */
int opts_parse(const struct opt_table *t, int argc, char **argv, void *out,
	       char *err, size_t len);
/* The same, with exactly @nr_args positional arguments into args[]. */
int opts_parse_args(const struct opt_table *t, int argc, char **argv,
		    void *out, const char **args, int nr_args, char *err,
		    size_t len);
/* "  -d, --duration SEC     help" lines for the rows of @modes (0: rows
 * that every mode takes). */
void opts_usage(const struct opt_table *t, unsigned modes, FILE *f);
/* The row for @name, or NULL. */
const struct opt_spec *opts_find(const struct opt_table *t, const char *name);

/* Strict numbers: the whole string, finite, within [min, max]. */
int parse_seconds(const char *s, double min, double max, double *out);
int parse_long(const char *s, long min, long max, long *out);

#endif
