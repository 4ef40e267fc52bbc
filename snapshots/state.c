/*
 * state.c - writing and distrustful reading of state.json (see state.h).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fsutil.h"
#include "timeutil.h"
#include "jsonfield.h"
#include "names.h"
#include "state.h"

#define STATE_FORMAT_EXPIRES 3	/* what this build writes with an expiry */
#define STATE_FORMAT_EPOCH 4	/* with an epoch (an expiry optional) */
#define STATE_FORMAT STATE_FORMAT_EPOCH	/* the newest it reads */
#define STATE_FORMAT_MIN 2	/* without either; and the oldest it reads */

static void
version_file(uint64_t version, const char *suffix, char *out, size_t outlen)
{
	snprintf(out, outlen, "snapshots/%" PRIu64 "%s", version, suffix);
}

void
state_manifest_name(uint64_t version, char *out, size_t outlen)
{
	version_file(version, ".manifest.json", out, outlen);
}

void
state_archive_name(uint64_t version, char *out, size_t outlen)
{
	version_file(version, ".tar.zst", out, outlen);
}

void
state_delta_manifest_name(uint64_t version, char *out, size_t outlen)
{
	version_file(version, ".delta.json", out, outlen);
}

void
state_delta_archive_name(uint64_t version, char *out, size_t outlen)
{
	version_file(version, ".delta.tar.zst", out, outlen);
}

void
state_copy_name(uint64_t version, char *out, size_t outlen)
{
	version_file(version, ".state.json", out, outlen);
}

int
state_check_id(const char *id, struct snap_err *err)
{
	size_t len = strlen(id);

	size_t i;

	if (len == 0 || len >= STATE_ID_MAX)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "id must be 1 to %d bytes",
		    STATE_ID_MAX - 1);
	/* A small alphabet: safe in logs, URLs, paths and Prometheus labels
	 * as it is, with nothing to escape. */
	for (i = 0; i < len; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') || id[i] == '.' ||
		    id[i] == '_' || id[i] == '-'))
			break;
	if (i < len || id[0] == '.')
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "id has a character other than letters, "
		    "digits, '.', '_', '-' (or starts with '.')");
	return 0;
}

int
state_check_cluster(const struct snap_state *s, const char *cluster_id,
    struct snap_err *err)
{
	if (strcmp(s->cluster_id, cluster_id) == 0)
		return 0;
	/* Both are ids (state_check_id): nothing in them to escape. */
	return snap_err_setc(err, SNAP_E_WRONG_CLUSTER, "state.json of version "
	    "%" PRIu64 " belongs to cluster '%s', this node to cluster '%s' "
	    "(cluster_id): another cluster's sync root, or a state copied "
	    "from one", s->version, s->cluster_id, cluster_id);
}

static void
digest_file(struct hash_state *h, const struct state_file *f)
{
	char rec[sizeof(f->name) + 32 + sizeof(f->xxh128) + sizeof(f->blake2b)];
	int n;

	n = snprintf(rec, sizeof(rec), "%s %" PRIu64 " %s %s\n", f->name,
	    f->size, f->xxh128, f->blake2b[0] ? f->blake2b : "-");
	hash_update(h, rec, (size_t)n);
}

void
state_digest(const struct snap_state *s, char out[HASH_HEX_LEN + 1])
{
	struct hash_state h;
	char head[64];
	size_t i;
	int n;

	hash_init(&h);
	n = snprintf(head, sizeof(head), "%" PRIu64 " %" PRIu64 "\n",
	    s->version, s->base_version);
	hash_update(&h, head, (size_t)n);
	digest_file(&h, &s->manifest);
	digest_file(&h, &s->archive);
	for (i = 0; i < s->ndeltas; i++) {
		digest_file(&h, &s->deltas[i].manifest);
		digest_file(&h, &s->deltas[i].archive);
	}
	hash_final(&h, out);
}

/*
 * state.json is written by hand in the very layout of jansson's
 * JSON_INDENT(2) (tests/test_state.c holds the two to the byte): the
 * primary writes it on every change, and building a tree of up to 2 x 257
 * file records to dump it cost more CPU than the rest of a one-artifact
 * publish (180 us at 33 deltas; by hand, 65 us at 47).
 */
