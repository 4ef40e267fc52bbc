/*
 * test_manifest.c - unit tests of snapshots/manifest.c.
 *
 * Building (add, sort, find), diffing two versions into DEPLOY/UNDEPLOY
 * events, and the JSON round trip; then the reader's distrust: every way a
 * manifest on a shared directory could be damaged or forged must be refused
 * with a message, never half-accepted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "manifest.h"
#include "names.h"
#include "testutil.h"

#define H1 "00112233445566778899aabbccddeeff"
#define H2 "ffeeddccbbaa99887766554433221100"
#define H3 "0123456789abcdef0123456789abcdef"
#define T0 "2026-11-24T19:40:00Z"

enum { API = 0, SEQ = 1, EP = 2, TASK = 9 };

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
	free(b->entries[1].labels);
	b->entries[1].labels = strdup("l1");
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

#define ART(type, name, size, hash) "{\"type\":\"" type "\",\"name\":\"" \
	name "\",\"labels\":[\"default\"],\"size\":" size ",\"xxh128\":\"" \
	hash "\",\"updated_at\":\"" T0 "\"}"
#define HEAD(ver, parent, count) "{\"format\":1,\"version\":" ver \
	",\"parent_version\":" parent ",\"published_at\":\"" T0 "\"," \
	"\"artifact_count\":" count ","
#define DOC(art) HEAD("2", "1", "1") "\"artifacts\":[" art "],\"events\":[]}"
#define EVDOC(ev) HEAD("2", "1", "0") "\"artifacts\":[],\"events\":[" ev "]}"
#define GOOD_ART ART("api", "a", "10", H1)
#define EV(id, type, action) "{\"id\":\"" id "\",\"type\":\"" type "\"," \
	"\"action\":\"" action "\",\"updated_at\":\"" T0 "\"}"

static void
accepted(const char *json)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = manifest_from_json(json, strlen(json), &err);

	if (m == NULL)
		fail_msg("refused: %s: %s", err.msg, json);
	manifest_free(m);
}

static void
refused_n(const char *json, size_t len, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = manifest_from_json(json, len, &err);

	if (m != NULL) {
		manifest_free(m);
		fail_msg("accepted: %s", json);
	}
	if (strncmp(err.msg, "manifest", 8) != 0)
		fail_msg("message \"%s\" does not start with \"manifest\"",
		    err.msg);
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\" for %s", err.msg, want,
		    json);
}

static void
refused(const char *json, const char *want)
{
	refused_n(json, strlen(json), want);
}

static void
test_from_json_controls(void **state)
{
	(void)state;
	/* The baselines the refusals below each break in one place. */
	accepted(DOC(GOOD_ART));
	accepted(EVDOC(EV("api/a", "api", "DEPLOY")));
	accepted(EVDOC(EV("local-entries/x.y", "local-entries", "UNDEPLOY")));
	accepted(DOC(ART("api", "a", "33554432", H1)));	/* exactly the max */
	accepted(HEAD("1", "0", "0") "\"artifacts\":[],\"events\":[]}");
	accepted(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"x\","
	    "\"y-z\"],\"size\":0,\"xxh128\":\"" H1 "\",\"updated_at\":\""
	    T0 "\"}"));
}

static void
test_from_json_malformed(void **state)
{
	static const char doc[] = DOC(GOOD_ART);

	(void)state;
	refused("", "malformed JSON");
	refused("{", "malformed JSON");
	refused(DOC(GOOD_ART) "x", "malformed JSON");
	refused(DOC(GOOD_ART) "{}", "malformed JSON");
	refused("[]", "not a JSON object");
	refused("42", NULL);
	refused("null", NULL);
	/* Cut anywhere: never accepted. */
	{
		size_t cut;

		for (cut = 0; cut < sizeof(doc) - 1; cut++)
			refused_n(doc, cut, NULL);
	}
	/* Duplicate keys, at the top and inside an artifact. */
	refused(HEAD("2", "1", "1") "\"format\":1,\"artifacts\":[" GOOD_ART
	    "],\"events\":[]}", "duplicate");
	refused(HEAD("2", "1", "1") "\"version\":3,\"artifacts\":[" GOOD_ART
	    "],\"events\":[]}", "duplicate");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"name\":\"b\","
	    "\"labels\":[\"default\"],\"size\":10,\"xxh128\":\"" H1 "\","
	    "\"updated_at\":\"" T0 "\"}"), "duplicate");
}

