/*
 * names.h - the artifact vocabulary: the type folders, the root element each
 * type's XML must carry, and the rules for artifact names.
 *
 * An artifact is TYPE/NAME: TYPE is one of the folders below, NAME the file
 * name without ".xml" (letters, digits, '.', '_', '-', at most 255 bytes).
 */
#ifndef NAMES_H
#define NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "snap_err.h"

#define NAME_MAX_BYTES 255
/* No artifact is larger: bounds every read of a file or an archive entry. */
#define ARTIFACT_MAX_BYTES (32u * 1024 * 1024)
/* No version's artifacts add up to more: bounds what one apply may decode
 * and write, whatever the archive's compression ratio (a zstd "bomb" of a
 * few kilobytes could otherwise inflate to ARTIFACT_MAX_BYTES per entry). */
#define TREE_MAX_BYTES (1024ull * 1024 * 1024)

struct artifact_type {
	const char *folder;	/* "proxy-services" */
	const char *root;	/* root element local name: "proxy" */
};

extern const struct artifact_type artifact_types[];
extern const size_t artifact_type_count;
#define ARTIFACT_TYPES_MAX 16	/* bounds arrays indexed by type */

/* The type whose folder is `folder`, or NULL when it is not an artifact type. */
const struct artifact_type *name_type_lookup(const char *folder);

/* Index of the type in artifact_types[], or -1. */
int name_type_index(const char *folder);

/* 0 when `name` is a valid artifact NAME (without ".xml"); -1 with a message
 * saying what is wrong otherwise. */
int name_check(const char *name, struct snap_err *err);

/* 0 when `file` is "NAME.xml" with a valid NAME; copies NAME to out (size
 * NAME_MAX_BYTES + 1). -1 with a message otherwise. */
int name_from_file(const char *file, char *out, struct snap_err *err);

#endif
