/*
 * test_sign.c - snapshots/sign.c: keys, signatures, BLAKE2b, and signed
 * versions end to end through snap_publish / snap_publish_changes /
 * snap_verify / snap_open_since / snap_rollback, full and delta.
 *
 * The attacker of these tests has write access to the sync root and no
 * key. Where a test needs "a file whose XXH128 matches but whose content
 * differs" (an XXH128 collision, which XXH128 does not make hard but which
 * a unit test cannot cheaply compute), it swaps the file, writes the new
 * XXH128 into state.json and re-signs state.json with the real key: the
 * state then verifies and every XXH128 matches, so only the BLAKE2b check
 * stands between the swapped file and a secondary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "arc.h"
#include "sign.h"
#include "snap.h"
#include "testutil.h"

struct env {
	char dir[TU_PATH];
	char src[TU_PATH];
	char root[TU_PATH];
	char keyfile[TU_PATH];
	struct sign_key key;	/* secret */
	struct sign_key pub;	/* its public half, loaded from keyfile.pub */
	unsigned max_chain;	/* 0: every version full */
};

static void
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

static int
publish_with(const struct env *e, const struct sign_key *key,
    enum snap_publish_result *res, uint64_t *ver, struct snap_err *err)
{
	struct snap_publish_opts o = { .cluster_id = "c", .node_id = "n",
	    .key = key, .max_chain = e->max_chain };

	return snap_publish(e->src, e->root, &o, res, ver, err);
}

static void
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

static void
verify_ok(const struct env *e, uint64_t version, const struct sign_key *pub)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state st;

	if (snap_verify(e->root, version, pub, &st, &err) == -1)
		fail_msg("verify %llu: %s", (unsigned long long)version, err.msg);
}

static void
verify_fails(const struct env *e, uint64_t version, const struct sign_key *pub,
    const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (snap_verify(e->root, version, pub, NULL, &err) != -1)
		fail_msg("verify %llu accepted", (unsigned long long)version);
	tu_assert_msg(err.msg, want);
}

static void
in_root(const struct env *e, const char *rel, char *out)
{
	tu_path(out, "%s/%s", e->root, rel);
}

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

/* Rewrites field `key` of state.json's file record `idx` (a string), and
 * its version's copy the same: a writer on the share can do both. */
