/*
 * test_pushconf.c - the push_* keys: what is taken, what is refused, and
 * the rsync options each kind of target gets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "config.h"
#include "push.h"
#include "pushconf.h"
#include "testutil.h"

static void
test_options_refused(void **state)
{
	static const char *const bad[] = {
		"--inplace", "--append-verify", "--remove-source-files",
		"--delete-after", "--del", "--temp-dir=/t", "--partial-dir=x",
		"--delay-updates", "--exclude=*.json", "--filter=- *",
		"--ignore-existing", "--update", "--size-only", "--dry-run",
		"--rsh=ssh", "--password-file=p", "--max-size=1",
		"-v", "--", "--=x", "x", "--bwlimit=1 -n",
	};
	struct snap_err err = SNAP_ERR_INIT;
	struct config c;
	size_t i;

	(void)state;
	config_defaults(&c, CONFIG_PRIMARY);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (config_set(&c, "primary", "push_rsync_options", bad[i],
		    &err) != -1)
			fail_msg("'%s' taken", bad[i]);
		tu_assert_msg(err.msg, "push_rsync_options: ");
	}
	assert_string_equal(c.push_rsync_options, "");
	assert_int_equal(config_set(&c, "primary", "push_rsync_options",
	    "--bwlimit=100  --checksum --timeout=9", &err), 0);
	/* --delete itself is ours (stage 1); a prefix of ours is not. */
	assert_int_equal(config_set(&c, "primary", "push_rsync_options",
	    "--delete", &err), -1);
}

static void
test_argv_per_target(void **state)
{
	struct config c;
	struct push_opts o;
	char *argv[PUSH_OPTS_ARGV + 1];
	int i;

	(void)state;
	config_defaults(&c, CONFIG_PRIMARY);
	snprintf(c.push_rsh, sizeof(c.push_rsh), "/usr/bin/ssh -p 2");
	snprintf(c.push_password_file, sizeof(c.push_password_file), "/pw");
	snprintf(c.push_rsync_options, sizeof(c.push_rsync_options),
	    "--bwlimit=5 --checksum");
	push_opts_init(&o, &c);

	i = 0;
	push_opts_argv(&o, "gw:/srv/sync", argv, &i);
	assert_int_equal(i, 4);
	assert_string_equal(argv[0], "-e");
	assert_string_equal(argv[1], "/usr/bin/ssh -p 2");
	assert_string_equal(argv[2], "--bwlimit=5");
	assert_string_equal(argv[3], "--checksum");

	i = 0;
	push_opts_argv(&o, "rsync://u@h/m/", argv, &i);
	assert_int_equal(i, 4);
	assert_string_equal(argv[0], "--password-file");
	assert_string_equal(argv[1], "/pw");

	i = 0;
	push_opts_argv(&o, "/mnt/share2", argv, &i);
	assert_int_equal(i, 3);
	assert_string_equal(argv[0], "--fsync");

	c.push_rsh[0] = '\0';
	snprintf(c.push_ssh_key, sizeof(c.push_ssh_key), "/k/id");
	push_opts_init(&o, &c);
	i = 0;
	push_opts_argv(&o, "gw:/srv/sync", argv, &i);
	assert_string_equal(argv[1], "ssh -i /k/id -o BatchMode=yes");
}

static void
test_files_checked(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char pw[TU_PATH], key[TU_PATH], none[TU_PATH];
	struct config c;

	config_defaults(&c, CONFIG_PRIMARY);
	tu_path(pw, "%s/pw", (char *)*state);
	tu_path(key, "%s/key", (char *)*state);
	tu_write_str(pw, "s3cret\n");
	tu_write_str(key, "k\n");
	chmod(pw, 0644);
	snprintf(c.push_password_file, sizeof(c.push_password_file), "%s", pw);
	assert_int_equal(push_config_check(&c, &err), -1);
	tu_assert_msg(err.msg, "chmod 600");
	tu_assert_msg(err.msg, pw);
	chmod(pw, 0600);
	assert_int_equal(push_config_check(&c, &err), 0);
	tu_path(none, "%s/none", (char *)*state);
	snprintf(c.push_ssh_key, sizeof(c.push_ssh_key), "%s", none);
	assert_int_equal(push_config_check(&c, &err), -1);
	tu_assert_msg(err.msg, "push_ssh_key ");
	snprintf(c.push_ssh_key, sizeof(c.push_ssh_key), "%s", key);
	assert_int_equal(push_config_check(&c, &err), 0);
	snprintf(c.push_rsh, sizeof(c.push_rsh), "ssh");
	assert_int_equal(push_config_check(&c, &err), -1);
	tu_assert_msg(err.msg, "both set");
	assert_int_equal(config_set(&c, "primary", "push_ssh_key", "/a b",
	    &err), -1);
}

static void
test_local_targets(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;

	(void)state;
	assert_int_equal(push_check_target("/mnt/share2/sync", &err), 0);
	assert_int_equal(push_check_target("/mnt/a:b", &err), -1);
	assert_int_equal(push_check_target("relative/path", &err), -1);
	assert_true(push_target_is_local("/mnt/x"));
	assert_false(push_target_is_local("host:/x"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_refused),
		cmocka_unit_test(test_argv_per_target),
		cmocka_unit_test_setup_teardown(test_files_checked,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test(test_local_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
