/*
 * test_sign.c - snapshots/sign.c: keys and signatures in signify's
 * formats - a round trip through the files, and every key file that must
 * be refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sign.h"
#include "testutil.h"

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

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_sign_verify_round_trip),
		TMP_TEST(test_key_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
