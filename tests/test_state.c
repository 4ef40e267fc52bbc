/*
 * test_state.c - unit tests of snapshots/state.c.
 *
 * state.json is read from a shared directory that anyone with write access
 * could have edited, and it names the files a reader then opens. So beside
 * the round trip, each test takes a valid state.json, breaks one field with
 * jansson, and checks that the reader refuses it: above all, any file name
 * other than exactly snapshots/<V>.manifest.json and snapshots/<V>.tar.zst
 * (the base) and snapshots/<V>.delta.json and snapshots/<V>.delta.tar.zst
 * (each delta of the chain), and any chain that does not lead from
 * base_version to version one step after another.
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
	s->base_version = 5;
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

/* Appends delta `version` (its file records named as they must be) to s. */
static void
add_delta(struct snap_state *s, uint64_t version)
{
	struct state_delta *d = &s->deltas[s->ndeltas++];

	assert_true(s->ndeltas <= STATE_CHAIN_MAX);
	d->version = version;
	state_delta_manifest_name(version, d->manifest.name,
	    sizeof(d->manifest.name));
	d->manifest.size = 100 + version % 100000;
	strcpy(d->manifest.xxh128, H2);
	strcpy(d->manifest.blake2b, B2);
	state_delta_archive_name(version, d->archive.name,
	    sizeof(d->archive.name));
	d->archive.size = 1000 + version % 100000;
	strcpy(d->archive.xxh128, H1);
	strcpy(d->archive.blake2b, B1);
}

/* Version 5 as full version 2 plus deltas 3, 4 and 5. */
static void
sample_chain(struct snap_state *s)
{
	sample(s);
	s->base_version = 2;
	state_manifest_name(2, s->manifest.name, sizeof(s->manifest.name));
	state_archive_name(2, s->archive.name, sizeof(s->archive.name));
	add_delta(s, 3);
	add_delta(s, 4);
	add_delta(s, 5);
}

static json_t *
chain_json(void)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state s;
	json_error_t jerr;
	size_t len;
	char *buf;
	json_t *root;

	sample_chain(&s);
	assert_int_equal(state_to_json(&s, &buf, &len, &err), 0);
	root = json_loadb(buf, len, 0, &jerr);
	assert_non_null(root);
	free(buf);
	return root;
}

/* Round trip: s serializes, parses back to the same bytes. */
static void
assert_round_trip(const struct snap_state *s)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state *r = malloc(sizeof(*r));
	char *buf = NULL;
	size_t len;

	assert_non_null(r);
	assert_int_equal(state_to_json(s, &buf, &len, &err), 0);
	assert_int_equal(len, strlen(buf));
	memset(r, 0x5a, sizeof(*r));
	if (state_from_json(buf, len, r, &err) != 0)
		fail_msg("%s: %.300s", err.msg, buf);
	assert_memory_equal(r, s, sizeof(*s));
	free(buf);
	free(r);
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

/* Sets key of root's files[i] to v (a new reference) and asserts that
 * the result is refused. */
static void
break_file(json_t *root, size_t i, const char *key, json_t *v,
    const char *want)
{
	assert_int_equal(json_object_set_new(json_array_get(
	    json_object_get(root, "files"), i), key, v), 0);
	refused(root, want);
}

static void
set_file(size_t i, const char *key, json_t *v, const char *want)
{
	break_file(sample_json(), i, key, v, want);
}

static void
set_chain_file(size_t i, const char *key, json_t *v, const char *want)
{
	break_file(chain_json(), i, key, v, want);
}

static void
set_chain_top(const char *key, json_t *v, const char *want)
{
	json_t *root = chain_json();

	assert_int_equal(json_object_set_new(root, key, v), 0);
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
	state_delta_manifest_name(42, buf, sizeof(buf));
	assert_string_equal(buf, "snapshots/42.delta.json");
	state_delta_archive_name(42, buf, sizeof(buf));
	assert_string_equal(buf, "snapshots/42.delta.tar.zst");
	state_delta_archive_name(UINT64_MAX, buf, sizeof(buf));
	assert_string_equal(buf,
	    "snapshots/18446744073709551615.delta.tar.zst");
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
	assert_non_null(strstr(buf, "\"format\": 2"));
	assert_non_null(strstr(buf, "\"base_version\": 5"));
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
	assert_int_equal(r.base_version, 5);
	assert_int_equal(r.ndeltas, 0);
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
	s.base_version = 1;
	state_manifest_name(1, s.manifest.name, sizeof(s.manifest.name));
	state_archive_name(1, s.archive.name, sizeof(s.archive.name));
	assert_int_equal(state_to_json(&s, &buf, &len, &err), 0);
	assert_int_equal(state_from_json(buf, len, &r, &err), 0);
	assert_memory_equal(&r, &s, sizeof(s));
	free(buf);
}

