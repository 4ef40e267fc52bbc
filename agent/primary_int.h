/*
 * primary_int.h - the primary daemon's state, shared by primary.c (the
 * loop: watch, debounce, publish, renew, prune) and primary_view.c (what
 * its read-only endpoint says: status, metrics, health). Not an API: only
 * these two files include it.
 */
#ifndef PRIMARY_INT_H
#define PRIMARY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "basecopy.h"
#include "changes.h"
#include "config.h"
#include "hash.h"
#include "histogram.h"
#include "leader.h"
#include "pinned.h"
#include "push.h"
#include "redis_push.h"
#include "rest.h"
#include "snap.h"
#include "stages.h"
#include "xmlcheck.h"

struct primary {
	const struct config *c;
	struct xmlcheck *xc;
	struct pusher *push;		/* NULL-safe: no targets, no children */
	struct rpush *redis;		/* a Redis sync root, or NULL */
	bool watching;			/* inotify covers the whole tree */
	int64_t watch_retry;		/* monotonic: try inotify again */
	int64_t scan_due;		/* monotonic: without inotify, look at
					 * the tree again (every poll_ms) */
	char scan_digest[HASH_HEX_LEN + 1];	/* what it looked like */
	int64_t renew_due;		/* monotonic: renew timestamp.sig */
	int64_t fresh_until;		/* wall clock: the latest state's
					 * expiry, as renewed (0: none) */
	char renew_error[sizeof(((struct snap_err *)0)->msg)];
	bool pending;		/* a publish is due at `due` */
	int64_t due;
	char last_error[sizeof(((struct snap_err *)0)->msg)];
	char watch_error[sizeof(((struct snap_err *)0)->msg)];
	uint64_t latest;		/* latest version in the sync root */
	struct snap_memo memo;		/* what we published last */
	struct changes changes;		/* what may have changed since */
	int64_t published_at;		/* wall clock of the last publish */
	uint64_t publishes, publish_failures;	/* /metrics */
	struct histogram publish_time;	/* ... of the versions written */
	struct histogram stage[PUBLISH_STAGES];	/* ... by stage (stages.h) */
	int64_t noticed_us;		/* monotonic us: the first change seen
					 * since the last publish; 0: none */
	struct rest *rest;		/* read-only endpoint, or NULL */
	struct basecopy base;		/* the full copy ahead of need */
	struct leader *lead;		/* ha: who publishes; NULL: we do */
	struct pinned pin;		/* pin.json: publish nothing new */
	int64_t prune_due;		/* retention, once quiet; 0: none */
	int64_t pruned_at;		/* monotonic, the last retention */
};

/* The rest_source callbacks (rest.h); arg is the struct primary. */
json_t *primary_status_json(void *arg);
void primary_render_metrics(void *arg, FILE *f);
bool primary_healthy(void *arg, char *why, size_t len);
bool primary_degraded(void *arg, char *why, size_t len);
bool primary_ready(void *arg, char *why, size_t len);

/* A written version's stage breakdown (stages.h), from the publish's
 * start (fsu_mono_us) and its marks: counted, and said at debug level. */
void primary_count_stages(struct primary *p, int64_t start_us,
    const struct snap_marks *mk, uint64_t version);

#endif
