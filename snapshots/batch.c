/*
 * batch.c - files written without waiting, made durable together (see
 * batch.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"

static int
grow(struct batch *b, struct snap_err *err)
{
	struct fsu_tmp *m;
	size_t cap = b->cap ? b->cap * 2 : 8;

	if (b->n < b->cap)
		return 0;
	if ((m = realloc(b->m, cap * sizeof(*m))) == NULL)
		return snap_err_set(err, "out of memory");
	b->m = m;
	b->cap = cap;
	return 0;
}

/* Starts t's write-back now, so that it runs while the next file is
 * written and the first fsync finds it allocated (and commits it). */
static void
start_writeback(const struct fsu_tmp *t)
{
	(void)sync_file_range(t->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

int
batch_add(struct batch *b, struct fsu_tmp *t, struct snap_err *err)
{
	if (grow(b, err) == -1) {
		fsu_tmp_abort(t);
		return -1;
	}
	if (!b->use_syncfs)
		start_writeback(t);
	b->m[b->n++] = *t;
	*t = (struct fsu_tmp)FSU_TMP_INIT;
	return 0;
}

int
batch_add_fd(struct batch *b, int fd, const char *what, struct snap_err *err)
{
	struct fsu_tmp t = FSU_TMP_INIT;

	t.fd = fd;
	/* No temp name: batch_rename() only closes it. */
	snprintf(t.final, sizeof(t.final), "%s", what);
	return batch_add(b, &t, err);
}

void
batch_syncfs(struct batch *b, int fd)
{
	b->use_syncfs = true;
	b->syncfs_fd = fd;
}

/* Whether fd's file lives on the file system of dev (already synced). */
static bool
on_device(int fd, dev_t dev)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_dev == dev;
}

int
batch_sync(struct batch *b, struct snap_err *err)
{
	struct stat fs;
	size_t i;

	if (b->use_syncfs && (fstat(b->syncfs_fd, &fs) == -1 ||
	    syncfs(b->syncfs_fd) == -1))
		return snap_err_sys(err, errno, "syncfs");
	/* After a syncfs, an fsync of a file it covered only flushes the
	 * device cache once more. */
	for (i = b->done; i < b->n; i++)
		if (!(b->use_syncfs && on_device(b->m[i].fd, fs.st_dev)) &&
		    fsync(b->m[i].fd) == -1)
			return snap_err_sys(err, errno, "%s: fsync",
			    b->m[i].final);
	return 0;
}

int
batch_rename(struct batch *b, size_t upto, struct snap_err *err)
{
	struct fsu_tmp *t;
	int rc;

	for (; b->done < upto && b->done < b->n; b->done++) {
		t = &b->m[b->done];
		rc = close(t->fd);
		t->fd = -1;
		if (rc == -1)
			return snap_err_sys(err, errno, "%s: close", t->final);
		if (t->tmp[0] == '\0')
			continue;
		if (renameat(t->dirfd, t->tmp, t->dirfd, t->final) == -1)
			return snap_err_sys(err, errno, "%s: rename", t->final);
		t->tmp[0] = '\0';
	}
	return 0;
}

void
batch_free(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		fsu_tmp_abort(&b->m[i]);
	free(b->m);
	*b = (struct batch)BATCH_INIT;
}
