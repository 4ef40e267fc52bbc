/*
 * histogram.h - a Prometheus histogram of durations, in fixed buckets.
 *
 * Calling sequence:
 *
 *	struct histogram h = HISTOGRAM_INIT;	(zeroed: no observation)
 *	histogram_observe_ms(&h, ms);		(any number of times)
 *	histogram_render(&h, f, "artsync_apply_seconds", "help text");
 *
 * or, for one of a family that shares a name and differs by a label
 * (artsync_apply_stage_seconds{stage="read"}):
 *
 *	histogram_render_head(f, name, help);	(once)
 *	histogram_render_series(&h[i], f, name, "stage=\"read\"");
 *
 * Two bucket sets (scales): HISTOGRAM_MS spans 5 ms to 5 min, which covers
 * both a one-artifact swap and a full publish of 100,000 artifacts; a
 * zeroed histogram has it. HISTOGRAM_US (HISTOGRAM_INIT_US) spans 0.1 ms
 * to 5 s, for the stages of one apply or publish, most of which take well
 * under a millisecond. Either way le="+Inf" catches the rest, and the sum
 * is kept in microseconds. Nothing allocates; nothing fails.
 */
#ifndef HISTOGRAM_H
#define HISTOGRAM_H

#include <stdint.h>
#include <stdio.h>

enum histogram_scale {
	HISTOGRAM_MS,		/* 5 ms ... 300 s, 14 bounds */
	HISTOGRAM_US,		/* 0.1 ms ... 5 s, 15 bounds */
};

#define HISTOGRAM_NBOUNDS 15	/* the most bounds a scale has */

struct histogram {
	enum histogram_scale scale;
	uint64_t le[HISTOGRAM_NBOUNDS];	/* observations <= bound, each bound */
	uint64_t count;
	uint64_t sum_us;
};

#define HISTOGRAM_INIT { HISTOGRAM_MS, { 0 }, 0, 0 }
#define HISTOGRAM_INIT_US { HISTOGRAM_US, { 0 }, 0, 0 }

/* Counts one duration, in milliseconds or in microseconds. */
void histogram_observe_ms(struct histogram *h, uint64_t ms);
void histogram_observe_us(struct histogram *h, uint64_t us);

/* Writes HELP, TYPE, the cumulative buckets, _sum (seconds) and _count. */
void histogram_render(const struct histogram *h, FILE *f, const char *name,
    const char *help);

/* HELP and TYPE alone; then each series with its labels (`stage="read"`,
 * put before le; NULL: none). */
void histogram_render_head(FILE *f, const char *name, const char *help);
void histogram_render_series(const struct histogram *h, FILE *f,
    const char *name, const char *labels);

#endif
