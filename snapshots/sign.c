/*
 * sign.c - ed25519 keys and signatures in signify's formats (see sign.h).
 *
 * Calling sequence: a publisher loads its key once (sign_load_secret, or
 * sign_keygen + sign_key_write for `artsync keygen`), then calls
 * sign_buf() over each state.json it writes; a reader loads the public
 * key once (sign_load_public) and checks with sign_verify(), mostly
 * through state_sign.c. Every function returns 0 or -1 with err naming
 * the file or the reason; secrets are wiped from memory on every path.
 * (BLAKE2b file hashes: hash_blake2b.c; the signed state reader:
 * state_sign.c.)
 */
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "hash.h"
#include "sign.h"

#define PKALG "Ed"
#define KDFALG "BK"
#define COMMENT "untrusted comment: "
#define KEYFILE_MAX 4096

/* signify's records, byte for byte (no padding: all byte arrays). */
struct enckey {
	unsigned char pkalg[2];
	unsigned char kdfalg[2];
	unsigned char kdfrounds[4];
	unsigned char salt[16];
	unsigned char checksum[8];
	unsigned char keynum[SIGN_KEYNUM_BYTES];
	unsigned char seckey[crypto_sign_SECRETKEYBYTES];
};

struct pubkey {
	unsigned char pkalg[2];
	unsigned char keynum[SIGN_KEYNUM_BYTES];
	unsigned char pubkey[crypto_sign_PUBLICKEYBYTES];
};

struct sig {
	unsigned char pkalg[2];
	unsigned char keynum[SIGN_KEYNUM_BYTES];
	unsigned char sig[crypto_sign_BYTES];
};

static int
ready(struct snap_err *err)
{
	/* Idempotent and cheap after the first call. */
	if (sodium_init() < 0)
		return snap_err_set(err, "libsodium: cannot initialize");
	return 0;
}

/* --- signify's text files --- */

/*
 * Parses "untrusted comment: ...\n" BASE64 "\n" into exactly len bytes.
 * The comment is not trusted and not used.
 */
static int
parse_b64file(const char *what, const char *text, size_t tlen, void *out,
    size_t len, struct snap_err *err)
{
	const char *nl, *b64, *end;
	size_t got;

	if (tlen < strlen(COMMENT) || memcmp(text, COMMENT, strlen(COMMENT)) ||
	    (nl = memchr(text, '\n', tlen)) == NULL)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s: not a signify file (no "
		    "'" COMMENT "' line)", what);
	b64 = nl + 1;
	end = text + tlen;
	if (end > b64 && end[-1] == '\n')
		end--;
	if (memchr(b64, '\n', (size_t)(end - b64)) != NULL)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s: more than two lines", what);
	if (sodium_base642bin(out, len, b64, (size_t)(end - b64), NULL, &got,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || got != len)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s: not %zu bytes of base64", what, len);
	if (memcmp(out, PKALG, 2) != 0)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s: not an Ed25519 (signify 'Ed') "
		    "record", what);
	return 0;
}

/* "untrusted comment: COMMENT\n" BASE64(bin) "\n", malloc'ed. */
static char *
make_b64file(const char *comment, const void *bin, size_t len, size_t *outlen)
{
	size_t b64len = sodium_base64_encoded_len(len,
	    sodium_base64_VARIANT_ORIGINAL);
	size_t cap = strlen(COMMENT) + strlen(comment) + b64len + 2;
	char *out;
	int n;

	if ((out = malloc(cap)) == NULL)
		return NULL;
	n = snprintf(out, cap, COMMENT "%s\n", comment);
	sodium_bin2base64(out + n, cap - (size_t)n, bin, len,
	    sodium_base64_VARIANT_ORIGINAL);
	*outlen = strlen(out);
	out[(*outlen)++] = '\n';
	out[*outlen] = '\0';
	return out;
}

/* --- keys --- */

static void
keynum_of(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
    unsigned char keynum[SIGN_KEYNUM_BYTES])
{
	unsigned char d[crypto_generichash_BYTES];

	crypto_generichash(d, sizeof(d), pk, crypto_sign_PUBLICKEYBYTES, NULL, 0);
	memcpy(keynum, d, SIGN_KEYNUM_BYTES);
}

void
sign_keyid(const unsigned char keynum[SIGN_KEYNUM_BYTES], char out[17])
{
	hash_hex(keynum, SIGN_KEYNUM_BYTES, out);
}

int
sign_keygen(struct sign_key *k, struct snap_err *err)
{
	memset(k, 0, sizeof(*k));
	if (ready(err) == -1)
		return -1;
	if (crypto_sign_keypair(k->pk, k->sk) != 0)
		return snap_err_set(err, "keygen: crypto_sign_keypair failed");
	keynum_of(k->pk, k->keynum);
	k->secret = true;
	return 0;
}

