/*
 * test_names.c - unit tests of snapshots/names.c.
 *
 * Names arrive from directory listings, archive entries and HTTP paths and
 * become path components, so the rules are tested at their edges: the
 * longest legal name, one byte more, every byte that could change what a
 * path means or a log line shows, the names WSO2 really uses, and the type
 * folders of a synapse-configs tree (and nothing else).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "names.h"

static void
assert_name_ok(const char *name)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (name_check(name, &err) != 0)
		fail_msg("'%s' refused: %s", name, err.msg);
}

static void
assert_name_bad(const char *name, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (name_check(name, &err) != -1)
		fail_msg("'%s' accepted", name);
	if (err.msg[0] == '\0')
		fail_msg("'%s' refused without a message", name);
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("'%s': message \"%s\" lacks \"%s\"", name, err.msg,
		    want);
}

static void
test_check_accepts(void **state)
{
	char longest[NAME_MAX_BYTES + 1];

	(void)state;
	assert_name_ok("a");
	assert_name_ok("0");
	assert_name_ok("HelloWorld");
	assert_name_ok("_OpenService_");
	assert_name_ok("a.b-c_d.0");
	assert_name_ok("a..b");		/* ".." inside a name is no path trick */
	assert_name_ok("a.");
	assert_name_ok("-");
	/* What WSO2 itself deploys. */
	assert_name_ok("admin--PizzaShackAPI:v1.0.0--In");
	assert_name_ok("{org.wso2.carbon.connector}hello");
	assert_name_ok("admin-AT-wso2.com--Foo_v1.0.0");
	assert_name_ok("my api");
	assert_name_ok("caf\xc3\xa9");
	assert_name_ok("a~");
	assert_name_ok("\xf0\x9f\x98\x80");	/* four bytes of UTF-8 */
	memset(longest, 'x', NAME_MAX_BYTES);
	longest[NAME_MAX_BYTES] = '\0';
	assert_int_equal(strlen(longest), 255);
	assert_name_ok(longest);
}

static void
test_check_refuses(void **state)
{
	char too_long[NAME_MAX_BYTES + 2];
	static const struct {
		const char *name, *why;
	} odd[] = {
		{ "a\\b", "a path separator" }, { "a/b", "a path separator" },
		{ "/", "a path separator" }, { "a\tb", "a control character" },
		{ "a\nb", "a control character" }, { "a\"b", "a double quote" },
		{ "a\x7f", "a control character" }, { "\x01", "a control" },
		{ "\x80", "not UTF-8" }, { "a\xff", "not UTF-8" },
		{ "a\xc0\xaf" "b", "not UTF-8" },	/* overlong '/' */
		{ "\xed\xa0\x80", "not UTF-8" },	/* a surrogate */
		{ "\xc2\x85", "C1 control" },	/* NEL */
		{ "\xf4\x90\x80\x80", "not UTF-8" },	/* past U+10FFFF */
		{ "a\xe2\x82", "not UTF-8" },	/* cut short */
	};
	size_t i;

	(void)state;
	assert_name_bad("", "empty");
	memset(too_long, 'x', NAME_MAX_BYTES + 1);
	too_long[NAME_MAX_BYTES + 1] = '\0';
	assert_int_equal(strlen(too_long), 256);
	assert_name_bad(too_long, "longer than 255 bytes");
	assert_name_bad(".", "starts with '.'");
	assert_name_bad("..", "starts with '.'");
	assert_name_bad(".hidden", "starts with '.'");
	assert_name_bad("...", NULL);
	assert_name_bad("../x", NULL);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		assert_name_bad(odd[i].name, odd[i].why);
	/* The message says which byte, and where. */
	assert_name_bad("ab\tcd", "byte 0x09 at offset 2");
	assert_name_bad("x\x80", "byte 0x80 at offset 1");
	/* A NULL err is allowed. */
	assert_int_equal(name_check("a/b", NULL), -1);
	assert_int_equal(name_check("ab", NULL), 0);
}

