/*
 * test_batch.c - unit tests of snapshots/batch.c.
 *
 * A batch's promise, from the outside: nothing has its final name before
 * batch_rename() reaches it, and then exactly the members up to the index
 * asked for do (state.json is renamed last, after its directory sync);
 * plain members and members made under their final names are closed,
 * never renamed or removed; a batch freed early leaves no temp file
 * behind; an fsync or rename that fails names the member.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "batch.h"
#include "testutil.h"

/* A temp for dirfd/name holding s, added to b. */
static void
add_temp(struct batch *b, int dirfd, const char *name, const char *s)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct fsu_tmp t = FSU_TMP_INIT;

	assert_int_equal(fsu_tmp_open(&t, dirfd, name, &err), 0);
	assert_int_equal(fsu_write_all(t.fd, s, strlen(s)), 0);
	assert_int_equal(batch_add(b, &t, &err), 0);
	assert_int_equal(t.fd, -1);	/* the batch's now */
}

/* Asserts that what dir holds (tu_list_dir) starts with want. */
static void
assert_listing_starts(const char *dir, const char *want)
{
	char *got = tu_list_dir(dir);

	if (strncmp(got, want, strlen(want)) != 0)
		fail_msg("%s holds \"%s\", expected \"%s...\"", dir, got, want);
	free(got);
}

static bool
is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void
test_rename_in_two_steps(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct batch b = BATCH_INIT;
	char top[TU_PATH];
	int dfd, topfd;

	tu_path(top, "%s/top", dir);
	tu_mkdir(top);
	dfd = tu_open_dir(dir);
	topfd = tu_open_dir(top);
	add_temp(&b, dfd, "1.tar.zst", "archive");
	add_temp(&b, dfd, "1.json", "manifest");
	add_temp(&b, topfd, "state.json", "state");
	assert_int_equal(b.n, 3);
	assert_int_equal(batch_sync(&b, &err), 0);
	/* Synced, but nothing named yet: only temps. */
	assert_listing_starts(dir, ".1.json.tmp-");
	assert_listing_starts(top, ".state.json.tmp-");
	assert_int_equal(batch_rename(&b, b.n - 1, &err), 0);
	tu_assert_file(dir, "1.tar.zst", "archive");
	tu_assert_file(dir, "1.json", "manifest");
	tu_assert_dir(dir, "1.json,1.tar.zst,top");
	assert_listing_starts(top, ".state.json.tmp-");
	assert_int_equal(batch_rename(&b, b.n, &err), 0);
	tu_assert_dir(top, "state.json");
	tu_assert_file(top, "state.json", "state");
	/* Renamed members are not touched by the free. */
	batch_free(&b);
	tu_assert_dir(dir, "1.json,1.tar.zst,top");
	tu_assert_dir(top, "state.json");
	assert_null(b.m);
	close(dfd);
	close(topfd);
}

static void
test_free_removes_temps(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct batch b = BATCH_INIT;
	char path[TU_PATH];
	int dfd, fd;

	dfd = tu_open_dir(dir);
	add_temp(&b, dfd, "a", "one");
	add_temp(&b, dfd, "b", "two");
	tu_path(path, "%s/plain.xml", dir);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644)) >= 0);
	assert_int_equal(fsu_write_all(fd, "<x/>", 4), 0);
	assert_int_equal(batch_add_fd(&b, fd, "plain.xml", &err), 0);
	assert_int_equal(batch_sync(&b, &err), 0);
	assert_int_equal(batch_rename(&b, 1, &err), 0);	/* "a" only */
	batch_free(&b);
	/* "b"'s temp is gone; the plain file stays, closed. */
	tu_assert_dir(dir, "a,plain.xml");
	tu_assert_file(dir, "plain.xml", "<x/>");
	assert_false(is_open(fd));
	close(dfd);
}

