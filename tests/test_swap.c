/*
 * test_swap.c - the atomic `current` symlink.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "swap.h"
#include "testutil.h"

static int
open_root(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	assert_true(fd >= 0);
	return fd;
}

static void
test_no_current_yet(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char name[64];
	int fd = open_root(*state);

	assert_int_equal(swap_read_current(fd, name, sizeof(name), &err), 1);
	close(fd);
}

static void
test_swap_replaces_and_reads_back(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char name[64], path[TU_PATH], link[64];
	int fd = open_root(*state);
	ssize_t n;

	assert_int_equal(swap_current(fd, "releases/v1-r1", &err), 0);
	assert_int_equal(swap_read_current(fd, name, sizeof(name), &err), 0);
	assert_string_equal(name, "v1-r1");
	/* A stale current.tmp from a crash does not get in the way. */
	tu_path(path, "%s/current.tmp", (char *)*state);
	assert_int_equal(symlink("junk", path), 0);
	assert_int_equal(swap_current(fd, "releases/v2-r2", &err), 0);
	tu_path(path, "%s/current", (char *)*state);
	n = readlink(path, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "releases/v2-r2");
	tu_assert_dir(*state, "current");
	close(fd);
}

static void
test_foreign_targets_are_refused(void **state)
{
	static const char *const bad[] = { "/etc", "../x", "releases/a/b",
	    "elsewhere/v1-r1" };
	struct snap_err err = SNAP_ERR_INIT;
	char name[64], path[TU_PATH];
	int fd = open_root(*state);
	size_t i;

	tu_path(path, "%s/current", (char *)*state);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unlink(path);
		assert_int_equal(symlink(bad[i], path), 0);
		err.msg[0] = '\0';
		assert_int_equal(swap_read_current(fd, name, sizeof(name), &err),
		    -1);
		tu_assert_msg(err.msg, "not at a release of ours");
	}
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_current_yet,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_swap_replaces_and_reads_back,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_foreign_targets_are_refused,
		    tu_setup_tmp, tu_teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
