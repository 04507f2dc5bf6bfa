// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "opts.h"

#define OPTS_MAX	64
#define HELP_COL	25

int parse_seconds(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	/* plain decimal only: no sign, blanks, hex floats, inf or nan */
	if (!s || !(*s == '.' || (*s >= '0' && *s <= '9')) ||
	    strspn(s, "0123456789.eE+-") != strlen(s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_long(const char *s, long min, long max, long *out)
{
	const char *digits = s && *s == '-' && min < 0 ? s + 1 : s;
	char *end;
	long v;

	/* decimal digits only: no blanks, '+', or "-0" where no sign fits */
	if (!digits || !*digits || strspn(digits, "0123456789") != strlen(digits))
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

const struct opt_spec *opts_find(const struct opt_table *t, const char *name)
{
	int i;

	for (i = 0; i < t->nr; i++)
		if (!strcmp(t->specs[i].name, name))
			return &t->specs[i];
	return NULL;
}

static void *field(const struct opt_spec *s, void *out)
{
	return (char *)out + s->off;
}

static int set_value(const struct opt_spec *s, const char *arg, void *out)
{
	long l;

	switch (s->kind) {
	case OPT_FLAG:
		*(bool *)field(s, out) = true;
		return 0;
	case OPT_SECONDS:
		return parse_seconds(arg, s->min, s->max, field(s, out));
	case OPT_LONG:
		if (!arg) {
			*(long *)field(s, out) = s->implied;
			return 0;
		}
		if (parse_long(arg, (long)s->min, (long)s->max, &l))
			return -EINVAL;
		*(long *)field(s, out) = l;
		return 0;
	case OPT_INT:
		if (parse_long(arg, (long)s->min, (long)s->max, &l))
			return -EINVAL;
		*(int *)field(s, out) = (int)l;
		return 0;
	case OPT_STRING:
		*(const char **)field(s, out) = arg;
		return 0;
	case OPT_CUSTOM:
		return s->parse(arg, field(s, out));
	case OPT_MODE:
		*(int *)field(s, out) = (int)s->implied;
		return 0;
	}
	return -EINVAL;
}

static void build_getopt(const struct opt_table *t, struct option *lo,
			 char *so)
{
	int i, n = 0;

	*so++ = ':';	/* report a missing value as ':' */
	for (i = 0; i < t->nr; i++) {
		const struct opt_spec *s = &t->specs[i];

		lo[i] = (struct option){ s->name,
			!s->metavar ? no_argument :
			s->optional ? optional_argument : required_argument,
			NULL, 256 + i };
		if (!s->short_name)
			continue;
		so[n++] = s->short_name;
		if (s->metavar)
			so[n++] = ':';
		if (s->metavar && s->optional)
			so[n++] = ':';
	}
	lo[i++] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[i] = (struct option){ 0 };
	so[n++] = 'h';
	so[n] = '\0';
}

static int spec_index(const struct opt_table *t, int c)
{
	int i;

	if (c >= 256 && c < 256 + t->nr)
		return c - 256;
	for (i = 0; i < t->nr; i++)
		if (t->specs[i].short_name && t->specs[i].short_name == c)
			return i;
	return -1;
}

static void mode_words(const struct opt_table *t, unsigned modes, char *buf,
		       size_t len)
{
	size_t n = 0;
	int m, words = 0;

	buf[0] = '\0';
	for (m = 0; m < 32 && n < len; m++) {
		if (!(modes & (1u << m)) || !t->mode_names || !t->mode_names[m])
			continue;
		n += snprintf(buf + n, len - n, "%s--%s", words++ ? " or " : "",
			      t->mode_names[m]);
	}
}

/* Each option given must belong to the chosen mode. */
static int check_modes(const struct opt_table *t, const bool *seen, void *out,
		       char *err, size_t len)
{
	const struct opt_spec *mode_spec = NULL;
	char words[64];
	int i, mode;

	for (i = 0; i < t->nr; i++)
		if (t->specs[i].kind == OPT_MODE)
			mode_spec = &t->specs[i];
	if (!mode_spec)
		return 0;
	mode = *(int *)field(mode_spec, out);
	if (!mode)
		return 0;
	for (i = 0; i < t->nr; i++) {
		const struct opt_spec *s = &t->specs[i];

		if (!seen[i] || !s->modes || (s->modes & (1u << mode)))
			continue;
		mode_words(t, s->modes, words, sizeof(words));
		snprintf(err, len, "--%s needs %s", s->name, words);
		return -1;
	}
	return 0;
}

#define BAD(...) do { snprintf(err, len, __VA_ARGS__); return -1; } while (0)

int opts_parse(const struct opt_table *t, int argc, char **argv, void *out,
	       char *err, size_t len)
{
	return opts_parse_args(t, argc, argv, out, NULL, 0, err, len);
}

int opts_parse_args(const struct opt_table *t, int argc, char **argv,
		    void *out, const char **args, int nr_args, char *err,
		    size_t len)
{
	struct option lo[OPTS_MAX + 2];
	char so[3 * OPTS_MAX + 3];
	bool seen[OPTS_MAX] = { false };
	bool mode_seen = false;
	int c, i;

	if (t->nr > OPTS_MAX)
		BAD("internal: too many options");
	build_getopt(t, lo, so);
	optind = 0;	/* glibc: full reset, incl. a half-read "-xj" group */
	opterr = 0;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		const struct opt_spec *s;

		if (c == 'h')
			return OPTS_HELP;
		if (c == ':')
			BAD("option '%s' needs a value", argv[optind - 1]);
		i = spec_index(t, c);
		if (i < 0) {
			/* inside a group ("-xj") optind has not moved on:
			 * name the character, not the previous argument */
			if (optopt > 0 && optopt < 128 && !strchr(so, optopt))
				BAD("unknown option '-%c'", optopt);
			BAD("unknown option '%s'", argv[optind - 1]);
		}
		s = &t->specs[i];
		if (s->kind == OPT_MODE && mode_seen)
			BAD("only one mode at a time (--%s)", s->name);
		mode_seen |= s->kind == OPT_MODE;
		if (set_value(s, optarg, out))
			BAD("invalid value '%s' for --%s%s%s", optarg, s->name,
			    s->metavar ? " " : "", s->metavar ? s->metavar : "");
		seen[i] = true;
	}
	for (i = 0; i < nr_args; i++) {
		if (optind >= argc)
			BAD("missing argument");
		args[i] = argv[optind++];
	}
	if (optind < argc)
		BAD("unexpected argument '%s'", argv[optind]);
	return check_modes(t, seen, out, err, len);
}

static void print_help(const char *help, int col, FILE *f)
{
	const char *nl;

	if (col > HELP_COL - 2) {
		fputc('\n', f);
		col = 0;
	}
	for (;;) {
		fprintf(f, "%*s", HELP_COL - col, "");
		nl = strchr(help, '\n');
		if (!nl) {
			fprintf(f, "%s\n", help);
			return;
		}
		fprintf(f, "%.*s\n", (int)(nl - help), help);
		help = nl + 1;
		col = 0;
	}
}

void opts_usage(const struct opt_table *t, unsigned modes, FILE *f)
{
	int i, col;

	for (i = 0; i < t->nr; i++) {
		const struct opt_spec *s = &t->specs[i];

		if (s->modes != modes || s->kind == OPT_MODE)
			continue;
		col = s->short_name ? fprintf(f, "  -%c, ", s->short_name) :
				      fprintf(f, "      ");
		col += fprintf(f, "--%s", s->name);
		if (s->metavar)
			col += fprintf(f, s->optional ? "[=%s]" : " %s",
				       s->metavar);
		print_help(s->help, col, f);
	}
	if (!modes)
		print_help("this help", fprintf(f, "  -h, --help"), f);
}
