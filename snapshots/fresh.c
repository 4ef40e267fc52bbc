/*
 * fresh.c - state expiry and the timestamp record that renews it (see
 * fresh.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fresh.h"
#include "fsutil.h"
#include "timeutil.h"
#include "jsonfield.h"
#include "snap.h"

#define FRESH_FORMAT 1

int
fresh_to_json(const struct fresh_record *r, char **out, size_t *len,
    struct snap_err *err)
{
	char signed_at[32], expires_at[32];
	int n;

	fsu_rfc3339(r->signed_at, signed_at);
	fsu_rfc3339(r->expires_at, expires_at);
	/* Ids are [A-Za-z0-9._-] and hashes hex: nothing to escape. */
	n = asprintf(out, "{\n  \"format\": %d,\n  \"cluster_id\": \"%s\",\n"
	    "  \"version\": %" PRIu64 ",\n  \"state_blake2b\": \"%s\",\n"
	    "  \"signed_at\": \"%s\",\n  \"expires_at\": \"%s\"\n}\n",
	    FRESH_FORMAT, r->cluster_id, r->version, r->state_blake2b,
	    signed_at, expires_at);
	if (n < 0) {
		*out = NULL;
		return snap_err_setc(err, SNAP_E_NOMEM, "timestamp: out of "
		    "memory");
	}
	*len = (size_t)n;
	return 0;
}

static int
parse_record(json_t *root, struct fresh_record *r, struct snap_err *err)
{
	json_t *v;
	uint64_t format;
	size_t i;

	if (!json_is_object(root))
		return snap_err_setc(err, SNAP_E_MALFORMED, "not a JSON "
		    "object");
	if (jf_uint(root, "format", &format, err) == -1)
		return -1;
	if (format != FRESH_FORMAT)
		return snap_err_setc(err, SNAP_E_MALFORMED, "format %" PRIu64
		    " is not supported (this build reads %d)", format,
		    FRESH_FORMAT);
	v = json_object_get(root, "cluster_id");
	if (!json_is_string(v) ||
	    json_string_length(v) >= sizeof(r->cluster_id) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return snap_err_setc(err, SNAP_E_MALFORMED, "'cluster_id' is "
		    "not an id");
	memcpy(r->cluster_id, json_string_value(v), json_string_length(v) + 1);
	if (state_check_id(r->cluster_id, err) == -1)
		return snap_err_prefix(err, "cluster_id");
	if (jf_uint(root, "version", &r->version, err) == -1 ||
	    jf_time(root, "signed_at", &r->signed_at, err) == -1 ||
	    jf_time(root, "expires_at", &r->expires_at, err) == -1)
		return -1;
	if (r->version == 0 || r->version > STATE_VERSION_MAX)
		return snap_err_setc(err, SNAP_E_MALFORMED, "'version' %"
		    PRIu64 " is not a version", r->version);
	v = json_object_get(root, "state_blake2b");
	if (!json_is_string(v) ||
	    json_string_length(v) != STATE_B2_HEX_LEN)
		return snap_err_setc(err, SNAP_E_MALFORMED, "'state_blake2b' "
		    "is not 64 lower-case hex digits");
	memcpy(r->state_blake2b, json_string_value(v), STATE_B2_HEX_LEN + 1);
	for (i = 0; i < STATE_B2_HEX_LEN; i++)
		if (!strchr("0123456789abcdef", r->state_blake2b[i]) ||
		    r->state_blake2b[i] == '\0')
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "'state_blake2b' is not 64 lower-case hex digits");
	return 0;
}

int
fresh_from_json(const char *buf, size_t len, struct fresh_record *r,
    struct snap_err *err)
{
	json_t *root;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((root = jf_load(buf, len, err)) == NULL)
		return -1;
	rc = parse_record(root, r, err);
	json_decref(root);
	if (rc == -1)
		memset(r, 0, sizeof(*r));
	return rc;
}

/* Where the signed message starts in a signify embedded-signature file:
 * past its second line. NULL when there are not two lines. */
static const char *
message_of(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);

	if (nl == NULL)
		return NULL;
	nl = memchr(nl + 1, '\n', len - (size_t)(nl + 1 - buf));
	return nl == NULL ? NULL : nl + 1;
}

