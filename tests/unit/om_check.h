/* SPDX-License-Identifier: GPL-2.0 */
/* A strict OpenMetrics exposition check for the unit tests (test_emit.c,
 * test_host_report.c): names, suffixes per type, labels, cumulative
 * buckets, _count == +Inf, one TYPE per family, # EOF at the end. */
#ifndef __IPT_OM_CHECK_H
#define __IPT_OM_CHECK_H

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct om_check {
	char family[128];
	char type[16];
	char seen[64][128];	/* families, each once */
	int nr_seen;
	double last_le, last_bucket, inf_bucket;
	bool samples;
};

static bool om_name(const char *p, size_t n)
{
	size_t i;

	if (!n || !(isalpha((unsigned char)p[0]) || p[0] == '_' || p[0] == ':'))
		return false;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)p[i]) || p[i] == '_' || p[i] == ':'))
			return false;
	return true;
}

/* {k="v",...}: returns the end, NULL if malformed; the le value in @le */
static const char *om_labels(const char *p, char *le, size_t lelen)
{
	le[0] = 0;
	if (*p != '{')
		return p;
	p++;
	while (*p != '}') {
		const char *k = p, *v;
		size_t n = 0;

		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		if (!om_name(k, p - k) || *p++ != '=' || *p++ != '"')
			return NULL;
		v = p;
		while (*p != '"') {
			if (!*p || *p == '\n')
				return NULL;
			if (*p == '\\' && !strchr("\\\"n", *++p))
				return NULL;
			p++;
		}
		if (p - k > 3 && !strncmp(k, "le=", 3)) {
			n = (size_t)(p - v) < lelen - 1 ? (size_t)(p - v) : lelen - 1;
			memcpy(le, v, n);
			le[n] = 0;
		}
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return NULL;
	}
	return p + 1;
}

static const char *om_fail(const char *why, const char *line)
{
	static char msg[256];

	snprintf(msg, sizeof(msg), "%s at: %.80s", why, line);
	return msg;
}

/* NULL when @s is a valid exposition of counters and histograms, else why */
static const char *om_validate(const char *s)
{
	struct om_check c = { .nr_seen = 0 };
	const char *line = s, *eof = strstr(s, "# EOF\n");
	int i;

	if (!eof || eof[6] || (eof != s && eof[-1] != '\n'))
		return "no '# EOF' line at the very end";
	while (line < eof) {
		const char *nl = strchr(line, '\n'), *p;
		char name[128], le[64], suffix[16] = "";
		size_t n;
		double v;
		char *end;

		if (!strncmp(line, "# TYPE ", 7)) {
			if (sscanf(line, "# TYPE %127s %15s", c.family, c.type) != 2 ||
			    !om_name(c.family, strlen(c.family)) ||
			    (strcmp(c.type, "counter") && strcmp(c.type, "histogram") &&
			     strcmp(c.type, "gauge")))
				return om_fail("bad TYPE", line);
			for (i = 0; i < c.nr_seen; i++)
				if (!strcmp(c.seen[i], c.family))
					return om_fail("family twice", line);
			if (c.nr_seen == 64)
				return om_fail("too many families for the check", line);
			strcpy(c.seen[c.nr_seen++], c.family);
			c.samples = false;
			c.last_le = -1;
			c.last_bucket = 0;
			c.inf_bucket = -1;
		} else if (!strncmp(line, "# UNIT ", 7) || !strncmp(line, "# HELP ", 7)) {
			if (c.samples || strncmp(line + 7, c.family, strlen(c.family)) ||
			    line[7 + strlen(c.family)] != ' ')
				return om_fail("UNIT/HELP not of this family, or late", line);
		} else if (line[0] == '#') {
			return om_fail("unknown comment", line);
		} else {
			p = line;
			while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
				p++;
			n = p - line;
			if (!c.family[0] || n >= sizeof(name) ||
			    strncmp(line, c.family, strlen(c.family)))
				return om_fail("sample outside its family", line);
			memcpy(name, line, n);
			name[n] = 0;
			snprintf(suffix, sizeof(suffix), "%s", name + strlen(c.family));
			if (!strcmp(c.type, "counter") ? strcmp(suffix, "_total") :
			    !strcmp(c.type, "histogram") ?
			    strcmp(suffix, "_bucket") && strcmp(suffix, "_count") &&
			    strcmp(suffix, "_sum") : suffix[0] != 0)
				return om_fail("bad suffix for the type", line);
			p = om_labels(p, le, sizeof(le));
			if (!p || *p++ != ' ')
				return om_fail("bad labels", line);
			v = strtod(p, &end);
			if (end == p || end != nl || v < 0)
				return om_fail("bad value", line);
			if (!strcmp(suffix, "_bucket")) {
				double l = !strcmp(le, "+Inf") ? 1e308 : strtod(le, NULL);

				if (!le[0])
					return om_fail("bucket without le", line);
				if (c.last_le >= 0 && l <= c.last_le && c.last_le < 1e308)
					return om_fail("le not increasing", line);
				if (c.last_le < 1e308 && v < c.last_bucket)
					return om_fail("buckets not cumulative", line);
				c.last_le = l;
				c.last_bucket = v;
				if (l >= 1e308)
					c.inf_bucket = v;
			} else if (!strcmp(suffix, "_count")) {
				if (c.inf_bucket != v)
					return om_fail("_count is not the +Inf bucket", line);
				c.last_le = -1;
				c.last_bucket = 0;
			}
			c.samples = true;
		}
		line = nl + 1;
	}
	return NULL;
}

#endif
