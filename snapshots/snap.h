/*
 * snap.h - publishing and opening versions in a sync root.
 *
 * Sync root layout:
 *	state.json                     latest version; written last, by rename
 *	snapshots/<V>.manifest.json    full: every artifact of V, events since
 *	                               its parent
 *	snapshots/<V>.tar.zst          full: every artifact (pax + zstd)
 *	snapshots/<V>.delta.json       delta: what changed since V's parent
 *	snapshots/<V>.delta.tar.zst    delta: the changed artifacts
 *	snapshots/<V>.state.json       state.json as it was when V was latest
 *	snapshots/<V>.state.sig        its ed25519 signature (when signing;
 *	                               sign.h)
 *	.publish.lock                  flock(2): one publisher at a time
 *	.publish.cache                 the one-shot publish's stat cache
 *	                               (pcache.h); never part of a version
 *
 * A version is either full or a delta on its parent. state.json names the
 * last full version (the base) and every delta from it to the latest, so a
 * reader at any version of the chain reads only the deltas after it, and
 * any other reader the base plus the chain. A version is full when there is
 * no parent, when the chain would pass max_chain, or when more than half
 * the tree changed: the chain stays bounded and so does catching up.
 *
 * Publishing (snap_publish); each step carries its number in the code,
 * as a "Step N" comment where it is done:
 *	1. lock: the sync root and snapshots/ opened (created if missing),
 *	   .publish.lock taken without waiting (snap_root.c)
 *	2. read the latest: the version state.json names, opened and
 *	   verified (with a key, signed by it) and its chain's archives
 *	   checked; an unreadable one is published over (SNAP_REPAIRED), a
 *	   damaged chain makes the next version full (snap_root.c)
 *	3. number: the next version above every verifiable state, past any
 *	   number a dead publisher's files use (snap_root.c)
 *	4. read the tree: scanned, labelled, read, hashed, validated; every
 *	   problem reported, any one refuses the publish (snap_tree.c)
 *	5. compare: the latest's content again is SNAP_UNCHANGED
 *	6. diff: DEPLOY and UNDEPLOY events, and stamps, against the latest
 *	   (snap_publish.c)
 *	7. write the archive, full or a delta on the latest; every artifact
 *	   is read again and must match step 4 (snap_write.c)
 *	8. write the manifest
 *	9. write the state copy, its signature (with a key), and state.json
 *	   under a temp name
 *	10. sync: every file of the version in one batch, then snapshots/
 *	11. commit: state.json renamed over the old one, the root synced
 *	12. retention: older versions pruned, unless deferred (snap_prune.c)
 * snap_publish_changes() runs the same steps over the changed paths only
 * (snap_changes.c); snap_rollback() with an older version as the tree
 * (snap_rollback.c).
 *
 * Publish order is the crash-safety argument: the snapshot files are
 * written and fsynced, the snapshots/ directory is fsynced, and only then
 * is state.json replaced by rename and the root fsynced. A crash at any
 * point leaves state.json naming a complete, verifiable version (the old
 * one or the new one) plus, at worst, unused files that retention
 * removes; a publish that fails before step 11 removes the version's
 * files itself.
 *
 * Reading (snap_open.c): snap_read_state(), snap_open() or
 * snap_open_since(), arc_extract() on each layer, snap_close(). A
 * function that can fail returns -1 with err, and leaves nothing to free;
 * snap_prune*() return a count and never fail.
 */
#ifndef SNAP_H
#define SNAP_H

#include <stdbool.h>
#include <stdint.h>

#include "manifest.h"
#include "names.h"
#include "report.h"
#include "sign.h"
#include "snap_err.h"
#include "state.h"
#include "xmlcheck.h"

struct scan_observer;	/* scan.h */

#define SNAP_VERSION_STRING "artsync 0.1.0"
#define SNAP_MANIFEST_MAX_BYTES (256u * 1024 * 1024)
/* An archive holds at most TREE_MAX_BYTES of artifacts; a quarter more is
 * room for tar headers, which zstd squeezes to a fraction of that. */
#define SNAP_ARCHIVE_MAX_BYTES (TREE_MAX_BYTES + TREE_MAX_BYTES / 4)

enum snap_publish_result {
	SNAP_PUBLISHED,
	SNAP_UNCHANGED,
	SNAP_REPAIRED,	/* published in full over an unreadable latest version */
};

