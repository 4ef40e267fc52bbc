/*
 * watch.h - inotify through libinotifytools, as one fd in the daemon's poll
 * loop.
 *
 * libinotifytools keeps one inotify instance per process and does the
 * bookkeeping we would otherwise hand-write (recursive watches, wd to path).
 * It does not hand out its fd, so watch_init() finds it in /proc/self/fd;
 * the loop polls that fd and calls watch_drain() when it is readable, which
 * reads the raw events itself (the library's reader can only block).
 *
 * Calling sequence: watch_init(); watch_tree() or watch_dir(); then poll
 * watch_fd() and watch_drain() until done; watch_cleanup(). The fd may
 * change across watch_drain() (a tree whose folders moved is watched
 * afresh): poll watch_fd() anew each time round; it is -1 while there is
 * no instance (watch_init failed: call it again later).
 *
 * When inotify runs out (every watch or instance of the user taken),
 * watch_init or watch_tree fails (err's code SNAP_E_NO_SPACE), and
 * watch_drain() says WATCH_INCOMPLETE for a new folder it could not watch:
 * the caller then polls with watch_poll_digest() and tries inotify again
 * later.
 */
#ifndef WATCH_H
#define WATCH_H

#include "hash.h"
#include "snap_err.h"

/* What watch_drain() saw. */
#define WATCH_CHANGED	0x1	/* something in a watched tree changed */
#define WATCH_OVERFLOW	0x2	/* the kernel queue overflowed: rescan */
#define WATCH_STATE	0x4	/* the watched dir's state.json was replaced */
#define WATCH_LOST	0x8	/* a watched root went away (deleted, unmounted) */
#define WATCH_REWATCH	0x10	/* internal: a folder moved; watches rebuilt */
#define WATCH_NEWDIR	0x20	/* a folder appeared: what it held before
				 * its watch existed raised no event */
#define WATCH_INCOMPLETE 0x40	/* a new folder could not be watched (no
				 * watch left): the tree is not covered */

int watch_init(struct snap_err *err);
void watch_cleanup(void);
/* The inotify fd, for poll(2). */
int watch_fd(void);

/* Watches every directory under path, and new ones as they appear. */
int watch_tree(const char *path, struct snap_err *err);
/* Watches one directory (the sync root) for a new state.json. */
int watch_dir(const char *path, struct snap_err *err);

/*
 * Called by watch_drain() for every event that names a file (not a folder)
 * in a watched tree: dir is the watched folder's path with a trailing '/'
 * (NULL if it is no longer known), name the file's name. The primary
 * collects what changed this way.
 */
typedef void (*watch_file_fn)(const char *dir, const char *name, void *arg);
void watch_on_file(watch_file_fn fn, void *arg);

/* Reads every pending event without blocking; returns WATCH_* flags. */
unsigned watch_drain(void);

/*
 * Without inotify: what the tree at path looks like, cheaply - the name,
 * inode, size, mtime and ctime of every entry at the top and one level
 * below (files followed through symlinks, as publish reads them), hashed
 * into out. Any write, rename, creation or removal changes it; an
 * unchanged tree keeps it. 0 or -1 with err.
 */
int watch_poll_digest(const char *path, char out[HASH_HEX_LEN + 1],
    struct snap_err *err);

#endif
