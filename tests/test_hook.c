/*
 * test_hook.c - what runs after a swap, without a daemon: the hook's
 * environment, its output made fit for a log, how it ended in words, the
 * one-slot mailbox that coalesces swaps, the webhook's body, URL check and
 * backoff; and real /bin/sh hooks driven through hook.h the way the
 * secondary's loop drives them (timeout, process group, coalescing, stop).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <jansson.h>

#include "daemon.h"
#include "fsutil.h"
#include "hook.h"
#include "hookproc.h"
#include "log.h"
#include "swapevent.h"
#include "webhook.h"
#include "testutil.h"

static struct swap_event
event(enum swap_reason r, uint64_t previous, uint64_t version,
    uint64_t changed)
{
	struct swap_event ev = { .reason = r, .version = version,
	    .previous = previous, .changed = changed, .at = 1796646829 };

	snprintf(ev.release, sizeof(ev.release), "/d/releases/v%llu-r1",
	    (unsigned long long)version);
	return ev;
}

/* The value of NAME in a NULL-terminated environment, or NULL. */
static const char *
env_get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static void
test_env(void **state)
{
	char *base[] = { "PATH=/usr/bin:/bin", "ARTSYNC_VERSION=stale",
	    "ARTSYNC_OTHER=kept", "HOME=/root", NULL };
	struct hookproc_env env = HOOKPROC_ENV_INIT;
	struct swap_event ev = event(SWAP_DEPLOY_LOCAL, 41, 42, 3);
	size_t n = 0;

	(void)state;
	assert_int_equal(hookproc_env_build(&env, &ev, "/d", base), 0);
	while (env.envp[n] != NULL)
		n++;
	assert_int_equal(n, 3 + HOOKPROC_NVARS);	/* the stale one gone */
	assert_string_equal(env_get(env.envp, "PATH"), "/usr/bin:/bin");
	assert_string_equal(env_get(env.envp, "HOME"), "/root");
	assert_string_equal(env_get(env.envp, "ARTSYNC_OTHER"), "kept");
	assert_string_equal(env_get(env.envp, "ARTSYNC_VERSION"), "42");
	assert_string_equal(env_get(env.envp, "ARTSYNC_PREVIOUS_VERSION"),
	    "41");
	assert_string_equal(env_get(env.envp, "ARTSYNC_RELEASE"),
	    "/d/releases/v42-r1");
	assert_string_equal(env_get(env.envp, "ARTSYNC_CHANGED"), "3");
	assert_string_equal(env_get(env.envp, "ARTSYNC_REASON"),
	    "deploy-local");
	assert_string_equal(env_get(env.envp, "ARTSYNC_DEPLOY_ROOT"), "/d");
	hookproc_env_free(&env);
	hookproc_env_free(&env);	/* safe to repeat */
}

static void
sanitized(const char *in, size_t len, size_t outlen, const char *want)
{
	char out[256];

	assert_true(outlen <= sizeof(out));
	assert_int_equal(hookproc_sanitize(in, len, out, outlen),
	    strlen(want));
	assert_string_equal(out, want);
}

#define SAN(in, want) sanitized(in, sizeof(in) - 1, 256, want)

static void
test_sanitize(void **state)
{
	(void)state;
	SAN("plain text", "plain text");
	SAN("\x1b[1;31mred\x1b[0m", "red");		/* CSI */
	SAN("a\x1b]0;title\a b", "a b");		/* OSC ... BEL */
	SAN("a\x1b]8;;http://x\x1b\\link", "alink");	/* OSC ... ST */
	SAN("a\x1b" "cb", "ab");			/* ESC and one byte */
	SAN("cut\x1b[", "cut");				/* at the end */
	SAN("tab\there\r", "tab here");
	SAN("bell\a nul\0 del\x7f", "bell? nul? del?");
	SAN("caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93");
	SAN("bad \xff \xc3 x", "bad \xef\xbf\xbd \xef\xbf\xbd x");
	SAN("c1 \xc2\x85", "c1 \xef\xbf\xbd\xef\xbf\xbd");
	SAN("overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd");
	/* Bounded: "..." and the NUL fit, a character is never split. */
	sanitized("0123456789", 10, 8, "0123...");
	sanitized("ab\xc3\xa9\xc3\xa9", 6, 9, "ab\xc3\xa9...");
	sanitized("abcd", 4, 8, "abcd");
}

