/*
 * snap_int.h - what the snap_*.c files share; not an API (snap.h is).
 *
 * A publish runs through the files in the order of its steps (snap.h,
 * "Publishing"): snap_root.c opens, locks and numbers (steps 1-3),
 * snap_tree.c reads the source tree (4), snap_publish.c decides (5-6),
 * snap_write.c writes and commits (7-11), snap_prune.c keeps what
 * retention keeps (12). snap_changes.c is the same run over only the
 * paths that changed, snap_rollback.c over an older version; snap_open.c
 * is the reader's side.
 *
 * Every function here returns 0 or -1 with err, unless it says otherwise,
 * and leaves what it opened in the publisher, for snap_root_close().
 */
#ifndef SNAP_INT_H
#define SNAP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "batch.h"
#include "snap.h"

/* One publish (or check, or base copy) in progress: the sync root
 * opened and locked, the latest version, the number being written and
 * the files written so far. SNAP_PUBLISHER_INIT makes it safe to give
 * snap_root_close() whatever happened. */
struct publisher {
	int rootfd;
	int snapfd;
	int lockfd;
	const struct snap_publish_opts *o;
	struct snap_version prev;	/* latest published, if any */
	bool have_prev;
	bool repaired;			/* the latest was unreadable */
	char repair_reason[sizeof(((struct snap_err *)0)->msg)];
	uint64_t version;
	uint64_t base;			/* its base, once committed */
	int64_t now;
	char *buf;			/* reused file buffer */
	struct batch files;		/* the version's files, written but not
					 * yet synced (snap_commit_state) */
	struct snap_seen state_seen;	/* the state.json it wrote, once */
	bool wrote_state;		/* renamed and synced */
	bool via_temps;			/* write snapshot files under temp
					 * names (open_version_file) */
};

/* A version file's name in snapshots/ (its fd), from its name below the
 * sync root: every one is "snapshots/<V>.<suffix>" (state.h; a state
 * record that names another file is refused when read). */
static inline const char *
in_snapshots(const char *name)
{
	return name + strlen("snapshots/");
}

#define SNAP_PUBLISHER_INIT(opts) { .rootfd = -1, .snapfd = -1, \
	.lockfd = -1, .o = (opts), .prev = SNAP_VERSION_INIT }

/* --- snap_open.c --- */

/* Every layer of v, oldest first, through arc_extract() into destfd (-1:
 * verify only); a later layer's copy of a file replaces an earlier one. */
int snap_extract_layers(struct snap_version *v, int destfd,
    struct snap_err *err);

/* --- snap_root.c: the sync root, its lock, its version numbers --- */

/* Steps 1-3 of a publish: the sync root opened and locked (created if
 * missing), the latest version opened (p->prev) or found unreadable
 * (p->repaired), and p->version set to the number to publish. */
int snap_root_open(struct publisher *p, const char *sync_root,
    struct snap_err *err);
/* Step 1 alone: the sync root and its snapshots/, created if missing,
 * and the publish lock. */
int snap_root_open_locked(struct publisher *p, const char *sync_root,
    struct snap_err *err);
/* Step 3 alone: from p->version to the next number no file uses. */
int snap_next_version(struct publisher *p, const char *sync_root,
    struct snap_err *err);
/* Whether no file of `version` is in snapshots/ (snapfd). */
bool snap_version_unused(int snapfd, uint64_t version);
/* The highest verifiable state copy's version above `above`, else above. */
uint64_t snap_highest_verified(struct publisher *p, uint64_t above);
/* After a failed publish: removes the files of p->version, unless
 * state.json names it already. Cannot fail. */
void snap_discard_version(struct publisher *p);
/* Closes whatever p holds (the lock last but one); safe on
 * SNAP_PUBLISHER_INIT. */
void snap_root_close(struct publisher *p);

/* --- snap_tree.c: the source tree, read and checked --- */

/* Reads TYPE/NAME.xml below srcfd into p->buf; *len its size. */
int snap_read_artifact(struct publisher *p, int srcfd, const char *label,
    const struct manifest_entry *e, size_t *len, struct snap_err *err);
/* Validates the artifact in p->buf and sets e's identity; a problem goes
 * to rep, -1 only when out of memory. */
int snap_check_artifact(struct publisher *p, const char *label,
    struct manifest_entry *e, size_t len, struct report *rep,
    struct snap_err *err);
/* Step 4: the tree at srcfd scanned, labelled, hashed and validated into
 * cur; -1 with every problem in rep. */
int snap_read_tree(struct publisher *p, int srcfd, const char *label,
    struct manifest *cur, struct report *rep, struct snap_err *err);

/* --- snap_write.c: a version's files, and the commit --- */

/* Whether the next version is a delta: a readable parent, room in the
 * chain, at most half of `total` artifacts `changed`. */
bool snap_is_delta(const struct publisher *p, size_t changed, size_t total);
/* Steps 7-8 for a delta d on p->prev: its archive and manifest; st gets
 * the chain with d on top. */
int snap_write_delta(struct publisher *p, int srcfd, const char *label,
    const struct manifest *d, struct snap_state *st, struct snap_err *err);
/* Steps 7-8 for full manifest cur of `version`: <V>.tar.zst and
 * <V>.manifest.json, recorded in af and mf. */
int snap_write_full_files(struct publisher *p, int srcfd, const char *label,
    const struct manifest *cur, uint64_t version, struct state_file *mf,
    struct state_file *af, struct snap_err *err);
/* Steps 9-11: the state copy, its signature, state.json; every file
 * synced, state.json renamed last. */
int snap_commit_state(struct publisher *p, struct snap_state *st,
    uint64_t parent, uint64_t artifact_count, struct snap_err *err);
/* Notes when a span of the steps ended, if the caller times them. */
void snap_mark(const struct publisher *p, enum snap_mark which);
/* Steps 7-11 for cur, full or delta as snap_is_delta() says. */
int snap_commit_version(struct publisher *p, int srcfd, const char *label,
    struct manifest *cur, struct snap_state *st, struct snap_err *err);
/* What identifies a file's content without reading it (struct snap_seen). */
void snap_seen_of(const char *name, const struct stat *st,
    struct snap_seen *out);

/* --- snap_publish.c: the whole-tree publish --- */

int snap_check_ids(const struct snap_publish_opts *o, struct snap_err *err);
/* Keeps the state p just committed, st, in memo (NULL: nothing). */
void snap_remember_state(struct snap_memo *memo, const struct publisher *p,
    const struct snap_state *st);
/* Step 12, and the results: *result, *version, err's note on a repair. */
void snap_finish_publish(struct publisher *p,
    enum snap_publish_result *result, uint64_t *version,
    struct snap_err *err);
/* snap_publish() that fills memo (NULL: none) for snap_publish_changes. */
int snap_publish_full(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, struct snap_memo *memo,
    enum snap_publish_result *result, uint64_t *version,
    struct snap_err *err);

#endif
