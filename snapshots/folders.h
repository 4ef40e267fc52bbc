/*
 * folders.h - the type folders of a release tree (api/, sequences/, ...),
 * each opened once and never through a symlink.
 *
 * A build writes and unlinks up to thousands of TYPE/NAME.xml. Each goes
 * through the fd of its folder, opened on first need below the tree's fd
 * (beneath.h): a folder that is a symlink is refused and named in err
 * rather than written through, and no file pays a lookup of its folder.
 *
 * Calling sequence: folders_init(&f, treefd); folders_get(&f, type, ...)
 * as often as needed (the fd stays f's); folders_close(&f), which is safe
 * after folders_init() alone, and again.
 */
#ifndef FOLDERS_H
#define FOLDERS_H

#include <stdbool.h>

#include "names.h"
#include "snap_err.h"

struct folders {
	int top;			/* the tree; not owned */
	int fd[ARTIFACT_TYPES_MAX];	/* owned once opened; -1: not yet */
};

void folders_init(struct folders *f, int top);

/*
 * The fd of type's folder below f->top (f->top itself for a file at the
 * top of the tree), made first when `make` and missing. -1 with errno
 * (ENOENT: missing, not made; ELOOP: a symlink) and err.
 */
int folders_get(struct folders *f, int type, bool make, struct snap_err *err);

void folders_close(struct folders *f);

#endif
