/*
 * deploy.h - the deploy root: immutable releases, built at the cost of
 * what changed.
 *
 * The caller (agent.c, one thread):
 *	1. declares `struct deploy d = DEPLOY_INIT;` (safe to close unused);
 *	2. deploy_open(): the root's lock taken, what a crash left cleaned,
 *	   current loaded (d.has_current, d.current, d.current_m,
 *	   d.upstream_m), retention applied;
 *	3. deploy_build() for each version or local change: a release built,
 *	   current swapped to it, retention applied;
 *	4. deploy_close(), whatever the steps before returned.
 * Errors: each returns 0, or -1 with err filled. A failed deploy_open()
 * leaves d for deploy_close() alone. A failed deploy_build() leaves
 * current and d as they were (see deploy_build below).
 *
 * The module's files, in the order an apply uses them:
 *	deploy_open.c		open (lock, crash cleanup, current), close
 *	deploy_build.c		deploy_build(): the steps below, in order
 *	deploy_records.c	release names, releases/, the records, their
 *				caches
 *	deploy_plan.c		what to build on: deltas, the base to recycle
 *	deploy_stage.c		.staging/build filled, every file checked
 *	deploy_commit.c		records, fsync, rename, swap
 *	deploy_retain.c		retention, upstream records pruned
 * (deploy_int.h is what they share.)
 *
 * Layout:
 *	DEPLOY_ROOT/current                -> releases/v<VERSION>-r<SERIAL>
 *	DEPLOY_ROOT/releases/v42-r7/       a complete artifact tree
 *	DEPLOY_ROOT/releases/v42-r7.json   its manifest (what it holds)
 *	DEPLOY_ROOT/upstream/42.json       what upstream version 42 holds
 *	DEPLOY_ROOT/.staging/              the release being built
 *	DEPLOY_ROOT/.lock                  flock(2): one agent per deploy root
 *
 * What a release holds (its target) is upstream's manifest with this
 * gateway's local overrides applied (overrides.h). Each file it needs comes,
 * in this order, from the release being patched, from the current release,
 * from the overrides store, or from the upstream archive - every copy checked
 * against the target's XXH128 as it is written.
 *
 * Building a release, and why it is cheap:
 * A new release must be a complete directory of its own, and a directory of
 * 10,000 files cannot be made without 10,000 links. So we never make one
 * from nothing when we can avoid it: the oldest release that is about to
 * fall out of the retention window (the keep-th newest, never current) is
 * renamed out of releases/ into .staging/, and patched into the new version:
 * only artifacts whose checksum differs are written (as new inodes), only
 * removed ones are unlinked. Cost grows with the change across the last
 * `keep` versions, not with the tree. With no such release (the first few
 * applies, or recycling turned off) the release is extracted in full.
 *
 * Why readers are safe:
 * - a reader that resolves `current` gets a release that stays untouched
 *   until keep-1 further releases have been swapped in after it stopped
 *   being current: only then can it be recycled, which is the same moment
 *   plain retention would have deleted it;
 * - recycling starts by renaming the directory out of releases/, so a reader
 *   still using the old path gets ENOENT, exactly as after a deletion; it can
 *   never read a half-patched file or a file of the next version by path;
 * - the new release is fsynced (files, folders, directory) and renamed into
 *   releases/ before `current` is swapped to it in one rename.
 * A reader that keeps a directory fd open across keep-1 swaps (rare; Synapse
 * reads by path) should set recycle off.
 *
 * No symlink below the deploy root is followed (beneath.h): releases/,
 * upstream/, .staging/ and .lock are opened without following one, and a
 * symlink in their place refuses the start or the apply, naming it; the
 * build's folders are written through fds opened the same way
 * (folders.h). A release about to be recycled that is not a directory of
 * ours (a symlink, or a symlink as one of its type folders) is not
 * patched: it is removed - a link itself, never what it points at - and
 * the release built in full (apply_stats.refused says so).
 *
 * Crash safety: the release's .json is written (atomically) before its
 * directory is renamed into releases/, and current only ever points at a
 * renamed, complete release. At start, .staging/ (refused when a symlink)
 * and current.tmp are removed, as are directories without a .json, .json
 * files without a directory and temp files in releases/ and upstream/,
 * and retention runs (a crash between a swap and its retention left one
 * release too many); the release current points at is never touched.
 */
#ifndef DEPLOY_H
#define DEPLOY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "snap.h"
#include "snap_err.h"
#include "xmlpool.h"

#define RELEASE_NAME_MAX 48
#define RELEASE_KEEP_MIN 2

struct release {
	uint64_t version;
	uint64_t serial;
	char name[RELEASE_NAME_MAX];	/* "v42-r7" */
};

/*
 * What kept releases hold, kept in memory after they stop being current so
 * that recycling one does not parse its record: up to RELEASE_CACHE_MAX
 * releases and RELEASE_CACHE_ENTRIES artifacts in all (~130 bytes each).
 * A bigger tree reads the record instead. Records never change once
 * written, so a cached copy cannot go stale.
 */
/*
 * Records (upstream/<V>.json, releases/<name>.json) are manifests. A
 * version applied on top of the applied one is recorded as the delta
 * between them (kind "delta", parent_version P: the difference from
 * upstream/<P>.json): the deltas as they came from the sync root, or the
 * one computed in memory for a full version. So an apply writes what
 * changed, not the tree, and recycling walks the delta records. Every
 * RECORD_CHAIN_MAX deltas a full record is written beside the delta one
 * (upstream/<V>.full.json), where reading a chain stops. A release's
 * record is a hard link to its upstream record when it holds exactly that
 * version, else a full manifest of what it holds.
 */
#define RECORD_CHAIN_MAX 64

