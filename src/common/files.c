// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "files.h"

static int regular(const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	return S_ISREG(st->st_mode) ? 0 : -EINVAL;
}

int check_regular_file(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (regular(&st))
		return regular(&st);
	return access(path, R_OK) ? -errno : 0;
}

static int read_all(int fd, size_t max, char *buf)
{
	size_t len = 0;
	ssize_t n;

	/* one byte past max tells a file that is too long */
	while (len <= max && (n = read(fd, buf + len, max + 1 - len)) > 0)
		len += n;
	if (n < 0)
		return -errno;
	if (len > max)
		return -EFBIG;
	buf[len] = '\0';
	return 0;
}

int read_small_file(const char *path, size_t max, char **out)
{
	struct stat st;
	char *buf;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	err = fstat(fd, &st) ? -errno : regular(&st);
	buf = err ? NULL : malloc(max + 2);
	if (!err && !buf)
		err = -ENOMEM;
	if (!err)
		err = read_all(fd, max, buf);
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	return 0;
}

const char *file_strerror(int err)
{
	return err == -EINVAL ? "not a regular file" : strerror(-err);
}
