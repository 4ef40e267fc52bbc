/*
 * test_deploy.c - the deploy root as deploy.h promises it (deploy_open.c,
 * deploy_build.c): a first apply in full and a restart that serves it,
 * crash leftovers removed at open, a bad archive refused before any
 * release is touched, a foreign current and symlinked directories of the
 * deploy root refused.
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
test_first_apply_is_full_and_complete(void **state)
{
	struct env *e = *state;
	struct apply_stats st;
	struct deploy d;
	char link[256];
	ssize_t n;

	publish(e);
	open_deploy(e, &d, 5, true);
	assert_false(d.has_current);
	apply_ok(e, &d, &st);
	assert_false(st.recycled);
	assert_true(st.written > 60);
	n = readlink(e->cur, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "releases/v1-r1");
	deploy_close(&d);

	/* A restart serves what was applied, without a sync root. */
	open_deploy(e, &d, 5, true);
	assert_true(d.has_current);
	assert_int_equal(d.current.version, 1);
	assert_non_null(d.current_m);
	deploy_close(&d);
}

static void
test_bad_archive_keeps_current_and_releases(void **state)
{
	struct env *e = *state;
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH], before[TU_PATH], *list, *after;
	struct apply_stats st;
	struct deploy d;
	uint64_t v;
	char byte;
	int fd, i;

	open_deploy(e, &d, 2, true);
	for (i = 0; i < 3; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
	}
	tu_path(path, "%s/releases", e->dep);
	list = tu_list_dir(path);
	snprintf(before, sizeof(before), "%s", d.current.name);

	change_one(e, 99);
	v = publish(e);
	tu_path(path, "%s/snapshots/%llu.tar.zst", e->sync,
	    (unsigned long long)v);
	/* Invert one byte: writing a fixed value would change nothing
	 * whenever the archive happens to hold that value there. */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, 40), 1);
	byte = (char)~byte;
	assert_int_equal(pwrite(fd, &byte, 1, 40), 1);
	close(fd);

	assert_int_equal(apply(e, &d, &st, &err), -1);
	tu_assert_msg(err.msg, "checksum mismatch");
	assert_string_equal(d.current.name, before);
	tu_path(path, "%s/releases", e->dep);
	after = tu_list_dir(path);
	assert_string_equal(after, list);	/* no release was consumed */
	tu_path(path, "%s/.staging", e->dep);
	tu_assert_dir(path, "");
	free(list);
	free(after);
	deploy_close(&d);
}

static void
test_start_removes_crash_leftovers(void **state)
{
	struct env *e = *state;
	struct apply_stats st;
	char path[TU_PATH];
	struct deploy d;

	publish(e);
	open_deploy(e, &d, 5, true);
	apply_ok(e, &d, &st);
	deploy_close(&d);

	tu_path(path, "%s/.staging/build", e->dep);
	tu_mkdir(path);
	tu_path(path, "%s/.staging/build/half.xml", e->dep);
	tu_write_str(path, "<half");
	tu_path(path, "%s/current.tmp", e->dep);
	assert_int_equal(symlink("releases/v9-r9", path), 0);
	tu_path(path, "%s/releases/v7-r7", e->dep);	/* no record */
	tu_mkdir(path);
	tu_path(path, "%s/releases/v8-r8.json", e->dep);	/* no dir */
	tu_write_str(path, "{}");
	/* A record cut short by kill -9 (found by t55-torture). */
	tu_path(path, "%s/releases/.v9-r9.json.tmp-abc123", e->dep);
	tu_write_str(path, "{\"artif");
	tu_path(path, "%s/upstream/.9.json.tmp-abc123", e->dep);
	tu_write_str(path, "{\"artif");

	open_deploy(e, &d, 5, true);
	assert_true(d.has_current);
	tu_path(path, "%s", e->dep);
	tu_assert_dir(path, ".lock,current,releases,upstream");
	tu_path(path, "%s/releases", e->dep);
	tu_assert_dir(path, "v1-r1,v1-r1.json");
	tu_path(path, "%s/upstream", e->dep);
	tu_assert_dir(path, "1.json");
	tu_assert_trees_equal(e->src, e->cur);
	deploy_close(&d);
}

