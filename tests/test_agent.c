/*
 * test_agent.c - agent/agent.c, the secondary's model, driven as the loop
 * and the REST endpoint drive it but without either: a check of a sync
 * root the snapshots library wrote applies the latest version and swaps
 * current; a refused version keeps the old release, is not read again
 * until an operator asks, and a fixed one goes live; /healthz's answer
 * turns false once the share has been unreachable, or the agent behind,
 * for longer than max_lag_ms, and true again when it recovers; startup =
 * sync is ready once caught up.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"
#include "deployenv.h"

struct agent_env {
	struct env *e;		/* deployenv.h: src, sync, dep, cur */
	struct config c;
	struct agent a;
};

static int
agent_setup(void **state)
{
	struct agent_env *ae = calloc(1, sizeof(*ae));
	void *e = NULL;

	assert_non_null(ae);
	setup(&e);
	ae->e = e;
	config_defaults(&ae->c, CONFIG_SECONDARY);
	snprintf(ae->c.cluster_id, sizeof(ae->c.cluster_id), "c");
	snprintf(ae->c.sync_root, sizeof(ae->c.sync_root), "%s", ae->e->sync);
	snprintf(ae->c.deploy_root, sizeof(ae->c.deploy_root), "%s",
	    ae->e->dep);
	ae->a = (struct agent)AGENT_INIT;
	*state = ae;
	return 0;
}

static int
agent_teardown(void **state)
{
	struct agent_env *ae = *state;
	void *e = ae->e;

	agent_close(&ae->a);
	teardown(&e);
	free(ae);
	return 0;
}

static void
open_agent(struct agent_env *ae)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (agent_open(&ae->a, &ae->c, &err) == -1)
		fail_msg("agent_open: %s", err.msg);
}

/* Where current points, relative to the deploy root. */
static void
assert_current(struct agent_env *ae, const char *want)
{
	char link[256];
	ssize_t n = readlink(ae->e->cur, link, sizeof(link) - 1);

	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, want);
}

/* Calls agent_healthy() until it answers `want` (why into why), failing
 * after 10 s: the time it waits for is max_lag_ms passing. */
static void
wait_healthy(struct agent_env *ae, bool want, char *why, size_t len)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 1000; i++) {
		if (agent_healthy(&ae->a, why, len) == want)
			return;
		nanosleep(&tick, NULL);
	}
	fail_msg("agent_healthy() still %s after 10 s: %s", want ? "false" :
	    "true", why);
}

static void
test_check_applies_and_swaps(void **state)
{
	struct agent_env *ae = *state;
	char why[512];

	publish(ae->e);
	open_agent(ae);
	assert_false(ae->a.d.has_current);
	assert_false(agent_healthy(&ae->a, why, sizeof(why)));
	tu_assert_msg(why, "no verified release applied yet");

	agent_check(&ae->a);
	assert_true(ae->a.d.has_current);
	assert_int_equal(ae->a.d.current.version, 1);
	assert_current(ae, "releases/v1-r1");
	tu_assert_trees_equal(ae->e->src, ae->e->cur);
	assert_int_equal(ae->a.trust.root_state, ROOT_OK);
	assert_int_equal(ae->a.latest_seen, 1);
	assert_int_equal(ae->a.m.applies, 1);
	assert_string_equal(ae->a.last_error, "");
	assert_true(agent_healthy(&ae->a, why, sizeof(why)));

	/* Nothing new: nothing applied. */
	agent_check(&ae->a);
	assert_int_equal(ae->a.m.applies, 1);

	change_one(ae->e, 1);
	publish(ae->e);
	agent_check(&ae->a);
	assert_int_equal(ae->a.d.current.version, 2);
	assert_current(ae, "releases/v2-r2");
	tu_assert_trees_equal(ae->e->src, ae->e->cur);
	assert_int_equal(ae->a.m.applies, 2);
}

