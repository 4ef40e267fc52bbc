/*
 * state.c - writing and distrustful reading of state.json (see state.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fsutil.h"
#include "jsonfield.h"
#include "names.h"
#include "state.h"

#define STATE_FORMAT 1

void
state_manifest_name(uint64_t version, char *out, size_t outlen)
{
	snprintf(out, outlen, "snapshots/%" PRIu64 ".manifest.json", version);
}

void
state_archive_name(uint64_t version, char *out, size_t outlen)
{
	snprintf(out, outlen, "snapshots/%" PRIu64 ".tar.zst", version);
}

void
state_copy_name(uint64_t version, char *out, size_t outlen)
{
	snprintf(out, outlen, "snapshots/%" PRIu64 ".state.json", version);
}

int
state_check_id(const char *id, struct snap_err *err)
{
	size_t len = strlen(id);

	if (len == 0 || len >= STATE_ID_MAX)
		return snap_err_set(err, "id must be 1 to %d bytes",
		    STATE_ID_MAX - 1);
	/* Same alphabet as artifact names: safe in logs, URLs and paths. */
	return name_check(id, err) == -1 ?
	    snap_err_set(err, "id '%s' has a character other than letters, "
	    "digits, '.', '_', '-'", id) : 0;
}

static json_t *
file_to_json(const char *role, const struct state_file *f)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:s*}", "role", role, "name",
	    f->name, "size", (json_int_t)f->size, "xxh128", f->xxh128,
	    "blake2b", f->blake2b[0] != '\0' ? f->blake2b : NULL);
}

/* Text files end with a newline: `cat state.json` should not run on. */
static int
append_newline(char **out, size_t *len, struct snap_err *err)
{
	size_t n = strlen(*out);
	char *p = realloc(*out, n + 2);

	if (p == NULL) {
		free(*out);
		*out = NULL;
		return snap_err_set(err, "state: out of memory");
	}
	p[n] = '\n';
	p[n + 1] = '\0';
	*out = p;
	*len = n + 1;
	return 0;
}

int
state_to_json(const struct snap_state *s, char **out, size_t *len,
    struct snap_err *err)
{
	char pub[32], sync[32];
	json_t *root;

	fsu_rfc3339(s->published_at, pub);
	fsu_rfc3339(s->last_sync_at, sync);
	root = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:I, "
	    "s:[o,o]}",
	    "format", STATE_FORMAT,
	    "cluster_id", s->cluster_id,
	    "node_id", s->node_id,
	    "node_version", s->node_version,
	    "version", (json_int_t)s->version,
	    "parent_version", (json_int_t)s->parent_version,
	    "published_at", pub,
	    "last_sync_at", sync,
	    "artifact_count", (json_int_t)s->artifact_count,
	    "files", file_to_json("manifest", &s->manifest),
	    file_to_json("archive", &s->archive));
	if (root == NULL)
		return snap_err_set(err, "state: out of memory");
	*out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (*out == NULL)
		return snap_err_set(err, "state: out of memory");
	return append_newline(out, len, err);
}

static int
copy_string(json_t *root, const char *key, char *out, size_t outlen,
    struct snap_err *err)
{
	json_t *v = json_object_get(root, key);

