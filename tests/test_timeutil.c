/*
 * test_timeutil.c - unit tests of snapshots/timeutil.c.
 *
 * Times print and parse as RFC 3339 UTC and nothing else: every time that
 * prints parses back to itself, and no text that fsu_rfc3339() would not
 * print parses at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "timeutil.h"

static void
test_rfc3339(void **state)
{
	static const int64_t times[] = {
		0, 1, 59, 86399, 86400, 951782400 /* 2000-02-29 */,
		1709164800 /* 2024-02-29 */, 1709251199, 1795549200,
		4102444799 /* 2099-12-31T23:59:59Z */, -1 /* 1969 */,
		-2208988800 /* 1900-01-01 */, 253402300799 /* 9999 */,
	};
	static const char *const bad[] = {
		"", "garbage", "2026-11-24", "2026-11-24T19:40:00",
		"2026-11-24 19:40:00Z", "2026-11-24T19:40:00+01:00",
		"2026-11-24T19:40:00+00:00", "2026-11-24T19:40:00.5Z",
		"2026-11-24T19:40:00ZZ", "2026-11-24T19:40:00Z ",
		"2026-13-01T00:00:00Z", "2026-11-32T00:00:00Z",
		"2026-11-24T24:00:00Z", "2026-11-24T19:60:00Z", "1795549200",
		"2026-11-24t19:40:00z", "2026-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-00-10T00:00:00Z", "2026-11-00T00:00:00Z",
		"2026-11-24T19:40:0Z", "2026-11-24T19:40:00",
		"+026-11-24T19:40:00Z", "0872-01-02T03:04:05Z",
	};
	char out[32];
	int64_t t;
	size_t i;

	(void)state;
	fsu_rfc3339(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	fsu_rfc3339(1795549200, out);
	assert_string_equal(out, "2026-11-24T19:40:00Z");
	assert_int_equal(fsu_parse_rfc3339("2026-11-24T19:40:00Z", &t), 0);
	assert_int_equal(t, 1795549200);
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		fsu_rfc3339(times[i], out);
		assert_int_equal(strlen(out), 20);
		assert_int_equal(fsu_parse_rfc3339(out, &t), 0);
		if (t != times[i])
			fail_msg("%s parsed as %lld, expected %lld", out,
			    (long long)t, (long long)times[i]);
	}
	t = fsu_now();
	assert_true(t > 1700000000);
	fsu_rfc3339(t, out);
	assert_int_equal(out[19], 'Z');
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (fsu_parse_rfc3339(bad[i], &t) != -1)
			fail_msg("'%s' parsed as a time", bad[i]);
}

/*
 * Once a BUG: fsu_parse_rfc3339() was strptime(), which is lenient where
 * timeutil.h says "-1 if it is anything else": it skips leading blanks,
 * takes one-digit fields and lets timegm() normalize impossible dates, so a
 * manifest or state.json time that does not print back to itself was
 * accepted. These stay refused.
 */
static void
test_rfc3339_strict(void **state)
{
	static const char *const lenient[] = {
		" 2026-11-24T19:40:00Z",	/* leading blank */
		"2026-1-2T3:4:5Z",		/* one-digit fields */
		"2026-02-31T00:00:00Z",		/* becomes March 3 */
		"2026-11-24T19:40:60Z",		/* becomes 19:41:00 */
	};
	char accepted[256] = "";
	int64_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lenient) / sizeof(lenient[0]); i++)
		if (fsu_parse_rfc3339(lenient[i], &t) != -1)
			snprintf(accepted + strlen(accepted),
			    sizeof(accepted) - strlen(accepted), " '%s'",
			    lenient[i]);
	if (accepted[0] != '\0')
		fail_msg("BUG: parsed as times:%s (check that the input is "
		    "exactly what fsu_rfc3339 prints)", accepted);
}

/* The stages' clock: above 0 (0 means "not reached") and never back. */
static void
test_mono_us(void **state)
{
	int64_t a, b;

	(void)state;
	a = fsu_mono_us();
	b = fsu_mono_us();
	assert_true(a > 0);
	assert_true(b >= a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_rfc3339_strict),
		cmocka_unit_test(test_mono_us),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
