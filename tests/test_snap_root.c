/*
 * test_snap_root.c - the sync root as a publisher holds it
 * (snapshots/snap_root.c): versions that only grow whatever is planted or
 * left on disk, the end of the version space, a latest version that
 * cannot be read (published over, or refused with no number to go by),
 * the publish lock, and nothing below the root followed through a
 * symlink.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include <cmocka.h>

#include "snap.h"
#include "testutil.h"
#include "snaptest.h"

static void
test_versions_only_grow(void **state)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct env e;
	char p[TU_PATH], q[TU_PATH];

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	change_hello(&e, "two");
	publish_ok(&e, SNAP_PUBLISHED, 2);
	change_hello(&e, "three");
	publish_ok(&e, SNAP_PUBLISHED, 3);

	/* state.json goes back to version 1 (a restore, an old rsync). */
	in_root(&e, "snapshots/1.state.json", p);
	in_root(&e, "state.json", q);
	tu_copy_file(p, q);
	verify_ok(&e, 0, 1);
	change_hello(&e, "four");
	publish_ok(&e, SNAP_PUBLISHED, 4);
	verify_ok(&e, 0, 4);
	open_version(&e, 4, &v);
	assert_int_equal(v.m->parent_version, 1);
	snap_close(&v);

	/* Leftovers of a publish that crashed before state.json; and of one
	 * killed while writing it, whose temp the next publish removes
	 * (found by t55-torture). A file name numbers nothing: 9 and
	 * 99999999999999999999 are left alone, 5 is next. */
	in_root(&e, "snapshots/9.tar.zst", p);
	tu_write_str(p, "half an archive");
	in_root(&e, "snapshots/99999999999999999999.tar.zst", p);
	tu_write_str(p, "planted");
	in_root(&e, ".state.json.tmp-abc123", p);
	tu_write_str(p, "{\"format\": 1, \"clus");
	change_hello(&e, "five");
	publish_ok(&e, SNAP_PUBLISHED, 5);
	verify_ok(&e, 0, 5);
	verify_ok(&e, 5, 5);
	tu_assert_dir(e.root, ".publish.lock,snapshots,state.json");
	in_root(&e, "snapshots/9.tar.zst", p);
	assert_true(tu_exists(p));

	/* Files of the next number that no state verifies (a publish that
	 * died before its state copy): that number is passed over. */
	in_root(&e, "snapshots/6.tar.zst", p);
	tu_write_str(p, "half an archive");
	change_hello(&e, "seven");
	publish_ok(&e, SNAP_PUBLISHED, 7);

	/* A number at the top of int64 in a file name (planted by a writer
	 * on the share, or an empty .sig): it moves nothing. */
	in_root(&e, "snapshots/9223372036854775000.state.sig", p);
	tu_write_str(p, "");
	in_root(&e, "snapshots/9223372036854775807.state.sig", p);
	tu_write_str(p, "planted");
	change_hello(&e, "eight");
	publish_ok(&e, SNAP_PUBLISHED, 8);
	verify_ok(&e, 0, 8);
}

/* A state that parses at the last version there is: the next one is
 * refused with a clear message, not wrapped to 0 or clamped. */
static void
test_version_space_end(void **state)
{
	struct env e;
	char p[TU_PATH], json[2048];

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	snprintf(json, sizeof(json), "{\"format\":2,\"cluster_id\":\"c\","
	    "\"node_id\":\"n\",\"node_version\":\"x\",\"version\":%llu,"
	    "\"parent_version\":1,\"base_version\":%llu,\"published_at\":"
	    "\"2026-01-01T00:00:00Z\",\"last_sync_at\":\"2026-01-01T00:00:"
	    "00Z\",\"artifact_count\":1,\"files\":[{\"role\":\"manifest\","
	    "\"version\":%llu,\"name\":\"snapshots/%llu.manifest.json\","
	    "\"size\":1,\"xxh128\":\"00112233445566778899aabbccddeeff\"},"
	    "{\"role\":\"archive\",\"version\":%llu,\"name\":"
	    "\"snapshots/%llu.tar.zst\",\"size\":1,\"xxh128\":"
	    "\"00112233445566778899aabbccddeeff\"}]}\n",
	    STATE_VERSION_MAX, STATE_VERSION_MAX, STATE_VERSION_MAX,
	    STATE_VERSION_MAX, STATE_VERSION_MAX, STATE_VERSION_MAX);
	tu_path(p, "%s/snapshots/%llu.state.json", e.root, STATE_VERSION_MAX);
	tu_write_str(p, json);
	change_hello(&e, "two");
	publish_fails(&e, "version 9007199254740991 leaves no next version");
	verify_ok(&e, 0, 1);
	/* One above: no version of ours, does not parse, counts for
	 * nothing. */
	assert_int_equal(unlink(p), 0);
	tu_path(p, "%s/snapshots/9007199254740992.state.json", e.root);
	tu_write_str(p, json);
	publish_ok(&e, SNAP_PUBLISHED, 2);
}

