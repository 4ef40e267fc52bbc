/*
 * changes.h - what may have changed in the primary's source tree since
 * the last publish, as the artifacts a publish must read again
 * (snap_publish_changes), from inotify's file events.
 *
 * Whenever the events cannot be trusted to name every change - a file at
 * the top of the tree (labels.conf), a folder that is no artifact type, a
 * name that cannot be carried, more than CHANGES_MAX of them - the list
 * is `unknown`: the next publish rescans the whole tree. The primary sets
 * unknown itself for what only it knows (start, IN_Q_OVERFLOW, a lost
 * watch, SIGHUP).
 *
 * Calling sequence: struct changes ch = CHANGES_INIT (unknown: a first
 * publish reads everything); changes_note() at every file event;
 * changes_clear() once a publish covered them (after a failed one they
 * stay, so that the retry covers them too); changes_free() at the end.
 * Nothing fails: running out of memory makes the list unknown.
 */
#ifndef CHANGES_H
#define CHANGES_H

#include <stdbool.h>
#include <stddef.h>

#include "snap.h"

/* More changed paths than this: a rescan is as cheap. */
#define CHANGES_MAX 4096

struct changes {
	struct snap_change *v;		/* owned */
	size_t n, cap;
	bool unknown;			/* rescan the whole tree */
};

#define CHANGES_INIT { .v = NULL, .n = 0, .cap = 0, .unknown = true }

/* File `name` in directory `dir` of the tree at `source` was created,
 * written, moved or removed (dir NULL: not known). */
void changes_note(struct changes *ch, const char *source, const char *dir,
    const char *name);
/* A publish covered them: nothing is known to have changed since. */
void changes_clear(struct changes *ch);
void changes_free(struct changes *ch);

#endif
