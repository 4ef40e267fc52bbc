/*
 * test_log.c - the JSON line of a log message, the names of levels and
 * formats, and errno: appended by log_warn() and log_error(), not by
 * their x forms, and left as it was by all.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "log.h"

/* Parses line as one JSON object, failing the test otherwise. */
static json_t *
parse(const char *line)
{
	json_error_t e;
	json_t *j;

	assert_non_null(line);
	assert_null(strchr(line, '\n'));
	j = json_loads(line, 0, &e);
	if (j == NULL || !json_is_object(j))
		fail_msg("not a JSON object: %s (%s)", line, e.text);
	return j;
}

static void
test_fields_in_order(void **state)
{
	char *line;
	json_t *j;

	(void)state;
	/* 2026-11-28T10:00:00.123Z */
	line = log_json_line(INT64_C(1795860000123), LOG_LEVEL_INFO,
	    "published version 42",
	    LOG_FIELDS(LOG_INT("version", 42), LOG_STR("release", "v42-r7")));
	assert_string_equal(line, "{\"time\":\"2026-11-28T10:00:00.123Z\","
	    "\"level\":\"info\",\"message\":\"published version 42\","
	    "\"version\":42,\"release\":\"v42-r7\"}");
	j = parse(line);
	json_decref(j);
	free(line);
}

static void
test_hostile_text_stays_one_valid_line(void **state)
{
	char *line;
	json_t *j;

	(void)state;
	line = log_json_line(0, LOG_LEVEL_ERROR,
	    "api/\"x\\y\": bad\nforged line\x01 \xff\xfe end",
	    LOG_FIELDS(LOG_STR("artifact", "api/a\"b\n")));
	j = parse(line);
	assert_string_equal(json_string_value(json_object_get(j, "level")),
	    "error");
	assert_string_equal(json_string_value(json_object_get(j, "time")),
	    "1970-01-01T00:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(j, "message")),
	    "api/\"x\\y\": bad?forged line? ?? end");
	assert_string_equal(json_string_value(json_object_get(j, "artifact")),
	    "api/a\"b?");
	json_decref(j);
	free(line);
}

static void
test_reserved_names_and_no_fields(void **state)
{
	char *line;
	json_t *j;

	(void)state;
	line = log_json_line(1000, LOG_LEVEL_DEBUG, "m",
	    LOG_FIELDS(LOG_STR("message", "forged"), LOG_INT("time", 1)));
	j = parse(line);
	assert_string_equal(json_string_value(json_object_get(j, "message")),
	    "m");
	assert_int_equal(json_object_size(j), 3);
	json_decref(j);
	free(line);
	line = log_json_line(1000, LOG_LEVEL_WARN, "m", NULL);
	j = parse(line);
	assert_string_equal(json_string_value(json_object_get(j, "level")),
	    "warn");
	assert_int_equal(json_object_size(j), 3);
	json_decref(j);
	free(line);
}

static void
test_names(void **state)
{
	(void)state;
	assert_int_equal(log_level_parse("debug"), LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("error"), LOG_LEVEL_ERROR);
	assert_int_equal(log_level_parse("loud"), -1);
	assert_int_equal(log_format_parse("json"), LOG_FORMAT_JSON);
	assert_int_equal(log_format_parse("text"), LOG_FORMAT_TEXT);
	assert_int_equal(log_format_parse("JSON"), -1);
	assert_int_equal(log_format_parse(""), -1);
}

/* What one log call wrote to stderr (text format), its newline cut,
 * into out. */
static void
captured(void (*fn)(const char *, ...), const char *msg, int errnum,
    char *out, size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	errno = errnum;
	fn("%s", msg);
	assert_int_equal(errno, errnum);	/* left as it was */
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, len - 1, tmp);
	fclose(tmp);
	out[n] = '\0';
	assert_true(n > 0 && out[n - 1] == '\n');
	out[n - 1] = '\0';
}

/* Whether s ends with tail. */
static bool
ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && strcmp(s + a - b, tail) == 0;
}

static void
test_errno_appended_by_warn_and_error_only(void **state)
{
	char line[512];

	(void)state;
	unsetenv("JOURNAL_STREAM");
	log_init(LOG_LEVEL_DEBUG, LOG_FORMAT_TEXT);
	captured(log_warn, "releases/v1-r1: open", ENOENT, line, sizeof(line));
	assert_non_null(strstr(line, " artsync warn: releases/v1-r1: open: "));
	assert_true(ends_with(line, ": No such file or directory"));
	captured(log_error, "poll", EINTR, line, sizeof(line));
	assert_true(ends_with(line, " artsync error: poll: Interrupted system "
	    "call"));
	captured(log_warnx, "watch lost", ENOENT, line, sizeof(line));
	assert_true(ends_with(line, " artsync warn: watch lost"));
	captured(log_errorx, "publish failed: x", EIO, line, sizeof(line));
	assert_true(ends_with(line, " artsync error: publish failed: x"));
	captured(log_info, "serving v1-r1", EIO, line, sizeof(line));
	assert_true(ends_with(line, " artsync info: serving v1-r1"));
	log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_in_order),
		cmocka_unit_test(test_hostile_text_stays_one_valid_line),
		cmocka_unit_test(test_reserved_names_and_no_fields),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_errno_appended_by_warn_and_error_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
