/*
 * test_manifest.c - unit tests of snapshots/manifest.c.
 *
 * Building (add, sort, find), diffing two versions into DEPLOY/UNDEPLOY
 * events, and the JSON round trip; then the reader's distrust: every way a
 * manifest on a shared directory could be damaged or forged must be refused
 * with a message, never half-accepted - line by line (format 2), in memory
 * and streamed from a file or a pipe; and a manifest read against its
 * state record must be the very bytes hashed. Last, deltas: what manifest_delta()
 * takes from a version, manifest_apply_delta() must give back exactly on
 * its parent, and a delta that does not fit must leave the parent as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <malloc.h>

#include "fsutil.h"
#include "hash.h"
#include "manifest.h"
#include "names.h"
#include "sign.h"
#include "state.h"
#include "testutil.h"

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

static void
add(struct manifest *m, int type, const char *name, const char *labels,
    uint64_t size, const char *hash, int64_t when)
{
	assert_int_equal(manifest_add(m, type, name, labels, size, hash, when),
	    0);
}

static struct manifest *
new_sorted(void)
{
	struct manifest *m = manifest_new();

	assert_non_null(m);
	assert_int_equal(m->n, 0);
	assert_int_equal(m->version, 0);
	return m;
}

static void
test_add_sort_find(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = new_sorted();
	struct manifest_entry *e;
	char name[16];
	size_t i;
	int k;

	(void)state;
	manifest_free(NULL);
	add(m, TASK, "t", NULL, 1, H1, 5);
	add(m, API, "b", "x,y", 2, H2, 6);
	add(m, SEQ, "a", NULL, 3, H3, 7);
	add(m, API, "B", NULL, 4, H1, 8);
	add(m, API, "a", NULL, 5, H2, 9);
	/* More than the initial capacity, to exercise growth. */
	for (k = 0; k < 200; k++) {
		snprintf(name, sizeof(name), "n%03d", 199 - k);
		add(m, EP, name, NULL, (uint64_t)k, H3, k);
	}
	assert_int_equal(manifest_sort(m, &err), 0);
	assert_int_equal(m->n, 205);
	/* Sorted by type index first, then by name (bytewise). */
	assert_int_equal(m->entries[0].type, API);
	assert_string_equal(m->entries[0].name, "B");
	assert_string_equal(m->entries[1].name, "a");
	assert_string_equal(m->entries[2].name, "b");
	assert_int_equal(m->entries[3].type, SEQ);
	assert_int_equal(m->entries[4].type, EP);
	assert_string_equal(m->entries[4].name, "n000");
	assert_int_equal(m->entries[204].type, TASK);
	for (i = 1; i < m->n; i++)
		assert_true(m->entries[i - 1].type < m->entries[i].type ||
		    (m->entries[i - 1].type == m->entries[i].type &&
		    strcmp(m->entries[i - 1].name, m->entries[i].name) < 0));

	e = manifest_find(m, API, "b");
	assert_non_null(e);
	assert_int_equal(e->size, 2);
	assert_string_equal(e->labels, "x,y");
	assert_string_equal(e->xxh128, H2);
	assert_int_equal(e->updated_at, 6);
	e = manifest_find(m, SEQ, "a");
	assert_non_null(e);
	assert_string_equal(e->labels, "default");
	assert_non_null(manifest_find(m, EP, "n123"));
	assert_null(manifest_find(m, API, "c"));
	assert_null(manifest_find(m, SEQ, "b"));	/* name of another type */
	assert_null(manifest_find(m, TASK + 0, "a"));
	assert_null(manifest_find(m, 3, "t"));
	manifest_free(m);

	m = new_sorted();
	assert_int_equal(manifest_sort(m, &err), 0);
	assert_null(manifest_find(m, API, "a"));
	manifest_free(m);
}

static void
test_duplicate_refused(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = new_sorted();

	(void)state;
	add(m, API, "a", NULL, 1, H1, 0);
	add(m, SEQ, "a", NULL, 1, H1, 0);	/* same name, other type: fine */
	add(m, API, "z", NULL, 1, H1, 0);
	add(m, API, "a", NULL, 2, H2, 0);
	assert_int_equal(manifest_sort(m, &err), -1);
	assert_string_equal(err.msg, "api/a: listed twice");
	manifest_free(m);
}

static const struct manifest_event *
find_event(const struct manifest *m, int type, const char *name)
{
	size_t i;

	for (i = 0; i < m->nev; i++)
		if (m->events[i].type == type &&
		    strcmp(m->events[i].name, name) == 0)
			return &m->events[i];
	return NULL;
}

static void
assert_event(const struct manifest *m, int type, const char *name,
    enum manifest_action action, int64_t when)
{
	const struct manifest_event *ev = find_event(m, type, name);

	if (ev == NULL)
		fail_msg("no event for %s/%s", artifact_types[type].folder,
		    name);
	assert_int_equal(ev->action, action);
	assert_int_equal(ev->updated_at, when);
}

static void
test_diff(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *prev = new_sorted(), *cur = new_sorted();

	(void)state;
	add(prev, API, "same", NULL, 10, H1, 100);
	add(prev, API, "changed", NULL, 10, H1, 100);
	add(prev, API, "relabelled", NULL, 10, H1, 100);
	add(prev, SEQ, "removed", NULL, 10, H1, 100);
	add(prev, TASK, "gone", NULL, 10, H1, 100);
	assert_int_equal(manifest_sort(prev, &err), 0);

	add(cur, API, "same", NULL, 10, H1, 0);
	add(cur, API, "changed", NULL, 10, H2, 0);
	add(cur, API, "relabelled", "blue", 10, H1, 0);
	add(cur, EP, "added", NULL, 7, H3, 0);
	add(cur, SEQ, "new", NULL, 7, H3, 0);
	assert_int_equal(manifest_sort(cur, &err), 0);

	assert_int_equal(manifest_diff(prev, cur, 500), 0);
	assert_int_equal(cur->nev, 6);
	assert_event(cur, API, "changed", MANIFEST_DEPLOY, 500);
	assert_event(cur, API, "relabelled", MANIFEST_DEPLOY, 500);
	assert_event(cur, EP, "added", MANIFEST_DEPLOY, 500);
	assert_event(cur, SEQ, "new", MANIFEST_DEPLOY, 500);
	assert_event(cur, SEQ, "removed", MANIFEST_UNDEPLOY, 500);
	assert_event(cur, TASK, "gone", MANIFEST_UNDEPLOY, 500);
	assert_null(find_event(cur, API, "same"));
	/* Unchanged keeps the time it last changed; the rest get `now`. */
	assert_int_equal(manifest_find(cur, API, "same")->updated_at, 100);
	assert_int_equal(manifest_find(cur, API, "changed")->updated_at, 500);
	assert_int_equal(manifest_find(cur, EP, "added")->updated_at, 500);
	/* Events come in (type, name) order. */
	assert_int_equal(cur->events[0].type, API);
	assert_string_equal(cur->events[0].name, "changed");
	assert_int_equal(cur->events[5].type, TASK);

	manifest_clear_events(cur);
	assert_int_equal(cur->nev, 0);
	assert_int_equal(cur->n, 5);

	/* Against nothing: everything is a DEPLOY. */
	assert_int_equal(manifest_diff(NULL, cur, 600), 0);
	assert_int_equal(cur->nev, 5);
	assert_event(cur, API, "same", MANIFEST_DEPLOY, 600);

	/* Against itself: no event. */
	manifest_clear_events(cur);
	assert_int_equal(manifest_diff(cur, cur, 700), 0);
	assert_int_equal(cur->nev, 0);
	manifest_free(prev);
	manifest_free(cur);
}

static void
test_same_content(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *a = new_sorted(), *b = new_sorted();

	(void)state;
	add(a, API, "x", NULL, 1, H1, 1);
	add(a, SEQ, "y", "l1,l2", 2, H2, 2);
	add(b, SEQ, "y", "l1,l2", 2, H2, 99);	/* times do not count */
	add(b, API, "x", NULL, 1, H1, 98);
	assert_int_equal(manifest_sort(a, &err), 0);
	assert_int_equal(manifest_sort(b, &err), 0);
	assert_true(manifest_same_content(a, b));
	b->entries[1].xxh128[0] = '0';
	assert_false(manifest_same_content(a, b));
	b->entries[1].xxh128[0] = H2[0];
	assert_int_equal(manifest_entry_set_labels(&b->entries[1], "l1"), 0);
	assert_false(manifest_same_content(a, b));
	manifest_free(b);
	b = new_sorted();
	add(b, API, "x", NULL, 1, H1, 1);
	assert_int_equal(manifest_sort(b, &err), 0);
	assert_false(manifest_same_content(a, b));
	assert_false(manifest_same_content(b, a));
	manifest_free(a);
	manifest_free(b);
}

