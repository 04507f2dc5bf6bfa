// SPDX-License-Identifier: GPL-2.0
/* Kernel address -> symbol, from /proc/kallsyms. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ksyms.h"

struct ksyms {
	struct ksym *syms;
	size_t nr;
	size_t cap;
	char *strs;		/* one arena for every name and module */
	size_t strs_len;
	size_t strs_cap;
};

/*
 * While loading, the arena moves as it grows, so sym->name holds the
 * arena offset of the name and sym->module the offset + 1 (0 = vmlinux);
 * ksyms_fixup() turns both into pointers once the arena is final.
 */
#define OFF_TO_PTR(off)		((const char *)(uintptr_t)(off))
#define PTR_TO_OFF(ptr)		((size_t)(uintptr_t)(ptr))

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 4096;
	void *tmp;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	tmp = realloc(*buf, n * elem);
	if (!tmp)
		return -ENOMEM;
	*buf = tmp;
	*cap = n;
	return 0;
}

/* Copy @s into the arena; returns its offset or (size_t)-1. */
static size_t add_str(struct ksyms *ks, const char *s)
{
	size_t len = strlen(s) + 1, off = ks->strs_len;

	if (grow((void **)&ks->strs, &ks->strs_cap, off + len, 1))
		return (size_t)-1;
	memcpy(ks->strs + off, s, len);
	ks->strs_len += len;
	return off;
}

/* Module offset + 1, reusing the previous line's copy (modules are contiguous). */
static size_t add_module(struct ksyms *ks, const char *mod, size_t *last)
{
	size_t off;

	if (!mod)
		return 0;
	if (*last && !strcmp(ks->strs + *last - 1, mod))
		return *last;
	off = add_str(ks, mod);
	if (off == (size_t)-1)
		return off;
	*last = off + 1;
	return *last;
}

static int add_sym(struct ksyms *ks, unsigned long addr, const char *name,
		   const char *mod, size_t *last_mod)
{
	size_t name_off, mod_off;
	struct ksym *sym;

	if (grow((void **)&ks->syms, &ks->cap, ks->nr + 1, sizeof(*ks->syms)))
		return -ENOMEM;
	name_off = add_str(ks, name);
	if (name_off == (size_t)-1)
		return -ENOMEM;
	mod_off = add_module(ks, mod, last_mod);
	if (mod_off == (size_t)-1)
		return -ENOMEM;
	sym = &ks->syms[ks->nr++];
	sym->addr = addr;
	sym->name = OFF_TO_PTR(name_off);
	sym->module = OFF_TO_PTR(mod_off);
	return 0;
}

static int is_text(char type)
{
	return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

/*
 * Split "ffffffff81000000 T name\t[module]\n" in place. Returns 0 for a
 * text symbol with a non-zero address, -1 for anything else.
 */
static int parse_line(char *line, unsigned long *addr, char **name, char **mod)
{
	char *p, *end, sep;

	*addr = strtoul(line, &p, 16);
	if (p == line || p[0] != ' ' || !p[1] || p[2] != ' ')
		return -1;
	if (!is_text(p[1]) || !*addr)
		return -1;
	*name = p + 3;
	end = *name + strcspn(*name, " \t\n");
	if (end == *name)
		return -1;
	sep = *end;
	*end = '\0';
	*mod = NULL;
	if (sep != '\t' && sep != ' ')
		return 0;
	p = end + 1 + strspn(end + 1, " \t");
	end = strchr(p, ']');
	if (*p == '[' && end) {
		*end = '\0';
		*mod = p + 1;
	}
	return 0;
}

/* Address, then arena position (= file order, since names are appended). */
static int sym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->name != y->name)
		return PTR_TO_OFF(x->name) < PTR_TO_OFF(y->name) ? -1 : 1;
	return 0;
}

static void ksyms_fixup(struct ksyms *ks)
{
	size_t i, off;

	for (i = 0; i < ks->nr; i++) {
		ks->syms[i].name = ks->strs + PTR_TO_OFF(ks->syms[i].name);
		off = PTR_TO_OFF(ks->syms[i].module);
		ks->syms[i].module = off ? ks->strs + off - 1 : NULL;
	}
}

static int read_syms(struct ksyms *ks, FILE *f)
{
	size_t line_cap = 0, last_mod = 0;
	char *line = NULL, *name, *mod;
	unsigned long addr;
	int err = 0;

	while (!err && getline(&line, &line_cap, f) > 0) {
		if (parse_line(line, &addr, &name, &mod))
			continue;
		err = add_sym(ks, addr, name, mod, &last_mod);
	}
	if (!err && ferror(f))
		err = -EIO;
	free(line);
	return err;
}

struct ksyms *ksyms_load(const char *path)
{
	struct ksyms *ks;
	FILE *f;
	int err;

	f = fopen(path ? path : "/proc/kallsyms", "re");
	if (!f)
		return NULL;
	ks = calloc(1, sizeof(*ks));
	err = ks ? read_syms(ks, f) : -ENOMEM;
	fclose(f);
	if (err) {
		ksyms_free(ks);
		errno = -err;
		return NULL;
	}
	qsort(ks->syms, ks->nr, sizeof(*ks->syms), sym_cmp);
	ksyms_fixup(ks);
	return ks;
}

const struct ksym *ksyms_search(const struct ksyms *ks, unsigned long addr)
{
	size_t lo = 0, hi, mid;

	if (!ks || !ks->nr)
		return NULL;
	/* first index with sym->addr > addr */
	hi = ks->nr;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	/* first alias at that address */
	while (lo > 1 && ks->syms[lo - 2].addr == ks->syms[lo - 1].addr)
		lo--;
	return &ks->syms[lo - 1];
}

unsigned long ksyms_addr(const struct ksyms *ks, const char *name)
{
	size_t i;

	if (!ks || !name)
		return 0;
	for (i = 0; i < ks->nr; i++)
		if (!strcmp(ks->syms[i].name, name))
			return ks->syms[i].addr;
	return 0;
}

int ksyms_format(const struct ksyms *ks, unsigned long addr, char *buf, size_t len)
{
	const struct ksym *sym;
	char off[24] = "";

	if (!addr)
		return snprintf(buf, len, "-");
	sym = ksyms_search(ks, addr);
	if (!sym)
		return snprintf(buf, len, "0x%lx", addr);
	if (addr != sym->addr)
		snprintf(off, sizeof(off), "+0x%lx", addr - sym->addr);
	if (sym->module)
		return snprintf(buf, len, "%s%s [%s]", sym->name, off, sym->module);
	return snprintf(buf, len, "%s%s", sym->name, off);
}

void ksyms_free(struct ksyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->strs);
	free(ks);
}
