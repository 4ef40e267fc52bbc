/*
 * snap.h - publishing and opening versions in a sync root.
 *
 * Sync root layout:
 *	state.json                     latest version; written last, by rename
 *	snapshots/<V>.manifest.json    artifacts of V, events since its parent
 *	snapshots/<V>.tar.zst          the artifacts (pax + zstd)
 *	snapshots/<V>.state.json       state.json as it was when V was latest
 *	snapshots/<V>.state.sig        its ed25519 signature (when signing;
 *	                               sign.h)
 *	.publish.lock                  flock(2): one publisher at a time
 *
 * Publish order is the crash-safety argument: the snapshot files are
 * written to temp names, fsynced and renamed, the snapshots/ directory is
 * fsynced, and only then is state.json replaced by rename and the root
 * fsynced. A crash at any point leaves state.json naming a complete,
 * verifiable version (the old one or the new one) plus, at worst, unused
 * files that the next publish overwrites.
 */
#ifndef SNAP_H
#define SNAP_H

#include <stdint.h>

#include "manifest.h"
#include "sign.h"
#include "snap_err.h"
#include "state.h"
#include "xmlcheck.h"

#define SNAP_VERSION_STRING "artsync 0.1.0"
#define SNAP_MANIFEST_MAX_BYTES (256u * 1024 * 1024)

enum snap_publish_result {
	SNAP_PUBLISHED,
	SNAP_UNCHANGED,
	SNAP_REPAIRED,	/* published in full over an unreadable latest version */
};

struct snap_publish_opts {
	const char *cluster_id;
	const char *node_id;
	struct xmlcheck *xc;	/* validator; NULL skips validation (tests) */
	/* Retention after a publish: older versions go once at least
	 * keep_versions newer ones exist AND their files are older than
	 * grace_s seconds (a secondary may still be reading them). 0 keeps
	 * everything. */
	unsigned keep_versions;
	unsigned grace_s;
	/* Signs each version (snapshots/<V>.state.sig) when set; the latest
	 * and a rollback's source must then be signed by it too, or they
	 * are treated as unreadable. */
	const struct sign_key *key;
};

/*
 * Validates every artifact under `source` and publishes the next version to
 * `sync_root` (created if missing). *result says whether anything was
 * written; *version is the new version, or the latest one when unchanged.
 * -1 with err (a bad artifact, a busy lock, an I/O error): nothing is
 * published and state.json is untouched.
 *
 * A latest version that cannot be read (torn, corrupt, garbage state.json)
 * is published over, in full, with a number above every version found on
 * disk or in state.json: *result is SNAP_REPAIRED and err says what was
 * wrong. With no such number to go by it is refused instead: a lower
 * version would be ignored by every secondary.
 */
int snap_publish(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, enum snap_publish_result *result,
    uint64_t *version, struct snap_err *err);

/*
 * Publishes the content of an older retained version `to` as a new, higher
 * version. Same result and guarantees as snap_publish().
 */
int snap_rollback(const char *sync_root, uint64_t to,
    const struct snap_publish_opts *o, uint64_t *version,
    struct snap_err *err);

/*
 * Removes the files of versions below latest - keep + 1 that are older than
 * grace_s, and temp files of crashed publishes older than grace_s. Never
 * the latest version (the one state.json names); never a name it did not
 * write (.nfsXXXX files stay: the NFS client removes those). Returns how
 * many files it removed.
 */
size_t snap_prune(int rootfd, uint64_t latest, unsigned keep, unsigned grace_s);

/* One version, opened for reading: its state record, its verified
 * manifest, and its archive's fd (not yet verified: arc_extract does that).
 * Set pub before snap_open to require the version to be signed by it. */
struct snap_version {
	struct snap_state st;
	struct manifest *m;
	int archfd;
	const struct sign_key *pub;	/* in; NULL: signatures ignored */
};

#define SNAP_VERSION_INIT { .m = NULL, .archfd = -1 }

/*
 * Opens version `version` of the sync root at rootfd (0: the latest, from
 * state.json). Checks the manifest's size and XXH128 against the state
 * record and that manifest and state agree. 0, or -1 with err.
 */
int snap_open(int rootfd, uint64_t version, struct snap_version *v,
    struct snap_err *err);
void snap_close(struct snap_version *v);	/* safe on SNAP_VERSION_INIT */

/* Opens and fully verifies a version (every checksum; the signature when
 * pub is set). *st gets its state. */
int snap_verify(const char *sync_root, uint64_t version,
    const struct sign_key *pub, struct snap_state *st, struct snap_err *err);

#endif
