/*
 * test_pushfilter.c - unit tests of agent/pushfilter.c: what a push sends
 * and what it may delete on a target.
 *
 * pushfilter_write() is checked twice: by the rules it writes, and by
 * what the real rsync does with them (a local copy, as the push runs it:
 * in snapshots/, --delete, the rules on stdin). The primary's snapshots/
 * holds its version files and junk - a sparse 2 GB file, a hidden file, a
 * foreign one, names that only look like ours, a version file that is a
 * symlink, a directory or too big, a version above the one pushed. The
 * target holds foreign files of its own and an old version of ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "pushfilter.h"
#include "snap.h"
#include "testutil.h"

#define SPARSE_BYTES (2ull * 1000 * 1000 * 1000)	/* "2 GB" */

static void
sparse(const char *dir, const char *name, unsigned long long size)
{
	char p[TU_PATH];
	int fd;

	tu_path(p, "%s/%s", dir, name);
	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static void
file(const char *dir, const char *name, const char *body)
{
	char p[TU_PATH];

	tu_path(p, "%s/%s", dir, name);
	tu_write_str(p, body);
}

/* snapshots/ of a primary that published versions 1 (full) and 2 (a
 * delta), and is pushing 2; plus everything that is not its to send. */
static void
make_snapshots(const char *snaps)
{
	char p[TU_PATH];

	tu_mkdir(snaps);
	file(snaps, "1.manifest.json", "m1");
	file(snaps, "1.tar.zst", "a1");
	file(snaps, "1.state.json", "s1");
	file(snaps, "2.delta.json", "d2");
	file(snaps, "2.delta.tar.zst", "x2");
	file(snaps, "2.state.json", "s2");
	/* Not ours at all. */
	sparse(snaps, "junk.img", SPARSE_BYTES);
	file(snaps, ".hidden", "h");
	file(snaps, "foreign.txt", "f");
	file(snaps, "01.tar.zst", "leading zero");
	file(snaps, "1x.tar.zst", "not a number");
	file(snaps, "1.tar.zst.bak", "not a suffix of ours");
	file(snaps, "99999999999999999999.tar.zst", "over INT64_MAX");
	/* Named as ours, but no file of ours to send. */
	sparse(snaps, "1.delta.tar.zst", SPARSE_BYTES);
	file(snaps, "3.tar.zst", "a version not yet named");
	tu_path(p, "%s/2.state.sig", snaps);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	tu_path(p, "%s/1.state.sig", snaps);
	tu_mkdir(p);
	file(p, "inside", "i");
}

/* The rules pushfilter_write() writes for `upto`, as a string. */
static char *
rules(const char *snaps, uint64_t upto, int *excluded)
{
	struct snap_err err = SNAP_ERR_INIT;
	int dfd = tu_open_dir(snaps), fd;
	char *buf;
	off_t len;

	assert_true((fd = memfd_create("rules", MFD_CLOEXEC)) >= 0);
	*excluded = pushfilter_write(dfd, upto, fd, &err);
	if (*excluded < 0)
		fail_msg("pushfilter_write: %s", err.msg);
	assert_true((len = lseek(fd, 0, SEEK_END)) > 0);
	assert_non_null(buf = calloc(1, (size_t)len + 1));
	assert_int_equal(pread(fd, buf, (size_t)len, 0), len);
	close(fd);
	close(dfd);
	return buf;
}

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void
test_filter_rules(void **state)
{
	char snaps[TU_PATH], *r;
	int excluded;

	tu_path(snaps, "%s/snapshots", (char *)*state);
	make_snapshots(snaps);
	r = rules(snaps, 2, &excluded);
	/* Each name of ours that is no file to send, by name. */
	assert_int_equal(excluded, 4);
	assert_true(has_line(r, "- /1.delta.tar.zst"));	/* too big */
	assert_true(has_line(r, "- /3.tar.zst"));		/* above 2 */
	assert_true(has_line(r, "- /2.state.sig"));	/* a symlink */
	assert_true(has_line(r, "- /1.state.sig"));	/* a directory */
	/* Every name of ours, exactly: one to nineteen digits. */
	assert_true(has_line(r, "+ /[1-9].tar.zst"));
	assert_true(has_line(r, "+ /[1-9][0-9].delta.tar.zst"));
	assert_true(has_line(r, "+ /[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]"
	    "[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]"
	    ".state.sig"));
	assert_null(strstr(r, "[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]"
	    "[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]"));
	assert_null(strstr(r, "junk"));
	assert_null(strstr(r, "foreign"));
	/* And nothing else, last. */
	assert_true(strlen(r) > 5);
	assert_string_equal(r + strlen(r) - 5, "\n- *\n");
	free(r);
	/* Pushing version 3, its archive is one to send. */
	r = rules(snaps, 3, &excluded);
	assert_int_equal(excluded, 3);
	assert_false(has_line(r, "- /3.tar.zst"));
	free(r);
}

/* rsync -rt --delete --exclude-from=- ./ DST/ in snaps, the rules on
 * stdin: what push.c runs, with a local target. */
static int
run_rsync(const char *snaps, const char *rulesfile, const char *dst)
{
	char arg[TU_PATH];
	pid_t pid;
	int status, in;

	tu_path(arg, "%s/", dst);
	if ((pid = fork()) == 0) {
		if ((in = open(rulesfile, O_RDONLY)) == -1 ||
		    dup2(in, 0) == -1 || chdir(snaps) == -1)
			_exit(126);
		execlp("rsync", "rsync", "-rt", "--delete", "--exclude-from=-",
		    "--max-size=1342177280", "--", "./", arg, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_rsync_sends_ours_deletes_ours(void **state)
{
	const char *dir = *state;
	char snaps[TU_PATH], dst[TU_PATH], rf[TU_PATH], *r;
	int excluded, rc;

	if (system("rsync --version >/dev/null 2>&1") != 0)
		skip();
	tu_path(snaps, "%s/snapshots", dir);
	tu_path(dst, "%s/target", dir);
	tu_path(rf, "%s/rules", dir);
	make_snapshots(snaps);
	/* The target: foreign files (an operator's, the NFS client's, a
	 * folder), names that only look like ours, and an old version of
	 * ours that the primary has since removed. */
	tu_mkdir(dst);
	file(dst, "README.txt", "keep");
	file(dst, ".nfs0001", "keep");
	file(dst, "01.tar.zst", "keep");
	file(dst, "1.tar.zst.bak", "keep");
	tu_path(rf, "%s/target/notes", dir);
	tu_mkdir(rf);
	file(rf, "n.txt", "keep");
	file(dst, "3.tar.zst", "keep: excluded by name, so protected");
	file(dst, "0.state.json", "keep");
	file(dst, "7.tar.zst", "an old version: goes");
	file(dst, "7.state.json", "an old version: goes");

	tu_path(rf, "%s/rules", dir);
	r = rules(snaps, 2, &excluded);
	tu_write_str(rf, r);
	free(r);
	rc = run_rsync(snaps, rf, dst);
	if (rc != 0)
		fail_msg("rsync exited %d", rc);
	tu_assert_dir(dst, ".nfs0001,0.state.json,01.tar.zst,1.manifest.json,"
	    "1.state.json,1.tar.zst,1.tar.zst.bak,2.delta.json,"
	    "2.delta.tar.zst,2.state.json,3.tar.zst,README.txt,notes");
	tu_assert_file(dst, "1.tar.zst", "a1");
	tu_assert_file(dst, "3.tar.zst", "keep: excluded by name, so "
	    "protected");
	tu_assert_file(dst, "notes/n.txt", "keep");
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_filter_rules),
		TMP_TEST(test_rsync_sends_ours_deletes_ours),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