static void
test_from_file(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char out[NAME_MAX_BYTES + 1], file[NAME_MAX_BYTES + 16];
	static const char *const bad[] = {
		"", "x", ".xml", "Foo", "Foo.XML", "Foo.xm", "Foo.xml.bak",
		"Foo.xml~", "..xml", "...xml", ".x.xml", "a/b.xml", "../x.xml",
		"a\tb.xml", "Foo.xml/",
	};
	size_t i;

	(void)state;
	assert_int_equal(name_from_file("HelloWorld.xml", out, &err), 0);
	assert_string_equal(out, "HelloWorld");
	assert_int_equal(name_from_file("a.b.xml", out, &err), 0);
	assert_string_equal(out, "a.b");
	assert_int_equal(name_from_file("x.xml.xml", out, &err), 0);
	assert_string_equal(out, "x.xml");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		if (name_from_file(bad[i], out, &err) != -1)
			fail_msg("'%s' accepted", bad[i]);
		if (err.msg[0] == '\0')
			fail_msg("'%s' refused without a message", bad[i]);
	}
	assert_int_equal(name_from_file("Foo", out, &err), -1);
	assert_non_null(strstr(err.msg, "NAME.xml"));

	/* The longest NAME fits out exactly; one byte more is refused. */
	memset(file, 'n', NAME_MAX_BYTES);
	strcpy(file + NAME_MAX_BYTES, ".xml");
	assert_int_equal(name_from_file(file, out, &err), 0);
	assert_int_equal(strlen(out), NAME_MAX_BYTES);
	memset(file, 'n', NAME_MAX_BYTES + 1);
	strcpy(file + NAME_MAX_BYTES + 1, ".xml");
	assert_int_equal(name_from_file(file, out, &err), -1);
	assert_non_null(strstr(err.msg, "longer than"));
}

static void
test_type_lookup(void **state)
{
	static const struct {
		const char *folder, *root;
	} want[] = {
		{ "api", "api" },
		{ "sequences", "sequence" },
		{ "endpoints", "endpoint" },
		{ "local-entries", "localEntry" },
		{ "proxy-services", "proxy" },
		{ "templates", "template" },
		{ "inbound-endpoints", "inboundEndpoint" },
		{ "message-stores", "messageStore" },
		{ "message-processors", "messageProcessor" },
		{ "tasks", "task" },
		{ "event-sources", "eventSource" },
		{ "priority-executors", "priorityExecutor" },
		{ "imports", "import" },
	};
	static const char *const unknown[] = {
		"", "API", "Api", "apis", "api/", "/api", "./api", " api",
		"multi", "proxy_services", "sequence", "task", "local-entry",
		"..", ".", "import", "synapse-configs",
	};
	const struct artifact_type *t;
	size_t i;

	(void)state;
	assert_int_equal(artifact_type_count, 14);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		t = name_type_lookup(want[i].folder);
		if (t == NULL)
			fail_msg("%s: not a type", want[i].folder);
		assert_ptr_equal(t, &artifact_types[i]);
		assert_string_equal(t->folder, want[i].folder);
		assert_string_equal(t->root, want[i].root);
		assert_int_equal(name_type_index(want[i].folder), (int)i);
	}
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		if (name_type_lookup(unknown[i]) != NULL)
			fail_msg("'%s' taken for a type", unknown[i]);
		assert_int_equal(name_type_index(unknown[i]), -1);
	}
	/* The top of the tree is a type, but no folder. */
	assert_int_equal(name_type_index("config"), TYPE_CONFIG);
	assert_string_equal(artifact_types[TYPE_CONFIG].dir, "");
	assert_int_equal(name_type_of_dir("config"), -1);
	assert_int_equal(name_type_of_dir("imports"), 12);
}

static void
test_paths_and_rules(void **state)
{
	char out[NAME_PATH_MAX];
	struct name_rules r;

	(void)state;
	assert_string_equal(name_path(0, "a:b", out, sizeof(out)), "api/a:b.xml");
	assert_string_equal(name_path(TYPE_CONFIG, "synapse", out, sizeof(out)),
	    "synapse.xml");
	name_rules(TYPE_CONFIG, "synapse", &r);
	assert_string_equal(r.root, "definitions");
	assert_int_equal(r.ns, NS_SYNAPSE);
	name_rules(TYPE_CONFIG, "registry", &r);
	assert_string_equal(r.root, "registry");
	name_rules(TYPE_CONFIG, "task-manager", &r);
	assert_string_equal(r.root, "taskManager");
	name_rules(TYPE_CONFIG, "README", &r);
	assert_null(r.root);
	assert_int_equal(r.ns, NS_ANY);
	name_rules(name_type_index("local-entries"), "x", &r);
	assert_int_equal(r.ns, NS_SYNAPSE_OR_NONE);
	assert_int_equal(r.id, ID_KEY);
	assert_string_equal(r.required[0], "key");
	assert_true(name_is_xml_file("a.xml"));
	assert_false(name_is_xml_file("a.XML"));
	assert_false(name_is_xml_file(".xml"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_accepts),
		cmocka_unit_test(test_check_refuses),
		cmocka_unit_test(test_from_file),
		cmocka_unit_test(test_type_lookup),
		cmocka_unit_test(test_paths_and_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
