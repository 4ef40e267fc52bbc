/*
 * test_deploy_records.c - agent/deploy_records.c: release names, versions
 * recorded as deltas (also a full version on top of the applied one), the
 * chain of delta records bounded by full ones, and records read back at
 * a restart.
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
test_release_names(void **state)
{
	struct release r;

	(void)state;
	assert_true(release_parse_name("v42-r7", &r));
	assert_int_equal(r.version, 42);
	assert_int_equal(r.serial, 7);
	assert_false(release_parse_name("v042-r7", &r));
	assert_false(release_parse_name("v42-r7x", &r));
	assert_false(release_parse_name("v42-r", &r));
	assert_false(release_parse_name("v-1-r7", &r));
	assert_false(release_parse_name("../v42-r7", &r));
	assert_false(release_parse_name("v 42-r7", &r));
}

/*
 * Versions applied as deltas are recorded as deltas, and a release is
 * recycled from what those deltas name, without its own record: so that
 * record, garbled (it is a hard link to its upstream record), changes
 * nothing. A restart reads the delta records back.
 */
static void
test_patching_from_delta_records(void **state)
{
	struct env *e = *state;
	char path[TU_PATH], rec[TU_PATH], name[64], *body, *saved;
	size_t len;
	struct apply_stats st;
	struct deploy d;
	uint64_t v = 0, prev;
	int i;

	open_deploy(e, &d, 2, true);
	for (i = 0; i < 4; i++) {
		change_one(e, i);
		v = publish_delta(e);
		apply_since_ok(e, &d, &st);
	}
	assert_true(is_delta_record(e, v));
	assert_true(is_delta_record(e, v - 1));
	assert_true(st.recycled);
	assert_int_equal(st.written, 1);

	/* The release to recycle next is the previous current: garble its
	 * record in place (the upstream record shares its inode). */
	prev = v;
	snprintf(name, sizeof(name), "%s", d.current.name);
	tu_path(rec, "%s/releases/%s.json", e->dep, name);
	saved = tu_slurp(rec, &len);
	tu_write_str(rec, "garbled\n");
	tu_path(path, "%s/upstream/%llu.json", e->dep, (unsigned long long)prev);
	body = tu_slurp(path, NULL);
	assert_string_equal(body, "garbled\n");
	free(body);
	change_one(e, 100);
	tu_path(path, "%s/api/HelloWorld.xml", e->src);
	assert_int_equal(unlink(path), 0);
	v = publish_delta(e);
	apply_since_ok(e, &d, &st);
	assert_true(st.recycled);	/* from the deltas: no record read */
	assert_int_equal(st.written, 1);
	assert_int_equal(st.removed, 1);
	assert_true(is_delta_record(e, v));
	deploy_close(&d);

	/* It is an ancestor of the new records: mended, in place. */
	tu_write(rec, saved, len);
	free(saved);

	/* A restart: current's record resolves through the delta records. */
	open_deploy(e, &d, 2, true);
	assert_int_equal(d.current.version, v);
	assert_non_null(d.upstream_m);
	assert_true(d.upstream_depth > 0);
	assert_true(manifest_find(d.current_m, 0, "HelloWorld") == NULL);
	change_one(e, 101);
	publish_delta(e);
	apply_since_ok(e, &d, &st);
	assert_int_equal(st.written, 1);
	deploy_close(&d);
}

/*
 * A full version (the primary's periodic one, here a publish without a
 * chain) on top of the applied one is recorded as the delta between them,
 * computed in memory, and recycles a release from what that delta names:
 * the full record of the release being recycled is not read.
 */
static void
test_full_version_recorded_as_delta(void **state)
{
	struct env *e = *state;
	char rec[TU_PATH], *saved;
	struct apply_stats st;
	struct deploy d;
	uint64_t v = 0;
	size_t len;
	int i;

	open_deploy(e, &d, 2, true);
	for (i = 0; i < 3; i++) {
		change_one(e, i);
		v = publish_delta(e);
		apply_since_ok(e, &d, &st);
	}
	tu_path(rec, "%s/releases/%s.json", e->dep, d.current.name);
	saved = tu_slurp(rec, &len);
	tu_write_str(rec, "garbled\n");	/* the next one to recycle */
	change_one(e, 50);
	v = publish(e);			/* full */
	apply_since_ok(e, &d, &st);
	assert_true(st.recycled);
	assert_int_equal(st.written, 1);
	assert_true(is_delta_record(e, v));
	tu_write(rec, saved, len);
	free(saved);
	deploy_close(&d);
	open_deploy(e, &d, 2, true);	/* and it reads back */
	assert_int_equal(d.current.version, v);
	assert_non_null(d.upstream_m);
	deploy_close(&d);
}

/*
 * Past RECORD_CHAIN_MAX deltas a full record is written beside the delta
 * one (<V>.full.json): reading stops there, the delta records go on, so
 * every apply of a long run - across the primary's own periodic full
 * version too - still recycles from the deltas, and records below the
 * full one that no kept release needs are pruned.
 */
static void
test_record_chain_bounded(void **state)
{
	struct env *e = *state;
	char path[TU_PATH], *list;
	struct apply_stats st;
	struct deploy d;
	int i;

	open_deploy(e, &d, 2, true);
	for (i = 0; i < RECORD_CHAIN_MAX + 10; i++) {
		change_one(e, i);
		publish_delta(e);
		apply_since_ok(e, &d, &st);
		if (i >= 2) {
			assert_true(st.recycled);
			assert_int_equal(st.written, 1);
		}
		assert_true(d.upstream_depth < RECORD_CHAIN_MAX);
	}
	tu_path(path, "%s/upstream", e->dep);
	list = tu_list_dir(path);
	assert_non_null(strstr(list, ".full.json"));
	free(list);
	tu_path(path, "%s/upstream/1.json", e->dep);	/* pruned */
	assert_int_equal(access(path, F_OK), -1);
	deploy_close(&d);

	open_deploy(e, &d, 2, true);
	assert_non_null(d.upstream_m);
	assert_true(d.upstream_depth < RECORD_CHAIN_MAX);
	change_one(e, 1000);
	publish_delta(e);
	apply_since_ok(e, &d, &st);
	assert_true(st.recycled);
	assert_int_equal(st.written, 1);
	deploy_close(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release_names),
		cmocka_unit_test_setup_teardown(
		    test_patching_from_delta_records, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_full_version_recorded_as_delta, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_record_chain_bounded, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
