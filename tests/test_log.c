/*
 * test_log.c - the JSON line of a log message, and the names of levels and
 * formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_in_order),
		cmocka_unit_test(test_hostile_text_stays_one_valid_line),
		cmocka_unit_test(test_reserved_names_and_no_fields),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
