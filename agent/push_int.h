/*
 * push_int.h - the pusher's state, shared by push.c (the children, the
 * stages, the backoff) and push_view.c (status and metrics). Not an API:
 * only these files include it.
 */
#ifndef PUSH_INT_H
#define PUSH_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "push.h"
#include "pushconf.h"

enum stage {
	STAGE_IDLE,
	STAGE_SNAPSHOTS,	/* rsync of snapshots/ running */
	STAGE_STATE,		/* rsync of the state copy running */
	STAGE_TIMESTAMP,	/* rsync of timestamp.sig running */
	/* A local-path target (pushconf.h): rsync --fsync made each file
	 * durable before its rename, `sync DIR` makes the renames durable
	 * too - snapshots/ before state.json names its files, the root
	 * last. A child, as rsync is: a hung share stalls no loop. */
	STAGE_SYNC_SNAPSHOTS,	/* sync TARGET/snapshots running */
	STAGE_SYNC_ROOT,	/* sync TARGET running */
};

struct target {
	const char *url;		/* from the config */
	enum stage stage;
	pid_t pid;
	int errfd;			/* the child's stderr */
	char errbuf[512];		/* its last output, for the log */
	size_t errlen;
	uint64_t pushing;		/* version being pushed */
	uint64_t pushed;		/* last version fully pushed */
	unsigned tries;			/* failures since the last success */
	unsigned delay_ms;		/* the next backoff delay */
	int64_t due_ms;			/* monotonic time of the next try */
	bool gave_up;
	bool stale_ts;			/* timestamp.sig renewed since the
					 * last push (push_refresh) */
	char last_error[640];		/* "" since the last success */
};

struct pusher {
	const struct config *c;
	struct push_opts opts;		/* -e, --password-file, ... */
	struct target *t;
	size_t n;
	uint64_t latest;
};

/* Whether t has anything to get: a newer version, or a renewed expiry. */
bool push_wants(const struct pusher *p, const struct target *t);

#endif