static void
test_verify_garbage_state(void **state)
{
	struct env e;
	char p[TU_PATH], *got;
	static const char garbage[] = "this is {not json";

	env_init(*state, &e);
	/* No sync root at all. */
	verify_fails(&e, 0, e.root);
	publish_ok(&e, SNAP_PUBLISHED, 1);

	in_root(&e, "state.json", p);
	tu_write_str(p, garbage);
	verify_fails(&e, 0, "state.json: malformed JSON");
	/* The per-version copy still verifies that version. */
	verify_ok(&e, 1, 1);
	/* A publisher numbers past everything on disk and publishes the
	 * tree in full over a latest it cannot read, saying so ... */
	change_hello(&e, "new");
	assert_repaired(&e, 2, "state.json: malformed JSON");
	verify_ok(&e, 0, 2);
	/* ... but with no number to go by it refuses, and leaves the root
	 * as it found it: a lower version would be ignored everywhere. */
	in_root(&e, "snapshots", p);
	tu_rmtree(p);
	tu_mkdir(p);
	in_root(&e, "state.json", p);
	tu_write_str(p, garbage);
	change_hello(&e, "newer");
	publish_fails(&e, "latest version unreadable");
	publish_fails(&e, "repair or empty the sync root");
	got = tu_slurp(p, NULL);
	assert_string_equal(got, garbage);
	free(got);

	tu_write_str(p, "");
	verify_fails(&e, 0, "state.json");
	assert_int_equal(unlink(p), 0);
	verify_fails(&e, 0, "state.json: No such file");
	/* Unknown version. */
	verify_fails(&e, 7, "snapshots/7.state.json");
}

static void
test_publish_lock(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_publish_opts o = opts;
	struct env e;
	char p[TU_PATH], snaps[TU_PATH], *before, *list, *after;
	uint64_t ver = 0;
	int lockfd;

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	change_hello(&e, "changed");

	in_root(&e, ".publish.lock", p);
	lockfd = open(p, O_RDWR);
	assert_true(lockfd >= 0);
	assert_int_equal(flock(lockfd, LOCK_EX | LOCK_NB), 0);
	in_root(&e, "state.json", p);
	in_root(&e, "snapshots", snaps);
	before = tu_slurp(p, NULL);
	list = tu_list_dir(snaps);

	publish_fails(&e, "another publisher holds .publish.lock");
	o.xc = xc;
	assert_int_equal(snap_rollback(e.root, 1, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, "another publisher holds .publish.lock");
	after = tu_slurp(p, NULL);
	assert_string_equal(after, before);
	free(after);
	tu_assert_dir(snaps, list);
	/* Readers do not take the lock. */
	verify_ok(&e, 0, 1);

	close(lockfd);
	publish_ok(&e, SNAP_PUBLISHED, 2);
	free(before);
	free(list);
}

/*
 * Nothing below the sync root is followed through a symlink: snapshots/,
 * .publish.lock and .rollback in a symlink's place are refused with one
 * line naming them, and nothing is written, renamed or removed where they
 * point - not even a publish's own files when it fails (it never starts).
 */
static void
test_symlinked_sync_root_paths(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_publish_opts o = opts;
	struct env e;
	char snaps[TU_PATH], canary[TU_PATH], p[TU_PATH], want[2 * TU_PATH];
	char *before, *state_before, *now;
	uint64_t ver = 0;

	env_init(*state, &e);
	o.xc = xc;
	o.keep_versions = 1;
	publish_ok(&e, SNAP_PUBLISHED, 1);
	change_hello(&e, "two");
	publish_ok(&e, SNAP_PUBLISHED, 2);
	change_hello(&e, "three");
	/* snapshots/ moved out, a symlink in its place: the canary holds
	 * version files, which a publish, a failed one's clean-up or
	 * retention would all touch. */
	in_root(&e, "snapshots", snaps);
	tu_path(canary, "%s/canary", e.dir);
	assert_int_equal(rename(snaps, canary), 0);
	assert_int_equal(symlink(canary, snaps), 0);
	before = tu_list_dir(canary);
	in_root(&e, "state.json", p);
	state_before = tu_slurp(p, NULL);

	tu_path(want, "sync root %s: snapshots is a symlink (to '%s'): "
	    "artsync never follows one there; replace it with a directory",
	    e.root, canary);
	publish_fails(&e, want);
	assert_int_equal(snap_rollback(e.root, 1, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, want);
	assert_int_equal(snap_prune_root(e.root, 1, 0), 0);
	verify_fails(&e, 0, "snapshots is a symlink (to '");
	tu_assert_dir(canary, before);
	now = tu_slurp(p, NULL);
	assert_string_equal(now, state_before);
	free(now);

	/* Put back: publishing works again. */
	assert_int_equal(unlink(snaps), 0);
	assert_int_equal(rename(canary, snaps), 0);
	publish_ok(&e, SNAP_PUBLISHED, 3);

	/* .rollback and .publish.lock the same way. */
	tu_mkdir(canary);
	tu_path(p, "%s/keep.xml", canary);
	tu_write_str(p, "keep");
	in_root(&e, ".rollback", p);
	assert_int_equal(symlink(canary, p), 0);
	assert_int_equal(snap_rollback(e.root, 2, &o, &ver, &err), -1);
	tu_path(want, "sync root %s: .rollback is a symlink (to '%s')",
	    e.root, canary);
	tu_assert_msg(err.msg, want);
	tu_assert_dir(canary, "keep.xml");
	assert_int_equal(unlink(p), 0);
	in_root(&e, ".publish.lock", p);
	assert_int_equal(unlink(p), 0);
	tu_path(want, "%s/keep.xml", canary);
	assert_int_equal(symlink(want, p), 0);
	change_hello(&e, "four");
	publish_fails(&e, ".publish.lock is a symlink (to '");
	tu_assert_file(canary, "keep.xml", "keep");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(snap_rollback(e.root, 2, &o, &ver, &err), 0);
	assert_int_equal(ver, 4);
	free(before);
	free(state_before);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_versions_only_grow),
		TMP_TEST(test_version_space_end),
		TMP_TEST(test_verify_garbage_state),
		TMP_TEST(test_publish_lock),
		TMP_TEST(test_symlinked_sync_root_paths),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
