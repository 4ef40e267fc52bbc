/*
 * swap.c - replace DEPLOY_ROOT/current in one rename (see swap.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "swap.h"

#define CURRENT "current"
#define CURRENT_TMP "current.tmp"
#define PREFIX "releases/"

int
swap_current(int rootfd, const char *target, struct snap_err *err)
{
	/* A stale current.tmp is left by a crash between these two calls. */
	if (unlinkat(rootfd, CURRENT_TMP, 0) == -1 && errno != ENOENT)
		return snap_err_sys(err, errno, CURRENT_TMP ": unlink");
	if (symlinkat(target, rootfd, CURRENT_TMP) == -1)
		return snap_err_sys(err, errno, CURRENT_TMP ": symlink");
	if (renameat(rootfd, CURRENT_TMP, rootfd, CURRENT) == -1) {
		int saved = errno;

		unlinkat(rootfd, CURRENT_TMP, 0);
		return snap_err_sys(err, saved, CURRENT ": rename");
	}
	return fsu_fsync_dir(rootfd, "deploy root", err);
}

int
swap_read_current(int rootfd, char *out, size_t outlen, struct snap_err *err)
{
	char link[256];
	ssize_t n;

	n = readlinkat(rootfd, CURRENT, link, sizeof(link) - 1);
	if (n == -1) {
		if (errno == ENOENT)
			return 1;
		return snap_err_sys(err, errno, CURRENT);
	}
	link[n] = '\0';
	if (strncmp(link, PREFIX, strlen(PREFIX)) != 0 ||
	    strchr(link + strlen(PREFIX), '/') != NULL ||
	    strlen(link + strlen(PREFIX)) >= outlen)
		return snap_err_set(err, CURRENT " points at '%s', not at a "
		    "release of ours", link);
	snprintf(out, outlen, "%s", link + strlen(PREFIX));
	return 0;
}
