/*
 * test_state_sign.c - snapshots/state_sign.c end to end: signed versions
 * through snap_publish / snap_verify / snap_open_since, full and delta, and
 * everything an attacker without the key can do to them (signtest.h): a
 * byte of state.json, a consistent rewrite, an XXH128 collision in any file
 * of the chain, a missing signature or BLAKE2b.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "sign.h"
#include "snap.h"
#include "testutil.h"
#include "signtest.h"

/* Signs the current bytes of root/state.json as version v's signature. */
static void
resign_state(const struct env *e, uint64_t v)
{
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH], rel[96], *buf, *sig;
	size_t len, siglen;

	in_root(e, STATE_FILE, path);
	buf = tu_slurp(path, &len);
	if (sign_buf(&e->key, buf, len, &sig, &siglen, &err) == -1)
		fail_msg("sign: %s", err.msg);
	sign_sig_name(v, rel, sizeof(rel));
	in_root(e, rel, path);
	tu_write(path, sig, siglen);
	free(buf);
	free(sig);
}

/* Opens version `version` (0: latest) of e's sync root, requiring pub's
 * signature when pub is set, on top of `have` (NULL: the whole chain). */
static int
open_since(const struct env *e, uint64_t version, const struct sign_key *pub,
    struct manifest *have, struct snap_version *v, struct snap_err *err)
{
	int rootfd = open(e->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	assert_true(rootfd >= 0);
	v->pub = pub;
	rc = snap_open_since(rootfd, version, have, v, err);
	close(rootfd);
	return rc;
}

/* Asserts that f's size, XXH128 and BLAKE2b are those of the file. */
static void
assert_record_true(const struct env *e, const struct state_file *f)
{
	char path[TU_PATH], xxh[HASH_HEX_LEN + 1], b2[STATE_B2_HEX_LEN + 1];
	char *buf;
	size_t len;

	in_root(e, f->name, path);
	buf = tu_slurp(path, &len);
	hash_buf(buf, len, xxh);
	sign_hash_buf(buf, len, b2);
	assert_int_equal(f->size, len);
	assert_string_equal(f->xxh128, xxh);
	assert_string_equal(f->blake2b, b2);
	free(buf);
}

/*
 * An XXH128 collision in the manifest of file record idx, simulated (see
 * the top of this file): one more blank inside its first line still
 * parses, and the record gets the new size and XXH128, re-signed.
 */
static void
collide_manifest(const struct env *e, size_t idx, const char *rel,
    uint64_t version)
{
	char path[TU_PATH], xxh[HASH_HEX_LEN + 1], *buf;
	size_t len;

	in_root(e, rel, path);
	buf = tu_slurp(path, &len);
	buf = realloc(buf, len + 1);
	assert_non_null(buf);
	assert_true(buf[0] == '{');
	memmove(buf + 2, buf + 1, len - 1);
	buf[1] = ' ';
	len++;
	tu_write(path, buf, len);
	hash_buf(buf, len, xxh);
	free(buf);
	set_state_field(e, idx, "size", json_integer((json_int_t)len));
	set_state_field(e, idx, "xxh128", json_string(xxh));
	resign_state(e, version);
}

/* The collision for an archive, as collide_manifest() for a manifest. */
static void
collide_archive(const struct env *e, size_t idx, const char *rel,
    uint64_t version)
{
	append_skip_frame(e, idx, rel);
	resign_state(e, version);
}

/* --- signed versions --- */

static void
test_publish_signed(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_version v = SNAP_VERSION_INIT, d = SNAP_VERSION_INIT;
	char path[TU_PATH];
	struct env e;

	env_init(*state, &e);
	publish_ok(&e, &e.key, SNAP_PUBLISHED, 1);
	in_root(&e, "snapshots", path);
	tu_assert_dir(path, "1.manifest.json,1.state.json,1.state.sig,"
	    "1.tar.zst");
	verify_ok(&e, 0, &e.pub);
	verify_ok(&e, 1, &e.pub);
	verify_ok(&e, 0, NULL);		/* no key: signatures ignored */

	/* state.json's BLAKE2b are the files' own. */
	if (open_since(&e, 0, &e.pub, NULL, &v, &err) == -1)
		fail_msg("%s", err.msg);
	assert_int_equal(v.st.unhashed, 0);
	assert_record_true(&e, &v.st.manifest);
	assert_record_true(&e, &v.st.archive);

	/* Same tree, same key: nothing to publish. */
	publish_ok(&e, &e.key, SNAP_UNCHANGED, 1);

	/* A one-artifact change: a delta, signed, every record of its chain
	 * (the base's and the delta's) with the files' own BLAKE2b. */
	change_hello(&e, "two");
	publish_ok(&e, &e.key, SNAP_PUBLISHED, 2);
	in_root(&e, "snapshots", path);
	tu_assert_dir(path, "1.manifest.json,1.state.json,1.state.sig,"
	    "1.tar.zst,2.delta.json,2.delta.tar.zst,2.state.json,2.state.sig");
	verify_ok(&e, 0, &e.pub);
	verify_ok(&e, 2, &e.pub);
	verify_ok(&e, 1, &e.pub);
	if (open_since(&e, 0, &e.pub, NULL, &d, &err) == -1)
		fail_msg("%s", err.msg);
	assert_int_equal(d.st.ndeltas, 1);
	assert_int_equal(d.nlayers, 2);
	assert_int_equal(d.st.unhashed, 0);
	assert_memory_equal(&d.st.manifest, &v.st.manifest,
	    sizeof(v.st.manifest));
	assert_memory_equal(&d.st.archive, &v.st.archive,
	    sizeof(v.st.archive));
	assert_record_true(&e, &d.st.deltas[0].manifest);
	assert_record_true(&e, &d.st.deltas[0].archive);
	snap_close(&d);

	/* A secondary at version 1 reads only the delta, signed. */
	if (open_since(&e, 2, &e.pub, v.m, &d, &err) == -1)
		fail_msg("%s", err.msg);
	assert_true(d.from_delta);
	assert_int_equal(d.nlayers, 1);
	assert_int_equal(d.layers[0].m->kind, MANIFEST_DELTA);
	snap_close(&d);
	snap_close(&v);
}

static void
test_tampered_state_byte(void **state)
{
	char path[TU_PATH], *buf, *p;
	struct env e;
	size_t len;

	env_init(*state, &e);
	publish_ok(&e, &e.key, SNAP_PUBLISHED, 1);
	in_root(&e, STATE_FILE, path);
	buf = tu_slurp(path, &len);
	/* One digit of the publish time: still a valid state.json. */
	p = strstr(buf, "\"published_at\": \"");
	assert_non_null(p);
	p += strlen("\"published_at\": \"") + 3;
	*p = *p == '9' ? '8' : (char)(*p + 1);
	tu_write(path, buf, len);
	free(buf);
	verify_fails(&e, 0, &e.pub, "bad signature");
	/* Without a key, it no longer equals its copy. */
	verify_fails(&e, 0, NULL, "state.json differs from its copy");
	verify_ok(&e, 1, &e.pub);	/* the state copy is untouched */
}

/*
 * The attacker rewrites state.json, manifest and archive consistently
 * (every size and XXH128 right) by publishing its own tree, without the
 * key, over a copy of the sync root, and copying the result in: a full
 * version 2, or (max_chain) a delta on version 1.
 */
static void
attacker_rewrite(const char *dir, unsigned max_chain)
{
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH], from[TU_PATH], evil[TU_PATH];
	struct env e, a;
	static const char *const v1[] = { "snapshots/1.manifest.json",
	    "snapshots/1.tar.zst", "snapshots/1.state.json", STATE_FILE };
	static const char *const full[] = { "snapshots/2.manifest.json",
	    "snapshots/2.tar.zst", "snapshots/2.state.json", STATE_FILE };
	static const char *const delta[] = { "snapshots/2.delta.json",
	    "snapshots/2.delta.tar.zst", "snapshots/2.state.json", STATE_FILE };
	const char *const *files = max_chain ? delta : full;
	size_t i;

