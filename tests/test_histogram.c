/*
 * test_histogram.c - unit tests of agent/histogram.c: cumulative buckets,
 * the bounds themselves inclusive, and the exposition's lines and units,
 * on both scales (milliseconds; microseconds, for stages), with and
 * without labels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "histogram.h"
#include "metrics.h"

static char *
render(const struct histogram *h)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	histogram_render(h, f, "x_seconds", "Help.");
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void
test_buckets_cumulative(void **state)
{
	struct histogram h = HISTOGRAM_INIT;
	char *text;

	(void)state;
	histogram_observe_ms(&h, 0);
	histogram_observe_ms(&h, 5);		/* on a bound: counted there */
	histogram_observe_ms(&h, 6);
	histogram_observe_ms(&h, 1500);
	histogram_observe_ms(&h, 400000);	/* above every bound */
	text = render(&h);
	assert_non_null(strstr(text, "# HELP x_seconds Help.\n"
	    "# TYPE x_seconds histogram\n"
	    "x_seconds_bucket{le=\"0.005\"} 2\n"
	    "x_seconds_bucket{le=\"0.01\"} 3\n"));
	assert_non_null(strstr(text, "x_seconds_bucket{le=\"1\"} 3\n"
	    "x_seconds_bucket{le=\"2.5\"} 4\n"));
	assert_non_null(strstr(text, "x_seconds_bucket{le=\"300\"} 4\n"
	    "x_seconds_bucket{le=\"+Inf\"} 5\n"
	    "x_seconds_sum 401.511\n"
	    "x_seconds_count 5\n"));
	free(text);
}

static void
test_empty(void **state)
{
	struct histogram h = HISTOGRAM_INIT;
	char *text;

	(void)state;
	text = render(&h);
	assert_non_null(strstr(text, "x_seconds_bucket{le=\"+Inf\"} 0\n"
	    "x_seconds_sum 0\nx_seconds_count 0\n"));
	free(text);
}

/* An apply feeds both histograms; a negative lag (the primary's clock
 * ahead of ours) is left out of the lag, not counted as 0. */
static void
test_apply_and_lag(void **state)
{
	struct metrics m;

	(void)state;
	memset(&m, 0, sizeof(m));
	metrics_count_apply(&m, 12, 800);
	metrics_count_apply(&m, 30, -5);
	assert_int_equal(m.applies, 2);
	assert_int_equal(m.apply_ms_last, 30);
	assert_int_equal(m.apply_ms_sum, 42);
	assert_int_equal(m.apply.count, 2);
	assert_int_equal(m.lag.count, 1);
	assert_int_equal(m.lag.sum_us, 800000);
}

/* The sub-millisecond scale: 0.1 ms is its first bound, sums keep their
 * microseconds, and le="5" is its last before +Inf. */
static void
test_microseconds(void **state)
{
	struct histogram h = HISTOGRAM_INIT_US;
	char *text;

	(void)state;
	histogram_observe_us(&h, 0);
	histogram_observe_us(&h, 100);		/* on the first bound */
	histogram_observe_us(&h, 101);
	histogram_observe_us(&h, 2499);
	histogram_observe_ms(&h, 6000);		/* above every bound */
	text = render(&h);
	assert_non_null(strstr(text, "x_seconds_bucket{le=\"0.0001\"} 2\n"
	    "x_seconds_bucket{le=\"0.00025\"} 3\n"
	    "x_seconds_bucket{le=\"0.0005\"} 3\n"
	    "x_seconds_bucket{le=\"0.001\"} 3\n"
	    "x_seconds_bucket{le=\"0.0025\"} 4\n"));
	assert_non_null(strstr(text, "x_seconds_bucket{le=\"2.5\"} 4\n"
	    "x_seconds_bucket{le=\"5\"} 4\n"
	    "x_seconds_bucket{le=\"+Inf\"} 5\n"
	    "x_seconds_sum 6.0027\n"
	    "x_seconds_count 5\n"));
	assert_null(strstr(text, "le=\"300\""));
	free(text);
}

/* A family: one HELP and TYPE, then each series with its label before
 * le, and on _sum and _count. */
static void
test_labeled(void **state)
{
	struct histogram h = HISTOGRAM_INIT_US;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	histogram_observe_us(&h, 1234);
	histogram_render_head(f, "y_seconds", "Help.");
	histogram_render_series(&h, f, "y_seconds", "stage=\"read\"");
	histogram_render_series(&h, f, "y_seconds", "");
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(buf, "# HELP y_seconds Help.\n"
	    "# TYPE y_seconds histogram\n"
	    "y_seconds_bucket{stage=\"read\",le=\"0.0001\"} 0\n"));
	assert_non_null(strstr(buf,
	    "y_seconds_bucket{stage=\"read\",le=\"0.0025\"} 1\n"));
	assert_non_null(strstr(buf,
	    "y_seconds_bucket{stage=\"read\",le=\"+Inf\"} 1\n"
	    "y_seconds_sum{stage=\"read\"} 0.001234\n"
	    "y_seconds_count{stage=\"read\"} 1\n"
	    "y_seconds_bucket{le=\"0.0001\"} 0\n"));
	assert_non_null(strstr(buf, "y_seconds_sum 0.001234\n"
	    "y_seconds_count 1\n"));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_cumulative),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_apply_and_lag),
		cmocka_unit_test(test_microseconds),
		cmocka_unit_test(test_labeled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
