/*
 * test_reload.c - SIGHUP's reload: what is taken now, what waits for a
 * restart, the flags still over the file, a bad file changing nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmdline.h"
#include "log.h"
#include "reload.h"
#include "testutil.h"

struct fixture {
	char conf[TU_PATH];
	char *argv[8];
	char config_flag[16], poll_flag[16], poll_value[8];
	struct cmdline cl;
};

/* The file: [artsync] log_level, [secondary] the rest, and more. */
static void
write_conf(const char *dir, const char *path, const char *level,
    const char *sync, const char *more)
{
	char text[4096];

	snprintf(text, sizeof(text), "[artsync]\nlog_level = %s\n[secondary]\n"
	    "sync_root = %s/%s\ndeploy_root = %s/dep\nlabels = default\n"
	    "poll_ms = 700\n%s", level, dir, sync, dir, more);
	tu_write_str(path, text);
}

/* A secondary's command line: --config FILE --poll-ms 300. */
static void
start(struct fixture *f, const char *dir)
{
	tu_path(f->conf, "%s/artsync.conf", dir);
	write_conf(dir, f->conf, "info", "sync", "");
	snprintf(f->config_flag, sizeof(f->config_flag), "--config");
	snprintf(f->poll_flag, sizeof(f->poll_flag), "--poll-ms");
	snprintf(f->poll_value, sizeof(f->poll_value), "300");
	f->argv[0] = "secondary";
	f->argv[1] = f->config_flag;
	f->argv[2] = f->conf;
	f->argv[3] = f->poll_flag;
	f->argv[4] = f->poll_value;
	f->argv[5] = NULL;
	assert_int_equal(cmdline_parse(5, f->argv, CONFIG_SECONDARY, &f->cl),
	    0);
	assert_int_equal(f->cl.c.poll_ms, 300);
}

static void
test_taken_now(void **state)
{
	const char *dir = *state;
	struct fixture f;
	unsigned what;

	start(&f, dir);
	write_conf(dir, f.conf, "debug", "sync", "labels = internal\n"
	    "max_lag_ms = 5000\nexec_hook = true\n");
	assert_int_equal(reload_config(&f.cl, &what), 0);
	assert_int_equal(f.cl.c.log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(f.cl.c.labels, "internal");
	assert_int_equal(f.cl.c.max_lag_ms, 5000);
	assert_string_equal(f.cl.c.exec_hook, "true");
	assert_true(what & RELOAD_LABELS);
	assert_false(what & RELOAD_WEBHOOK);
	log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
}

static void
test_restart_keys_kept(void **state)
{
	const char *dir = *state;
	char want[TU_PATH];
	struct fixture f;
	unsigned what;

	start(&f, dir);
	tu_path(want, "%s/sync", dir);
	write_conf(dir, f.conf, "info", "other", "keep_releases = 9\n");
	assert_int_equal(reload_config(&f.cl, &what), 0);
	assert_string_equal(f.cl.c.sync_root, want);
	assert_int_equal(f.cl.c.keep_releases, 5);
	assert_int_equal(what, 0);
}

static void
test_flags_still_win(void **state)
{
	const char *dir = *state;
	struct fixture f;
	unsigned what;

	start(&f, dir);
	write_conf(dir, f.conf, "info", "sync", "");	/* poll_ms = 700 */
	assert_int_equal(reload_config(&f.cl, &what), 0);
	assert_int_equal(f.cl.c.poll_ms, 300);
}

static void
test_bad_file_changes_nothing(void **state)
{
	const char *dir = *state;
	struct fixture f;
	struct config before;
	unsigned what;

	start(&f, dir);
	before = f.cl.c;
	write_conf(dir, f.conf, "debug", "sync", "labels = x\npoll_ms = soon\n");
	assert_int_equal(reload_config(&f.cl, &what), -1);
	assert_memory_equal(&before, &f.cl.c, sizeof(before));
	write_conf(dir, f.conf, "debug", "sync", "no_such_key = 1\n");
	assert_int_equal(reload_config(&f.cl, &what), -1);
	assert_memory_equal(&before, &f.cl.c, sizeof(before));
	tu_write_str(f.conf, "[secondary]\nsync_root = /x\n");	/* no
								 * deploy_root */
	assert_int_equal(reload_config(&f.cl, &what), -1);
	assert_memory_equal(&before, &f.cl.c, sizeof(before));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_taken_now, tu_setup_tmp,
		    tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_restart_keys_kept,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_flags_still_win,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_bad_file_changes_nothing,
		    tu_setup_tmp, tu_teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