/* The number of '\n' in s. */
static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_json_round_trip(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = new_sorted(), *prev = new_sorted(), *r;
	char *json = NULL;
	size_t len, i;

	(void)state;
	add(prev, API, "old", NULL, 1, H1, 1000);
	add(prev, SEQ, "main", NULL, 2, H2, 1000);
	assert_int_equal(manifest_sort(prev, &err), 0);
	add(m, SEQ, "main", NULL, 2, H2, 0);
	add(m, API, "HelloWorld", "blue,green", 443, H3, 0);
	add(m, TASK, "t.1_x-y", NULL, 0, H1, 0);
	assert_int_equal(manifest_sort(m, &err), 0);
	assert_int_equal(manifest_diff(prev, m, 1795549200), 0);
	m->version = 42;
	m->parent_version = 41;
	m->published_at = 1795549200;

	assert_int_equal(manifest_to_json(m, &json, &len, &err), 0);
	assert_int_equal(len, strlen(json));
	/* Format 2: the header line, three artifact lines, three events. */
	assert_int_equal(strncmp(json, L(HEAD("42", "41", "3", "3")),
	    strlen(L(HEAD("42", "41", "3", "3")))), 0);
	assert_int_equal(count_lines(json), 7);
	assert_int_equal(json[len - 1], '\n');
	assert_non_null(strstr(json, "\n" L(ART("tasks", "t.1_x-y", "0", H1)
	    ) "{\"id\":"));
	assert_non_null(strstr(json, "\"artifact_count\":3"));
	assert_non_null(strstr(json, "\"labels\":[\"blue\",\"green\"]"));
	assert_non_null(strstr(json, "\"id\":\"api/old\""));
	assert_non_null(strstr(json, "\"action\":\"UNDEPLOY\""));
	assert_non_null(strstr(json, "\"published_at\":\"2026-11-24T19:40:00Z\""));

	r = manifest_from_json(json, len, &err);
	if (r == NULL)
		fail_msg("%s: %s", err.msg, json);
	assert_true(manifest_same_content(m, r));
	assert_int_equal(r->version, 42);
	assert_int_equal(r->parent_version, 41);
	assert_int_equal(r->published_at, 1795549200);
	assert_int_equal(r->n, 3);
	for (i = 0; i < m->n; i++) {
		assert_int_equal(r->entries[i].type, m->entries[i].type);
		assert_string_equal(r->entries[i].name, m->entries[i].name);
		assert_int_equal(r->entries[i].size, m->entries[i].size);
		assert_int_equal(r->entries[i].updated_at,
		    m->entries[i].updated_at);
	}
	assert_int_equal(manifest_find(r, SEQ, "main")->updated_at, 1000);
	assert_int_equal(r->nev, m->nev);
	assert_int_equal(r->nev, 3);
	for (i = 0; i < m->nev; i++) {
		assert_int_equal(r->events[i].type, m->events[i].type);
		assert_string_equal(r->events[i].name, m->events[i].name);
		assert_int_equal(r->events[i].action, m->events[i].action);
		assert_int_equal(r->events[i].updated_at,
		    m->events[i].updated_at);
	}
	/* Writing the parsed manifest gives the same bytes. */
	{
		char *again = NULL;
		size_t alen;

		assert_int_equal(manifest_to_json(r, &again, &alen, &err), 0);
		assert_int_equal(alen, len);
		assert_string_equal(again, json);
		free(again);
	}
	free(json);
	manifest_free(r);
	manifest_free(m);
	manifest_free(prev);
}

/* --- the distrustful reader --- */

static struct manifest *
accepted_n(const char *doc, size_t len)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = manifest_from_json(doc, len, &err);

	if (m == NULL)
		fail_msg("refused: %s: %s", err.msg, doc);
	return m;
}

static void
accepted(const char *doc)
{
	manifest_free(accepted_n(doc, strlen(doc)));
}

static void
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

static void
refused(const char *doc, const char *want)
{
	refused_n(doc, strlen(doc), want);
}

static void
test_from_json_controls(void **state)
{
	struct manifest *m;

	(void)state;
	/* The baselines the refusals below each break in one place. */
	accepted(DOC(GOOD_ART));
	accepted(EVDOC(GOOD_EV));
	accepted(EVDOC(EV("local-entries/x.y", "local-entries", "UNDEPLOY")));
	accepted(DOC(ART("api", "a", "33554432", H1)));	/* exactly the max */
	accepted(L(HEAD("1", "0", "0", "0")));
	accepted(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"x\","
	    "\"y-z\"],\"size\":0,\"xxh128\":\"" H1 "\",\"updated_at\":\""
	    T0 "\"}"));
	/* Keys in any order, blanks around them. */
	accepted(L("{ \"event_count\":0, \"artifact_count\":0, "
	    "\"published_at\":\"" T0 "\", \"parent_version\":1,\"version\":2,"
	    "\"kind\":\"full\",\"format\":2 }"));

	/* Both kinds, with artifacts and events; the result is sorted. */
	{
		static const char doc[] = L(HEADK("delta", "7", "6", "2", "2"))
		    L(ART("sequences", "s", "3", H2))
		    L(ART("api", "a", "10", H1))
		    L(EV("api/a", "api", "DEPLOY"))
		    L(EV("tasks/t", "tasks", "UNDEPLOY"));

		m = accepted_n(doc, sizeof(doc) - 1);
	}
	assert_int_equal(m->kind, MANIFEST_DELTA);
	assert_int_equal(m->version, 7);
	assert_int_equal(m->parent_version, 6);
	assert_int_equal(m->n, 2);
	assert_int_equal(m->entries[0].type, API);
	assert_int_equal(m->entries[1].type, SEQ);
	assert_int_equal(m->nev, 2);
	assert_int_equal(m->events[1].type, TASK);
	assert_int_equal(m->events[1].action, MANIFEST_UNDEPLOY);
	manifest_free(m);
	m = accepted_n(DOC(GOOD_ART), strlen(DOC(GOOD_ART)));
	assert_int_equal(m->kind, MANIFEST_FULL);
	manifest_free(m);
}

/* The first `len` bytes of doc must be refused, with the reason a reader
 * can tell from where the cut fell. */
static void
refused_cut(const char *doc, size_t len)
{
	if (len == 0)
		refused_n(doc, len, "manifest: empty");
	else if (doc[len - 1] == '\n')
		refused_n(doc, len, "header counts");
	else
		refused_n(doc, len, "last line has no newline");
}

static void
test_from_json_malformed(void **state)
{
	static const char doc[] = L(HEAD("2", "1", "2", "2"))
	    L(ART("api", "a", "10", H1)) L(ART("api", "b", "11", H2))
	    L(GOOD_EV) L(EV("api/c", "api", "UNDEPLOY"));
	size_t cut;

	(void)state;
	accepted(doc);
	refused("", "empty");
	refused("\n", "line 1: malformed JSON");
	refused("{", "no newline");
	refused("{\n", "line 1: malformed JSON");
	refused("[]\n", "line 1: header is not a JSON object");
	refused("42\n", "line 1: malformed JSON");
	refused("null\n", "line 1: malformed JSON");
	refused(DOC(GOOD_ART) "x", "last line has no newline");
	refused(DOC(GOOD_ART) "x\n", "line 3: malformed JSON");
	refused(DOC(GOOD_ART) "\n", "line 3: malformed JSON");
	refused(L(HEAD("2", "1", "1", "0")) "\n" L(GOOD_ART),
	    "line 2: malformed JSON");
	/* Two objects on one line, or one spread over two. */
	refused(L(HEAD("2", "1", "1", "0") GOOD_ART), "line 1: malformed JSON");
	refused(L(HEAD("2", "1", "0", "0") "{}"), "line 1: malformed JSON");
	refused(L(HEAD("2", "1", "1", "0")) "{\"type\":\"api\",\n"
	    "\"name\":\"a\",\"labels\":[\"default\"],\"size\":10,\"xxh128\":\""
	    H1 "\",\"updated_at\":\"" T0 "\"}\n", "line 2: malformed JSON");
	/* Cut anywhere - in a line, or exactly after one, short of the
	 * counts - never accepted. */
	for (cut = 0; cut < sizeof(doc) - 1; cut++)
		refused_cut(doc, cut);
	/* Duplicate keys, in the header and inside an artifact. */
	refused(L("{\"format\":2,\"kind\":\"full\",\"version\":2,"
	    "\"parent_version\":1,\"published_at\":\"" T0 "\","
	    "\"artifact_count\":0,\"event_count\":0,\"format\":2}"),
	    "duplicate");
	refused(L("{\"format\":2,\"kind\":\"full\",\"version\":2,"
	    "\"parent_version\":1,\"published_at\":\"" T0 "\","
	    "\"artifact_count\":0,\"event_count\":0,\"version\":3}"),
	    "duplicate");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"name\":\"b\","
	    "\"labels\":[\"default\"],\"size\":10,\"xxh128\":\"" H1 "\","
	    "\"updated_at\":\"" T0 "\"}"), "duplicate");
	refused(EVDOC("{\"id\":\"api/a\",\"type\":\"api\",\"action\":"
	    "\"DEPLOY\",\"action\":\"UNDEPLOY\",\"updated_at\":\"" T0 "\"}"),
	    "duplicate");
}

