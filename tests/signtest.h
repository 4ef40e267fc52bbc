/*
 * signtest.h - what the signed-version tests share (test_state_sign.c,
 * test_sign_publish.c): a source tree, a sync root and a key pair per test
 * (struct env), publishing and verifying with or without the key, and the
 * attacker's tools - a state.json field rewritten and re-signed, a file
 * swapped for other bytes with the same entries.
 *
 * The attacker of these tests has write access to the sync root and no
 * key. Where a test needs "a file whose XXH128 matches but whose content
 * differs" (an XXH128 collision, which XXH128 does not make hard but which
 * a unit test cannot cheaply compute), it swaps the file, writes the new
 * XXH128 into state.json and re-signs state.json with the real key: the
 * state then verifies and every XXH128 matches, so only the BLAKE2b check
 * stands between the swapped file and a secondary.
 *
 * Header-only, like testutil.h: every helper is static inline. Include it
 * after <cmocka.h> and "testutil.h".
 */
#ifndef SIGNTEST_H
#define SIGNTEST_H

#include <jansson.h>

#include "arc.h"
#include "sign.h"
#include "snap.h"

struct env {
	char dir[TU_PATH];
	char src[TU_PATH];
	char root[TU_PATH];
	char keyfile[TU_PATH];
	struct sign_key key;	/* secret */
	struct sign_key pub;	/* its public half, loaded from keyfile.pub */
	unsigned max_chain;	/* 0: every version full */
};

static inline void
env_init(const char *dir, struct env *e)
{
	struct snap_err err = SNAP_ERR_INIT;
	char pubfile[TU_PATH];

	tu_path(e->dir, "%s", dir);
	tu_path(e->src, "%s/src", dir);
	tu_path(e->root, "%s/root", dir);
	tu_path(e->keyfile, "%s/key", dir);
	tu_path(pubfile, "%s/key.pub", dir);
	e->max_chain = SNAP_MAX_CHAIN_DEFAULT;	/* a small change: a delta */
	tu_mkdir(e->src);
	tu_copy_fixtures(e->src);
	if (sign_keygen(&e->key, &err) == -1 ||
	    sign_key_write(&e->key, e->keyfile, &err) == -1 ||
	    sign_load_public(pubfile, &e->pub, &err) == -1)
		fail_msg("key: %s", err.msg);
}

static inline int
publish_with(const struct env *e, const struct sign_key *key,
    enum snap_publish_result *res, uint64_t *ver, struct snap_err *err)
{
	struct snap_publish_opts o = { .cluster_id = "c", .node_id = "n",
	    .key = key, .max_chain = e->max_chain };

	return snap_publish(e->src, e->root, &o, res, ver, err);
}

static inline void
publish_ok(const struct env *e, const struct sign_key *key,
    enum snap_publish_result want_res, uint64_t want_ver)
{
	struct snap_err err = SNAP_ERR_INIT;
	enum snap_publish_result res;
	uint64_t ver = 0;

	if (publish_with(e, key, &res, &ver, &err) == -1)
		fail_msg("publish: %s", err.msg);
	assert_int_equal(res, want_res);
	assert_int_equal(ver, want_ver);
}

static inline void
verify_ok(const struct env *e, uint64_t version, const struct sign_key *pub)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state st;

	if (snap_verify(e->root, version, pub, &st, &err) == -1)
		fail_msg("verify %llu: %s", (unsigned long long)version, err.msg);
}

static inline void
verify_fails(const struct env *e, uint64_t version, const struct sign_key *pub,
    const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (snap_verify(e->root, version, pub, NULL, &err) != -1)
		fail_msg("verify %llu accepted", (unsigned long long)version);
	tu_assert_msg(err.msg, want);
}

static inline void
in_root(const struct env *e, const char *rel, char *out)
{
	tu_path(out, "%s/%s", e->root, rel);
}

/* Rewrites field `key` of state.json's file record `idx` (a string), and
 * its version's copy the same: a writer on the share can do both. */
static inline void
set_state_field(const struct env *e, size_t idx, const char *key,
    json_t *value)
{
	char path[TU_PATH], rel[96], *out;
	json_t *root;

	in_root(e, STATE_FILE, path);
	root = json_load_file(path, 0, NULL);
	assert_non_null(root);
	if (value == NULL)
		json_object_del(json_array_get(json_object_get(root, "files"),
		    idx), key);
	else
		json_object_set_new(json_array_get(json_object_get(root,
		    "files"), idx), key, value);
	out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(out);
	tu_write_str(path, out);
	state_copy_name((uint64_t)json_integer_value(json_object_get(root,
	    "version")), rel, sizeof(rel));
	in_root(e, rel, path);
	tu_write_str(path, out);
	free(out);
	json_decref(root);
}

/* Writes a new body for api/HelloWorld: a one-artifact change, which
 * publishes as a delta when e->max_chain allows. */
static inline void
change_hello(const struct env *e, const char *context)
{
	char path[TU_PATH], body[256];

	tu_path(path, "%s/api/HelloWorld.xml", e->src);
	snprintf(body, sizeof(body), "<api xmlns=\"http://ws.apache.org/ns/"
	    "synapse\" name=\"HelloWorld\" context=\"/%s\"/>\n", context);
	tu_write_str(path, body);
}

/* Other bytes for archive rel, the same entries: an empty zstd skippable
 * frame appended, which any decoder passes over. State record idx gets
 * the new size and XXH128. */
static inline void
append_skip_frame(const struct env *e, size_t idx, const char *rel)
{
	static const unsigned char skip[] = { 0x50, 0x2a, 0x4d, 0x18, 0, 0, 0,
	    0 };
	char path[TU_PATH], xxh[HASH_HEX_LEN + 1], *buf;
	size_t len;

	in_root(e, rel, path);
	buf = tu_slurp(path, &len);
	buf = realloc(buf, len + sizeof(skip));
	assert_non_null(buf);
	memcpy(buf + len, skip, sizeof(skip));
	len += sizeof(skip);
	tu_write(path, buf, len);
	hash_buf(buf, len, xxh);
	free(buf);
	set_state_field(e, idx, "size", json_integer((json_int_t)len));
	set_state_field(e, idx, "xxh128", json_string(xxh));
}

#endif