	env_init(dir, &e);
	e.max_chain = max_chain;
	publish_ok(&e, &e.key, SNAP_PUBLISHED, 1);

	/* The attacker's version 2: one API changed, published unsigned. */
	a = e;
	tu_path(a.root, "%s/evil-root", e.dir);
	change_hello(&e, "evil");
	tu_mkdir(a.root);
	tu_path(path, "%s/snapshots", a.root);
	tu_mkdir(path);
	for (i = 0; i < 4; i++) {
		in_root(&e, v1[i], from);
		in_root(&a, v1[i], path);
		tu_copy_file(from, path);
	}
	publish_ok(&a, NULL, SNAP_PUBLISHED, 2);
	verify_ok(&a, 0, NULL);		/* every XXH128 is right */
	for (i = 0; i < 4; i++) {
		in_root(&a, files[i], from);
		in_root(&e, files[i], path);
		tu_copy_file(from, path);
	}

	/* Unsigned: refused. */
	verify_fails(&e, 0, &e.pub, "not signed (no snapshots/2.state.sig)");
	/* Version 1's signature put beside it: refused. */
	in_root(&e, "snapshots/1.state.sig", from);
	in_root(&e, "snapshots/2.state.sig", path);
	tu_copy_file(from, path);
	verify_fails(&e, 0, &e.pub, "bad signature");
	/* Signed with the attacker's own key: refused. */
	{
		struct sign_key mine;
		char *buf, *sig;
		size_t len, siglen;

		assert_int_equal(sign_keygen(&mine, &err), 0);
		in_root(&e, STATE_FILE, from);
		buf = tu_slurp(from, &len);
		assert_int_equal(sign_buf(&mine, buf, len, &sig, &siglen, &err),
		    0);
		tu_write(path, sig, siglen);
		free(buf);
		free(sig);
	}
	verify_fails(&e, 0, &e.pub, "signed by another key");
	verify_ok(&e, 0, NULL);		/* what an unsigned node would apply */

