/*
 * metrics.h - the secondary's counters, rendered in Prometheus text format
 * for GET /metrics.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "route.h"

enum reject_reason {
	REJECT_CHECKSUM,	/* a checksum did not match */
	REJECT_TRUNCATED,	/* a file shorter or longer than recorded */
	REJECT_MALFORMED,	/* state.json, the manifest or the tar does not
				 * parse */
	REJECT_HOSTILE,		/* an archive entry that is not a plain artifact */
	REJECT_MISSING,		/* a file named by state.json is not there */
	REJECT_OLDER,		/* older than the version applied */
	REJECT_UNSIGNED,	/* public_key set, no signature file */
	REJECT_WRONG_KEY,	/* signed by another key */
	REJECT_BAD_SIGNATURE,	/* the signature does not verify */
	REJECT_BLAKE2B,		/* XXH128 matches, the signed BLAKE2b not */
	REJECT_INVALID,		/* an artifact's XML refused (as publish would) */
	REJECT_TOO_LARGE,	/* over a size limit (a compression bomb) */
	REJECT_NO_SPACE,	/* the deploy root's file system is full */
	REJECT_OTHER,
	REJECT_COUNT,
};

/* HTTP status codes we answer with, in metrics order. */
#define METRICS_CODES { 200, 201, 400, 401, 404, 405, 409, 413, 500, 503 }
#define METRICS_NCODES 10

struct metrics {
	uint64_t applies;
	uint64_t apply_ms_last;
	uint64_t apply_ms_sum;
	uint64_t rejects[REJECT_COUNT];
	uint64_t http[ROUTE_COUNT + 1][METRICS_NCODES + 1];	/* +1: other */
};

/* Sorts a refusal message (the library's wording) into a reason. Text the
 * snapshot controls - anything in single quotes, names, libxml2's account
 * of a document - cannot choose the reason (see metrics.c). */
enum reject_reason metrics_reason(const char *msg);
const char *metrics_reason_name(enum reject_reason r);

void metrics_count_http(struct metrics *m, int route, int code);

/* The values metrics does not own, sampled at render time. */
struct metrics_sample {
	uint64_t applied_version;
	uint64_t latest_seen_version;
	int64_t last_sync_at;		/* unix seconds, 0 = never */
	size_t undeployed_local;
	size_t deployed_local;
	int healthy;
	int sync_root_up;
};

/* Writes the HTTP request counters (part of metrics_render()). */
void metrics_render_http(const struct metrics *m, FILE *f);

/* Writes the whole exposition into f. */
void metrics_render(const struct metrics *m, const struct metrics_sample *s,
    FILE *f);

#endif