static void
test_refused_version_keeps_old_release(void **state)
{
	struct agent_env *ae = *state;
	char path[TU_PATH];

	publish(ae->e);
	open_agent(ae);
	agent_check(&ae->a);
	assert_current(ae, "releases/v1-r1");

	/* What publish would refuse, published by a writer who checks
	 * nothing: the apply validates it, and refuses the version. */
	tu_path(path, "%s/api/Evil.xml", ae->e->src);
	tu_write_str(path, "<api xmlns=\"http://ws.apache.org/ns/synapse\"");
	publish_as(ae->e, false);
	agent_check(&ae->a);
	assert_current(ae, "releases/v1-r1");
	assert_int_equal(ae->a.d.current.version, 1);
	assert_int_equal(ae->a.latest_seen, 2);
	tu_assert_msg(ae->a.last_error, "version 2 refused");
	assert_int_equal(ae->a.trust.refused.version, 2);
	assert_int_equal(ae->a.m.applies, 1);
	tu_path(path, "%s/current/api/Evil.xml", ae->e->dep);
	assert_false(tu_exists(path));

	/* Remembered: the next check reads state.json alone. */
	agent_check(&ae->a);
	assert_current(ae, "releases/v1-r1");
	agent_retry(&ae->a);
	assert_int_equal(ae->a.trust.refused.version, 0);

	/* A fixed version goes live over the refused one. */
	tu_path(path, "%s/api/Evil.xml", ae->e->src);
	assert_int_equal(unlink(path), 0);
	change_one(ae->e, 2);
	publish(ae->e);
	agent_check(&ae->a);
	assert_int_equal(ae->a.d.current.version, 3);
	assert_string_equal(ae->a.last_error, "");
	tu_assert_trees_equal(ae->e->src, ae->e->cur);
}

static void
test_unhealthy_after_max_lag(void **state)
{
	struct agent_env *ae = *state;
	char moved[TU_PATH], path[TU_PATH], why[512];

	ae->c.max_lag_ms = 50;
	publish(ae->e);
	open_agent(ae);
	agent_check(&ae->a);
	assert_true(agent_healthy(&ae->a, why, sizeof(why)));

	/* The share gone: still serving, healthy until max_lag_ms pass. */
	tu_path(moved, "%s/moved", ae->e->top);
	assert_int_equal(rename(ae->e->sync, moved), 0);
	agent_check(&ae->a);
	assert_int_equal(ae->a.trust.root_state, ROOT_UNREACHABLE);
	assert_current(ae, "releases/v1-r1");
	wait_healthy(ae, false, why, sizeof(why));
	tu_assert_msg(why, "sync root unreachable for");
	tu_assert_msg(why, "(serving version 1)");

	/* Back: healthy at the next check. */
	assert_int_equal(rename(moved, ae->e->sync), 0);
	agent_check(&ae->a);
	assert_int_equal(ae->a.trust.root_state, ROOT_OK);
	assert_true(agent_healthy(&ae->a, why, sizeof(why)));

	/* Behind: a version seen that cannot be applied. */
	tu_path(path, "%s/api/Evil.xml", ae->e->src);
	tu_write_str(path, "<sequence");
	publish_as(ae->e, false);
	agent_check(&ae->a);
	assert_true(ae->a.behind_since_ms != 0);
	wait_healthy(ae, false, why, sizeof(why));
	tu_assert_msg(why, "behind: serving version 1, version 2 seen");
}

static void
test_startup_sync_ready_once_caught_up(void **state)
{
	struct agent_env *ae = *state;
	char why[512];

	ae->c.startup_sync = true;
	publish(ae->e);
	open_agent(ae);
	assert_true(ae->a.starting);
	assert_false(agent_healthy(&ae->a, why, sizeof(why)));
	tu_assert_msg(why, "starting: applying the latest version first");
	agent_check(&ae->a);
	agent_startup_progress(&ae->a);
	assert_false(ae->a.starting);
	assert_int_equal(ae->a.startup_fails, 0);
	assert_true(agent_healthy(&ae->a, why, sizeof(why)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_check_applies_and_swaps,
		    agent_setup, agent_teardown),
		cmocka_unit_test_setup_teardown(
		    test_refused_version_keeps_old_release, agent_setup,
		    agent_teardown),
		cmocka_unit_test_setup_teardown(test_unhealthy_after_max_lag,
		    agent_setup, agent_teardown),
		cmocka_unit_test_setup_teardown(
		    test_startup_sync_ready_once_caught_up, agent_setup,
		    agent_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
