/*
 * manifesttest.h - what the manifest tests share (test_manifest*.c):
 * format 2 lines built by macros, manifests built by hand, two versions
 * and the delta between them, and the checks that a manifest read or
 * applied is the one expected.
 *
 * Header-only, like testutil.h: every helper is static inline. Include it
 * after <cmocka.h> and "testutil.h".
 */
#ifndef MANIFESTTEST_H
#define MANIFESTTEST_H

#include "fsutil.h"
#include "hash.h"
#include "manifest.h"
#include "names.h"
#include "sign.h"
#include "state.h"

#define H1 "00112233445566778899aabbccddeeff"
#define H2 "ffeeddccbbaa99887766554433221100"
#define H3 "0123456789abcdef0123456789abcdef"
#define T0 "2026-11-24T19:40:00Z"

enum { API = 0, SEQ = 1, EP = 2, TASK = 9 };

/* Format 2: a header line, artifact_count artifact lines, event_count event
 * lines, each ending in '\n'. The macros build lines without their newline;
 * L() adds it. */
#define L(line) line "\n"
#define HEADK(kind, ver, parent, nart, nev) "{\"format\":2,\"kind\":\"" \
	kind "\",\"version\":" ver ",\"parent_version\":" parent \
	",\"published_at\":\"" T0 "\",\"artifact_count\":" nart \
	",\"event_count\":" nev "}"
#define HEAD(ver, parent, nart, nev) HEADK("full", ver, parent, nart, nev)
#define ART(type, name, size, hash) "{\"type\":\"" type "\",\"name\":\"" \
	name "\",\"labels\":[\"default\"],\"size\":" size ",\"xxh128\":\"" \
	hash "\",\"updated_at\":\"" T0 "\"}"
#define EV(id, type, action) "{\"id\":\"" id "\",\"type\":\"" type "\"," \
	"\"action\":\"" action "\",\"updated_at\":\"" T0 "\"}"
/* One artifact (an artifact line, without its newline), no event. */
#define DOC(art) L(HEAD("2", "1", "1", "0")) L(art)
/* No artifact, one event. */
#define EVDOC(ev) L(HEAD("2", "1", "0", "1")) L(ev)
#define GOOD_ART ART("api", "a", "10", H1)
#define GOOD_EV EV("api/a", "api", "DEPLOY")
/* A header line of these fields; REST is every field but the format. */
#define HDR(fields) L("{" fields "}")
#define REST "\"kind\":\"full\",\"version\":2,\"parent_version\":1," \
	"\"published_at\":\"" T0 "\",\"artifact_count\":0,\"event_count\":0"

static inline void
add(struct manifest *m, int type, const char *name, const char *labels,
    uint64_t size, const char *hash, int64_t when)
{
	assert_int_equal(manifest_add(m, type, name, labels, size, hash, when),
	    0);
}

static inline struct manifest *
new_sorted(void)
{
	struct manifest *m = manifest_new();

	assert_non_null(m);
	assert_int_equal(m->n, 0);
	assert_int_equal(m->version, 0);
	return m;
}

/* The reader's verdicts on a document: accepted, or refused with a
 * message. */
static inline struct manifest *
accepted_n(const char *doc, size_t len)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = manifest_from_json(doc, len, &err);

	if (m == NULL)
		fail_msg("refused: %s: %s", err.msg, doc);
	return m;
}

static inline void
refused_n(const char *doc, size_t len, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = manifest_from_json(doc, len, &err);

	if (m != NULL) {
		manifest_free(m);
		fail_msg("accepted: %.*s", (int)len, doc);
	}
	if (strncmp(err.msg, "manifest", 8) != 0)
		fail_msg("message \"%s\" does not start with \"manifest\"",
		    err.msg);
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\" for %.*s", err.msg, want,
		    (int)len, doc);
}

static inline void
refused(const char *doc, const char *want)
{
	refused_n(doc, strlen(doc), want);
}

/* DOC(art) with the artifact line padded (blanks inside the object) to
 * exactly `linelen` bytes before its newline; malloc'ed. */