/* DOC(art) with the artifact line padded (blanks inside the object) to
 * exactly `linelen` bytes before its newline; malloc'ed. */
static char *
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

static void
test_from_json_lines(void **state)
{
	static const char two[] = L(HEAD("2", "1", "2", "0"))
	    L(ART("api", "a", "10", H1)) L(ART("api", "b", "10", H1));
	char *doc, buf[sizeof(two)];
	size_t i;

	(void)state;
	/* The last line without its newline. */
	refused_n(two, sizeof(two) - 2,
	    "last line has no newline (truncated?)");
	refused(L(HEAD("1", "0", "0", "0")) "\n", "line 2: malformed JSON");
	refused(HEAD("1", "0", "0", "0"), "no newline");
	/* Bounded lines: 8191 bytes is a line, 8192 is not, wherever it is. */
	doc = padded_doc(8191);
	accepted(doc);
	free(doc);
	doc = padded_doc(8192);
	refused(doc, "line 2 is longer than 8192 bytes");
	free(doc);
	doc = padded_doc(100000);
	refused(doc, "line 2 is longer than");
	doc[strlen(doc) - 1] = ' ';	/* and with no newline at all */
	refused(doc, "line 2 is longer than");
	free(doc);
	/* A NUL inside a line, wherever it falls: in a string, between
	 * tokens, at either end of the line. */
	for (i = 0; i < sizeof(two) - 1; i++) {
		if (two[i] == '\n')
			continue;
		memcpy(buf, two, sizeof(two));
		buf[i] = '\0';
		refused_n(buf, sizeof(two) - 1, "holds a NUL byte");
	}
	/* More lines than the counts, or fewer. */
	refused(DOC(GOOD_ART) L(ART("api", "b", "10", H1)),
	    "line 3: more lines than the header counts");
	refused(DOC(GOOD_ART) L(GOOD_EV), "line 3: more lines than the header");
	refused(EVDOC(GOOD_EV) L(GOOD_EV), "line 3: more lines than the");
	refused(L(HEAD("2", "1", "0", "0")) L(GOOD_ART), "line 2: more lines");
	refused(L(HEAD("2", "1", "2", "0")) L(GOOD_ART),
	    "header counts 2 artifacts and 0 events, 1 and 0 are listed");
	refused(L(HEAD("2", "1", "1", "1")) L(GOOD_ART),
	    "header counts 1 artifacts and 1 events, 1 and 0 are listed");
	refused(L(HEAD("2", "1", "0", "2")) L(GOOD_EV),
	    "header counts 0 artifacts and 2 events, 0 and 1 are listed");
	refused(L(HEAD("2", "1", "18446744073709551615", "0")) L(GOOD_ART),
	    "line 1: malformed JSON");
	refused(L(HEAD("2", "1", "9223372036854775807", "0")) L(GOOD_ART),
	    "header counts");
	/* Events before artifacts: the event line is read as an artifact. */
	refused(L(HEAD("2", "1", "1", "1")) L(GOOD_EV) L(GOOD_ART),
	    "line 2: ");
}

static void
test_from_json_wrong_types(void **state)
{
	(void)state;
	accepted(HDR("\"format\":2," REST));	/* the control */
	refused(HDR(REST), "'format'");
	refused(HDR("\"format\":\"2\"," REST), "'format'");
	refused(HDR("\"format\":2.0," REST), "'format'");
	refused(HDR("\"format\":1," REST), "format 1 is not supported "
	    "(this build reads 2)");
	refused(HDR("\"format\":3," REST), "format 3 is not supported");
	/* kind: exactly "full" or "delta". */
	refused(HDR("\"format\":2,\"version\":2,\"parent_version\":1,"
	    "\"published_at\":\"" T0 "\",\"artifact_count\":0,"
	    "\"event_count\":0"), "'kind' is not \"full\" or \"delta\"");
	refused(L(HEADK("partial", "2", "1", "0", "0")), "'kind'");
	refused(L(HEADK("FULL", "2", "1", "0", "0")), "'kind'");
	refused(L(HEADK("", "2", "1", "0", "0")), "'kind'");
	refused(L(HEADK("full ", "2", "1", "0", "0")), "'kind'");
	refused(HDR("\"format\":2,\"kind\":1,\"version\":2,"
	    "\"parent_version\":1,\"published_at\":\"" T0 "\","
	    "\"artifact_count\":0,\"event_count\":0"), "'kind'");
	refused(HDR("\"format\":2,\"kind\":null,\"version\":2,"
	    "\"parent_version\":1,\"published_at\":\"" T0 "\","
	    "\"artifact_count\":0,\"event_count\":0"), "'kind'");
	/* A delta has a parent; a full version need not. */
	refused(L(HEADK("delta", "2", "0", "0", "0")),
	    "a delta without a parent version");
	accepted(L(HEADK("delta", "2", "1", "0", "0")));
	accepted(L(HEADK("full", "2", "0", "0", "0")));
	/* Numbers. */
	refused(L(HEAD("\"2\"", "1", "0", "0")), "'version'");
	refused(L(HEAD("2.0", "1", "0", "0")), "'version'");
	refused(L(HEAD("2", "-1", "0", "0")), "'parent_version'");
	refused(L(HEAD("2", "null", "0", "0")), "'parent_version'");
	refused(L(HEAD("2", "1", "\"0\"", "0")), "'artifact_count'");
	refused(L(HEAD("2", "1", "-1", "0")), "'artifact_count'");
	refused(L(HEAD("2", "1", "0", "\"0\"")), "'event_count'");
	refused(L(HEAD("2", "1", "0", "-1")), "'event_count'");
	refused(L(HEAD("2", "1", "0", "0.5")), "'event_count'");
	refused(HDR("\"format\":2,\"kind\":\"full\",\"version\":2,"
	    "\"parent_version\":1,\"published_at\":\"" T0 "\","
	    "\"artifact_count\":0"), "'event_count'");
	refused(HDR("\"format\":2,\"kind\":\"full\",\"version\":2,"
	    "\"parent_version\":1,\"published_at\":1795549200,"
	    "\"artifact_count\":0,\"event_count\":0"), "'published_at'");
	refused(HDR("\"format\":2,\"kind\":\"full\",\"version\":2,"
	    "\"parent_version\":1,\"published_at\":\"yesterday\","
	    "\"artifact_count\":0,\"event_count\":0"), "'published_at'");
	/* Artifact and event lines must be objects. */
	refused(DOC("[\"api/a\"]"), "line 2: artifact is not an object");
	refused(EVDOC("[]"), "line 2: event is not an object");
	refused(DOC("\"api/a\""), "line 2: malformed JSON");
	refused(DOC(ART("api", "a", "\"10\"", H1)), "'size'");
	refused(DOC(ART("api", "a", "-1", H1)), "'size'");
	refused(DOC(ART("api", "a", "1.5", H1)), "'size'");
	refused(DOC("{\"type\":1,\"name\":\"a\",\"labels\":[\"default\"],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "'type'");
	refused(DOC("{\"type\":\"api\",\"name\":7,\"labels\":[\"default\"],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "'name'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":\"default\","
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "'labels'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "'labels'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[3],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "'labels'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"a,b\"],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "'labels'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"a b\"],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "label");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"\"],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "label");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"default\"],"
	    "\"size\":10,\"xxh128\":5,\"updated_at\":\"" T0 "\"}"), "'xxh128'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"default\"],"
	    "\"size\":10,\"updated_at\":\"" T0 "\"}"), "'xxh128'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"default\"],"
	    "\"size\":10,\"xxh128\":\"" H1 "\"}"), "'updated_at'");
}

static void
test_from_json_bad_fields(void **state)
{
	(void)state;
	/* Names that could become paths. */
	refused(DOC(ART("api", "../x", "10", H1)), "'../x'");
	refused(DOC(ART("api", "a/b", "10", H1)), "'a/b'");
	refused(DOC(ART("api", "..", "10", H1)), NULL);
	refused(DOC(ART("api", ".", "10", H1)), NULL);
	refused(DOC(ART("api", ".hidden", "10", H1)), NULL);
	refused(DOC(ART("api", "", "10", H1)), NULL);
	refused(DOC(ART("api", "a\\tb", "10", H1)), NULL);
	refused(DOC(ART("api", "a\\\"b", "10", H1)), NULL);
	refused(DOC(ART("api", "/etc/passwd", "10", H1)), NULL);
	refused(DOC(ART("api", "a\\\\b", "10", H1)), NULL);
	/* An embedded NUL would hide "/../x" from every check. */
	refused(DOC(ART("api", "a\\u0000/../x", "10", H1)), NULL);
	refused(DOC(ART("api", "a\\u0000", "10", H1)), NULL);
	/* Checksums: 32 lower-case hex digits, nothing else. */
	refused(DOC(ART("api", "a", "10", "00112233445566778899AABBCCDDEEFF")),
	    "'xxh128'");
	refused(DOC(ART("api", "a", "10", "00112233445566778899aabbccddeef")),
	    "'xxh128'");
	refused(DOC(ART("api", "a", "10", H1 "0")), "'xxh128'");
	refused(DOC(ART("api", "a", "10", "0011223344556677 899aabbccddeeff")),
	    "'xxh128'");
	refused(DOC(ART("api", "a", "10", "")), "'xxh128'");
	/* Types. */
	refused(DOC(ART("apis", "a", "10", H1)), "'type'");
	refused(DOC(ART("API", "a", "10", H1)), "'type'");
	refused(DOC(ART("multi", "a", "10", H1)), "'type'");
	refused(DOC(ART("", "a", "10", H1)), "'type'");
	/* Sizes. */
	refused(DOC(ART("api", "a", "33554433", H1)), "over the");
	refused(DOC(ART("api", "a", "18446744073709551615", H1)), NULL);
	refused(DOC(ART("api", "a", "9223372036854775807", H1)), "over the");
}