static void
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
static void
change_hello(const struct env *e, const char *context)
{
	char path[TU_PATH], body[256];

	tu_path(path, "%s/api/HelloWorld.xml", e->src);
	snprintf(body, sizeof(body), "<api xmlns=\"http://ws.apache.org/ns/"
	    "synapse\" name=\"HelloWorld\" context=\"/%s\"/>\n", context);
	tu_write_str(path, body);
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

/* Other bytes for archive rel, the same entries: an empty zstd skippable
 * frame appended, which any decoder passes over. State record idx gets
 * the new size and XXH128. */
static void
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

/* The collision for an archive, as collide_manifest() for a manifest. */
static void
collide_archive(const struct env *e, size_t idx, const char *rel,
    uint64_t version)
{
	append_skip_frame(e, idx, rel);
	resign_state(e, version);
}

/* --- BLAKE2b --- */

static void
test_blake2b_vectors(void **state)
{
	/* RFC 7693's "abc", at 256 bits (as `b2sum -l 256` prints it). */
	static const char abc[] =
	    "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319";
	char one[STATE_B2_HEX_LEN + 1], streamed[STATE_B2_HEX_LEN + 1];
	char *data = tu_make_data(100000);
	struct sign_hash *h;
	unsigned char *raw;
	size_t i;

	(void)state;
	sign_hash_buf("abc", 3, one);
	assert_string_equal(one, abc);
	/* Streamed in odd pieces, from a state at an odd address. */
	raw = malloc(sizeof(*h) + 1);
	assert_non_null(raw);
	h = (struct sign_hash *)(raw + 1);
	sign_hash_init(h);
	for (i = 0; i < 100000; i += 777)
		sign_hash_update(h, data + i, i + 777 > 100000 ? 100000 - i : 777);
	sign_hash_final(h, streamed);
	sign_hash_buf(data, 100000, one);
	assert_string_equal(streamed, one);
	free(raw);
	free(data);
}

/* --- keys and signatures --- */

static void
test_sign_verify_round_trip(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct sign_key sec, pub, other, hexkey, b64key;
	char path[TU_PATH], b64[128], hex[65], *sig, *msg;
	size_t siglen, mlen = 4096;
	const char *dir = *state;

	tu_path(path, "%s/k", dir);
	assert_int_equal(sign_keygen(&sec, &err), 0);
	assert_int_equal(sign_key_write(&sec, path, &err), 0);
	memset(&sec, 0, sizeof(sec));
	if (sign_load_secret(path, &sec, &err) == -1)
		fail_msg("%s", err.msg);
	tu_path(path, "%s/k.pub", dir);
	if (sign_load_public(path, &pub, &err) == -1)
		fail_msg("%s", err.msg);
	assert_memory_equal(pub.pk, sec.pk, sizeof(pub.pk));
	assert_memory_equal(pub.keynum, sec.keynum, sizeof(pub.keynum));
	assert_false(pub.secret);

	/* The same key given inline, as base64 and as hex. */
	sign_public_b64(&sec, b64, sizeof(b64));
	assert_int_equal(sign_load_public(b64, &b64key, &err), 0);
	assert_memory_equal(b64key.pk, sec.pk, sizeof(sec.pk));
	/* '/' is a base64 digit, not a path (t97 found this). */
	{
		struct sign_key slash;
		char line[128];
		int i;

		for (i = 0; i < 200; i++) {
			assert_int_equal(sign_keygen(&slash, &err), 0);
			sign_public_b64(&slash, line, sizeof(line));
			if (strchr(line, '/') != NULL)
				break;
		}
		assert_non_null(strchr(line, '/'));
		if (sign_load_public(line, &b64key, &err) == -1)
			fail_msg("%s: %s", line, err.msg);
		assert_memory_equal(b64key.pk, slash.pk, sizeof(slash.pk));
	}
	sodium_bin2hex(hex, sizeof(hex), sec.pk, sizeof(sec.pk));
	assert_int_equal(sign_load_public(hex, &hexkey, &err), 0);
	assert_memory_equal(hexkey.pk, sec.pk, sizeof(sec.pk));
	/* keygen's key id is derived, so hex gives the same one. */
	assert_memory_equal(hexkey.keynum, sec.keynum, sizeof(sec.keynum));

	msg = tu_make_data(mlen);
	assert_int_equal(sign_buf(&sec, msg, mlen, &sig, &siglen, &err), 0);
	assert_int_equal(sign_verify(&pub, msg, mlen, sig, siglen, &err), 0);
	assert_int_equal(sign_verify(&hexkey, msg, mlen, sig, siglen, &err), 0);

	/* One flipped byte of the message. */
	msg[100] ^= 1;
	assert_int_equal(sign_verify(&pub, msg, mlen, sig, siglen, &err), -1);
	tu_assert_msg(err.msg, "bad signature");
	msg[100] ^= 1;

	/* Another key. */
	assert_int_equal(sign_keygen(&other, &err), 0);
	assert_int_equal(sign_verify(&other, msg, mlen, sig, siglen, &err), -1);
	tu_assert_msg(err.msg, "signed by another key");

	/* A signature file that is not one. */
	assert_int_equal(sign_verify(&pub, msg, mlen, "hello\n", 6, &err), -1);
	tu_assert_msg(err.msg, "not a signify file");
	assert_int_equal(sign_verify(&pub, msg, mlen,
	    "untrusted comment: x\nAAAA\n", 26, &err), -1);
	tu_assert_msg(err.msg, "base64");
	/* A public key cannot sign. */
	free(sig);
	sig = NULL;
	assert_int_equal(sign_buf(&pub, msg, mlen, &sig, &siglen, &err), -1);
	tu_assert_msg(err.msg, "secret key");
	assert_null(sig);
	free(msg);
}

static void
test_key_file_errors(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct sign_key k, loaded;
	char path[TU_PATH], pub[TU_PATH], bad[TU_PATH], *text, *nl;
	const char *dir = *state;
	unsigned char raw[104];
	size_t len;

	tu_path(path, "%s/k", dir);
	tu_path(pub, "%s/k.pub", dir);
	assert_int_equal(sign_keygen(&k, &err), 0);
	assert_int_equal(sign_key_write(&k, path, &err), 0);

	/* keygen wrote 0600 and never replaces a key. */
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	assert_int_equal(sign_key_write(&k, path, &err), -1);
	tu_assert_msg(err.msg, "exists");

	/* Readable by group or others: refused, saying how to fix it. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(sign_load_secret(path, &loaded, &err), -1);
	tu_assert_msg(err.msg, "chmod 600");
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(sign_load_secret(path, &loaded, &err), -1);
	tu_assert_msg(err.msg, "others may read");
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(sign_load_secret(path, &loaded, &err), 0);

	/* Missing, not a key, a public key given as the secret. */
	tu_path(bad, "%s/none", dir);
	assert_int_equal(sign_load_secret(bad, &loaded, &err), -1);
	tu_assert_msg(err.msg, "No such file");
	tu_path(bad, "%s/garbage", dir);
	tu_write_str(bad, "hello world\n");
	assert_int_equal(chmod(bad, 0600), 0);
	assert_int_equal(sign_load_secret(bad, &loaded, &err), -1);
	tu_assert_msg(err.msg, "not a signify file");
	assert_int_equal(sign_load_public(bad, &loaded, &err), -1);
	tu_assert_msg(err.msg, "not a signify file");
	assert_int_equal(chmod(pub, 0600), 0);
	assert_int_equal(sign_load_secret(pub, &loaded, &err), -1);
	tu_assert_msg(err.msg, "base64");
	/* A directory. */
	assert_int_equal(sign_load_public(dir, &loaded, &err), -1);
	tu_assert_msg(err.msg, "not a regular file");
	/* Hex of the wrong length is taken as a (missing) file name. */
	assert_int_equal(sign_load_public("abcdef", &loaded, &err), -1);
	tu_assert_msg(err.msg, "abcdef");
	assert_int_equal(sign_load_public("RWQnotbase64!", &loaded, &err), -1);
	tu_assert_msg(err.msg, "not signify's base64");

	/* Encrypted (kdfrounds != 0), and a damaged checksum. */
	text = tu_slurp(path, &len);
	nl = strchr(text, '\n');
	assert_non_null(nl);
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), nl + 1,
	    strlen(nl + 1) - 1, NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(len, sizeof(raw));
	raw[7] = 42;
	tu_path(bad, "%s/enc", dir);
	*nl = '\0';
	{
		char b64[200], file[400];

		sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
		    sodium_base64_VARIANT_ORIGINAL);
		snprintf(file, sizeof(file), "%s\n%s\n", text, b64);
		tu_write_str(bad, file);
		assert_int_equal(chmod(bad, 0600), 0);
		assert_int_equal(sign_load_secret(bad, &loaded, &err), -1);
		tu_assert_msg(err.msg, "passphrase");

		raw[7] = 0;
		raw[24] ^= 1;	/* checksum */
		sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
		    sodium_base64_VARIANT_ORIGINAL);
		snprintf(file, sizeof(file), "%s\n%s\n", text, b64);
		tu_write_str(bad, file);
		assert_int_equal(sign_load_secret(bad, &loaded, &err), -1);
		tu_assert_msg(err.msg, "damaged");

		raw[24] ^= 1;
		raw[104 - 1] ^= 1;	/* the public half */
		sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
		    sodium_base64_VARIANT_ORIGINAL);
		snprintf(file, sizeof(file), "%s\n%s\n", text, b64);
		tu_write_str(bad, file);
		assert_int_equal(sign_load_secret(bad, &loaded, &err), -1);
		tu_assert_msg(err.msg, "damaged");
	}
	free(text);
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

