/*
 * trust.h - what a secondary believes of the sync root beyond a good
 * signature, and what it remembers of what it refused.
 *
 * The caller (agent.c, at every check of the sync root):
 *	1. trust_init() once, from the config;
 *	2. trust_set_root() with what the check made of the share, whenever
 *	   it could not get as far as a verified state.json;
 *	3. trust_check_state() on a verified state.json before anything it
 *	   names is read: the root state is set on a refusal (the caller
 *	   sets ROOT_OK on success);
 *	4. trust_refused_before() before a version's files are read, and
 *	   trust_remember_refusal() after they were refused;
 *	   trust_forget_refusal() when an operator asks to try again.
 * Nothing here fails but trust_check_state(), which returns 0, or -1 with
 * err (its code the refusal's). Nothing is allocated: struct trust needs
 * no cleanup.
 */
#ifndef TRUST_H
#define TRUST_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "snap.h"

/* What the last check made of the sync root. */
enum root_state {
	ROOT_OK,		/* state.json verified, not older */
	ROOT_UNVERIFIABLE,	/* unparsable, unsigned, bad signature, another
				 * cluster's, expired */
	ROOT_OLDER,		/* below the version applied, or min_version */
	ROOT_UNREACHABLE,	/* the share or state.json cannot be read */
};

struct trust {
	const struct config *c;		/* cluster_id, min_version */
	bool require_fresh;		/* refuse states past their expiry */
	int64_t fresh_until;		/* the latest state's expiry, as
					 * renewed (0: none or not checked) */
	enum root_state root_state;
	int64_t root_since_ms;		/* monotonic; 0 while ROOT_OK */
	int64_t root_since;		/* wall clock of the same; 0: ok */
	/* A version refused for what it holds, not for how it was read: a
	 * state.json with the same record (state_digest) is refused again
	 * before any file it names is read. */
	struct {
		uint64_t version;	/* 0: none */
		char digest[HASH_HEX_LEN + 1];
		struct snap_err why;
	} refused;
};

/* Takes c's cluster, floor and freshness rule (require_fresh: with a
 * public key, unless turned off). */
void trust_init(struct trust *t, const struct config *c);

/* The checks of a verified state.json before anything it names is read:
 * cluster, older than `applied` or min_version, expiry (with
 * require_fresh, timestamp.sig read through rootfd). 0, or -1 with err. */
int trust_check_state(struct trust *t, int rootfd,
    const struct snap_version *v, uint64_t applied, struct snap_err *err);

/* Records what the last check made of the sync root, and since when. */
void trust_set_root(struct trust *t, enum root_state s);

/* Whether v's state record is the one refused as final; remembering one
 * (only when err's code is final: snap_code_is_final), and forgetting it
 * (SIGHUP, POST /api/v1/sync: an operator asking). */
bool trust_refused_before(const struct trust *t, const struct snap_version *v);
void trust_remember_refusal(struct trust *t, const struct snap_version *v,
    const struct snap_err *err);
void trust_forget_refusal(struct trust *t);

/* "ok", "unverifiable", "older" or "unreachable" (status, metrics), and
 * the words healthz says it with. */
const char *trust_root_state_name(enum root_state s);
const char *trust_root_state_words(enum root_state s);

#endif
