/*
 * stages.h - where the time of one apply (secondary) or one publish
 * (primary) went, stage by stage: what the artsync_apply_stage_seconds and
 * artsync_publish_stage_seconds histograms count, and what each daemon
 * says at debug level after each version ("apply stages (ms): notice 0.412
 * read 0.630 ...", which scripts/bench reads).
 *
 * Calling sequence (the secondary's; the primary's is the same with
 * PUBLISH_STAGES and stages_of_publish()):
 *
 *	struct histogram h[APPLY_STAGES];
 *	stages_init(h, APPLY_STAGES);			(once)
 *	int64_t us[APPLY_STAGES];
 *	stages_of_apply(notice_us, check_us, &st, us);	(after each swap)
 *	stages_observe(h, us, APPLY_STAGES);
 *	stages_format(apply_stage_names, us, APPLY_STAGES, line, sizeof(line));
 *	stages_render(h, apply_stage_names, APPLY_STAGES, f, name, help);
 *
 * The boundaries are the code's own steps (deploy.h's and snap.h's), timed
 * on CLOCK_MONOTONIC (fsu_mono_us) where they end; only a secondary's
 * notice crosses hosts (see stages_of_apply). A stage that could not be
 * timed is STAGE_UNTIMED: neither counted nor given a figure. total is
 * from the first instant known (the change noticed) to the commit, so
 * the other stages add up to it. Nothing allocates; nothing fails.
 */
#ifndef STAGES_H
#define STAGES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "deploy.h"
#include "histogram.h"
#include "snap.h"

#define STAGE_UNTIMED (-1)

enum apply_stage {
	APPLY_NOTICE,	/* state.json renamed in (its ctime, the primary's
			 * clock) -> this check began: inotify and the loop */
	APPLY_READ,	/* state, manifests or deltas read and verified, the
			 * archives checked (deploy step 1) */
	APPLY_BUILD,	/* the release staged: files written or recycled and
			 * checked, its records written (steps 2-7) */
	APPLY_FSYNC,	/* the release made durable: one batch sync, its
			 * folders, renamed into releases/, that synced */
	APPLY_SWAP,	/* current renamed, the deploy root synced */
	APPLY_TOTAL,	/* notice to swap */
	APPLY_STAGES,
};

enum publish_stage {
	PUBLISH_NOTICE,	/* the first change seen (inotify, a poll) -> the
			 * publish began: quiet_ms and the loop */
	PUBLISH_READ,	/* lock, the latest read, the changes (or the tree)
			 * read and validated, diffed (snap.h steps 1-6) */
	PUBLISH_WRITE,	/* archive, manifest, state copies written (7-9) */
	PUBLISH_FSYNC,	/* one batch sync, snapshots/ synced (step 10) */
	PUBLISH_STATE,	/* state.json renamed, the root synced (step 11) */
	PUBLISH_TOTAL,	/* notice to commit */
	PUBLISH_STAGES,
};

extern const char *const apply_stage_names[APPLY_STAGES];
extern const char *const publish_stage_names[PUBLISH_STAGES];

/* Each of h[0..n) empty, on the sub-millisecond scale (HISTOGRAM_US). */
void stages_init(struct histogram *h, size_t n);

/*
 * An apply's stages into us[APPLY_STAGES]. notice_us: from state.json's
 * ctime to the check's start, both wall clocks (negative: the primary's
 * clock ahead of ours; untimed); check_us: the check's start (fsu_mono_us); st: deploy_build()'s
 * marks.
 */
void stages_of_apply(int64_t notice_us, int64_t check_us,
    const struct apply_stats *st, int64_t us[APPLY_STAGES]);

/* A publish's stages into us[PUBLISH_STAGES]. noticed_us: when the first
 * change was seen (fsu_mono_us; 0: none was, at start or SIGHUP; a
 * retry keeps the first's); start_us: the publish's start. */
void stages_of_publish(int64_t noticed_us, int64_t start_us,
    const struct snap_marks *mk, int64_t us[PUBLISH_STAGES]);

/* Counts each timed stage in its histogram. */
void stages_observe(struct histogram *h, const int64_t *us, size_t n);

/* "notice 0.412 read 0.630 ... total 6.201" (milliseconds; "-" for an
 * untimed stage) into buf, always NUL-terminated. */
void stages_format(const char *const *names, const int64_t *us, size_t n,
    char *buf, size_t len);

/* One histogram family, name{stage="..."} per stage. */
void stages_render(const struct histogram *h, const char *const *names,
    size_t n, FILE *f, const char *name, const char *help);

#endif
