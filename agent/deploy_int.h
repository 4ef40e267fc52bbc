/*
 * deploy_int.h - what the files of the deploy module share, and no one
 * else (deploy.h is the module's face): the build in .staging, what a
 * recycled release must change, and each file's functions, in the order
 * of deploy_build()'s steps. Every function returns as the module does:
 * 0, or -1 with err; none logs.
 */
#ifndef DEPLOY_INT_H
#define DEPLOY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "deploy.h"
#include "folders.h"
#include "manifest.h"
#include "names.h"
#include "snap_err.h"

#define STAGING ".staging"
#define BUILD "build"		/* in STAGING */

/*
 * A build written but not yet durable: its files, the folders whose
 * entries changed. commit_release() syncs it in one batch with the
 * release's records.
 */
struct staged {
	int top;			/* .staging */
	int fd;				/* .staging/build */
	struct folders dirs;		/* its type folders */
	struct batch files;		/* each file written, or (big builds)
					 * syncfs of the whole file system */
	bool touched[ARTIFACT_TYPES_MAX];
	uint32_t folders;		/* the type folders it holds */
	bool made;			/* folders were made or removed in it,
					 * or files at its top changed */
};

struct key {
	int type;
	const char *name;		/* into one of the keyset's records */
};

/*
 * The artifacts that may differ between a retired release and the target,
 * when both hold exactly an upstream version and the versions between them
 * are known as deltas: what those deltas name, changed or removed. Then
 * recycling costs what changed, not the tree.
 */
struct keyset {
	bool valid;
	struct manifest *recs[RECORD_CHAIN_MAX];	/* delta records read */
	size_t nrecs;
	struct key *k;
	size_t n;
};

/* --- deploy_records.c: release names, releases/, records, caches --- */

void release_make(struct release *r, uint64_t version, uint64_t serial);
/* The release directories under releases/, oldest first; *out is the
 * caller's to free. */
int release_list(struct deploy *d, struct release **out, size_t *n,
    struct snap_err *err);
bool release_is_current(const struct deploy *d, const char *name);
/* Removes release `name` from releases/, its record first (never fails:
 * what is left is a leftover the next start removes). */
void release_drop(struct deploy *d, const char *name);

/* Upstream record names: "<V>.json", and the full record beside a delta
 * one, "<V>.full.json"; the one of the two to read. */
void record_upstream_name(uint64_t version, char *out, size_t len);
void record_full_name(uint64_t version, char *out, size_t len);
bool record_has_full(const struct deploy *d, uint64_t version);
void record_readable_name(const struct deploy *d, uint64_t version,
    char *out, size_t len);
/* One record file as it is (a delta stays a delta); NULL with err. */
struct manifest *record_read_one(int dirfd, const char *file,
    struct snap_err *err);
/* Record `file` in dirfd, its deltas applied down to a full record;
 * *depth (when not NULL) gets their number. NULL with err. */
struct manifest *record_read(struct deploy *d, int dirfd, const char *file,
    unsigned *depth, struct snap_err *err);
/* What release `name` holds (releases/<name>.json). NULL with err. */
struct manifest *record_read_release(struct deploy *d, const char *name,
    struct snap_err *err);
/* Writes m as record `name` in dirfd: a temp of batch (renamed when the
 * batch is sealed), or on its own (temp, fsync, rename) without one. */
int record_write(int dirfd, const char *name, const struct manifest *m,
    struct batch *batch, struct snap_err *err);
/* The parent of upstream record `version` (0: a full record), cached;
 * -1 when its header cannot be read. Forgotten whenever the record is
 * written or removed. */
int record_parent(struct deploy *d, uint64_t version, uint64_t *parent);
void record_forget_parent(struct deploy *d, uint64_t version);
/* The record cache (deploy.h): put takes m over, take hands the cached
 * record of `name` to the caller (NULL: none), drop frees `name`'s (NULL:
 * all). */
void record_cache_put(struct deploy *d, const char *name, struct manifest *m);
struct manifest *record_cache_take(struct deploy *d, const char *name);
void record_cache_drop(struct deploy *d, const char *name);

/* --- deploy_plan.c: what to build on (steps 4 and 5) --- */

/* The deltas from the applied upstream version to p->upstream, oldest
 * first, into out (STATE_CHAIN_MAX + 1 slots); one computed here is put
 * in *own for the caller to free. 0 when there are none. */
size_t plan_deltas(const struct deploy *d, const struct build_plan *p,
    const struct manifest **out, struct manifest **own);
/* The release to recycle (list: releases/, oldest first), renamed into
 * .staging/build, its record removed, st->recycled and st->base set: what
 * it must change in ks (valid) or as its record in *bm; neither when
 * there is none to recycle. -1 with err only when the rename failed. */
int plan_base(struct deploy *d, const struct release *list, size_t n,
    const struct build_plan *p, const struct manifest *const *deltas,
    size_t ndeltas, struct staged *s, struct manifest **bm,
    struct keyset *ks, struct apply_stats *st, struct snap_err *err);
void keyset_free(struct keyset *ks);

/* --- deploy_stage.c: .staging/build filled (step 6) --- */

/* Fills .staging/build (s->fd) with p->target, written but not synced.
 * It is the recycled release when base (its record) or ks (what it must
 * change) is given, else made new. */
int stage_fill(struct deploy *d, struct build_plan *p,
    const struct manifest *base, const struct keyset *ks, struct staged *s,
    struct apply_stats *st, struct snap_err *err);

/* --- deploy_commit.c: durable, renamed, swapped (steps 7 and 8) --- */

/* Writes the records, seals the build, renames it into releases/ as r
 * and swaps current to it. *depth gets the new upstream record's. */
int commit_release(struct deploy *d, const struct release *r,
    const struct build_plan *p, struct staged *s,
    const struct manifest *const *deltas, size_t ndeltas, unsigned *depth,
    struct apply_stats *st, struct snap_err *err);
/* current_m and upstream_m become target and upstream (never fails). */
void commit_manifests(struct deploy *d, struct manifest *target,
    struct manifest *upstream);

/* --- deploy_retain.c: retention (step 9, and at open) --- */

/* Keeps the newest `keep` releases (and current, whatever its age), and
 * the upstream records they need. Never fails: what cannot be removed
 * now is tried again at the next apply. */
void retain_apply(struct deploy *d);

#endif
