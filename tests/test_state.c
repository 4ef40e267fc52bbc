/*
 * test_state.c - unit tests of snapshots/state.c.
 *
 * state.json is read from a shared directory that anyone with write access
 * could have edited, and it names the files a reader then opens. So beside
 * the round trip, each test takes a valid state.json, breaks one field with
 * jansson, and checks that the reader refuses it: above all, any file name
 * other than exactly snapshots/<V>.manifest.json and snapshots/<V>.tar.zst.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "state.h"
#include "testutil.h"

#define H1 "00112233445566778899aabbccddeeff"
#define H2 "ffeeddccbbaa99887766554433221100"
#define B1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define B2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void
sample(struct snap_state *s)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->cluster_id, "prod-eu.1");
	strcpy(s->node_id, "gw_01");
	strcpy(s->node_version, "artsync 0.1.0");
	s->version = 5;
	s->parent_version = 4;
	s->published_at = 1795549200;
	s->last_sync_at = 1795549260;
	s->artifact_count = 77;
	state_manifest_name(5, s->manifest.name, sizeof(s->manifest.name));
	s->manifest.size = 1234;
	strcpy(s->manifest.xxh128, H1);
	strcpy(s->manifest.blake2b, B1);
	state_archive_name(5, s->archive.name, sizeof(s->archive.name));
	s->archive.size = 56789;
	strcpy(s->archive.xxh128, H2);
	strcpy(s->archive.blake2b, B2);
}

/* A valid state.json as a jansson tree, for the tests to break. */
static json_t *
sample_json(void)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state s;
	json_error_t jerr;
	size_t len;
	char *buf;
	json_t *root;

	sample(&s);
	assert_int_equal(state_to_json(&s, &buf, &len, &err), 0);
	root = json_loadb(buf, len, 0, &jerr);
	assert_non_null(root);
	free(buf);
	return root;
}

static void
refused_str(const char *json, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state s;

	if (state_from_json(json, strlen(json), &s, &err) != -1)
		fail_msg("accepted: %s", json);
	if (err.msg[0] == '\0')
		fail_msg("refused without a message: %s", json);
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\" for %s", err.msg, want,
		    json);
}

/* Dumps root (which it releases) and asserts that it is refused. */
static void
refused(json_t *root, const char *want)
{
	char *json = json_dumps(root, JSON_COMPACT);

	assert_non_null(json);
	json_decref(root);
	refused_str(json, want);
	free(json);
}

static void
set_top(const char *key, json_t *v, const char *want)
{
	json_t *root = sample_json();

	assert_int_equal(json_object_set_new(root, key, v), 0);
	refused(root, want);
}

static void
set_file(size_t i, const char *key, json_t *v, const char *want)
{
	json_t *root = sample_json();

	assert_int_equal(json_object_set_new(json_array_get(
	    json_object_get(root, "files"), i), key, v), 0);
	refused(root, want);
}

static void
test_names(void **state)
{
	char buf[96];

	(void)state;
	state_manifest_name(42, buf, sizeof(buf));
	assert_string_equal(buf, "snapshots/42.manifest.json");
	state_archive_name(42, buf, sizeof(buf));
	assert_string_equal(buf, "snapshots/42.tar.zst");
	state_copy_name(42, buf, sizeof(buf));
	assert_string_equal(buf, "snapshots/42.state.json");
	state_archive_name(UINT64_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "snapshots/18446744073709551615.tar.zst");
}

