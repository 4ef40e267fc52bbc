/*
 * test_changes.c - agent/changes.c: inotify's file events as the
 * artifacts a publish must read again, and every event that cannot be
 * trusted to name one making the list unknown (a whole rescan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "changes.h"
#include "names.h"

static void
test_artifacts_noted(void **state)
{
	struct changes ch = CHANGES_INIT;

	(void)state;
	changes_clear(&ch);		/* as after the first publish */
	changes_note(&ch, "/src/", "/src/api/", "Hello.xml");
	changes_note(&ch, "/src", "/src/sequences/", "seq.xml");
	changes_note(&ch, "/src", "/src/api/", ".Hello.xml.swp");
	changes_note(&ch, "/src", "/src/api/", "README");
	assert_false(ch.unknown);
	assert_int_equal(ch.n, 2);
	assert_int_equal(ch.v[0].type, name_type_of_dir("api"));
	assert_string_equal(ch.v[0].name, "Hello");
	assert_int_equal(ch.v[1].type, name_type_of_dir("sequences"));
	assert_string_equal(ch.v[1].name, "seq");
	changes_clear(&ch);
	assert_int_equal(ch.n, 0);
	changes_free(&ch);
}

/* What the events cannot vouch for: the whole tree is read again. */
static void
test_untrusted_events_make_it_unknown(void **state)
{
	static const char *const dirs[] = {
		"/src/",		/* the top: labels.conf */
		"/src/notatype/",	/* no artifact type */
		"/src/api/deeper/",	/* below a type folder */
		"/elsewhere/api/",	/* not the tree's */
		"/srcapi/",		/* a prefix, not the tree */
	};
	struct changes ch = CHANGES_INIT;
	size_t i;

	(void)state;
	assert_true(ch.unknown);	/* a first publish reads it all */
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		changes_clear(&ch);
		changes_note(&ch, "/src", dirs[i], "x.xml");
		assert_true(ch.unknown);
	}
	changes_clear(&ch);
	changes_note(&ch, "/src", NULL, "x.xml");
	assert_true(ch.unknown);
	changes_free(&ch);
}

static void
test_too_many_is_a_rescan(void **state)
{
	struct changes ch = CHANGES_INIT;
	char name[32];
	size_t i;

	(void)state;
	changes_clear(&ch);
	for (i = 0; i < CHANGES_MAX; i++) {
		snprintf(name, sizeof(name), "a%zu.xml", i);
		changes_note(&ch, "/src", "/src/api/", name);
	}
	assert_false(ch.unknown);
	assert_int_equal(ch.n, CHANGES_MAX);
	changes_note(&ch, "/src", "/src/api/", "one-more.xml");
	assert_true(ch.unknown);
	changes_free(&ch);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_artifacts_noted),
		cmocka_unit_test(test_untrusted_events_make_it_unknown),
		cmocka_unit_test(test_too_many_is_a_rescan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
