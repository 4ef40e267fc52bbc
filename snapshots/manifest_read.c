/*
 * manifest_read.c - a manifest read back without trusting it (see
 * manifest.h): every line bounded and parsed alone, every field
 * type-checked, names through name_check(), counts against the header,
 * no entry twice - and, when a state record is given, the very bytes
 * parsed hashed and compared with it in the same pass.
 *
 * Calling sequence: manifest_read_checked(fd, &record, flags) for a file a
 * state names; manifest_read(fd, max) or manifest_from_json(buf, len) for
 * bytes without a record; manifest_read_header(fd) for the first line
 * alone. Each returns a sorted manifest the caller frees, or NULL with err:
 * SNAP_E_TRUNCATED, SNAP_E_CHECKSUM or SNAP_E_BLAKE2B when the bytes do not
 * match their record (said first, even where they also fail to parse),
 * SNAP_E_MALFORMED or SNAP_E_TOO_LARGE for what the bytes say, SNAP_E_IO
 * or SNAP_E_NOMEM for the rest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "jsonfield.h"
#include "manifest_int.h"
#include "names.h"
#include "sign.h"
#include "state.h"
#include "xmlcheck.h"

struct snap_reader {
	struct manifest *m;
	uint64_t line;
	uint64_t entries, events;	/* counts the header promises */
	bool skip_full_events;		/* MANIFEST_NO_FULL_EVENTS */
	uint64_t skipped;		/* event lines counted, not parsed */
};

static int
get_type(json_t *obj, int *type, struct snap_err *err)
{
	json_t *v = json_object_get(obj, "type");

	if (!json_is_string(v) ||
	    (*type = name_type_index(json_string_value(v))) < 0)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'type' is not an artifact type");
	return 0;
}

static int
get_name(json_t *obj, const char **name, struct snap_err *err)
{
	json_t *v = json_object_get(obj, "name");

	if (!json_is_string(v))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'name' is not a string");
	*name = json_string_value(v);
	/* An embedded NUL would hide the rest of the name from every check. */
	if (strlen(*name) != json_string_length(v))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'name' holds a NUL byte");
	if (name_check(*name, err) == -1)
		return snap_err_prefix(err, "'%s'", *name);
	return 0;
}

static int
get_labels(json_t *obj, char *out, size_t outlen, struct snap_err *err)
{
	json_t *arr = json_object_get(obj, "labels"), *v;
	size_t i, used = 0;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'labels' is not a non-empty array");
	json_array_foreach(arr, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		int n;

		if (s == NULL || strchr(s, ',') != NULL)
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "'labels' holds a bad label");
		n = snprintf(out + used, outlen - used, "%s%s", i ? "," : "", s);
		if (n < 0 || (size_t)n >= outlen - used)
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "'labels' is too long");
		used += (size_t)n;
	}
	return manifest_check_labels(out, err);
}

/* The optional "identity": bounded UTF-8 without NUL (what xmlcheck
 * gives); absent, the name is the identity. */
static int
get_identity(json_t *obj, struct manifest_entry *e, struct snap_err *err)
{
	json_t *v = json_object_get(obj, "identity");
	const char *id;

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > XML_IDENTITY_MAX ||
	    strlen(id = json_string_value(v)) != json_string_length(v))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s/%s: 'identity' is not a string of "
		    "at most %d bytes", artifact_types[e->type].folder, e->name,
		    XML_IDENTITY_MAX);
	if (manifest_entry_set_identity(e, id) == -1)
		return snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
	return 0;
}

static int
parse_entry(struct manifest *m, json_t *obj, struct snap_err *err)
{
	const char *name = NULL, *xxh;
	char labels[1024];
	uint64_t size;
	int64_t when;
	int type;

	if (!json_is_object(obj))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "artifact is not an object");
	if (get_type(obj, &type, err) == -1 || get_name(obj, &name, err) == -1)
		return -1;
	if (get_labels(obj, labels, sizeof(labels), err) == -1 ||
	    jf_uint(obj, "size", &size, err) == -1 ||
	    jf_time(obj, "updated_at", &when, err) == -1)
		return snap_err_prefix(err, "%s/%s",
		    artifact_types[type].folder, name);
	if (size > ARTIFACT_MAX_BYTES)
		return snap_err_setc(err, SNAP_E_TOO_LARGE,
		    "%s/%s: size %llu is over the %u-byte "
		    "limit", artifact_types[type].folder, name,
		    (unsigned long long)size, ARTIFACT_MAX_BYTES);
	xxh = json_string_value(json_object_get(obj, "xxh128"));
	if (xxh == NULL || !hash_is_hex(xxh))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s/%s: 'xxh128' is not 32 lower-case "
		    "hex digits", artifact_types[type].folder, name);
	if (manifest_add(m, type, name, labels, size, xxh, when) == -1)
		return snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
	return get_identity(obj, &m->entries[m->n - 1], err);
}

