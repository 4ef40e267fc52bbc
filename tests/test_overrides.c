/*
 * test_overrides.c - agent/overrides.c: the store's temps a kill left
 * mid-write swept at open, the list and the deployed-local copies kept.
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

/* The override store's temps a kill left mid-write go at open; the list
 * and the deployed-local copies stay. */
static void
test_overrides_open_sweeps_temps(void **state)
{
	struct env *e = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct overrides o = OVERRIDES_INIT;
	char path[TU_PATH];
	int rootfd;

	tu_mkdir(e->dep);
	tu_path(path, "%s/overrides", e->dep);
	tu_mkdir(path);
	tu_path(path, "%s/overrides/api", e->dep);
	tu_mkdir(path);
	tu_path(path, "%s/overrides/overrides.json", e->dep);
	tu_write_str(path, "{\"format\": 1, \"overrides\": []}");
	tu_path(path, "%s/overrides/.overrides.json.tmp-abc123", e->dep);
	tu_write_str(path, "{\"form");
	tu_path(path, "%s/overrides/api/Mine.xml", e->dep);
	tu_write_str(path, "<api/>");
	tu_path(path, "%s/overrides/api/.Mine.xml.tmp-abc123", e->dep);
	tu_write_str(path, "<a");

	rootfd = open(e->dep, O_RDONLY | O_DIRECTORY);
	assert_true(rootfd >= 0);
	if (ovr_open(&o, rootfd, &err) == -1)
		fail_msg("ovr_open: %s", err.msg);
	tu_path(path, "%s/overrides", e->dep);
	tu_assert_dir(path, "api,overrides.json");
	tu_path(path, "%s/overrides/api", e->dep);
	tu_assert_dir(path, "Mine.xml");
	ovr_close(&o);
	close(rootfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_overrides_open_sweeps_temps, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