static inline char *
padded_doc(size_t linelen)
{
	static const char head[] = L(HEAD("2", "1", "1", "0"));
	static const char art[] = GOOD_ART;
	size_t pad = linelen - (sizeof(art) - 1), hl = sizeof(head) - 1;
	char *doc = malloc(hl + linelen + 2);

	assert_true(linelen >= sizeof(art) - 1);
	assert_non_null(doc);
	memcpy(doc, head, hl);
	doc[hl] = '{';
	memset(doc + hl + 1, ' ', pad);
	memcpy(doc + hl + 1 + pad, art + 1, sizeof(art) - 2);
	doc[hl + linelen] = '\n';
	doc[hl + linelen + 1] = '\0';
	return doc;
}

/* The sum of m's entry sizes, counted again (total_bytes must be it). */
static inline uint64_t
sum_of_sizes(const struct manifest *m)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < m->n; i++)
		total += m->entries[i].size;
	return total;
}

/* Every field of a and b, entries and events in order, is the same. */
static inline void
assert_manifests_equal(const struct manifest *a, const struct manifest *b)
{
	size_t i;

	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->parent_version, b->parent_version);
	assert_int_equal(a->published_at, b->published_at);
	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		const struct manifest_entry *x = &a->entries[i];
		const struct manifest_entry *y = &b->entries[i];

		assert_int_equal(x->type, y->type);
		assert_string_equal(x->name, y->name);
		assert_string_equal(x->labels, y->labels);
		assert_int_equal(x->size, y->size);
		assert_int_equal(x->updated_at, y->updated_at);
		assert_string_equal(x->xxh128, y->xxh128);
	}
	assert_int_equal(a->total_bytes, b->total_bytes);
	assert_int_equal(a->total_bytes, sum_of_sizes(a));
	assert_int_equal(a->nev, b->nev);
	for (i = 0; i < a->nev; i++) {
		assert_int_equal(a->events[i].type, b->events[i].type);
		assert_string_equal(a->events[i].name, b->events[i].name);
		assert_int_equal(a->events[i].action, b->events[i].action);
		assert_int_equal(a->events[i].updated_at,
		    b->events[i].updated_at);
	}
}

/* n artifacts over every type, some labelled, each a DEPLOY event: a
 * manifest of many read() chunks when n is in the thousands. */
static inline struct manifest *
big_manifest(size_t n)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = new_sorted();
	char name[64];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "artifact-%06zu.v_1", i);
		add(m, (int)(i % artifact_type_count), name,
		    i % 3 ? NULL : "blue,green", i * 7, i % 2 ? H1 : H2, 0);
	}
	assert_int_equal(manifest_sort(m, &err), 0);
	assert_int_equal(manifest_diff(NULL, m, 1795549200), 0);
	m->version = 9;
	m->parent_version = 8;
	m->published_at = 1795549200;
	return m;
}