static void
test_rollback_signed(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_publish_opts o = { .cluster_id = "c", .node_id = "n" };
	struct sign_key other;
	char path[TU_PATH], sigpath[TU_PATH];
	struct env e;
	uint64_t ver;

	env_init(*state, &e);
	publish_ok(&e, NULL, SNAP_PUBLISHED, 1);		/* unsigned */
	tu_path(path, "%s/api/HelloWorld.xml", e.src);
	tu_write_str(path, "<api xmlns=\"http://ws.apache.org/ns/synapse\" "
	    "name=\"HelloWorld\" context=\"/v2\"/>\n");
	publish_ok(&e, &e.key, SNAP_REPAIRED, 2);
	tu_write_str(path, "<api xmlns=\"http://ws.apache.org/ns/synapse\" "
	    "name=\"HelloWorld\" context=\"/v3\"/>\n");
	publish_ok(&e, &e.key, SNAP_PUBLISHED, 3);

	/* Back to 2: signed like any version. */
	o.key = &e.key;
	o.max_chain = SNAP_MAX_CHAIN_DEFAULT;
	if (snap_rollback(e.root, 2, &o, &ver, &err) == -1)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(ver, 4);
	verify_ok(&e, 0, &e.pub);
	in_root(&e, "snapshots/4.state.sig", sigpath);
	assert_true(tu_exists(sigpath));
	/* To 3, a delta on 2: its chain extracted, and signed again. */
	in_root(&e, "snapshots/3.delta.json", path);
	assert_true(tu_exists(path));
	if (snap_rollback(e.root, 3, &o, &ver, &err) == -1)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(ver, 5);
	verify_ok(&e, 0, &e.pub);

	/* Back to 1, which nobody signed: re-signing it would vouch for
	 * what the sync root's writers left there. Refused. */
	assert_int_equal(snap_rollback(e.root, 1, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, "not signed");
	/* With another key: version 3 is not its own either. */
	assert_int_equal(sign_keygen(&other, &err), 0);
	o.key = &other;
	assert_int_equal(snap_rollback(e.root, 3, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, "another key");
	/* Unsigned rollback of an unsigned version still works. */
	o.key = NULL;
	if (snap_rollback(e.root, 1, &o, &ver, &err) == -1)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(ver, 6);
	verify_ok(&e, 0, NULL);
	verify_fails(&e, 0, &e.pub, "not signed");
}

/* snap_publish_changes after a change to api/HelloWorld, as the primary
 * daemon publishes; asserts the result and the version. */
static void
publish_hello_change(const struct env *e, const struct sign_key *key,
    struct snap_memo *memo, enum snap_publish_result want_res,
    uint64_t want_ver)
{
	struct snap_publish_opts o = { .cluster_id = "c", .node_id = "n",
	    .key = key, .max_chain = e->max_chain };
	struct snap_change ch = { .type = name_type_index("api") };
	struct snap_err err = SNAP_ERR_INIT;
	enum snap_publish_result res;
	uint64_t ver = 0;

	snprintf(ch.name, sizeof(ch.name), "HelloWorld");
	if (snap_publish_changes(e->src, e->root, &o, memo, &ch, 1, &res, &ver,
	    &err) == -1)
		fail_msg("publish: %s", err.msg);
	if (res != want_res)
		fail_msg("publish: result %d, expected %d (%s)", (int)res,
		    (int)want_res, err.msg);
	assert_int_equal(ver, want_ver);
	assert_int_equal(memo->version, want_ver);
}

/* The number of deltas in the latest version's chain. */
static size_t
latest_chain(const struct env *e)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state *st = malloc(sizeof(*st));
	size_t n;
	int rootfd;

	assert_non_null(st);
	if ((rootfd = open(e->root, O_RDONLY | O_DIRECTORY)) == -1 ||
	    state_read(rootfd, STATE_FILE, st, &err) == -1)
		fail_msg("%s: %s", e->root, err.msg);
	close(rootfd);
	n = st->ndeltas;
	free(st);
	return n;
}

/*
 * The primary's incremental publish (snap_publish_changes) signs its
 * deltas like any version, and builds one only on a state.json it signed:
 * the new state copies the chain's records from it, and would otherwise
 * vouch, by their BLAKE2b, for files someone else put there. Here that
 * someone swaps version 2's delta archive and writes the matching size and
 * XXH128 into state.json, dropping the BLAKE2b; without a key the next
 * delta is built on it (the control), with one the next version is full.
 */
static void
publish_changes_over_forgery(const char *dir, bool signing)
{
	struct snap_memo memo = SNAP_MEMO_INIT;
	const struct sign_key *key;
	char path[TU_PATH];
	struct env e;

	env_init(dir, &e);
	key = signing ? &e.key : NULL;
	change_hello(&e, "one");
	publish_hello_change(&e, key, &memo, SNAP_PUBLISHED, 1);
	change_hello(&e, "two");
	publish_hello_change(&e, key, &memo, SNAP_PUBLISHED, 2);
	assert_int_equal(latest_chain(&e), 1);
	in_root(&e, "snapshots/2.state.sig", path);
	assert_int_equal(tu_exists(path), signing);
	if (signing)
		verify_ok(&e, 0, &e.pub);

	/* The forgery: a consistent, unsigned record of another file. */
	append_skip_frame(&e, 3, "snapshots/2.delta.tar.zst");
	set_state_field(&e, 3, "blake2b", NULL);

	change_hello(&e, "three");
	if (!signing) {
		publish_hello_change(&e, NULL, &memo, SNAP_PUBLISHED, 3);
		assert_int_equal(latest_chain(&e), 2);	/* on the forgery */
	} else {
		publish_hello_change(&e, key, &memo, SNAP_REPAIRED, 3);
		assert_int_equal(latest_chain(&e), 0);
		verify_ok(&e, 0, &e.pub);
		/* On a version it signed, deltas again. */
		change_hello(&e, "four");
		publish_hello_change(&e, key, &memo, SNAP_PUBLISHED, 4);
		assert_int_equal(latest_chain(&e), 1);
		verify_ok(&e, 0, &e.pub);
	}
	snap_memo_clear(&memo);
}

static void
test_publish_changes_signed(void **state)
{
	publish_changes_over_forgery(*state, true);
}

static void
test_publish_changes_unsigned_control(void **state)
{
	publish_changes_over_forgery(*state, false);
}

/* Adds sequences/S<i>.xml to e's source. */
static void
add_sequence(const struct env *e, int i)
{
	char art[TU_PATH], body[160];

	tu_path(art, "%s/sequences/S%d.xml", e->src, i);
	snprintf(body, sizeof(body), "<sequence xmlns=\"http://ws.apache"
	    ".org/ns/synapse\" name=\"S%d\"/>\n", i);
	tu_write_str(art, body);
}

/* Retention removes a version's signature with its other files. */
static void
test_prune_removes_signatures(void **state)
{
	char path[TU_PATH];
	struct env e;
	int i, rootfd;

	env_init(*state, &e);
	e.max_chain = 0;
	for (i = 1; i <= 3; i++) {
		add_sequence(&e, i);
		publish_ok(&e, &e.key, SNAP_PUBLISHED, (uint64_t)i);
	}
	rootfd = open(e.root, O_RDONLY | O_DIRECTORY);
	assert_true(rootfd >= 0);
	assert_int_equal(snap_prune(rootfd, 3, 1, 0), 8);
	close(rootfd);
	in_root(&e, "snapshots", path);
	tu_assert_dir(path, "3.manifest.json,3.state.json,3.state.sig,"
	    "3.tar.zst");
	verify_ok(&e, 0, &e.pub);
}

/* And a chain's: kept while a kept version needs its base, then gone
 * with the rest of the chain, signatures included. */
static void
test_prune_removes_chain_signatures(void **state)
{
	char path[TU_PATH];
	struct env e;
	int i, rootfd;

	env_init(*state, &e);
	e.max_chain = 2;
	for (i = 1; i <= 4; i++) {	/* full, delta, delta, full */
		add_sequence(&e, i);
		publish_ok(&e, &e.key, SNAP_PUBLISHED, (uint64_t)i);
	}
	in_root(&e, "snapshots", path);
	tu_assert_dir(path, "1.manifest.json,1.state.json,1.state.sig,"
	    "1.tar.zst,2.delta.json,2.delta.tar.zst,2.state.json,2.state.sig,"
	    "3.delta.json,3.delta.tar.zst,3.state.json,3.state.sig,"
	    "4.manifest.json,4.state.json,4.state.sig,4.tar.zst");
	rootfd = open(e.root, O_RDONLY | O_DIRECTORY);
	assert_true(rootfd >= 0);
	/* Keeping 2 versions keeps 3, hence its base 1 and the chain. */
	assert_int_equal(snap_prune(rootfd, 4, 2, 0), 0);
	assert_int_equal(snap_prune(rootfd, 4, 1, 0), 12);
	close(rootfd);
	tu_assert_dir(path, "4.manifest.json,4.state.json,4.state.sig,"
	    "4.tar.zst");
	verify_ok(&e, 0, &e.pub);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blake2b_vectors),
		TMP_TEST(test_sign_verify_round_trip),
		TMP_TEST(test_key_file_errors),
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
		TMP_TEST(test_rollback_signed),
		TMP_TEST(test_publish_changes_signed),
		TMP_TEST(test_publish_changes_unsigned_control),
		TMP_TEST(test_prune_removes_signatures),
		TMP_TEST(test_prune_removes_chain_signatures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
