/*
 * names.c - artifact types and name rules (see names.h).
 *
 * Names reach us from directory listings, archive entries and HTTP paths, so
 * the rules are checked in one place: nothing that could become a path
 * component other than a plain file name ever passes, and nothing that
 * could turn a log line or a terminal into something else either.
 */
#include <stdio.h>
#include <string.h>

#include "names.h"

/*
 * The first ten keep their places (their order is the order of every
 * manifest and archive published before the others existed); the folders
 * of MultiXMLConfigurationBuilder that came later follow, and the top of
 * the tree is last.
 */
const struct artifact_type artifact_types[] = {
	{ "api", "api", "api", "API", NS_SYNAPSE, ID_API,
	    { "name", "context", NULL } },
	{ "sequences", "sequences", "sequence", "sequence", NS_SYNAPSE,
	    ID_NAME, { "name", NULL, NULL } },
	/* An endpoint file may hold an anonymous endpoint (no name). */
	{ "endpoints", "endpoints", "endpoint", "endpoint", NS_SYNAPSE,
	    ID_NAME, { NULL, NULL, NULL } },
	{ "local-entries", "local-entries", "localEntry", "local entry",
	    NS_SYNAPSE_OR_NONE, ID_KEY, { "key", NULL, NULL } },
	{ "proxy-services", "proxy-services", "proxy", "proxy service",
	    NS_SYNAPSE, ID_NAME, { "name", NULL, NULL } },
	{ "templates", "templates", "template", "template", NS_SYNAPSE,
	    ID_NAME, { "name", NULL, NULL } },
	{ "inbound-endpoints", "inbound-endpoints", "inboundEndpoint",
	    "inbound endpoint", NS_SYNAPSE_OR_NONE, ID_NAME,
	    { "name", NULL, NULL } },
	{ "message-stores", "message-stores", "messageStore", "message store",
	    NS_SYNAPSE, ID_NAME, { "name", NULL, NULL } },
	{ "message-processors", "message-processors", "messageProcessor",
	    "message processor", NS_SYNAPSE, ID_NAME,
	    { "name", "class", "messageStore" } },
	{ "tasks", "tasks", "task", "task", NS_SYNAPSE, ID_NAME,
	    { "name", "class", NULL } },
	{ "event-sources", "event-sources", "eventSource", "event source",
	    NS_SYNAPSE, ID_NAME, { "name", NULL, NULL } },
	{ "priority-executors", "priority-executors", "priorityExecutor",
	    "priority executor", NS_SYNAPSE, ID_NAME, { "name", NULL, NULL } },
	{ "imports", "imports", "import", "connector import", NS_SYNAPSE,
	    ID_IMPORT, { "name", "package", NULL } },
	[TYPE_CONFIG] = { "config", "", NULL, "configuration file", NS_ANY,
	    ID_NONE, { NULL, NULL, NULL } },
};
const size_t artifact_type_count =
	sizeof(artifact_types) / sizeof(artifact_types[0]);
_Static_assert(sizeof(artifact_types) / sizeof(artifact_types[0]) <=
    ARTIFACT_TYPES_MAX, "raise ARTIFACT_TYPES_MAX");
_Static_assert(sizeof(artifact_types) / sizeof(artifact_types[0]) ==
    TYPE_CONFIG + 1, "config is the last type");

/* The files Synapse reads at the top of the tree, and their roots. */
static const struct {
	const char *name;
	const char *root;
	const char *what;
} top_files[] = {
	{ "synapse", "definitions", "synapse.xml" },
	{ "registry", "registry", "registry.xml" },
	{ "task-manager", "taskManager", "task-manager.xml" },
};

static const char *const no_attrs[TYPE_ATTRS_MAX] = { NULL, NULL, NULL };

void
name_rules(int type, const char *name, struct name_rules *out)
{
	const struct artifact_type *t = &artifact_types[type];
	size_t i;

	out->root = t->root;
	out->what = t->what;
	out->ns = t->ns;
	out->id = t->id;
	out->required = t->required;
	if (type != TYPE_CONFIG)
		return;
	out->required = no_attrs;
	for (i = 0; i < sizeof(top_files) / sizeof(top_files[0]); i++)
		if (strcmp(name, top_files[i].name) == 0) {
			out->root = top_files[i].root;
			out->what = top_files[i].what;
			out->ns = NS_SYNAPSE;
		}
}

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

int
name_type_of_dir(const char *dir)
{
	int i = name_type_index(dir);

	return i == TYPE_CONFIG ? -1 : i;
}

static int
bad_byte(const char *what, unsigned char c, size_t at, struct snap_err *err)
{
	return snap_err_setc(err, SNAP_E_MALFORMED,
	    "artifact name has %s (byte 0x%02x at offset "
	    "%zu)", what, c, at);
}

int
name_check(const char *name, struct snap_err *err)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i, n, len = strlen(name);

	if (len == 0)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "empty artifact name");
	if (len > NAME_MAX_BYTES)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "artifact name longer than %d bytes",
		    NAME_MAX_BYTES);
	/* "." and ".." are path tricks; hidden names are editor and rsync
	 * temp files, never artifacts. */
	if (name[0] == '.')
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "artifact name starts with '.' (hidden "
		    "files, '.' and '..' are never artifacts)");
	for (i = 0; i < len; i += n) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return bad_byte("a control character", s[i], i, err);
		if (s[i] == '/' || s[i] == '\\')
			return bad_byte("a path separator", s[i], i, err);
		if (s[i] == '"')
			return bad_byte("a double quote", s[i], i, err);
		/* ASCII without a call: every name of every manifest, delta
		 * and publish cache read passes here. */
		if (s[i] < 0x80)
			n = 1;
		else if ((n = snap_utf8_len(name + i, len - i)) == 0)
			return bad_byte("a byte that is not UTF-8 (or a C1 "
			    "control character)", s[i], i, err);
	}
	return 0;
}

bool
name_is_xml_file(const char *file)
{
	size_t len = strlen(file);

	return len > 4 && strcmp(file + len - 4, ".xml") == 0;
}

int
name_from_file(const char *file, char *out, struct snap_err *err)
{
	size_t len = strlen(file);

	if (!name_is_xml_file(file))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "not an artifact file (expected NAME.xml)");
	if (len - 4 > NAME_MAX_BYTES)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "artifact name longer than %d bytes",
		    NAME_MAX_BYTES);
	memcpy(out, file, len - 4);
	out[len - 4] = '\0';
	return name_check(out, err);
}

const char *
name_path(int type, const char *name, char *out, size_t size)
{
	const char *dir = artifact_types[type].dir;

	snprintf(out, size, "%s%s%s.xml", dir, *dir != '\0' ? "/" : "", name);
	return out;
}