	/* The real primary publishes past it, signed, in full. */
	tu_path(evil, "%s/api/HelloWorld.xml", e.src);
	tu_path(from, "%s/api/HelloWorld.xml", tu_fixtures_dir());
	tu_copy_file(from, evil);
	{
		enum snap_publish_result res;
		struct snap_version v = SNAP_VERSION_INIT;
		uint64_t ver;

		assert_int_equal(publish_with(&e, &e.key, &res, &ver, &err), 0);
		assert_int_equal(res, SNAP_REPAIRED);
		assert_int_equal(ver, 3);
		tu_assert_msg(err.msg, "another key");
		if (open_since(&e, 0, &e.pub, NULL, &v, &err) == -1)
			fail_msg("%s", err.msg);
		assert_int_equal(v.st.ndeltas, 0);
		snap_close(&v);
	}
	verify_ok(&e, 0, &e.pub);
}

static void
test_attacker_consistent_rewrite(void **state)
{
	attacker_rewrite(*state, 0);
}

static void
test_attacker_consistent_delta(void **state)
{
	attacker_rewrite(*state, SNAP_MAX_CHAIN_DEFAULT);
}

/* An XXH128 collision in the manifest, simulated: see the top of this
 * file. */
static void
test_blake2b_catches_colliding_manifest(void **state)
{
	struct env e;

	env_init(*state, &e);
	publish_ok(&e, &e.key, SNAP_PUBLISHED, 1);
	collide_manifest(&e, 0, "snapshots/1.manifest.json", 1);
	verify_fails(&e, 0, &e.pub, "1.manifest.json: blake2b mismatch");
	verify_fails(&e, 0, NULL, "blake2b mismatch");
	/* Without the BLAKE2b it would have passed: the test can fail. */
	set_state_field(&e, 0, "blake2b", NULL);
	verify_ok(&e, 0, NULL);
}

/* The same for the archive of the last layer (the base's, or the delta's
 * when `delta`), checked up front and while it is decoded. */
static void
colliding_archive(const char *dir, bool delta)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_version v = SNAP_VERSION_INIT;
	struct arc_extract x = { .destfd = -1 };
	const struct snap_layer *l;
	size_t idx = delta ? 3 : 1;
	uint64_t ver = delta ? 2 : 1;
	struct env e;

	env_init(dir, &e);
	publish_ok(&e, &e.key, SNAP_PUBLISHED, 1);
	if (delta) {
		change_hello(&e, "two");
		publish_ok(&e, &e.key, SNAP_PUBLISHED, 2);
	}
	collide_archive(&e, idx, delta ? "snapshots/2.delta.tar.zst" :
	    "snapshots/1.tar.zst", ver);
	verify_fails(&e, 0, &e.pub, delta ? "snapshots/2.delta.tar.zst: "
	    "archive blake2b mismatch" : "archive blake2b mismatch");

	/* The in-stream check alone (the up-front pass skipped), as the
	 * secondary's second read does. */
	if (open_since(&e, 0, &e.pub, NULL, &v, &err) == -1)
		fail_msg("%s", err.msg);
	assert_int_equal(v.nlayers, ver);
	l = &v.layers[v.nlayers - 1];
	x.file_checked = true;
	assert_int_equal(arc_extract(l->archfd, l->archive_f, l->m, &x, &err),
	    -1);
	tu_assert_msg(err.msg, "archive blake2b mismatch");
	snap_close(&v);

	/* Without the BLAKE2b the file passes every other check. */
	set_state_field(&e, idx, "blake2b", NULL);
	verify_ok(&e, 0, NULL);
}

