/*
 * test_manifest.c - snapshots/manifest.c, the model: building (add, sort,
 * find), a name listed twice, comparing content, identities and folders, a
 * deep copy, and the limit on the tree's total size.
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
#include "testutil.h"
#include "manifesttest.h"

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
	/* Reserved room is kept (smaller asks change nothing), then more
	 * than it, to exercise growth past it. */
	assert_int_equal(manifest_reserve(m, 100), 0);
	assert_int_equal(m->cap, 100);
	assert_int_equal(manifest_reserve(m, 10), 0);
	assert_int_equal(m->cap, 100);
	assert_int_equal(m->n, 5);
	assert_int_equal(manifest_reserve(m, SIZE_MAX), -1);
	assert_int_equal(m->cap, 100);
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
		cmocka_unit_test(test_same_content),
		cmocka_unit_test(test_identity_and_folders),
		cmocka_unit_test(test_dup),
		cmocka_unit_test(test_total_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
