/*
 * test_config.c - the INI file, defaults, flags over the file, checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "testutil.h"

static void
write_conf(void **state, const char *text, char *path)
{
	tu_path(path, "%s/artsync.conf", (char *)*state);
	tu_write_str(path, text);
}

static void
test_defaults(void **state)
{
	struct config c;

	(void)state;
	config_defaults(&c, CONFIG_SECONDARY);
	assert_string_equal(c.cluster_id, "default");
	assert_true(c.node_id[0] != '\0');
	assert_int_equal(c.poll_ms, 1000);
	assert_int_equal(c.keep_releases, 5);
	assert_true(c.recycle_releases);
	assert_string_equal(c.listen, "127.0.0.1:7846");
	assert_string_equal(c.labels, "default");
	assert_int_equal(c.log_level, LOG_LEVEL_INFO);
	config_defaults(&c, CONFIG_PRIMARY);
	assert_int_equal(c.quiet_ms, 500);
	assert_int_equal(c.retry_ms, 15000);
}

static void
test_file_sets_own_role_only(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH];
	struct config c;

	write_conf(state,
	    "[artsync]\ncluster_id = prod\nnode_id = gw-7\nlog_level = debug\n"
	    "[primary]\nsource = /src\nsync_root = /p\nquiet_ms = 50\n"
	    "push = rsync://127.0.0.1/m/a\npush = host:/b\n"
	    "[secondary]\nsync_root = /s\ndeploy_root = /d\npoll_ms = 20\n"
	    "keep_releases = 3\nrecycle_releases = no\n", path);
	config_defaults(&c, CONFIG_SECONDARY);
	if (config_load(&c, path, &err) == -1)
		fail_msg("%s", err.msg);
	assert_string_equal(c.cluster_id, "prod");
	assert_string_equal(c.node_id, "gw-7");
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(c.sync_root, "/s");	/* not the primary's */
	assert_string_equal(c.deploy_root, "/d");
	assert_int_equal(c.poll_ms, 20);
	assert_int_equal(c.keep_releases, 3);
	assert_false(c.recycle_releases);
	assert_string_equal(c.source, "");
	assert_int_equal(c.npush, 0);

	config_defaults(&c, CONFIG_PRIMARY);
	assert_int_equal(config_load(&c, path, &err), 0);
	assert_string_equal(c.sync_root, "/p");
	assert_string_equal(c.source, "/src");
	assert_int_equal(c.quiet_ms, 50);
	assert_int_equal(c.npush, 2);
	assert_string_equal(c.push[1], "host:/b");
	assert_int_equal(c.poll_ms, 2000);	/* the secondary's, dropped */
}

static void
test_flags_override_file(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH];
	struct config c;

	write_conf(state, "[secondary]\nsync_root = /file\npoll_ms = 20\n",
	    path);
	config_defaults(&c, CONFIG_SECONDARY);
	assert_int_equal(config_load(&c, path, &err), 0);
	assert_int_equal(config_set(&c, "secondary", "sync_root", "/flag",
	    &err), 0);
	assert_string_equal(c.sync_root, "/flag");
	assert_int_equal(c.poll_ms, 20);
}

static void
assert_load_fails(void **state, const char *text, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH];
	struct config c;

	write_conf(state, text, path);
	config_defaults(&c, CONFIG_SECONDARY);
	assert_int_equal(config_load(&c, path, &err), -1);
	tu_assert_msg(err.msg, want);
	tu_assert_msg(err.msg, "artsync.conf:");
}

