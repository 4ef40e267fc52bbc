/*
 * test_snap_err.c - unit tests of snapshots/snap_err.c.
 *
 * Messages quote hostile input; what comes out must be one line of valid
 * UTF-8 without control characters, and valid non-ASCII text must survive.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "snap_err.h"
#include "testutil.h"

static void
assert_sanitized(const char *in, const char *want)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", in);
	snap_err_sanitize(buf);
	assert_string_equal(buf, want);
}

static void
test_sanitize(void **state)
{
	(void)state;
	assert_sanitized("plain ascii: 'x' (1%)", "plain ascii: 'x' (1%)");
	assert_sanitized("a\nb\rc\td\x1b[31m\x7f", "a?b?c?d?[31m?");
	/* Valid UTF-8 is kept: names and messages may be non-ASCII. */
	assert_sanitized("Z\xc3\xbcrich \xe6\x97\xa5 \xf0\x9f\x98\x80",
	    "Z\xc3\xbcrich \xe6\x97\xa5 \xf0\x9f\x98\x80");
	/* C1 controls (U+0085 NEL, U+009B CSI) are controls too. */
	assert_sanitized("a\xc2\x85" "b\xc2\x9b" "c", "a??b??c");
	/* Stray continuation, bad lead, cut sequence, overlong, surrogate,
	 * past U+10FFFF. */
	assert_sanitized("\x80", "?");
	assert_sanitized("\xff\xfe", "??");
	assert_sanitized("x\xe6\x97", "x??");
	assert_sanitized("\xc0\xaf", "??");
	assert_sanitized("\xe0\x80\xaf", "???");
	assert_sanitized("\xed\xa0\x80", "???");
	assert_sanitized("\xf4\x90\x80\x80", "????");
	assert_sanitized("", "");
}

static void
test_set_sys_prefix(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;

	(void)state;
	snap_err_set(&err, "entry '%s' is bad", "a\nb\xff");
	assert_string_equal(err.msg, "entry 'a?b?' is bad");
	snap_err_sys(&err, ENOENT, "%s: open", "x\ty");
	assert_string_equal(err.msg, "x?y: open: No such file or directory");
	snap_err_set(&err, "inner \xc3\xa9");
	snap_err_prefix(&err, "'%s'", "\x1b]0;title\x07");
	assert_string_equal(err.msg, "'?]0;title?': inner \xc3\xa9");
	tu_assert_clean_msg(err.msg);
	/* NULL err is allowed. */
	assert_int_equal(snap_err_set(NULL, "x"), -1);
	assert_int_equal(snap_err_prefix(NULL, "x"), -1);
}

/* A message cut at the buffer's end never leaves half a character. */
static void
test_cut_character(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char big[sizeof(err.msg) + 8];

	(void)state;
	memset(big, 'a', sizeof(err.msg) - 2);
	strcpy(big + sizeof(err.msg) - 2, "\xc3\xa9\xc3\xa9");
	snap_err_set(&err, "%s", big);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	assert_int_equal(err.msg[sizeof(err.msg) - 2], '?');
	tu_assert_clean_msg(err.msg);
}

/* The code is set where the error is born, derived from errno by
 * snap_err_sys, and kept through prefixes on the way up. */
static void
test_codes(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;

	(void)state;
	assert_int_equal(err.code, SNAP_E_OTHER);
	snap_err_setc(&err, SNAP_E_HOSTILE, "entry '%s' is a symlink", "x");
	snap_err_prefix(&err, "snapshots/2.tar.zst");
	assert_int_equal(err.code, SNAP_E_HOSTILE);
	assert_string_equal(err.msg, "snapshots/2.tar.zst: entry 'x' is a "
	    "symlink");
	snap_err_set(&err, "plain");
	assert_int_equal(err.code, SNAP_E_OTHER);
	snap_err_sys(&err, ENOENT, "a");
	assert_int_equal(err.code, SNAP_E_MISSING);
	snap_err_sys(&err, ENOSPC, "a");
	assert_int_equal(err.code, SNAP_E_NO_SPACE);
	snap_err_sys(&err, EDQUOT, "a");
	assert_int_equal(err.code, SNAP_E_NO_SPACE);
	snap_err_sys(&err, EIO, "a");
	assert_int_equal(err.code, SNAP_E_IO);
	snap_err_sys(&err, ESTALE, "a");
	assert_int_equal(err.code, SNAP_E_IO);
	assert_int_equal(snap_err_recode(&err, SNAP_E_EXPIRED), -1);
	assert_int_equal(err.code, SNAP_E_EXPIRED);
	assert_int_equal(snap_err_setc(NULL, SNAP_E_IO, "x"), -1);
	assert_int_equal(snap_err_recode(NULL, SNAP_E_IO), -1);
}

/* Final: a verdict on bytes that matched their record. Never what a
 * concurrent write, a share that comes back or a freed disk can cause. */
static void
test_final_codes(void **state)
{
	static const enum snap_code final[] = { SNAP_E_MALFORMED,
	    SNAP_E_HOSTILE, SNAP_E_INVALID, SNAP_E_TOO_LARGE, SNAP_E_BLAKE2B };
	static const enum snap_code passing[] = { SNAP_E_OTHER, SNAP_E_IO,
	    SNAP_E_NOMEM, SNAP_E_MISSING, SNAP_E_TRUNCATED, SNAP_E_CHECKSUM,
	    SNAP_E_CHANGED, SNAP_E_NO_SPACE };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(final) / sizeof(final[0]); i++)
		assert_true(snap_code_is_final(final[i]));
	for (i = 0; i < sizeof(passing) / sizeof(passing[0]); i++)
		assert_false(snap_code_is_final(passing[i]));
	assert_string_equal(snap_code_name(SNAP_E_CHANGED), "checksum");
	assert_string_equal(snap_code_name(SNAP_E_WRONG_CLUSTER),
	    "wrong_cluster");
	assert_string_equal(snap_code_name(SNAP_E_EXPIRED), "expired");
	assert_string_equal(snap_code_name(SNAP_E_COUNT), "other");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_set_sys_prefix),
		cmocka_unit_test(test_cut_character),
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_final_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
