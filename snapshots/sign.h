/*
 * sign.h - ed25519 signatures over state.json (libsodium), and the BLAKE2b
 * file hashes through which they cover every snapshot file.
 *
 * XXH128 finds torn and corrupt files; it is not collision resistant, so a
 * signature over something that names files only by XXH128 would let a
 * writer on the share craft a different file with the same checksum. A
 * publisher therefore records in state.json, beside each file's XXH128,
 * its BLAKE2b-256 (crypto_generichash, lower-case hex), and signs the exact
 * bytes of state.json. One signature per version, full or delta, covers it
 * all: state.json by signature, and every file of the version's chain - the
 * base's manifest and archive, each delta's - by its BLAKE2b in the signed
 * bytes.
 *
 * The files are OpenBSD signify's, so that an operator can check a version
 * with `signify -V -p KEY.pub -x snapshots/V.state.sig -m state.json`:
 *	KEY (secret, mode 0600)   "untrusted comment: ...\n" base64("Ed" "BK"
 *	                          rounds=0 salt[16] checksum[8] keynum[8]
 *	                          seckey[64]) "\n" - unencrypted (no passphrase:
 *	                          a daemon has no one to ask)
 *	KEY.pub                   "untrusted comment: ...\n" base64("Ed"
 *	                          keynum[8] pubkey[32]) "\n"
 *	snapshots/V.state.sig     "untrusted comment: ...\n" base64("Ed"
 *	                          keynum[8] signature[64]) "\n"
 * keynum names a key; `artsync keygen` takes the first 8 bytes of the
 * public key's BLAKE2b-256, so that a key given as bare hex has the same.
 * It only makes refusals clearer ("signed by another key"): the decision is
 * the signature check alone.
 *
 * A reader configured with a public key (sign_state_read) reads state.json
 * once, checks the signature over those bytes, and only then parses the
 * same bytes; every file it later reads is hashed as it is read, and the
 * BLAKE2b compared with the signed record: a manifest in the one pass that
 * parses it (manifest_read_checked), an archive in both of its passes
 * (arc_read.c).
 */
#ifndef SIGN_H
#define SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "snap_err.h"
#include "state.h"

#define SIGN_KEYNUM_BYTES 8
#define SIGN_SIG_MAX_BYTES 4096		/* a .sig file is ~150 bytes */

/* --- BLAKE2b-256 (hash_blake2b.c) --- */

/* Streaming BLAKE2b-256. libsodium wants its state 64-byte aligned; this
 * one aligns itself inside raw, so it may live anywhere (calloc'ed structs
 * included) - but must not be copied once initialized. */
struct sign_hash {
	unsigned char raw[sizeof(crypto_generichash_state) + 63];
};

void sign_hash_init(struct sign_hash *h);
void sign_hash_update(struct sign_hash *h, const void *buf, size_t len);
void sign_hash_final(struct sign_hash *h, char out[STATE_B2_HEX_LEN + 1]);
void sign_hash_buf(const void *buf, size_t len,
    char out[STATE_B2_HEX_LEN + 1]);

/* --- keys (sign.c) --- */

struct sign_key {
	unsigned char keynum[SIGN_KEYNUM_BYTES];
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];	/* zero if public */
	bool secret;
};

/* A new key pair; keynum from the public key. 0 or -1 with err. */
int sign_keygen(struct sign_key *k, struct snap_err *err);

/*
 * Writes the secret key to path (mode 0600) and the public key to
 * path.pub (0644), each atomically; refuses to replace either. 0 or -1.
 */
int sign_key_write(const struct sign_key *k, const char *path,
    struct snap_err *err);

/*
 * Loads a secret key file (signify format, unencrypted). Refuses a file
 * that is not regular or that group or others may access, an encrypted
 * key, and a key whose checksum or halves do not agree. 0 or -1 with err
 * naming the file.
 */
int sign_load_secret(const char *path, struct sign_key *k,
    struct snap_err *err);

/*
 * Loads a public key from spec: 64 hex digits (the raw key), signify's
 * base64 line ("RW..."), or the path of a .pub file. 0 or -1 with err.
 */
int sign_load_public(const char *spec, struct sign_key *k,
    struct snap_err *err);

/* The public key as signify's base64 line (out: at least 64 bytes), and
 * the key id as 16 hex digits (out: at least 17 bytes). */
void sign_public_b64(const struct sign_key *k, char *out, size_t outlen);
void sign_keyid(const unsigned char keynum[SIGN_KEYNUM_BYTES], char out[17]);

/* --- signatures (sign.c) --- */

/* "snapshots/<V>.state.sig", relative to the sync root. */
void sign_sig_name(uint64_t version, char *out, size_t outlen);

/* Signs buf with a secret key: *out is a malloc'ed .sig file (owned by the
 * caller) of *outlen bytes. 0 or -1 with err. */
int sign_buf(const struct sign_key *k, const void *buf, size_t len,
    char **out, size_t *outlen, struct snap_err *err);

/*
 * Checks that sig (a .sig file's bytes) is pub's signature over buf.
 * 0, or -1 with err saying which: "signed by another key" (the file names
 * another key id), "bad signature" (it does not verify), or a malformed
 * file.
 */
int sign_verify(const struct sign_key *pub, const void *buf, size_t len,
    const char *sig, size_t siglen, struct snap_err *err);

/* --- signed states (state_sign.c) --- */

/*
 * Reads state file rootfd/name (STATE_FILE or a state copy). pub NULL:
 * state_read(). Otherwise: the bytes are read once; the signature file of
 * the version they name must verify over exactly those bytes (else "not
 * signed", "signed by another key" or "bad signature"); only then are the
 * same bytes parsed into *s, and every file record must carry a BLAKE2b.
 * 0 or -1 with err.
 */
int sign_state_read(int rootfd, const char *name, const struct sign_key *pub,
    struct snap_state *s, struct snap_err *err);

/* The same for bytes already read (signature files are looked up in
 * rootfd); pub NULL: state_from_json(). */
int sign_state_parse(int rootfd, const char *buf, size_t len,
    const struct sign_key *pub, struct snap_state *s, struct snap_err *err);

#endif
