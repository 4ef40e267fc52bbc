/*
 * histogram.h - a Prometheus histogram of durations, in fixed buckets.
 *
 * Calling sequence:
 *
 *	struct histogram h = HISTOGRAM_INIT;	(zeroed: no observation)
 *	histogram_observe_ms(&h, ms);		(any number of times)
 *	histogram_render(&h, f, "artsync_apply_seconds", "help text");
 *
 * The buckets (HISTOGRAM_BOUNDS_MS) span 5 ms to 5 min, which covers both
 * a one-artifact swap and a full publish of 100,000 artifacts; le="+Inf"
 * catches the rest. Nothing allocates; nothing fails.
 */
#ifndef HISTOGRAM_H
#define HISTOGRAM_H

#include <stdint.h>
#include <stdio.h>

#define HISTOGRAM_BOUNDS_MS \
	{ 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, \
	  60000, 300000 }
#define HISTOGRAM_NBOUNDS 14

struct histogram {
	uint64_t le[HISTOGRAM_NBOUNDS];	/* observations <= bound, each bound */
	uint64_t count;
	uint64_t sum_ms;
};

#define HISTOGRAM_INIT { { 0 }, 0, 0 }

/* Counts one duration, in milliseconds. */
void histogram_observe_ms(struct histogram *h, uint64_t ms);

/* Writes HELP, TYPE, the cumulative buckets, _sum (seconds) and _count. */
void histogram_render(const struct histogram *h, FILE *f, const char *name,
    const char *help);

#endif
