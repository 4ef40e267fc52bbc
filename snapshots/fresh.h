/*
 * fresh.h - how long a signed state may be believed: its expiry, and the
 * timestamp record that renews it without a new version.
 *
 * A signature says who wrote a state, not when: an old, validly signed
 * state.json put back on the share would be applied by a newly installed
 * secondary. So a signing publisher gives each state an expiry
 * ("expires_at", state format 3: state.h), and a reader that checks
 * freshness refuses a state past it. A primary that keeps running renews
 * the latest state's freshness without publishing (which would make a new
 * version, and change files that never change) by writing one small
 * record beside state.json, as TUF's timestamp role does:
 *
 *	SYNC_ROOT/timestamp.sig   signify's embedded signature: the
 *	                          "untrusted comment:" line, the base64
 *	                          signature line, then the message it signs -
 *	                          { "format": 1, "cluster_id", "version",
 *	                            "state_blake2b", "signed_at",
 *	                            "expires_at" }
 *
 * `signify -V -e -p KEY.pub -x timestamp.sig -m timestamp.json` checks it
 * and writes the record out. It binds itself to one state by the BLAKE2b
 * of state.json's exact bytes (and says the version and cluster, for
 * people): replayed beside any other state it renews nothing. It is one
 * file, replaced by rename, so a reader never sees half of it; the
 * snapshot files stay as they were written.
 *
 * A state is fresh until the later of its own expires_at and the
 * expires_at of a timestamp record that verifies with the same key and
 * names it. Calling sequence: a publisher sets st->expires_at (snap.h:
 * validity_s) and, while it runs, fresh_renew() every validity/2; a reader
 * calls fresh_check() on each state it read and verified.
 *
 * Errors: -1 with err; a state past its freshness is SNAP_E_EXPIRED, a
 * record that does not parse SNAP_E_MALFORMED. Nothing here logs.
 */
#ifndef FRESH_H
#define FRESH_H

#include <stdint.h>

#include "sign.h"
#include "snap_err.h"
#include "state.h"

#define FRESH_FILE "timestamp.sig"
#define FRESH_MAX_BYTES 4096

/* The signed part of timestamp.sig. */
struct fresh_record {
	char cluster_id[STATE_ID_MAX];
	uint64_t version;
	char state_blake2b[STATE_B2_HEX_LEN + 1];
	int64_t signed_at;
	int64_t expires_at;
};

/* The record as the JSON that timestamp.sig signs (*out malloc'ed, owned
 * by the caller). 0 or -1. */
int fresh_to_json(const struct fresh_record *r, char **out, size_t *len,
    struct snap_err *err);

/* Parses and checks the JSON part (no signature check: fresh_read does
 * that first). 0 or -1 with err (SNAP_E_MALFORMED). */
int fresh_from_json(const char *buf, size_t len, struct fresh_record *r,
    struct snap_err *err);

/*
 * Reads rootfd/timestamp.sig, checks its signature by pub over the
 * message it carries, and only then parses the message into *r. 0, or -1
 * with err (SNAP_E_MISSING when there is none).
 */
int fresh_read(int rootfd, const struct sign_key *pub, struct fresh_record *r,
    struct snap_err *err);

/*
 * Whether state st - read from bytes whose BLAKE2b-256 is state_b2, and
 * signed by pub - is fresh at `now`. *until gets the time it is fresh
 * until (its own expires_at, or a later one from a timestamp record that
 * verifies with pub and names these very bytes); 0 when it has none.
 * 0 fresh; -1 with err (SNAP_E_EXPIRED): expired (saying since when), or
 * no expiry at all (format 2, from a publisher before expiries).
 */
int fresh_check(int rootfd, const struct sign_key *pub,
    const struct snap_state *st, const char *state_b2, int64_t now,
    int64_t *until, struct snap_err *err);

/*
 * The primary's renewal: reads sync_root's state.json, which must be
 * signed by key (a secret key: its public half verifies) and be cluster
 * cluster_id's, and writes timestamp.sig naming it, valid until now +
 * validity_s (written atomically: temp, fsync, rename, fsync). *version
 * gets the version renewed, *until the new expiry. 0 or -1 with err.
 */
int fresh_renew(const char *sync_root, const struct sign_key *key,
    const char *cluster_id, int64_t now, int64_t validity_s,
    uint64_t *version, int64_t *until, struct snap_err *err);

#endif
