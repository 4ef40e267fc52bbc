/*
 * test_snap_delta.c - delta versions (max_chain): which versions are
 * deltas, what they compose to against a full publish of the same tree,
 * and a damaged chain or archive under them, which makes the next version
 * full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "snap.h"
#include "testutil.h"
#include "snaptest.h"

/* A damaged archive under an unchanged tree: "unchanged" would leave every
 * secondary without a version it can read. It is published again, in full. */
static void
test_unchanged_over_damaged_archive(void **state)
{
	char path[TU_PATH];
	struct env e;

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	in_root(&e, "snapshots/1.tar.zst", path);
	flip_byte(path, 40);
	verify_fails(&e, 1, "snapshots/1.tar.zst");
	assert_repaired(&e, 2, "snapshots/1.tar.zst");
	verify_ok(&e, 0, 2);
	publish_ok(&e, SNAP_UNCHANGED, 2);
}

static void
test_delta_publish(void **state)
{
	struct snap_publish_opts o = chain_opts();
	struct snap_version v = SNAP_VERSION_INIT;
	char snaps[TU_PATH], want[1024], one[128], tag[16], p[TU_PATH];
	struct snap_state st;
	struct env e;
	uint64_t i;

	env_init(*state, &e);
	in_root(&e, "snapshots", snaps);
	publish_o(&e, &o, SNAP_PUBLISHED, 1);
	assert_chain(&e, 1, 1, 0);
	names_of(1, false, want, sizeof(want));
	tu_assert_dir(snaps, want);
	/* Versions 2 to 5: one delta each on version 1. */
	for (i = 2; i <= 5; i++) {
		snprintf(tag, sizeof(tag), "v%llu", (unsigned long long)i);
		change_hello(&e, tag);
		publish_o(&e, &o, SNAP_PUBLISHED, i);
		assert_chain(&e, i, 1, (size_t)i - 1);
		names_of(i, true, one, sizeof(one));
		strcat(want, ",");
		strcat(want, one);
		tu_assert_dir(snaps, want);
		verify_ok(&e, 0, i);
	}
	/* A delta holds what changed, and is the smaller for it. */
	open_version(&e, 3, &v);
	assert_int_equal(v.nlayers, 3);
	assert_false(v.from_delta);
	assert_int_equal(v.layers[0].m->kind, MANIFEST_FULL);
	assert_int_equal(v.layers[0].m->n, e.nfix);
	assert_int_equal(v.layers[2].m->kind, MANIFEST_DELTA);
	assert_int_equal(v.layers[2].m->version, 3);
	assert_int_equal(v.layers[2].m->parent_version, 2);
	assert_int_equal(v.layers[2].m->n, 1);
	assert_string_equal(v.layers[2].m->entries[0].name, "HelloWorld");
	assert_int_equal(v.layers[2].m->nev, 1);
	assert_true(v.layers[2].archive_f->size * 4 <
	    v.layers[0].archive_f->size);
	assert_int_equal(v.m->n, e.nfix);
	assert_int_equal(v.m->version, 3);
	/* The composed version's events are its own, not the base's. */
	assert_int_equal(v.m->nev, 1);
	snap_close(&v);

	/* Version 6: the chain is full, so a full version again. */
	change_hello(&e, "v6");
	publish_o(&e, &o, SNAP_PUBLISHED, 6);
	assert_chain(&e, 6, 6, 0);
	names_of(6, false, one, sizeof(one));
	strcat(want, ",");
	strcat(want, one);
	tu_assert_dir(snaps, want);
	open_version(&e, 6, &v);
	assert_int_equal(v.nlayers, 1);
	assert_int_equal(v.m->parent_version, 5);
	assert_int_equal(v.m->nev, 1);	/* events against 5, not everything */
	snap_close(&v);
	/* ... and a new chain on it. */
	change_hello(&e, "v7");
	publish_o(&e, &o, SNAP_PUBLISHED, 7);
	assert_chain(&e, 7, 6, 1);
	for (i = 1; i <= 7; i++)
		verify_ok(&e, i, i);
	/* The latest is the source tree, byte for byte. */
	extract_version(&e, 7, "out", p);
	assert_int_equal(tu_assert_trees_equal(e.src, p), e.nfix);
	/* Unchanged publishes nothing, delta or not. */
	publish_o(&e, &o, SNAP_UNCHANGED, 7);
	read_state(&e, STATE_FILE, &st);
	assert_int_equal(st.version, 7);
	/* max_chain 0 (the default here) publishes in full. */
	change_hello(&e, "v8");
	publish_ok(&e, SNAP_PUBLISHED, 8);
	assert_chain(&e, 8, 8, 0);
}

