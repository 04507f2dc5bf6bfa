/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel address -> symbol, from /proc/kallsyms. */
#ifndef __IPT_KSYMS_H
#define __IPT_KSYMS_H

#include <stddef.h>

struct ksym {
	unsigned long addr;
	const char *name;
	const char *module;	/* NULL for vmlinux */
};

struct ksyms;

/*
 * Load @path ("/proc/kallsyms" normally). Keeps text symbols (types
 * t, T, w, W) with a non-zero address, sorted by address; symbols at
 * the same address keep file order (the kernel lists the preferred
 * alias first). Without privileges kallsyms shows all-zero addresses,
 * which gives an empty (but valid) table. Returns NULL and sets errno
 * on failure.
 */
struct ksyms *ksyms_load(const char *path);

/*
 * Greatest symbol with sym->addr <= @addr (the first one listed when
 * several share that address), NULL if @addr is below the first symbol.
 */
const struct ksym *ksyms_search(const struct ksyms *ks, unsigned long addr);

/* Address of @name (the lowest if several), 0 if absent. */
unsigned long ksyms_addr(const struct ksyms *ks, const char *name);

/*
 * Format @addr into @buf as "func+0x1a", "func+0x1a [mod]" for module
 * symbols, "func" when @addr is the symbol's start, "0x..." when no
 * symbol covers it and "-" for 0. Returns what snprintf() returns.
 */
int ksyms_format(const struct ksyms *ks, unsigned long addr, char *buf, size_t len);

/* Free @ks; NULL is fine. */
void ksyms_free(struct ksyms *ks);

#endif