static void
test_describe(void **state)
{
	char out[128];

	(void)state;
	hookproc_describe(CLD_EXITED, 3, out, sizeof(out));
	assert_string_equal(out, "exited with status 3");
	hookproc_describe(CLD_EXITED, 127, out, sizeof(out));
	assert_string_equal(out, "exited with status 127 (command not found)");
	hookproc_describe(CLD_KILLED, SIGKILL, out, sizeof(out));
	assert_string_equal(out, "killed by signal 9 (Killed)");
	hookproc_describe(CLD_DUMPED, SIGSEGV, out, sizeof(out));
	assert_non_null(strstr(out, "signal 11"));
	assert_non_null(strstr(out, "core dumped"));
}

static void
test_slot_coalesces(void **state)
{
	struct swap_slot s = SWAP_SLOT_INIT;
	struct swap_event ev, e;

	(void)state;
	assert_false(swap_slot_take(&s, &ev));
	/* The first event as it came. */
	e = event(SWAP_SYNC, 0, 1, 5);
	swap_slot_put(&s, &e);
	assert_true(swap_slot_take(&s, &ev));
	assert_int_equal(ev.version, 1);
	assert_int_equal(ev.previous, 0);
	assert_false(swap_slot_take(&s, &ev));
	swap_slot_told(&s, 1);
	/* Two swaps while busy: the latest, from what was told, with the
	 * changes of both. */
	e = event(SWAP_SYNC, 1, 2, 3);
	swap_slot_put(&s, &e);
	e = event(SWAP_UNDEPLOY, 2, 3, 4);
	swap_slot_put(&s, &e);
	assert_int_equal(s.coalesced, 1);
	assert_true(swap_slot_take(&s, &ev));
	assert_int_equal(ev.version, 3);
	assert_int_equal(ev.previous, 1);
	assert_int_equal(ev.changed, 7);
	assert_int_equal(ev.reason, SWAP_UNDEPLOY);
	assert_string_equal(ev.release, "/d/releases/v3-r1");
	swap_slot_told(&s, 3);
	/* An event not told (a webhook that kept failing) given up for a
	 * newer one: the newer carries it. */
	e = event(SWAP_SYNC, 3, 4, 1);
	swap_slot_put(&s, &e);
	assert_true(swap_slot_take(&s, &ev));
	e = event(SWAP_REDEPLOY, 4, 5, 2);
	swap_slot_put(&s, &e);
	swap_slot_putback(&s, &ev);
	assert_int_equal(s.coalesced, 2);
	assert_true(swap_slot_take(&s, &ev));
	assert_int_equal(ev.version, 5);
	assert_int_equal(ev.previous, 3);
	assert_int_equal(ev.changed, 3);
	assert_int_equal(ev.reason, SWAP_REDEPLOY);
	/* Nothing told yet: the first event's own previous version. */
	s = (struct swap_slot)SWAP_SLOT_INIT;
	e = event(SWAP_SYNC, 7, 8, 1);
	swap_slot_put(&s, &e);
	e = event(SWAP_SYNC, 8, 9, 1);
	swap_slot_put(&s, &e);
	assert_true(swap_slot_take(&s, &ev));
	assert_int_equal(ev.previous, 7);
	assert_int_equal(ev.version, 9);
}

static void
test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(swap_reason_name(SWAP_SYNC), "sync");
	assert_string_equal(swap_reason_name(SWAP_REDEPLOY), "redeploy");
	assert_string_equal(swap_reason_name(SWAP_UNDEPLOY), "undeploy");
	assert_string_equal(swap_reason_name(SWAP_DEPLOY_LOCAL),
	    "deploy-local");
	assert_string_equal(swap_reason_name(SWAP_RECONCILE), "reconcile");
}

static void
test_webhook_body(void **state)
{
	struct swap_event ev = event(SWAP_SYNC, 41, 42, 3);
	json_error_t jerr;
	int64_t t;
	json_t *j;
	char *body;

	(void)state;
	snprintf(ev.release, sizeof(ev.release), "/d \"q\"\\/releases/v42-r7");
	body = webhook_body(&ev, "gw-1", "prod", "/d \"q\"\\");
	assert_non_null(body);
	assert_non_null(strstr(body, "{\"version\":42,\"previous_version\":41,"));
	j = json_loads(body, 0, &jerr);
	if (j == NULL)
		fail_msg("%s: %s", body, jerr.text);
	assert_int_equal(json_object_size(j), 9);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 42);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "previous_version")), 41);
	assert_string_equal(json_string_value(json_object_get(j, "release")),
	    ev.release);
	assert_int_equal(json_integer_value(json_object_get(j, "changed")), 3);
	assert_string_equal(json_string_value(json_object_get(j, "reason")),
	    "sync");
	assert_string_equal(json_string_value(json_object_get(j, "node_id")),
	    "gw-1");
	assert_string_equal(json_string_value(json_object_get(j,
	    "cluster_id")), "prod");
	assert_string_equal(json_string_value(json_object_get(j,
	    "deploy_root")), "/d \"q\"\\");
	assert_int_equal(fsu_parse_rfc3339(json_string_value(
	    json_object_get(j, "at")), &t), 0);
	assert_int_equal(t, ev.at);
	json_decref(j);
	free(body);
}

