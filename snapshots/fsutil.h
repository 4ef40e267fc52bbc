/*
 * fsutil.h - the file-system primitives every durable write goes through.
 *
 * One rule for anything that matters: write a temp file in the same
 * directory, fsync it, close it, rename it over the final name, fsync the
 * directory. fsu_tmp_* is that sequence for streamed writes;
 * fsu_write_atomic() is the whole of it for a buffer.
 *
 * All paths are relative to a directory fd (the *at() calls), so that a
 * caller that opened its root once cannot be redirected by a rename above it.
 * The root itself is the operator's (fsu_open_root: a symlink there is
 * followed, as the shell would); below it nothing is: a path relative to
 * any dirfd but AT_FDCWD is opened as beneath.h says, never through a
 * symlink in any component.
 */
#ifndef FSUTIL_H
#define FSUTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "snap_err.h"
#include "timeutil.h"	/* fsu_now() and the RFC 3339 pair, once here */

struct fsu_tmp {
	int dirfd;		/* not owned */
	int fd;
	char tmp[300];
	char final[256];
};

#define FSU_TMP_INIT { -1, -1, "", "" }

/* Creates a temp file beside `name` in dirfd (".NAME.tmp-XXXXXX"). */
int fsu_tmp_open(struct fsu_tmp *t, int dirfd, const char *name,
    struct snap_err *err);
/* Creates `name` itself, which must not exist yet, where a writer that
 * needs no temp name (a batch member, batch.h, whose file no reader opens
 * before it is complete) writes: t->tmp stays empty, so that neither
 * batch_rename() nor fsu_tmp_abort() renames or removes it. */
int fsu_tmp_open_final(struct fsu_tmp *t, int dirfd, const char *name,
    struct snap_err *err);
/* fsync, close and rename the temp file over its final name. The caller
 * fsyncs the directory (once, after a batch). On failure the temp is gone. */
int fsu_tmp_commit(struct fsu_tmp *t, struct snap_err *err);
/* Closes and unlinks the temp file if it is still open; safe to repeat. */
void fsu_tmp_abort(struct fsu_tmp *t);

/*
 * Removes the temp files fsu_tmp_open() made in dirfd for `name` (for any
 * name when NULL) and a crash left there: regular files named exactly
 * ".NAME.tmp-XXXXXX". Call it only where no writer of ours can be between
 * fsu_tmp_open() and its commit (under the lock that keeps other writers of
 * dirfd away). Returns how many it removed.
 */
size_t fsu_tmp_sweep(int dirfd, const char *name);

/* Temp, write, fsync, rename, fsync dirfd: the whole atomic write. */
int fsu_write_atomic(int dirfd, const char *name, const void *buf, size_t len,
    struct snap_err *err);
/* The same, the file created with `mode` (0600 for a secret: it is never
 * readable by others, not even as a temp file). */
int fsu_write_atomic_mode(int dirfd, const char *name, const void *buf,
    size_t len, mode_t mode, struct snap_err *err);

/* Temp, write, close, rename: fsu_write_atomic() without its fsyncs. Only
 * for a file that is an optimisation and proves itself when read (a
 * checksum over all of it): after a crash it may be the one before, empty
 * or cut short, which its reader must refuse - never trusted as written. */
int fsu_write_unsynced(int dirfd, const char *name, const void *buf,
    size_t len, struct snap_err *err);

/* write(2) until all is written, retrying EINTR. 0 or -1 with errno set. */
int fsu_write_all(int fd, const void *buf, size_t len);

int fsu_fsync_dir(int dirfd, const char *what, struct snap_err *err);

/*
 * Creates name (one component: its folder is dirfd, opened once by the
 * caller, folders.h) in dirfd as a new file for writing (0644): an
 * existing one is unlinked first, never written through (a release being
 * patched may share its inode with a kept one). A fd, or -1 with errno.
 */
int fsu_create_new(int dirfd, const char *name);

/* 0 when fd is a regular file; -1 with err naming `name` otherwise. Open
 * with O_NONBLOCK first: a FIFO under a trusted name must not hang us. */
int fsu_check_regular(int fd, const char *name, struct snap_err *err);

/*
 * Reads all of dirfd/name into a malloc'ed, NUL-terminated buffer (*out,
 * owned by the caller). Refuses files over `max` bytes and anything that is
 * not a regular file. No symlink is followed: below a dirfd, in no
 * component (beneath.h); from AT_FDCWD (a path an operator gave), as the
 * last one. 0 or -1.
 */
int fsu_read_file(int dirfd, const char *name, size_t max, char **out,
    size_t *outlen, struct snap_err *err);
/* The same; with FSU_FOLLOW every symlink is followed (to a regular file
 * only: the source tree's symlinks, as WSO2 reads them, or a mounted
 * secret). With FSU_SECRET a file that group or others may access is
 * refused (fsu_check_private: "chmod 600"), and a buffer that held its bytes is zeroed before
 * it is freed on any failure (on success *out is the caller's to wipe). */
#define FSU_FOLLOW 1u
#define FSU_SECRET 2u
int fsu_read_file_flags(int dirfd, const char *name, size_t max,
    unsigned flags, char **out, size_t *outlen, struct snap_err *err);

/*
 * The one check of every secret artsync reads (signing keys, tokens): 0
 * when st, the status of path, gives group and others no access; else -1
 * with err "PATH: WHAT that others may read (mode 0640): chmod 600 PATH",
 * WHAT saying what it is ("a secret key").
 */
struct stat;
int fsu_check_private(const struct stat *st, const char *path,
    const char *what, struct snap_err *err);

/* Sets the mtime of the file fd to `secs` (unix seconds), its atime left
 * alone. A deployed artifact carries its manifest time (updated_at): the
 * same on every gateway, unchanged while its bytes are, and WSO2's hot
 * deployer redeploys a file exactly when its mtime changes. 0 or -1 with
 * errno set. */
int fsu_set_mtime(int fd, int64_t secs);

/* Removes dirfd/path and everything below it, never following a symlink:
 * one as the last component is itself unlinked, one on the way to it
 * refuses the call (beneath.h; from AT_FDCWD the way is the caller's).
 * A missing path is not an error. */
int fsu_remove_tree(int dirfd, const char *path, struct snap_err *err);
/* Removes everything below dirfd (left open, and in place) the same way;
 * `what` names it in errors. */
int fsu_remove_children(int dirfd, const char *what, struct snap_err *err);

/* mkdir -p of an absolute or relative path (mode 0755). */
int fsu_mkdirs(const char *path, struct snap_err *err);

/*
 * A DIR stream over the directory dirfd names, from its first entry,
 * leaving dirfd itself untouched (the stream has its own dup, closed by
 * closedir()). NULL with errno set.
 */
DIR *fsu_opendir_dup(int dirfd);

/* Opens a directory an operator named (a root, a source tree): a symlink
 * there is followed, as the shell would. Anything below it is opened with
 * beneath.h. A fd, or -1 with err. */
int fsu_open_root(const char *path, struct snap_err *err);

#endif
