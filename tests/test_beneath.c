/*
 * test_beneath.c - unit tests of snapshots/beneath.c.
 *
 * What the primitive promises, each checked both ways it can be kept: by
 * openat2(2) (this kernel's way) and by the component walk (forced with
 * beneath_force_walk(), as on a kernel without openat2). A symlink as the
 * last component or as any one on the way is refused and named with what
 * it points at; ".." and absolute paths are refused before any lookup;
 * nothing is created through a refused path; a plain path opens.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "beneath.h"
#include "testutil.h"

/* The tree every test starts from, below dir:
 *	a/b/c.txt            "c"
 *	a/b/lnk.txt    ->    c.txt
 *	a/link         ->    b            (a symlink on the way, inside)
 *	a/out          ->    DIR/outside  (one that leaves the tree)
 *	a/dlink        ->    b            (where a directory is wanted)
 *	f                    a plain file
 *	outside/keep.txt     "keep"       (what a followed link would reach) */
static int
make_tree(const char *dir)
{
	char p[TU_PATH], t[TU_PATH];

	tu_path(p, "%s/a", dir);
	tu_mkdir(p);
	tu_path(p, "%s/a/b", dir);
	tu_mkdir(p);
	tu_path(p, "%s/a/b/c.txt", dir);
	tu_write_str(p, "c");
	tu_path(p, "%s/a/b/lnk.txt", dir);
	assert_int_equal(symlink("c.txt", p), 0);
	tu_path(p, "%s/a/link", dir);
	assert_int_equal(symlink("b", p), 0);
	tu_path(p, "%s/a/dlink", dir);
	assert_int_equal(symlink("b", p), 0);
	tu_path(p, "%s/outside", dir);
	tu_mkdir(p);
	tu_path(p, "%s/outside/keep.txt", dir);
	tu_write_str(p, "keep");
	tu_path(p, "%s/a/out", dir);
	tu_path(t, "%s/outside", dir);
	assert_int_equal(symlink(t, p), 0);
	tu_path(p, "%s/f", dir);
	tu_write_str(p, "f");
	return tu_open_dir(dir);
}

/* beneath_open() fails with `want_errno` and a message holding `msg`. */
static void
refused(int dfd, const char *path, int flags, int want_errno, const char *msg)
{
	struct snap_err err = SNAP_ERR_INIT;
	int fd;

	errno = 0;
	fd = beneath_open(dfd, path, flags, 0644, &err);
	if (fd >= 0)
		fail_msg("%s opened", path);
	if (errno != want_errno)
		fail_msg("%s: errno %d (%s), expected %d", path, errno,
		    strerror(errno), want_errno);
	tu_assert_msg(err.msg, msg);
	tu_assert_clean_msg(err.msg);
}

static void
opens_plain_paths(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char buf[8];
	int dfd = make_tree(*state), fd;

	fd = beneath_open(dfd, "a/b/c.txt", O_RDONLY, 0, &err);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'c');
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	close(fd);
	/* Doubled slashes and "." are only spelling. */
	assert_true((fd = beneath_open(dfd, "a//b/./c.txt", O_RDONLY, 0,
	    &err)) >= 0);
	close(fd);
	assert_true((fd = beneath_open_dir(dfd, "a/b", &err)) >= 0);
	close(fd);
	assert_true((fd = beneath_open_dir(dfd, "a/b/", &err)) >= 0);
	close(fd);
	assert_true((fd = beneath_open_dir(dfd, ".", &err)) >= 0);
	close(fd);
	/* The usual errors are the usual errors, with the path. */
	refused(dfd, "a/b/none.txt", O_RDONLY, ENOENT, "a/b/none.txt: No such");
	refused(dfd, "f/x", O_RDONLY, ENOTDIR, "f/x: Not a directory");
	refused(dfd, "f", O_RDONLY | O_DIRECTORY, ENOTDIR,
	    "f: Not a directory");
	close(dfd);
}

static void
refuses_symlink_on_the_way(void **state)
{
	char p[TU_PATH];
	int dfd = make_tree(*state);

	/* Even one that stays inside the tree. */
	refused(dfd, "a/link/c.txt", O_RDONLY, ELOOP,
	    "a/link is a symlink (to 'b'): artsync never follows one there; "
	    "replace it with a directory");
	refused(dfd, "a/link/", O_RDONLY | O_DIRECTORY, ELOOP,
	    "a/link is a symlink (to 'b')");
	tu_path(p, "'%s/outside')", (char *)*state);
	refused(dfd, "a/out/keep.txt", O_RDONLY, ELOOP, p);
	refused(dfd, "a/out/new.txt", O_WRONLY | O_CREAT | O_EXCL, ELOOP,
	    "a/out is a symlink");
	/* Nothing was made where the link points. */
	tu_path(p, "%s/outside", (char *)*state);
	tu_assert_dir(p, "keep.txt");
	close(dfd);
}