static void
test_webhook_url(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;

	(void)state;
	assert_int_equal(webhook_check_url("http://127.0.0.1:9/x", &err), 0);
	assert_int_equal(webhook_check_url("https://hooks.example/a?b=c",
	    &err), 0);
	assert_int_equal(webhook_check_url("HTTP://h", &err), 0);
	assert_int_equal(webhook_check_url("ftp://h/x", &err), -1);
	assert_non_null(strstr(err.msg, "not an http:// or https://"));
	assert_int_equal(webhook_check_url("file:///etc/passwd", &err), -1);
	assert_int_equal(webhook_check_url("127.0.0.1:80", &err), -1);
	assert_int_equal(webhook_check_url("http://", &err), -1);
	assert_int_equal(webhook_check_url("http:///x", &err), -1);
	assert_non_null(strstr(err.msg, "no host"));
	assert_int_equal(webhook_check_url("http://h/a b", &err), -1);
	assert_int_equal(webhook_check_url("http://h/\r\nX: y", &err), -1);
}

static void
test_backoff(void **state)
{
	static const unsigned want[] = { 1000, 2000, 4000, 8000, 16000,
	    32000, 60000, 60000 };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(webhook_backoff_ms(1000, i + 1), want[i]);
	assert_int_equal(webhook_backoff_ms(1000, 1000), WEBHOOK_RETRY_MAX_MS);
	assert_int_equal(webhook_backoff_ms(100, 3), 400);
	assert_int_equal(webhook_backoff_ms(60000, 2), 60000);
}

/* --- real hooks, driven like the secondary's loop ------------------------ */

struct rig {
	char dir[TU_PATH];
	struct config c;
	struct hook *h;
};

static void
rig_start(struct rig *r, const char *dir, const char *cmd, unsigned timeout)
{
	struct snap_err err = SNAP_ERR_INIT;

	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	config_defaults(&r->c, CONFIG_SECONDARY);
	snprintf(r->c.deploy_root, sizeof(r->c.deploy_root), "%s", dir);
	snprintf(r->c.exec_hook, sizeof(r->c.exec_hook), "cd '%s' || exit 99; "
	    "%s", dir, cmd);
	r->c.exec_hook_timeout_ms = timeout;
	if ((r->h = hook_new(&r->c, &err)) == NULL)
		fail_msg("%s", err.msg);
}

static json_t *
rig_status(struct rig *r)
{
	json_t *j = json_object(), *e;

	hook_status_add(r->h, j);
	e = json_incref(json_object_get(j, "exec_hook"));
	json_decref(j);
	return e;
}

static void
rig_swap(struct rig *r, enum swap_reason reason, uint64_t from, uint64_t to)
{
	struct release rel = { .version = to, .serial = to };

	snprintf(rel.name, sizeof(rel.name), "v%llu-r%llu",
	    (unsigned long long)to, (unsigned long long)to);
	hook_swapped(r->h, reason, from, &rel, 1);
}

/* Polls and runs as the loop does until no hook runs; fails past `ms`. */
static int64_t
rig_wait_idle(struct rig *r, int64_t ms)
{
	int64_t start = daemon_now_ms();
	struct pollfd pfd[2];
	json_t *st;
	bool idle = false;

	while (!idle) {
		hook_pollfds(r->h, &pfd[0], &pfd[1]);
		poll(pfd, 2, hook_timeout_ms(r->h));
		hook_run(r->h);
		st = rig_status(r);
		idle = strcmp(json_string_value(json_object_get(st, "state")),
		    "idle") == 0;
		json_decref(st);
		if (daemon_now_ms() - start > ms)
			fail_msg("a hook still runs after %lld ms", (long long)ms);
	}
	return daemon_now_ms() - start;
}

/* pid is gone, or a zombie, within 5 s: a SIGKILL sent is delivered, but
 * not before kill() returns. */
static bool
is_gone(pid_t pid)
{
	int64_t start = daemon_now_ms();
	char path[64], stat[512];
	bool gone = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	while (!gone && daemon_now_ms() - start < 5000) {
		if ((f = fopen(path, "r")) == NULL)
			return true;
		gone = fgets(stat, sizeof(stat), f) == NULL ||
		    strstr(stat, ") Z ") != NULL;
		fclose(f);
		if (!gone)
			usleep(10000);
	}
	return gone;
}

