/*
 * test_state_refuses.c - what snapshots/state.c refuses. state.json is
 * read from a shared directory that anyone with write access could have
 * edited, and it names the files a reader then opens. So each test takes
 * a valid state.json, breaks one field with jansson, and checks that the
 * reader refuses it: above all, any file name other than exactly
 * snapshots/<V>.manifest.json and snapshots/<V>.tar.zst (the base) and
 * snapshots/<V>.delta.json and snapshots/<V>.delta.tar.zst (each delta of
 * the chain), and any chain that does not lead from base_version to
 * version one step after another.
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
#include "statetest.h"

static void
set_top(const char *key, json_t *v, const char *want)
{
	json_t *root = sample_json();

	assert_int_equal(json_object_set_new(root, key, v), 0);
	refused(root, want);
}

static void
set_chain_top(const char *key, json_t *v, const char *want)
{
	json_t *root = chain_json();

	assert_int_equal(json_object_set_new(root, key, v), 0);
	refused(root, want);
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
	refused_str("{\"format\":2,\"cluster_id\":\"c\",\"node_id\":\"n\","
	    "\"node_version\":\"v\",\"version\":5,\"parent_version\":4,"
	    "\"base_version\":5,"
	    "\"published_at\":\"2026-11-24T19:40:00Z\",\"last_sync_at\":"
	    "\"2026-11-24T19:40:00Z\",\"artifact_count\":1,\"files\":["
	    "{\"role\":\"manifest\",\"version\":5,\"name\":"
	    "\"snapshots/5.manifest.json\\u0000x\",\"size\":1,\"xxh128\":\""
	    H1 "\"},{\"role\":\"archive\",\"version\":5,\"name\":"
	    "\"snapshots/5.tar.zst\",\"size\":1,\"xxh128\":\"" H2 "\"}]}",
	    NULL);
	set_file(0, "name", json_integer(5), "'name'");
	/* A name longer than the field. */
	{
		char longname[200];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		set_file(1, "name", json_string(longname), "'name'");
	}
}

/* What the reader says of a list of the wrong shape or roles. */
#define ROLES "must list the base's manifest and archive, then each delta's"
#define COUNT "must list a manifest and an archive, then at most 256 pairs"

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
	refused(root, ROLES);
	/* One, three, none. */
	root = sample_json();
	json_array_remove(json_object_get(root, "files"), 1);
	refused(root, COUNT);
	root = sample_json();
	files = json_object_get(root, "files");
	json_array_append(files, json_array_get(files, 1));
	refused(root, COUNT);
	set_top("files", json_array(), COUNT);
	set_top("files", json_object(), COUNT);
	set_top("files", json_string("snapshots/5.tar.zst"), COUNT);
	set_file(0, "role", json_string("archive"), ROLES);
	set_file(1, "role", json_string("manifest"), ROLES);
	set_file(0, "role", json_string("delta-manifest"), ROLES);
	set_file(1, "role", json_string("delta-archive"), ROLES);
	set_file(0, "role", json_null(), ROLES);
	set_file(0, "size", json_integer(-1), "'size'");
	set_file(1, "size", json_string("10"), "'size'");
	set_file(0, "xxh128", json_string("00112233445566778899AABBCCDDEEFF"),
	    "'xxh128'");
	set_file(1, "xxh128", json_string("0011"), "'xxh128'");
	set_file(1, "xxh128", json_string(H1 "00"), "'xxh128'");
	set_file(1, "xxh128", json_integer(0), "'xxh128'");
	/* Each record says whose file it is, and must say the base's. */
	set_file(0, "version", json_integer(4), "manifest file of version 4 "
	    "where 5 belongs");
	set_file(1, "version", json_integer(6), "archive file of version 6 "
	    "where 5 belongs");
	set_file(1, "version", json_string("5"), "'version'");
	set_file(0, "version", json_integer(-5), "'version'");
	root = sample_json();
	json_array_set_new(json_object_get(root, "files"), 0,
	    json_string("snapshots/5.manifest.json"));
	refused(root, ROLES);
}