static void
refuses_symlink_last(void **state)
{
	int dfd = make_tree(*state);

	refused(dfd, "a/b/lnk.txt", O_RDONLY, ELOOP,
	    "a/b/lnk.txt is a symlink (to 'c.txt'): artsync never follows "
	    "one there; replace it with a regular file");
	refused(dfd, "a/dlink", O_RDONLY | O_DIRECTORY, ELOOP,
	    "a/dlink is a symlink (to 'b'): artsync never follows one there; "
	    "replace it with a directory");
	refused(dfd, "a/out", O_RDONLY | O_DIRECTORY, ELOOP,
	    "a/out is a symlink");
	refused(dfd, "a/b/lnk.txt", O_WRONLY | O_CREAT, ELOOP,
	    "a/b/lnk.txt is a symlink");
	close(dfd);
}

static void
refuses_dotdot_and_absolute(void **state)
{
	char p[TU_PATH];
	int dfd = make_tree(*state);

	/* Refused as written, even where ".." would come back inside. */
	refused(dfd, "..", O_RDONLY | O_DIRECTORY, EXDEV,
	    "..: not a path below");
	refused(dfd, "../x", O_RDONLY, EXDEV, "../x: not a path below its "
	    "directory (absolute, or with '..')");
	refused(dfd, "a/../a/b/c.txt", O_RDONLY, EXDEV, "not a path below");
	refused(dfd, "a/b/..", O_RDONLY | O_DIRECTORY, EXDEV,
	    "not a path below");
	refused(dfd, "/etc/passwd", O_RDONLY, EXDEV, "/etc/passwd: not a path "
	    "below");
	tu_path(p, "%s/a/b/c.txt", (char *)*state);
	refused(dfd, p, O_RDONLY, EXDEV, "not a path below");
	/* A name that only starts with two dots is a name. */
	tu_path(p, "%s/a/..x", (char *)*state);
	tu_write_str(p, "x");
	refused(dfd, "a/..x/y", O_RDONLY, ENOTDIR, "Not a directory");
	close(dfd);
}

static void
creates_below(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char p[TU_PATH];
	struct stat st;
	int dfd = make_tree(*state), fd;

	fd = beneath_open(dfd, "a/b/new.txt", O_WRONLY | O_CREAT | O_EXCL,
	    0600, &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	close(fd);
	refused(dfd, "a/b/new.txt", O_WRONLY | O_CREAT | O_EXCL, EEXIST,
	    "a/b/new.txt: File exists");
	tu_path(p, "%s/a/b", (char *)*state);
	tu_assert_dir(p, "c.txt,lnk.txt,new.txt");
	close(dfd);
}

static void
make_dir(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char p[TU_PATH];
	int dfd = make_tree(*state), fd;

	assert_true((fd = beneath_make_dir(dfd, "snapshots", 0750,
	    &err)) >= 0);
	close(fd);
	/* Made once; found the next time. */
	assert_true((fd = beneath_make_dir(dfd, "snapshots", 0750,
	    &err)) >= 0);
	close(fd);
	assert_true((fd = beneath_make_dir(dfd, "a/b/sub", 0755, &err)) >= 0);
	close(fd);
	/* A symlink where the directory belongs, or on the way to it: named,
	 * left as it is, and nothing made where it points. */
	assert_int_equal(beneath_make_dir(dfd, "a/out", 0755, &err), -1);
	assert_int_equal(errno, ELOOP);
	tu_assert_msg(err.msg, "a/out is a symlink (to '");
	tu_assert_msg(err.msg, "replace it with a directory");
	assert_int_equal(beneath_make_dir(dfd, "a/out/sub", 0755, &err), -1);
	assert_int_equal(errno, ELOOP);
	tu_assert_msg(err.msg, "a/out is a symlink");
	assert_int_equal(beneath_make_dir(dfd, "a/link/sub", 0755, &err), -1);
	tu_assert_msg(err.msg, "a/link is a symlink (to 'b')");
	tu_path(p, "%s/outside", (char *)*state);
	tu_assert_dir(p, "keep.txt");
	tu_path(p, "%s/a/b", (char *)*state);
	tu_assert_dir(p, "c.txt,lnk.txt,sub");
	tu_path(p, "%s/a", (char *)*state);
	tu_assert_dir(p, "b,dlink,link,out");
	/* A file in its place, "..", no parent. */
	assert_int_equal(beneath_make_dir(dfd, "f", 0755, &err), -1);
	tu_assert_msg(err.msg, "f: Not a directory");
	assert_int_equal(beneath_make_dir(dfd, "a/../x", 0755, &err), -1);
	assert_int_equal(errno, EXDEV);
	assert_int_equal(beneath_make_dir(dfd, "none/x", 0755, &err), -1);
	assert_int_equal(errno, ENOENT);
	tu_assert_msg(err.msg, "none: No such");
	close(dfd);
}

/* A directory where we have search permission only: both ways open
 * through it, as the kernel's own walk does. */
static void
search_only_dir(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char p[TU_PATH];
	int dfd = make_tree(*state), fd;

	tu_path(p, "%s/a", (char *)*state);
	assert_int_equal(chmod(p, 0111), 0);
	fd = beneath_open(dfd, "a/b/c.txt", O_RDONLY, 0, &err);
	assert_int_equal(chmod(p, 0755), 0);
	assert_true(fd >= 0);
	close(fd);
	close(dfd);
}

/* openat2(2) made to fail with errnum for this process, as on an old
 * kernel (ENOSYS) or under a seccomp filter that predates it (EPERM). */
static int
deny_openat2(int errnum)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO |
		    ((unsigned)errnum & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]),
	    .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* In a child without openat2(2): what it refuses and what it opens are
 * the same, found by the walk (the probe decides, not a switch). */