static int
parse_event(struct manifest *m, json_t *obj, struct snap_err *err)
{
	const char *id, *action, *slash;
	enum manifest_action act;
	int64_t when;
	int type;

	if (!json_is_object(obj))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "event is not an object");
	id = json_string_value(json_object_get(obj, "id"));
	action = json_string_value(json_object_get(obj, "action"));
	if (id == NULL || (slash = strchr(id, '/')) == NULL)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "event 'id' is not TYPE/NAME");
	if (get_type(obj, &type, err) == -1 ||
	    jf_time(obj, "updated_at", &when, err) == -1)
		return snap_err_prefix(err, "event %s", id);
	if (strncmp(id, artifact_types[type].folder, (size_t)(slash - id)) ||
	    artifact_types[type].folder[slash - id] != '\0')
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "event %s: 'type' does not match 'id'",
		    id);
	if (name_check(slash + 1, err) == -1)
		return snap_err_prefix(err, "event %s", id);
	if (action != NULL && strcmp(action, "DEPLOY") == 0)
		act = MANIFEST_DEPLOY;
	else if (action != NULL && strcmp(action, "UNDEPLOY") == 0)
		act = MANIFEST_UNDEPLOY;
	else
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "event %s: 'action' is not DEPLOY or "
		    "UNDEPLOY", id);
	if (manifest_add_event(m, type, slash + 1, act, when) == -1)
		return snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
	return 0;
}

/* The optional "folders": type folders the tree holds, each once. */
static int
get_folders(struct manifest *m, json_t *root, struct snap_err *err)
{
	json_t *arr = json_object_get(root, "folders"), *v;
	size_t i;
	int type;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'folders' is not an array");
	m->has_folders = true;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) ||
		    (type = name_type_of_dir(json_string_value(v))) < 0 ||
		    (m->folders & (1u << type)))
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "'folders' holds something that "
			    "is not a type folder, or one twice");
		m->folders |= 1u << type;
	}
	return 0;
}

static int
parse_header(struct manifest *m, json_t *root, struct snap_reader *r,
    struct snap_err *err)
{
	uint64_t format;
	const char *kind;

	if (!json_is_object(root))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "header is not a JSON object");
	if (jf_uint(root, "format", &format, err) == -1)
		return -1;
	if (format != MANIFEST_FORMAT)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "format %llu is not supported "
		    "(this build reads %d)", (unsigned long long)format,
		    MANIFEST_FORMAT);
	kind = json_string_value(json_object_get(root, "kind"));
	if (kind != NULL && strcmp(kind, "full") == 0)
		m->kind = MANIFEST_FULL;
	else if (kind != NULL && strcmp(kind, "delta") == 0)
		m->kind = MANIFEST_DELTA;
	else
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'kind' is not \"full\" or \"delta\"");
	if (jf_uint(root, "version", &m->version, err) == -1 ||
	    jf_uint(root, "parent_version", &m->parent_version, err) == -1 ||
	    jf_time(root, "published_at", &m->published_at, err) == -1 ||
	    jf_uint(root, "artifact_count", &r->entries, err) == -1 ||
	    jf_uint(root, "event_count", &r->events, err) == -1)
		return -1;
	if (m->version == 0 || m->parent_version >= m->version)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "version %llu with parent %llu is not "
		    "a forward step", (unsigned long long)m->version,
		    (unsigned long long)m->parent_version);
	if (m->kind == MANIFEST_DELTA && m->parent_version == 0)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "a delta without a parent version");
	if (json_object_get(root, "identities") != NULL &&
	    !json_is_true(json_object_get(root, "identities")))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'identities' is not true");
	m->has_identities = json_object_get(root, "identities") != NULL;
	return get_folders(m, root, err);
}

/* One line: the header, then artifact_count artifacts, then event_count
 * events, each a JSON object on its own line. */
static int
feed_line(struct snap_reader *r, const char *line, size_t len,
    struct snap_err *err)
{
	struct manifest *m = r->m;
	json_error_t jerr;
	json_t *obj;
	int rc;