	if (!json_is_string(v) || json_string_length(v) >= outlen ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return snap_err_set(err, "'%s' is not a string of at most %zu "
		    "bytes", key, outlen - 1);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* The optional BLAKE2b-256 of a file record: absent, or 64 lower-case hex. */
static int
parse_blake2b(json_t *obj, const char *role, struct state_file *f,
    struct snap_err *err)
{
	size_t i;

	f->blake2b[0] = '\0';
	if (json_object_get(obj, "blake2b") == NULL)
		return 0;
	if (copy_string(obj, "blake2b", f->blake2b, sizeof(f->blake2b),
	    err) == -1)
		return snap_err_prefix(err, "%s file", role);
	for (i = 0; f->blake2b[i] != '\0'; i++)
		if (!strchr("0123456789abcdef", f->blake2b[i]))
			break;
	if (i != STATE_B2_HEX_LEN || f->blake2b[i] != '\0')
		return snap_err_set(err, "%s file: 'blake2b' is not 64 "
		    "lower-case hex digits", role);
	return 0;
}

static int
parse_file(json_t *obj, const char *role, const char *expect,
    struct state_file *f, struct snap_err *err)
{
	const char *r = json_string_value(json_object_get(obj, "role"));

	if (!json_is_object(obj) || r == NULL || strcmp(r, role) != 0)
		return snap_err_set(err, "'files' must list the manifest, then "
		    "the archive");
	if (copy_string(obj, "name", f->name, sizeof(f->name), err) == -1 ||
	    jf_uint(obj, "size", &f->size, err) == -1 ||
	    copy_string(obj, "xxh128", f->xxh128, sizeof(f->xxh128), err) == -1)
		return snap_err_prefix(err, "%s file", role);
	/* Never follow a name we did not make ourselves. */
	if (strcmp(f->name, expect) != 0)
		return snap_err_set(err, "%s file is '%s', expected '%s'", role,
		    f->name, expect);
	if (!hash_is_hex(f->xxh128))
		return snap_err_set(err, "%s file: 'xxh128' is not 32 lower-case "
		    "hex digits", role);
	return parse_blake2b(obj, role, f, err);
}

static int
parse_state(json_t *root, struct snap_state *s, struct snap_err *err)
{
	char expect[96];
	uint64_t format;
	json_t *files, *rec;
	size_t i;

	if (!json_is_object(root))
		return snap_err_set(err, "not a JSON object");
	if (jf_uint(root, "format", &format, err) == -1)
		return -1;
	if (format != STATE_FORMAT)
		return snap_err_set(err, "format %" PRIu64 " is not supported "
		    "(this build reads %d)", format, STATE_FORMAT);
	if (copy_string(root, "cluster_id", s->cluster_id,
	    sizeof(s->cluster_id), err) == -1 ||
	    copy_string(root, "node_id", s->node_id, sizeof(s->node_id),
	    err) == -1 ||
	    copy_string(root, "node_version", s->node_version,
	    sizeof(s->node_version), err) == -1 ||
	    jf_uint(root, "version", &s->version, err) == -1 ||
	    jf_uint(root, "parent_version", &s->parent_version, err) == -1 ||
	    jf_time(root, "published_at", &s->published_at, err) == -1 ||
	    jf_time(root, "last_sync_at", &s->last_sync_at, err) == -1 ||
	    jf_uint(root, "artifact_count", &s->artifact_count, err) == -1)
		return -1;
	if (state_check_id(s->cluster_id, err) == -1 ||
	    state_check_id(s->node_id, err) == -1)
		return -1;
	if (s->version == 0 || s->parent_version >= s->version)
		return snap_err_set(err, "version %" PRIu64 " with parent %"
		    PRIu64 " is not a forward step", s->version,
		    s->parent_version);
	files = json_object_get(root, "files");
	if (!json_is_array(files) || json_array_size(files) != 2)
		return snap_err_set(err, "'files' must list exactly the manifest "
		    "and the archive");
	/* Counted on the JSON, whatever roles it lists: a signed state must
	 * bind every file it names (sign_state_read). */
	json_array_foreach(files, i, rec)
		if (json_object_get(rec, "blake2b") == NULL)
			s->unhashed++;
	state_manifest_name(s->version, expect, sizeof(expect));
	if (parse_file(json_array_get(files, 0), "manifest", expect,
	    &s->manifest, err) == -1)
		return -1;
	state_archive_name(s->version, expect, sizeof(expect));
	return parse_file(json_array_get(files, 1), "archive", expect,
	    &s->archive, err);
}

int
state_from_json(const char *buf, size_t len, struct snap_state *s,
    struct snap_err *err)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	memset(s, 0, sizeof(*s));
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return snap_err_set(err, "malformed JSON at line %d: %s",
		    jerr.line, jerr.text);
	rc = parse_state(root, s, err);
	json_decref(root);
	return rc;
}

int
state_read(int rootfd, const char *name, struct snap_state *s,
    struct snap_err *err)
{
	char *buf = NULL;
	size_t len;
	int rc;

	if (fsu_read_file(rootfd, name, STATE_MAX_BYTES, &buf, &len, err) == -1)
		return -1;
	rc = state_from_json(buf, len, s, err);
	free(buf);
	if (rc == -1)
		snap_err_prefix(err, "%s", name);
	return rc;
}
