/*
 * test_writeback.c - unit tests of snapshots/writeback.c.
 *
 * The helper must start on a directory, be asked once per WB_EVERY bytes,
 * stop (joining its thread) whether or not it was ever asked, and do
 * nothing at all when it could not start. What it writes back is the
 * kernel's business; that the files are intact after it is ours.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "testutil.h"
#include "writeback.h"

static void
test_lifecycle(void **state)
{
	struct wb wb = WB_INIT;
	char top[TU_PATH], path[TU_PATH], *chunk;
	size_t size = 1u << 20;
	int dirfd, fd, i;

	(void)state;
	wb_stop(&wb);		/* never started: a no-op */
	wb_wrote(NULL, 1);
	tu_mkdtemp(top);
	assert_true((dirfd = open(top, O_RDONLY | O_DIRECTORY)) >= 0);
	wb_start(&wb, dirfd);
	assert_true(wb.running);
	assert_true(wb.fd >= 0 && wb.fd != dirfd);

	/* 24 MiB in 1 MiB files: the helper is asked twice on the way. */
	chunk = malloc(size);
	assert_non_null(chunk);
	for (i = 0; i < 24; i++) {
		memset(chunk, 'a' + i, size);
		snprintf(path, sizeof(path), "f%02d", i);
		assert_true((fd = fsu_create_new(dirfd, path)) >= 0);
		assert_int_equal(fsu_write_all(fd, chunk, size), 0);
		assert_int_equal(close(fd), 0);
		wb_wrote(&wb, size);
		assert_true(wb.unsynced < WB_EVERY);
	}
	wb_stop(&wb);
	assert_false(wb.running);
	assert_int_equal(wb.fd, -1);
	wb_stop(&wb);		/* twice: still a no-op */
	assert_int_equal(syncfs(dirfd), 0);
	for (i = 0; i < 24; i++) {
		char *buf;
		size_t len;
		struct snap_err err = SNAP_ERR_INIT;

		snprintf(path, sizeof(path), "f%02d", i);
		assert_int_equal(fsu_read_file(dirfd, path, size, &buf, &len,
		    &err), 0);
		memset(chunk, 'a' + i, size);
		assert_int_equal(len, size);
		assert_memory_equal(buf, chunk, size);
		free(buf);
	}
	free(chunk);
	close(dirfd);
	tu_rmtree(top);
}

/* No directory, no helper: every call is a no-op. */
static void
test_cannot_start(void **state)
{
	struct wb wb = WB_INIT;

	(void)state;
	wb_start(&wb, -1);
	assert_false(wb.running);
	wb_wrote(&wb, (uint64_t)WB_EVERY * 4);
	wb_stop(&wb);
	assert_false(wb.running);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_cannot_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
