/*
 * snap_root.c - the sync root as a publisher holds it: opened and locked,
 * its latest version read, the next version numbered; and the names of a
 * version's files (snap_file_version) and their removal after a failed
 * publish.
 *
 * Calling sequence: struct publisher p = SNAP_PUBLISHER_INIT(o);
 * snap_root_open(&p, sync_root, err) - steps 1 to 3 of a publish (snap.h):
 * the lock, the latest version (p.prev, or p.repaired when it cannot be
 * read), the number (p.version) - then the writing (snap_write.c), and
 * snap_root_close(&p) always, which releases the lock. snap_lock() alone
 * serves a caller that only needs the lock (retention).
 *
 * Error contract: -1 with err; what was opened stays in p for
 * snap_root_close(). A number is never used twice and never goes down:
 * it comes only from states this publisher can verify, and stops at
 * STATE_VERSION_MAX with an error rather than wrap.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "arc.h"
#include "beneath.h"
#include "fsutil.h"
#include "pcache.h"
#include "snap_int.h"

/* The number a snapshots/ name starts with, and where its suffix starts;
 * 0 unless it is 1..STATE_VERSION_MAX in plain digits (no sign, no
 * leading zero, no overflow: "99999999999999999999.tar.zst" is no
 * version of ours). */
static uint64_t
name_number(const char *name, const char **suffix)
{
	uint64_t v = 0;
	const char *p;

	if (name[0] < '1' || name[0] > '9')
		return 0;
	for (p = name; *p >= '0' && *p <= '9'; p++) {
		if (v > (STATE_VERSION_MAX - (uint64_t)(*p - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*suffix = p;
	return v;
}

const char *const snap_file_suffix[SNAP_FILE_KINDS] = { ".manifest.json",
    ".tar.zst", ".state.json", ".state.sig", ".delta.json", ".delta.tar.zst" };

uint64_t
snap_file_version(const char *name, uint64_t *max_bytes)
{
	static const uint64_t max[SNAP_FILE_KINDS] = { SNAP_MANIFEST_MAX_BYTES,
	    SNAP_ARCHIVE_MAX_BYTES, STATE_MAX_BYTES, SIGN_SIG_MAX_BYTES,
	    SNAP_MANIFEST_MAX_BYTES, SNAP_ARCHIVE_MAX_BYTES };

	const char *end;
	uint64_t v;
	size_t i;

	if ((v = name_number(name, &end)) == 0)
		return 0;
	for (i = 0; i < SNAP_FILE_KINDS; i++)
		if (strcmp(end, snap_file_suffix[i]) == 0) {
			if (max_bytes != NULL)
				*max_bytes = max[i];
			return v;
		}
	return 0;
}

int
snap_lock(int rootfd, const char *sync_root, struct snap_err *err)
{
	int fd, saved;

	fd = beneath_open(rootfd, ".publish.lock", O_RDWR | O_CREAT, 0644, err);
	if (fd == -1)
		return snap_err_prefix(err, "sync root %s", sync_root);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		saved = errno;
		close(fd);
		if (saved == EWOULDBLOCK)
			return snap_err_set(err, "%s: another publisher holds "
			    ".publish.lock", sync_root);
		return snap_err_sys(err, saved, "%s/.publish.lock", sync_root);
	}
	return fd;
}

static int
lock_root(struct publisher *p, const char *sync_root, struct snap_err *err)
{
	if (p->o != NULL && p->o->share_unlocked)
		return 0;	/* ha: the epoch guards (snap.h) */
	if ((p->lockfd = snap_lock(p->rootfd, sync_root, err)) == -1)
		return -1;
	return 0;
}

/* Every name a version's files may have, relative to the sync root. */
static void (*const version_file_names[])(uint64_t, char *, size_t) = {
	state_archive_name, state_manifest_name, state_delta_archive_name,
	state_delta_manifest_name, sign_sig_name, state_copy_name,
};
#define VERSION_FILE_NAMES \
	(sizeof(version_file_names) / sizeof(version_file_names[0]))

/* Whether no file of `version` is on disk: a stat per name, where
 * snap_highest_verified() reads the whole directory. */
bool
snap_version_unused(int snapfd, uint64_t version)
{
	char name[96];
	size_t i;

	for (i = 0; i < VERSION_FILE_NAMES; i++) {
		version_file_names[i](version, name, sizeof(name));
		if (faccessat(snapfd, in_snapshots(name), F_OK,
		    AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
			return false;
	}
	return true;
}

static int
u64_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * Version numbers come only from states this publisher can verify: a
 * state copy snapshots/<V>.state.json that parses, records V and - when
 * signing - carries our signature. A file name alone moves nothing (an
 * empty "9223372036854775000.state.sig" planted on the share, a
 * "99999999999999999999.tar.zst"): unknown files are left alone and do not
 * count. Returns the highest such V above `above`, else `above`. Only
 * copies above it are read, the highest first: mostly none.
 */
uint64_t
snap_highest_verified(struct publisher *p, uint64_t above)
{
	struct snap_state *st = NULL;
	struct snap_err ignored;
	uint64_t *cand = NULL, v, best = above;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	const char *suffix;
	char name[96];
	DIR *d;

	if ((d = fsu_opendir_dup(p->snapfd)) == NULL)
		return above;
	while ((de = readdir(d)) != NULL) {
		if ((v = name_number(de->d_name, &suffix)) <= above ||
		    strcmp(suffix, ".state.json") != 0)
			continue;
		if (n == cap) {
			uint64_t *more = realloc(cand, (cap ? cap * 2 : 8) *
			    sizeof(*cand));

			if (more == NULL)
				break;
			cand = more;
			cap = cap ? cap * 2 : 8;
		}
		cand[n++] = v;
	}
	closedir(d);
	if (n > 0 && (st = malloc(sizeof(*st))) != NULL) {
		qsort(cand, n, sizeof(*cand), u64_desc);
		for (i = 0; i < n; i++) {
			state_copy_name(cand[i], name, sizeof(name));
			if (sign_state_read(p->rootfd, name, p->o->key, st,
			    &ignored) == 0 && st->version == cand[i]) {
				best = cand[i];
				break;
			}
		}
	}
	free(st);
	free(cand);
	return best;
}

/*
 * The latest version cannot be read (err says why). Publishing over it is
 * safe only above every version a reader may have applied: the one
 * state.json names, if it parses (and, when signing, verifies), and every
 * verifiable state copy. With none of them, refuse: a number picked from
 * nothing could be below what every secondary holds.
 */
static int
repair_floor(struct publisher *p, struct snap_err *err)
{
	struct snap_err ignored;
	struct snap_state *st = malloc(sizeof(*st));

	snprintf(p->repair_reason, sizeof(p->repair_reason), "%s", err->msg);
	if (st != NULL && sign_state_read(p->rootfd, STATE_FILE, p->o->key, st,
	    &ignored) == 0 && st->version > p->version)
		p->version = st->version;
	p->version = snap_highest_verified(p, p->version);
	/* Signing just turned on: versions so far were unsigned, and
	 * secondaries without a key then may hold any of them. Only then,
	 * with nothing signed at all, state.json counts unverified. */
	if (p->version == 0 && p->o->key != NULL && st != NULL &&
	    state_read(p->rootfd, STATE_FILE, st, &ignored) == 0)
		p->version = st->version;
	free(st);
	if (p->version == 0)
		return snap_err_set(err, "%s; and no state on disk that can be "
		    "verified to number the next version from: repair or empty "
		    "the sync root", p->repair_reason);
	p->repaired = true;
	return 0;
}

/*
 * A delta is only as good as the chain below it: one damaged file there and
 * no secondary behind it could ever apply the new version. So the archives
 * of the latest chain are checked (size, XXH128 and BLAKE2b of each file:
 * cheap, they are compressed) and a damaged chain makes the next version
 * full.
 */
static void
check_chain(struct publisher *p)
{
	struct snap_err err = SNAP_ERR_INIT;
	size_t i;

	for (i = 0; i < p->prev.nlayers; i++) {
		const struct snap_layer *l = &p->prev.layers[i];

		if (arc_check_file(l->archfd, l->archive_f, &err) == -1) {
			snap_err_prefix(&err, "%s", l->archive_f->name);
			snprintf(p->repair_reason, sizeof(p->repair_reason),
			    "%s", err.msg);
			p->repaired = true;
			return;
		}
	}
}

/* The sync root and its snapshots/ (created if missing: a new or emptied
 * sync root), locked. */
int
snap_root_open_locked(struct publisher *p, const char *sync_root,
    struct snap_err *err)
{
	if (fsu_mkdirs(sync_root, err) == -1)
		return -1;
	if ((p->rootfd = fsu_open_root(sync_root, err)) == -1)
		return -1;
	/* Every write goes below this fd: never into where a symlink in
	 * snapshots/'s place would send it. */
	if ((p->snapfd = beneath_make_dir(p->rootfd, "snapshots", 0755,
	    err)) == -1)
		return snap_err_prefix(err, "sync root %s", sync_root);
	if (lock_root(p, sync_root, err) == -1)
		return -1;
	/* A publisher killed while writing state.json or its stat cache
	 * left a temp; under the lock no other one is writing state.json
	 * (a cache being written after another's unlock loses its rename,
	 * which only costs that publisher's next run a full read).
	 * snapshots/ temps go with retention, snap_prune. */
	if (!p->o->share_unlocked) {	/* ha: the lock is not ours */
		(void)fsu_tmp_sweep(p->rootfd, STATE_FILE);
		(void)fsu_tmp_sweep(p->rootfd, PCACHE_FILE);
	}
	return 0;
}

/*
 * From the highest verified number to the one to publish: the next one
 * that no file uses yet (a publisher that died may have left files of a
 * number that no state verifies: they are passed over, and left to
 * retention). Versions stop at STATE_VERSION_MAX: past it, an error, never
 * a wrap or a clamp.
 */
int
snap_next_version(struct publisher *p, const char *sync_root,
    struct snap_err *err)
{
	unsigned tries;

	for (tries = 0; tries < 64; tries++) {
		if (p->version >= STATE_VERSION_MAX)
			return snap_err_set(err, "%s: version %" PRIu64 " leaves "
			    "no next version (versions stop at %" PRIu64 ", the "
			    "largest integer every JSON reader keeps exact): "
			    "start a new sync root", sync_root, p->version,
			    (uint64_t)STATE_VERSION_MAX);
		p->version++;
		if (snap_version_unused(p->snapfd, p->version))
			return 0;
	}
	return snap_err_set(err, "%s: files of versions up to %" PRIu64 " are "
	    "in snapshots/, and no state there verifies: remove them",
	    sync_root, p->version);
}

/* Steps 1-3 of a publish (snap.h). */
int
snap_root_open(struct publisher *p, const char *sync_root,
    struct snap_err *err)
{
	/* Step 1: lock. */
	if (snap_root_open_locked(p, sync_root, err) == -1)
		return -1;
	/* Step 2: read the latest version, and check its chain. */
	p->version = 0;
	if (faccessat(p->rootfd, STATE_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		/* A signer trusts no latest version it did not sign. */
		p->prev.pub = p->o->key;
		if (snap_open(p->rootfd, 0, &p->prev, err) == 0) {
			p->have_prev = true;
			p->version = p->prev.st.version;
			check_chain(p);
		} else if (repair_floor(p, err) == -1) {
			return snap_err_prefix(err, "%s: latest version "
			    "unreadable", sync_root);
		}
	}
	/* Step 3: number. A publish that died after its state copy and
	 * before state.json still counts. */
	p->version = snap_highest_verified(p, p->version);
	return snap_next_version(p, sync_root, err);
}

/*
 * A publish that failed before state.json named its version leaves none of
 * that version's files behind: no reader can want them, and on a full disk
 * they hold the very space the next try needs. (Temp files are already
 * gone: fsu_tmp_* removes its own.)
 */
void
snap_discard_version(struct publisher *p)
{
	struct snap_err ignored;
	struct snap_state st;
	char name[96];
	size_t i;

	if (state_read(p->rootfd, STATE_FILE, &st, &ignored) == 0 &&
	    st.version == p->version)
		return;		/* committed; only a last fsync failed */
	for (i = 0; i < VERSION_FILE_NAMES; i++) {
		version_file_names[i](p->version, name, sizeof(name));
		(void)unlinkat(p->snapfd, in_snapshots(name), 0);
	}
}

void
snap_root_close(struct publisher *p)
{
	batch_free(&p->files);	/* its temps' directories are still open */
	snap_close(&p->prev);
	if (p->lockfd >= 0)
		close(p->lockfd);	/* releases the flock */
	if (p->snapfd >= 0)
		close(p->snapfd);
	if (p->rootfd >= 0)
		close(p->rootfd);
	free(p->buf);
}
