/*
 * fsutil.c - temp-fsync-rename writes, bounded reads, tree removal (see
 * fsutil.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "beneath.h"
#include "fsutil.h"

int
fsu_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fsu_create_new(int dirfd, const char *name)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd;

	/* Most names are new (a fresh build): one call, no unlink. */
	if ((fd = openat(dirfd, name, flags, 0644)) >= 0 || errno != EEXIST)
		return fd;
	if (unlinkat(dirfd, name, 0) == -1)
		return -1;
	return openat(dirfd, name, flags, 0644);
}

static int
tmp_open(struct fsu_tmp *t, int dirfd, const char *name, mode_t mode,
    struct snap_err *err)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned long r;
	int i, attempt;

	t->dirfd = dirfd;
	t->fd = -1;
	if (snprintf(t->final, sizeof(t->final), "%s", name) >=
	    (int)sizeof(t->final))
		return snap_err_set(err, "%s: name too long", name);
	/* mkostemp wants a path; build our own unique name for openat. */
	for (attempt = 0; attempt < 100; attempt++) {
		char suffix[7];

		r = (unsigned long)random() ^ ((unsigned long)getpid() << 8) ^
		    (unsigned long)attempt;
		for (i = 0; i < 6; i++, r /= 36)
			suffix[i] = digits[r % 36];
		suffix[6] = '\0';
		snprintf(t->tmp, sizeof(t->tmp), ".%s.tmp-%s", name, suffix);
		t->fd = openat(dirfd, t->tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		if (t->fd >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	t->tmp[0] = '\0';
	return snap_err_sys(err, errno, "%s: cannot create temp file", name);
}

int
fsu_tmp_open(struct fsu_tmp *t, int dirfd, const char *name,
    struct snap_err *err)
{
	return tmp_open(t, dirfd, name, 0644, err);
}

int
fsu_tmp_open_final(struct fsu_tmp *t, int dirfd, const char *name,
    struct snap_err *err)
{
	*t = (struct fsu_tmp)FSU_TMP_INIT;
	t->dirfd = dirfd;
	if (snprintf(t->final, sizeof(t->final), "%s", name) >=
	    (int)sizeof(t->final))
		return snap_err_set(err, "%s: name too long", name);
	t->fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0644);
	if (t->fd == -1)
		return snap_err_sys(err, errno, "%s: cannot create", name);
	return 0;
}

/* Is s a temp name fsu_tmp_open() makes for name (any name when NULL)? */
static bool
is_tmp_name(const char *s, const char *name)
{
	static const char tag[] = ".tmp-";
	size_t len = strlen(s), mid, i;

	/* "." NAME ".tmp-" and six of fsu_tmp_open()'s digits. */
	if (s[0] != '.' || len < 1 + 1 + strlen(tag) + 6)
		return false;
	mid = len - 1 - strlen(tag) - 6;
	if (strncmp(s + 1 + mid, tag, strlen(tag)) != 0)
		return false;
	for (i = len - 6; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')))
			return false;
	return name == NULL || (strlen(name) == mid &&
	    strncmp(s + 1, name, mid) == 0);
}

size_t
fsu_tmp_sweep(int dirfd, const char *name)
{
	struct dirent *de;
	struct stat st;
	size_t removed = 0;
	DIR *d;

	if ((d = fsu_opendir_dup(dirfd)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (!is_tmp_name(de->d_name, name) ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

void
fsu_tmp_abort(struct fsu_tmp *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->tmp[0] != '\0')
		unlinkat(t->dirfd, t->tmp, 0);
	t->tmp[0] = '\0';
}

int
fsu_tmp_commit(struct fsu_tmp *t, struct snap_err *err)
{
	int saved;

	if (fsync(t->fd) == -1) {
		saved = errno;
		fsu_tmp_abort(t);
		return snap_err_sys(err, saved, "%s: fsync", t->final);
	}
	if (close(t->fd) == -1) {
		saved = errno;
		t->fd = -1;
		fsu_tmp_abort(t);
		return snap_err_sys(err, saved, "%s: close", t->final);
	}
	t->fd = -1;
	if (renameat(t->dirfd, t->tmp, t->dirfd, t->final) == -1) {
		saved = errno;
		fsu_tmp_abort(t);
		return snap_err_sys(err, saved, "%s: rename", t->final);
	}
	t->tmp[0] = '\0';
	return 0;
}

int
fsu_fsync_dir(int dirfd, const char *what, struct snap_err *err)
{
	if (fsync(dirfd) == -1)
		return snap_err_sys(err, errno, "%s: fsync directory", what);
	return 0;
}

int
fsu_write_atomic(int dirfd, const char *name, const void *buf, size_t len,
    struct snap_err *err)
{
	return fsu_write_atomic_mode(dirfd, name, buf, len, 0644, err);
}

int
fsu_write_unsynced(int dirfd, const char *name, const void *buf, size_t len,
    struct snap_err *err)
{
	struct fsu_tmp t = FSU_TMP_INIT;
	int saved;

	if (tmp_open(&t, dirfd, name, 0644, err) == -1)
		return -1;
	if (fsu_write_all(t.fd, buf, len) == -1) {
		saved = errno;
		fsu_tmp_abort(&t);
		return snap_err_sys(err, saved, "%s: write", name);
	}
	if (close(t.fd) == -1) {
		saved = errno;
		t.fd = -1;
		fsu_tmp_abort(&t);
		return snap_err_sys(err, saved, "%s: close", name);
	}
	t.fd = -1;
	if (renameat(dirfd, t.tmp, dirfd, t.final) == -1) {
		saved = errno;
		fsu_tmp_abort(&t);
		return snap_err_sys(err, saved, "%s: rename", name);
	}
	return 0;
}

int
fsu_write_atomic_mode(int dirfd, const char *name, const void *buf,
    size_t len, mode_t mode, struct snap_err *err)
{
	struct fsu_tmp t = FSU_TMP_INIT;

	if (tmp_open(&t, dirfd, name, mode, err) == -1)
		return -1;
	if (fsu_write_all(t.fd, buf, len) == -1) {
		int saved = errno;

		fsu_tmp_abort(&t);
		return snap_err_sys(err, saved, "%s: write", name);
	}
	if (fsu_tmp_commit(&t, err) == -1)
		return -1;
	return fsu_fsync_dir(dirfd, name, err);
}

int
fsu_check_regular(int fd, const char *name, struct snap_err *err)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return snap_err_sys(err, errno, "%s: stat", name);
	if (!S_ISREG(st.st_mode))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s: not a regular file", name);
	return 0;
}

int
fsu_check_private(const struct stat *st, const char *path, const char *what,
    struct snap_err *err)
{
	if ((st->st_mode & 077) == 0)
		return 0;
	return snap_err_set(err, "%s: %s that others may read (mode 0%03o): "
	    "chmod 600 %s", path, what, (unsigned)(st->st_mode & 0777), path);
}

int
fsu_set_mtime(int fd, int64_t secs)
{
	struct timespec ts[2] = {
		{ .tv_sec = 0, .tv_nsec = UTIME_OMIT },
		{ .tv_sec = (time_t)secs, .tv_nsec = 0 },
	};

	return futimens(fd, ts);
}

int
fsu_read_file(int dirfd, const char *name, size_t max, char **out,
    size_t *outlen, struct snap_err *err)
{
	return fsu_read_file_flags(dirfd, name, max, 0, out, outlen, err);
}

int
fsu_read_file_flags(int dirfd, const char *name, size_t max, unsigned flags,
    char **out, size_t *outlen, struct snap_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, rc = -1;

	*out = NULL;
	/* O_NONBLOCK: a FIFO planted under a trusted name must not hang us;
	 * it is refused by the fstat below, before any read. */
	if (dirfd != AT_FDCWD && !(flags & FSU_FOLLOW))
		fd = beneath_open(dirfd, name, O_RDONLY | O_NONBLOCK, 0, err);
	else if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    (flags & FSU_FOLLOW ? 0 : O_NOFOLLOW))) == -1)
		snap_err_sys(err, errno, "%s", name);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		snap_err_sys(err, errno, "%s: stat", name);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s: not a regular file", name);
		goto out;
	}
	if ((flags & FSU_SECRET) &&
	    fsu_check_private(&st, name, "a secret", err) == -1)
		goto out;
	if ((uint64_t)st.st_size > max) {
		snap_err_setc(err, SNAP_E_TOO_LARGE,
		    "%s: larger than the %zu-byte limit", name, max);
		goto out;
	}
	/* The size may still change under us (NFS, a writer): read to EOF,
	 * never holding more than max + 1 bytes, rather than trust st_size.
	 * A secret (small) gets all of that at once: never a realloc that
	 * would leave a copy of it behind. */
	cap = (flags & FSU_SECRET) ? max + 2 : (size_t)st.st_size + 2;
	if ((buf = malloc(cap)) == NULL) {
		snap_err_sys(err, errno, "%s", name);
		goto out;
	}
	for (;;) {
		if (len + 1 == cap) {
			size_t ncap = cap > max / 2 ? max + 2 : cap * 2;
			char *nb;

			if (ncap <= cap || (nb = realloc(buf, ncap)) == NULL) {
				snap_err_setc(err, SNAP_E_TOO_LARGE,
				    "%s: larger than the %zu-byte "
				    "limit", name, max);
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snap_err_sys(err, errno, "%s: read", name);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			snap_err_setc(err, SNAP_E_TOO_LARGE,
			    "%s: larger than the %zu-byte limit",
			    name, max);
			goto out;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL && (flags & FSU_SECRET))
		explicit_bzero(buf, cap);
	free(buf);
	close(fd);
	return rc;
}

static int remove_entry(int dirfd, const char *name, struct snap_err *err);

int
fsu_remove_children(int dirfd, const char *what, struct snap_err *err)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = fsu_opendir_dup(dirfd)) == NULL)
		return snap_err_sys(err, errno, "%s: opendir", what);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (remove_entry(dirfd, de->d_name, err) == -1) {
			rc = -1;
			break;
		}
	}
	closedir(d);
	return rc;
}

