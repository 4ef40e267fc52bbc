/*
 * deploy_open.c - the deploy root opened and closed (deploy.h).
 *
 * deploy_open() takes the root's flock (one agent per deploy root), makes
 * releases/ and upstream/ without following a symlink, loads the release
 * current points at, removes what a crash left (deploy.h: "Crash
 * safety") and applies retention: a kill between a swap and its
 * retention left one release too many. A failure leaves d for
 * deploy_close(), which frees whatever was set up, DEPLOY_INIT included.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "deploy_int.h"
#include "fsutil.h"
#include "swap.h"

static bool
is_dir(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode);
}

/* Removes what a crash may have left: see deploy.h. */
static int
clean_leftovers(struct deploy *d, struct snap_err *err)
{
	char base[NAME_MAX_BYTES + 8];
	struct release r;
	struct dirent *de;
	DIR *dir;
	int rc = 0, fd;

	/* .staging goes, but a symlink in its place is refused: neither
	 * entered nor removed. */
	if ((fd = beneath_open_dir(d->rootfd, STAGING, err)) == -1 &&
	    errno != ENOENT)
		return -1;
	if (fd >= 0)
		close(fd);
	if ((fd >= 0 && fsu_remove_tree(d->rootfd, STAGING, err) == -1) ||
	    fsu_remove_tree(d->rootfd, "current.tmp", err) == -1)
		return -1;
	(void)fsu_tmp_sweep(d->upfd, NULL);	/* a record cut short */
	if ((dir = fsu_opendir_dup(d->relfd)) == NULL)
		return snap_err_sys(err, errno, "releases");
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		const char *name = de->d_name;
		size_t len = strlen(name);
		bool drop = false;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (release_parse_name(name, &r)) {
			/* A release is a directory, not a symlink to one. */
			snprintf(base, sizeof(base), "%s.json", name);
			drop = !release_is_current(d, name) &&
			    (!is_dir(d->relfd, name) || faccessat(d->relfd,
			    base, F_OK, AT_SYMLINK_NOFOLLOW) != 0);
		} else if (len > 5 && strcmp(name + len - 5, ".json") == 0) {
			snprintf(base, sizeof(base), "%.*s", (int)(len - 5), name);
			drop = !release_parse_name(base, &r) ||
			    faccessat(d->relfd, base, F_OK,
			    AT_SYMLINK_NOFOLLOW) != 0;
		} else {
			drop = name[0] == '.';	/* our temp files */
		}
		if (drop)
			rc = fsu_remove_tree(d->relfd, name, err);
	}
	closedir(dir);
	return rc;
}

/* Upstream's record of the current version; missing is survivable (the
 * next sync writes it again), so it is only left NULL. */
static void
load_upstream(struct deploy *d)
{
	struct snap_err ignored;
	char name[40];

	record_readable_name(d, d->current.version, name, sizeof(name));
	d->upstream_m = record_read(d, d->upfd, name, &d->upstream_depth,
	    &ignored);
	d->upstream_version = d->upstream_m != NULL ? d->upstream_m->version :
	    0;
}

static int
load_current(struct deploy *d, struct snap_err *err)
{
	char name[RELEASE_NAME_MAX];
	int rc;

	rc = swap_read_current(d->rootfd, name, sizeof(name), err);
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	if (!release_parse_name(name, &d->current))
		return snap_err_set(err, "current points at '%s', not a release "
		    "name", name);
	if ((d->current_m = record_read_release(d, name, err)) == NULL)
		return -1;
	d->has_current = true;
	load_upstream(d);
	return 0;
}

int
deploy_open(struct deploy *d, const char *path, unsigned keep, bool recycle,
    struct snap_err *err)
{
	d->keep = keep < RELEASE_KEEP_MIN ? RELEASE_KEEP_MIN : keep;
	d->recycle = recycle;
	if (snprintf(d->path, sizeof(d->path), "%s", path) >=
	    (int)sizeof(d->path))
		return snap_err_set(err, "deploy root %s: path too long", path);
	if (fsu_mkdirs(path, err) == -1)
		return -1;
	/* The root may be a symlink (the operator's); nothing below it. */
	if ((d->rootfd = fsu_open_root(path, err)) == -1)
		return -1;
	if ((d->lockfd = beneath_open(d->rootfd, ".lock", O_RDWR | O_CREAT,
	    0644, err)) == -1)
		return snap_err_prefix(err, "deploy root %s", path);
	if (flock(d->lockfd, LOCK_EX | LOCK_NB) == -1)
		return snap_err_sys(err, errno, "%s/.lock: another agent uses "
		    "this deploy root", path);
	if ((d->relfd = beneath_make_dir(d->rootfd, "releases", 0755,
	    err)) == -1 || (d->upfd = beneath_make_dir(d->rootfd, "upstream",
	    0755, err)) == -1 || load_current(d, err) == -1 ||
	    clean_leftovers(d, err) == -1)
		return snap_err_prefix(err, "deploy root %s", path);
	/* Killed between a swap and its retention, we hold one too many. */
	retain_apply(d);
	return 0;
}

void
deploy_close(struct deploy *d)
{
	if (d->upstream_m != d->current_m)
		manifest_free(d->upstream_m);
	manifest_free(d->current_m);
	d->current_m = d->upstream_m = NULL;
	d->upstream_version = 0;
	record_cache_drop(d, NULL);
	memset(d->parents, 0, sizeof(d->parents));
	if (d->upfd >= 0)
		close(d->upfd);
	if (d->lockfd >= 0)
		close(d->lockfd);	/* releases the flock */
	d->lockfd = -1;
	if (d->relfd >= 0)
		close(d->relfd);
	if (d->rootfd >= 0)
		close(d->rootfd);
	d->upfd = d->relfd = d->rootfd = -1;
}
