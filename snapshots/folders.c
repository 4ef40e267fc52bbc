/*
 * folders.c - type folders opened once, below a tree (see folders.h).
 */
#include <unistd.h>

#include "beneath.h"
#include "folders.h"

void
folders_init(struct folders *f, int top)
{
	size_t i;

	f->top = top;
	for (i = 0; i < ARTIFACT_TYPES_MAX; i++)
		f->fd[i] = -1;
}

int
folders_get(struct folders *f, int type, bool make, struct snap_err *err)
{
	const char *dir = artifact_types[type].dir;

	if (type == TYPE_CONFIG)
		return f->top;
	if (f->fd[type] >= 0)
		return f->fd[type];
	f->fd[type] = make ? beneath_make_dir(f->top, dir, 0755, err) :
	    beneath_open_dir(f->top, dir, err);
	return f->fd[type];
}

void
folders_close(struct folders *f)
{
	size_t i;

	for (i = 0; i < ARTIFACT_TYPES_MAX; i++) {
		if (f->fd[i] >= 0)
			close(f->fd[i]);
		f->fd[i] = -1;
	}
}