static void
test_blake2b_catches_colliding_archive(void **state)
{
	colliding_archive(*state, false);
}

/* A delta's files are bound by the same signature, through their records
 * in the signed state: a collision in the delta manifest or the delta
 * archive is refused, and so on the reader that only reads the delta. */
static void
test_blake2b_catches_colliding_delta(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_version v1 = SNAP_VERSION_INIT, v = SNAP_VERSION_INIT;
	struct env e;

	env_init(*state, &e);
	publish_ok(&e, &e.key, SNAP_PUBLISHED, 1);
	if (open_since(&e, 1, &e.pub, NULL, &v1, &err) == -1)
		fail_msg("%s", err.msg);
	change_hello(&e, "two");
	publish_ok(&e, &e.key, SNAP_PUBLISHED, 2);
	collide_manifest(&e, 2, "snapshots/2.delta.json", 2);
	verify_fails(&e, 0, &e.pub, "snapshots/2.delta.json: blake2b mismatch");
	assert_int_equal(open_since(&e, 0, &e.pub, v1.m, &v, &err), -1);
	tu_assert_msg(err.msg, "snapshots/2.delta.json: blake2b mismatch");
	verify_ok(&e, 1, &e.pub);	/* the base is not involved */
	set_state_field(&e, 2, "blake2b", NULL);
	verify_ok(&e, 0, NULL);
	snap_close(&v1);
}

static void
test_blake2b_catches_colliding_delta_archive(void **state)
{
	colliding_archive(*state, true);
}

static void
test_unsigned_when_required(void **state)
{
	struct env e;

	env_init(*state, &e);
	publish_ok(&e, NULL, SNAP_PUBLISHED, 1);
	verify_fails(&e, 0, &e.pub, "not signed (no snapshots/1.state.sig)");
	verify_fails(&e, 1, &e.pub, "not signed");
	verify_ok(&e, 0, NULL);

	/* Signing turned on over an unsigned latest: the same tree is
	 * published again, signed, in full. */
	publish_ok(&e, &e.key, SNAP_REPAIRED, 2);
	verify_ok(&e, 0, &e.pub);
	publish_ok(&e, &e.key, SNAP_UNCHANGED, 2);
	/* And off again: the signed latest reads fine unsigned. */
	publish_ok(&e, NULL, SNAP_UNCHANGED, 2);
}

static void
test_signed_without_blake2b(void **state)
{
	struct env e;

	env_init(*state, &e);
	publish_ok(&e, &e.key, SNAP_PUBLISHED, 1);
	set_state_field(&e, 1, "blake2b", NULL);
	resign_state(&e, 1);
	verify_fails(&e, 0, &e.pub, "1 file record has no blake2b");
	verify_ok(&e, 0, NULL);
	set_state_field(&e, 1, "blake2b", json_string("00"));
	resign_state(&e, 1);
	verify_fails(&e, 0, &e.pub, "not 64 lower-case hex");
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_publish_signed),
		TMP_TEST(test_tampered_state_byte),
		TMP_TEST(test_attacker_consistent_rewrite),
		TMP_TEST(test_attacker_consistent_delta),
		TMP_TEST(test_blake2b_catches_colliding_manifest),
		TMP_TEST(test_blake2b_catches_colliding_archive),
		TMP_TEST(test_blake2b_catches_colliding_delta),
		TMP_TEST(test_blake2b_catches_colliding_delta_archive),
		TMP_TEST(test_unsigned_when_required),
		TMP_TEST(test_signed_without_blake2b),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