#define RELEASE_CACHE_MAX 8
#define RELEASE_CACHE_ENTRIES 60000

struct release_cached {
	char name[RELEASE_NAME_MAX];
	struct manifest *m;		/* owned; NULL: free slot */
};

/*
 * What the header of upstream record <version>.json says of its parent (0:
 * a full record), so that pruning, which walks every kept release's chain
 * after each apply, reads no record twice. Direct-mapped by version; a
 * slot is cleared whenever its record is written or removed.
 */
#define PARENT_CACHE_MAX 256

struct parent_cached {
	uint64_t version;		/* 0: free slot */
	uint64_t parent;
};

struct deploy {
	char path[PATH_MAX];		/* as given, for messages */
	int rootfd;
	int lockfd;			/* flock: one agent per deploy root */
	int relfd;			/* releases/ */
	int upfd;			/* upstream/ */
	unsigned keep;			/* releases retained, >= 2 */
	bool recycle;
	bool has_current;
	struct release current;
	struct manifest *current_m;	/* what current holds; owned (may be
					 * upstream_m itself) */
	struct manifest *upstream_m;	/* its upstream version's; owned, may
					 * be NULL if the record is missing */
	uint64_t upstream_version;	/* the version upstream_m's record
					 * holds (0: none). During an apply
					 * upstream_m may already be the next
					 * one: changed in place by
					 * snap_open_since(), put back if the
					 * apply fails */
	unsigned upstream_depth;	/* deltas under upstream_m's record */
	struct release_cached cache[RELEASE_CACHE_MAX];
	struct parent_cached parents[PARENT_CACHE_MAX];
};

#define DEPLOY_INIT { .rootfd = -1, .lockfd = -1, .relfd = -1, .upfd = -1 }

struct apply_stats {
	bool recycled;			/* patched a retired release */
	char base[RELEASE_NAME_MAX];	/* which one */
	size_t written;			/* artifact files written */
	size_t removed;			/* artifact files unlinked */
	uint64_t bytes;
	bool missing_source;		/* failed: a file only upstream has */
	char refused[320];		/* "": none; else the release that was
					 * not recycled (not a directory of
					 * ours, so removed), and why */
	/* When the spans of the steps ended, for an apply's stage breakdown
	 * (stages.h): CLOCK_MONOTONIC us (fsu_mono_us), 0 if not reached. */
	int64_t checked_us;		/* step 1: the archives checked */
	int64_t staged_us;		/* steps 2-7: the build and its records
					 * written, not yet synced */
	int64_t durable_us;		/* step 7: synced, renamed into
					 * releases/, that synced */
	int64_t swapped_us;		/* step 7: current swapped, synced */
};

/* What to build. deploy_build() takes ownership of target and upstream on
 * success (and sets the pointers to NULL); on failure they stay the
 * caller's. upstream may be d->upstream_m itself (a local change), and
 * target may be upstream itself (nothing filtered or overridden: the
 * common case, one manifest in memory instead of two); d->current_m and
 * d->upstream_m are then the same object. */
struct build_plan {
	struct manifest *target;	/* what the release must hold */
	struct manifest *upstream;	/* the upstream version it is based on */
	struct snap_version *v;		/* upstream's archive, or NULL */
	int localfd;			/* overrides store, or -1 */
	struct xmlpool *checks;		/* validates every artifact taken from
					 * the archive, as publish does; NULL:
					 * checksums only */
};

/*
 * Opens (creating if needed) the deploy root at path, takes its lock (a
 * second agent on the same root is refused), cleans what a crash may have
 * left, and loads the current release, if any. 0 or -1.
 */
int deploy_open(struct deploy *d, const char *path, unsigned keep,
    bool recycle, struct snap_err *err);
void deploy_close(struct deploy *d);	/* safe on DEPLOY_INIT */

/*
 * Builds a release holding p->target, swaps current to it and applies
 * retention. When p->v is given its archive is verified in full (file and
 * every entry) even where no file is taken from it, and every artifact
 * taken from it is validated by p->checks before the build is used: a
 * writer on the share who gets the checksums right still cannot deploy
 * what publish would have refused.
 *
 * The steps (the code carries the same numbers):
 *	1. every archive of p->v checked whole: a bad file must not cost the
 *	   release that would be patched;
 *	2. .staging opened afresh (a symlink there is refused), a build a
 *	   failure left in it removed;
 *	3. releases/ listed, the next serial chosen;
 *	4. the deltas from the applied upstream version to p->upstream
 *	   (deploy_plan.c);
 *	5. the base: the keep-th newest release, unless current, renamed
 *	   into .staging/build and its record removed - or none, or, when not
 *	   a directory of ours, removed (deploy_plan.c);
 *	6. .staging/build filled: the base patched, or all written new; from
 *	   the archive, then from local verified copies; the XML verdict
 *	   taken (deploy_stage.c);
 *	7. the records written with the build's batch, all of it made
 *	   durable, the build renamed into releases/, current swapped to it
 *	   (deploy_commit.c);
 *	8. d takes p->target and p->upstream; the old current's record goes
 *	   to the cache (deploy_commit.c);
 *	9. retention (deploy_retain.c).
 * On a failure current is untouched and .staging/build is removed - with
 * the base it held, a release retention was about to remove anyway; a
 * release renamed into releases/ whose swap then failed stays until
 * retention. st->missing_source says the failure was a file that only the
 * upstream archive could provide. 0 or -1 with err.
 */
int deploy_build(struct deploy *d, struct build_plan *p,
    struct apply_stats *st, struct snap_err *err);

/* Parses "v<V>-r<S>" (exactly as release names are printed). */
bool release_parse_name(const char *s, struct release *r);

#endif
