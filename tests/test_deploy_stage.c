/*
 * test_deploy_stage.c - agent/deploy_stage.c: every artifact taken from
 * the archive validated as publish would, the first invalid one named
 * whichever thread judged it, and nothing of a refused build left.
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

/*
 * The publisher here does not validate (no xc), as a writer on the share
 * who gets every checksum right would not: an apply that validates
 * refuses the artifact publish would have refused, and writes none of it.
 */
static void
test_invalid_artifact_refused_at_apply(void **state)
{
	struct env *e = *state;
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH], *list, *after;
	struct apply_stats st;
	struct deploy d;

	start_checks(e, 1);
	open_deploy(e, &d, 2, true);
	publish(e);
	apply_ok(e, &d, &st);
	tu_path(path, "%s/releases", e->dep);
	list = tu_list_dir(path);

	tu_path(path, "%s/api/Evil.xml", e->src);
	tu_write_str(path, "<!DOCTYPE api [<!ENTITY x SYSTEM "
	    "\"file:///etc/passwd\">]><api xmlns=\"http://ws.apache.org/ns/"
	    "synapse\" name=\"Evil\" context=\"/e\">&x;</api>");
	publish_as(e, false);
	assert_int_equal(apply(e, &d, &st, &err), -1);
	if (strncmp(err.msg, "snapshots/2.tar.zst: api/Evil.xml: invalid "
	    "artifact: line 1: DOCTYPE is not allowed in an artifact", 84))
		fail_msg("%s", err.msg);
	assert_string_equal(d.current.name, "v1-r1");
	tu_path(path, "%s/current/api/Evil.xml", e->dep);
	assert_false(tu_exists(path));
	tu_path(path, "%s/.staging", e->dep);
	tu_assert_dir(path, "");
	tu_path(path, "%s/releases", e->dep);
	after = tu_list_dir(path);
	assert_string_equal(after, list);
	free(after);

	/* Without a validator (checksums only) it would have gone live. */
	stop_checks(e);
	apply_ok(e, &d, &st);
	tu_path(path, "%s/current/api/Evil.xml", e->dep);
	assert_true(tu_exists(path));
	free(list);
	deploy_close(&d);
}

/*
 * A full apply hands hundreds of artifacts to the validation threads; the
 * one named is the first invalid one in the archive, whichever thread
 * judged which, and nothing goes live.
 */
static void
check_first_invalid_named(struct env *e, int workers)
{
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH], body[256];
	struct apply_stats st;
	struct deploy d;
	int i;

	for (i = 0; i < 600; i++) {
		snprintf(body, sizeof(body), "<sequence xmlns=\"http://ws.apache."
		    "org/ns/synapse\" name=\"s%04d\"/>", i);
		tu_path(path, "%s/sequences/s%04d.xml", e->src, i);
		tu_write_str(path, i == 450 ? "<sequence" : i == 300 ?
		    "<api xmlns=\"http://ws.apache.org/ns/synapse\"/>" : body);
	}
	start_checks(e, workers);
	open_deploy(e, &d, 2, true);
	publish_as(e, false);
	assert_int_equal(apply(e, &d, &st, &err), -1);
	assert_true(strncmp(err.msg, "snapshots/1.tar.zst: sequences/"
	    "s0300.xml: invalid artifact: line 1: ", 57) == 0);
	assert_false(d.has_current);
	tu_path(path, "%s/.staging", e->dep);
	tu_assert_dir(path, "");

	/* The pool starts a clean batch: the valid tree goes live. */
	tu_path(path, "%s/sequences/s0300.xml", e->src);
	tu_write_str(path, "<sequence xmlns=\"http://ws.apache.org/ns/"
	    "synapse\" name=\"s0300\"/>");
	tu_path(path, "%s/sequences/s0450.xml", e->src);
	tu_write_str(path, "<sequence xmlns=\"http://ws.apache.org/ns/"
	    "synapse\" name=\"s0450\"/>");
	publish(e);
	apply_ok(e, &d, &st);
	tu_assert_trees_equal(e->src, e->cur);
	deploy_close(&d);
	stop_checks(e);
}

static void
test_first_invalid_named_in_a_full_apply(void **state)
{
	struct env *e = *state;

	check_first_invalid_named(e, 1);
}

/* All checks on the caller's thread (a one-CPU machine): the same. */
static void
test_first_invalid_named_without_threads(void **state)
{
	struct env *e = *state;

	check_first_invalid_named(e, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_invalid_artifact_refused_at_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_first_invalid_named_in_a_full_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_first_invalid_named_without_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