static int
child_without_openat2(int dfd, int errnum)
{
	struct snap_err err = SNAP_ERR_INIT;
	int fd;

	if (deny_openat2(errnum) == -1)
		return 2;
	beneath_force_walk(false);	/* the probe runs again */
	if ((fd = beneath_open(dfd, "a/b/c.txt", O_RDONLY, 0, &err)) == -1)
		return 3;
	close(fd);
	if (beneath_open(dfd, "a/link/c.txt", O_RDONLY, 0, &err) != -1 ||
	    errno != ELOOP || strstr(err.msg, "a/link is a symlink (to 'b')")
	    == NULL)
		return 4;
	if (beneath_open(dfd, "../x", O_RDONLY, 0, &err) != -1 ||
	    errno != EXDEV)
		return 5;
	/* And openat2 really is gone here. */
	if (syscall(SYS_openat2, dfd, "a", NULL, 0) != -1 || errno != errnum)
		return 6;
	return 0;
}

static void
falls_back_without_openat2(void **state)
{
	static const int errnums[] = { ENOSYS, EPERM };
	int dfd = make_tree(*state), status;
	size_t i;
	pid_t pid;

	for (i = 0; i < sizeof(errnums) / sizeof(errnums[0]); i++) {
		if ((pid = fork()) == 0)
			_exit(child_without_openat2(dfd, errnums[i]));
		assert_true(pid > 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("without openat2 (%s): child status 0x%x",
			    strerror(errnums[i]), status);
	}
	close(dfd);
}

/* Each test both ways: openat2(2), then the walk. */
#define BOTH(f) \
static void f##_openat2(void **state) { beneath_force_walk(false); \
	f(state); } \
static void f##_walk(void **state) { beneath_force_walk(true); f(state); \
	beneath_force_walk(false); }

BOTH(opens_plain_paths)
BOTH(refuses_symlink_on_the_way)
BOTH(refuses_symlink_last)
BOTH(refuses_dotdot_and_absolute)
BOTH(creates_below)
BOTH(make_dir)
BOTH(search_only_dir)

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)
#define TMP_BOTH(f) TMP_TEST(f##_openat2), TMP_TEST(f##_walk)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_BOTH(opens_plain_paths),
		TMP_BOTH(refuses_symlink_on_the_way),
		TMP_BOTH(refuses_symlink_last),
		TMP_BOTH(refuses_dotdot_and_absolute),
		TMP_BOTH(creates_below),
		TMP_BOTH(make_dir),
		TMP_BOTH(search_only_dir),
		TMP_TEST(falls_back_without_openat2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
