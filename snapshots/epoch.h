/*
 * epoch.h - epochs, the lease and the reader's fence: what lets several
 * primaries share one sync root with exactly one publishing (ha = shared),
 * and lets every reader refuse what a deposed one writes late.
 *
 * Files in the sync root (docs/failover.md):
 *	epochs/<E>    the claim of epoch E: created O_CREAT|O_EXCL, never
 *	              rewritten, so each epoch is granted once:
 *	              {"epoch", "node_id", "nonce", "prev_epoch", "claimed_at"}
 *	lease.json    the holder's heartbeat, rewritten atomically every
 *	              renew_ms by the holder only: {"format": 1, "cluster_id",
 *	              "epoch", "node_id", "phase", "base_version", "seq",
 *	              "lease_ms", "renew_ms"}
 *	lease.sig     with a signing key: its signature over lease.json's bytes
 *	              (readers with public_key use no lease without it)
 * and in a secondary's deploy root:
 *	fence.json    the highest epoch it has seen and that epoch's seal:
 *	              {"format": 1, "max_epoch", "base_of_max"}
 *
 * A lease only says when a candidate may try to claim (liveness: judged on
 * the reader's own monotonic clock, never by comparing clocks). Safety is
 * the epoch: every state a holder publishes carries it and its seal
 * (state.h, format 4), and a reader that has seen epoch E refuses any
 * version of an older epoch above E's seal (SNAP_E_STALE_EPOCH).
 *
 * Calling sequence of a candidate: epoch_lease_read() every renew_ms;
 * when the holder is gone, epoch_claim(highest + 1); on winning
 * epoch_lease_write(sealing), read state.json for the seal,
 * epoch_lease_write(active); then renew. Of a reader: epoch_fence_load()
 * once, epoch_fence_check() for each state.json with the lease read after
 * it, epoch_fence_save() when it says the fence moved.
 *
 * Nothing here logs: 0 / -1 with err, as everywhere in snapshots/. Every
 * parser takes hostile bytes (fuzz/fuzz_epoch.c).
 */
#ifndef EPOCH_H
#define EPOCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sign.h"
#include "snap_err.h"
#include "state.h"

#define EPOCH_DIR "epochs"
#define EPOCH_LEASE_FILE "lease.json"
#define EPOCH_LEASE_SIG "lease.sig"
#define EPOCH_FENCE_FILE "fence.json"
#define EPOCH_FILE_MAX 4096		/* any of the three, in bytes */
#define EPOCH_NONCE_HEX 32

enum lease_phase {
	LEASE_SEALING,		/* epoch claimed, seal not read yet: readers
				 * defer older epochs' versions */
	LEASE_ACTIVE,		/* the holder publishes; base_version is the
				 * seal */
	LEASE_RELEASED,		/* stepped down cleanly: take over at once */
};

struct lease {
	char cluster_id[STATE_ID_MAX];
	char node_id[STATE_ID_MAX];
	uint64_t epoch;
	enum lease_phase phase;
	uint64_t base_version;		/* the seal (0: none yet) */
	uint64_t seq;			/* the heartbeat */
	unsigned lease_ms;
	unsigned renew_ms;
};

struct epoch_claim {
	uint64_t epoch;
	char node_id[STATE_ID_MAX];
	char nonce[EPOCH_NONCE_HEX + 1];
	uint64_t prev_epoch;
	int64_t claimed_at;		/* wall clock, for people only */
};

/* What a reader has seen (fence.json). */
struct epoch_fence {
	uint64_t max_epoch;		/* 0: no epoch seen */
	uint64_t base_of_max;		/* max_epoch's seal */
};

const char *epoch_phase_name(enum lease_phase p);

/* lease.json to and from bytes (to: malloc'ed, the caller's). */
int epoch_lease_to_json(const struct lease *l, char **out, size_t *len,
    struct snap_err *err);
int epoch_lease_from_json(const char *buf, size_t len, struct lease *l,
    struct snap_err *err);
/* Reads rootfd/lease.json afresh (open, read, close: close-to-open on
 * NFS); with pub, lease.sig must be pub's signature over those very bytes.
 * 0, 1 when there is none, -1 with err (unreadable, malformed, not
 * signed by pub). */
int epoch_lease_read(int rootfd, const struct sign_key *pub, struct lease *l,
    struct snap_err *err);
/* Writes it atomically (temp, fsync, rename, fsync the root); with key,
 * lease.sig first, the same way. */
int epoch_lease_write(int rootfd, const struct sign_key *key,
    const struct lease *l, struct snap_err *err);

int epoch_claim_to_json(const struct epoch_claim *c, char **out, size_t *len,
    struct snap_err *err);
int epoch_claim_from_json(const char *buf, size_t len, struct epoch_claim *c,
    struct snap_err *err);

/*
 * Claims epoch c->epoch: creates epochs/<E> with O_CREAT|O_EXCL (never
 * through a symlink), writes and fsyncs it and the directory. 0: ours;
 * 1: another candidate's (a create that failed with EEXIST, read back: a
 * claim of ours whose reply was lost is still ours, by its nonce); -1
 * with err: nothing known.
 */
int epoch_claim(int rootfd, const struct epoch_claim *c, struct snap_err *err);

/* The highest E of epochs/<E> (a readdir; 0 when none or unreadable). */
uint64_t epoch_highest(int rootfd);

/* A fresh random nonce, 32 lower-case hex digits. */
void epoch_nonce(char out[EPOCH_NONCE_HEX + 1]);

/* fence.json in a deploy root: 0 (a missing file is an empty fence), or
 * -1 with err. Saved atomically. */
int epoch_fence_from_json(const char *buf, size_t len, struct epoch_fence *f,
    struct snap_err *err);
int epoch_fence_load(int dirfd, struct epoch_fence *f, struct snap_err *err);
int epoch_fence_save(int dirfd, const struct epoch_fence *f,
    struct snap_err *err);

/*
 * The reader's rules for state st, with l the lease read after it (NULL:
 * none, or unusable; one of another cluster is ignored):
 *  1. a lease of a higher epoch than any seen: active or released, it
 *     raises the fence to its epoch and seal; sealing, versions of older
 *     epochs wait (-1, SNAP_E_EPOCH_PENDING: not an error, try again);
 *  2. a state of a higher epoch raises the fence to its epoch and seal;
 *  3. a state of an older epoch (format 2 and 3 states are epoch 0) above
 *     the fence's seal is a deposed publisher's: -1, SNAP_E_STALE_EPOCH.
 * *moved says whether f changed (save it). 0: go on with the other checks.
 */
int epoch_fence_check(struct epoch_fence *f, const struct snap_state *st,
    const struct lease *l, bool *moved, struct snap_err *err);

#endif