static void
test_round_trip(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state s, r;
	char *buf = NULL;
	size_t len;

	(void)state;
	sample(&s);
	assert_int_equal(state_to_json(&s, &buf, &len, &err), 0);
	assert_int_equal(len, strlen(buf));
	assert_non_null(strstr(buf, "\"published_at\": \"2026-11-24T19:40:00Z\""));
	assert_non_null(strstr(buf, "\"last_sync_at\": \"2026-11-24T19:41:00Z\""));
	memset(&r, 0x5a, sizeof(r));
	if (state_from_json(buf, len, &r, &err) != 0)
		fail_msg("%s: %s", err.msg, buf);
	assert_string_equal(r.cluster_id, s.cluster_id);
	assert_string_equal(r.node_id, s.node_id);
	assert_string_equal(r.node_version, s.node_version);
	assert_int_equal(r.version, 5);
	assert_int_equal(r.parent_version, 4);
	assert_int_equal(r.published_at, s.published_at);
	assert_int_equal(r.last_sync_at, s.last_sync_at);
	assert_int_equal(r.artifact_count, 77);
	assert_string_equal(r.manifest.name, "snapshots/5.manifest.json");
	assert_int_equal(r.manifest.size, 1234);
	assert_string_equal(r.manifest.xxh128, H1);
	assert_string_equal(r.archive.name, "snapshots/5.tar.zst");
	assert_int_equal(r.archive.size, 56789);
	assert_string_equal(r.archive.xxh128, H2);
	/* Every byte, padding of the strings included, is as written. */
	assert_memory_equal(&r, &s, sizeof(s));
	free(buf);

	/* The first version has parent 0. */
	sample(&s);
	s.version = 1;
	s.parent_version = 0;
	state_manifest_name(1, s.manifest.name, sizeof(s.manifest.name));
	state_archive_name(1, s.archive.name, sizeof(s.archive.name));
	assert_int_equal(state_to_json(&s, &buf, &len, &err), 0);
	assert_int_equal(state_from_json(buf, len, &r, &err), 0);
	assert_memory_equal(&r, &s, sizeof(s));
	free(buf);
}

static void
test_refuses_file_names(void **state)
{
	static const char *const manifest[] = {
		"../x", "/etc/passwd", "snapshots/4.manifest.json",
		"snapshots/6.manifest.json", "snapshots/05.manifest.json",
		"snapshots/5.tar.zst", "snapshots//5.manifest.json",
		"./snapshots/5.manifest.json", "snapshots/5.manifest.json/",
		"snapshots/../state.json", "5.manifest.json", "",
		"snapshots/5.manifest.json/../../../etc/passwd",
	};
	static const char *const archive[] = {
		"/etc/passwd", "../../x", "snapshots/6.tar.zst",
		"snapshots/4.tar.zst", "snapshots/5.tar.gz",
		"snapshots/5.manifest.json", "snapshots/5.tar.zst.tmp",
		"/snapshots/5.tar.zst",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(manifest) / sizeof(manifest[0]); i++)
		set_file(0, "name", json_string(manifest[i]),
		    "expected 'snapshots/5.manifest.json'");
	for (i = 0; i < sizeof(archive) / sizeof(archive[0]); i++)
		set_file(1, "name", json_string(archive[i]),
		    "expected 'snapshots/5.tar.zst'");
	/* A name with a NUL byte, then the right one: never "the right one". */
	refused_str("{\"format\":1,\"cluster_id\":\"c\",\"node_id\":\"n\","
	    "\"node_version\":\"v\",\"version\":5,\"parent_version\":4,"
	    "\"published_at\":\"2026-11-24T19:40:00Z\",\"last_sync_at\":"
	    "\"2026-11-24T19:40:00Z\",\"artifact_count\":1,\"files\":["
	    "{\"role\":\"manifest\",\"name\":\"snapshots/5.manifest.json"
	    "\\u0000x\",\"size\":1,\"xxh128\":\"" H1 "\"},{\"role\":"
	    "\"archive\",\"name\":\"snapshots/5.tar.zst\",\"size\":1,"
	    "\"xxh128\":\"" H2 "\"}]}", NULL);
	set_file(0, "name", json_integer(5), "'name'");
	/* A name longer than the field. */
	{
		char longname[200];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		set_file(1, "name", json_string(longname), "'name'");
	}
}

