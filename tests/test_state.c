/*
 * test_state.c - unit tests of snapshots/state.c: the names of a version's
 * files, the round trip (full, with a chain, the longest chain, an
 * expiry) byte for byte and field by field, ids and clusters, the digest
 * that names a version's content, BLAKE2b records, and reading from disk.
 * (What the reader refuses: test_state_refuses.c.)
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
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_cluster),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_blake2b_field),
		cmocka_unit_test_setup_teardown(test_read, tu_setup_tmp,
		    tu_teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