int
fresh_read(int rootfd, const struct sign_key *pub, struct fresh_record *r,
    struct snap_err *err)
{
	const char *msg;
	char *buf = NULL;
	size_t len;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (fsu_read_file(rootfd, FRESH_FILE, FRESH_MAX_BYTES, &buf, &len,
	    err) == -1)
		return -1;
	if ((msg = message_of(buf, len)) == NULL) {
		snap_err_setc(err, SNAP_E_MALFORMED, FRESH_FILE ": not a "
		    "signify file with an embedded message");
		goto out;
	}
	/* The signature first; the message is parsed only once it holds. */
	if (sign_verify(pub, msg, len - (size_t)(msg - buf), buf,
	    (size_t)(msg - buf), err) == -1 ||
	    fresh_from_json(msg, len - (size_t)(msg - buf), r, err) == -1) {
		snap_err_prefix(err, FRESH_FILE);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

int
fresh_check(int rootfd, const struct sign_key *pub,
    const struct snap_state *st, const char *state_b2, int64_t now,
    int64_t *until, struct snap_err *err)
{
	struct snap_err ignored;
	struct fresh_record r;
	char when[32];

	*until = st->expires_at;
	/* A renewal counts only for these very bytes, and this cluster. */
	if (fresh_read(rootfd, pub, &r, &ignored) == 0 &&
	    strcmp(r.state_blake2b, state_b2) == 0 &&
	    r.version == st->version &&
	    strcmp(r.cluster_id, st->cluster_id) == 0 &&
	    r.expires_at > *until)
		*until = r.expires_at;
	if (*until == 0)
		return snap_err_setc(err, SNAP_E_EXPIRED, "state.json of "
		    "version %" PRIu64 " carries no expiry (format 2, from a "
		    "publisher before expiries): its freshness cannot be "
		    "checked; publish again with a signing key, or set "
		    "require_fresh = no", st->version);
	if (now < *until)
		return 0;
	/* The same words at every poll (no "N s ago"): said and counted
	 * once. */
	fsu_rfc3339(*until, when);
	return snap_err_setc(err, SNAP_E_EXPIRED, "state.json of version %"
	    PRIu64 " expired at %s: the primary must be running to renew it ("
	    FRESH_FILE "), or publish again", st->version, when);
}

int
fresh_renew(const char *sync_root, const struct sign_key *key,
    const char *cluster_id, int64_t now, int64_t validity_s,
    uint64_t *version, int64_t *until, struct snap_err *err)
{
	struct snap_state *st = NULL;
	struct fresh_record r;
	char *sbuf = NULL, *msg = NULL, *sig = NULL, *file = NULL;
	size_t slen, mlen, siglen;
	int rootfd, lockfd = -1, rc = -1;

	if ((rootfd = fsu_open_root(sync_root, err)) == -1)
		return -1;
	/* Under the publish lock: a renewal waits for no publish, and is
	 * tried again later when one holds it. */
	if ((lockfd = snap_lock(rootfd, sync_root, err)) == -1)
		goto out;
	if ((st = malloc(sizeof(*st))) == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
		goto out;
	}
	/* Renew only what we signed, for our cluster: the bytes read are
	 * the bytes hashed into the record. */
	if (fsu_read_file(rootfd, STATE_FILE, STATE_MAX_BYTES, &sbuf, &slen,
	    err) == -1 ||
	    sign_state_parse(rootfd, sbuf, slen, key, st, err) == -1) {
		snap_err_prefix(err, "%s/" STATE_FILE, sync_root);
		goto out;
	}
	if (state_check_cluster(st, cluster_id, err) == -1)
		goto out;
	memset(&r, 0, sizeof(r));
	snprintf(r.cluster_id, sizeof(r.cluster_id), "%s", st->cluster_id);
	r.version = st->version;
	sign_hash_buf(sbuf, slen, r.state_blake2b);
	r.signed_at = now;
	r.expires_at = now + validity_s;
	if (fresh_to_json(&r, &msg, &mlen, err) == -1 ||
	    sign_buf(key, msg, mlen, &sig, &siglen, err) == -1)
		goto out;
	if ((file = malloc(siglen + mlen)) == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(file, sig, siglen);
	memcpy(file + siglen, msg, mlen);
	if (fsu_write_atomic(rootfd, FRESH_FILE, file, siglen + mlen,
	    err) == -1) {
		snap_err_prefix(err, "%s/" FRESH_FILE, sync_root);
		goto out;
	}
	*version = r.version;
	*until = r.expires_at;
	rc = 0;
out:
	free(file);
	free(sig);
	free(msg);
	free(sbuf);
	free(st);
	if (lockfd >= 0)
		close(lockfd);
	close(rootfd);
	return rc;
}
