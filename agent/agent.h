/*
 * agent.h - a secondary's model: what it serves, what it has seen of the
 * sync root, and the operations on it (agent.c). It knows nothing of the
 * event loop (secondary.c), HTTP (rest.c) or the local operations
 * (local.c): those drive it and read it. One thread owns it.
 *
 * The caller:
 *	1. declares `struct agent a = AGENT_INIT;` (safe to close unused);
 *	2. agent_open(): the validators, the deploy root (current served at
 *	   once), the overrides and the hooks;
 *	3. agent_reconcile() once, then agent_check() at every event or poll
 *	   of the sync root (and agent_startup_progress() after it while the
 *	   loop waits to be ready); agent_rebuild() for a local change;
 *	   agent_retry() when an operator asks; agent_healthy() to answer;
 *	4. agent_close(), whatever the steps before returned.
 * A failed check or rebuild keeps the release current points at: the
 * error is logged once and kept in last_error; nothing here exits.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "deploy.h"
#include "fence.h"
#include "hook.h"
#include "metrics.h"
#include "overrides.h"
#include "snap.h"
#include "swapevent.h"
#include "trust.h"
#include "xmlcheck.h"
#include "xmlpool.h"

struct agent {
	const struct config *c;
	struct deploy d;
	struct overrides ovr;
	struct xmlcheck *xc;		/* validates deploy-local bodies */
	struct xmlpool *checks;		/* validates every artifact an apply
					 * writes, on every core (uses xc) */
	struct metrics m;
	struct hook *hook;		/* told of every swap (hook.h) */
	struct trust trust;		/* what the sync root is believed */
	uint64_t latest_seen;		/* highest version in the sync root */
	uint64_t labeled_version;	/* an upstream version known to hold
					 * only artifacts with one of our
					 * labels (0: none) */
	int64_t behind_since_ms;	/* monotonic; 0 when not behind */
	int64_t last_sync_at;		/* wall clock of the last good check */
	char last_error[sizeof(((struct snap_err *)0)->msg)];
	struct agent_fence fence;	/* epochs seen (fence.h) */
	char token[256];		/* bearer token; "" when none */
	bool starting;			/* sync startup, not caught up yet */
	unsigned startup_fails;		/* failed checks while starting */
	struct rfetch *redis;		/* a Redis sync root's link
					 * (redis_fetch.h), or NULL */
	int64_t check_us;		/* the running check's start
					 * (fsu_mono_us), for its stages */
	int64_t notice_us;		/* state.json renamed in -> that start
					 * (stages.h); -1: unknown */
};

#define AGENT_INIT { .d = DEPLOY_INIT, .ovr = OVERRIDES_INIT }

/* Opens what c names for a secondary: the XML validators, the deploy
 * root, the overrides store, the hooks. starting is set with startup =
 * sync. 0, or -1 with err. */
int agent_open(struct agent *a, const struct config *c, struct snap_err *err);
void agent_close(struct agent *a);	/* safe on AGENT_INIT */

/* After a crash between saving overrides and the swap, or a restart with
 * other labels, what is deployed may not be upstream plus overrides:
 * rebuilds it then (once, at start). */
void agent_reconcile(struct agent *a);

/* Looks at the sync root now; applies a newer version if there is one. */
void agent_check(struct agent *a);

/*
 * startup = sync: after each check while starting, whether the latest
 * version is applied or startup_tries checks failed; then ready
 * (sd_notify READY=1, /healthz), saying which.
 */
void agent_startup_progress(struct agent *a);

/* Forgets a version refused for its content, so that the next check tries
 * it again (SIGHUP, POST /api/v1/sync: an operator asking). */
void agent_retry(struct agent *a);

/*
 * Rebuilds the release for upstream + overrides. v is the upstream version
 * to apply (its manifest is taken over on success) or NULL to rebuild the
 * applied one (a local change). When a file only upstream holds is needed,
 * the applied version's snapshot is opened from the sync root. A swap is
 * told to a->hook with `reason`.
 * 0, or -1 with err; *http is 503 when the sync root was needed and could
 * not be read, 500 otherwise.
 */
int agent_rebuild(struct agent *a, struct snap_version *v,
    enum swap_reason reason, int *http, struct snap_err *err);

/* true when /healthz would answer 200; *why says otherwise. */
bool agent_healthy(const struct agent *a, char *why, size_t len);

/* true when /readyz would answer 200: a verified release is served (a
 * sync startup done) and the node is not known to be behind for longer
 * than max_lag_ms. Unlike agent_healthy(), a sync root out of reach (an
 * NFS blip) does not make it false: what is served is still the latest
 * the node knows of. *why says otherwise. */
bool agent_ready(const struct agent *a, char *why, size_t len);

#endif
