/*
 * test_manifest_diff.c - snapshots/manifest_diff.c: two versions diffed
 * into DEPLOY/UNDEPLOY events and stamps, and deltas - what
 * manifest_delta() takes from a version, manifest_apply_delta() must give
 * back exactly on its parent, for every kind of change and along a chain.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_stamp),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_delta_kinds),
		cmocka_unit_test(test_delta_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