	r->line++;
	/* Half of a full manifest, and half of the time to read it. */
	if (r->line > 1 && r->skip_full_events && m->kind == MANIFEST_FULL &&
	    m->n == r->entries && m->nev + r->skipped < r->events) {
		r->skipped++;
		return 0;
	}
	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "line %llu: malformed JSON: %s",
		    (unsigned long long)r->line, jerr.text);
	if (r->line == 1)
		rc = parse_header(m, obj, r, err);
	else if (m->n < r->entries)
		rc = parse_entry(m, obj, err);
	else if (m->nev + r->skipped < r->events)
		rc = parse_event(m, obj, err);
	else
		rc = snap_err_setc(err, SNAP_E_MALFORMED,
		    "more lines than the header counts");
	json_decref(obj);
	if (rc == -1)
		return snap_err_prefix(err, "line %llu",
		    (unsigned long long)r->line);
	return 0;
}

static int
reader_finish(struct snap_reader *r, struct snap_err *err)
{
	if (r->line == 0)
		return snap_err_setc(err, SNAP_E_MALFORMED, "empty");
	if (r->m->n != r->entries || r->m->nev + r->skipped != r->events)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "header counts %llu artifacts and %llu "
		    "events, %zu and %llu are listed",
		    (unsigned long long)r->entries,
		    (unsigned long long)r->events, r->m->n,
		    (unsigned long long)(r->m->nev + r->skipped));
	if (manifest_sort(r->m, err) == -1)
		return -1;
	return manifest_check_total(r->m, err);
}

/* Feeds every complete line of buf[0..len); returns the bytes consumed. */
static ssize_t
feed_lines(struct snap_reader *r, const char *buf, size_t len,
    struct snap_err *err)
{
	const char *p = buf, *nl;

	while ((nl = memchr(p, '\n', len - (size_t)(p - buf))) != NULL) {
		/* The same bound whether or not the line came in one read. */
		if (nl - p >= MANIFEST_LINE_MAX)
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "line %llu is longer than %d "
			    "bytes", (unsigned long long)r->line + 1,
			    MANIFEST_LINE_MAX);
		if (memchr(p, '\0', (size_t)(nl - p)) != NULL)
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "line %llu holds a NUL byte",
			    (unsigned long long)r->line + 1);
		if (feed_line(r, p, (size_t)(nl - p), err) == -1)
			return -1;
		p = nl + 1;
	}
	if (len - (size_t)(p - buf) >= MANIFEST_LINE_MAX)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "line %llu is longer than %d bytes",
		    (unsigned long long)r->line + 1, MANIFEST_LINE_MAX);
	return p - buf;
}

struct manifest *
manifest_from_json(const char *buf, size_t len, struct snap_err *err)
{
	struct snap_reader r = { .m = manifest_new() };
	ssize_t used;

	if (r.m == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "manifest: out of memory");
		return NULL;
	}
	used = feed_lines(&r, buf, len, err);
	if (used >= 0 && (size_t)used != len)
		used = snap_err_setc(err, SNAP_E_MALFORMED,
		    "last line has no newline (truncated?)");
	if (used == -1 || reader_finish(&r, err) == -1) {
		snap_err_prefix(err, "manifest");
		manifest_free(r.m);
		return NULL;
	}
	return r.m;
}

/* What manifest_read_checked() computes over the bytes as it reads them. */
struct digest {
	const struct state_file *expect;
	struct hash_state h;
	struct sign_hash b2;		/* when the record has a BLAKE2b */
	bool want_b2;
};

/*
 * What was read against its record, in this order: the size (a torn or
 * growing file), the XXH128 (a corrupt one), the BLAKE2b (one altered with
 * care, to keep its XXH128). Reading stops past the recorded size, so a
 * longer file's own size comes from fstat.
 */
static int
digest_check(struct digest *d, int fd, uint64_t total, struct snap_err *err)
{
	const struct state_file *f = d->expect;
	char got[STATE_B2_HEX_LEN + 1];
	struct stat st;

	if (total < f->size)
		return snap_err_setc(err, SNAP_E_TRUNCATED,
		    "%" PRIu64 " bytes, state records %"
		    PRIu64 " (truncated or still being written?)", total,
		    f->size);
	if (total > f->size) {
		if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > total)
			total = (uint64_t)st.st_size;
		return snap_err_setc(err, SNAP_E_TRUNCATED,
		    "%" PRIu64 " bytes, longer than the %"
		    PRIu64 " state records (replaced by another file?)", total,
		    f->size);
	}
	hash_final(&d->h, got);
	if (strcmp(got, f->xxh128) != 0)
		return snap_err_setc(err, SNAP_E_CHECKSUM, "checksum mismatch "
		    "(xxh128 %s, state records %s)", got, f->xxh128);
	if (!d->want_b2)
		return 0;
	sign_hash_final(&d->b2, got);
	if (strcmp(got, f->blake2b) != 0)
		return snap_err_setc(err, SNAP_E_BLAKE2B, "blake2b mismatch "
		    "(blake2b %s, state records %s)", got, f->blake2b);
	return 0;
}

