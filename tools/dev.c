// SPDX-License-Identifier: GPL-2.0
/*
 * Metadata devices and image files, in 4 KiB blocks.
 *
 * Block devices are opened O_DIRECT: the module writes its metadata with
 * bios, past the block device's page cache, so buffered reads could return
 * what the cache held from before. An image in memory stands in for a file
 * in the unit tests and the fuzz target.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clonemd.h"

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(EXIT_FAILED);
	}
	return p;
}

void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(EXIT_FAILED);
	}
	return p;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xrealloc(NULL, n), s, n);
}

void *xalloc_blocks(size_t n)
{
	void *p;

	if (posix_memalign(&p, CLONE_BLOCK_SIZE, (n ? n : 1) * CLONE_BLOCK_SIZE)) {
		fprintf(stderr, "out of memory\n");
		exit(EXIT_FAILED);
	}
	memset(p, 0, (n ? n : 1) * CLONE_BLOCK_SIZE);
	return p;
}

static void set_size(struct dev *d, uint64_t size)
{
	d->size = size;
	d->blocks = size / CLONE_BLOCK_SIZE;
}

void dev_open_mem(struct dev *d, const void *mem, size_t size)
{
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->path = "(memory)";
	d->mem = mem;
	d->fail_block_from = -1;
	set_size(d, size);
}

int open_bdev(const char *path, int flags, int *busy)
{
	int fd = open(path, flags | O_EXCL);

	if (fd < 0 && errno == EBUSY && busy) {
		*busy = 1;
		fd = open(path, flags);
	}
	return fd;
}

int dev_open(struct dev *d, const char *path, int mode, uint64_t create_size)
{
	int flags = mode == DEV_READ ? O_RDONLY : O_RDWR;
	struct stat st;
	uint64_t size;

	memset(d, 0, sizeof(*d));
	d->path = path;
	d->fail_block_from = -1;
	if (stat(path, &st) < 0) {
		if (errno != ENOENT || mode != DEV_CREATE)
			return -1;
		d->fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
		if (d->fd < 0)
			return -1;
		if (ftruncate(d->fd, (off_t)create_size) < 0) {
			close(d->fd);
			return -1;
		}
		set_size(d, create_size);
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		/* never write under a running clone; say so when only reading */
		int *busy = mode == DEV_READ ? &d->busy : NULL;

		d->is_bdev = 1;
		d->fd = open_bdev(path, flags | O_DIRECT, busy);
		if (d->fd < 0 && errno == EINVAL)	/* no O_DIRECT */
			d->fd = open_bdev(path, flags, busy);
		if (d->fd < 0)
			return -1;
		if (ioctl(d->fd, BLKGETSIZE64, &size) < 0) {
			close(d->fd);
			return -1;
		}
	} else if (S_ISREG(st.st_mode)) {
		d->fd = open(path, flags);
		if (d->fd < 0)
			return -1;
		size = (uint64_t)st.st_size;
	} else {
		errno = ENOTBLK;	/* see open_error() */
		return -1;
	}
	set_size(d, size);
	return 0;
}

void open_error(const char *path, int writing, const char *prog)
{
	if (errno == EBUSY && writing)
		fprintf(stderr, "%s: %s is in use (a live clone table?); deactivate it first\n",
			prog, path);
	else if (errno == ENOTBLK)
		fprintf(stderr, "%s: %s is not a block device or regular file\n", prog, path);
	else
		fprintf(stderr, "%s: cannot open %s%s: %s\n", prog, path,
			writing ? " for writing" : "", strerror(errno));
}

void dev_close(struct dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* pread all of @len, or fail (a short read at the end counts as failure) */
static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t r = pread(fd, buf, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		buf = (uint8_t *)buf + r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

void dev_read(struct dev *d, uint64_t first, size_t n, void *buf,
	      const char **why)
{
	uint8_t *p = buf;
	size_t have = 0, i;

	if (first < d->blocks)
		have = d->blocks - first < n ? (size_t)(d->blocks - first) : n;
	for (i = have; i < n; i++) {
		why[i] = "past the end of the device";
		memset(p + i * CLONE_BLOCK_SIZE, 0, CLONE_BLOCK_SIZE);
	}
	for (i = 0; i < have; i++)
		why[i] = NULL;
	if (!have)
		return;
	if (d->mem) {
		memcpy(p, d->mem + first * CLONE_BLOCK_SIZE,
		       have * CLONE_BLOCK_SIZE);
	} else if (read_full(d->fd, p, have * CLONE_BLOCK_SIZE,
			     first * CLONE_BLOCK_SIZE) < 0) {
		/* one bad sector should cost one block, not the whole chunk */
		for (i = 0; i < have; i++)
			if (read_full(d->fd, p + i * CLONE_BLOCK_SIZE,
				      CLONE_BLOCK_SIZE,
				      (first + i) * CLONE_BLOCK_SIZE) < 0)
				why[i] = "unreadable (I/O error)";
	}
	for (i = 0; i < have; i++)
		if (d->fail_block_from >= 0 &&
		    first + i >= (uint64_t)d->fail_block_from &&
		    (d->fail_block_to <= 0 || first + i < (uint64_t)d->fail_block_to))
			why[i] = "unreadable (I/O error)";
}

int dev_write(struct dev *d, uint64_t first, size_t n, const void *buf)
{
	const uint8_t *p = buf;
	size_t len = n * CLONE_BLOCK_SIZE;
	uint64_t off = first * CLONE_BLOCK_SIZE;

	if (d->fail_write_from > 0 && ++d->writes >= d->fail_write_from) {
		errno = EIO;
		return -1;
	}
	while (len) {
		ssize_t r = pwrite(d->fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ENOSPC;
			return -1;
		}
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int dev_sync(struct dev *d)
{
	return fsync(d->fd);
}

/* stat() @path, or @fd for "-" (standard input or output) */
static int stat_arg(const char *path, int fd, struct stat *st)
{
	return path && strcmp(path, "-") ? stat(path, st) : fstat(fd, st);
}

int same_file(const char *in, const char *out)
{
	struct stat sa, sb;

	if (stat_arg(in, STDIN_FILENO, &sa) < 0 ||
	    stat_arg(out, STDOUT_FILENO, &sb) < 0)
		return 0;
	if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode))
		return sa.st_rdev == sb.st_rdev;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
