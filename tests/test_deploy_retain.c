/*
 * test_deploy_retain.c - agent/deploy_retain.c: a release in the
 * retention window never touched by later applies, and one too many
 * (killed between a swap and its retention) trimmed at the next start,
 * the upstream records the kept ones stand on kept.
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

/* A release in the retention window is never touched by later applies. */
static void
test_kept_releases_stay_intact(void **state)
{
	struct env *e = *state;
	char old[TU_PATH], copy[TU_PATH], cmd[3 * TU_PATH];
	struct apply_stats st;
	struct deploy d;
	int i;

	open_deploy(e, &d, 4, true);
	for (i = 0; i < 4; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
	}
	/* Snapshot the release current points at now, then swap 3 more. */
	tu_path(old, "%s/releases/%s", e->dep, d.current.name);
	tu_path(copy, "%s/copy", e->top);
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", old, copy);
	assert_int_equal(system(cmd), 0);
	for (i = 10; i < 13; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
	}
	tu_assert_trees_equal(copy, old);
	deploy_close(&d);
}

/* Killed between a swap and its retention, a secondary holds one release
 * too many; the next start trims them to keep (seen writing t55-torture's
 * clean-restart check). */
static void
test_start_applies_retention(void **state)
{
	struct env *e = *state;
	struct apply_stats st;
	char path[TU_PATH];
	struct deploy d;
	int i;

	open_deploy(e, &d, 5, false);
	for (i = 0; i < 3; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
	}
	assert_int_equal(count_releases(e), 6);
	deploy_close(&d);

	open_deploy(e, &d, 2, false);
	assert_string_equal(d.current.name, "v3-r3");
	tu_path(path, "%s/releases", e->dep);
	tu_assert_dir(path, "v2-r2,v2-r2.json,v3-r3,v3-r3.json");
	/* Versions 2 and 3 were recorded as deltas (each computed from the
	 * version applied before: these publishes are full), so version 1's
	 * record stays under them. */
	tu_path(path, "%s/upstream", e->dep);
	tu_assert_dir(path, "1.json,2.json,3.json");
	assert_true(is_delta_record(e, 2));
	assert_true(is_delta_record(e, 3));
	assert_false(is_delta_record(e, 1));
	tu_assert_trees_equal(e->src, e->cur);
	deploy_close(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_kept_releases_stay_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_start_applies_retention, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
