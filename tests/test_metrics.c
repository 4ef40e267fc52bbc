/*
 * test_metrics.c - unit tests of agent/metrics.c: refusals counted by the
 * code their error carries (never by their words), and the Prometheus
 * text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

/* The whole exposition of m and s (malloc'ed). */
static char *
render(const struct metrics *m, const struct metrics_sample *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	metrics_render(m, s, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/*
 * The reason is the code the library set where it found the failure: a
 * message, whatever its words - even the words of another reason, quoted
 * from a hostile archive - cannot move a refusal to another reason.
 */
static void
test_counted_by_code_not_words(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct metrics m;
	struct metrics_sample s;
	char *buf = NULL;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&s, 0, sizeof(s));
	snap_err_setc(&err, SNAP_E_HOSTILE, "entry 'api/checksum mismatch "
	    "(truncated: No space left on device.xml' is a symlink");
	metrics_count_reject(&m, err.code);
	snap_err_setc(&err, SNAP_E_CHANGED, "archive changed while it was "
	    "read");
	metrics_count_reject(&m, err.code);
	snap_err_setc(&err, SNAP_E_CHECKSUM, "invalid artifact");
	metrics_count_reject(&m, err.code);
	snap_err_set(&err, "checksum mismatch");	/* no code: other */
	metrics_count_reject(&m, err.code);
	metrics_count_reject(&m, SNAP_E_COUNT + 3);	/* out of range */
	buf = render(&m, &s);
	assert_non_null(strstr(buf, "reason=\"hostile_entry\"} 1\n"));
	/* changed between two reads and a plain mismatch: both checksum */
	assert_non_null(strstr(buf, "reason=\"checksum\"} 2\n"));
	assert_non_null(strstr(buf, "reason=\"other\"} 2\n"));
	assert_non_null(strstr(buf, "reason=\"invalid_artifact\"} 0\n"));
	assert_non_null(strstr(buf, "reason=\"no_space\"} 0\n"));
	free(buf);
}

/* Every code has a reason that /metrics shows. */
static void
test_every_code_has_a_sample(void **state)
{
	struct metrics m;
	struct metrics_sample s;
	char *buf = NULL, line[128];
	size_t c;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&s, 0, sizeof(s));
	buf = render(&m, &s);
	for (c = 0; c < SNAP_E_COUNT; c++) {
		snprintf(line, sizeof(line), "\nartsync_rejects_total{reason="
		    "\"%s\"} 0\n", snap_code_name((enum snap_code)c));
		if (strstr(buf, line) == NULL)
			fail_msg("no line %s in:\n%s", line + 1, buf);
	}
	free(buf);
}

/* The sync root's state: one gauge per state, the one that holds at 1. */
static void
test_render_root_state(void **state)
{
	struct metrics m;
	struct metrics_sample s;
	char *buf = NULL;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&s, 0, sizeof(s));
	s.sync_root_up = 1;
	s.sync_root_state = "unverifiable";
	buf = render(&m, &s);
	assert_non_null(strstr(buf, "\nartsync_sync_root_verifiable 0\n"));
	assert_non_null(strstr(buf, "\nartsync_sync_root_state{state="
	    "\"unverifiable\"} 1\n"));
	assert_non_null(strstr(buf, "\nartsync_sync_root_state{state="
	    "\"ok\"} 0\n"));
	free(buf);
}

/* Every reason has exactly one sample line, zero or not. */
static void
test_render_rejects(void **state)
{
	struct metrics m;
	struct metrics_sample s;
	char *buf = NULL;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&s, 0, sizeof(s));
	m.rejects[SNAP_E_NO_SPACE] = 3;
	m.rejects[SNAP_E_INVALID] = 1;
	m.rejects[SNAP_E_WRONG_CLUSTER] = 2;
	buf = render(&m, &s);
	assert_non_null(strstr(buf, "reason=\"no_space\"} 3\n"));
	assert_non_null(strstr(buf, "reason=\"invalid_artifact\"} 1\n"));
	assert_non_null(strstr(buf, "reason=\"wrong_cluster\"} 2\n"));
	assert_non_null(strstr(buf, "reason=\"too_large\"} 0\n"));
	free(buf);
}

/* A primary's gauges, each with its HELP and TYPE lines, as the
 * primary wrote them itself before they moved here. */
static void
test_render_primary(void **state)
{
	struct metrics_primary s = { .published_version = 42,
	    .last_publish_at = 1795860000, .publish_failing = 1,
	    .source_watch_ok = 0, .state_expires_at = 0, .publishes = 7,
	    .publish_failures = 3 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	metrics_render_primary(&s, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(buf, "artsync_build_info{version=\""));
	assert_non_null(strstr(buf, "\nartsync_publishes_total 7\n"));
	assert_non_null(strstr(buf, "\nartsync_publish_failures_total 3\n"));
	assert_null(strstr(buf, "artsync_publish_seconds"));	/* none given */
	assert_non_null(strstr(buf,
	    "# HELP artsync_published_version Latest version in the sync "
	    "root.\n# TYPE artsync_published_version gauge\n"
	    "artsync_published_version 42\n"
	    "# HELP artsync_last_publish_timestamp_seconds Unix time of the "
	    "last publish (0: none yet).\n# TYPE "
	    "artsync_last_publish_timestamp_seconds gauge\n"
	    "artsync_last_publish_timestamp_seconds 1795860000\n"
	    "# HELP artsync_publish_failing 1 while the last publish "
	    "failed.\n# TYPE artsync_publish_failing gauge\n"
	    "artsync_publish_failing 1\n"
	    "# HELP artsync_source_watch_ok 1 while inotify watches the "
	    "whole source tree; 0 while it is rescanned every poll_ms "
	    "instead.\n# TYPE artsync_source_watch_ok gauge\n"
	    "artsync_source_watch_ok 0\n"
	    "# HELP artsync_state_expires_timestamp_seconds Unix time the "
	    "latest signed state expires, as renewed (0: no expiry).\n"
	    "# TYPE artsync_state_expires_timestamp_seconds gauge\n"
	    "artsync_state_expires_timestamp_seconds 0\n"));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counted_by_code_not_words),
		cmocka_unit_test(test_every_code_has_a_sample),
		cmocka_unit_test(test_render_root_state),
		cmocka_unit_test(test_render_rejects),
		cmocka_unit_test(test_render_primary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