/* Swaps files[i] and files[j] of root. */
static void
swap_files(json_t *root, size_t i, size_t j)
{
	json_t *files = json_object_get(root, "files");
	json_t *a = json_incref(json_array_get(files, i));
	json_t *b = json_incref(json_array_get(files, j));

	assert_int_equal(json_array_set_new(files, i, b), 0);
	assert_int_equal(json_array_set_new(files, j, a), 0);
}

static void
test_refuses_chain(void **state)
{
	json_t *root, *files;
	size_t i;

	(void)state;
	/* The control: chain_json() itself is accepted (round trip). */
	{
		struct snap_state s;

		sample_chain(&s);
		assert_round_trip(&s);
	}
	/* Out of order: deltas 4 then 3, or one version twice. */
	root = chain_json();
	swap_files(root, 2, 4);
	swap_files(root, 3, 5);
	refused(root, "delta chain from 2 to 5 is not in order at 3");
	set_chain_file(4, "version", json_integer(3), "not in order at 3");
	set_chain_file(2, "version", json_integer(2), "not in order at 2");
	set_chain_file(2, "version", json_integer(1), "not in order at 1");
	/* Past the version, or stopping short of it. */
	set_chain_file(2, "version", json_integer(6), "not in order at 6");
	set_chain_file(6, "version", json_integer(6), "not in order at 6");
	root = chain_json();
	files = json_object_get(root, "files");
	json_array_remove(files, 7);
	json_array_remove(files, 6);
	refused(root, "delta chain from 2 to 5 is not in order at 4");
	set_chain_top("version", json_integer(6), "not in order at 5");
	/* The pair's version belongs to the delta-manifest; its archive
	 * must say the same. */
	set_chain_file(3, "version", json_integer(4), "delta-archive file of "
	    "version 4 where 3 belongs");
	set_chain_file(7, "version", json_integer(4), "delta-archive file of "
	    "version 4 where 5 belongs");
	/* base_version: 1..version, and a chain exactly when it is below. */
	set_chain_top("base_version", json_integer(6), "base_version 6 is not "
	    "in 1..5");
	set_top("base_version", json_integer(6), "base_version 6 is not in "
	    "1..5");
	set_top("base_version", json_integer(0), "base_version 0 is not in "
	    "1..5");
	set_top("base_version", json_integer(-1), "'base_version'");
	set_top("base_version", json_string("5"), "'base_version'");
	set_chain_top("base_version", json_integer(5), "base_version 5 and 3 "
	    "deltas do not lead to version 5");
	set_top("base_version", json_integer(4), "base_version 4 and 0 "
	    "deltas do not lead to version 5");
	root = sample_json();
	files = json_object_get(root, "files");
	{
		json_t *c = chain_json();
		json_t *cf = json_object_get(c, "files");

		json_array_append(files, json_array_get(cf, 6));
		json_array_append(files, json_array_get(cf, 7));
		json_decref(c);
	}
	refused(root, "base_version 5 and 1 deltas do not lead to version 5");
	/* Deltas without a base: the first pair must be the base's. */
	root = chain_json();
	files = json_object_get(root, "files");
	json_array_remove(files, 0);
	json_array_remove(files, 0);
	refused(root, ROLES);
	/* A delta file named for another version, or as a full one. */
	set_chain_file(4, "name", json_string("snapshots/3.delta.json"),
	    "expected 'snapshots/4.delta.json'");
	set_chain_file(5, "name", json_string("snapshots/5.delta.tar.zst"),
	    "expected 'snapshots/4.delta.tar.zst'");
	set_chain_file(2, "name", json_string("snapshots/3.manifest.json"),
	    "expected 'snapshots/3.delta.json'");
	set_chain_file(3, "name", json_string("snapshots/3.tar.zst"),
	    "expected 'snapshots/3.delta.tar.zst'");
	set_chain_file(6, "name", json_string("../5.delta.json"),
	    "expected 'snapshots/5.delta.json'");
	set_chain_file(0, "name", json_string("snapshots/2.delta.json"),
	    "expected 'snapshots/2.manifest.json'");
	set_chain_file(0, "name", json_string("snapshots/5.manifest.json"),
	    "expected 'snapshots/2.manifest.json'");
	set_chain_file(0, "version", json_integer(5), "manifest file of "
	    "version 5 where 2 belongs");
	/* Checksums and sizes of delta records are checked like the base's. */
	set_chain_file(4, "xxh128", json_string("x"), "'xxh128'");
	set_chain_file(5, "size", json_integer(-1), "'size'");
	set_chain_file(4, "version", json_null(), "'version'");
	/* Odd counts. */
	root = chain_json();
	json_array_remove(json_object_get(root, "files"), 7);
	refused(root, COUNT);
	root = chain_json();
	files = json_object_get(root, "files");
	json_array_append(files, json_array_get(files, 6));
	refused(root, COUNT);
	/* Wrong roles: a pair the wrong way round, full roles in the chain,
	 * delta roles for the base. */
	root = chain_json();
	swap_files(root, 4, 5);
	refused(root, ROLES);
	set_chain_file(2, "role", json_string("manifest"), ROLES);
	set_chain_file(3, "role", json_string("archive"), ROLES);
	set_chain_file(7, "role", json_string("delta-manifest"), ROLES);
	set_chain_file(1, "role", json_string("delta-archive"), ROLES);
	set_chain_file(6, "role", json_string("Delta-manifest"), ROLES);
	root = chain_json();
	json_array_set_new(json_object_get(root, "files"), 4, json_integer(4));
	refused(root, NULL);
	/* Missing fields of a delta record. */
	for (i = 2; i < 8; i++) {
		static const char *const key[] = { "role", "version", "name",
		    "size", "xxh128" };
		size_t k;

		for (k = 0; k < sizeof(key) / sizeof(key[0]); k++)
			drop_file_field(chain_json(), i, key[k]);
	}
}

