/*
 * beneath.h - opening a path below a directory of ours without following a
 * symlink anywhere.
 *
 * The sync root and the deploy root are given by the operator and may be
 * symlinks themselves (/var/lib/artsync -> /data/artsync); everything below
 * them is ours, and a symlink there is never followed: not as the last
 * component (O_NOFOLLOW did that much) and not as any component on the way
 * (snapshots/, .staging/, releases/<name>/...), where one would send a
 * write, a rename or a delete to any directory the process can reach.
 *
 * One primitive does it: openat2(2) with RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, one system call, where the
 * kernel has it (Linux 5.6); elsewhere (ENOSYS, or EPERM from a seccomp
 * filter that does not know it) the path is walked one component at a
 * time, each opened with O_NOFOLLOW relative to the one before. Both refuse
 * the same paths: an absolute one or one with a ".." component (EXDEV), and
 * one with a symlink in it (ELOOP). A path never holds "..": the check is
 * made on the string first, so that both ways agree on it.
 *
 * Calling sequence: open the root once (fsutil.h: fsu_open_root), then
 * every directory below it with beneath_open_dir() or beneath_make_dir(),
 * then work relative to those fds with the *at() calls on single names.
 * A path of several components costs one openat2(2) (the fallback: one
 * open per component).
 *
 * Errors: -1 with errno set and err (when not NULL) filled. A symlink in
 * the way is named, with what it points at, in one line the operator can
 * act on: "snapshots is a symlink (to '/tmp/x'): artsync never follows one
 * there; replace it with a directory". The caller puts the root in front
 * ("sync root /srv/sync: ..."). Nothing is created, renamed or removed
 * when a call fails.
 */
#ifndef BENEATH_H
#define BENEATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "snap_err.h"

/*
 * Opens `path`, relative to dirfd, with `flags` as openat(2) (O_NOFOLLOW
 * and O_CLOEXEC are added; `mode` is used with O_CREAT only). No component
 * may be a symlink. A new fd, owned by the caller, or -1 with errno (ELOOP
 * for a symlink in the way, EXDEV for an absolute path or "..") and err.
 */
int beneath_open(int dirfd, const char *path, int flags, mode_t mode,
    struct snap_err *err);

/* beneath_open() of a directory, for reading and as a dirfd. */
int beneath_open_dir(int dirfd, const char *path, struct snap_err *err);

/*
 * The directory `path` below dirfd, made (with `mode`) when it is missing,
 * opened as beneath_open_dir() does: a symlink where it belongs, or on the
 * way to it, is refused and left as it is. Its parent must exist.
 */
int beneath_make_dir(int dirfd, const char *path, mode_t mode,
    struct snap_err *err);

/* For the unit tests only: walk component by component even where the
 * kernel has openat2(2), so that both ways are tested on one machine
 * (false: back to what the kernel offers, probed again). */
void beneath_force_walk(bool on);

#endif
