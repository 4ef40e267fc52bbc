/*
 * metrics.h - the secondary's counters, and what either daemon samples,
 * rendered in Prometheus text format for GET /metrics.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "histogram.h"
#include "route.h"
#include "snap_err.h"
#include "stages.h"

/* HTTP status codes we answer with, in metrics order. */
#define METRICS_CODES { 200, 201, 400, 401, 403, 404, 405, 409, 411, 413, \
    421, 500, 503 }
#define METRICS_NCODES 13

struct metrics {
	uint64_t applies;
	uint64_t apply_ms_last;
	uint64_t apply_ms_sum;
	uint64_t rejects[SNAP_E_COUNT];	/* by the refusal's code */
	struct histogram apply;		/* check start to swap */
	struct histogram lag;		/* published_at to swap */
	struct histogram stage[APPLY_STAGES];	/* each apply's breakdown
						 * (stages.h; stages_init) */
	uint64_t http[ROUTE_COUNT + 1][METRICS_NCODES + 1];	/* +1: other */
};

/* Counts one refusal, by the code its error carries (snap_err.h): the
 * library says what kind of failure it found where it found it; no
 * message is read for it. */
void metrics_count_reject(struct metrics *m, enum snap_code code);

void metrics_count_http(struct metrics *m, int route, int code);

/* Counts one swap: how long the apply took, and how long after the
 * primary's published_at (its clock, ours: skew shows here) the version
 * went live; lag_ms < 0 (a clock behind) is left out of the lag. */
void metrics_count_apply(struct metrics *m, uint64_t apply_ms, int64_t lag_ms);

/* artsync_build_info{version, commit} 1: both roles write it. */
void metrics_render_build_info(FILE *f);

/* The values metrics does not own, sampled at render time. */
struct metrics_sample {
	uint64_t applied_version;
	uint64_t latest_seen_version;
	int64_t last_sync_at;		/* unix seconds, 0 = never */
	size_t undeployed_local;
	size_t deployed_local;
	int healthy;
	int sync_root_up;
	int sync_root_verifiable;	/* state.json verified and not older */
	const char *sync_root_state;	/* ok, unverifiable, older,
					 * unreachable */
};

/* Writes the HTTP request counters (part of metrics_render()). */
void metrics_render_http(const struct metrics *m, FILE *f);

/* Writes the whole exposition into f. */
void metrics_render(const struct metrics *m, const struct metrics_sample *s,
    FILE *f);

/* A primary's own gauges, sampled at render time (its HTTP counters and
 * push's samples are rendered beside them). */
struct metrics_primary {
	uint64_t published_version;	/* latest in the sync root */
	int64_t last_publish_at;	/* unix seconds, 0 = none yet */
	int publish_failing;
	int source_watch_ok;		/* inotify covers the whole tree */
	int64_t state_expires_at;	/* unix seconds, 0 = no expiry */
	uint64_t publishes, publish_failures;
	const struct histogram *publish_time;	/* of the versions written */
	const struct histogram *stages;	/* [PUBLISH_STAGES]; NULL: none */
};

void metrics_render_primary(const struct metrics_primary *s, FILE *f);

#endif