/*
 * The one reading loop. With d, every byte read is hashed before the
 * parser sees it, and a parse error does not stop the reading: the file is
 * read to its end (or just past its recorded size) so that the digest,
 * which says more, is reported first.
 */
static struct manifest *
read_stream(int fd, uint64_t max, struct digest *d, unsigned flags,
    struct snap_err *err)
{
	struct snap_reader r = { .m = manifest_new(),
	    .skip_full_events = (flags & MANIFEST_NO_FULL_EVENTS) != 0 };
	struct snap_err perr = SNAP_ERR_INIT;	/* why parsing stopped */
	size_t have = 0, chunk = 1 << 16;
	bool parsing = true;
	uint64_t total = 0;
	char *buf = NULL;
	ssize_t n, used;

	if (r.m == NULL || (buf = malloc(chunk + MANIFEST_LINE_MAX)) == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
		goto fail;
	}
	for (;;) {
		n = read(fd, buf + have, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snap_err_sys(err, errno, "read");
			goto fail;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (d != NULL) {
			hash_update(&d->h, buf + have, (size_t)n);
			if (d->want_b2)
				sign_hash_update(&d->b2, buf + have, (size_t)n);
		}
		if (total > max) {
			if (d != NULL)
				break;	/* digest_check() says how long */
			snap_err_setc(err, SNAP_E_TOO_LARGE, "over %llu bytes",
			    (unsigned long long)max);
			goto fail;
		}
		if (!parsing)
			continue;	/* have stays 0: only hashing */
		have += (size_t)n;
		if ((used = feed_lines(&r, buf, have, &perr)) == -1) {
			if (d == NULL)
				goto parse_failed;
			parsing = false;
			have = 0;
			continue;
		}
		memmove(buf, buf + used, have - (size_t)used);
		have -= (size_t)used;
	}
	if (d != NULL && digest_check(d, fd, total, err) == -1) {
		free(buf);
		manifest_free(r.m);
		return NULL;
	}
	if (!parsing)
		goto parse_failed;
	if (have != 0) {
		snap_err_setc(&perr, SNAP_E_MALFORMED,
		    "last line has no newline (truncated?)");
		goto parse_failed;
	}
	if (reader_finish(&r, &perr) == -1)
		goto parse_failed;
	free(buf);
	return r.m;
parse_failed:
	if (err != NULL)
		*err = perr;
fail:
	snap_err_prefix(err, "manifest");
	free(buf);
	manifest_free(r.m);
	return NULL;
}

struct manifest *
manifest_read(int fd, uint64_t max, struct snap_err *err)
{
	return read_stream(fd, max, NULL, 0, err);
}

struct manifest *
manifest_read_header(int fd, struct snap_err *err)
{
	struct snap_reader r = { .m = manifest_new() };
	char buf[MANIFEST_LINE_MAX + 1], *nl = NULL;
	ssize_t n;

	if (r.m == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "manifest: out of memory");
		return NULL;
	}
	if ((n = pread(fd, buf, sizeof(buf), 0)) == -1)
		snap_err_sys(err, errno, "manifest: read");
	else if ((nl = memchr(buf, '\n', (size_t)n)) == NULL)
		snap_err_setc(err, SNAP_E_MALFORMED,
		    "manifest: no header line");
	else if (feed_line(&r, buf, (size_t)(nl - buf), err) == -1)
		snap_err_prefix(err, "manifest");
	else
		return r.m;
	manifest_free(r.m);
	return NULL;
}

struct manifest *
manifest_read_checked(int fd, const struct state_file *f, unsigned flags,
    struct snap_err *err)
{
	struct digest *d = calloc(1, sizeof(*d));
	struct manifest *m;

	if (d == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "manifest: out of memory");
		return NULL;
	}
	d->expect = f;
	hash_init(&d->h);
	if ((d->want_b2 = f->blake2b[0] != '\0'))
		sign_hash_init(&d->b2);
	m = read_stream(fd, f->size, d, flags, err);
	free(d);
	return m;
}