/* One pair past STATE_CHAIN_MAX is refused; STATE_CHAIN_MAX is not. */
static void
test_refuses_long_chain(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state *s = malloc(sizeof(*s));
	json_t *root, *files, *rec;
	json_error_t jerr;
	char *buf, name[96];
	size_t len;

	(void)state;
	assert_non_null(s);
	sample(s);
	s->base_version = 1;
	state_manifest_name(1, s->manifest.name, sizeof(s->manifest.name));
	state_archive_name(1, s->archive.name, sizeof(s->archive.name));
	s->version = 1 + STATE_CHAIN_MAX;
	s->parent_version = s->version - 1;
	while (s->ndeltas < STATE_CHAIN_MAX)
		add_delta(s, 2 + s->ndeltas);
	assert_round_trip(s);

	/* A 257th pair, for version 258 (which the state then claims). */
	assert_int_equal(state_to_json(s, &buf, &len, &err), 0);
	root = json_loadb(buf, len, 0, &jerr);
	assert_non_null(root);
	free(buf);
	files = json_object_get(root, "files");
	json_object_set_new(root, "version", json_integer(STATE_CHAIN_MAX + 2));
	json_object_set_new(root, "parent_version",
	    json_integer(STATE_CHAIN_MAX + 1));
	state_delta_manifest_name(STATE_CHAIN_MAX + 2, name, sizeof(name));
	rec = json_pack("{s:s, s:i, s:s, s:i, s:s}", "role", "delta-manifest",
	    "version", STATE_CHAIN_MAX + 2, "name", name, "size", 1,
	    "xxh128", H1);
	assert_int_equal(json_array_append_new(files, rec), 0);
	state_delta_archive_name(STATE_CHAIN_MAX + 2, name, sizeof(name));
	rec = json_pack("{s:s, s:i, s:s, s:i, s:s}", "role", "delta-archive",
	    "version", STATE_CHAIN_MAX + 2, "name", name, "size", 1,
	    "xxh128", H1);
	assert_int_equal(json_array_append_new(files, rec), 0);
	assert_int_equal(json_array_size(files), 2 + 2 * (STATE_CHAIN_MAX + 1));
	refused(root, COUNT);
	free(s);
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
	json_t *root, *files;
	size_t i;

	(void)state;
	/* version 0 (with a base and names to match, so only the number is
	 * wrong). */
	root = sample_json();
	json_object_set_new(root, "version", json_integer(0));
	json_object_set_new(root, "parent_version", json_integer(0));
	json_object_set_new(root, "base_version", json_integer(0));
	files = json_object_get(root, "files");
	for (i = 0; i < 2; i++)
		json_object_set_new(json_array_get(files, i), "version",
		    json_integer(0));
	json_object_set_new(json_array_get(files, 0), "name",
	    json_string("snapshots/0.manifest.json"));
	json_object_set_new(json_array_get(files, 1), "name",
	    json_string("snapshots/0.tar.zst"));
	refused(root, "not a forward step");
	set_top("parent_version", json_integer(5), "not a forward step");
	set_top("parent_version", json_integer(6), "not a forward step");
	set_top("version", json_integer(-5), "'version'");
	set_top("version", json_string("5"), "'version'");
	set_top("version", json_real(5.0), "'version'");
	/* The files must follow the version, not the other way round. */
	set_top("version", json_integer(6), "base_version 5 and 0 deltas do "
	    "not lead to version 6");
	root = sample_json();
	json_object_set_new(root, "version", json_integer(6));
	json_object_set_new(root, "base_version", json_integer(6));
	refused(root, "manifest file of version 5 where 6 belongs");
	root = sample_json();
	json_object_set_new(root, "version", json_integer(6));
	json_object_set_new(root, "base_version", json_integer(6));
	files = json_object_get(root, "files");
	for (i = 0; i < 2; i++)
		json_object_set_new(json_array_get(files, i), "version",
		    json_integer(6));
	refused(root, "expected 'snapshots/6.manifest.json'");
	set_chain_top("parent_version", json_integer(5), "not a forward step");
	set_top("artifact_count", json_integer(-1), "'artifact_count'");
	set_top("published_at", json_string("2026-11-24"), "'published_at'");
	set_top("last_sync_at", json_integer(0), "'last_sync_at'");
}

