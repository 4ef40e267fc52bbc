/*
 * manifest_write.c - a manifest out as JSON lines (see manifest.h for the
 * format), streamed in constant memory and hashed as it is written.
 *
 * Calling sequence: manifest_write(m, fd, &f) into a file (f, when given,
 * gets the size, XXH128 and BLAKE2b of the bytes written: the file's state
 * record), or manifest_to_json(m, &buf, &len) into memory (the caller
 * frees buf). m must be sorted. -1 with err (the errno of the first failed
 * write, or EOVERFLOW for a line over the limit): the file then holds a
 * partial manifest that the caller discards.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fsutil.h"
#include "jsonfield.h"
#include "manifest_int.h"
#include "names.h"
#include "sign.h"
#include "state.h"
#include "timeutil.h"
#include "xmlcheck.h"

#define LABELS_JSON_MAX (2 * 1024 + 8)

json_t *
manifest_labels_json(const char *labels)
{
	json_t *arr = json_array();
	const char *p = labels, *comma;

	if (arr == NULL)
		return NULL;
	for (;;) {
		comma = strchr(p, ',');
		if (json_array_append_new(arr, json_stringn(p,
		    comma ? (size_t)(comma - p) : strlen(p))) == -1) {
			json_decref(arr);
			return NULL;
		}
		if (comma == NULL)
			return arr;
		p = comma + 1;
	}
}

/*
 * Lines are printed, not built with jansson: a 100,000-artifact manifest
 * must stream in constant memory. That is safe because every string
 * printed comes from a checked alphabet (names: name_check(); labels:
 * manifest_check_labels(); types: our table; hex; RFC 3339), none of which
 * needs escaping in JSON. The reader parses each line with jansson.
 */
struct sink {
	int fd;				/* -1: collect in mem */
	char *mem;
	size_t memlen, memcap;
	char buf[1 << 16];
	size_t used;
	uint64_t total;
	struct hash_state h;
	struct sign_hash b2;		/* when want_b2 */
	bool want_b2;
	int error;			/* errno of the first failure */
};

static void
sink_flush(struct sink *s)
{
	if (s->used == 0 || s->error != 0)
		return;
	hash_update(&s->h, s->buf, s->used);
	if (s->want_b2)
		sign_hash_update(&s->b2, s->buf, s->used);
	s->total += s->used;
	if (s->fd >= 0) {
		if (fsu_write_all(s->fd, s->buf, s->used) == -1)
			s->error = errno;
	} else {
		if (s->memlen + s->used + 1 > s->memcap) {
			size_t ncap = (s->memlen + s->used + 1) * 2;
			char *p = realloc(s->mem, ncap);

			if (p == NULL) {
				s->error = ENOMEM;
				return;
			}
			s->mem = p;
			s->memcap = ncap;
		}
		memcpy(s->mem + s->memlen, s->buf, s->used);
		s->memlen += s->used;
		s->mem[s->memlen] = '\0';
	}
	s->used = 0;
}

/* Room for one line: what a reader takes (an identity may need escapes). */
#define LINE_MAX_BYTES MANIFEST_LINE_MAX

static char *
sink_room(struct sink *s)
{
	if (sizeof(s->buf) - s->used < LINE_MAX_BYTES)
		sink_flush(s);
	return s->buf + s->used;
}

static void
sink_commit(struct sink *s, int n)
{
	if (n > 0 && n < LINE_MAX_BYTES)
		s->used += (size_t)n;
	else if (s->error == 0)
		s->error = EOVERFLOW;
}

static void
print_labels(char *out, size_t len, const char *labels)
{
	size_t used = 0;
	const char *p;

	out[used++] = '"';
	for (p = labels; *p != '\0' && used + 4 < len; p++) {
		if (*p == ',') {
			memcpy(out + used, "\",\"", 3);
			used += 3;
		} else {
			out[used++] = *p;
		}
	}
	out[used++] = '"';
	out[used] = '\0';
}

/* ,"folders":["api",...] for a manifest that knows its folders: out has
 * room for every type's name (len >= 512). */
static void
print_folders(char *out, size_t len, const struct manifest *m)
{
	size_t i, used;

	out[0] = '\0';
	if (!m->has_folders)
		return;
	used = (size_t)snprintf(out, len, ",\"folders\":[");
	for (i = 0; i < TYPE_CONFIG; i++)
		if (m->folders & (1u << i))
			used += (size_t)snprintf(out + used, len - used,
			    "%s\"%s\"", out[used - 1] == '[' ? "" : ",",
			    artifact_types[i].folder);
	snprintf(out + used, len - used, "]");
}

