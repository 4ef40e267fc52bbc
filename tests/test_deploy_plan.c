/*
 * test_deploy_plan.c - agent/deploy_plan.c: the keep-th newest release
 * recycled and patched with the change only (added, changed, removed),
 * none with recycling off, and a release or type folder that is a
 * symlink never patched.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "deployenv.h"

static void
test_patching_writes_only_the_change(void **state)
{
	struct env *e = *state;
	struct apply_stats st;
	struct deploy d;
	int i;

	open_deploy(e, &d, 3, true);
	for (i = 0; i < 8; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
		if (i >= 3) {
			/* The keep-th newest is patched: one file written. */
			assert_true(st.recycled);
			assert_int_equal(st.written, 1);
			assert_int_equal(st.removed, 0);
		}
		assert_true(count_releases(e) <= 2 * 3);
	}
	deploy_close(&d);
}

static void
test_patching_removes_deleted_artifacts(void **state)
{
	struct env *e = *state;
	struct apply_stats st;
	char path[TU_PATH];
	struct deploy d;
	int i;

	open_deploy(e, &d, 2, true);
	for (i = 0; i < 3; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
	}
	tu_path(path, "%s/api/HelloWorld.xml", e->src);
	assert_int_equal(unlink(path), 0);
	publish(e);
	apply_ok(e, &d, &st);
	assert_true(st.recycled);
	assert_int_equal(st.removed, 1);
	deploy_close(&d);
}

static void
test_recycle_off_builds_in_full(void **state)
{
	struct env *e = *state;
	struct apply_stats st;
	struct deploy d;
	int i;

	open_deploy(e, &d, 2, false);
	for (i = 0; i < 4; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
		assert_false(st.recycled);
		assert_true(st.written > 60);
	}
	assert_int_equal(count_releases(e), 4);	/* 2 dirs + 2 records */
	deploy_close(&d);
}

/*
 * The release to recycle, or a type folder of it, replaced by a symlink:
 * not patched (what it points at stays as it was), the link removed, the
 * release built in full, and current a real directory.
 */
static void
test_symlinked_release_not_recycled(void **state)
{
	struct env *e = *state;
	char canary[TU_PATH], p[TU_PATH], want[2 * TU_PATH];
	char *list, *seqs, *body;
	struct apply_stats st;
	struct stat sb;
	struct deploy d;
	int i;

	open_deploy(e, &d, 2, true);
	for (i = 0; i < 2; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
	}
	/* releases/v1-r1, next to be recycled, is now a symlink to a copy
	 * of itself outside: patching it would change the canary. */
	tu_path(canary, "%s/canary", e->top);
	tu_path(p, "%s/releases/v1-r1", e->dep);
	assert_int_equal(rename(p, canary), 0);
	assert_int_equal(symlink(canary, p), 0);
	list = tu_list_dir(canary);
	tu_path(p, "%s/sequences", canary);
	seqs = tu_list_dir(p);
	tu_path(p, "%s/sequences/changing.xml", canary);
	body = tu_slurp(p, NULL);

	change_one(e, 2);
	publish(e);
	apply_ok(e, &d, &st);
	assert_false(st.recycled);
	tu_path(want, "releases/v1-r1 is a symlink (to '%s')", canary);
	tu_assert_msg(st.refused, want);
	tu_assert_dir(canary, list);
	tu_path(p, "%s/sequences", canary);
	tu_assert_dir(p, seqs);
	tu_path(p, "%s/sequences/changing.xml", canary);
	free(list);
	list = tu_slurp(p, NULL);
	assert_string_equal(list, body);
	tu_path(p, "%s/releases", e->dep);
	tu_assert_dir(p, "v2-r2,v2-r2.json,v3-r3,v3-r3.json");
	tu_path(p, "%s/releases/v3-r3", e->dep);
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));

	/* A type folder of the next one (v2-r2) the same way. */
	tu_path(p, "%s/releases/v2-r2/sequences", e->dep);
	tu_path(want, "%s/seqs", e->top);
	assert_int_equal(rename(p, want), 0);
	assert_int_equal(symlink(want, p), 0);
	free(seqs);
	seqs = tu_list_dir(want);
	change_one(e, 3);
	publish(e);
	apply_ok(e, &d, &st);
	assert_false(st.recycled);
	tu_assert_msg(st.refused, "releases/v2-r2/sequences is a symlink");
	tu_assert_dir(want, seqs);
	tu_path(p, "%s/releases", e->dep);
	tu_assert_dir(p, "v3-r3,v3-r3.json,v4-r4,v4-r4.json");
	/* And the one after is recycled again, as usual. */
	change_one(e, 4);
	publish(e);
	apply_ok(e, &d, &st);
	assert_true(st.recycled);
	assert_string_equal(st.refused, "");
	deploy_close(&d);
	free(list);
	free(seqs);
	free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_patching_writes_only_the_change, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_patching_removes_deleted_artifacts, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_recycle_off_builds_in_full, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_symlinked_release_not_recycled, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
