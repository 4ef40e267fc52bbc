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

/* What the last check made of the sync root (secondary.c). */
enum root_state {
	ROOT_OK,		/* state.json verified, not older */
	ROOT_UNVERIFIABLE,	/* unparsable, unsigned, bad signature, another
				 * cluster's, expired */
	ROOT_OLDER,		/* below the version applied, or min_version */
	ROOT_UNREACHABLE,	/* the share or state.json cannot be read */
};

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
	bool require_fresh;		/* refuse states past their expiry */
	int64_t fresh_until;		/* the latest state's expiry, as
					 * renewed (0: none or not checked) */
	enum root_state root_state;
	int64_t root_since_ms;		/* monotonic; 0 while ROOT_OK */
	int64_t root_since;		/* wall clock of the same; 0: ok */
	int64_t last_sync_at;		/* wall clock of the last good check */
	char last_error[sizeof(((struct snap_err *)0)->msg)];
	/* A version refused for what it holds, not for how it was read: a
	 * state.json with the same record (state_digest) is refused again
	 * before any file it names is read. */
	struct {
		uint64_t version;	/* 0: none */
		char digest[HASH_HEX_LEN + 1];
		struct snap_err why;
	} refused;
	char token[256];		/* bearer token; "" when none */
	bool starting;			/* sync startup, not caught up yet */
	unsigned startup_fails;		/* failed checks while starting */
	struct rfetch *redis;		/* a Redis sync root's link
					 * (redis_fetch.h), or NULL */
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

/* --- trust.c: what the share is believed, what was refused --- */

/* "ok", "unverifiable", "older" or "unreachable" (status, metrics), and
 * the words healthz says it with. */
const char *agent_root_state_name(enum root_state s);
const char *agent_root_state_words(enum root_state s);

/* Records what the last check made of the sync root, and since when. */
void agent_set_root_state(struct agent *a, enum root_state s);

/* The checks of a verified state.json before anything it names is read:
 * cluster, older than `applied` or min_version, expiry. 0, or -1 with err
 * (its code the refusal's); the root state is set either way but ok. */
int agent_trust_state(struct agent *a, int rootfd,
    const struct snap_version *v, uint64_t applied, struct snap_err *err);

/* Whether v's state record is the one refused as final, and remembering
 * one (only when err's code is final: snap_code_is_final). */
bool agent_refused_before(const struct agent *a, const struct snap_version *v);
void agent_remember_refusal(struct agent *a, const struct snap_version *v,
    const struct snap_err *err);

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