struct out {
	FILE *f;
	bool bad;		/* a string jansson cannot encode (not UTF-8) */
};

/* s as a JSON string: as it is when nothing in it needs an escape (ids,
 * file names and checksums never do), else encoded by jansson. */
static void
put_string(struct out *o, const char *s)
{
	const unsigned char *p;
	json_t *j;
	char *q = NULL;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			break;
	if (*p == '\0') {
		fprintf(o->f, "\"%s\"", s);
		return;
	}
	if ((j = json_string(s)) != NULL)
		q = json_dumps(j, JSON_ENCODE_ANY);
	json_decref(j);
	if (q == NULL)
		o->bad = true;
	else
		fputs(q, o->f);
	free(q);
}

/* ["," newline] then "key": "value" at depth (2 spaces a level). */
static void
put_member(struct out *o, bool comma, int depth, const char *key,
    const char *value)
{
	fprintf(o->f, "%s%*s\"%s\": ", comma ? ",\n" : "", depth * 2, "", key);
	put_string(o, value);
}

static void
put_file(struct out *o, const char *role, uint64_t version,
    const struct state_file *f, bool last)
{
	fprintf(o->f, "    {\n      \"role\": \"%s\",\n      \"version\": %"
	    PRIu64 ",\n", role, version);
	put_member(o, false, 3, "name", f->name);
	fprintf(o->f, ",\n      \"size\": %" PRIu64 ",\n", f->size);
	put_member(o, false, 3, "xxh128", f->xxh128);
	if (f->blake2b[0] != '\0')
		put_member(o, true, 3, "blake2b", f->blake2b);
	fprintf(o->f, "\n    }%s\n", last ? "" : ",");
}

static void
put_state(struct out *o, const struct snap_state *s)
{
	char pub[32], sync[32], exp[32];
	size_t i;

	fsu_rfc3339(s->published_at, pub);
	fsu_rfc3339(s->last_sync_at, sync);
	fprintf(o->f, "{\n  \"format\": %d,\n", s->epoch != 0 ?
	    STATE_FORMAT_EPOCH : s->expires_at != 0 ? STATE_FORMAT_EXPIRES :
	    STATE_FORMAT_MIN);
	put_member(o, false, 1, "cluster_id", s->cluster_id);
	put_member(o, true, 1, "node_id", s->node_id);
	put_member(o, true, 1, "node_version", s->node_version);
	fprintf(o->f, ",\n  \"version\": %" PRIu64 ",\n  \"parent_version\": %"
	    PRIu64 ",\n  \"base_version\": %" PRIu64 ",\n  \"published_at\": "
	    "\"%s\",\n  \"last_sync_at\": \"%s\",\n", s->version,
	    s->parent_version, s->base_version, pub, sync);
	if (s->expires_at != 0) {
		fsu_rfc3339(s->expires_at, exp);
		fprintf(o->f, "  \"expires_at\": \"%s\",\n", exp);
	}
	if (s->epoch != 0) {
		fprintf(o->f, "  \"epoch\": %" PRIu64 ",\n  \"epoch_base_version"
		    "\": %" PRIu64 ",\n", s->epoch, s->epoch_base_version);
		put_member(o, false, 1, "ha", s->ha);
		fputs(",\n", o->f);
	}
	fprintf(o->f, "  \"artifact_count\": %" PRIu64 ",\n  \"files\": [\n",
	    s->artifact_count);
	put_file(o, "manifest", s->base_version, &s->manifest, false);
	put_file(o, "archive", s->base_version, &s->archive, s->ndeltas == 0);
	for (i = 0; i < s->ndeltas; i++) {
		const struct state_delta *d = &s->deltas[i];

		put_file(o, "delta-manifest", d->version, &d->manifest, false);
		put_file(o, "delta-archive", d->version, &d->archive,
		    i + 1 == s->ndeltas);
	}
	/* Text files end with a newline: `cat state.json` should not run on. */
	fputs("  ]\n}\n", o->f);
}

int
state_to_json(const struct snap_state *s, char **out, size_t *len,
    struct snap_err *err)
{
	struct out o = { .bad = false };
	bool failed;

