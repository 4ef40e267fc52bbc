/*
 * state_sign.c - the signature-checking state.json reader (declared in
 * sign.h: sign_state_read, sign_state_parse).
 *
 * Calling sequence: sign_state_read(rootfd, name, pub, &st, err) for a
 * state file (STATE_FILE or a copy), or sign_state_parse() for bytes the
 * caller already read (it hashes them too). With pub set:
 *	1. the bytes are read once (bounded, no symlink followed);
 *	2. the version they name is peeked at, only to find
 *	   snapshots/<V>.state.sig beside them;
 *	3. that signature must verify over exactly those bytes;
 *	4. only then are the same bytes parsed, and every file record must
 *	   carry a BLAKE2b (else the signature would not cover that file).
 * Errors: -1 with err and *s zeroed - SNAP_E_UNSIGNED (no .sig),
 * SNAP_E_WRONG_KEY, SNAP_E_BAD_SIGNATURE, or what state_from_json()
 * says. pub NULL: exactly state_read() / state_from_json().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fsutil.h"
#include "jsonfield.h"
#include "sign.h"

/* The version the state bytes name, to find their signature file. The
 * value is used for nothing else: the bytes are parsed for real only once
 * the signature verifies. */
static int
peek_version(const char *buf, size_t len, uint64_t *v, struct snap_err *err)
{
	json_t *root;
	int rc;

	if ((root = jf_load(buf, len, err)) == NULL)
		return -1;
	rc = json_is_object(root) ? jf_uint(root, "version", v, err) :
	    snap_err_setc(err, SNAP_E_MALFORMED, "not a JSON object");
	json_decref(root);
	if (rc == 0 && *v == 0)
		rc = snap_err_setc(err, SNAP_E_MALFORMED, "'version' is 0");
	return rc;
}

int
sign_state_parse(int rootfd, const char *buf, size_t len,
    const struct sign_key *pub, struct snap_state *s, struct snap_err *err)
{
	char *sig = NULL, signame[96];
	size_t siglen;
	uint64_t v;
	int rc = -1;

	if (pub == NULL)
		return state_from_json(buf, len, s, err);
	memset(s, 0, sizeof(*s));
	if (peek_version(buf, len, &v, err) == -1)
		goto out;
	sign_sig_name(v, signame, sizeof(signame));
	if (faccessat(rootfd, signame, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT) {
		snap_err_setc(err, SNAP_E_UNSIGNED,
		    "not signed (no %s)", signame);
		goto out;
	}
	if (fsu_read_file(rootfd, signame, SIGN_SIG_MAX_BYTES, &sig, &siglen,
	    err) == -1)
		goto out;
	if (sign_verify(pub, buf, len, sig, siglen, err) == -1) {
		snap_err_prefix(err, "%s", signame);
		goto out;
	}
	/* Verified: now, and only now, the same bytes are read as a state. */
	if (state_from_json(buf, len, s, err) == -1)
		goto out;
	if (s->unhashed > 0) {
		snap_err_setc(err, SNAP_E_MALFORMED,
		    "signed, but %u file record%s no blake2b: the "
		    "signature would not cover %s", s->unhashed,
		    s->unhashed == 1 ? " has" : "s have",
		    s->unhashed == 1 ? "it" : "them");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		memset(s, 0, sizeof(*s));
	free(sig);
	return rc;
}

int
sign_state_read(int rootfd, const char *name, const struct sign_key *pub,
    struct snap_state *s, struct snap_err *err)
{
	char *buf = NULL;
	size_t len;
	int rc;

	if (pub == NULL)
		return state_read(rootfd, name, s, err);
	if (fsu_read_file(rootfd, name, STATE_MAX_BYTES, &buf, &len, err) == -1)
		return -1;
	if ((rc = sign_state_parse(rootfd, buf, len, pub, s, err)) == -1)
		snap_err_prefix(err, "%s", name);
	free(buf);
	return rc;
}
