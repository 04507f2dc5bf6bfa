/* SPDX-License-Identifier: GPL-2.0 */
/* Reading files a user names (--btf, --sysfs-root) without trusting them:
 * regular files only (a FIFO would block, a device never end), bounded. */
#ifndef __IPT_FILES_H
#define __IPT_FILES_H

#include <stddef.h>

/* 0 when @path is a readable regular file, else -errno: -EISDIR for a
 * directory, -EINVAL for another non-regular file (FIFO, device, socket). */
int check_regular_file(const char *path);
/* Read at most @max bytes of a regular file into a NUL-terminated malloc'ed
 * buffer. -EFBIG when it holds more, -EINVAL when it is not a regular file
 * (opened non-blocking, so a FIFO cannot hang it). */
int read_small_file(const char *path, size_t max, char **out);
/* "not a regular file" for -EINVAL, else strerror */
const char *file_strerror(int err);

#endif