/* A delta only while at most half the tree changed (removals aside). */
static void
test_delta_half_the_tree(void **state)
{
	struct snap_publish_opts o = chain_opts();
	char p[TU_PATH], out[TU_PATH];
	struct env e;

	env_init(*state, &e);
	publish_o(&e, &o, SNAP_PUBLISHED, 1);
	change_n(&e, e.nfix / 2, "half");	/* 38 of 77: 76 <= 77 */
	publish_o(&e, &o, SNAP_PUBLISHED, 2);
	assert_chain(&e, 2, 1, 1);
	change_n(&e, e.nfix / 2 + 1, "more");	/* 39 of 77 */
	publish_o(&e, &o, SNAP_PUBLISHED, 3);
	assert_chain(&e, 3, 3, 0);
	change_n(&e, e.nfix, "all");
	publish_o(&e, &o, SNAP_PUBLISHED, 4);
	assert_chain(&e, 4, 4, 0);
	/* Removals only: a delta of no artifact at all. */
	in_src(&e, MAIN, p);
	assert_int_equal(unlink(p), 0);
	publish_o(&e, &o, SNAP_PUBLISHED, 5);
	assert_chain(&e, 5, 4, 1);
	assert_one_event(&e, 5, MAIN, MANIFEST_UNDEPLOY, 4);
	verify_ok(&e, 5, 5);
	extract_version(&e, 5, "out", out);
	assert_int_equal(tu_assert_trees_equal(e.src, out), e.nfix - 1);
}

static void
test_delta_composes_like_full(void **state)
{
	struct snap_publish_opts o = chain_opts();
	struct snap_version v = SNAP_VERSION_INIT, f = SNAP_VERSION_INIT;
	struct env e, full;
	char out[TU_PATH], dir[TU_PATH];

	env_init(*state, &e);
	publish_chain(&e, &o);
	/* The same tree published in full into another sync root. */
	full = e;
	tu_path(full.root, "%s/root-full", e.dir);
	publish_ok(&full, SNAP_PUBLISHED, 1);

	open_version(&e, 5, &v);
	open_version(&full, 1, &f);
	assert_int_equal(v.nlayers, 5);
	assert_int_equal(f.nlayers, 1);
	assert_same_entries(v.m, f.m);
	assert_string_equal(manifest_find(v.m, 0, "HelloWorld")->labels,
	    "blue,green");
	assert_null(manifest_find(v.m, 1, "main"));
	assert_non_null(manifest_find(v.m, 9, "NewTask"));
	/* Times are the history's, by content: relabelled in 5 but the
	 * same bytes (the file keeps its mtime), unchanged since 1. */
	{
		struct snap_version v4 = SNAP_VERSION_INIT;

		open_version(&e, 4, &v4);
		assert_int_equal(manifest_find(v.m, 0, "HelloWorld")->updated_at,
		    manifest_find(v4.m, 0, "HelloWorld")->updated_at);
		snap_close(&v4);
	}
	assert_true(manifest_find(v.m, 9, "NewTask")->updated_at <=
	    v.st.published_at);
	snap_close(&f);
	snap_close(&v);
	/* And the files (labels.conf is no artifact). */
	extract_version(&e, 5, "out", out);
	in_src(&e, "labels.conf", dir);
	assert_int_equal(unlink(dir), 0);
	assert_int_equal(tu_assert_trees_equal(e.src, out), e.nfix);
	/* Each version on the way composes to what it was. */
	open_version(&e, 2, &v);
	assert_non_null(manifest_find(v.m, 1, "main"));
	assert_null(manifest_find(v.m, 9, "NewTask"));
	assert_string_equal(manifest_find(v.m, 0, "HelloWorld")->labels,
	    "default");
	snap_close(&v);
}

/* A damaged chain is never built on: the next version is full. */
static void
test_delta_over_damaged_chain(void **state)
{
	struct snap_publish_opts o = chain_opts();
	struct snap_err err = SNAP_ERR_INIT;
	enum snap_publish_result res;
	struct env e;
	char p[TU_PATH];
	uint64_t ver = 0;

	env_init(*state, &e);
	publish_chain(&e, &o);
	o.max_chain = 8;
	in_root(&e, "snapshots/3.delta.tar.zst", p);
	flip_byte(p, 10);
	change_hello(&e, "six");
	if (snap_publish(e.src, e.root, &o, &res, &ver, &err) != 0)
		fail_msg("publish: %s", err.msg);
	assert_int_equal(res, SNAP_REPAIRED);
	assert_int_equal(ver, 6);
	tu_assert_msg(err.msg, "snapshots/3.delta.tar.zst");
	assert_chain(&e, 6, 6, 0);
	verify_ok(&e, 0, 6);
	/* A damaged delta manifest makes the latest unreadable: the same. */
	change_hello(&e, "seven");
	publish_o(&e, &o, SNAP_PUBLISHED, 7);
	assert_chain(&e, 7, 6, 1);
	in_root(&e, "snapshots/7.delta.json", p);
	flip_byte(p, 20);
	change_hello(&e, "eight");
	if (snap_publish(e.src, e.root, &o, &res, &ver, &err) != 0)
		fail_msg("publish: %s", err.msg);
	assert_int_equal(res, SNAP_REPAIRED);
	assert_int_equal(ver, 8);
	tu_assert_msg(err.msg, "snapshots/7.delta.json");
	assert_chain(&e, 8, 8, 0);
	verify_ok(&e, 0, 8);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_delta_publish),
		TMP_TEST(test_delta_half_the_tree),
		TMP_TEST(test_delta_composes_like_full),
		TMP_TEST(test_delta_over_damaged_chain),
		TMP_TEST(test_unchanged_over_damaged_archive),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
