/*
 * leader_int.h - what leader.c (life cycle, tick, publish hooks),
 * leader_elect.c (stand by, take over, renew, heal) and leader_view.c
 * (status, metrics) share: the state machine's struct and the helpers
 * each side calls. Not for use outside the leader_*.c files.
 */
#ifndef LEADER_INT_H
#define LEADER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "epoch.h"
#include "leader.h"
#include "snap.h"

enum role {
	ROLE_STANDBY,
	ROLE_LEADER,
};

struct leader {
	const struct config *c;
	const struct ha_config *h;
	enum role role;
	uint64_t epoch;			/* ours, while leading */
	uint64_t seal;			/* what our epoch builds on */
	uint64_t seq;			/* our heartbeat */
	char nonce[EPOCH_NONCE_HEX + 1];
	int64_t renewed_ms;		/* the last renewal that landed */
	int64_t due_ms;			/* the next tick */
	uint64_t mine;			/* the last version we published */
	/* The lease as a standby last saw it change. */
	struct lease seen;
	bool have_seen;
	int64_t seen_ms;
	/* The highest claim in epochs/ and when it was first seen: a claim
	 * above the lease's epoch is a candidate between its claim and its
	 * lease, and gets a whole lease to show itself. */
	uint64_t claim_seen;
	int64_t claim_ms;
	int64_t role_since;		/* wall clock */
	char error[sizeof(((struct snap_err *)0)->msg)];	/* said once */
	uint64_t elections, stepdowns, heals;
	unsigned stop_before_commit;	/* test hook: SIGSTOP before the Nth
					 * commit (0: never) */
	unsigned commits;
	/* ha = etcd: the epoch is the leader key's create revision, the
	 * liveness etcd's lease; lease.json on the share stays, for the
	 * readers' fence. */
	struct etcd *etcd;		/* NULL: ha = shared */
	int64_t etcd_lease;		/* ours, while leading (0: none) */
	char key_leader[STATE_ID_MAX + 32];
	char key_state[STATE_ID_MAX + 32];
};

/* leader.c */
/* The signing key: leases are signed with it, and read only when they
 * verify with it. */
const struct sign_key *leader_key(const struct leader *l);
/* Says a failure once, not at every tick. */
void leader_say_error(struct leader *l, const struct snap_err *err);
void leader_clear_error(struct leader *l);
/* ls: our lease in `phase`, with our epoch, seal and heartbeat. */
void leader_fill_lease(const struct leader *l, struct lease *ls,
    enum lease_phase phase);
bool leader_lease_is_ours(const struct leader *l, const struct lease *ls);

/* leader_elect.c: one look each, on the share's root (rootfd). */
void leader_step_down(struct leader *l, const char *why);
/* A standby's look (ha = shared): has the holder gone? Then take over. */
enum leader_event leader_stand_by(struct leader *l, int rootfd, int64_t now);
/* A standby's look with ha = etcd: the leader key, a campaign when gone. */
enum leader_event leader_stand_by_etcd(struct leader *l, int rootfd);
/* The leader's look: renew, or step down. */
enum leader_event leader_renew(struct leader *l, int rootfd, int64_t now);
/* Puts state.json back after a deposed leader's late write. */
void leader_heal(struct leader *l, int rootfd);

#endif
