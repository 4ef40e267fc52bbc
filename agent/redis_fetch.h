/*
 * redis_fetch.h - the store mirrored into a local directory, and a
 * secondary's subscription to its notifications.
 *
 * redis_mirror() copies what the store's state names into a directory laid
 * out as a sync root: each blob the directory lacks (GET, its size and
 * XXH128 checked against the state's record before it is renamed into
 * place: temp, fsync, rename, fsync the directory), the state copy and
 * signature, timestamp.sig, and state.json last. The directory reader then
 * verifies and applies as from any sync root; the mirror only keeps bytes
 * that do not match their record out of it, so that the next mirror,
 * after a primary re-uploads, fetches them again.
 *
 * A secondary (rfetch_*): before each check of its sync root (the cache),
 * rfetch_begin() and rfetch_end() mirror the store; a SUBSCRIBE connection on the notify
 * channel is one more descriptor in the loop, and a message makes the
 * loop check at once. Pub/sub is at-most-once: the loop's poll_ms check
 * and the check after each reconnect are the backstop.
 */
#ifndef REDIS_FETCH_H
#define REDIS_FETCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "config.h"
#include "redis.h"
#include "snap_err.h"

struct redis_mirror_result {
	uint64_t version;	/* the store's (0: it holds none) */
	bool changed;		/* state.json of dir was written */
	size_t fetched;		/* blobs fetched */
	uint64_t bytes;		/* their bytes */
};

/* Cache files of versions no state names are removed once this old. */
#define REDIS_CACHE_GRACE_S 600

/*
 * Mirrors the store's latest state (version 0) into dir (made if need
 * be), state.json last; or, for version V, only V's files and state copy
 * (for verify and rollback of an older version), state.json untouched.
 * An empty store changes nothing (res->version 0). 0, or -1 with err:
 * code SNAP_E_IO when the store cannot be read, else what was wrong with
 * what it holds (SNAP_E_CHECKSUM, SNAP_E_TRUNCATED, SNAP_E_MISSING,
 * SNAP_E_TOO_LARGE).
 */
int redis_mirror(struct redis *r, const char *dir, uint64_t version,
    struct redis_mirror_result *res, struct snap_err *err);

/* The version the store's state names (its "version" key), 0 for none.
 * 0 or -1 with err. */
int redis_store_version(struct redis *r, uint64_t *version,
    struct snap_err *err);

/* A secondary's link to the store. */
struct rfetch;
struct agent;

/* NULL with err; c->redis_url must be set. */
struct rfetch *rfetch_new(const struct config *c, struct snap_err *err);
void rfetch_free(struct rfetch *rf);	/* NULL is a no-op */

/*
 * A check of the cache, in two halves so that the loop never waits on
 * the store (the work runs on a thread of its own, redis_worker.h):
 * rfetch_begin() hands a round trip to the store over - subscribe if not
 * subscribed, then mirror the store into the cache - and returns at once:
 * 0 started, 1 one is running already (another follows it: rfetch_end()
 * says so), -1 for NULL. When rfetch_job_fd() polls readable,
 * rfetch_end(): 0 the mirror worked (check the cache now); -1 the store
 * could not be read or held what may not be mirrored: said once,
 * recorded in a's last_error and root state (the current release keeps
 * serving); 1 not done yet. *again: begin another after the check.
 */
int rfetch_begin(struct rfetch *rf);
int rfetch_end(struct rfetch *rf, struct agent *a, bool *again);
int rfetch_job_fd(const struct rfetch *rf);

/* The subscription's descriptor for poll(2), -1 when there is none. */
int rfetch_fd(const struct rfetch *rf);
/* After poll() said it is readable: true when the loop should check now
 * (a notification, or the subscription was lost: resubscribe and read). */
bool rfetch_drain(struct rfetch *rf);
/* Whether a lost subscription is due to be made again (check now). */
bool rfetch_due(const struct rfetch *rf);
/* ms until then; -1 when subscribed (or NULL). */
int rfetch_timeout_ms(const struct rfetch *rf);

/* Adds "redis": {...} to a status object; metrics as Prometheus text. */
void rfetch_status_add(const struct rfetch *rf, json_t *status);
void rfetch_render_metrics(const struct rfetch *rf, FILE *f);

#endif
