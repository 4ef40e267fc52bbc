/*
 * names.h - the artifact vocabulary: the types of a WSO2 synapse-configs
 * tree, where each lives, the root element its XML must carry, what
 * identifies it to Synapse, and the rules for artifact names.
 *
 * A tree is a WSO2 `synapse-configs/<name>` directory as it ships (see
 * Synapse's MultiXMLConfigurationBuilder): one folder per type, each
 * holding NAME.xml files, and at the top synapse.xml, registry.xml and
 * task-manager.xml. An artifact is TYPE/NAME: TYPE is a folder name below,
 * or "config" for an XML file at the top of the tree; NAME is the file name
 * without ".xml".
 *
 * NAME is what WSO2 itself deploys: any file name that is valid UTF-8
 * without control characters, '/', '\\' or '"', not "." or "..", not
 * starting with '.', at most NAME_MAX_BYTES bytes. So API-M's
 * "admin--PizzaShack:v1.0.0--In", MI's "{org.wso2.carbon.connector}hello"
 * and a tenant's "admin-AT-wso2.com--Foo_v1" are names; nothing that could
 * leave its folder or hide from a listing is.
 */
#ifndef NAMES_H
#define NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "snap_err.h"

#define NAME_MAX_BYTES 255
/* Room for any relative path name_path() makes: "DIR/NAME.xml". */
#define NAME_PATH_MAX (NAME_MAX_BYTES + 32)
/* No artifact is larger: bounds every read of a file or an archive entry. */
#define ARTIFACT_MAX_BYTES (32u * 1024 * 1024)
/* No version's artifacts add up to more: bounds what one apply may decode
 * and write, whatever the archive's compression ratio (a zstd "bomb" of a
 * few kilobytes could otherwise inflate to ARTIFACT_MAX_BYTES per entry). */
#define TREE_MAX_BYTES (1024ull * 1024 * 1024)

#define SYNAPSE_NS "http://ws.apache.org/ns/synapse"

/* Which namespaces a type's root element may be in. */
enum name_ns {
	NS_SYNAPSE,		/* SYNAPSE_NS only */
	NS_SYNAPSE_OR_NONE,	/* SYNAPSE_NS, or none (WSO2 accepts both) */
	NS_ANY,			/* anything (a top-level file WSO2 ignores) */
};

/* What names an artifact to Synapse (its key in the configuration). */
enum name_identity {
	ID_NONE,		/* the file itself (synapse.xml, registry.xml) */
	ID_NAME,		/* the root's name attribute */
	ID_KEY,			/* a local entry's key */
	ID_API,			/* name, or "name:vVERSION" when versioned */
	ID_IMPORT,		/* "{package}name", as imports are filed */
};

#define TYPE_ATTRS_MAX 3

struct artifact_type {
	const char *folder;	/* TYPE: "proxy-services", "config" */
	const char *dir;	/* its folder in a tree: "" for config */
	const char *root;	/* root element's local name: "proxy"; NULL
				 * for config (per file: name_rules()) */
	const char *what;	/* for messages: "proxy service" */
	enum name_ns ns;
	enum name_identity id;
	/* Attributes of the root that must be there and not blank. */
	const char *required[TYPE_ATTRS_MAX];
};

extern const struct artifact_type artifact_types[];
extern const size_t artifact_type_count;
#define ARTIFACT_TYPES_MAX 16	/* bounds arrays indexed by type */
#define TYPE_CONFIG 13		/* index of "config" in artifact_types[] */

/* What the XML of TYPE/NAME must be: its type's rules, or for a file at
 * the top of the tree the rules of that file (synapse.xml: <definitions>;
 * registry.xml: <registry>; task-manager.xml: <taskManager>; any other:
 * well-formed, any root). */
struct name_rules {
	const char *root;	/* NULL: any */
	const char *what;
	enum name_ns ns;
	enum name_identity id;
	const char *const *required;	/* TYPE_ATTRS_MAX, NULL-padded */
};
void name_rules(int type, const char *name, struct name_rules *out);

/* The type whose TYPE is `folder`, or NULL when it is not an artifact type. */
const struct artifact_type *name_type_lookup(const char *folder);

/* Index of the type in artifact_types[], or -1. */
int name_type_index(const char *folder);

/* Index of the type whose folder in a tree is `dir` (not "config"), or -1. */
int name_type_of_dir(const char *dir);

/* 0 when `name` is a valid artifact NAME (without ".xml"); -1 with a message
 * saying what is wrong otherwise. */
int name_check(const char *name, struct snap_err *err);

/* 0 when `file` is "NAME.xml" with a valid NAME; copies NAME to out (size
 * NAME_MAX_BYTES + 1). -1 with a message otherwise. */
int name_from_file(const char *file, char *out, struct snap_err *err);

/* Whether `file` ends in ".xml" (what WSO2 reads; ".XML" it does not). */
bool name_is_xml_file(const char *file);

/* The path of TYPE/NAME below a tree's root into out (NAME_PATH_MAX):
 * "DIR/NAME.xml", or "NAME.xml" for config. Returns out. */
const char *name_path(int type, const char *name, char *out, size_t size);

#endif