static void
test_refuses_files_list(void **state)
{
	json_t *root, *files;

	(void)state;
	/* Roles swapped. */
	root = sample_json();
	files = json_object_get(root, "files");
	json_array_append(files, json_array_get(files, 0));
	json_array_remove(files, 0);
	refused(root, "manifest, then the archive");
	/* One, three, none. */
	root = sample_json();
	json_array_remove(json_object_get(root, "files"), 1);
	refused(root, "exactly");
	root = sample_json();
	files = json_object_get(root, "files");
	json_array_append(files, json_array_get(files, 1));
	refused(root, "exactly");
	set_top("files", json_array(), "exactly");
	set_top("files", json_object(), "exactly");
	set_top("files", json_string("snapshots/5.tar.zst"), "exactly");
	set_file(0, "role", json_string("archive"), "manifest, then");
	set_file(1, "role", json_string("manifest"), "manifest, then");
	set_file(0, "role", json_null(), "manifest, then");
	set_file(0, "size", json_integer(-1), "'size'");
	set_file(1, "size", json_string("10"), "'size'");
	set_file(0, "xxh128", json_string("00112233445566778899AABBCCDDEEFF"),
	    "'xxh128'");
	set_file(1, "xxh128", json_string("0011"), "'xxh128'");
	set_file(1, "xxh128", json_string(H1 "00"), "'xxh128'");
	set_file(1, "xxh128", json_integer(0), "'xxh128'");
	root = sample_json();
	json_array_set_new(json_object_get(root, "files"), 0,
	    json_string("snapshots/5.manifest.json"));
	refused(root, "manifest, then");
}

