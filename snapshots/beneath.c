/*
 * beneath.c - openat2(2) below a directory, or the same walk by hand (see
 * beneath.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "beneath.h"

#define RESOLVE_OURS \
	(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
/* openat2(2) fails with EAGAIN when a rename elsewhere raced its lookup;
 * after a few of those the walk, which cannot be raced that way, goes. */
#define OPENAT2_TRIES 4

enum { UNKNOWN, WITH_OPENAT2, WITHOUT_OPENAT2 };

static int kernel = UNKNOWN;	/* what the probe found, once */
static bool force_walk;

void
beneath_force_walk(bool on)
{
	force_walk = on;
	__atomic_store_n(&kernel, UNKNOWN, __ATOMIC_RELAXED);
}

static int
openat2_call(int dirfd, const char *path, int flags, mode_t mode,
    uint64_t resolve)
{
	struct open_how how = { .flags = (uint64_t)(unsigned)flags,
	    .mode = flags & O_CREAT ? mode : 0, .resolve = resolve };

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* Whether this kernel has openat2(2) and its RESOLVE_ flags: probed once,
 * on "/" (O_PATH needs no permission on it). ENOSYS is an old kernel;
 * EPERM a seccomp filter (a container runtime) that predates the call. */
static bool
has_openat2(void)
{
	int k = __atomic_load_n(&kernel, __ATOMIC_RELAXED), fd;

	if (force_walk)
		return false;
	if (k != UNKNOWN)
		return k == WITH_OPENAT2;
	fd = openat2_call(AT_FDCWD, "/", O_PATH | O_CLOEXEC, 0,
	    RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd >= 0) {
		close(fd);
		k = WITH_OPENAT2;
	} else if (errno == ENOSYS || errno == EPERM || errno == EINVAL ||
	    errno == E2BIG) {
		k = WITHOUT_OPENAT2;
	} else {
		return false;	/* EMFILE, ENOMEM: ask again next time */
	}
	__atomic_store_n(&kernel, k, __ATOMIC_RELAXED);
	return k == WITH_OPENAT2;
}

/* Relative, and no ".." component: -1 with EXDEV otherwise (as openat2
 * says). */
static int
check_path(const char *path, struct snap_err *err)
{
	const char *p = path;
	size_t n;

	while (path[0] != '/' && *p != '\0') {
		n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			break;
		p += n;
		while (*p == '/')
			p++;
	}
	if (path[0] != '/' && *p == '\0')
		return 0;
	snap_err_set(err, "%s: not a path below its directory (absolute, "
	    "or with '..')", path);
	errno = EXDEV;
	return -1;
}

/* Splits the next component off *p in place (buf is the caller's copy):
 * the component, *p past it and its slashes, *last when none follows,
 * *slash when a slash followed it. */
static char *
next_component(char **p, bool *last, bool *slash)
{
	char *comp = *p, *end = comp + strcspn(comp, "/");

	*slash = *end == '/';
	if (*end != '\0')
		*end++ = '\0';
	while (*end == '/')
		end++;
	*last = *end == '\0';
	*p = end;
	return comp;
}

/* The fallback: every directory on the way opened with O_NOFOLLOW (O_PATH:
 * search permission is enough, as for the kernel's own walk), the last
 * component with O_NOFOLLOW too. -1 with errno: a symlink on the way is
 * ENOTDIR (O_DIRECTORY | O_NOFOLLOW), as the last one ELOOP. */
static int
walk(int dirfd, const char *path, int flags, mode_t mode)
{
	char buf[PATH_MAX], *p = buf, *comp;
	bool last, slash;
	int fd = dirfd, nfd, saved;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (;;) {
		comp = next_component(&p, &last, &slash);
		if (last)
			break;
		if (strcmp(comp, ".") == 0)
			continue;
		nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		saved = errno;
		if (fd != dirfd)
			close(fd);
		if (nfd == -1) {
			errno = saved;
			return -1;
		}
		fd = nfd;
	}
	/* "dir/" must be a directory, as the kernel has it. */
	nfd = openat(fd, comp, flags | (slash ? O_DIRECTORY : 0), mode);
	saved = errno;
	if (fd != dirfd)
		close(fd);
	errno = saved;
	return nfd;
}

/*
 * After ELOOP or ENOTDIR: finds the first component of path that is a
 * symlink and names it in err (errno ELOOP); when there is none (a file
 * where a directory belongs), err says what `saved` says.
 */
static void
describe(int dirfd, const char *path, int flags, int saved,
    struct snap_err *err)
{
	char buf[PATH_MAX], target[256], *p = buf, *comp;
	struct stat st;
	bool last, slash;
	int fd = dirfd, nfd;
	ssize_t n;

	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		comp = next_component(&p, &last, &slash);
		if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == -1)
			break;
		if (S_ISLNK(st.st_mode)) {
			n = readlinkat(fd, comp, target, sizeof(target) - 1);
			target[n > 0 ? n : 0] = '\0';
			snap_err_set(err, "%.*s is a symlink (to '%s'): artsync "
			    "never follows one there; replace it with a %s",
			    (int)(comp - buf + strlen(comp)), path,
			    n > 0 ? target : "?", last && !slash &&
			    !(flags & O_DIRECTORY) ? "regular file" :
			    "directory");
			saved = ELOOP;
			goto out;
		}
		if (last || (nfd = openat(fd, comp, O_PATH | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1)
			break;
		if (fd != dirfd)
			close(fd);
		fd = nfd;
	}
	snap_err_sys(err, saved, "%s", path);
out:
	if (fd != dirfd)
		close(fd);
	errno = saved;
}

int
beneath_open(int dirfd, const char *path, int flags, mode_t mode,
    struct snap_err *err)
{
	int fd = -1, saved, tries;

	if (check_path(path, err) == -1)
		return -1;
	flags |= O_NOFOLLOW | O_CLOEXEC;
	if (has_openat2()) {
		for (tries = 0; tries < OPENAT2_TRIES; tries++)
			if ((fd = openat2_call(dirfd, path, flags, mode,
			    RESOLVE_OURS)) >= 0 || errno != EAGAIN)
				break;
		if (fd >= 0)
			return fd;
		if (errno == EAGAIN)
			fd = walk(dirfd, path, flags, mode);
	} else {
		fd = walk(dirfd, path, flags, mode);
	}
	if (fd >= 0)
		return fd;
	saved = errno;
	if (saved == ELOOP || saved == ENOTDIR) {
		describe(dirfd, path, flags, saved, err);
	} else {
		snap_err_sys(err, saved, "%s", path);
		errno = saved;
	}
	return -1;
}

int
beneath_open_dir(int dirfd, const char *path, struct snap_err *err)
{
	return beneath_open(dirfd, path, O_RDONLY | O_DIRECTORY, 0, err);
}

int
beneath_make_dir(int dirfd, const char *path, mode_t mode,
    struct snap_err *err)
{
	const char *slash = strrchr(path, '/');
	char parent[PATH_MAX];
	int pfd = dirfd, saved, rc;

	if (check_path(path, err) == -1)
		return -1;
	/* mkdirat() itself follows a symlink on the way: the parent is
	 * opened first, as everything is. */
	if (slash != NULL) {
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path),
		    path);
		if ((pfd = beneath_open_dir(dirfd, parent, err)) == -1)
			return -1;
	}
	rc = mkdirat(pfd, slash != NULL ? slash + 1 : path, mode);
	saved = errno;
	if (pfd != dirfd)
		close(pfd);
	if (rc == -1 && saved != EEXIST) {
		snap_err_sys(err, saved, "%s: mkdir", path);
		errno = saved;
		return -1;
	}
	return beneath_open_dir(dirfd, path, err);
}