static void
test_bad_files_name_the_line(void **state)
{
	assert_load_fails(state, "[secondary]\n\nbogus = 1\n",
	    ":3: unknown key 'bogus' in [secondary]");
	assert_load_fails(state, "[nope]\nx = 1\n", "unknown section [nope]");
	assert_load_fails(state, "[secondary]\npoll_ms = abc\n",
	    ":2: poll_ms: 'abc' is not a whole number");
	assert_load_fails(state, "[secondary]\npoll_ms = -5\n", "poll_ms");
	assert_load_fails(state, "[secondary]\nkeep_releases = 1\n",
	    "keep_releases");
	assert_load_fails(state, "[secondary]\nrecycle_releases = maybe\n",
	    "not yes or no");
	assert_load_fails(state, "[secondary]\nlabels = a,,b\n", "labels");
	assert_load_fails(state, "[artsync]\nnode_id = ../x\n", "node_id");
	assert_load_fails(state, "[artsync]\nlog_level = loud\n", "log_level");
	assert_load_fails(state, "[artsync]\nlog_format = xml\n",
	    "log_format: 'xml' is not text or json");
	/* The other role's section is checked too. */
	assert_load_fails(state, "[primary]\nquiet_ms = soon\n", "quiet_ms");
	assert_load_fails(state, "[secondary]\nno equals sign\n",
	    "not a 'key = value' line");
}

static void
test_after_swap_keys(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH], tok[TU_PATH];
	struct config c;

	config_defaults(&c, CONFIG_SECONDARY);
	assert_string_equal(c.exec_hook, "");
	assert_int_equal(c.exec_hook_timeout_ms, 30000);
	assert_string_equal(c.webhook_url, "");
	assert_int_equal(c.webhook_timeout_ms, 10000);
	assert_int_equal(c.webhook_max_tries, 8);
	assert_int_equal(c.webhook_retry_ms, 1000);
	write_conf(state, "[secondary]\nexec_hook = touch /run/x; echo $A\n"
	    "exec_hook_timeout_ms = 500\nwebhook_url = https://h.example/x\n"
	    "webhook_timeout_ms = 2000\nwebhook_max_tries = 3\n"
	    "webhook_retry_ms = 50\n", path);
	assert_int_equal(config_load(&c, path, &err), 0);
	assert_string_equal(c.exec_hook, "touch /run/x; echo $A");
	assert_int_equal(c.exec_hook_timeout_ms, 500);
	assert_string_equal(c.webhook_url, "https://h.example/x");
	assert_int_equal(c.webhook_timeout_ms, 2000);
	assert_int_equal(c.webhook_max_tries, 3);
	assert_int_equal(c.webhook_retry_ms, 50);

	assert_load_fails(state, "[secondary]\n\nwebhook_url = ftp://h/x\n",
	    ":3: webhook_url: 'ftp://h/x' is not an http:// or https:// URL");
	assert_load_fails(state, "[secondary]\nexec_hook_timeout_ms = 5\n",
	    ":2: exec_hook_timeout_ms: '5' is not a whole number from 100");
	assert_load_fails(state, "[secondary]\nwebhook_max_tries = 0\n",
	    "webhook_max_tries");
	assert_load_fails(state, "[secondary]\nwebhook_retry_ms = 60001\n",
	    "webhook_retry_ms");
	assert_load_fails(state, "[secondary]\nwebhook_timeout_ms = x\n",
	    "webhook_timeout_ms");

	/* A token this node sends must be its own secret. */
	snprintf(c.sync_root, sizeof(c.sync_root), "/s");
	snprintf(c.deploy_root, sizeof(c.deploy_root), "/d");
	tu_path(tok, "%s/token", (char *)*state);
	tu_write_str(tok, "s3cret\n");
	chmod(tok, 0640);
	snprintf(c.webhook_token_file, sizeof(c.webhook_token_file), "%s",
	    tok);
	assert_int_equal(config_check(&c, &err), -1);
	tu_assert_msg(err.msg, "webhook_token_file: ");
	tu_assert_msg(err.msg, "(mode 0640): chmod 600");
	chmod(tok, 0600);
	assert_int_equal(config_check(&c, &err), 0);
	c.webhook_url[0] = '\0';
	assert_int_equal(config_check(&c, &err), -1);
	tu_assert_msg(err.msg, "webhook_url is not");
}

