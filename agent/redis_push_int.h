/*
 * redis_push_int.h - what redis_push.c (the upload, the one-shot
 * commands) and redis_uploader.c (the primary daemon's uploader) share.
 * Not for use outside those two files.
 */
#ifndef REDIS_PUSH_INT_H
#define REDIS_PUSH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "redis.h"
#include "snap_err.h"

struct upload_result {
	uint64_t version;
	uint64_t stored;	/* the store's version when refused */
	bool refused;		/* the store holds a higher version */
	bool fenced;		/* the lease is not ours (ha = redis) */
	size_t sent;
};

/* Steps 1-4 of redis_push.h for the stage at c->sync_root (timestamp_only:
 * step 2 alone); fence is "<epoch> <node>" with ha = redis, else "".
 * 0 or -1 with err; a refused or fenced commit is 0 with res saying so. */
int redis_push_upload(struct redis *r, const struct config *c,
    bool timestamp_only, const char *fence, struct upload_result *res,
    struct snap_err *err);
/* The stage's latest version (0: none or unreadable). */
uint64_t redis_push_stage_version(const char *dir);
/* Mirrors the store into the stage when it names a higher version (or,
 * with equal_too, the same version with other bytes: another primary's);
 * with version != 0 makes sure the stage holds that version's files.
 * *ahead says the stage's state.json changed. 0 or -1 with err. */
int redis_push_prepare(struct redis *r, const char *stage, uint64_t version,
    bool equal_too, bool *ahead, struct snap_err *err);

#endif