/*
 * Where a publish's time went (its stage breakdown, agent/stages.h): the
 * CLOCK_MONOTONIC microseconds (fsu_mono_us) at which each span of the
 * steps above ended; 0 for one not reached (an unchanged tree writes
 * nothing). Filled only by a publish that writes a version, through
 * snap_publish_opts.marks.
 */
enum snap_mark {
	SNAP_MARK_READ,		/* steps 1-6: the version to write is known */
	SNAP_MARK_WRITTEN,	/* steps 7-9: its files written, not synced */
	SNAP_MARK_SYNCED,	/* step 10: they and snapshots/ are durable */
	SNAP_MARK_COMMITTED,	/* step 11: state.json renamed, root synced */
	SNAP_MARKS,
};

struct snap_marks {
	int64_t at[SNAP_MARKS];
};

struct snap_publish_opts {
	const char *cluster_id;
	const char *node_id;
	struct xmlcheck *xc;	/* validator; NULL skips validation (tests) */
	/* Every problem of the tree, and what was skipped (report.h); NULL:
	 * err alone says what failed. The caller prints it and frees it. */
	struct report *report;
	/* Retention after a publish: older versions go once at least
	 * keep_versions newer ones exist AND their files are older than
	 * grace_s seconds (a secondary may still be reading them). 0 keeps
	 * everything. */
	unsigned keep_versions;
	unsigned grace_s;
	/* Signs each version (snapshots/<V>.state.sig) when set; the latest
	 * (what a delta is built on, incremental publishes included) and a
	 * rollback's source must then be signed by it too, or they are
	 * treated as unreadable. */
	const struct sign_key *key;
	/* Deltas allowed past a full version, at most STATE_CHAIN_MAX;
	 * 0 publishes every version in full. */
	unsigned max_chain;
	/* The caller runs retention itself (snap_prune_root), off the
	 * publish: a daemon, once the tree is quiet. */
	bool defer_prune;
	/* With a key: each state expires this many seconds after it is
	 * published (state format 3; fresh.h). 0: no expiry (format 2). */
	int64_t validity_s;
	/* Under a failover coordinator (epoch.h, agent/leader.h): the epoch
	 * every state carries, its seal and how it was granted (state format
	 * 4); 0: none. precommit runs right before state.json is renamed
	 * (the commit) to name `version`: -1 aborts the publish, its files
	 * removed.
	 * share_unlocked: no .publish.lock on the share (a hung holder's NFS
	 * lock could block its successor for ever; the epoch guards). */
	uint64_t epoch, epoch_base;
	const char *ha;
	int (*precommit)(void *arg, uint64_t version, struct snap_err *err);
	void *precommit_arg;
	bool share_unlocked;
	/* Threads that read, hash and validate a whole tree (readpool.h),
	 * the caller's included: 1 reads on the caller's alone; 0: one per
	 * CPU, at most 8. The output is the same byte for byte. */
	unsigned threads;
	/* The version's time (published_at, stamps) instead of the clock's,
	 * when above 0: reproducible output ($SOURCE_DATE_EPOCH, tests). */
	int64_t now;
	/* Told of every artifact a whole-tree scan lists, with its stat:
	 * the publish cache's stat data (snap_cached.c). NULL: nobody. */
	const struct scan_observer *scan_obs;
	/* Tests: called by the one-shot publish (snap_publish_cached)
	 * before it reads any file - with a usable cache, after its scan. */
	void (*scanned)(void *arg);
	void *scanned_arg;
	/* Filled as the steps end (enum snap_mark); NULL: not timed. */
	struct snap_marks *marks;
};

#define SNAP_MAX_CHAIN_DEFAULT 64	/* what the agent's config defaults to */

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
 * The checks of snap_publish() on the tree at `source`, with nothing
 * written anywhere: every problem, and what would be skipped, in
 * o->report; *count is how many artifacts would be published. 0 when the
 * tree would publish; -1 with err (the first problem, or a summary).
 */
int snap_check(const char *source, const struct snap_publish_opts *o,
    size_t *count, struct snap_err *err);

/* A chain file found intact, known by what a write or a rename over it
 * would change. */
