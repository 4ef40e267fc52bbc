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
 * afresh): poll watch_fd() anew each time round.
 */
#ifndef WATCH_H
#define WATCH_H

#include "snap_err.h"

/* What watch_drain() saw. */
#define WATCH_CHANGED	0x1	/* something in a watched tree changed */
#define WATCH_OVERFLOW	0x2	/* the kernel queue overflowed: rescan */
#define WATCH_STATE	0x4	/* the watched dir's state.json was replaced */
#define WATCH_LOST	0x8	/* a watched root went away (deleted, unmounted) */
#define WATCH_REWATCH	0x10	/* internal: a folder moved; watches rebuilt */

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

#endif