static void
test_refuses_ids(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", ".hidden", "a b", "a/b", "../x", "a:b", "é",
		"a\nb",
	};
	char longest[STATE_ID_MAX], too_long[STATE_ID_MAX + 1];
	struct snap_err err = SNAP_ERR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_top("cluster_id", json_string(bad[i]), NULL);
		set_top("node_id", json_string(bad[i]), NULL);
		if (state_check_id(bad[i], &err) != -1)
			fail_msg("id '%s' accepted", bad[i]);
	}
	memset(longest, 'i', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	assert_int_equal(state_check_id(longest, &err), 0);
	memset(too_long, 'i', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	assert_int_equal(state_check_id(too_long, &err), -1);
	set_top("cluster_id", json_string(too_long), "'cluster_id'");
	set_top("node_id", json_integer(1), "'node_id'");
	set_top("cluster_id", json_null(), "'cluster_id'");
	assert_int_equal(state_check_id("prod-eu.1_a", &err), 0);
}

static void
test_refuses_versions(void **state)
{
	json_t *root;

	(void)state;
	/* version 0 (with names to match, so only the number is wrong). */
	root = sample_json();
	json_object_set_new(root, "version", json_integer(0));
	json_object_set_new(root, "parent_version", json_integer(0));
	json_object_set_new(json_array_get(json_object_get(root, "files"), 0),
	    "name", json_string("snapshots/0.manifest.json"));
	json_object_set_new(json_array_get(json_object_get(root, "files"), 1),
	    "name", json_string("snapshots/0.tar.zst"));
	refused(root, "not a forward step");
	set_top("parent_version", json_integer(5), "not a forward step");
	set_top("parent_version", json_integer(6), "not a forward step");
	set_top("version", json_integer(-5), "'version'");
	set_top("version", json_string("5"), "'version'");
	set_top("version", json_real(5.0), "'version'");
	/* The file names must follow the version, not the other way round. */
	set_top("version", json_integer(6), "expected 'snapshots/6.manifest");
	set_top("artifact_count", json_integer(-1), "'artifact_count'");
	set_top("published_at", json_string("2026-11-24"), "'published_at'");
	set_top("last_sync_at", json_integer(0), "'last_sync_at'");
}

static void
test_refuses_format(void **state)
{
	char big[100];

	(void)state;
	set_top("format", json_integer(2), "format 2 is not supported");
	set_top("format", json_integer(0), "format 0 is not supported");
	set_top("format", json_string("1"), "'format'");
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	set_top("node_version", json_string(big), "'node_version'");
	refused_str("", "malformed JSON");
	refused_str("{", "malformed JSON");
	refused_str("not json", "malformed JSON");
	refused_str("[]", "not a JSON object");
	refused_str("{\"format\":1,\"format\":1}", "malformed JSON");
	{
		/* Valid JSON followed by anything is not valid JSON. */
		json_t *root = sample_json();
		char *json = json_dumps(root, JSON_COMPACT), *more;

		assert_non_null(json);
		json_decref(root);
		more = malloc(strlen(json) + 3);
		assert_non_null(more);
		sprintf(more, "%s{}", json);
		refused_str(more, "malformed JSON");
		free(more);
		free(json);
	}
}

static void
test_refuses_missing_fields(void **state)
{
	static const char *const top[] = {
		"format", "cluster_id", "node_id", "node_version", "version",
		"parent_version", "published_at", "last_sync_at",
		"artifact_count", "files",
	};
	static const char *const file[] = { "role", "name", "size", "xxh128" };
	size_t i, f;
	json_t *root;

	(void)state;
	for (i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		root = sample_json();
		assert_int_equal(json_object_del(root, top[i]), 0);
		refused(root, NULL);
	}
	for (f = 0; f < 2; f++)
		for (i = 0; i < sizeof(file) / sizeof(file[0]); i++) {
			root = sample_json();
			assert_int_equal(json_object_del(json_array_get(
			    json_object_get(root, "files"), f), file[i]), 0);
			refused(root, NULL);
		}
}

/* "blake2b" is optional per record (states written before it existed);
 * when present it is 64 lower-case hex digits. Records without one are
 * counted, whatever their role: a signed state needs none missing. */
static void
test_blake2b_field(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state s, r;
	char *buf = NULL;
	size_t len;

	(void)state;
	sample(&s);
	s.archive.blake2b[0] = '\0';
	assert_int_equal(state_to_json(&s, &buf, &len, &err), 0);
	assert_null(strstr(buf, "\"blake2b\": \"\""));
	assert_int_equal(state_from_json(buf, len, &r, &err), 0);
	assert_string_equal(r.manifest.blake2b, B1);
	assert_string_equal(r.archive.blake2b, "");
	assert_int_equal(r.unhashed, 1);
	free(buf);
	s.manifest.blake2b[0] = '\0';
	assert_int_equal(state_to_json(&s, &buf, &len, &err), 0);
	assert_int_equal(state_from_json(buf, len, &r, &err), 0);
	assert_int_equal(r.unhashed, 2);
	free(buf);

	set_file(0, "blake2b", json_string(H1), "64 lower-case hex");
	set_file(1, "blake2b", json_string("0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef"), "64 lower-case hex");
	set_file(1, "blake2b", json_string(B1 "0"), "'blake2b'");
	set_file(1, "blake2b", json_integer(7), "'blake2b'");
	set_file(0, "blake2b", json_null(), "'blake2b'");
}

static void
test_read(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state s, r;
	char path[TU_PATH], *buf, *big;
	size_t len;
	int dfd;

	sample(&s);
	assert_int_equal(state_to_json(&s, &buf, &len, &err), 0);
	tu_path(path, "%s/state.json", dir);
	tu_write(path, buf, len);
	free(buf);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(state_read(dfd, STATE_FILE, &r, &err), 0);
	assert_memory_equal(&r, &s, sizeof(s));

	/* Errors name the file. */
	tu_write_str(path, "{\"format\":1}");
	assert_int_equal(state_read(dfd, STATE_FILE, &r, &err), -1);
	tu_assert_msg(err.msg, "state.json: ");
	assert_int_equal(state_read(dfd, "nope.json", &r, &err), -1);
	tu_assert_msg(err.msg, "nope.json");
	/* Bounded: a huge file is not read in. */
	big = malloc(STATE_MAX_BYTES + 2);
	assert_non_null(big);
	memset(big, ' ', STATE_MAX_BYTES + 1);
	big[0] = '{';
	big[STATE_MAX_BYTES] = '}';
	tu_write(path, big, STATE_MAX_BYTES + 1);
	free(big);
	assert_int_equal(state_read(dfd, STATE_FILE, &r, &err), -1);
	tu_assert_msg(err.msg, "limit");
	close(dfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refuses_file_names),
		cmocka_unit_test(test_refuses_files_list),
		cmocka_unit_test(test_refuses_ids),
		cmocka_unit_test(test_refuses_versions),
		cmocka_unit_test(test_refuses_format),
		cmocka_unit_test(test_refuses_missing_fields),
		cmocka_unit_test(test_blake2b_field),
		cmocka_unit_test_setup_teardown(test_read, tu_setup_tmp,
		    tu_teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
