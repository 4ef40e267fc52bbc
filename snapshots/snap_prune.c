/*
 * snap_prune.c - retention: the files of versions no longer kept, and the
 * temps of crashed publishes, removed once old enough (see snap.h).
 *
 * Calling sequence: a publish prunes itself after its commit (step 12 of
 * snap.h), unless opts.defer_prune; a daemon calls snap_prune_root() once
 * the tree is quiet, which takes the publish lock and does nothing while a
 * publish holds it. Either returns how many files it removed; nothing here
 * fails loudly: what cannot be read or removed stays for the next time.
 * Never removed: the latest version, any file a kept version needs (its
 * base and chain), a file younger than grace_s, a name that is not ours.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "fsutil.h"
#include "snap.h"

/*
 * The lowest version whose files a retained version needs: each of the
 * newest `keep` versions needs its base and its chain. A version is full
 * (its own base) or a delta on the version before it (that one's base), so
 * bases never go down as versions go up: the oldest retained version that
 * can be read names the lowest base, and one state copy is read, not
 * `keep`. A state copy that cannot be read needs nothing (it cannot be
 * opened anyway).
 */
static uint64_t
retention_floor(int rootfd, uint64_t latest, uint64_t base, unsigned keep)
{
	struct snap_state *st;
	struct snap_err ignored;
	uint64_t floor = latest - keep + 1, v;
	char name[96];

	/* Every kept version in latest's chain (base..latest, each a delta
	 * on the one before): they all need base, and nothing below it -
	 * no state to read (two JSON parses a publish saved). */
	if (base != 0 && base <= floor)
		return base;
	if ((st = malloc(sizeof(*st))) == NULL)
		return 0;	/* keep everything */
	for (v = latest - keep + 1; v <= latest; v++) {
		state_copy_name(v, name, sizeof(name));
		if (state_read(rootfd, name, st, &ignored) == 0 &&
		    st->version == v) {
			if (st->base_version < floor)
				floor = st->base_version;
			break;
		}
	}
	/* A known base is above floor here (the return above): only an
	 * unknown one is read. */
	if (base == 0 && state_read(rootfd, STATE_FILE, st, &ignored) == 0 &&
	    st->base_version < floor)
		floor = st->base_version;
	free(st);
	return floor;
}

size_t
snap_prune(int rootfd, uint64_t latest, uint64_t latest_base, unsigned keep,
    unsigned grace_s)
{
	int64_t cutoff = fsu_now() - (int64_t)grace_s;
	struct dirent *de;
	struct stat st;
	size_t removed = 0;
	uint64_t v, floor;
	bool ours;
	DIR *d;
	int fd;

	if (keep == 0 || latest < keep)
		return 0;
	floor = retention_floor(rootfd, latest, latest_base, keep);
	if ((fd = beneath_open_dir(rootfd, "snapshots", NULL)) == -1 ||
	    (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		v = snap_file_version(de->d_name, NULL);
		/* A temp file of ours is ".<V>.<suffix>.tmp-XXXXXX". */
		ours = v != 0 || (de->d_name[0] == '.' &&
		    strstr(de->d_name, ".tmp-") != NULL &&
		    strncmp(de->d_name, ".nfs", 4) != 0);
		if (!ours || (v != 0 && v >= floor) || v == latest)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || (int64_t)st.st_mtime > cutoff)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

size_t
snap_prune_root(const char *sync_root, unsigned keep, unsigned grace_s)
{
	struct snap_err ignored;
	struct snap_state st;
	size_t removed = 0;
	int rootfd, lockfd;

	if ((rootfd = fsu_open_root(sync_root, &ignored)) == -1)
		return 0;
	if ((lockfd = snap_lock(rootfd, sync_root, &ignored)) >= 0 &&
	    state_read(rootfd, STATE_FILE, &st, &ignored) == 0)
		removed = snap_prune(rootfd, st.version, st.base_version, keep,
		    grace_s);
	if (lockfd >= 0)
		close(lockfd);		/* releases the flock */
	close(rootfd);
	return removed;
}