static void
test_from_json_inconsistent(void **state)
{
	(void)state;
	/* Versions only move forward. */
	refused(L(HEAD("2", "2", "1", "0")) L(GOOD_ART), "not a forward step");
	refused(L(HEAD("2", "3", "1", "0")) L(GOOD_ART), "not a forward step");
	refused(L(HEAD("0", "0", "1", "0")) L(GOOD_ART), "not a forward step");
	refused(L(HEADK("delta", "5", "5", "0", "0")), "not a forward step");
	/* The same artifact twice, wherever the second one is. */
	refused(L(HEAD("2", "1", "2", "0")) L(GOOD_ART)
	    L(ART("api", "a", "11", H2)), "listed twice");
	refused(L(HEAD("2", "1", "3", "0")) L(GOOD_ART)
	    L(ART("sequences", "a", "11", H2)) L(ART("api", "a", "10", H1)),
	    "api/a: listed twice");
	/* Events. */
	refused(EVDOC(EV("api/a", "api", "DELETE")), "'action'");
	refused(EVDOC(EV("api/a", "api", "deploy")), "'action'");
	refused(EVDOC(EV("api-a", "api", "DEPLOY")), "TYPE/NAME");
	refused(EVDOC(EV("api/a", "sequences", "DEPLOY")), "does not match");
	refused(EVDOC(EV("ap/a", "api", "DEPLOY")), "does not match");
	refused(EVDOC(EV("apis/a", "api", "DEPLOY")), "does not match");
	refused(EVDOC(EV("api/../x", "api", "DEPLOY")), NULL);
	refused(EVDOC(EV("api/a/b", "api", "DEPLOY")), NULL);
	refused(EVDOC(EV("api/", "api", "DEPLOY")), NULL);
	refused(EVDOC(EV("api/a", "nope", "DEPLOY")), "'type'");
	refused(EVDOC("{\"id\":\"api/a\",\"type\":\"api\",\"action\":"
	    "\"DEPLOY\"}"), "'updated_at'");
	refused(EVDOC("{\"type\":\"api\",\"action\":\"DEPLOY\",\"updated_at\":"
	    "\"" T0 "\"}"), "TYPE/NAME");
}

/* Identities and type folders: written, read back, refused when bad. */
static void
test_identity_and_folders(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = manifest_new(), *back, *d;
	const struct manifest_entry *e;
	char *json;
	size_t len;

	(void)state;
	assert_int_equal(manifest_add(m, API, "a_v1", NULL, 1, H1, 1000), 0);
	assert_int_equal(manifest_add(m, SEQ, "main", NULL, 1, H2, 1000), 0);
	assert_int_equal(manifest_add(m, TYPE_CONFIG, "synapse", NULL, 1, H3,
	    1000), 0);
	assert_int_equal(manifest_entry_set_identity(&m->entries[0],
	    "A \"q\" \\ \t:v1"), 0);
	assert_int_equal(manifest_entry_set_identity(&m->entries[1], "main"),
	    0);
	assert_null(m->entries[1].identity);	/* the name itself */
	assert_int_equal(manifest_entry_set_identity(&m->entries[2], ""), 0);
	m->version = 1;
	m->published_at = 1000;
	m->has_folders = m->has_identities = true;
	m->folders = 1u << API | 1u << name_type_index("imports");
	assert_int_equal(manifest_sort(m, &err), 0);
	assert_int_equal(manifest_to_json(m, &json, &len, &err), 0);
	assert_non_null(strstr(json, ",\"folders\":[\"api\",\"imports\"]"));
	assert_non_null(strstr(json, ",\"identities\":true}"));
	assert_non_null(strstr(json, "\"identity\":\"A \\\"q\\\" \\\\ "
	    "\\u0009:v1\""));
	back = manifest_from_json(json, len, &err);
	if (back == NULL)
		fail_msg("%s: %s", err.msg, json);
	assert_true(back->has_folders && back->has_identities);
	assert_int_equal(back->folders, m->folders);
	assert_int_equal(manifest_folders(back), 1u << API | 1u << SEQ |
	    1u << name_type_index("imports"));
	e = manifest_find(back, API, "a_v1");
	assert_string_equal(manifest_identity(e), "A \"q\" \\ \t:v1");
	assert_string_equal(manifest_identity(manifest_find(back, SEQ, "main")),
	    "main");
	assert_string_equal(manifest_identity(manifest_find(back, TYPE_CONFIG,
	    "synapse")), "");
	/* A copy and a delta carry them along. */
	d = manifest_dup(back);
	assert_string_equal(manifest_identity(manifest_find(d, API, "a_v1")),
	    "A \"q\" \\ \t:v1");
	assert_int_equal(d->folders, m->folders);
	assert_true(manifest_same_content(m, d));
	d->folders = 0;
	assert_false(manifest_same_content(m, d));
	manifest_free(d);
	manifest_free(back);
	free(json);
	manifest_free(m);

	/* Without a folders field: the classic ten, and what has files. */
	back = accepted_n(DOC(GOOD_ART), strlen(DOC(GOOD_ART)));
	assert_false(back->has_folders || back->has_identities);
	assert_int_equal(manifest_folders(back), (1u << 10) - 1);
	manifest_free(back);
	refused(L("{\"format\":2," REST ",\"folders\":[\"config\"]}"),
	    "'folders'");
	refused(L("{\"format\":2," REST ",\"folders\":[\"api\",\"api\"]}"),
	    "'folders'");
	refused(L("{\"format\":2," REST ",\"folders\":\"api\"}"), "'folders'");
	refused(L("{\"format\":2," REST ",\"identities\":1}"), "'identities'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"identity\":7,"
	    "\"labels\":[\"default\"],\"size\":10,\"xxh128\":\"" H1 "\","
	    "\"updated_at\":\"" T0 "\"}"), "'identity'");
}

/* Unchanged bytes keep their time; a change gets a later one, even
 * within the same second. */
static void
test_stamp(void **state)
{
	struct manifest_entry old = { .updated_at = 5000 };

	(void)state;
	snprintf(old.xxh128, sizeof(old.xxh128), "%s", H1);
	assert_int_equal(manifest_stamp(NULL, H1, 7000), 7000);
	assert_int_equal(manifest_stamp(&old, H1, 7000), 5000);
	assert_int_equal(manifest_stamp(&old, H2, 7000), 7000);
	assert_int_equal(manifest_stamp(&old, H2, 5000), 5001);
	assert_int_equal(manifest_stamp(&old, H2, 4000), 5001);
}

/* --- streaming: manifest_write() and manifest_read() --- */

/* Every field of a and b, entries and events in order, is the same. */
static uint64_t
sum_of_sizes(const struct manifest *m)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < m->n; i++)
		total += m->entries[i].size;
	return total;
}

static void
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
static struct manifest *
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
static int
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

/* Writes m to a file with manifest_write(), checks the bytes and the
 * record it fills (size, XXH128, BLAKE2b) against manifest_to_json(), and
 * reads it back with manifest_read() and manifest_read_checked(). */
static void
assert_write_read(const char *dir, const struct manifest *m)
{
	struct snap_err err = SNAP_ERR_INIT;
	char want[STATE_B2_HEX_LEN + 1], path[TU_PATH];
	char *json = NULL, *got;
	struct state_file f;
	struct manifest *r;
	size_t len, glen;
	int fd = open_tmp(dir, "m.json");

	memset(&f, 0, sizeof(f));
	strcpy(f.name, "untouched");
	if (manifest_write(m, fd, &f, &err) != 0)
		fail_msg("manifest_write: %s", err.msg);
	assert_string_equal(f.name, "untouched");
	assert_int_equal(manifest_to_json(m, &json, &len, &err), 0);
	assert_int_equal(f.size, len);
	hash_buf(json, len, want);
	assert_string_equal(f.xxh128, want);
	sign_hash_buf(json, len, want);
	assert_string_equal(f.blake2b, want);
	tu_path(path, "%s/m.json", dir);
	got = tu_slurp(path, &glen);
	assert_int_equal(glen, len);
	assert_memory_equal(got, json, len);
	free(got);
	free(json);

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	if ((r = manifest_read(fd, f.size, &err)) == NULL)
		fail_msg("manifest_read: %s", err.msg);
	assert_manifests_equal(r, m);
	manifest_free(r);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	if ((r = manifest_read_checked(fd, &f, 0, &err)) == NULL)
		fail_msg("manifest_read_checked: %s", err.msg);
	assert_manifests_equal(r, m);
	manifest_free(r);
	/* One byte over the bound it is given: refused. */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_null(manifest_read(fd, f.size - 1, &err));
	tu_assert_msg(err.msg, "manifest: over ");
	close(fd);
}