struct snap_seen {
	char name[96];
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

/* The full files of a version published as a delta, written beside it
 * ahead of need (snap_write_base): where its chain can restart. */
struct snap_base {
	uint64_t version;	/* 0: none */
	struct state_file manifest, archive;
};

/* What a long-running publisher remembers of its last publish: the full
 * content of that version, so that the next publish need read only what
 * changed; and the chain files it checked, so that the next publish need
 * only stat them. */
struct snap_memo {
	struct manifest *m;
	uint64_t version;
	bool rescanned;		/* the last publish read the whole tree */
	size_t chain;		/* deltas in the latest version's chain */
	struct snap_base base;	/* in: a full copy of a version of the
				 * chain, for when the chain is full */
	uint64_t rebased;	/* the last publish restarted the chain on
				 * base (its version), 0: it did not */
	struct snap_seen *seen;	/* 2 * STATE_CHAIN_MAX slots, or NULL */
	size_t nseen;
	size_t seen_at;		/* where the next search starts */
	bool check_base;	/* the base's files are checked too (memo
				 * made by another process) */
	struct snap_state *state;	/* the state.json it wrote, parsed; */
	struct snap_seen state_seen;	/* while that file is still there, the
					 * next publish neither reads nor
					 * parses it. NULL: not known */
};

#define SNAP_MEMO_INIT { .m = NULL, .version = 0, .rescanned = false, \
	.chain = 0, .base = { .version = 0 }, .rebased = 0, .seen = NULL, \
	.nseen = 0, .check_base = false, .state = NULL }
void snap_memo_clear(struct snap_memo *memo);	/* back to SNAP_MEMO_INIT */

/* An artifact that may have changed (created, written, removed). */
struct snap_change {
	int type;
	char name[NAME_MAX_BYTES + 1];
};

/*
 * snap_publish() for a publisher that knows which artifacts may have
 * changed since its last publish (memo): only those are read, hashed and
 * validated, and the version is a delta on memo's. It falls back to
 * snap_publish() in full - and fills memo - when memo is empty, changes is
 * NULL (not known: an inotify overflow, labels.conf changed), state.json
 * no longer names memo's version (someone else published), a delta of the
 * chain is damaged, or a full version is due. `changes` is sorted in place.
 * On success memo holds the latest version; on failure it may be emptied.
 */
int snap_publish_changes(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, struct snap_memo *memo,
    struct snap_change *changes, size_t nchanges,
    enum snap_publish_result *result, uint64_t *version,
    struct snap_err *err);

/*
 * A full version every max_chain deltas would cost a publish the whole
 * tree (read, compressed, written) while a change waits. Instead a daemon
 * writes, off that path (a child process), the full files of memo's
 * version: snapshots/<V>.json from memo, <V>.tar.zst from the source, each
 * file checked against memo as it is read (a file changed since fails
 * the write: try later). Nothing names them until the chain is full: then
 * snap_publish_changes() restarts the chain on them (memo->base = *base)
 * with the deltas above V, and publishes a delta, not the tree. Takes no
 * lock and changes nothing a reader sees. 0 with *base filled, or -1.
 */
int snap_write_base(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, const struct snap_memo *memo,
    struct snap_base *base, struct snap_err *err);

/*
 * snap_publish() by the publish cache, <sync_root>/.publish.cache
 * (pcache.h, snap_cached.c): only the artifacts whose stat(2) changed since
 * the version it describes are read, hashed and validated. The same
 * result and guarantees as snap_publish(); *warn (message empty: none)
 * says when the cache was ignored or could not be written; *use (NULL:
 * not wanted) how many artifacts were read of how many listed.
 */
struct snap_cache_use {
	size_t read;		/* read, hashed (validated if new) */
	size_t total;		/* listed by the scan */
};
int snap_publish_cached(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, enum snap_publish_result *result,
    uint64_t *version, struct snap_cache_use *use, struct snap_err *warn,
    struct snap_err *err);

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
 * many files it removed. latest_base: latest's base version, when the
 * caller knows it (0: read from state.json).
 */
size_t snap_prune(int rootfd, uint64_t latest, uint64_t latest_base,
    unsigned keep, unsigned grace_s);

/* The suffixes of a version's files in snapshots/, after "<V>". */
#define SNAP_FILE_KINDS 6
extern const char *const snap_file_suffix[SNAP_FILE_KINDS];

/*
 * The version a file in snapshots/ belongs to when `name` is one a
 * publisher writes ("<V>" and a suffix above, V in decimal without a
 * leading zero, at most STATE_VERSION_MAX), else 0: a name that is none of ours
 * (.nfsXXXX, a temp file, anything an operator left). *max_bytes, when
 * asked, gets the most such a file can hold and still be read.
 */