/* Removes the entry `name` of dirfd: a directory with all below it, any
 * other file (a symlink included) by unlinking it. */
static int
remove_entry(int dirfd, const char *name, struct snap_err *err)
{
	struct stat st;
	int fd, rc;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		return snap_err_sys(err, errno, "%s: stat", name);
	}
	if (S_ISDIR(st.st_mode)) {
		/* O_NOFOLLOW: a symlink swapped in since the stat is not
		 * entered (ENOTDIR), and stays. */
		fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1)
			return snap_err_sys(err, errno, "%s: open", name);
		rc = fsu_remove_children(fd, name, err);
		close(fd);
		if (rc == -1)
			return -1;
		if (unlinkat(dirfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT)
			return snap_err_sys(err, errno, "%s: rmdir", name);
		return 0;
	}
	if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
		return snap_err_sys(err, errno, "%s: unlink", name);
	return 0;
}

int
fsu_remove_tree(int dirfd, const char *path, struct snap_err *err)
{
	const char *slash = strrchr(path, '/');
	char parent[PATH_MAX];
	int pfd, rc;

	if (slash == NULL)
		return remove_entry(dirfd, path, err);
	/* The directories on the way: below a directory of ours never
	 * through a symlink; from AT_FDCWD as the caller's path says. */
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
	if (dirfd != AT_FDCWD)
		pfd = beneath_open_dir(dirfd, parent, err);
	else if ((pfd = open(parent, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		snap_err_sys(err, errno, "%s", parent);
	if (pfd == -1)
		return errno == ENOENT ? 0 : -1;
	rc = remove_entry(pfd, slash + 1, err);
	close(pfd);
	if (rc == -1)
		return snap_err_prefix(err, "%s", parent);
	return 0;
}

int
fsu_mkdirs(const char *path, struct snap_err *err)
{
	char buf[4096], *p;

	if (path[0] == '\0')
		return snap_err_set(err, "empty path");
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return snap_err_set(err, "%s: path too long", path);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return snap_err_sys(err, errno, "%s: mkdir", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) == -1 && errno != EEXIST)
		return snap_err_sys(err, errno, "%s: mkdir", buf);
	return 0;
}

DIR *
fsu_opendir_dup(int dirfd)
{
	DIR *d;
	int fd, saved;

	if ((fd = dup(dirfd)) == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	/* The dup shares dirfd's offset, wherever an earlier reader left it. */
	rewinddir(d);
	return d;
}

int
fsu_open_root(const char *path, struct snap_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		return snap_err_sys(err, errno, "%s", path);
	return fd;
}