static void
test_foreign_current_is_refused(void **state)
{
	struct env *e = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct deploy d = DEPLOY_INIT;

	tu_mkdir(e->dep);
	assert_int_equal(symlink("/etc", e->cur), 0);
	assert_int_equal(deploy_open(&d, e->dep, 5, true, &err), -1);
	tu_assert_msg(err.msg, "not at a release of ours");
	deploy_close(&d);
}

/* A canary outside the deploy root, holding what a build through a
 * followed symlink would reach: a build/ folder with a file in it. */
static void
make_canary(const char *dir)
{
	char p[TU_PATH];

	tu_mkdir(dir);
	tu_path(p, "%s/keep.xml", dir);
	tu_write_str(p, "keep");
	tu_path(p, "%s/build", dir);
	tu_mkdir(p);
	tu_path(p, "%s/build/keep.xml", dir);
	tu_write_str(p, "keep");
	tu_path(p, "%s/v9-r9", dir);	/* a release without a record */
	tu_mkdir(p);
	tu_path(p, "%s/.leftover", dir);
	tu_write_str(p, "keep");
}

static void
assert_canary(const char *dir)
{
	char p[TU_PATH];

	tu_assert_dir(dir, ".leftover,build,keep.xml,v9-r9");
	tu_path(p, "%s/build", dir);
	tu_assert_dir(p, "keep.xml");
	tu_assert_file(dir, "build/keep.xml", "keep");
	tu_assert_file(dir, "keep.xml", "keep");
}

/*
 * Our directories of the deploy root, each replaced by a symlink to the
 * canary: refused at start or at apply with one line naming it, nothing
 * written, renamed or removed there, current as it was.
 */
static void
test_symlinked_deploy_dirs_refused(void **state)
{
	static const char *const dirs[] = { "releases", "upstream",
	    "overrides", ".staging" };
	struct env *e = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct overrides o = OVERRIDES_INIT;
	char canary[TU_PATH], p[TU_PATH], want[2 * TU_PATH], saved[TU_PATH];
	struct apply_stats st;
	struct deploy d;
	size_t i;

	tu_path(canary, "%s/canary", e->top);
	make_canary(canary);
	publish(e);
	open_deploy(e, &d, 2, true);
	apply_ok(e, &d, &st);

	/* .staging while running: the next apply is refused. */
	tu_path(p, "%s/.staging", e->dep);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink(canary, p), 0);
	change_one(e, 1);
	publish(e);
	assert_int_equal(apply(e, &d, &st, &err), -1);
	tu_path(want, "deploy root %s: .staging is a symlink (to '%s'): "
	    "artsync never follows one there; replace it with a directory",
	    e->dep, canary);
	tu_assert_msg(err.msg, want);
	assert_canary(canary);
	assert_string_equal(d.current.name, "v1-r1");
	deploy_close(&d);

	/* Each at start. */
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		tu_path(p, "%s/%s", e->dep, dirs[i]);
		tu_path(saved, "%s/saved", e->top);
		if (strcmp(dirs[i], ".staging") != 0) {
			if (strcmp(dirs[i], "overrides") == 0)
				tu_mkdir(p);
			assert_int_equal(rename(p, saved), 0);
			assert_int_equal(symlink(canary, p), 0);
		}
		d = (struct deploy)DEPLOY_INIT;
		if (strcmp(dirs[i], "overrides") == 0) {
			int rootfd = tu_open_dir(e->dep);

			assert_int_equal(ovr_open(&o, rootfd, &err), -1);
			ovr_close(&o);
			close(rootfd);
		} else {
			assert_int_equal(deploy_open(&d, e->dep, 2, true,
			    &err), -1);
		}
		deploy_close(&d);
		tu_path(want, "%s is a symlink (to '%s'): artsync never "
		    "follows one there", dirs[i], canary);
		tu_assert_msg(err.msg, want);
		assert_canary(canary);
		assert_int_equal(unlink(p), 0);
		if (strcmp(dirs[i], ".staging") != 0)
			assert_int_equal(rename(saved, p), 0);
	}
	open_deploy(e, &d, 2, true);
	assert_string_equal(d.current.name, "v1-r1");
	apply_ok(e, &d, &st);
	deploy_close(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_first_apply_is_full_and_complete, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_archive_keeps_current_and_releases, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_start_removes_crash_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_foreign_current_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_symlinked_deploy_dirs_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
