/*
 * test_snap_rollback.c - snapshots/snap_rollback.c: an older version
 * published again as a new one, full or from a chain of deltas, and the
 * versions it refuses.
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

static void
test_rollback(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_version v = SNAP_VERSION_INIT;
	struct snap_publish_opts o = opts;
	struct env e;
	char orig[TU_PATH], out1[TU_PATH], out3[TU_PATH], p[TU_PATH];
	uint64_t ver = 0;

	env_init(*state, &e);
	tu_path(orig, "%s/orig", e.dir);
	tu_mkdir(orig);
	tu_copy_fixtures(orig);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	change_hello(&e, "changed");
	in_src(&e, MAIN, p);
	assert_int_equal(unlink(p), 0);
	publish_ok(&e, SNAP_PUBLISHED, 2);

	o.xc = xc;
	if (snap_rollback(e.root, 1, &o, &ver, &err) != 0)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(ver, 3);
	verify_ok(&e, 0, 3);
	verify_ok(&e, 3, 3);

	/* Version 3 holds version 1's tree, which was the fixtures. */
	extract_version(&e, 3, "out3", out3);
	extract_version(&e, 1, "out1", out1);
	assert_int_equal(tu_assert_trees_equal(out1, out3), e.nfix);
	assert_int_equal(tu_assert_trees_equal(orig, out3), e.nfix);

	/* Its events undo version 2's changes. */
	open_version(&e, 3, &v);
	assert_int_equal(v.m->parent_version, 2);
	assert_int_equal(v.m->nev, 2);
	assert_non_null(find_event(v.m, HELLO));
	assert_int_equal(find_event(v.m, HELLO)->action, MANIFEST_DEPLOY);
	assert_non_null(find_event(v.m, MAIN));
	assert_int_equal(find_event(v.m, MAIN)->action, MANIFEST_DEPLOY);
	snap_close(&v);

	/* Not to the latest, nor to a version that does not exist. */
	assert_int_equal(snap_rollback(e.root, 3, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, "not older than the latest");
	assert_int_equal(snap_rollback(e.root, 9, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, NULL);

	/* Not to a version that no longer verifies: state.json stays. */
	in_root(&e, "snapshots/2.tar.zst", p);
	flip_byte(p, 100);
	assert_int_equal(snap_rollback(e.root, 2, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, "version 2");
	tu_assert_msg(err.msg, "checksum mismatch");
	verify_ok(&e, 0, 3);
	in_root(&e, "snapshots", p);
	tu_assert_dir(p, "1.manifest.json,1.state.json,1.tar.zst,"
	    "2.manifest.json,2.state.json,2.tar.zst,"
	    "3.manifest.json,3.state.json,3.tar.zst");

	/* The source tree now differs from the latest: publish moves on. */
	publish_ok(&e, SNAP_PUBLISHED, 4);
}

/*
 * BUG: snap_rollback(root, 0, ...) is accepted. Version 0 is no version
 * (snap.h: "the content of an older retained version `to`"), but 0 passes
 * the "to < latest" test and snap_open() then reads 0 as "the latest, from
 * state.json", so the latest content is republished as a new version.
 * snap_rollback should refuse to == 0.
 */
static void
test_rollback_to_zero(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_publish_opts o = opts;
	struct env e;
	uint64_t ver = 0;

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	change_hello(&e, "changed");
	publish_ok(&e, SNAP_PUBLISHED, 2);
	o.xc = xc;
	if (snap_rollback(e.root, 0, &o, &ver, &err) != -1)
		fail_msg("BUG: rollback to version 0 accepted, published "
		    "version %llu", (unsigned long long)ver);
	verify_ok(&e, 0, 2);
}

static void
test_rollback_delta(void **state)
{
	struct snap_publish_opts o = chain_opts();
	struct snap_version v = SNAP_VERSION_INIT, old = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	char out[TU_PATH], want[TU_PATH];
	struct env e;
	uint64_t ver = 0;

	env_init(*state, &e);
	publish_o(&e, &o, SNAP_PUBLISHED, 1);
	change_hello(&e, "two");
	publish_o(&e, &o, SNAP_PUBLISHED, 2);
	extract_version(&e, 2, "want2", want);
	change_hello(&e, "three");
	in_src(&e, MAIN, out);
	assert_int_equal(unlink(out), 0);
	publish_o(&e, &o, SNAP_PUBLISHED, 3);
	assert_chain(&e, 3, 1, 2);

	/* To delta version 2: a new version (a delta itself) holding it. */
	if (snap_rollback(e.root, 2, &o, &ver, &err) != 0)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(ver, 4);
	assert_chain(&e, 4, 1, 3);
	verify_ok(&e, 0, 4);
	open_version(&e, 4, &v);
	open_version(&e, 2, &old);
	assert_same_entries(v.m, old.m);
	assert_int_equal(v.m->parent_version, 3);
	assert_int_equal(v.m->nev, 2);	/* HelloWorld back, main back */
	snap_close(&old);
	snap_close(&v);
	extract_version(&e, 4, "out4", out);
	assert_int_equal(tu_assert_trees_equal(want, out), e.nfix);

	/* To the base, once the chain is full: a full version. */
	change_hello(&e, "five");
	publish_o(&e, &o, SNAP_PUBLISHED, 5);
	assert_chain(&e, 5, 1, 4);
	if (snap_rollback(e.root, 1, &o, &ver, &err) != 0)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(ver, 6);
	assert_chain(&e, 6, 6, 0);
	open_version(&e, 6, &v);
	open_version(&e, 1, &old);
	assert_same_entries(v.m, old.m);
	snap_close(&old);
	snap_close(&v);

	/* Not to a delta version whose chain no longer verifies. */
	in_root(&e, "snapshots/2.delta.tar.zst", out);
	flip_byte(out, 30);
	assert_int_equal(snap_rollback(e.root, 3, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, "version 3");
	tu_assert_msg(err.msg, "snapshots/2.delta.tar.zst");
	verify_ok(&e, 0, 6);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_rollback),
		TMP_TEST(test_rollback_to_zero),
		TMP_TEST(test_rollback_delta),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
