/*
 * histogram.c - duration histograms for /metrics (see histogram.h).
 *
 * Buckets are kept cumulative at observation time (each bound counts what
 * is at or below it), which is what the exposition format wants, so
 * rendering is a straight copy. Bounds and sums are microseconds whatever
 * the scale: one code path, and a millisecond histogram loses nothing.
 */
#include <inttypes.h>

#include "histogram.h"

struct scale {
	size_t n;
	uint64_t bounds_us[HISTOGRAM_NBOUNDS];
};

static const struct scale scales[] = {
	[HISTOGRAM_MS] = { 14, { 5000, 10000, 25000, 50000, 100000, 250000,
	    500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
	    300000000 } },
	[HISTOGRAM_US] = { 15, { 100, 250, 500, 1000, 2500, 5000, 10000,
	    25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
	    5000000 } },
};

/* An unknown scale (memory gone wrong) is read as the default's. */
static const struct scale *
scale_of(const struct histogram *h)
{
	return (unsigned)h->scale < sizeof(scales) / sizeof(scales[0]) ?
	    &scales[h->scale] : &scales[HISTOGRAM_MS];
}

void
histogram_observe_us(struct histogram *h, uint64_t us)
{
	const struct scale *s = scale_of(h);
	size_t i;

	for (i = 0; i < s->n; i++)
		if (us <= s->bounds_us[i])
			h->le[i]++;
	h->count++;
	h->sum_us += us;
}

void
histogram_observe_ms(struct histogram *h, uint64_t ms)
{
	histogram_observe_us(h, ms * 1000);
}

/* Microseconds as Prometheus wants seconds, shortest: "0.0001", "0.005",
 * "2.5", "300", "12.345". */
static void
put_seconds(FILE *f, uint64_t us)
{
	char frac[7];
	int n;

	fprintf(f, "%" PRIu64, us / 1000000);
	if (us % 1000000 == 0)
		return;
	snprintf(frac, sizeof(frac), "%06u", (unsigned)(us % 1000000));
	for (n = 6; frac[n - 1] == '0'; n--)
		;
	fprintf(f, ".%.*s", n, frac);
}

void
histogram_render_head(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
}

void
histogram_render_series(const struct histogram *h, FILE *f, const char *name,
    const char *labels)
{
	const struct scale *s = scale_of(h);
	const char *sep;
	size_t i;

	if (labels == NULL)
		labels = "";
	sep = labels[0] != '\0' ? "," : "";
	for (i = 0; i < s->n; i++) {
		fprintf(f, "%s_bucket{%s%sle=\"", name, labels, sep);
		put_seconds(f, s->bounds_us[i]);
		fprintf(f, "\"} %" PRIu64 "\n", h->le[i]);
	}
	fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, labels,
	    sep, h->count);
	if (labels[0] != '\0')
		fprintf(f, "%s_sum{%s} ", name, labels);
	else
		fprintf(f, "%s_sum ", name);
	put_seconds(f, h->sum_us);
	if (labels[0] != '\0')
		fprintf(f, "\n%s_count{%s} %" PRIu64 "\n", name, labels,
		    h->count);
	else
		fprintf(f, "\n%s_count %" PRIu64 "\n", name, h->count);
}

void
histogram_render(const struct histogram *h, FILE *f, const char *name,
    const char *help)
{
	histogram_render_head(f, name, help);
	histogram_render_series(h, f, name, NULL);
}
