/*
 * fence.h - a secondary's side of failover: the epoch fence (epoch.h) kept
 * in its deploy root (fence.json) and applied to every state.json that
 * verified, after the lease read right behind it. A version a deposed
 * primary wrote late is refused (stale_epoch), one of an epoch being
 * sealed waits (epoch_pending). A cluster without failover has no epochs
 * and no lease.json: nothing changes for it.
 *
 * agent_trust_state() (trust.c) calls agent_fence() last.
 */
#ifndef FENCE_H
#define FENCE_H

#include <stdbool.h>

#include "epoch.h"

struct agent;

struct agent_fence {
	struct epoch_fence f;
	bool loaded;			/* fence.json read (once, lazily) */
};

/* 0: st may be applied as far as epochs go; -1 with err (code
 * SNAP_E_STALE_EPOCH or SNAP_E_EPOCH_PENDING). rootfd: the sync root. */
int agent_fence(struct agent *a, int rootfd, const struct snap_state *st,
    struct snap_err *err);

#endif
