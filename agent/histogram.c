/*
 * histogram.c - duration histograms for /metrics (see histogram.h).
 *
 * Buckets are kept cumulative at observation time (each bound counts what
 * is at or below it), which is what the exposition format wants, so
 * rendering is a straight copy.
 */
#include <inttypes.h>

#include "histogram.h"

static const uint64_t bounds_ms[HISTOGRAM_NBOUNDS] = HISTOGRAM_BOUNDS_MS;

void
histogram_observe_ms(struct histogram *h, uint64_t ms)
{
	size_t i;

	for (i = 0; i < HISTOGRAM_NBOUNDS; i++)
		if (ms <= bounds_ms[i])
			h->le[i]++;
	h->count++;
	h->sum_ms += ms;
}

/* Milliseconds as Prometheus wants seconds, shortest: "0.005", "0.01",
 * "2.5", "300", "12.345". */
static void
put_seconds(FILE *f, uint64_t ms)
{
	char frac[4];
	int n;

	fprintf(f, "%" PRIu64, ms / 1000);
	if (ms % 1000 == 0)
		return;
	snprintf(frac, sizeof(frac), "%03u", (unsigned)(ms % 1000));
	for (n = 3; frac[n - 1] == '0'; n--)
		;
	fprintf(f, ".%.*s", n, frac);
}

void
histogram_render(const struct histogram *h, FILE *f, const char *name,
    const char *help)
{
	size_t i;

	fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (i = 0; i < HISTOGRAM_NBOUNDS; i++) {
		fprintf(f, "%s_bucket{le=\"", name);
		put_seconds(f, bounds_ms[i]);
		fprintf(f, "\"} %" PRIu64 "\n", h->le[i]);
	}
	fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum ", name,
	    h->count, name);
	put_seconds(f, h->sum_ms);
	fprintf(f, "\n%s_count %" PRIu64 "\n", name, h->count);
}
