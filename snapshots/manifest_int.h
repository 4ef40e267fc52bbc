/*
 * manifest_int.h - what the manifest_*.c files share; not an API
 * (manifest.h is).
 *
 * The helpers are static inline, as they were static in one file before
 * the split: key_cmp() and entry_cmp() run in every binary search and
 * merge, labels_dup() and name_dup() for every entry copied.
 */
#ifndef MANIFEST_INT_H
#define MANIFEST_INT_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

#define MANIFEST_FORMAT 2		/* written, and the one read */
#define MANIFEST_LINE_MAX 8192	/* a line, written or read */

/*
 * Nearly every artifact carries the label list "default": one shared
 * string for it (manifest.c), never freed, not 100,000 copies.
 */
extern char manifest_default_labels[];

static inline char *
labels_dup(const char *labels)
{
	if (labels == NULL || strcmp(labels, manifest_default_labels) == 0)
		return manifest_default_labels;
	return strdup(labels);
}

static inline void
labels_release(char *labels)
{
	if (labels != manifest_default_labels)
		free(labels);
}

/* A copy of e's name and identity in one allocation (see manifest.h);
 * *identity points into it, or is NULL. */
static inline char *
name_dup(const char *name, const char *identity, const char **idcopy)
{
	size_t nl = strlen(name) + 1, il;
	char *p;

	*idcopy = NULL;
	if (identity == NULL)
		return strdup(name);
	il = strlen(identity) + 1;
	if ((p = malloc(nl + il)) == NULL)
		return NULL;
	memcpy(p, name, nl);
	memcpy(p + nl, identity, il);
	*idcopy = p + nl;
	return p;
}

static inline int
key_cmp(int ta, const char *na, int tb, const char *nb)
{
	if (ta != tb)
		return ta < tb ? -1 : 1;
	return strcmp(na, nb);
}

static inline int
entry_cmp(const void *a, const void *b)
{
	const struct manifest_entry *x = a, *y = b;

	return key_cmp(x->type, x->name, y->type, y->name);
}

static inline bool
entry_same(const struct manifest_entry *a, const struct manifest_entry *b)
{
	return strcmp(a->xxh128, b->xxh128) == 0 && a->size == b->size &&
	    strcmp(a->labels, b->labels) == 0;
}

/* Copies src's header into dst: version, parent, time, folders and
 * identities - not its kind, entries, events or byte total. */
static inline void
header_copy(struct manifest *dst, const struct manifest *src)
{
	dst->version = src->version;
	dst->parent_version = src->parent_version;
	dst->published_at = src->published_at;
	dst->folders = src->folders;
	dst->has_folders = src->has_folders;
	dst->has_identities = src->has_identities;
}

#endif