static void
test_from_json_wrong_types(void **state)
{
	(void)state;
	refused("{\"format\":\"1\",\"version\":2,\"parent_version\":1,"
	    "\"published_at\":\"" T0 "\",\"artifact_count\":0,"
	    "\"artifacts\":[],\"events\":[]}", "'format'");
	refused("{\"format\":2,\"version\":2,\"parent_version\":1,"
	    "\"published_at\":\"" T0 "\",\"artifact_count\":0,"
	    "\"artifacts\":[],\"events\":[]}", "format 2 is not supported");
	refused(HEAD("\"2\"", "1", "0") "\"artifacts\":[],\"events\":[]}",
	    "'version'");
	refused(HEAD("2.0", "1", "0") "\"artifacts\":[],\"events\":[]}",
	    "'version'");
	refused(HEAD("2", "-1", "0") "\"artifacts\":[],\"events\":[]}",
	    "'parent_version'");
	refused(HEAD("2", "null", "0") "\"artifacts\":[],\"events\":[]}",
	    "'parent_version'");
	refused(HEAD("2", "1", "\"0\"") "\"artifacts\":[],\"events\":[]}",
	    "'artifact_count'");
	refused("{\"format\":1,\"version\":2,\"parent_version\":1,"
	    "\"published_at\":1795549200,\"artifact_count\":0,"
	    "\"artifacts\":[],\"events\":[]}", "'published_at'");
	refused("{\"format\":1,\"version\":2,\"parent_version\":1,"
	    "\"published_at\":\"yesterday\",\"artifact_count\":0,"
	    "\"artifacts\":[],\"events\":[]}", "'published_at'");
	refused(HEAD("2", "1", "0") "\"artifacts\":{},\"events\":[]}",
	    "'artifacts'");
	refused(HEAD("2", "1", "0") "\"artifacts\":[],\"events\":null}",
	    "'events'");
	refused(HEAD("2", "1", "0") "\"artifacts\":[]}", "'events'");
	refused(HEAD("2", "1", "1") "\"artifacts\":[\"api/a\"],\"events\":[]}",
	    "artifact is not an object");
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
	refused(DOC(ART("api", "a b", "10", H1)), NULL);
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
	/* artifact_count must match the list. */
	refused(HEAD("2", "1", "2") "\"artifacts\":[" GOOD_ART "],"
	    "\"events\":[]}", "'artifact_count' is 2 but 1");
	refused(HEAD("2", "1", "0") "\"artifacts\":[" GOOD_ART "],"
	    "\"events\":[]}", "'artifact_count'");
	/* Versions only move forward. */
	refused(HEAD("2", "2", "1") "\"artifacts\":[" GOOD_ART "],"
	    "\"events\":[]}", "not a forward step");
	refused(HEAD("2", "3", "1") "\"artifacts\":[" GOOD_ART "],"
	    "\"events\":[]}", "not a forward step");
	refused(HEAD("0", "0", "1") "\"artifacts\":[" GOOD_ART "],"
	    "\"events\":[]}", "not a forward step");
	/* The same artifact twice. */
	refused(HEAD("2", "1", "2") "\"artifacts\":[" GOOD_ART ","
	    ART("api", "a", "11", H2) "],\"events\":[]}", "listed twice");
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
	refused(EVDOC("\"api/a\""), "event is not an object");
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
		cmocka_unit_test(test_from_json_wrong_types),
		cmocka_unit_test(test_from_json_bad_fields),
		cmocka_unit_test(test_from_json_inconsistent),
		cmocka_unit_test(test_total_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
