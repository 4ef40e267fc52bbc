/*
 * agent.h - the state of a running secondary, shared by its loop
 * (secondary.c), its REST endpoint (rest.c) and its local operations
 * (local.c). One thread owns it: everything runs in the one event loop.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "hook.h"
#include "metrics.h"
#include "overrides.h"
#include "release.h"
#include "snap.h"
#include "swapevent.h"
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
	uint64_t latest_seen;		/* highest version in the sync root */
	uint64_t labeled_version;	/* an upstream version known to hold
					 * only artifacts with one of our
					 * labels (0: none) */
	int64_t behind_since_ms;	/* monotonic; 0 when not behind */
	int64_t down_since_ms;		/* monotonic; 0 while the sync root
					 * and its state.json can be read */
	int64_t last_sync_at;		/* wall clock of the last good check */
	char last_error[sizeof(((struct snap_err *)0)->msg)];
	/* A version refused for what it holds, not for how it was read: the
	 * same files (same checksums) are refused again without a retry. */
	struct {
		uint64_t version;	/* 0: none */
		char manifest[HASH_HEX_LEN + 1];
		char archive[HASH_HEX_LEN + 1];
		char why[sizeof(((struct snap_err *)0)->msg)];
	} refused;
	char token[256];		/* bearer token; "" when none */
	bool starting;			/* sync startup, not caught up yet */
	unsigned startup_fails;		/* failed checks while starting */
};

/* Looks at the sync root now; applies a newer version if there is one. */
void agent_check(struct agent *a);

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

/* Local operations on one artifact (the REST routes). Each returns the
 * HTTP status: 200 on success, 4xx/5xx with err filled. */

/* The file name (into out, NAME_MAX_BYTES + 1) of the artifact of `type`
 * an operator calls `name`: its file name or its Synapse identity, in
 * what is deployed, upstream, or the overrides. An unknown name is
 * copied as it is (a new artifact). 200, or 409 when the identity is
 * ambiguous. */
int local_resolve(const struct agent *a, int type, const char *name,
    char *out, struct snap_err *err);
/* Undeploys it here; an artifact that exists only through deploy-local
 * is removed with its override, leaving nothing behind. */
int local_undeploy(struct agent *a, int type, const char *name,
    struct snap_err *err);
/* Drops whatever local override type/name has (404 if none). */
int local_forget(struct agent *a, int type, const char *name,
    struct snap_err *err);
int local_redeploy(struct agent *a, int type, const char *name,
    struct snap_err *err);
/* Deploys body as type/name here. Its Synapse identity must be the
 * artifact's (or, for a new one, name itself), and no other artifact of
 * the type may have it (400, 409). */
int local_deploy(struct agent *a, int type, const char *name,
    const char *body, size_t len, struct snap_err *err);

#endif