	*out = NULL;
	if ((o.f = open_memstream(out, len)) == NULL)
		return snap_err_set(err, "state: out of memory");
	put_state(&o, s);
	failed = ferror(o.f) != 0;
	if (fclose(o.f) == EOF || failed || o.bad) {
		free(*out);
		*out = NULL;
		return snap_err_set(err, o.bad ? "state: a string that is not "
		    "UTF-8" : "state: out of memory");
	}
	return 0;
}

static int
copy_string(json_t *root, const char *key, char *out, size_t outlen,
    struct snap_err *err)
{
	json_t *v = json_object_get(root, key);

	if (!json_is_string(v) || json_string_length(v) >= outlen ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'%s' is not a string of at most %zu "
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
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s file: 'blake2b' is not 64 "
		    "lower-case hex digits", role);
	return 0;
}

/* The file record for `role` of version `version`, named as we name it. */
static int
parse_file(json_t *obj, const char *role, uint64_t version,
    void (*name_of)(uint64_t, char *, size_t), struct state_file *f,
    struct snap_err *err)
{
	const char *r = json_string_value(json_object_get(obj, "role"));
	char expect[96];
	uint64_t v;

	if (!json_is_object(obj) || r == NULL || strcmp(r, role) != 0)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'files' must list the base's manifest "
		    "and archive, then each delta's delta-manifest and "
		    "delta-archive");
	if (jf_uint(obj, "version", &v, err) == -1)
		return snap_err_prefix(err, "%s file", role);
	if (v != version)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s file of version %" PRIu64 " where "
		    "%" PRIu64 " belongs", role, v, version);
	name_of(version, expect, sizeof(expect));
	if (copy_string(obj, "name", f->name, sizeof(f->name), err) == -1 ||
	    jf_uint(obj, "size", &f->size, err) == -1 ||
	    copy_string(obj, "xxh128", f->xxh128, sizeof(f->xxh128), err) == -1)
		return snap_err_prefix(err, "%s file", role);
	/* Never follow a name we did not make ourselves. */
	if (strcmp(f->name, expect) != 0)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s file is '%s', expected '%s'", role,
		    f->name, expect);
	if (!hash_is_hex(f->xxh128))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s file: 'xxh128' is not 32 lower-case "
		    "hex digits", role);
	return parse_blake2b(obj, role, f, err);
}

/* The delta versions: a version number per pair of records, each above
 * the last, the final one the state's own version. */
static int
parse_chain(json_t *files, struct snap_state *s, struct snap_err *err)
{
	uint64_t prev = s->base_version, v;
	size_t i;

	for (i = 0; i < s->ndeltas; i++) {
		struct state_delta *d = &s->deltas[i];
		json_t *m = json_array_get(files, 2 + 2 * i);

		if (jf_uint(m, "version", &v, err) == -1)
			return snap_err_prefix(err, "delta-manifest file");
		if (v <= prev || v > s->version ||
		    (i + 1 == s->ndeltas && v != s->version))
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "delta chain from %" PRIu64
			    " to %" PRIu64 " is not in order at %" PRIu64,
			    s->base_version, s->version, v);
		d->version = prev = v;
		if (parse_file(m, "delta-manifest", v,
		    state_delta_manifest_name, &d->manifest, err) == -1 ||
		    parse_file(json_array_get(files, 3 + 2 * i),
		    "delta-archive", v, state_delta_archive_name, &d->archive,
		    err) == -1)
			return -1;
	}
	return 0;
}

static int
parse_files(json_t *root, struct snap_state *s, struct snap_err *err)
{
	json_t *files = json_object_get(root, "files"), *rec;
	size_t n, i;

	if (jf_uint(root, "base_version", &s->base_version, err) == -1)
		return -1;
	if (s->base_version == 0 || s->base_version > s->version)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "base_version %" PRIu64 " is not in "
		    "1..%" PRIu64, s->base_version, s->version);
	n = json_array_size(files);
	if (!json_is_array(files) || n < 2 || n % 2 != 0 ||
	    (n - 2) / 2 > STATE_CHAIN_MAX)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'files' must list a manifest and an "
		    "archive, then at most %d pairs of delta files",
		    STATE_CHAIN_MAX);
	s->ndeltas = (n - 2) / 2;
	if ((s->ndeltas == 0) != (s->base_version == s->version))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "base_version %" PRIu64 " and %zu "
		    "deltas do not lead to version %" PRIu64, s->base_version,
		    s->ndeltas, s->version);
	/* Counted on the JSON, every record whatever its role: a signed
	 * state must bind every file it names (sign_state_read). */
	json_array_foreach(files, i, rec)
		if (json_object_get(rec, "blake2b") == NULL)
			s->unhashed++;
	if (parse_file(json_array_get(files, 0), "manifest", s->base_version,
	    state_manifest_name, &s->manifest, err) == -1 ||
	    parse_file(json_array_get(files, 1), "archive", s->base_version,
	    state_archive_name, &s->archive, err) == -1)
		return -1;
	return parse_chain(files, s, err);
}

