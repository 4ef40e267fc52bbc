/*
 * test_token.c - the REST token: where it is, how it is made (random,
 * 0600, whole or not at all) and read (a secret, checked as a signing key
 * is), on the daemon's side and the CLI's alike.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "testutil.h"
#include "token.h"

static struct config *
secondary(const char *deploy_root, const char *token_file)
{
	static struct config c;

	config_defaults(&c, CONFIG_SECONDARY);
	snprintf(c.deploy_root, sizeof(c.deploy_root), "%s", deploy_root);
	snprintf(c.token_file, sizeof(c.token_file), "%s", token_file);
	return &c;
}

static void
test_path(void **state)
{
	char path[TU_PATH], small[8];
	bool gen = true;

	(void)state;
	assert_int_equal(token_path(secondary("", ""), path, sizeof(path),
	    &gen), 0);
	assert_string_equal(path, "");
	assert_false(gen);
	assert_int_equal(token_path(secondary("/d", ""), path, sizeof(path),
	    &gen), 0);
	assert_string_equal(path, "/d/rest.token");
	assert_true(gen);
	assert_int_equal(token_path(secondary("/d", "/etc/t"), path,
	    sizeof(path), &gen), 0);
	assert_string_equal(path, "/etc/t");
	assert_false(gen);
	assert_int_equal(token_path(secondary("/deploy", ""), small,
	    sizeof(small), &gen), -1);
}

/* Entries of dir but "." and "..": a temp file left would show. */
static int
entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void
test_generated(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	const char *dir = *state;
	char tok[TOKEN_MAX + 1], again[TOKEN_MAX + 1], path[TU_PATH], *text;
	struct stat st;
	bool created;
	int rootfd;

	assert_true((rootfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	assert_int_equal(token_load(secondary(dir, ""), rootfd, tok,
	    sizeof(tok), &created, &err), 0);
	assert_true(created);
	/* 256 random bits in hex, a newline; owner only; nothing else. */
	assert_int_equal(strlen(tok), 64);
	assert_int_equal(strspn(tok, "0123456789abcdef"), 64);
	tu_path(path, "%s/rest.token", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	text = tu_slurp(path, NULL);
	assert_int_equal(strlen(text), 65);
	assert_int_equal(text[64], '\n');
	free(text);
	assert_int_equal(entries(dir), 1);

	/* Kept: the next start reads the same one. */
	assert_int_equal(token_load(secondary(dir, ""), rootfd, again,
	    sizeof(again), &created, &err), 0);
	assert_false(created);
	assert_string_equal(again, tok);

	/* Others may read it now: refused, the fix said, nothing replaced. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(token_load(secondary(dir, ""), rootfd, again,
	    sizeof(again), &created, &err), -1);
	tu_assert_msg(err.msg, "rest.token: a secret that others may read "
	    "(mode 0644): chmod 600 ");
	assert_false(created);
	assert_int_equal(chmod(path, 0600), 0);

	/* A symlink planted there is not followed, even to a good token. */
	tu_path(path, "%s/decoy", dir);
	tu_write_str(path, "decoy\n");
	assert_int_equal(chmod(path, 0600), 0);
	tu_path(path, "%s/rest.token", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("decoy", path), 0);
	assert_int_equal(token_load(secondary(dir, ""), rootfd, again,
	    sizeof(again), &created, &err), -1);
	tu_assert_msg(err.msg, "rest.token");
	assert_false(created);
	close(rootfd);
}

static void
test_configured(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	const char *dir = *state;
	char tok[TOKEN_MAX + 1], path[TU_PATH];
	bool created;
	int rootfd;

	assert_true((rootfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	tu_path(path, "%s/mine", dir);
	tu_write_str(path, "  operator-token \n");
	assert_int_equal(chmod(path, 0400), 0);
	/* " operator-token": leading blanks are bytes of the token, which a
	 * header cannot carry. */
	assert_int_equal(token_load(secondary(dir, path), rootfd, tok,
	    sizeof(tok), &created, &err), -1);
	tu_assert_msg(err.msg, "token_file: ");
	tu_assert_msg(err.msg, "byte 0x20 at offset 0");
	tu_write_str(path, "operator-token\n");
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(token_load(secondary(dir, path), rootfd, tok,
	    sizeof(tok), &created, &err), 0);
	assert_string_equal(tok, "operator-token");
	assert_false(created);
	/* No rest.token is made when token_file is set. */
	assert_int_equal(entries(dir), 1);
	/* Group-readable (0640) is refused too: a token is the owner's. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(token_load(secondary(dir, path), rootfd, tok,
	    sizeof(tok), &created, &err), -1);
	tu_assert_msg(err.msg, "token_file: ");
	tu_assert_msg(err.msg, "(mode 0640): chmod 600 ");
	tu_path(path, "%s/none", dir);
	assert_int_equal(token_load(secondary(dir, path), rootfd, tok,
	    sizeof(tok), &created, &err), -1);
	tu_assert_msg(err.msg, "none: No such file");
	close(rootfd);
}

/* The deploy root cannot take a file: the start fails, saying where. */
static void
test_unwritable(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char tok[TOKEN_MAX + 1];
	bool created;
	int fd;

	(void)state;
	/* A read-only fd of /proc: no file can be created there. */
	assert_true((fd = open("/proc", O_RDONLY | O_DIRECTORY)) >= 0);
	assert_int_equal(token_load(secondary("/proc", ""), fd, tok,
	    sizeof(tok), &created, &err), -1);
	tu_assert_msg(err.msg, "deploy root /proc: ");
	assert_false(created);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test_setup_teardown(test_generated, tu_setup_tmp,
		    tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_configured, tu_setup_tmp,
		    tu_teardown_tmp),
		cmocka_unit_test(test_unwritable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