static void
print_header(struct sink *s, const struct manifest *m)
{
	char when[32], folders[512];

	fsu_rfc3339(m->published_at, when);
	print_folders(folders, sizeof(folders), m);
	sink_commit(s, snprintf(sink_room(s), LINE_MAX_BYTES,
	    "{\"format\":%d,\"kind\":\"%s\",\"version\":%" PRIu64
	    ",\"parent_version\":%" PRIu64 ",\"published_at\":\"%s\","
	    "\"artifact_count\":%zu,\"event_count\":%zu%s%s}\n",
	    MANIFEST_FORMAT, m->kind == MANIFEST_DELTA ? "delta" : "full",
	    m->version, m->parent_version, when, m->n, m->nev, folders,
	    m->has_identities ? ",\"identities\":true" : ""));
}

static void
print_entry(struct sink *s, const struct manifest_entry *e)
{
	char when[32], labels[LABELS_JSON_MAX], id[6 * XML_IDENTITY_MAX + 32];
	int n = 0;

	fsu_rfc3339(e->updated_at, when);
	print_labels(labels, sizeof(labels), e->labels);
	id[0] = '\0';
	if (e->identity != NULL) {
		n = snprintf(id, sizeof(id), ",\"identity\":\"");
		n = jf_escape(id + n, sizeof(id) - (size_t)n - 1, e->identity);
		strcat(id, "\"");
	}
	if (n < 0) {	/* cannot happen: identities are bounded */
		if (s->error == 0)
			s->error = EOVERFLOW;
		return;
	}
	sink_commit(s, snprintf(sink_room(s), LINE_MAX_BYTES,
	    "{\"type\":\"%s\",\"name\":\"%s\"%s,\"labels\":[%s],\"size\":%"
	    PRIu64 ",\"xxh128\":\"%s\",\"updated_at\":\"%s\"}\n",
	    artifact_types[e->type].folder, e->name, id, labels, e->size,
	    e->xxh128, when));
}

static void
print_event(struct sink *s, const struct manifest_event *ev)
{
	const char *folder = artifact_types[ev->type].folder;
	char when[32];

	fsu_rfc3339(ev->updated_at, when);
	sink_commit(s, snprintf(sink_room(s), LINE_MAX_BYTES,
	    "{\"id\":\"%s/%s\",\"type\":\"%s\",\"action\":\"%s\","
	    "\"updated_at\":\"%s\"}\n", folder, ev->name, folder,
	    ev->action == MANIFEST_DEPLOY ? "DEPLOY" : "UNDEPLOY", when));
}

static int
sink_write(struct sink *s, const struct manifest *m, struct snap_err *err)
{
	size_t i;

	hash_init(&s->h);
	if (s->want_b2)
		sign_hash_init(&s->b2);
	print_header(s, m);
	for (i = 0; i < m->n && s->error == 0; i++)
		print_entry(s, &m->entries[i]);
	for (i = 0; i < m->nev && s->error == 0; i++)
		print_event(s, &m->events[i]);
	sink_flush(s);
	if (s->error != 0)
		return snap_err_sys(err, s->error, "manifest: write");
	return 0;
}

int
manifest_write(const struct manifest *m, int fd, struct state_file *f,
    struct snap_err *err)
{
	struct sink *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return snap_err_setc(err, SNAP_E_NOMEM, "manifest: out of memory");
	s->fd = fd;
	s->want_b2 = f != NULL;	/* a record of ours needs no BLAKE2b */
	rc = sink_write(s, m, err);
	if (rc == 0 && f != NULL) {
		f->size = s->total;
		hash_final(&s->h, f->xxh128);
		sign_hash_final(&s->b2, f->blake2b);
	}
	free(s);
	return rc;
}

int
manifest_to_json(const struct manifest *m, char **out, size_t *len,
    struct snap_err *err)
{
	struct sink *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (s == NULL)
		return snap_err_setc(err, SNAP_E_NOMEM, "manifest: out of memory");
	s->fd = -1;
	rc = sink_write(s, m, err);
	if (rc == 0) {
		*out = s->mem;
		*len = s->memlen;
	} else {
		free(s->mem);
	}
	free(s);
	return rc;
}