static void
test_hook_exit_status(void **state)
{
	struct rig r;
	char path[TU_PATH], root[PATH_MAX], *seen;
	json_t *st;

	rig_start(&r, *state, "echo \"$ARTSYNC_VERSION $ARTSYNC_PREVIOUS_VERSION "
	    "$ARTSYNC_REASON $ARTSYNC_RELEASE $ARTSYNC_CHANGED\" >env; "
	    "echo to stderr >&2; exit 3", 10000);
	rig_swap(&r, SWAP_REDEPLOY, 6, 7);
	rig_wait_idle(&r, 10000);
	tu_path(path, "%s/env", r.dir);
	seen = tu_slurp(path, NULL);
	assert_non_null(realpath(r.c.deploy_root, root));
	tu_path(path, "7 6 redeploy %s/releases/v7-r7 1\n", root);
	assert_string_equal(seen, path);
	free(seen);
	st = rig_status(&r);
	assert_int_equal(json_integer_value(json_object_get(st,
	    "last_exit_status")), 3);
	assert_true(json_is_false(json_object_get(st, "last_ok")));
	assert_int_equal(json_integer_value(json_object_get(st, "failures")),
	    1);
	assert_non_null(strstr(json_string_value(json_object_get(st,
	    "last_error")), "exited with status 3: to stderr"));
	json_decref(st);
	hook_free(r.h);
}

static void
test_hook_timeout_kills_group(void **state)
{
	struct rig r;
	char path[TU_PATH], *pid;
	int64_t took;
	json_t *st;

	/* The grandchild ignores SIGTERM: only the SIGKILL ends it. */
	rig_start(&r, *state, "(trap '' TERM; exec sleep 30) & echo $! >pid; "
	    "wait", 200);
	rig_swap(&r, SWAP_SYNC, 1, 2);
	took = rig_wait_idle(&r, 10000);
	assert_true(took >= 200 + HOOK_GRACE_MS - 50);
	tu_path(path, "%s/pid", r.dir);
	pid = tu_slurp(path, NULL);
	assert_true(is_gone((pid_t)atoi(pid)));
	free(pid);
	st = rig_status(&r);
	assert_non_null(strstr(json_string_value(json_object_get(st,
	    "last_error")), "killed after exec_hook_timeout_ms (200 ms)"));
	assert_true(json_is_null(json_object_get(st, "last_exit_status")));
	json_decref(st);
	hook_free(r.h);
}

static void
test_hook_coalesces(void **state)
{
	struct rig r;
	char path[TU_PATH], *seen;
	json_t *st;

	rig_start(&r, *state, "echo $ARTSYNC_VERSION $ARTSYNC_PREVIOUS_VERSION "
	    "$ARTSYNC_CHANGED >>seen; sleep 0.2", 10000);
	rig_swap(&r, SWAP_SYNC, 0, 1);
	rig_swap(&r, SWAP_SYNC, 1, 2);	/* replaced by the next */
	rig_swap(&r, SWAP_SYNC, 2, 3);
	rig_wait_idle(&r, 10000);
	tu_path(path, "%s/seen", r.dir);
	seen = tu_slurp(path, NULL);
	assert_string_equal(seen, "1 0 1\n3 1 2\n");
	free(seen);
	st = rig_status(&r);
	assert_int_equal(json_integer_value(json_object_get(st, "coalesced")),
	    1);
	assert_int_equal(json_integer_value(json_object_get(st, "runs")), 2);
	assert_true(json_is_true(json_object_get(st, "last_ok")));
	json_decref(st);
	hook_free(r.h);
}

static void
test_hook_free_stops_a_running_hook(void **state)
{
	struct rig r;
	char path[TU_PATH], *pid;
	int64_t start;

	rig_start(&r, *state, "sleep 30 & echo $! >pid; wait", 60000);
	rig_swap(&r, SWAP_SYNC, 0, 1);
	tu_path(path, "%s/pid", r.dir);
	start = daemon_now_ms();
	while (!tu_exists(path) && daemon_now_ms() - start < 10000)
		usleep(10000);
	hook_free(r.h);
	assert_true(daemon_now_ms() - start < 10000);
	pid = tu_slurp(path, NULL);
	assert_true(is_gone((pid_t)atoi(pid)));
	free(pid);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_slot_coalesces),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_webhook_body),
		cmocka_unit_test(test_webhook_url),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test_setup_teardown(test_hook_exit_status,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_hook_timeout_kills_group,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_hook_coalesces,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_hook_free_stops_a_running_hook, tu_setup_tmp,
		    tu_teardown_tmp),
	};

	log_init(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