/* Creates dir/name for reading and writing; returns the fd. */
static inline int
open_tmp(const char *dir, const char *name)
{
	char path[TU_PATH];
	int fd;

	tu_path(path, "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		fail_msg("%s: %s", path, strerror(errno));
	return fd;
}

/* The next version of prev, with prev's entries and no events, for a test
 * to edit (drop() and change() before any add(): they look entries up)
 * and then finish(). */
static inline struct manifest *
next_of(const struct manifest *prev)
{
	struct manifest *m = manifest_dup(prev);

	assert_non_null(m);
	manifest_clear_events(m);
	m->kind = MANIFEST_FULL;
	m->parent_version = prev->version;
	m->version = prev->version + 1;
	m->published_at = prev->published_at + 100;
	return m;
}

/* Sorts cur and fills its events from prev, as a publisher does. */
static inline void
finish(const struct manifest *prev, struct manifest *cur)
{
	struct snap_err err = SNAP_ERR_INIT;

	assert_int_equal(manifest_sort(cur, &err), 0);
	assert_int_equal(manifest_diff(prev, cur, cur->published_at), 0);
}

static inline void
drop(struct manifest *m, int type, const char *name)
{
	struct manifest_entry *e = manifest_find(m, type, name);

	assert_non_null(e);
	free(e->name);
	assert_int_equal(manifest_entry_set_labels(e, "default"), 0);
	m->total_bytes -= e->size;	/* kept by whoever edits entries */
	memmove(e, e + 1, (size_t)(m->entries + m->n - (e + 1)) * sizeof(*e));
	m->n--;
}

static inline void
change(struct manifest *m, int type, const char *name, const char *hash,
    const char *labels)
{
	struct manifest_entry *e = manifest_find(m, type, name);

	assert_non_null(e);
	if (hash != NULL) {
		strcpy(e->xxh128, hash);
		e->size++;
		m->total_bytes++;
	}
	if (labels != NULL) {
		assert_int_equal(manifest_entry_set_labels(e, labels), 0);
	}
}

/* Version 1: five artifacts, each deployed at time 100. */
static inline struct manifest *
version_one(void)
{
	struct manifest *m = new_sorted();

	add(m, API, "same", NULL, 10, H1, 0);
	add(m, API, "changed", NULL, 10, H1, 0);
	add(m, API, "relabelled", NULL, 10, H1, 0);
	add(m, SEQ, "removed", NULL, 10, H1, 0);
	add(m, TASK, "gone", NULL, 10, H1, 0);
	m->version = 1;
	m->published_at = 100;
	finish(NULL, m);
	return m;
}

/* Version 2 of version_one(): every kind of change at once. */
static inline struct manifest *
version_two(const struct manifest *v1)
{
	struct manifest *m = next_of(v1);

	change(m, API, "changed", H2, NULL);
	change(m, API, "relabelled", NULL, "blue,green");
	drop(m, SEQ, "removed");
	drop(m, TASK, "gone");
	add(m, EP, "added", NULL, 7, H3, 0);
	add(m, SEQ, "new", "x", 7, H3, 0);
	finish(v1, m);
	return m;
}

/* Delta d of prev -> cur, applied undoably to a copy of prev: cur exactly
 * (or, past the in-place bounds, nothing done), and undone: prev exactly. */
static inline void
assert_undo_round_trip(const struct manifest *prev, const struct manifest *cur,
    const struct manifest *d)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = manifest_dup(prev);
	struct manifest_undo u;
	int rc;

	assert_non_null(m);
	rc = manifest_apply_delta_undoable(m, d, &u, &err);
	if (rc == -1)
		fail_msg("apply undoable: %s", err.msg);
	if (rc == 0) {
		assert_manifests_equal(m, cur);
		manifest_undo(m, &u);
	}
	assert_manifests_equal(m, prev);
	manifest_free(m);
}

/* delta(cur) applied to a copy of prev, directly and after a trip through
 * the on-disk format, must be cur exactly; and undone, prev exactly. */
static inline void
assert_delta_round_trip(const struct manifest *prev, const struct manifest *cur)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *d = manifest_delta(cur), *m, *parsed;
	char *json = NULL;
	size_t len;

	assert_non_null(d);
	m = manifest_dup(prev);
	assert_non_null(m);
	if (manifest_apply_delta(m, d, &err) != 0)
		fail_msg("apply: %s", err.msg);
	assert_manifests_equal(m, cur);
	manifest_free(m);
	assert_undo_round_trip(prev, cur, d);

	assert_int_equal(manifest_to_json(d, &json, &len, &err), 0);
	if ((parsed = manifest_from_json(json, len, &err)) == NULL)
		fail_msg("%s: %s", err.msg, json);
	assert_manifests_equal(parsed, d);
	m = manifest_dup(prev);
	assert_non_null(m);
	assert_int_equal(manifest_apply_delta(m, parsed, &err), 0);
	assert_manifests_equal(m, cur);
	manifest_free(m);
	manifest_free(parsed);
	manifest_free(d);
	free(json);
}

#endif