uint64_t snap_file_version(const char *name, uint64_t *max_bytes);
/* Takes the publish lock of the sync root at rootfd (flock(2) on
 * .publish.lock, without waiting): the lock's fd, which releases it when
 * closed; -1 with err ("another publisher holds .publish.lock"). */
int snap_lock(int rootfd, const char *sync_root, struct snap_err *err);

/* snap_prune() of the sync root at path for its latest version, under the
 * publish lock: nothing done while a publish holds it (try again later).
 * The number of files removed. */
size_t snap_prune_root(const char *sync_root, unsigned keep, unsigned grace_s);

/* One archive to read: the base's or a delta's, with the manifest that
 * lists exactly its entries. */
struct snap_layer {
	const struct state_file *manifest_f;	/* into the version's st */
	const struct state_file *archive_f;
	struct manifest *m;
	int archfd;
};

/* One version, opened for reading: its state record, its full content (m:
 * the base with every delta applied, verified), and the archives to read
 * (not yet verified: arc_extract does that) - the whole chain, or only the
 * deltas past a version the reader already holds. Set pub before opening
 * to require the version to be signed by it. */
struct snap_version {
	struct snap_state st;
	struct manifest *m;
	struct snap_layer layers[STATE_CHAIN_MAX + 1];	/* oldest first */
	size_t nlayers;
	bool from_delta;	/* layers start past the reader's version */
	bool m_shared;		/* m is layers[0].m (a full version); a
				 * caller may take m (set it NULL) */
	bool m_borrowed;	/* m is the reader's `have`, moved to this
				 * version in place (snap_open_since) */
	struct manifest_undo *undo;	/* with m_borrowed: one per delta */
	size_t nundo;
	const struct sign_key *pub;	/* in; NULL: signatures ignored */
	bool st_read;			/* st is state.json, read by
					 * snap_read_state(): opening the
					 * latest (version 0) checks only
					 * its copy against it */
	char st_xxh128[HASH_HEX_LEN + 1];	/* of the bytes st came from */
	char st_blake2b[STATE_B2_HEX_LEN + 1];	/* the same, with pub set
						 * (fresh_check) */
	bool drop_full_events;		/* in: a full manifest's events are
					 * not read (a reader that never
					 * needs them) */
};

#define SNAP_VERSION_INIT { .m = NULL, .nlayers = 0 }

/*
 * Reads state.json into v->st (with v->pub set, its signature first: sign.h)
 * without opening anything else: a reader's look at whether there is a new
 * version. Opening the latest afterwards (snap_open_since, version 0) uses
 * what was read here rather than reading it again. 0 or -1 with err.
 */
int snap_read_state(int rootfd, struct snap_version *v, struct snap_err *err);

/*
 * Opens version `version` of the sync root at rootfd (0: the latest, from
 * state.json). With v->pub set, the state's signature first (sign.h:
 * sign_state_read). Checks each manifest's size, XXH128 and BLAKE2b
 * against the state record in the very pass that parses it, each delta
 * against its parent, and the result against the state's artifact count.
 * 0, or -1 with err.
 */
int snap_open(int rootfd, uint64_t version, struct snap_version *v,
    struct snap_err *err);

/*
 * The same, for a reader that holds `have` (a full manifest, or NULL): when
 * have's version is on the chain of `version`, only the later deltas are
 * read (from_delta is set); otherwise the whole chain. Small deltas (the
 * usual one or two artifacts) are applied to have itself, in place, so
 * that opening costs what changed, not a copy of the tree: m is then have
 * (m_borrowed), now at `version`. Bigger ones are applied to a copy.
 */
int snap_open_since(int rootfd, uint64_t version, struct manifest *have,
    struct snap_version *v, struct snap_err *err);

/*
 * Closes v (safe on SNAP_VERSION_INIT). A borrowed m goes back to the
 * version it had before snap_open_since() - exactly, it cannot fail -
 * unless the caller took it (set v->m to NULL): then it stays at v's
 * version, and stays the caller's.
 */
void snap_close(struct snap_version *v);

/* Verifies every layer's archive in full (file and every entry). */
int snap_verify_layers(struct snap_version *v, struct snap_err *err);

/* Opens and fully verifies a version (every checksum; the signature when
 * pub is set). *st gets its state. */
int snap_verify(const char *sync_root, uint64_t version,
    const struct sign_key *pub, struct snap_state *st, struct snap_err *err);

#endif
