/*
 * leader.h - which of several primaries publishes (ha = shared): the
 * leadership state machine of one primary daemon (docs/failover.md).
 *
 * A primary is a STANDBY or the LEADER. A standby reads lease.json every
 * renew_ms and notes, on its own monotonic clock, when its content last
 * changed; when the lease is released, absent, or unchanged for lease_ms +
 * takeover_grace_ms, it claims the next epoch (epochs/<E>, O_EXCL: granted
 * once), announces it (lease.json, phase sealing), reads the seal from
 * state.json and goes active. The leader renews every renew_ms, steps down
 * when the lease names a higher epoch or when it could not renew within
 * lease_ms - safety_ms, puts state.json back when a deposed leader's late
 * write replaced it (the heal), and checks its lease right before every
 * commit (leader_publish_opts: snap.h's precommit). On SIGTERM it releases
 * the lease, so that a standby takes over at its next look.
 *
 * Calling sequence (agent/primary.c): leader_new() at start (NULL with
 * ha = off: every function below takes NULL as "the one primary, always
 * leading"); in the loop, leader_tick() when leader_due_ms() is reached
 * (LEADER_ELECTED: rescan and publish; LEADER_DEPOSED: stop), the poll
 * timeout through leader_timeout_ms(); before a publish leader_may_publish()
 * and leader_publish_opts(), after one leader_published(); status and
 * metrics through leader_status() and leader_render_metrics();
 * leader_free() last (releases the lease when leading).
 */
#ifndef LEADER_H
#define LEADER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "config.h"
#include "snap.h"

struct leader;

enum leader_event {
	LEADER_NONE,
	LEADER_ELECTED,		/* this primary leads now */
	LEADER_DEPOSED,		/* it led and does not any more */
};

/* *out: a new state machine, standing by; NULL with ha = off. 0 or -1. */
int leader_new(const struct config *c, struct leader **out,
    struct snap_err *err);
/* Releases the lease when leading (a clean stop); NULL is a no-op. */
void leader_free(struct leader *l);

/* Whether this primary publishes now (NULL: yes). */
bool leader_leads(const struct leader *l);

/* The poll timeout, shortened to the next tick (timeout -1: none). */
int leader_timeout_ms(const struct leader *l, int timeout, int64_t now);
/* Whether the tick is due at monotonic `now`. */
bool leader_due(const struct leader *l, int64_t now);
/* One look at the lease: renew, step down, or take over. */
enum leader_event leader_tick(struct leader *l);

/* Leading, with state.json first put back if a deposed leader replaced
 * it (the heal): a publish may go ahead. NULL: yes. */
bool leader_may_publish(struct leader *l);
/* The epoch, its seal and the self-check right before the commit. */
void leader_publish_opts(struct leader *l, struct snap_publish_opts *o);
/* This leader published `version`: what the heal restores. */
void leader_published(struct leader *l, uint64_t version);

/* Sets "role" (primary or standby), "epoch", "holder" and "ha" in a
 * primary's status object. NULL: only "ha": "off". */
void leader_status(const struct leader *l, json_t *obj);
void leader_render_metrics(const struct leader *l, FILE *f);

#endif