/* state_to_json() of s, compared byte for byte with what jansson's
 * JSON_INDENT(2) makes of the same document (plus the final newline). */
static void
assert_jansson_layout(const struct snap_state *s)
{
	struct snap_err err = SNAP_ERR_INIT;
	json_error_t jerr;
	char *buf, *again;
	json_t *root;
	size_t len;

	assert_int_equal(state_to_json(s, &buf, &len, &err), 0);
	assert_int_equal(len, strlen(buf));
	if ((root = json_loadb(buf, len, 0, &jerr)) == NULL)
		fail_msg("not JSON (%s): %s", jerr.text, buf);
	again = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(again);
	assert_int_equal(len, strlen(again) + 1);
	assert_memory_equal(buf, again, len - 1);
	assert_int_equal(buf[len - 1], '\n');
	free(again);
	json_decref(root);
	free(buf);
}

/* Written by hand, state.json keeps jansson's layout to the byte, with
 * and without deltas and BLAKE2b, and strings that need escapes still
 * get them (a node_version from another build may hold anything). */
static void
test_jansson_layout(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state *s = malloc(sizeof(*s));
	char *buf = NULL;
	size_t len;

	(void)state;
	assert_non_null(s);
	sample(s);
	assert_jansson_layout(s);
	sample_chain(s);
	assert_jansson_layout(s);
	s->deltas[1].archive.blake2b[0] = '\0';
	s->manifest.blake2b[0] = '\0';
	strcpy(s->node_version, "artsync \"x\"\\ \t\x7f caf\xc3\xa9");
	assert_jansson_layout(s);
	/* Not UTF-8: refused, nothing returned. */
	strcpy(s->node_version, "artsync \xff");
	assert_int_equal(state_to_json(s, &buf, &len, &err), -1);
	assert_null(buf);
	tu_assert_msg(err.msg, "not UTF-8");
	free(s);
}

static void
test_round_trip_chain(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state s, r;
	char *buf = NULL;
	size_t len;

	(void)state;
	sample_chain(&s);
	assert_int_equal(state_to_json(&s, &buf, &len, &err), 0);
	/* The base's records carry its version, each delta's its own. */
	assert_non_null(strstr(buf, "\"base_version\": 2"));
	assert_non_null(strstr(buf, "\"role\": \"delta-manifest\",\n"
	    "      \"version\": 4,\n"
	    "      \"name\": \"snapshots/4.delta.json\""));
	assert_non_null(strstr(buf, "\"role\": \"delta-archive\",\n"
	    "      \"version\": 5,\n      \"name\": "
	    "\"snapshots/5.delta.tar.zst\""));
	memset(&r, 0x5a, sizeof(r));
	if (state_from_json(buf, len, &r, &err) != 0)
		fail_msg("%s: %s", err.msg, buf);
	free(buf);
	assert_int_equal(r.version, 5);
	assert_int_equal(r.base_version, 2);
	assert_string_equal(r.manifest.name, "snapshots/2.manifest.json");
	assert_string_equal(r.archive.name, "snapshots/2.tar.zst");
	assert_int_equal(r.ndeltas, 3);
	assert_int_equal(r.deltas[0].version, 3);
	assert_int_equal(r.deltas[2].version, 5);
	assert_string_equal(r.deltas[1].manifest.name,
	    "snapshots/4.delta.json");
	assert_int_equal(r.deltas[1].manifest.size, 104);
	assert_string_equal(r.deltas[1].manifest.xxh128, H2);
	assert_string_equal(r.deltas[2].archive.name,
	    "snapshots/5.delta.tar.zst");
	assert_int_equal(r.deltas[2].archive.size, 1005);
	assert_string_equal(r.deltas[2].archive.xxh128, H1);
	assert_memory_equal(&r, &s, sizeof(s));

	/* One delta straight on the first version. */
	sample(&s);
	s.version = 2;
	s.parent_version = 1;
	s.base_version = 1;
	state_manifest_name(1, s.manifest.name, sizeof(s.manifest.name));
	state_archive_name(1, s.archive.name, sizeof(s.archive.name));
	add_delta(&s, 2);
	assert_round_trip(&s);

	/* Versions need not be consecutive (a crashed publish skips one). */
	sample_chain(&s);
	s.version = 9;
	s.ndeltas = 0;
	add_delta(&s, 3);
	add_delta(&s, 7);
	add_delta(&s, 9);
	assert_round_trip(&s);
}

/*
 * The longest chain there may be, with the longest version numbers JSON
 * integers hold: it must parse back, and still fit in what state_read()
 * reads (STATE_MAX_BYTES).
 */
