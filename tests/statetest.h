/*
 * statetest.h - what the state.json tests share (test_state.c,
 * test_state_refuses.c): a valid state and its JSON (full, and with a
 * chain of deltas), and the refusal of that JSON with one field broken
 * through jansson.
 *
 * Header-only, like testutil.h: every helper is static inline. Include it
 * after <cmocka.h> and "testutil.h".
 */
#ifndef STATETEST_H
#define STATETEST_H

#include "state.h"

#define H1 "00112233445566778899aabbccddeeff"
#define H2 "ffeeddccbbaa99887766554433221100"
#define B1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define B2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static inline void
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

/* s as state_to_json() writes it, as a jansson tree, for the tests to
 * break. */
static inline json_t *
json_of(const struct snap_state *s)
{
	struct snap_err err = SNAP_ERR_INIT;
	json_error_t jerr;
	size_t len;
	char *buf;
	json_t *root;

	assert_int_equal(state_to_json(s, &buf, &len, &err), 0);
	root = json_loadb(buf, len, 0, &jerr);
	assert_non_null(root);
	free(buf);
	return root;
}

/* A valid state.json as a jansson tree. */
static inline json_t *
sample_json(void)
{
	struct snap_state s;

	sample(&s);
	return json_of(&s);
}

/* Appends delta `version` (its file records named as they must be) to s. */
static inline void
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
static inline void
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

/* The same for sample_chain(). */
static inline json_t *
chain_json(void)
{
	struct snap_state s;

	sample_chain(&s);
	return json_of(&s);
}

/* Round trip: s serializes, parses back to the same bytes. */
static inline void
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

static inline void
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
static inline void
refused(json_t *root, const char *want)
{
	char *json = json_dumps(root, JSON_COMPACT);

	assert_non_null(json);
	json_decref(root);
	refused_str(json, want);
	free(json);
}

/* Sets key of root's files[i] to v (a new reference) and asserts that
 * the result is refused. */
static inline void
break_file(json_t *root, size_t i, const char *key, json_t *v,
    const char *want)
{
	assert_int_equal(json_object_set_new(json_array_get(
	    json_object_get(root, "files"), i), key, v), 0);
	refused(root, want);
}

/* root without field key of file record i: refused (root is freed). */
static inline void
drop_file_field(json_t *root, size_t i, const char *key)
{
	assert_int_equal(json_object_del(json_array_get(
	    json_object_get(root, "files"), i), key), 0);
	refused(root, NULL);
}

static inline void
set_file(size_t i, const char *key, json_t *v, const char *want)
{
	break_file(sample_json(), i, key, v, want);
}

static inline void
set_chain_file(size_t i, const char *key, json_t *v, const char *want)
{
	break_file(chain_json(), i, key, v, want);
}

#endif
