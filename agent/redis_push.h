/*
 * redis_push.h - the primary's side of a Redis sync root: each version,
 * published as always into the local stage directory, uploaded to the
 * store and committed.
 *
 * An upload of the stage's latest version, in order:
 *	1. each blob its state.json names, and its state copy and signature,
 *	   as P:<cluster>:snapshots/<name>: a key that is not there is set
 *	   (SET NX); one that is there must hold as many bytes (blobs are
 *	   immutable: a key of another size is an error, not overwritten);
 *	2. timestamp.sig, when the stage has one (overwritten: it is renewed);
 *	3. the commit, one Lua script, atomic in Redis: state.json and the
 *	   version key set only if the version is above the stored one (equal
 *	   with the same bytes: done already), and PUBLISH "<version>" on
 *	   P:<cluster>:notify in the same script;
 *	4. retention: blob keys of versions below latest - keep_versions + 1
 *	   that the stage no longer holds (it pruned them, with its grace)
 *	   are deleted.
 * A secondary that sees state.json therefore finds every blob it names.
 *
 * Before publishing, the stage is brought up to the store (the store
 * names a higher version than the stage: another node published, the
 * stage is new): the store is mirrored into it (redis_fetch.h), so the
 * next version is numbered above the store's. A store that holds less
 * than the stage (emptied, restarted without persistence) gets the
 * stage's latest in full at the next upload; the daemon looks every
 * poll_ms.
 */
#ifndef REDIS_PUSH_H
#define REDIS_PUSH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "config.h"
#include "snap_err.h"

/* One-shot commands (publish, rollback): c->redis_url set. */

/* Brings the stage up to the store; with version != 0 also makes sure the
 * stage holds that version's files (rollback --to). 0 or -1 with err. */
int redis_cmd_prepare(const struct config *c, uint64_t version,
    struct snap_err *err);
/* Uploads and commits the stage's latest version. 0 or -1 with err. */
int redis_cmd_upload(const struct config *c, struct snap_err *err);
/* verify: mirrors the store (and version's files) into the cache. */
int redis_cmd_fetch(const struct config *c, uint64_t version,
    struct snap_err *err);

/* The primary daemon's uploader. */
struct rpush;

struct rpush *rpush_new(const struct config *c, struct snap_err *err);
void rpush_free(struct rpush *rp);	/* NULL is a no-op */

/* At start: the stage is to be brought up to the store, the first job's
 * first step (logged, never fatal: a store that is down is tried again).
 * The loop publishes nothing into the stage before that job is done. */
void rpush_prepare(struct rpush *rp);

/* Version is the stage's latest: upload it (NULL: no-op). */
void rpush_want(struct rpush *rp, uint64_t version);
/* timestamp.sig was renewed: upload it. */
void rpush_refresh(struct rpush *rp);

/* What rpush_run() asks of the primary. */
enum rpush_ask {
	RPUSH_NOTHING,
	RPUSH_REPUBLISH,	/* the store was ahead: the stage now holds its
				 * latest; rescan and publish above it */
};

/*
 * Every Redis call runs as a job on a worker thread (redis_worker.h), so
 * that a stalled store never stops the loop. rpush_run(), each turn of
 * the loop: returns what the last job asked; else, when something is
 * due, starts a job that uploads it, retries with backoff (retry_ms,
 * retry_factor, retry_max_ms), renews the lease (ha = redis), and every
 * poll_ms checks that the store still holds the latest version
 * (re-uploading it in full when it does not). rpush_reap() when
 * rpush_fd() polls readable. While rpush_busy(), a job reads or writes
 * the stage, or rpush_prepare()'s is still to run: the loop publishes,
 * renews and prunes nothing there.
 */
enum rpush_ask rpush_run(struct rpush *rp);
void rpush_reap(struct rpush *rp);
bool rpush_busy(const struct rpush *rp);	/* false for NULL */
int rpush_fd(const struct rpush *rp);		/* -1 for NULL */

/* ms until rpush_run() has work; -1 for none (or NULL, or a job runs:
 * its end wakes the loop through rpush_fd()). */
int rpush_timeout_ms(const struct rpush *rp);

/* Whether the last upload failed (why: its error). */
int rpush_failing(const struct rpush *rp, char *why, size_t len);

void rpush_status_add(const struct rpush *rp, json_t *status);
void rpush_render_metrics(const struct rpush *rp, FILE *f);

#endif