static void
test_check_requires_role_paths(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct config c;

	(void)state;
	config_defaults(&c, CONFIG_SECONDARY);
	assert_int_equal(config_check(&c, &err), -1);
	tu_assert_msg(err.msg, "sync_root");
	snprintf(c.sync_root, sizeof(c.sync_root), "/s");
	assert_int_equal(config_check(&c, &err), -1);
	tu_assert_msg(err.msg, "deploy_root");
	snprintf(c.deploy_root, sizeof(c.deploy_root), "/d");
	assert_int_equal(config_check(&c, &err), 0);
	snprintf(c.token_file, sizeof(c.token_file), "/nonexistent/token");
	assert_int_equal(config_check(&c, &err), -1);
	tu_assert_msg(err.msg, "token_file");

	config_defaults(&c, CONFIG_PRIMARY);
	snprintf(c.sync_root, sizeof(c.sync_root), "/s");
	assert_int_equal(config_check(&c, &err), -1);
	tu_assert_msg(err.msg, "source");
}

static void
test_environment(void **state)
{
	char *env[] = {
		"ARTSYNC_POLL_MS=250", "ARTSYNC_SYNC_ROOT=/env",
		"ARTSYNC_LOG_FORMAT=json", "ARTSYNC_QUIET_MS=40",
		"ARTSYNC_PUSH=host:/a  rsync://127.0.0.1/m", "ARTSYNC_COLOUR=x",
		"ARTSYNC_CONFIG=/ignored", "ARTSYNC_lower=1", "ARTSYNC=/bin",
		"PATH=/bin", NULL,
	};
	struct snap_err err = SNAP_ERR_INIT;
	char unknown[64];
	struct config c;

	(void)state;
	config_defaults(&c, CONFIG_SECONDARY);
	assert_int_equal(config_load_env(&c, env, unknown, sizeof(unknown),
	    &err), 0);
	assert_int_equal(c.poll_ms, 250);
	assert_string_equal(c.sync_root, "/env");
	assert_int_equal(c.log_format, LOG_FORMAT_JSON);
	assert_int_equal(c.npush, 0);		/* the primary's, dropped */
	assert_string_equal(unknown, "ARTSYNC_COLOUR");

	config_defaults(&c, CONFIG_PRIMARY);
	c.npush = 1;				/* as if from the file */
	assert_int_equal(config_load_env(&c, env, unknown, sizeof(unknown),
	    &err), 0);
	assert_int_equal(c.quiet_ms, 40);
	assert_string_equal(c.sync_root, "/env");
	assert_int_equal(c.poll_ms, 250);	/* both roles read it */
	assert_int_equal(c.npush, 2);
	assert_string_equal(c.push[0], "host:/a");
	assert_string_equal(c.push[1], "rsync://127.0.0.1/m");

	/* The other role's keys are checked, as in the file. */
	env[0] = "ARTSYNC_POLL_MS=soon";
	assert_int_equal(config_load_env(&c, env, unknown, sizeof(unknown),
	    &err), -1);
	tu_assert_msg(err.msg, "ARTSYNC_POLL_MS: poll_ms: 'soon'");
}

static void
test_find(void **state)
{
	char path[TU_PATH], want[TU_PATH];

	unsetenv("ARTSYNC_CONFIG");
	setenv("ARTSYNC_SYSCONFDIR", (char *)*state, 1);
	assert_string_equal(config_find(path, sizeof(path)), "default");
	assert_string_equal(path, "");		/* no file: none */
	write_conf(state, "[artsync]\n", want);
	assert_string_equal(config_find(path, sizeof(path)), "default");
	assert_string_equal(path, want);
	setenv("ARTSYNC_CONFIG", "", 1);
	assert_string_equal(config_find(path, sizeof(path)), "ARTSYNC_CONFIG");
	assert_string_equal(path, "");
	setenv("ARTSYNC_CONFIG", "/x.conf", 1);
	assert_string_equal(config_find(path, sizeof(path)), "ARTSYNC_CONFIG");
	assert_string_equal(path, "/x.conf");
	unsetenv("ARTSYNC_CONFIG");
	unsetenv("ARTSYNC_SYSCONFDIR");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_file_sets_own_role_only,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_flags_override_file,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_bad_files_name_the_line,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test(test_check_requires_role_paths),
		cmocka_unit_test_setup_teardown(test_after_swap_keys,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test(test_environment),
		cmocka_unit_test_setup_teardown(test_find, tu_setup_tmp,
		    tu_teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