static void
test_refuses_format(void **state)
{
	char big[100];

	(void)state;
	set_top("format", json_integer(1), "format 1 is not supported");
	set_top("format", json_integer(5), "format 5 is not supported");
	set_top("format", json_integer(4), "'epoch'");
	set_top("format", json_integer(3), "format 3 without an "
	    "'expires_at'");
	set_top("format", json_integer(0), "format 0 is not supported");
	set_top("format", json_string("1"), "'format'");
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	set_top("node_version", json_string(big), "'node_version'");
	refused_str("", "malformed JSON");
	refused_str("{", "malformed JSON");
	refused_str("not json", "malformed JSON");
	refused_str("[]", "not a JSON object");
	refused_str("{\"format\":2,\"format\":2}", "malformed JSON");
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
		"parent_version", "base_version", "published_at",
		"last_sync_at", "artifact_count", "files",
	};
	static const char *const file[] = { "role", "version", "name", "size",
		"xxh128" };
	size_t i, f;
	json_t *root;

	(void)state;
	for (i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		root = sample_json();
		assert_int_equal(json_object_del(root, top[i]), 0);
		refused(root, NULL);
	}
	for (f = 0; f < 2; f++)
		for (i = 0; i < sizeof(file) / sizeof(file[0]); i++)
			drop_file_field(sample_json(), f, file[i]);
}

/*
 * Found by fuzz_state: "malformed JSON at line 12: invalid token near
 * '\x1f'" carried the raw byte, and an id error quotes the id. Messages
 * reach logs and the status JSON: one clean line, whatever the input.
 */
static void
test_error_text_is_clean(void **state)
{
	static const char *const docs[] = {
		"{\n\"format\": \x1f}",			/* the fuzzer's find */
		"{\"format\": 1, \"cluster_id\": \"\xc3\x28\"}",
		"{\"format\": 1, \"cluster_id\": \"a\\nb\"}",
		"{\"format\": 1, \"cluster_id\": \"a\\u009bb\"}",
	};
	struct snap_err err;
	struct snap_state s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		err = (struct snap_err)SNAP_ERR_INIT;
		if (state_from_json(docs[i], strlen(docs[i]), &s, &err) != -1)
			fail_msg("accepted: %s", docs[i]);
		tu_assert_clean_msg(err.msg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refuses_file_names),
		cmocka_unit_test(test_refuses_files_list),
		cmocka_unit_test(test_refuses_chain),
		cmocka_unit_test(test_refuses_long_chain),
		cmocka_unit_test(test_refuses_ids),
		cmocka_unit_test(test_refuses_versions),
		cmocka_unit_test(test_refuses_format),
		cmocka_unit_test(test_error_text_is_clean),
		cmocka_unit_test(test_refuses_missing_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