static void
test_plain_members_closed(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct batch b = BATCH_INIT;
	char path[TU_PATH];
	int fds[20], i;

	/* More than the first allocation holds. */
	for (i = 0; i < 20; i++) {
		tu_path(path, "%s/f%02d", dir, i);
		fds[i] = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		assert_true(fds[i] >= 0);
		assert_int_equal(fsu_write_all(fds[i], "x", 1), 0);
		assert_int_equal(batch_add_fd(&b, fds[i], path + strlen(dir) + 1,
		    &err), 0);
	}
	assert_int_equal(b.n, 20);
	assert_string_equal(b.m[19].final, "f19");
	assert_int_equal(batch_sync(&b, &err), 0);
	assert_int_equal(batch_rename(&b, 10, &err), 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(is_open(fds[i]), i >= 10);
	assert_int_equal(batch_rename(&b, b.n, &err), 0);
	for (i = 0; i < 20; i++)
		assert_false(is_open(fds[i]));
	batch_free(&b);
	tu_assert_file(dir, "f07", "x");
}

static void
test_syncfs_mode(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct batch b = BATCH_INIT;
	int dfd = tu_open_dir(dir);

	batch_syncfs(&b, dfd);
	add_temp(&b, dfd, "big", "many files");
	assert_int_equal(batch_sync(&b, &err), 0);
	assert_int_equal(batch_rename(&b, b.n, &err), 0);
	tu_assert_file(dir, "big", "many files");
	batch_free(&b);
	/* A file system that cannot be synced is named as such. */
	batch_syncfs(&b, -1);
	assert_int_equal(batch_sync(&b, &err), -1);
	tu_assert_msg(err.msg, "syncfs");
	batch_free(&b);
	close(dfd);
}

/* fsync(2) refuses a pipe (EINVAL): the failing member is named. */
static void
test_sync_failure_named(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct batch b = BATCH_INIT;
	int dfd = tu_open_dir(dir), pipefd[2];

	add_temp(&b, dfd, "good", "fine");
	assert_int_equal(pipe(pipefd), 0);
	close(pipefd[0]);
	assert_int_equal(batch_add_fd(&b, pipefd[1], "api/Bad.xml", &err), 0);
	assert_int_equal(batch_sync(&b, &err), -1);
	tu_assert_msg(err.msg, "api/Bad.xml: fsync");
	batch_free(&b);
	assert_false(is_open(pipefd[1]));
	tu_assert_dir(dir, "");		/* the temp went with the batch */
	close(dfd);
}

/* A rename that fails (its final name is a non-empty directory) names the
 * member and leaves the temp for batch_free() to remove. */
static void
test_rename_failure_named(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct batch b = BATCH_INIT;
	char path[TU_PATH];
	int dfd = tu_open_dir(dir);

	tu_path(path, "%s/taken", dir);
	tu_mkdir(path);
	tu_path(path, "%s/taken/inside", dir);
	tu_write_str(path, "x");
	add_temp(&b, dfd, "taken", "new");
	assert_int_equal(batch_sync(&b, &err), 0);
	assert_int_equal(batch_rename(&b, b.n, &err), -1);
	tu_assert_msg(err.msg, "taken: rename");
	batch_free(&b);
	tu_assert_dir(dir, "taken");
	close(dfd);
}

/* A member under its final name: made new (never over an existing file),
 * closed by the rename step, left in place by a free. */
static void
test_final_name_member(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct fsu_tmp t = FSU_TMP_INIT;
	struct batch b = BATCH_INIT;
	char path[TU_PATH];
	int dfd = tu_open_dir(dir), fd;

	tu_path(path, "%s/7.tar.zst", dir);
	tu_write_str(path, "someone's");
	assert_int_equal(fsu_tmp_open_final(&t, dfd, "7.tar.zst", &err), -1);
	tu_assert_msg(err.msg, "7.tar.zst: cannot create");
	tu_assert_file(dir, "7.tar.zst", "someone's");

	assert_int_equal(fsu_tmp_open_final(&t, dfd, "8.tar.zst", &err), 0);
	fd = t.fd;
	assert_int_equal(fsu_write_all(t.fd, "eight", 5), 0);
	assert_int_equal(batch_add(&b, &t, &err), 0);
	assert_int_equal(batch_sync(&b, &err), 0);
	assert_int_equal(batch_rename(&b, b.n, &err), 0);
	assert_false(is_open(fd));
	batch_free(&b);
	tu_assert_file(dir, "8.tar.zst", "eight");

	/* Freed before its rename step: closed, and still there for the
	 * writer to remove (a publish's discard_version). */
	assert_int_equal(fsu_tmp_open_final(&t, dfd, "9.tar.zst", &err), 0);
	fd = t.fd;
	assert_int_equal(batch_add(&b, &t, &err), 0);
	batch_free(&b);
	assert_false(is_open(fd));
	tu_assert_dir(dir, "7.tar.zst,8.tar.zst,9.tar.zst");
	close(dfd);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_rename_in_two_steps),
		TMP_TEST(test_free_removes_temps),
		TMP_TEST(test_plain_members_closed),
		TMP_TEST(test_syncfs_mode),
		TMP_TEST(test_sync_failure_named),
		TMP_TEST(test_rename_failure_named),
		TMP_TEST(test_final_name_member),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
