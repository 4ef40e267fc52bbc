/*
 * test_labels.c - labels.conf rules, label lists, matching.
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

#include "labels.h"
#include "names.h"
#include "testutil.h"

/* Loads `text` as labels.conf from a fresh directory. */
static int
load(void **state, const char *text, struct label_rules **r,
    struct snap_err *err)
{
	char path[TU_PATH];
	int fd, rc;

	tu_path(path, "%s/" LABELS_FILE, (char *)*state);
	if (text != NULL)
		tu_write_str(path, text);
	else
		unlink(path);
	fd = open(*state, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	rc = labels_load(fd, r, err);
	close(fd);
	return rc;
}

static void
assert_labels(const struct label_rules *r, const char *type,
    const char *name, const char *want)
{
	char got[LABELS_MAX];

	labels_for(r, name_type_index(type), name, got);
	assert_string_equal(got, want);
}

static void
test_rules_union_sorted(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct label_rules *r = NULL;

	if (load(state, "# comment\n"
	    "api/Pizza = external, internal\n"
	    "api/* = web\n"
	    "sequences/* = internal\n"
	    "* = all\n"
	    "api/Pizza = internal\n", &r, &err) == -1)
		fail_msg("%s", err.msg);
	assert_non_null(r);
	/* Union of every matching rule, sorted, each label once. */
	assert_labels(r, "api", "Pizza", "all,external,internal,web");
	assert_labels(r, "api", "Other", "all,web");
	assert_labels(r, "sequences", "main", "all,internal");
	assert_labels(r, "tasks", "t1", "all");
	labels_free(r);
}

static void
test_no_file_means_default(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct label_rules *r = (struct label_rules *)1;

	assert_int_equal(load(state, NULL, &r, &err), 0);
	assert_null(r);
	assert_labels(NULL, "api", "Pizza", "default");
	assert_int_equal(load(state, "api/Pizza = x\n", &r, &err), 0);
	assert_labels(r, "api", "Other", "default");
	labels_free(r);
	labels_free(NULL);
}

static void
assert_bad(void **state, const char *text, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct label_rules *r = NULL;

	assert_int_equal(load(state, text, &r, &err), -1);
	assert_null(r);
	tu_assert_msg(err.msg, want);
	tu_assert_msg(err.msg, LABELS_FILE ":");
}

static void
test_bad_rules_name_the_line(void **state)
{
	assert_bad(state, "api/A = x\nbogus/A = y\n", ":2: 'bogus'");
	assert_bad(state, "api/../x = y\n", "'api/../x'");
	assert_bad(state, "api = y\n", "is not TYPE/NAME");
	assert_bad(state, "api/A = bad label\n", "label list");
	assert_bad(state, "api/A = a,,b\n", "empty label");
	assert_bad(state, "[section]\napi/A = a\n", "sections are not used");
	assert_bad(state, "no equals\n", "not a 'RULE = LABELS' line");
}

static void
test_intersect_and_normalize(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char out[16];

	(void)state;
	assert_true(labels_intersect("a,b", "c,b"));
	assert_true(labels_intersect("default", "default"));
	assert_false(labels_intersect("a,b", "c,d"));
	/* Whole labels only, never prefixes. */
	assert_false(labels_intersect("inter", "internal"));
	assert_false(labels_intersect("internal", "inter"));
	assert_int_equal(labels_normalize(" a , b\t,c ", out, sizeof(out),
	    &err), 0);
	assert_string_equal(out, "a,b,c");
	/* A blank inside a label is kept, for the label check to refuse. */
	assert_int_equal(labels_normalize("a b, c", out, sizeof(out), &err), 0);
	assert_string_equal(out, "a b,c");
	assert_int_equal(labels_normalize("aaaaaaaaaaaaaaaaaaaa", out,
	    sizeof(out), &err), -1);
	tu_assert_msg(err.msg, "longer than");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rules_union_sorted,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_no_file_means_default,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_bad_rules_name_the_line,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test(test_intersect_and_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
