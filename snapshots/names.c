/*
 * names.c - artifact types and name rules (see names.h).
 *
 * Names reach us from directory listings, archive entries and HTTP paths, so
 * the rules are strict and checked in one place: nothing that could become a
 * path component other than a plain file name ever passes.
 */
#include <string.h>

#include "names.h"

const struct artifact_type artifact_types[] = {
	{ "api", "api" },
	{ "sequences", "sequence" },
	{ "endpoints", "endpoint" },
	{ "local-entries", "localEntry" },
	{ "proxy-services", "proxy" },
	{ "templates", "template" },
	{ "inbound-endpoints", "inboundEndpoint" },
	{ "message-stores", "messageStore" },
	{ "message-processors", "messageProcessor" },
	{ "tasks", "task" },
};
const size_t artifact_type_count =
	sizeof(artifact_types) / sizeof(artifact_types[0]);
_Static_assert(sizeof(artifact_types) / sizeof(artifact_types[0]) <=
    ARTIFACT_TYPES_MAX, "raise ARTIFACT_TYPES_MAX");

int
name_type_index(const char *folder)
{
	size_t i;

	for (i = 0; i < artifact_type_count; i++)
		if (strcmp(artifact_types[i].folder, folder) == 0)
			return (int)i;
	return -1;
}

const struct artifact_type *
name_type_lookup(const char *folder)
{
	int i = name_type_index(folder);

	return i < 0 ? NULL : &artifact_types[i];
}

static bool
is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int
name_check(const char *name, struct snap_err *err)
{
	size_t i, len = strlen(name);

	if (len == 0)
		return snap_err_set(err, "empty artifact name");
	if (len > NAME_MAX_BYTES)
		return snap_err_set(err, "artifact name longer than %d bytes",
		    NAME_MAX_BYTES);
	/* "." and ".." are made of legal characters but are path tricks. */
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return snap_err_set(err, "artifact name '%s' is not allowed", name);
	/* Hidden names are editor and rsync temp files, never artifacts. */
	if (name[0] == '.')
		return snap_err_set(err, "artifact name '%s' starts with '.'", name);
	for (i = 0; i < len; i++)
		if (!is_name_char((unsigned char)name[i]))
			return snap_err_set(err, "artifact name has a character "
			    "other than letters, digits, '.', '_', '-' (byte 0x%02x "
			    "at offset %zu)", (unsigned char)name[i], i);
	return 0;
}

int
name_from_file(const char *file, char *out, struct snap_err *err)
{
	size_t len = strlen(file);

	if (len <= 4 || strcmp(file + len - 4, ".xml") != 0)
		return snap_err_set(err, "not an artifact file (expected NAME.xml)");
	if (len - 4 > NAME_MAX_BYTES)
		return snap_err_set(err, "artifact name longer than %d bytes",
		    NAME_MAX_BYTES);
	memcpy(out, file, len - 4);
	out[len - 4] = '\0';
	return name_check(out, err);
}