static void
test_write_read(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct state_file f;
	struct manifest *m;
	int fd;

	/* Small, then many 64 KiB reads' worth (about 2 MB). */
	m = big_manifest(3);
	assert_write_read(*state, m);
	manifest_free(m);
	m = big_manifest(6000);
	assert_write_read(*state, m);
	/* Without a record to fill. */
	fd = open_tmp(*state, "n.json");
	assert_int_equal(manifest_write(m, fd, NULL, &err), 0);
	close(fd);
	/* A delta, and an empty manifest. */
	m->kind = MANIFEST_DELTA;
	assert_write_read(*state, m);
	manifest_free(m);
	m = new_sorted();
	m->version = 1;
	assert_write_read(*state, m);

	/* A write that fails says so. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(manifest_write(m, fd, &f, &err), -1);
	tu_assert_msg(err.msg, "manifest: write");
	close(fd);
	manifest_free(m);
}

/* manifest_read() of doc[0..len) through a pipe. */
static struct manifest *
read_pipe(const char *doc, size_t len, struct snap_err *err)
{
	struct manifest *m;
	int p[2];

	assert_true(len < 65536);	/* the pipe holds it all */
	assert_int_equal(pipe(p), 0);
	assert_true(fsu_write_all(p[1], doc, len) == 0);
	close(p[1]);
	m = manifest_read(p[0], 1 << 20, err);
	close(p[0]);
	return m;
}

/* manifest_read_header: the header of a written manifest, and the
 * readers' refusals for a first line that is not one. */
static void
test_read_header(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = big_manifest(50), *h;
	int fd = open_tmp(*state, "h.json");

	m->kind = MANIFEST_DELTA;
	assert_int_equal(manifest_write(m, fd, NULL, &err), 0);
	if ((h = manifest_read_header(fd, &err)) == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(h->kind, MANIFEST_DELTA);
	assert_int_equal(h->version, 9);
	assert_int_equal(h->parent_version, 8);
	assert_int_equal(h->n, 0);
	manifest_free(h);
	manifest_free(m);
	close(fd);

	fd = open_tmp(*state, "bad.json");
	assert_int_equal(fsu_write_all(fd, "{\"format\":2", 12), 0);
	assert_null(manifest_read_header(fd, &err));
	tu_assert_msg(err.msg, "manifest: no header line");
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(fsu_write_all(fd, "{\"format\":1}\n", 13), 0);
	assert_null(manifest_read_header(fd, &err));
	tu_assert_msg(err.msg, "manifest: line 1:");
	close(fd);
}

static void
test_read_pipe(void **state)
{
	static const char doc[] = L(HEAD("2", "1", "2", "2"))
	    L(ART("sequences", "s", "3", H2)) L(ART("api", "a", "10", H1))
	    L(GOOD_EV) L(EV("api/c", "api", "UNDEPLOY"));
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m, *want;
	size_t cut;
	char *bad;

	(void)state;
	/* The same manifest as from memory. */
	want = accepted_n(doc, sizeof(doc) - 1);
	if ((m = read_pipe(doc, sizeof(doc) - 1, &err)) == NULL)
		fail_msg("%s", err.msg);
	assert_manifests_equal(m, want);
	manifest_free(m);
	manifest_free(want);
	/* Cut anywhere: refused, for the reason the cut gives. */
	for (cut = 0; cut < sizeof(doc) - 1; cut++) {
		assert_null(read_pipe(doc, cut, &err));
		if (cut == 0)
			tu_assert_msg(err.msg, "manifest: empty");
		else if (doc[cut - 1] == '\n')
			tu_assert_msg(err.msg, "manifest: header counts");
		else
			tu_assert_msg(err.msg, "manifest: last line has no "
			    "newline");
	}
	/* A NUL, an over-long line, more lines than counted. */
	bad = malloc(sizeof(doc));
	assert_non_null(bad);
	memcpy(bad, doc, sizeof(doc));
	bad[strlen(L(HEAD("2", "1", "2", "2"))) + 5] = '\0';
	assert_null(read_pipe(bad, sizeof(doc) - 1, &err));
	tu_assert_msg(err.msg, "manifest: line 2 holds a NUL byte");
	free(bad);
	bad = padded_doc(9000);
	assert_null(read_pipe(bad, strlen(bad), &err));
	tu_assert_msg(err.msg, "manifest: line 2 is longer than 8192 bytes");
	free(bad);
	assert_null(read_pipe(DOC(GOOD_ART) L(GOOD_ART),
	    strlen(DOC(GOOD_ART) L(GOOD_ART)), &err));
	tu_assert_msg(err.msg, "line 3: more lines than the header counts");
	/* A read error. */
	assert_null(manifest_read(-1, 100, &err));
	tu_assert_msg(err.msg, "manifest: read");
}

/*
 * A file of `count` artifact lines of exactly `linelen` bytes each, so
 * that some line straddles the reader's 64 KiB read boundary: the line
 * bound must not depend on where the reads fall.
 */
static void
long_lines_file(const char *dir, size_t count, size_t linelen,
    const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	char head[256], name[32], *line = malloc(linelen + 1);
	struct manifest *m;
	size_t i, n;
	int fd = open_tmp(dir, "long.json");

	assert_non_null(line);
	n = (size_t)snprintf(head, sizeof(head), "{\"format\":2,\"kind\":"
	    "\"full\",\"version\":2,\"parent_version\":1,\"published_at\":\""
	    T0 "\",\"artifact_count\":%zu,\"event_count\":0}\n", count);
	assert_int_equal(fsu_write_all(fd, head, n), 0);
	for (i = 0; i < count; i++) {
		int k;

		snprintf(name, sizeof(name), "a%04zu", i);
		k = snprintf(line, linelen + 1, "{\"type\":\"api\",\"name\":"
		    "\"%s\",\"labels\":[\"default\"],\"size\":1,\"xxh128\":\""
		    H1 "\",\"updated_at\":\"" T0 "\"", name);
		assert_true(k > 0 && (size_t)k < linelen - 1);
		memset(line + k, ' ', linelen - (size_t)k - 1);
		line[linelen - 1] = '}';
		assert_int_equal(fsu_write_all(fd, line, linelen), 0);
		assert_int_equal(fsu_write_all(fd, "\n", 1), 0);
	}
	free(line);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	m = manifest_read(fd, UINT64_MAX, &err);
	close(fd);
	if (want == NULL) {
		if (m == NULL)
			fail_msg("refused: %s", err.msg);
		assert_int_equal(m->n, count);
		manifest_free(m);
	} else {
		assert_null(m);
		tu_assert_msg(err.msg, want);
	}
}

static void
test_read_long_lines(void **state)
{
	/* 9 lines of 8192 bytes (with the newline): line 9 straddles the
	 * first 64 KiB boundary. */
	long_lines_file(*state, 9, 8191, NULL);
	long_lines_file(*state, 9, 8192, "line 2 is longer than 8192 bytes");
	/* Lines that each fit, over several reads. */
	long_lines_file(*state, 100, 4000, NULL);
}

/* --- reading against a state record: manifest_read_checked() --- */

/* manifest_read_checked() of doc[0..len) through a pipe: one pass, no
 * seek back - what is hashed is what is parsed. */
static struct manifest *
read_pipe_flags(const char *doc, size_t len, const struct state_file *f,
    unsigned flags, struct snap_err *err)
{
	struct manifest *m;
	int p[2];

	assert_true(len < 65536);
	assert_int_equal(pipe(p), 0);
	assert_true(fsu_write_all(p[1], doc, len) == 0);
	close(p[1]);
	m = manifest_read_checked(p[0], f, flags, err);
	close(p[0]);
	return m;
}

static struct manifest *
read_pipe_checked(const char *doc, size_t len, const struct state_file *f,
    struct snap_err *err)
{
	return read_pipe_flags(doc, len, f, 0, err);
}

/* The record of doc, as a publisher writes it. */
static void
record_of(const char *doc, size_t len, struct state_file *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->name, "snapshots/2.manifest.json");
	f->size = len;
	hash_buf(doc, len, f->xxh128);
	sign_hash_buf(doc, len, f->blake2b);
}

static void
test_read_checked(void **state)
{
	static const char doc[] = L(HEAD("2", "1", "2", "1"))
	    L(ART("sequences", "s", "3", H2)) L(ART("api", "a", "10", H1))
	    L(GOOD_EV);
	const size_t len = sizeof(doc) - 1;
	struct snap_err err = SNAP_ERR_INIT;
	struct state_file f, g;
	struct manifest *m;
	char *bad;

	(void)state;
	record_of(doc, len, &f);
	if ((m = read_pipe_checked(doc, len, &f, &err)) == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(m->n, 2);
	manifest_free(m);
	/* A record without a BLAKE2b (written before it existed): the size
	 * and XXH128 still hold. */
	g = f;
	g.blake2b[0] = '\0';
	if ((m = read_pipe_checked(doc, len, &g, &err)) == NULL)
		fail_msg("%s", err.msg);
	manifest_free(m);

	/* Bytes whose XXH128 is what the record says but whose BLAKE2b is
	 * not - a file crafted to keep the weak checksum: refused. */
	g = f;
	g.blake2b[5] = g.blake2b[5] == '0' ? '1' : '0';
	assert_null(read_pipe_checked(doc, len, &g, &err));
	tu_assert_msg(err.msg, "blake2b mismatch (blake2b ");
	assert_null(strstr(err.msg, "manifest:"));

	/* One byte changed: the checksum says so, not the parser, though
	 * the byte also breaks the JSON (parsing stops, reading does not). */
	bad = strdup(doc);
	assert_non_null(bad);
	bad[1] = 'X';
	assert_null(read_pipe_checked(bad, len, &f, &err));
	tu_assert_msg(err.msg, "checksum mismatch (xxh128 ");
	/* A line that breaks the JSON after many good ones: the same. */
	memcpy(bad, doc, len);
	bad[len - 3] = '{';
	assert_null(read_pipe_checked(bad, len, &f, &err));
	tu_assert_msg(err.msg, "checksum mismatch");
	/* The same broken bytes, recorded as published: the parser's word. */
	record_of(bad, len, &g);
	assert_null(read_pipe_checked(bad, len, &g, &err));
	tu_assert_msg(err.msg, "manifest: line 4: malformed JSON");
	free(bad);

	/* Shorter and longer than recorded. */
	assert_null(read_pipe_checked(doc, len - 1, &f, &err));
	tu_assert_msg(err.msg, "bytes, state records");
	g = f;
	g.size = len - 1;
	assert_null(read_pipe_checked(doc, len, &g, &err));
	tu_assert_msg(err.msg, "bytes, longer than the");
	g.size = 0;
	assert_null(read_pipe_checked(doc, len, &g, &err));
	tu_assert_msg(err.msg, "bytes, longer than the 0 state records "
	    "(replaced by another file?)");
	/* Recorded and read: an empty file, refused by the parser. */
	record_of("", 0, &g);
	assert_null(read_pipe_checked("", 0, &g, &err));
	tu_assert_msg(err.msg, "manifest: empty");
	/* A read error. */
	assert_null(manifest_read_checked(-1, &f, 0, &err));
	tu_assert_msg(err.msg, "manifest: read");
}

/* Reads doc, recorded as published, with MANIFEST_NO_FULL_EVENTS. */
static struct manifest *
read_without_full_events(const char *doc, struct snap_err *err)
{
	struct state_file f;

	record_of(doc, strlen(doc), &f);
	return read_pipe_flags(doc, strlen(doc), &f, MANIFEST_NO_FULL_EVENTS,
	    err);
}

/* A full manifest's event lines are counted, not parsed; a delta's are
 * read as ever. */
static void
test_read_checked_no_full_events(void **state)
{
	static const char full[] = L(HEAD("2", "1", "2", "2"))
	    L(ART("api", "a", "10", H1)) L(ART("sequences", "s", "3", H2))
	    L(GOOD_EV) L("{\"not\":\"an event\"}");
	static const char delta[] = L(HEADK("delta", "2", "1", "1", "1"))
	    L(ART("api", "a", "10", H1)) L(GOOD_EV);
	static const char short_full[] = L(HEAD("2", "1", "1", "2"))
	    L(ART("api", "a", "10", H1)) L(GOOD_EV);
	static const char long_full[] = L(HEAD("2", "1", "1", "1"))
	    L(ART("api", "a", "10", H1)) L(GOOD_EV) L(GOOD_EV);
	static const char bad_art[] = L(HEAD("2", "1", "1", "1"))
	    L("{\"not\":\"an artifact\"}") L(GOOD_EV);
	struct snap_err err = SNAP_ERR_INIT;
	struct state_file f;
	struct manifest *m;

	(void)state;
	if ((m = read_without_full_events(full, &err)) == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(m->kind, MANIFEST_FULL);
	assert_int_equal(m->n, 2);
	assert_string_equal(m->entries[1].name, "s");
	assert_int_equal(m->nev, 0);
	manifest_free(m);
	/* Read whole, the second event is what it is: not one. */
	record_of(full, sizeof(full) - 1, &f);
	assert_null(read_pipe_checked(full, sizeof(full) - 1, &f, &err));
	tu_assert_msg(err.msg, "line 5");

	if ((m = read_without_full_events(delta, &err)) == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(m->nev, 1);
	assert_string_equal(m->events[0].name, "a");
	manifest_free(m);

	/* The lines still have to add up to the header's counts. */
	assert_null(read_without_full_events(short_full, &err));
	tu_assert_msg(err.msg, "header counts 1 artifacts and 2 events, 1 "
	    "and 1 are listed");
	assert_null(read_without_full_events(long_full, &err));
	tu_assert_msg(err.msg, "line 4: more lines than the header counts");
	/* Entries are parsed as ever. */
	assert_null(read_without_full_events(bad_art, &err));
	tu_assert_msg(err.msg, "line 2");
}

/* A file longer than its record is read no further than one byte past
 * it, and its own length comes from fstat. */
static void
test_read_checked_longer(void **state)
{
	static const char doc[] = DOC(GOOD_ART);
	struct snap_err err = SNAP_ERR_INIT;
	char want[64];
	struct state_file f;
	size_t i;
	int fd = open_tmp(*state, "long.json");

	record_of(doc, sizeof(doc) - 1, &f);
	assert_int_equal(fsu_write_all(fd, doc, sizeof(doc) - 1), 0);
	for (i = 0; i < 64; i++)
		assert_int_equal(fsu_write_all(fd, doc, sizeof(doc) - 1), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_null(manifest_read_checked(fd, &f, 0, &err));
	snprintf(want, sizeof(want), "%zu bytes, longer than the %zu state",
	    65 * (sizeof(doc) - 1), sizeof(doc) - 1);
	tu_assert_msg(err.msg, want);
	close(fd);
}

/* --- deltas --- */

/* The next version of prev, with prev's entries and no events, for a test
 * to edit (drop() and change() before any add(): they look entries up)
 * and then finish(). */
static struct manifest *
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
static void
finish(const struct manifest *prev, struct manifest *cur)
{
	struct snap_err err = SNAP_ERR_INIT;

	assert_int_equal(manifest_sort(cur, &err), 0);
	assert_int_equal(manifest_diff(prev, cur, cur->published_at), 0);
}

static void
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

static void
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
static struct manifest *
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
static struct manifest *
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
static void
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
static void
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

static void
test_delta(void **state)
{
	struct manifest *v1 = version_one(), *v2 = version_two(v1), *d;
	static const struct {
		int type;
		const char *name;
	} listed[] = {
		{ API, "changed" }, { API, "relabelled" }, { SEQ, "new" },
		{ EP, "added" },
	};
	size_t i;

	(void)state;
	/* The delta: cur's version and events, only what is new or changed,
	 * sorted, as cur has it. */
	d = manifest_delta(v2);
	assert_non_null(d);
	assert_int_equal(d->kind, MANIFEST_DELTA);
	assert_int_equal(d->version, 2);
	assert_int_equal(d->parent_version, 1);
	assert_int_equal(d->published_at, 200);
	assert_int_equal(d->n, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(d->entries[i].type, listed[i].type);
		assert_string_equal(d->entries[i].name, listed[i].name);
	}
	assert_string_equal(manifest_find(d, API, "relabelled")->labels,
	    "blue,green");
	assert_string_equal(manifest_find(d, API, "changed")->xxh128, H2);
	assert_int_equal(manifest_find(d, API, "changed")->updated_at, 200);
	assert_null(manifest_find(d, API, "same"));
	assert_int_equal(d->nev, v2->nev);
	assert_int_equal(d->nev, 6);
	for (i = 0; i < d->nev; i++) {
		assert_string_equal(d->events[i].name, v2->events[i].name);
		assert_int_equal(d->events[i].action, v2->events[i].action);
	}
	manifest_free(d);

	/* Applied on its parent it gives the version back: content, order,
	 * times (unchanged entries keep version 1's), events. */
	assert_delta_round_trip(v1, v2);
	{
		struct snap_err err = SNAP_ERR_INIT;
		struct manifest *m = manifest_dup(v1);

		d = manifest_delta(v2);
		assert_int_equal(manifest_apply_delta(m, d, &err), 0);
		assert_int_equal(manifest_find(m, API, "same")->updated_at,
		    100);
		assert_int_equal(manifest_find(m, API, "changed")->updated_at,
		    200);
		assert_null(manifest_find(m, SEQ, "removed"));
		assert_null(manifest_find(m, TASK, "gone"));
		assert_true(manifest_same_content(m, v2));
		manifest_free(d);
		manifest_free(m);
	}
	manifest_free(v2);
	manifest_free(v1);
}

static void
test_delta_kinds(void **state)
{
	struct manifest *v1 = version_one(), *cur, *d;

	(void)state;
	/* Removals only: a delta with no entry. */
	cur = next_of(v1);
	drop(cur, API, "same");
	drop(cur, TASK, "gone");
	finish(v1, cur);
	d = manifest_delta(cur);
	assert_int_equal(d->n, 0);
	assert_int_equal(d->nev, 2);
	assert_int_equal(d->events[0].action, MANIFEST_UNDEPLOY);
	manifest_free(d);
	assert_delta_round_trip(v1, cur);
	manifest_free(cur);

	/* Labels only: the checksum stays, the entry is in the delta. */
	cur = next_of(v1);
	change(cur, SEQ, "removed", NULL, "internal");
	finish(v1, cur);
	d = manifest_delta(cur);
	assert_int_equal(d->n, 1);
	assert_string_equal(d->entries[0].labels, "internal");
	assert_string_equal(d->entries[0].xxh128, H1);
	manifest_free(d);
	assert_delta_round_trip(v1, cur);
	manifest_free(cur);

	/* Additions only, into an empty parent; and nothing at all. */
	{
		struct manifest *empty = new_sorted();

		empty->version = 3;
		cur = next_of(empty);
		add(cur, TASK, "t", NULL, 1, H1, 0);
		add(cur, API, "a", NULL, 1, H2, 0);
		finish(empty, cur);
		assert_delta_round_trip(empty, cur);
		manifest_free(cur);
		cur = next_of(v1);
		finish(v1, cur);
		d = manifest_delta(cur);
		assert_int_equal(d->n, 0);
		assert_int_equal(d->nev, 0);
		manifest_free(d);
		assert_delta_round_trip(v1, cur);
		manifest_free(cur);
		manifest_free(empty);
	}
	manifest_free(v1);
}

/* A chain: each delta on the result of the one before, removals and
 * re-additions of the same name included. */
static void
test_delta_chain(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *v[5], *m, *d;
	size_t i;

	(void)state;
	v[0] = version_one();
	v[1] = version_two(v[0]);
	v[2] = next_of(v[1]);
	drop(v[2], API, "same");
	change(v[2], EP, "added", H1, NULL);
	add(v[2], SEQ, "removed", NULL, 99, H3, 0);	/* back again */
	finish(v[1], v[2]);
	v[3] = next_of(v[2]);
	change(v[3], API, "changed", NULL, "red");
	finish(v[2], v[3]);
	v[4] = next_of(v[3]);
	drop(v[4], SEQ, "new");
	add(v[4], API, "same", NULL, 10, H1, 0);	/* as it was in v1 */
	finish(v[3], v[4]);

	m = manifest_dup(v[0]);
	for (i = 1; i < 5; i++) {
		d = manifest_delta(v[i]);
		if (manifest_apply_delta(m, d, &err) != 0)
			fail_msg("delta %zu: %s", i, err.msg);
		assert_manifests_equal(m, v[i]);
		manifest_free(d);
	}
	/* The re-added artifact is new as of version 5, not version 1. */
	assert_int_equal(manifest_find(m, API, "same")->updated_at, 500);
	manifest_free(m);
	for (i = 0; i < 5; i++)
		manifest_free(v[i]);
}

/* m after manifest_apply_delta() may grow like any manifest: its recorded
 * capacity must be what was allocated. */
static void
test_apply_then_add(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *v1 = version_one(), *cur = next_of(v1), *m, *d;
	char name[32];
	int i;

	(void)state;
	for (i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "new%02d", i);
		add(cur, EP, name, NULL, 1, H2, 0);
	}
	finish(v1, cur);
	d = manifest_delta(cur);
	m = manifest_dup(v1);
	assert_int_equal(manifest_apply_delta(m, d, &err), 0);
	assert_int_equal(m->n, 17);
	if (malloc_usable_size(m->entries) < m->cap * sizeof(*m->entries))
		fail_msg("entries hold %zu bytes, cap says %zu entries (%zu "
		    "bytes)", malloc_usable_size(m->entries), m->cap,
		    m->cap * sizeof(*m->entries));
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "more%02d", i);
		add(m, TASK, name, NULL, 1, H3, 0);
	}
	assert_int_equal(manifest_sort(m, &err), 0);
	assert_int_equal(m->n, 57);
	assert_non_null(manifest_find(m, EP, "new11"));
	assert_non_null(manifest_find(m, TASK, "more39"));
	assert_non_null(manifest_find(m, API, "same"));
	manifest_free(d);
	manifest_free(m);
	manifest_free(cur);
	manifest_free(v1);
}

/* Applies delta d to a copy of version_one(): refused with `want`,
 * and the copy is exactly as before. */
static void
apply_refused(const struct manifest *d, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *v1 = version_one(), *m = manifest_dup(v1);
	char *before = NULL, *after = NULL;
	size_t blen, alen;

	assert_int_equal(manifest_to_json(m, &before, &blen, &err), 0);
	if (manifest_apply_delta(m, d, &err) != -1)
		fail_msg("delta %llu applied", (unsigned long long)d->version);
	tu_assert_msg(err.msg, want);
	assert_manifests_equal(m, v1);
	assert_int_equal(manifest_to_json(m, &after, &alen, &err), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);
	manifest_free(m);
	manifest_free(v1);
}

static void
apply_refused_doc(const char *doc, const char *want)
{
	struct manifest *d = accepted_n(doc, strlen(doc));

	apply_refused(d, want);
	manifest_free(d);
}

/* One manifest moved in place from version to version (as a secondary's
 * applied one is), with the undo records of every step. */
struct undo_chain {
	struct manifest *start;		/* a copy of where it began */
	struct manifest *held;		/* moved in place */
	struct manifest_undo u[8];
	size_t n;
};

static void
chain_start_at(struct undo_chain *ch, const struct manifest *m)
{
	ch->start = manifest_dup(m);
	ch->held = manifest_dup(m);
	ch->n = 0;
	assert_non_null(ch->start);
	assert_non_null(ch->held);
}

/* Undoes every step, last first: held is where it began, exactly. */
static void
chain_undo(struct undo_chain *ch)
{
	while (ch->n > 0)
		manifest_undo(ch->held, &ch->u[--ch->n]);
	assert_manifests_equal(ch->held, ch->start);
}

/* Moves held to cur in place; after 8 steps, or at a delta too big for
 * that, undoes them all and starts again from cur. */
static void
chain_step(struct undo_chain *ch, const struct manifest *cur)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *d = manifest_delta(cur);
	int rc;

	assert_non_null(d);
	rc = manifest_apply_delta_undoable(ch->held, d, &ch->u[ch->n], &err);
	manifest_free(d);
	if (rc == -1)
		fail_msg("chain step to %llu: %s",
		    (unsigned long long)cur->version, err.msg);
	if (rc == 0) {
		ch->n++;
		assert_manifests_equal(ch->held, cur);
	}
	if (rc == 1 || ch->n == sizeof(ch->u) / sizeof(ch->u[0])) {
		chain_undo(ch);
		manifest_free(ch->held);
		manifest_free(ch->start);
		chain_start_at(ch, cur);
	}
}

/*
 * Deltas small enough to be moved into place (a few adds or removals, a
 * handful of changes) and bigger ones merged in one pass must give the
 * same manifest; one moved in place over up to 8 versions and undone,
 * the one it started as: the next version exactly, each time, over 300 versions
 * of random changes, adds and removals (a fixed seed).
 */
static void
test_apply_in_place_and_merged(void **state)
{
	struct manifest *prev = new_sorted(), *cur;
	struct undo_chain ch;
	char name[32];
	unsigned seed = 42;
	int v, k, ops, serial = 0;

	(void)state;
	for (k = 0; k < 300; k++) {
		snprintf(name, sizeof(name), "a%04d", serial++);
		add(prev, k % 10, name, NULL, 10, H1, 0);
	}
	prev->version = 1;
	prev->published_at = 100;
	finish(NULL, prev);
	chain_start_at(&ch, prev);
	for (v = 0; v < 300; v++) {
		cur = next_of(prev);
		/* Small most of the time, now and then past the in-place
		 * bounds (more than 4 adds and removals, or 16 entries). */
		ops = rand_r(&seed) % 5 == 0 ? 12 : 3;
		for (k = rand_r(&seed) % (ops + 1); k > 0 && cur->n > 0; k--) {
			const struct manifest_entry *e =
			    &cur->entries[(size_t)rand_r(&seed) % cur->n];

			change(cur, e->type, e->name, rand_r(&seed) % 2 ? H2 :
			    H3, NULL);
		}
		for (k = rand_r(&seed) % (ops + 1); k > 0 && cur->n > 1; k--) {
			const struct manifest_entry *e =
			    &cur->entries[(size_t)rand_r(&seed) % cur->n];

			snprintf(name, sizeof(name), "%s", e->name);
			drop(cur, e->type, name);
		}
		for (k = rand_r(&seed) % (ops + 1); k > 0; k--) {
			snprintf(name, sizeof(name), "a%04d", serial++);
			add(cur, rand_r(&seed) % 10, name,
			    rand_r(&seed) % 3 ? NULL : "blue", 7, H2, 0);
		}
		finish(prev, cur);
		if (cur->nev > 0)
			assert_delta_round_trip(prev, cur);
		chain_step(&ch, cur);
		manifest_free(prev);
		prev = cur;
	}
	chain_undo(&ch);
	manifest_free(ch.held);
	manifest_free(ch.start);
	manifest_free(prev);
}

static void
test_apply_refused(void **state)
{
	struct manifest *v1 = version_one(), *v2 = version_two(v1), *v3, *d;

	(void)state;
	/* The control: this delta fits version 1. */
	d = manifest_delta(v2);
	assert_delta_round_trip(v1, v2);
	/* Not on its parent: version 3's delta on version 1. */
	v3 = next_of(v2);
	change(v3, API, "same", H2, NULL);
	finish(v2, v3);
	manifest_free(d);
	d = manifest_delta(v3);
	apply_refused(d, "delta 3 has parent 2, not 1");
	manifest_free(d);
	/* A full manifest is no delta, even with the right parent. */
	apply_refused(v2, "version 2 is not a delta");
	/* Removing what the parent lacks, alone or after good removals. */
	apply_refused_doc(L(HEADK("delta", "2", "1", "0", "1"))
	    L(EV("api/ghost", "api", "UNDEPLOY")),
	    "delta 2 removes api/ghost, which version 1 does not hold");
	apply_refused_doc(L(HEADK("delta", "2", "1", "0", "2"))
	    L(EV("api/same", "api", "UNDEPLOY"))
	    L(EV("sequences/same", "sequences", "UNDEPLOY")),
	    "removes sequences/same, which version 1");
	/* An entry both removed and listed. */
	apply_refused_doc(L(HEADK("delta", "2", "1", "1", "1"))
	    L(ART("api", "changed", "10", H2))
	    L(EV("api/changed", "api", "UNDEPLOY")),
	    "delta 2 both removes and lists api/changed");
	apply_refused_doc(L(HEADK("delta", "2", "1", "2", "2"))
	    L(ART("api", "new", "10", H2)) L(ART("api", "changed", "10", H2))
	    L(EV("api/new", "api", "DEPLOY"))
	    L(EV("api/new", "api", "UNDEPLOY")),
	    "both removes and lists api/new");
	manifest_free(v3);
	manifest_free(v2);
	manifest_free(v1);
}

static void
test_dup(void **state)
{
	struct manifest *v1 = version_one(), *v2 = version_two(v1), *c, *d;
	char *a = NULL, *b = NULL;
	struct snap_err err = SNAP_ERR_INIT;
	size_t alen, blen, i;

	(void)state;
	c = manifest_dup(v2);
	assert_non_null(c);
	assert_manifests_equal(c, v2);
	assert_int_equal(manifest_to_json(v2, &a, &alen, &err), 0);
	/* A deep copy: nothing is shared with the original but the one
	 * interned "default" label list. */
	for (i = 0; i < c->n; i++) {
		assert_ptr_not_equal(c->entries[i].name, v2->entries[i].name);
		if (strcmp(c->entries[i].labels, "default") != 0)
			assert_ptr_not_equal(c->entries[i].labels,
			    v2->entries[i].labels);
	}
	manifest_free(v2);
	assert_int_equal(manifest_to_json(c, &b, &blen, &err), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
	/* A delta stays a delta; an empty manifest stays empty. */
	d = manifest_delta(c);
	manifest_free(c);
	c = manifest_dup(d);
	assert_manifests_equal(c, d);
	assert_int_equal(c->kind, MANIFEST_DELTA);
	manifest_free(c);
	manifest_free(d);
	d = new_sorted();
	c = manifest_dup(d);
	assert_manifests_equal(c, d);
	manifest_free(c);
	manifest_free(d);
	manifest_free(v1);
}

/*
 * Found by fuzz_manifest: jansson quotes the bytes near a syntax error, and
 * name errors quote the name, so a hostile manifest put control bytes (a
 * forged log line) into the message. It must come out as one clean line.
 */
static void
test_from_json_error_text_is_clean(void **state)
{
	static const char *const docs[] = {
		"{\x01}",				/* the fuzzer's find */
		"{\"format\":1,\"version\":tru\x1f}",
		"{\"a\":\"\x1b[31m\"}",			/* raw control in a string */
		"{\"a\":\xff\xfe}",			/* not UTF-8 */
		DOC(ART("api", "a\\nb\\u0085c", "1", H1)),	/* \n and C1 */
		DOC(ART("api", ".\\n2026-01-01 artsync info: forged", "1", H1)),
		EVDOC(EV("api/x\\ty", "api", "DEPLOY")),
		EVDOC(EV("api\\u001b/x", "api", "DEPLOY")),
	};
	struct snap_err err;
	struct manifest *m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		err = (struct snap_err)SNAP_ERR_INIT;
		m = manifest_from_json(docs[i], strlen(docs[i]), &err);
		if (m != NULL)
			fail_msg("accepted: %s", docs[i]);
		tu_assert_clean_msg(err.msg);
	}
}

/* A compression bomb's manifest: every entry at the per-artifact limit,
 * so many that together they pass TREE_MAX_BYTES. Refused as a whole, at
 * the limit accepted; and manifest_check_total says the same. */
static void
test_total_limit(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	const size_t at_limit = TREE_MAX_BYTES / ARTIFACT_MAX_BYTES;
	struct manifest *m = new_sorted(), *back;
	char name[16], *json;
	size_t i, len;

	(void)state;
	m->version = 2;
	m->parent_version = 1;
	for (i = 0; i < at_limit; i++) {
		snprintf(name, sizeof(name), "b%04zu", i);
		add(m, SEQ, name, NULL, ARTIFACT_MAX_BYTES, H1, 1);
	}
	assert_int_equal(manifest_sort(m, &err), 0);
	assert_int_equal(manifest_check_total(m, &err), 0);
	assert_int_equal(manifest_to_json(m, &json, &len, &err), 0);
	back = manifest_from_json(json, len, &err);
	if (back == NULL)
		fail_msg("at the limit: %s", err.msg);
	manifest_free(back);
	free(json);

	/* One byte more. */
	add(m, EP, "one-more", NULL, 1, H2, 1);
	assert_int_equal(manifest_sort(m, &err), 0);
	assert_int_equal(manifest_check_total(m, &err), -1);
	tu_assert_msg(err.msg, "artifacts add up to 1073741825 bytes, over "
	    "the 1073741824-byte limit");
	assert_int_equal(manifest_to_json(m, &json, &len, &err), 0);
	assert_null(manifest_from_json(json, len, &err));
	tu_assert_msg(err.msg, "manifest: artifacts add up to 1073741825 "
	    "bytes, over the 1073741824-byte limit");
	free(json);
	manifest_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_sort_find),
		cmocka_unit_test(test_duplicate_refused),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_same_content),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_from_json_controls),
		cmocka_unit_test(test_from_json_malformed),
		cmocka_unit_test(test_from_json_lines),
		cmocka_unit_test(test_from_json_wrong_types),
		cmocka_unit_test(test_from_json_bad_fields),
		cmocka_unit_test(test_identity_and_folders),
		cmocka_unit_test(test_stamp),
		cmocka_unit_test(test_from_json_inconsistent),
		cmocka_unit_test_setup_teardown(test_write_read, tu_setup_tmp,
		    tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_read_header, tu_setup_tmp,
		    tu_teardown_tmp),
		cmocka_unit_test(test_read_pipe),
		cmocka_unit_test(test_read_checked),
		cmocka_unit_test(test_read_checked_no_full_events),
		cmocka_unit_test_setup_teardown(test_read_checked_longer,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_read_long_lines,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_delta_kinds),
		cmocka_unit_test(test_delta_chain),
		cmocka_unit_test(test_apply_then_add),
		cmocka_unit_test(test_apply_in_place_and_merged),
		cmocka_unit_test(test_apply_refused),
		cmocka_unit_test(test_dup),
		cmocka_unit_test(test_from_json_error_text_is_clean),
		cmocka_unit_test(test_total_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