/* signify's checksum of a secret key: the first 8 bytes of its SHA-512. */
static void
seckey_checksum(const unsigned char *sk, unsigned char out[8])
{
	unsigned char d[crypto_hash_sha512_BYTES];

	crypto_hash_sha512(d, sk, crypto_sign_SECRETKEYBYTES);
	memcpy(out, d, 8);
	sodium_memzero(d, sizeof(d));
}

void
sign_public_b64(const struct sign_key *k, char *out, size_t outlen)
{
	struct pubkey p;

	memcpy(p.pkalg, PKALG, 2);
	memcpy(p.keynum, k->keynum, sizeof(p.keynum));
	memcpy(p.pubkey, k->pk, sizeof(p.pubkey));
	sodium_bin2base64(out, outlen, (const unsigned char *)&p, sizeof(p),
	    sodium_base64_VARIANT_ORIGINAL);
}

/* Writes buf as path (mode), refusing to replace an existing file. */
static int
write_new(const char *path, const char *buf, size_t len, mode_t mode,
    struct snap_err *err)
{
	char *d = NULL, *b = NULL;
	int dirfd = -1, rc = -1;

	if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return snap_err_set(err, "%s exists: not replacing a key (move it "
		    "away first)", path);
	if ((d = strdup(path)) == NULL || (b = strdup(path)) == NULL) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	if ((dirfd = fsu_open_root(dirname(d), err)) == -1)
		goto out;
	if (fsu_write_atomic_mode(dirfd, basename(b), buf, len, mode, err) == -1)
		snap_err_prefix(err, "%s", path);
	else
		rc = 0;
out:
	if (dirfd >= 0)
		close(dirfd);
	free(d);
	free(b);
	return rc;
}

int
sign_key_write(const struct sign_key *k, const char *path,
    struct snap_err *err)
{
	struct enckey e;
	struct pubkey p;
	char comment[64], pubpath[PATH_MAX], id[17];
	char *text = NULL;
	size_t len;
	int rc = -1;

	if (!k->secret)
		return snap_err_set(err, "%s: not a secret key", path);
	if (snprintf(pubpath, sizeof(pubpath), "%s.pub", path) >=
	    (int)sizeof(pubpath))
		return snap_err_set(err, "%s: path too long", path);
	if (faccessat(AT_FDCWD, pubpath, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return snap_err_set(err, "%s exists: not replacing a key (move it "
		    "away first)", pubpath);
	sign_keyid(k->keynum, id);
	memset(&e, 0, sizeof(e));
	memcpy(e.pkalg, PKALG, 2);
	memcpy(e.kdfalg, KDFALG, 2);	/* kdfrounds 0: not encrypted */
	seckey_checksum(k->sk, e.checksum);
	memcpy(e.keynum, k->keynum, sizeof(e.keynum));
	memcpy(e.seckey, k->sk, sizeof(e.seckey));
	snprintf(comment, sizeof(comment), "artsync secret key %s", id);
	text = make_b64file(comment, &e, sizeof(e), &len);
	sodium_memzero(&e, sizeof(e));
	if (text == NULL) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	if (write_new(path, text, len, 0600, err) == -1)
		goto out;
	sodium_memzero(text, len);
	free(text);
	memcpy(p.pkalg, PKALG, 2);
	memcpy(p.keynum, k->keynum, sizeof(p.keynum));
	memcpy(p.pubkey, k->pk, sizeof(p.pubkey));
	snprintf(comment, sizeof(comment), "artsync public key %s", id);
	if ((text = make_b64file(comment, &p, sizeof(p), &len)) == NULL) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	rc = write_new(pubpath, text, len, 0644, err);
out:
	if (text != NULL)
		sodium_memzero(text, len);
	free(text);
	return rc;
}

/*
 * Reads a key file: a regular file (symlinks followed, as a mounted secret
 * often is one) of at most KEYFILE_MAX bytes. With `secret`, group and
 * others must have no access to it. *out is malloc'ed.
 */
static int
read_keyfile(const char *path, bool secret, char **out, size_t *outlen,
    struct snap_err *err)
{
	return fsu_read_file_flags(AT_FDCWD, path, KEYFILE_MAX, FSU_FOLLOW |
	    (secret ? FSU_SECRET : 0), out, outlen, err);
}

int
sign_load_secret(const char *path, struct sign_key *k, struct snap_err *err)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	unsigned char sum[8];
	struct enckey e;
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	if (ready(err) == -1 || read_keyfile(path, true, &text, &len, err) == -1)
		return -1;
	if (parse_b64file(path, text, len, &e, sizeof(e), err) == -1)
		goto out;
	if (memcmp(e.kdfalg, KDFALG, 2) != 0) {
		snap_err_set(err, "%s: not a signify secret key", path);
		goto out;
	}
	if (memcmp(e.kdfrounds, "\0\0\0\0", 4) != 0) {
		snap_err_set(err, "%s: encrypted with a passphrase, which a daemon "
		    "cannot type: make one with artsync keygen (or signify -G -n)",
		    path);
		goto out;
	}
	seckey_checksum(e.seckey, sum);
	/* The second half of an ed25519 secret key is its public key: both
	 * halves must come from the same seed. */
	if (sodium_memcmp(sum, e.checksum, sizeof(sum)) != 0 ||
	    crypto_sign_seed_keypair(pk, sk, e.seckey) != 0 ||
	    sodium_memcmp(sk, e.seckey, sizeof(sk)) != 0) {
		snap_err_set(err, "%s: damaged secret key (checksum or key halves "
		    "do not agree)", path);
		goto out;
	}
	memcpy(k->sk, e.seckey, sizeof(k->sk));
	memcpy(k->pk, pk, sizeof(k->pk));
	memcpy(k->keynum, e.keynum, sizeof(k->keynum));
	k->secret = true;
	rc = 0;
out:
	sodium_memzero(&e, sizeof(e));
	sodium_memzero(sk, sizeof(sk));
	if (text != NULL)
		sodium_memzero(text, len);
	free(text);
	return rc;
}

static bool
is_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdefABCDEF") == 64;
}

