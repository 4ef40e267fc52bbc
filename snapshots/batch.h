/*
 * batch.h - files written without waiting, made durable together.
 *
 * An fsync after each write costs a journal commit per file. A batch
 * starts each member's write-back as it is added and fsyncs them all at
 * the end: on a journaling file system (ext4, xfs) the first fsync
 * commits every member's blocks in one transaction and the others find
 * theirs committed - one commit for the batch. Each member still gets its
 * own fsync, so the guarantee is the same on any file system (NFS
 * included); only the cost differs.
 *
 * Members are temp files (struct fsu_tmp: renamed over their final names
 * by batch_rename(), after batch_sync()) or plain files already at their
 * place (batch_add_fd(): only closed). Directories are the caller's to
 * fsync, once, after the renames that changed them.
 */
#ifndef BATCH_H
#define BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "fsutil.h"

struct batch {
	struct fsu_tmp *m;	/* members, in the order added */
	size_t n, cap;
	size_t done;		/* members before this one are renamed/closed */
	bool use_syncfs;	/* syncfs() syncfs_fd's file system first */
	int syncfs_fd;
};

/* All zero is an empty batch too (a member of a zeroed struct). */
#define BATCH_INIT { NULL, 0, 0, 0, false, -1 }

/* Adds temp file t, written in full; the batch owns it from now on (*t is
 * reset), even when this fails. */
int batch_add(struct batch *b, struct fsu_tmp *t, struct snap_err *err);
/* Adds plain file fd, named `what` in errors; the batch owns fd from now
 * on, even when this fails. */
int batch_add_fd(struct batch *b, int fd, const char *what,
    struct snap_err *err);
/* For a batch too big to fsync file by file: batch_sync() calls syncfs()
 * on fd's file system, and fsyncs only the members that live elsewhere. */
void batch_syncfs(struct batch *b, int fd);
/* Makes every member durable: 0, or -1 naming the first that failed. */
int batch_sync(struct batch *b, struct snap_err *err);
/* Closes members up to (not including) index `upto` that are still open,
 * renaming the temps among them over their final names, in order. Only
 * after batch_sync(). */
int batch_rename(struct batch *b, size_t upto, struct snap_err *err);
/* Closes what is still open, removes the temps never renamed, frees. */
void batch_free(struct batch *b);

#endif
