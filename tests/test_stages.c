/*
 * test_stages.c - unit tests of agent/stages.c: marks become durations
 * that add up to their total, a mark not reached leaves its stages
 * untimed (neither counted nor given a figure), and the log line's shape
 * (scripts/bench reads it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stages.h"

static void
test_apply(void **state)
{
	struct apply_stats st = { .checked_us = 1600, .staged_us = 2700,
	    .durable_us = 5900, .swapped_us = 6800 };
	int64_t us[APPLY_STAGES], sum = 0;
	size_t i;

	(void)state;
	stages_of_apply(400, 1000, &st, us);
	assert_int_equal(us[APPLY_NOTICE], 400);
	assert_int_equal(us[APPLY_READ], 600);
	assert_int_equal(us[APPLY_BUILD], 1100);
	assert_int_equal(us[APPLY_FSYNC], 3200);
	assert_int_equal(us[APPLY_SWAP], 900);
	for (i = 0; i < APPLY_TOTAL; i++)
		sum += us[i];
	assert_int_equal(us[APPLY_TOTAL], sum);
}

/* The primary's clock ahead (notice < 0): untimed, and total is what
 * this host measured alone. A failed build's missing marks: untimed. */
static void
test_apply_untimed(void **state)
{
	struct apply_stats st = { .checked_us = 1600, .staged_us = 2700 };
	int64_t us[APPLY_STAGES];

	(void)state;
	st.durable_us = 5900;
	st.swapped_us = 6800;
	stages_of_apply(-1, 1000, &st, us);
	assert_int_equal(us[APPLY_NOTICE], STAGE_UNTIMED);
	assert_int_equal(us[APPLY_TOTAL], 5800);
	st.durable_us = st.swapped_us = 0;
	stages_of_apply(10, 1000, &st, us);
	assert_int_equal(us[APPLY_BUILD], 1100);
	assert_int_equal(us[APPLY_FSYNC], STAGE_UNTIMED);
	assert_int_equal(us[APPLY_SWAP], STAGE_UNTIMED);
	assert_int_equal(us[APPLY_TOTAL], STAGE_UNTIMED);
}

static void
test_publish(void **state)
{
	struct snap_marks mk = { { [SNAP_MARK_READ] = 1300,
	    [SNAP_MARK_WRITTEN] = 2000, [SNAP_MARK_SYNCED] = 4500,
	    [SNAP_MARK_COMMITTED] = 4700 } };
	int64_t us[PUBLISH_STAGES];

	(void)state;
	stages_of_publish(500, 1000, &mk, us);
	assert_int_equal(us[PUBLISH_NOTICE], 500);
	assert_int_equal(us[PUBLISH_READ], 300);
	assert_int_equal(us[PUBLISH_WRITE], 700);
	assert_int_equal(us[PUBLISH_FSYNC], 2500);
	assert_int_equal(us[PUBLISH_STATE], 200);
	assert_int_equal(us[PUBLISH_TOTAL], 4200);
	/* No change seen (start, SIGHUP): from the publish's start. */
	stages_of_publish(0, 1000, &mk, us);
	assert_int_equal(us[PUBLISH_NOTICE], STAGE_UNTIMED);
	assert_int_equal(us[PUBLISH_TOTAL], 3700);
}

/* Only timed stages are counted, each in its own histogram. */
static void
test_observe(void **state)
{
	struct histogram h[APPLY_STAGES];
	const int64_t us[APPLY_STAGES] = { STAGE_UNTIMED, 600, 0, 3200, 900,
	    4700 };

	(void)state;
	stages_init(h, APPLY_STAGES);
	stages_observe(h, us, APPLY_STAGES);
	assert_int_equal(h[APPLY_NOTICE].count, 0);
	assert_int_equal(h[APPLY_BUILD].count, 1);	/* 0 is a time */
	assert_int_equal(h[APPLY_FSYNC].sum_us, 3200);
	assert_int_equal(h[APPLY_TOTAL].scale, HISTOGRAM_US);
	assert_int_equal(h[APPLY_TOTAL].le[0], 0);	/* 4.7 ms > 0.1 ms */
}

static void
test_format(void **state)
{
	const int64_t us[APPLY_STAGES] = { 412, 600, 1100, STAGE_UNTIMED,
	    12345678, 7 };
	char line[160], tiny[12];

	(void)state;
	stages_format(apply_stage_names, us, APPLY_STAGES, line,
	    sizeof(line));
	assert_string_equal(line, "notice 0.412 read 0.600 build 1.100 "
	    "fsync - swap 12345.678 total 0.007");
	/* Cut short, never overrun, always terminated. */
	stages_format(apply_stage_names, us, APPLY_STAGES, tiny,
	    sizeof(tiny));
	assert_string_equal(tiny, "notice 0.41");
}

static void
test_render(void **state)
{
	struct histogram h[PUBLISH_STAGES];
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);
	char want[96];

	(void)state;
	assert_non_null(f);
	stages_init(h, PUBLISH_STAGES);
	stages_render(h, publish_stage_names, PUBLISH_STAGES, f, "z_seconds",
	    "Help.");
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(buf, "# TYPE z_seconds histogram\n"));
	for (i = 0; i < PUBLISH_STAGES; i++) {
		snprintf(want, sizeof(want), "z_seconds_count{stage=\"%s\"} 0\n",
		    publish_stage_names[i]);
		assert_non_null(strstr(buf, want));
	}
	/* One family: HELP and TYPE once. */
	assert_null(strstr(strstr(buf, "# TYPE") + 1, "# TYPE"));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_apply_untimed),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_observe),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