int
sign_load_public(const char *spec, struct sign_key *k, struct snap_err *err)
{
	struct pubkey p;
	char *text = NULL;
	size_t len, got;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	if (ready(err) == -1)
		return -1;
	if (is_hex64(spec)) {
		if (sodium_hex2bin(k->pk, sizeof(k->pk), spec, 64, NULL, &got,
		    NULL) != 0 || got != sizeof(k->pk))
			return snap_err_set(err, "public key: bad hex");
		keynum_of(k->pk, k->keynum);
		return 0;
	}
	/* signify's base64 line, given inline ('/' is a base64 digit: only
	 * what does not decode to a key is taken for a path). */
	if (sodium_base642bin((unsigned char *)&p, sizeof(p), spec,
	    strlen(spec), NULL, &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0 && got == sizeof(p) &&
	    memcmp(p.pkalg, PKALG, 2) == 0) {
		;
	} else if (strncmp(spec, "RW", 2) == 0 && access(spec, F_OK) == -1) {
		return snap_err_set(err, "public key '%s': not signify's base64 "
		    "'RW...' line, 64 hex digits or a file", spec);
	} else {
		if (read_keyfile(spec, false, &text, &len, err) == -1)
			return -1;
		if (parse_b64file(spec, text, len, &p, sizeof(p), err) == -1)
			goto out;
	}
	memcpy(k->pk, p.pubkey, sizeof(k->pk));
	memcpy(k->keynum, p.keynum, sizeof(k->keynum));
	rc = 0;
out:
	free(text);
	return rc;
}

/* --- signatures --- */

void
sign_sig_name(uint64_t version, char *out, size_t outlen)
{
	snprintf(out, outlen, "snapshots/%" PRIu64 ".state.sig", version);
}

int
sign_buf(const struct sign_key *k, const void *buf, size_t len, char **out,
    size_t *outlen, struct snap_err *err)
{
	char comment[80], id[17];
	struct sig s;

	if (!k->secret)
		return snap_err_set(err, "signing needs a secret key");
	if (ready(err) == -1)
		return -1;
	memcpy(s.pkalg, PKALG, 2);
	memcpy(s.keynum, k->keynum, sizeof(s.keynum));
	if (crypto_sign_detached(s.sig, NULL, buf, len, k->sk) != 0)
		return snap_err_set(err, "crypto_sign_detached failed");
	sign_keyid(k->keynum, id);
	snprintf(comment, sizeof(comment), "verify with artsync key %s", id);
	if ((*out = make_b64file(comment, &s, sizeof(s), outlen)) == NULL)
		return snap_err_set(err, "out of memory");
	return 0;
}

int
sign_verify(const struct sign_key *pub, const void *buf, size_t len,
    const char *sig, size_t siglen, struct snap_err *err)
{
	char got[17], want[17];
	struct sig s;

	if (ready(err) == -1)
		return -1;
	/* A .sig file that is not one signs nothing. */
	if (parse_b64file("signature", sig, siglen, &s, sizeof(s), err) == -1)
		return snap_err_recode(err, SNAP_E_BAD_SIGNATURE);
	if (crypto_sign_verify_detached(s.sig, buf, len, pub->pk) == 0)
		return 0;
	/* Refused either way; the key id only says why, more or less. */
	sign_keyid(s.keynum, got);
	sign_keyid(pub->keynum, want);
	if (memcmp(s.keynum, pub->keynum, sizeof(s.keynum)) != 0)
		return snap_err_setc(err, SNAP_E_WRONG_KEY,
		    "signed by another key (key id %s; "
		    "this node trusts %s)", got, want);
	return snap_err_setc(err, SNAP_E_BAD_SIGNATURE,
	    "bad signature (key id %s): altered after "
	    "signing, or forged", got);
}