/* With an expiry: format 3, in jansson's layout, the expiry read back. */
static void
test_expiry(void **state)
{
	struct snap_state *s = malloc(sizeof(*s));
	json_t *root;
	char *buf = NULL;
	size_t len;
	struct snap_err err = SNAP_ERR_INIT;

	(void)state;
	assert_non_null(s);
	sample(s);
	assert_int_equal(state_to_json(s, &buf, &len, &err), 0);
	assert_non_null(strstr(buf, "\"format\": 2"));
	assert_null(strstr(buf, "expires_at"));
	free(buf);
	s->expires_at = s->published_at + 7 * 86400;
	assert_jansson_layout(s);
	assert_round_trip(s);
	assert_int_equal(state_to_json(s, &buf, &len, &err), 0);
	assert_non_null(strstr(buf, "\"format\": 3"));
	assert_non_null(strstr(buf, "\"expires_at\": \"2026-12-01T19:40:00Z\""));
	free(buf);
	free(s);
	/* An expiry before 1970 (fuzz_state: year 1013) is none. */
	root = sample_json();
	json_object_set_new(root, "format", json_integer(3));
	json_object_set_new(root, "expires_at", json_string(
	    "1013-12-14T13:51:32Z"));
	refused(root, "after 1970");
}

/* With an epoch: format 4, in jansson's layout, with and without an
 * expiry, read back; a seal not below the version, epoch 0 or an unknown
 * coordinator refused. */
static void
test_epoch(void **state)
{
	struct snap_state *s = malloc(sizeof(*s));
	json_t *root;
	char *buf = NULL;
	size_t len;
	struct snap_err err = SNAP_ERR_INIT;

	(void)state;
	assert_non_null(s);
	sample(s);
	s->epoch = 7;
	s->epoch_base_version = s->version - 1;
	snprintf(s->ha, sizeof(s->ha), "shared");
	assert_jansson_layout(s);
	assert_round_trip(s);
	assert_int_equal(state_to_json(s, &buf, &len, &err), 0);
	assert_non_null(strstr(buf, "\"format\": 4"));
	assert_non_null(strstr(buf, "\"epoch\": 7,"));
	assert_null(strstr(buf, "expires_at"));
	free(buf);
	s->expires_at = s->published_at + 86400;
	assert_jansson_layout(s);
	assert_round_trip(s);
	free(s);
	root = sample_json();
	json_object_set_new(root, "format", json_integer(4));
	json_object_set_new(root, "epoch", json_integer(0));
	json_object_set_new(root, "epoch_base_version", json_integer(0));
	json_object_set_new(root, "ha", json_string("shared"));
	refused(root, "epoch 0");
	root = sample_json();
	json_object_set_new(root, "format", json_integer(4));
	json_object_set_new(root, "epoch", json_integer(2));
	json_object_set_new(root, "epoch_base_version", json_integer(
	    json_integer_value(json_object_get(root, "version"))));
	json_object_set_new(root, "ha", json_string("shared"));
	refused(root, "is not below version");
	root = sample_json();
	json_object_set_new(root, "format", json_integer(4));
	json_object_set_new(root, "epoch", json_integer(2));
	json_object_set_new(root, "epoch_base_version", json_integer(1));
	json_object_set_new(root, "ha", json_string("zk"));
	refused(root, "'ha'");
}

/* Another cluster's state: refused with both ids and its code. */
static void
test_cluster(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state s;

	(void)state;
	sample(&s);
	assert_int_equal(state_check_cluster(&s, "prod-eu.1", &err), 0);
	assert_int_equal(state_check_cluster(&s, "staging", &err), -1);
	assert_int_equal(err.code, SNAP_E_WRONG_CLUSTER);
	tu_assert_msg(err.msg, "cluster 'prod-eu.1', this node to cluster "
	    "'staging'");
}

/* The digest names the files a state sends a reader to: any record
 * changes it, a time or an id does not. */
static void
test_digest(void **state)
{
	struct snap_state *s = malloc(sizeof(*s));
	char a[HASH_HEX_LEN + 1], b[HASH_HEX_LEN + 1];

	(void)state;
	assert_non_null(s);
	sample_chain(s);
	state_digest(s, a);
	s->published_at++;
	strcpy(s->node_id, "other");
	state_digest(s, b);
	assert_string_equal(a, b);
	s->deltas[1].archive.size++;
	state_digest(s, b);
	assert_string_not_equal(a, b);
	s->deltas[1].archive.size--;
	s->manifest.blake2b[3] ^= 1;
	state_digest(s, b);
	assert_string_not_equal(a, b);
	s->manifest.blake2b[3] ^= 1;
	s->version++;
	state_digest(s, b);
	assert_string_not_equal(a, b);
	free(s);
}