/* Format 4's members: an epoch, its seal, how it was granted, and an
 * expiry only when one is there. The seal is checked against the version
 * once that is read (parse_state). */
static int
parse_epoch(json_t *root, struct snap_state *s, struct snap_err *err)
{
	if (json_object_get(root, "expires_at") != NULL &&
	    (jf_time(root, "expires_at", &s->expires_at, err) == -1 ||
	    s->expires_at <= 0))
		return snap_err_setc(err, SNAP_E_MALFORMED, "'expires_at' is "
		    "not an RFC 3339 time after 1970");
	if (jf_uint(root, "epoch", &s->epoch, err) == -1 ||
	    jf_uint(root, "epoch_base_version", &s->epoch_base_version,
	    err) == -1 ||
	    copy_string(root, "ha", s->ha, sizeof(s->ha), err) == -1)
		return -1;
	if (s->epoch == 0 || s->epoch > STATE_VERSION_MAX)
		return snap_err_setc(err, SNAP_E_MALFORMED, "format 4 with "
		    "epoch %" PRIu64 " (1 to %" PRIu64 ")", s->epoch,
		    (uint64_t)STATE_VERSION_MAX);
	if (strcmp(s->ha, "shared") != 0 && strcmp(s->ha, "etcd") != 0)
		return snap_err_setc(err, SNAP_E_MALFORMED, "'ha' is not "
		    "shared or etcd");
	return 0;
}

static int
parse_state(json_t *root, struct snap_state *s, struct snap_err *err)
{
	uint64_t format;

	if (!json_is_object(root))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "not a JSON object");
	if (jf_uint(root, "format", &format, err) == -1)
		return -1;
	if (format < STATE_FORMAT_MIN || format > STATE_FORMAT)
		return snap_err_setc(err, SNAP_E_MALFORMED, "format %" PRIu64
		    " is not supported (this build reads %d to %d)", format,
		    STATE_FORMAT_MIN, STATE_FORMAT);
	/* Format 3 is 2 plus its expiry, which it must carry; 0 says
	 * "none" in memory, and no expiry before 1970 makes sense (found by
	 * fuzz_state: year 1013). */
	if (format == STATE_FORMAT_EXPIRES && (jf_time(root, "expires_at",
	    &s->expires_at, err) == -1 || s->expires_at <= 0))
		return snap_err_setc(err, SNAP_E_MALFORMED, "format 3 without "
		    "an 'expires_at' RFC 3339 time after 1970");
	if (format == STATE_FORMAT_EPOCH && parse_epoch(root, s, err) == -1)
		return -1;
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
	if (s->version > STATE_VERSION_MAX)
		return snap_err_setc(err, SNAP_E_MALFORMED, "version %" PRIu64
		    " is above %" PRIu64 ", the largest this format allows",
		    s->version, (uint64_t)STATE_VERSION_MAX);
	if (s->version == 0 || s->parent_version >= s->version)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "version %" PRIu64 " with parent %"
		    PRIu64 " is not a forward step", s->version,
		    s->parent_version);
	if (s->epoch != 0 && s->epoch_base_version >= s->version)
		return snap_err_setc(err, SNAP_E_MALFORMED, "epoch_base_version "
		    "%" PRIu64 " is not below version %" PRIu64,
		    s->epoch_base_version, s->version);
	return parse_files(root, s, err);
}

int
state_from_json(const char *buf, size_t len, struct snap_state *s,
    struct snap_err *err)
{
	json_t *root;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((root = jf_load(buf, len, err)) == NULL)
		return -1;
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