static void
test_longest_chain(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state *s = malloc(sizeof(*s));
	const uint64_t base = STATE_VERSION_MAX - STATE_CHAIN_MAX;
	char *buf = NULL;
	size_t len, i;

	(void)state;
	assert_non_null(s);
	sample(s);
	s->base_version = base;
	s->version = base + STATE_CHAIN_MAX;
	s->parent_version = s->version - 1;
	state_manifest_name(base, s->manifest.name, sizeof(s->manifest.name));
	state_archive_name(base, s->archive.name, sizeof(s->archive.name));
	for (i = 1; i <= STATE_CHAIN_MAX; i++)
		add_delta(s, base + i);
	assert_round_trip(s);
	assert_int_equal(state_to_json(s, &buf, &len, &err), 0);
	if (len > STATE_MAX_BYTES)
		fail_msg("a full chain takes %zu bytes, over STATE_MAX_BYTES",
		    len);
	free(buf);
	free(s);
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

		for (k = 0; k < sizeof(key) / sizeof(key[0]); k++) {
			root = chain_json();
			assert_int_equal(json_object_del(json_array_get(
			    json_object_get(root, "files"), i), key[k]), 0);
			refused(root, NULL);
		}
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
		for (i = 0; i < sizeof(file) / sizeof(file[0]); i++) {
			root = sample_json();
			assert_int_equal(json_object_del(json_array_get(
			    json_object_get(root, "files"), f), file[i]), 0);
			refused(root, NULL);
		}
}

/* "blake2b" is optional per record (states written before it existed);
 * when present it is 64 lower-case hex digits. Records without one are
 * counted, whatever their role, base or delta: a signed state needs none
 * missing. */
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

	/* The delta records count the same: a chain with one delta archive
	 * unhashed, then the whole chain. */
	sample_chain(&s);
	s.deltas[1].archive.blake2b[0] = '\0';
	assert_int_equal(state_to_json(&s, &buf, &len, &err), 0);
	assert_int_equal(state_from_json(buf, len, &r, &err), 0);
	assert_string_equal(r.deltas[1].manifest.blake2b, B2);
	assert_string_equal(r.deltas[1].archive.blake2b, "");
	assert_int_equal(r.unhashed, 1);
	free(buf);
	s.manifest.blake2b[0] = s.archive.blake2b[0] = '\0';
	for (len = 0; len < s.ndeltas; len++)
		s.deltas[len].manifest.blake2b[0] =
		    s.deltas[len].archive.blake2b[0] = '\0';
	assert_int_equal(state_to_json(&s, &buf, &len, &err), 0);
	assert_int_equal(state_from_json(buf, len, &r, &err), 0);
	assert_int_equal(r.unhashed, 8);
	free(buf);

	set_file(0, "blake2b", json_string(H1), "64 lower-case hex");
	set_file(1, "blake2b", json_string("0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef"), "64 lower-case hex");
	set_file(1, "blake2b", json_string(B1 "0"), "'blake2b'");
	set_file(1, "blake2b", json_integer(7), "'blake2b'");
	set_file(0, "blake2b", json_null(), "'blake2b'");
	set_chain_file(3, "blake2b", json_string(H1), "delta-archive file: "
	    "'blake2b' is not 64 lower-case hex");
	set_chain_file(6, "blake2b", json_string(B1 "0"), "delta-manifest "
	    "file: 'blake2b'");
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
	/* A chain, as a per-version copy. */
	sample_chain(&s);
	assert_int_equal(state_to_json(&s, &buf, &len, &err), 0);
	tu_path(path, "%s/snapshots", dir);
	tu_mkdir(path);
	tu_path(path, "%s/snapshots/5.state.json", dir);
	tu_write(path, buf, len);
	free(buf);
	if (state_read(dfd, "snapshots/5.state.json", &r, &err) != 0)
		fail_msg("%s", err.msg);
	assert_memory_equal(&r, &s, sizeof(s));
	tu_path(path, "%s/state.json", dir);

	/* Errors name the file. */
	tu_write_str(path, "{\"format\":2}");
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
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_chain),
		cmocka_unit_test(test_jansson_layout),
		cmocka_unit_test(test_longest_chain),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_cluster),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_refuses_file_names),
		cmocka_unit_test(test_refuses_files_list),
		cmocka_unit_test(test_refuses_chain),
		cmocka_unit_test(test_refuses_long_chain),
		cmocka_unit_test(test_refuses_ids),
		cmocka_unit_test(test_refuses_versions),
		cmocka_unit_test(test_refuses_format),
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_error_text_is_clean),
		cmocka_unit_test(test_refuses_missing_fields),
		cmocka_unit_test(test_blake2b_field),
		cmocka_unit_test_setup_teardown(test_read, tu_setup_tmp,
		    tu_teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
