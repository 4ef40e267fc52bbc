/*
 * snap.c - publish, roll back, open and verify versions (see snap.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc.h"
#include "batch.h"
#include "beneath.h"
#include "fsutil.h"
#include "identity.h"
#include "report.h"
#include "labels.h"
#include "names.h"
#include "scan.h"
#include "snap.h"

/* --- opening --- */

/*
 * state.json is the one file no checksum covers, so it is checked against
 * its twin, the copy its version was published with
 * (snapshots/<V>.state.json): the XXH128 of the bytes each was read from
 * must match. A flipped bit in a field that nothing else checks (an id, a
 * time) is then refused like any other damage.
 */
static int
check_copy(int rootfd, const struct snap_version *v, struct snap_err *err)
{
	char *copy = NULL, name[96], sum[HASH_HEX_LEN + 1];
	size_t clen;

	state_copy_name(v->st.version, name, sizeof(name));
	if (fsu_read_file(rootfd, name, STATE_MAX_BYTES, &copy, &clen,
	    err) == -1)
		return -1;
	hash_buf(copy, clen, sum);
	free(copy);
	if (strcmp(sum, v->st_xxh128) != 0)
		return snap_err_setc(err, SNAP_E_CHECKSUM, STATE_FILE
		    " differs from its copy %s "
		    "(damaged, or not written by a publisher)", name);
	return 0;
}

int
snap_read_state(int rootfd, struct snap_version *v, struct snap_err *err)
{
	char *buf = NULL;
	size_t len;
	int rc;

	if (fsu_read_file(rootfd, STATE_FILE, STATE_MAX_BYTES, &buf, &len,
	    err) == -1)
		return -1;
	if ((rc = sign_state_parse(rootfd, buf, len, v->pub, &v->st,
	    err)) == -1)
		snap_err_prefix(err, STATE_FILE);
	else {
		hash_buf(buf, len, v->st_xxh128);
		if (v->pub != NULL)
			sign_hash_buf(buf, len, v->st_blake2b);
		v->st_read = true;
	}
	free(buf);
	return rc;
}

static int
open_state(int rootfd, uint64_t version, struct snap_version *v,
    struct snap_err *err)
{
	char name[96];

	if (version == 0 && !v->st_read &&
	    snap_read_state(rootfd, v, err) == -1)
		return -1;
	if (version == 0)
		return check_copy(rootfd, v, err);
	state_copy_name(version, name, sizeof(name));
	if (sign_state_read(rootfd, name, v->pub, &v->st, err) == -1)
		return -1;
	if (v->st.version != version)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s records version %" PRIu64, name,
		    v->st.version);
	return 0;
}

/* Reads a manifest whose state record says what its bytes must be: size,
 * XXH128 and BLAKE2b are checked over the very bytes parsed, in one pass
 * (manifest_read_checked), so a file swapped meanwhile cannot get in. */
static struct manifest *
read_manifest(int rootfd, const struct state_file *f,
    enum manifest_kind kind, unsigned flags, struct snap_err *err)
{
	struct manifest *m = NULL;
	int fd;

	if (f->size > SNAP_MANIFEST_MAX_BYTES) {
		snap_err_setc(err, SNAP_E_TOO_LARGE,
		    "%s: %" PRIu64 " bytes is over the limit",
		    f->name, f->size);
		return NULL;
	}
	if ((fd = beneath_open(rootfd, f->name, O_RDONLY | O_NONBLOCK, 0,
	    err)) == -1)
		return NULL;
	if (fsu_check_regular(fd, f->name, err) == -1 ||
	    (m = manifest_read_checked(fd, f, flags, err)) == NULL)
		snap_err_prefix(err, "%s", f->name);
	else if (m->kind != kind) {
		snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s: a %s manifest where a %s one belongs",
		    f->name, m->kind == MANIFEST_FULL ? "full" : "delta",
		    kind == MANIFEST_FULL ? "full" : "delta");
		manifest_free(m);
		m = NULL;
	}
	close(fd);
	return m;
}

/* Adds a layer: its manifest read and verified, its archive opened. */
static int
open_layer(int rootfd, struct snap_version *v, const struct state_file *mf,
    const struct state_file *af, uint64_t version, enum manifest_kind kind,
    struct snap_err *err)
{
	struct snap_layer *l = &v->layers[v->nlayers];

	l->manifest_f = mf;
	l->archive_f = af;
	l->archfd = -1;
	if ((l->m = read_manifest(rootfd, mf, kind, v->drop_full_events ?
	    MANIFEST_NO_FULL_EVENTS : 0, err)) == NULL)
		return -1;
	v->nlayers++;
	if (l->m->version != version)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s records version %" PRIu64, mf->name,
		    l->m->version);
	if ((l->archfd = beneath_open(rootfd, af->name, O_RDONLY | O_NONBLOCK,
	    0, err)) == -1)
		return -1;
	return fsu_check_regular(l->archfd, af->name, err);
}

/* The chain position just past `have`, or -1 when have is not on it. */
static ssize_t
chain_start(const struct snap_state *st, const struct manifest *have)
{
	size_t i;

	if (have == NULL || have->version >= st->version)
		return -1;
	if (have->version == st->base_version)
		return 0;
	for (i = 0; i < st->ndeltas; i++)
		if (st->deltas[i].version == have->version)
			return (ssize_t)i + 1;
	return -1;
}

/* Puts a borrowed m back at the version it was borrowed at. */
static void
undo_all(struct snap_version *v)
{
	while (v->nundo > 0)
		manifest_undo(v->m, &v->undo[--v->nundo]);
}

/* Applies delta d to v->m: in place on the borrowed manifest while the
 * deltas are small; at the first that is not, on a copy from then on. */
static int
apply_layer(struct snap_version *v, const struct manifest *d,
    struct snap_err *err)
{
	struct manifest *copy;
	int rc;

	if (v->m_borrowed) {
		rc = manifest_apply_delta_undoable(v->m, d,
		    &v->undo[v->nundo], err);
		if (rc != 1) {
			v->nundo += rc == 0;
			return rc;
		}
		if ((copy = manifest_dup(v->m)) == NULL)
			return snap_err_set(err, "out of memory");
		undo_all(v);
		v->m_borrowed = false;
		v->m = copy;
	}
	return manifest_apply_delta(v->m, d, err);
}

static int
open_chain(int rootfd, struct snap_version *v, struct manifest *have,
    struct snap_err *err)
{
	const struct snap_state *st = &v->st;
	ssize_t from = chain_start(st, have);
	size_t i;

	if (from >= 0) {
		v->from_delta = true;
		v->undo = calloc(st->ndeltas - (size_t)from + 1,
		    sizeof(*v->undo));
		if (v->undo == NULL)
			return snap_err_set(err, "out of memory");
		v->m = have;
		v->m_borrowed = true;
	} else {
		from = 0;
		if (open_layer(rootfd, v, &st->manifest, &st->archive,
		    st->base_version, MANIFEST_FULL, err) == -1)
			return -1;
		/* A full version is its base: one copy in memory, not two. */
		v->m_shared = st->ndeltas == 0;
		v->m = v->m_shared ? v->layers[0].m :
		    manifest_dup(v->layers[0].m);
		if (v->m == NULL)
			return snap_err_set(err, "out of memory");
	}
	for (i = (size_t)from; i < st->ndeltas; i++) {
		const struct state_delta *d = &st->deltas[i];

		if (open_layer(rootfd, v, &d->manifest, &d->archive, d->version,
		    MANIFEST_DELTA, err) == -1)
			return -1;
		if (apply_layer(v, v->layers[v->nlayers - 1].m, err) == -1)
			return snap_err_prefix(err, "%s", d->manifest.name);
	}
	/* Each delta passed the limit alone; the tree they make must too. */
	if (st->ndeltas > 0 && manifest_check_total(v->m, err) == -1)
		return snap_err_prefix(err, "version %" PRIu64, st->version);
	return 0;
}

int
snap_open_since(int rootfd, uint64_t version, struct manifest *have,
    struct snap_version *v, struct snap_err *err)
{
	if (open_state(rootfd, version, v, err) == -1)
		return -1;
	if (open_chain(rootfd, v, have, err) == -1)
		goto fail;
	if (v->m->version != v->st.version ||
	    v->m->parent_version != v->st.parent_version ||
	    v->m->n != v->st.artifact_count) {
		snap_err_setc(err, SNAP_E_MALFORMED,
		    "version %" PRIu64 ": its manifests do not "
		    "match its state record (version, parent or artifact "
		    "count)", v->st.version);
		goto fail;
	}
	return 0;
fail:
	snap_close(v);
	return -1;
}

int
snap_open(int rootfd, uint64_t version, struct snap_version *v,
    struct snap_err *err)
{
	return snap_open_since(rootfd, version, NULL, v, err);
}

void
snap_close(struct snap_version *v)
{
	size_t i;

	if (v->m_borrowed) {
		if (v->m != NULL)
			undo_all(v);
		while (v->nundo > 0)
			manifest_undo_forget(&v->undo[--v->nundo]);
		v->m = NULL;		/* the reader's */
		v->m_borrowed = false;
	}
	free(v->undo);
	v->undo = NULL;
	/* Shared: freed once, as layer 0, unless a caller took v->m. */
	if (!v->m_shared)
		manifest_free(v->m);
	for (i = 0; i < v->nlayers; i++) {
		if (i > 0 || !v->m_shared || v->m != NULL)
			manifest_free(v->layers[i].m);
		if (v->layers[i].archfd >= 0)
			close(v->layers[i].archfd);
	}
	v->m = NULL;
	v->nlayers = 0;
	v->from_delta = false;
	v->m_shared = false;
	v->st_read = false;
}

int
snap_verify_layers(struct snap_version *v, struct snap_err *err)
{
	struct arc_extract x = { .destfd = -1 };
	size_t i;

	for (i = 0; i < v->nlayers; i++)
		if (arc_extract(v->layers[i].archfd, v->layers[i].archive_f,
		    v->layers[i].m, &x, err) == -1)
			return snap_err_prefix(err, "%s",
			    v->layers[i].archive_f->name);
	return 0;
}

int
snap_verify(const char *sync_root, uint64_t version,
    const struct sign_key *pub, struct snap_state *st, struct snap_err *err)
{
	struct snap_version v = SNAP_VERSION_INIT;
	int rootfd, rc = -1;

	v.pub = pub;
	if ((rootfd = fsu_open_root(sync_root, err)) == -1)
		return -1;
	if (snap_open(rootfd, version, &v, err) == -1 ||
	    snap_verify_layers(&v, err) == -1)
		goto out;
	if (st != NULL)
		*st = v.st;
	rc = 0;
out:
	snap_close(&v);
	close(rootfd);
	return rc;
}

/* --- retention --- */

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
retention_floor(int rootfd, uint64_t latest, unsigned keep)
{
	struct snap_state *st = malloc(sizeof(*st));
	struct snap_err ignored;
	uint64_t floor = latest - keep + 1, v;
	char name[96];

	if (st == NULL)
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
	if (state_read(rootfd, STATE_FILE, st, &ignored) == 0 &&
	    st->base_version < floor)
		floor = st->base_version;
	free(st);
	return floor;
}

size_t
snap_prune(int rootfd, uint64_t latest, unsigned keep, unsigned grace_s)
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
	floor = retention_floor(rootfd, latest, keep);
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

/* --- publishing --- */

struct publisher {
	int rootfd;
	int snapfd;
	int lockfd;
	const struct snap_publish_opts *o;
	struct snap_version prev;	/* latest published, if any */
	bool have_prev;
	bool repaired;			/* the latest was unreadable */
	char repair_reason[sizeof(((struct snap_err *)0)->msg)];
	uint64_t version;
	int64_t now;
	char *buf;			/* reused file buffer */
	struct batch files;		/* the version's files, written but not
					 * yet synced (commit_state) */
	struct snap_seen state_seen;	/* the state.json it wrote, once */
	bool wrote_state;		/* renamed and synced */
	bool via_temps;			/* write snapshot files under temp
					 * names (open_version_file) */
};

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

/* A version file's name in snapshots/ (its fd), from its name below the
 * sync root: every one is "snapshots/<V>.<suffix>" (state.h; a state
 * record that names another file is refused when read). */
static const char *
in_snapshots(const char *name)
{
	return name + strlen("snapshots/");
}

/* Whether no file of `version` is on disk: a stat per name, where
 * highest_verified() reads the whole directory. */
static bool
version_unused(int snapfd, uint64_t version)
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
static uint64_t
highest_verified(struct publisher *p, uint64_t above)
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
	p->version = highest_verified(p, p->version);
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
static int
open_locked(struct publisher *p, const char *sync_root, struct snap_err *err)
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
	return lock_root(p, sync_root, err);
}

/*
 * From the highest verified number to the one to publish: the next one
 * that no file uses yet (a publisher that died may have left files of a
 * number that no state verifies: they are passed over, and left to
 * retention). Versions stop at STATE_VERSION_MAX: past it, an error, never
 * a wrap or a clamp.
 */
static int
next_version(struct publisher *p, const char *sync_root, struct snap_err *err)
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
		if (version_unused(p->snapfd, p->version))
			return 0;
	}
	return snap_err_set(err, "%s: files of versions up to %" PRIu64 " are "
	    "in snapshots/, and no state there verifies: remove them",
	    sync_root, p->version);
}

static int
open_root(struct publisher *p, const char *sync_root, struct snap_err *err)
{
	if (open_locked(p, sync_root, err) == -1)
		return -1;
	/* A publisher killed while writing state.json left its temp; under
	 * the lock no other one is writing. (snapshots/ temps go with
	 * retention, snap_prune.) */
	if (!p->o->share_unlocked)	/* ha: the lock is not ours to rely on */
		(void)fsu_tmp_sweep(p->rootfd, STATE_FILE);
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
	/* A publish that died after its state copy and before state.json
	 * still counts. */
	p->version = highest_verified(p, p->version);
	return next_version(p, sync_root, err);
}

/*
 * A publish that failed before state.json named its version leaves none of
 * that version's files behind: no reader can want them, and on a full disk
 * they hold the very space the next try needs. (Temp files are already
 * gone: fsu_tmp_* removes its own.)
 */
static void
discard_version(struct publisher *p)
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

static void
close_root(struct publisher *p)
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

size_t
snap_prune_root(const char *sync_root, unsigned keep, unsigned grace_s)
{
	struct publisher p = { .rootfd = -1, .snapfd = -1, .lockfd = -1,
	    .prev = SNAP_VERSION_INIT };
	struct snap_err ignored;
	struct snap_state st;
	size_t removed = 0;

	if ((p.rootfd = fsu_open_root(sync_root, &ignored)) >= 0 &&
	    lock_root(&p, sync_root, &ignored) == 0 &&
	    state_read(p.rootfd, STATE_FILE, &st, &ignored) == 0)
		removed = snap_prune(p.rootfd, st.version, keep, grace_s);
	close_root(&p);
	return removed;
}

/* Reads TYPE/NAME.xml below srcfd into p->buf (a symlink to a file is
 * read through, as WSO2 reads it: scan.h). */
static int
read_artifact(struct publisher *p, int srcfd, const char *label,
    const struct manifest_entry *e, size_t *len, struct snap_err *err)
{
	char path[NAME_PATH_MAX];

	free(p->buf);
	p->buf = NULL;
	name_path(e->type, e->name, path, sizeof(path));
	if (fsu_read_file_flags(srcfd, path, ARTIFACT_MAX_BYTES, FSU_FOLLOW,
	    &p->buf, len, err) == -1)
		return snap_err_prefix(err, "%s", label);
	return 0;
}

/*
 * The checks of publish for one artifact in p->buf, which set its
 * identity. A problem goes to rep (named LABEL/PATH:LINE), and the
 * artifact is given no identity (so that it clashes with none): the
 * publish goes on to find the others. -1 only when out of memory.
 */
static int
check_artifact(struct publisher *p, const char *label,
    struct manifest_entry *e, size_t len, struct report *rep,
    struct snap_err *err)
{
	struct snap_err why = SNAP_ERR_INIT;
	struct xmlcheck_result res;
	char path[PATH_MAX], rel[NAME_PATH_MAX];

	if (p->o->xc == NULL)
		return 0;
	if (xmlcheck_artifact(p->o->xc, e->type, e->name, p->buf, len, &res,
	    &why) == -1) {
		snprintf(path, sizeof(path), "%s/%s", label,
		    name_path(e->type, e->name, rel, sizeof(rel)));
		report_add(rep, REPORT_ERROR, path, res.line, "%s", why.msg);
		res.identity[0] = '\0';
	}
	if (manifest_entry_set_identity(e, res.identity) == -1)
		return snap_err_set(err, "out of memory");
	return 0;
}

/* Gives every artifact the labels labels.conf assigns it. */
static int
assign_labels(int srcfd, const char *label, struct manifest *cur,
    struct snap_err *err)
{
	struct label_rules *rules = NULL;
	char labels[LABELS_MAX];
	size_t i;

	if (labels_load(srcfd, &rules, err) == -1)
		return snap_err_prefix(err, "%s", label);
	for (i = 0; rules != NULL && i < cur->n; i++) {
		labels_for(rules, cur->entries[i].type, cur->entries[i].name,
		    labels);
		if (manifest_entry_set_labels(&cur->entries[i], labels) == -1) {
			labels_free(rules);
			return snap_err_set(err, "out of memory");
		}
	}
	labels_free(rules);
	return 0;
}

/* Whether prev's entries carry identities (manifest.h). */
static bool
knows_identities(const struct publisher *p)
{
	return p->have_prev && p->prev.m->has_identities;
}

/*
 * Pass one: checksum every artifact, check those the latest version does
 * not already hold byte for byte (the others keep their identity from
 * it), and check that no two share an identity. Problems go to rep; -1
 * with err only for what stops the publish at once (out of memory, a tree
 * over the size limit).
 */
static int
hash_and_validate(struct publisher *p, int srcfd, const char *label,
    struct manifest *cur, struct report *rep, struct snap_err *err)
{
	struct snap_err why = SNAP_ERR_INIT;
	const struct manifest_entry *old;
	struct manifest_entry *e;
	char path[PATH_MAX], rel[NAME_PATH_MAX];
	size_t i, len;

	for (i = 0; i < cur->n; i++) {
		e = &cur->entries[i];
		if (read_artifact(p, srcfd, label, e, &len, &why) == -1) {
			snprintf(path, sizeof(path), "%s/%s", label,
			    name_path(e->type, e->name, rel, sizeof(rel)));
			report_add(rep, REPORT_ERROR, path, 0, "cannot read it "
			    "(%s)", why.msg);
			if (manifest_entry_set_identity(e, "") == -1)
				return snap_err_set(err, "out of memory");
			continue;
		}
		/* The scan's size gives way to the bytes read. */
		cur->total_bytes += len - e->size;
		e->size = len;
		hash_buf(p->buf, len, e->xxh128);
		old = knows_identities(p) ? manifest_find(p->prev.m, e->type,
		    e->name) : NULL;
		if (old != NULL && strcmp(old->xxh128, e->xxh128) == 0) {
			if (manifest_entry_set_identity(e, old->identity) == -1)
				return snap_err_set(err, "out of memory");
			continue;
		}
		if (check_artifact(p, label, e, len, rep, err) == -1)
			return -1;
	}
	if (p->o->xc != NULL)
		identity_check_all(cur, label, rep);
	cur->has_identities = p->o->xc != NULL;
	/* What no secondary would apply is not published. */
	if (manifest_check_total(cur, err) == -1)
		return snap_err_prefix(err, "%s", label);
	return 0;
}

/*
 * The tree at srcfd as the next version would hold it: scanned, labelled,
 * hashed and checked (cur from manifest_new()). -1 with err, and every
 * problem in rep (sorted), when it cannot be published.
 */
static int
read_tree(struct publisher *p, int srcfd, const char *label,
    struct manifest *cur, struct report *rep, struct snap_err *err)
{
	if (scan_tree(srcfd, label, cur, rep, err) == -1 ||
	    assign_labels(srcfd, label, cur, err) == -1 ||
	    hash_and_validate(p, srcfd, label, cur, rep, err) == -1)
		return -1;
	report_sort(rep);
	if (rep->nerrors > 0 || rep->lost > 0)
		return report_fail(rep, label, err);
	return 0;
}

/*
 * Opens snapshots/<base>, a file of the version being written, as a member
 * of p->files. A version's own files are written under their final names:
 * no reader opens a file of a version that state.json does not name, a
 * number is never used twice (open_root, open_root_on), and a publish that
 * fails removes what it wrote (discard_version). With no renames to make
 * durable, the sync of snapshots/ before state.json costs no journal
 * commit of its own. A full copy written ahead of need (snap_write_base)
 * may be killed midway with nobody to remove what it wrote: it writes
 * temps (p->via_temps), renamed once synced.
 */
static int
open_version_file(struct publisher *p, const char *base, struct fsu_tmp *t,
    struct snap_err *err)
{
	if (p->via_temps)
		return fsu_tmp_open(t, p->snapfd, base, err);
	return fsu_tmp_open_final(t, p->snapfd, base, err);
}

/* Pass two: the archive of cur's entries, from a second read that must
 * match the first. */
static int
write_archive(struct publisher *p, int srcfd, const char *label,
    const struct manifest *cur, struct state_file *f, struct snap_err *err)
{
	struct fsu_tmp t = FSU_TMP_INIT;
	struct arc_writer *w = NULL;
	char base[96], sum[HASH_HEX_LEN + 1];
	size_t i, len;
	int rc = -1;

	snprintf(base, sizeof(base), "%s", in_snapshots(f->name));
	if (open_version_file(p, base, &t, err) == -1)
		return -1;
	if ((w = arc_writer_new(t.fd, cur->total_bytes, err)) == NULL)
		goto out;
	for (i = 0; i < cur->n; i++) {
		const struct manifest_entry *e = &cur->entries[i];

		if (read_artifact(p, srcfd, label, e, &len, err) == -1)
			goto out;
		hash_buf(p->buf, len, sum);
		if (len != e->size || strcmp(sum, e->xxh128) != 0) {
			snap_err_set(err, "%s/%s/%s.xml: changed while being "
			    "published; publish again once writes settle", label,
			    artifact_types[e->type].folder, e->name);
			goto out;
		}
		if (arc_writer_add(w, e, p->buf, len, err) == -1)
			goto out;
	}
	if (arc_writer_finish(w, f, err) == -1)
		goto out;
	rc = batch_add(&p->files, &t, err);
out:
	arc_writer_free(w);
	fsu_tmp_abort(&t);
	return rc;
}

/* Writes buf into t, just opened for `name`, and hands t to p->files
 * (gone on failure). */
static int
add_written(struct publisher *p, struct fsu_tmp *t, const char *name,
    const char *buf, size_t len, struct snap_err *err)
{
	if (fsu_write_all(t->fd, buf, len) == -1) {
		int saved = errno;

		fsu_tmp_abort(t);
		return snap_err_sys(err, saved, "%s: write", name);
	}
	return batch_add(&p->files, t, err);
}

/* Writes buf as snapshots/<base> (a member of p->files) and records it. */
static int
write_snapshot_file(struct publisher *p, const char *name, const char *buf,
    size_t len, struct state_file *f, struct snap_err *err)
{
	struct fsu_tmp t = FSU_TMP_INIT;

	if (f != NULL) {
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->size = len;
		hash_buf(buf, len, f->xxh128);
		sign_hash_buf(buf, len, f->blake2b);
	}
	if (open_version_file(p, in_snapshots(name), &t, err) == -1)
		return -1;
	return add_written(p, &t, name, buf, len, err);
}

/* Streams manifest m as snapshots/<f->name> (a temp of p->files) and
 * records its size and hashes in f. */
static int
write_manifest_file(struct publisher *p, const struct manifest *m,
    struct state_file *f, struct snap_err *err)
{
	struct fsu_tmp t = FSU_TMP_INIT;

	if (open_version_file(p, in_snapshots(f->name), &t, err) == -1)
		return -1;
	if (manifest_write(m, t.fd, f, err) == -1) {
		fsu_tmp_abort(&t);
		return snap_err_prefix(err, "%s", f->name);
	}
	return batch_add(&p->files, &t, err);
}

/* A delta when there is a readable parent, the chain has room and at most
 * half of a tree of `total` artifacts changed (`changed`); full otherwise. */
static bool
is_delta(const struct publisher *p, size_t changed, size_t total)
{
	if (!p->have_prev || p->repaired || p->o->max_chain > STATE_CHAIN_MAX)
		return false;
	if (p->prev.st.ndeltas + 1 > p->o->max_chain)
		return false;
	return changed * 2 <= total;
}

static size_t
deploy_events(const struct manifest *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->nev; i++)
		n += m->events[i].action == MANIFEST_DEPLOY;
	return n;
}

/* Writes delta d's archive and manifest; st gets the chain below it plus
 * d on top. */
static int
write_delta(struct publisher *p, int srcfd, const char *label,
    const struct manifest *d, struct snap_state *st, struct snap_err *err)
{
	struct state_delta *sd;

	st->base_version = p->prev.st.base_version;
	st->manifest = p->prev.st.manifest;
	st->archive = p->prev.st.archive;
	st->ndeltas = p->prev.st.ndeltas + 1;
	memcpy(st->deltas, p->prev.st.deltas,
	    p->prev.st.ndeltas * sizeof(st->deltas[0]));
	sd = &st->deltas[st->ndeltas - 1];
	sd->version = p->version;
	state_delta_manifest_name(p->version, sd->manifest.name,
	    sizeof(sd->manifest.name));
	state_delta_archive_name(p->version, sd->archive.name,
	    sizeof(sd->archive.name));
	if (write_archive(p, srcfd, label, d, &sd->archive, err) == -1)
		return -1;
	return write_manifest_file(p, d, &sd->manifest, err);
}

/* Writes full manifest cur, of `version`, and its archive: the files of a
 * full version (snapshots/<V>.manifest.json, <V>.tar.zst), recorded in mf
 * and af. */
static int
write_full_files(struct publisher *p, int srcfd, const char *label,
    const struct manifest *cur, uint64_t version, struct state_file *mf,
    struct state_file *af, struct snap_err *err)
{
	state_manifest_name(version, mf->name, sizeof(mf->name));
	state_archive_name(version, af->name, sizeof(af->name));
	if (write_archive(p, srcfd, label, cur, af, err) == -1)
		return -1;
	return write_manifest_file(p, cur, mf, err);
}

/* Writes full manifest cur and its archive; st gets them as its base. */
static int
write_full(struct publisher *p, int srcfd, const char *label,
    const struct manifest *cur, struct snap_state *st, struct snap_err *err)
{
	st->base_version = p->version;
	st->ndeltas = 0;
	return write_full_files(p, srcfd, label, cur, p->version,
	    &st->manifest, &st->archive, err);
}

/* The version's own files, full or delta. */
static int
write_payload(struct publisher *p, int srcfd, const char *label,
    struct manifest *cur, struct snap_state *st, struct snap_err *err)
{
	struct manifest *delta;
	int rc;

	cur->kind = MANIFEST_FULL;
	if (!is_delta(p, deploy_events(cur), cur->n))
		return write_full(p, srcfd, label, cur, st, err);
	if ((delta = manifest_delta(cur)) == NULL)
		return snap_err_set(err, "out of memory");
	rc = write_delta(p, srcfd, label, delta, st, err);
	manifest_free(delta);
	return rc;
}

/* With a key: snapshots/<V>.state.sig over the exact state.json bytes,
 * written with the other snapshot files, before state.json names V. */
static int
sign_version(struct publisher *p, const char *sbuf, size_t slen,
    struct snap_err *err)
{
	char *sig = NULL, name[96];
	size_t len;
	int rc;

	if (p->o->key == NULL)
		return 0;
	if (sign_buf(p->o->key, sbuf, slen, &sig, &len, err) == -1)
		return -1;
	sign_sig_name(p->version, name, sizeof(name));
	rc = write_snapshot_file(p, name, sig, len, NULL, err);
	free(sig);
	return rc;
}

/* What identifies a file's content without reading it: no write or rename
 * leaves all of these as they were (a writer cannot set ctime). */
static void
seen_of(const char *name, const struct stat *st, struct snap_seen *out)
{
	memset(out, 0, sizeof(*out));	/* compared with memcmp */
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->dev = st->st_dev;
	out->ino = st->st_ino;
	out->size = (uint64_t)st->st_size;
	out->mtime_ns = st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	out->ctime_ns = st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
}

/* state.json's next content, as a temp of p->files (renamed last). */
static int
write_state_temp(struct publisher *p, const char *sbuf, size_t slen,
    struct snap_err *err)
{
	struct fsu_tmp t = FSU_TMP_INIT;

	if (fsu_tmp_open(&t, p->rootfd, STATE_FILE, err) == -1)
		return -1;
	return add_written(p, &t, STATE_FILE, sbuf, slen, err);
}

/*
 * Makes the version's files durable, all in one batch (one journal commit,
 * not one per file), and their names in snapshots/ (made in that same
 * commit on a journaling file system), and only then renames state.json,
 * the last of the batch: the commit. Two journal commits before the new
 * version is visible, one after (the root), whatever the number of files.
 */
static int
sync_version(struct publisher *p, struct snap_err *err)
{
	struct stat st;

	if (batch_sync(&p->files, err) == -1 ||
	    batch_rename(&p->files, p->files.n - 1, err) == -1 ||
	    fsu_fsync_dir(p->snapfd, "snapshots", err) == -1 ||
	    (p->o->precommit != NULL &&
	    p->o->precommit(p->o->precommit_arg, p->version, err) == -1) ||
	    batch_rename(&p->files, p->files.n, err) == -1 ||
	    fsu_fsync_dir(p->rootfd, STATE_FILE, err) == -1)
		return -1;
	/* After the rename, which changes its ctime. */
	if (fstatat(p->rootfd, STATE_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		seen_of(STATE_FILE, &st, &p->state_seen);
		p->wrote_state = true;
	}
	return 0;
}

/* The state record, its copy and (with a key) its signature, then all the
 * version's files synced and state.json renamed last: the commit. st
 * already names the files. */
static int
commit_state(struct publisher *p, struct snap_state *st, uint64_t parent,
    uint64_t artifact_count, struct snap_err *err)
{
	char *sbuf = NULL, name[96];
	size_t slen;
	int rc = -1;

	snprintf(st->cluster_id, sizeof(st->cluster_id), "%s", p->o->cluster_id);
	snprintf(st->node_id, sizeof(st->node_id), "%s", p->o->node_id);
	snprintf(st->node_version, sizeof(st->node_version), "%s",
	    SNAP_VERSION_STRING);
	st->version = p->version;
	st->parent_version = parent;
	st->published_at = p->now;
	st->last_sync_at = p->now;
	/* An expiry means something only under a signature. */
	st->expires_at = p->o->key != NULL && p->o->validity_s > 0 ?
	    p->now + p->o->validity_s : 0;
	st->artifact_count = artifact_count;
	st->epoch = p->o->epoch;	/* ha: format 4 (snap.h) */
	st->epoch_base_version = p->o->epoch_base;
	snprintf(st->ha, sizeof(st->ha), "%s", p->o->ha ? p->o->ha : "");
	if (state_to_json(st, &sbuf, &slen, err) == -1)
		goto out;
	state_copy_name(p->version, name, sizeof(name));
	if (write_snapshot_file(p, name, sbuf, slen, NULL, err) == -1 ||
	    sign_version(p, sbuf, slen, err) == -1 ||
	    write_state_temp(p, sbuf, slen, err) == -1)
		goto out;
	rc = sync_version(p, err);
out:
	free(sbuf);
	return rc;
}

/* Payload then state: version p->version holding cur. */
static int
commit_version(struct publisher *p, int srcfd, const char *label,
    struct manifest *cur, struct snap_state *st, struct snap_err *err)
{
	cur->version = p->version;
	cur->parent_version = p->have_prev ? p->prev.st.version : 0;
	cur->published_at = p->now;
	if (write_payload(p, srcfd, label, cur, st, err) == -1)
		return -1;
	return commit_state(p, st, cur->parent_version, cur->n, err);
}

static int
check_ids(const struct snap_publish_opts *o, struct snap_err *err)
{
	if (state_check_id(o->cluster_id, err) == -1)
		return snap_err_prefix(err, "cluster_id");
	if (state_check_id(o->node_id, err) == -1)
		return snap_err_prefix(err, "node_id");
	return 0;
}

void
snap_memo_clear(struct snap_memo *memo)
{
	manifest_free(memo->m);
	free(memo->seen);
	free(memo->state);
	*memo = (struct snap_memo)SNAP_MEMO_INIT;
}

/* Keeps what was just published (or found unchanged) in memo. */
static void
remember(struct snap_memo *memo, struct manifest **m, uint64_t version,
    size_t chain)
{
	if (memo == NULL)
		return;
	snap_memo_clear(memo);
	memo->m = *m;
	memo->version = version;
	memo->chain = chain;
	memo->rescanned = true;
	*m = NULL;
	manifest_clear_events(memo->m);
}

/* Keeps the state p just committed, st, for the next publish on memo. */
static void
remember_state(struct snap_memo *memo, const struct publisher *p,
    const struct snap_state *st)
{
	if (memo == NULL)
		return;
	if (p->wrote_state && memo->state == NULL)
		memo->state = malloc(sizeof(*memo->state));
	if (!p->wrote_state || memo->state == NULL) {
		free(memo->state);
		memo->state = NULL;
		return;
	}
	*memo->state = *st;
	memo->state_seen = p->state_seen;
}

static void
finish_publish(struct publisher *p, enum snap_publish_result *result,
    uint64_t *version, struct snap_err *err)
{
	*result = p->repaired ? SNAP_REPAIRED : SNAP_PUBLISHED;
	*version = p->version;
	if (p->repaired)
		snap_err_set(err, "replaced an unreadable latest version: %s",
		    p->repair_reason);
	if (!p->o->defer_prune)
		(void)snap_prune(p->rootfd, p->version, p->o->keep_versions,
		    p->o->grace_s);
}

/* The whole tree: scanned, hashed, validated where it changed. */
static int
publish_full(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, struct snap_memo *memo,
    enum snap_publish_result *result, uint64_t *version,
    struct snap_err *err)
{
	struct publisher p = { .rootfd = -1, .snapfd = -1, .lockfd = -1, .o = o,
	    .prev = SNAP_VERSION_INIT };
	struct report mine = REPORT_INIT, *rep = o->report ? o->report : &mine;
	struct manifest *cur = NULL;
	struct snap_state st;
	int srcfd = -1, rc = -1;

	memset(&st, 0, sizeof(st));
	if (check_ids(o, err) == -1)
		return -1;
	if ((srcfd = fsu_open_root(source, err)) == -1)
		return -1;
	if (open_root(&p, sync_root, err) == -1)
		goto out;
	p.now = fsu_now();
	if ((cur = manifest_new()) == NULL) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	if (read_tree(&p, srcfd, source, cur, rep, err) == -1)
		goto out;
	/* Unchanged, unless a file of the latest chain is damaged: then the
	 * same content is published again, in full, so that readers can
	 * get it (p.repaired, from check_chain). */
	if (p.have_prev && !p.repaired && manifest_same_content(p.prev.m, cur)) {
		*result = SNAP_UNCHANGED;
		*version = p.prev.st.version;
		remember(memo, &p.prev.m, p.prev.st.version,
		    p.prev.st.ndeltas);
		rc = 0;
		goto out;
	}
	if (manifest_diff(p.have_prev ? p.prev.m : NULL, cur, p.now) == -1) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	if (commit_version(&p, srcfd, source, cur, &st, err) == -1) {
		discard_version(&p);
		goto out;
	}
	finish_publish(&p, result, version, err);
	remember(memo, &cur, p.version, st.ndeltas);
	remember_state(memo, &p, &st);
	rc = 0;
out:
	report_free(&mine);
	manifest_free(cur);
	close_root(&p);
	close(srcfd);
	return rc;
}

int
snap_publish(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, enum snap_publish_result *result,
    uint64_t *version, struct snap_err *err)
{
	return publish_full(source, sync_root, o, NULL, result, version, err);
}

int
snap_check(const char *source, const struct snap_publish_opts *o,
    size_t *count, struct snap_err *err)
{
	struct publisher p = { .rootfd = -1, .snapfd = -1, .lockfd = -1, .o = o,
	    .prev = SNAP_VERSION_INIT };
	struct report mine = REPORT_INIT, *rep = o->report ? o->report : &mine;
	struct manifest *cur = NULL;
	int srcfd = -1, rc = -1;

	*count = 0;
	if ((srcfd = fsu_open_root(source, err)) == -1)
		return -1;
	if ((cur = manifest_new()) == NULL) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	if (read_tree(&p, srcfd, source, cur, rep, err) == -1)
		goto out;
	*count = cur->n;
	rc = 0;
out:
	report_free(&mine);
	manifest_free(cur);
	close_root(&p);
	close(srcfd);
	return rc;
}

/* --- a full copy ahead of need --- */

int
snap_write_base(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, const struct snap_memo *memo,
    struct snap_base *base, struct snap_err *err)
{
	struct publisher p = { .rootfd = -1, .snapfd = -1, .lockfd = -1, .o = o,
	    .prev = SNAP_VERSION_INIT, .via_temps = true };
	int srcfd = -1, rc = -1;

	memset(base, 0, sizeof(*base));
	if (memo->m == NULL)
		return snap_err_set(err, "nothing published yet");
	if ((srcfd = fsu_open_root(source, err)) == -1 ||
	    (p.rootfd = fsu_open_root(sync_root, err)) == -1 ||
	    (p.snapfd = beneath_open_dir(p.rootfd, "snapshots", err)) == -1)
		goto out;
	/* Named by no state.json yet: the state that first names them
	 * makes snapshots/ durable before it commits. */
	if (write_full_files(&p, srcfd, source, memo->m, memo->version,
	    &base->manifest, &base->archive, err) == -1 ||
	    batch_sync(&p.files, err) == -1 ||
	    batch_rename(&p.files, p.files.n, err) == -1)
		goto out;
	base->version = memo->version;
	rc = 0;
out:
	close_root(&p);
	if (srcfd >= 0)
		close(srcfd);
	return rc;
}

/* --- publishing what changed --- */


/*
 * Whether the file f names is there, regular, with f's size, XXH128 and
 * BLAKE2b (when recorded). A file memo saw intact and that no write or
 * rename has touched since (same inode, size, mtime and ctime: a writer
 * cannot set ctime) is not read again: a publish costs a stat per chain
 * file, not a read.
 */
/* Chain files are checked in the order they were first recorded: the
 * search starts after the last match, and mostly ends at once. */
static bool
seen_before(struct snap_memo *memo, const struct snap_seen *now)
{
	size_t i, k;

	for (k = 0; k < memo->nseen; k++) {
		i = (memo->seen_at + k) % memo->nseen;
		if (memcmp(&memo->seen[i], now, sizeof(*now)) == 0) {
			memo->seen_at = i + 1;
			return true;
		}
	}
	return false;
}

static bool
is_intact(int snapfd, const struct state_file *f, struct snap_memo *memo)
{
	const char *name = in_snapshots(f->name);
	struct snap_err ignored;
	struct snap_seen now;
	struct stat st;
	bool ok;
	int fd;

	if (fstatat(snapfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return false;
	seen_of(f->name, &st, &now);
	if (seen_before(memo, &now))
		return (uint64_t)st.st_size == f->size;
	/* Read it: its identity is taken again from what was opened. */
	fd = openat(snapfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return false;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false;
	}
	seen_of(f->name, &st, &now);
	ok = arc_check_file(fd, f, &ignored) == 0;
	close(fd);
	if (ok && memo->seen == NULL)
		memo->seen = calloc(2 * STATE_CHAIN_MAX, sizeof(*memo->seen));
	if (ok && memo->seen != NULL) {
		if (memo->nseen == 2 * STATE_CHAIN_MAX)
			memo->nseen = 0;	/* full: forget, read again */
		memo->seen[memo->nseen++] = now;
	}
	return ok;
}

/*
 * Whether state.json is still the very file memo's publish wrote (same
 * inode, size, mtime and ctime): then memo's parsed copy is what it holds,
 * and it need not be read, parsed or its signature checked again.
 */
static bool
reuse_state(int rootfd, const struct snap_memo *memo, struct snap_state *out)
{
	struct snap_seen now;
	struct stat st;

	if (memo->state == NULL || fstatat(rootfd, STATE_FILE, &st,
	    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
		return false;
	seen_of(STATE_FILE, &st, &now);
	if (memcmp(&now, &memo->state_seen, sizeof(now)) != 0)
		return false;
	*out = *memo->state;
	return true;
}

/*
 * Opens the sync root for a publish on top of memo: 0 when state.json
 * still names memo's version (nobody else published since), signed by our
 * key when we sign, and the deltas of its chain are intact; 1 when a full
 * publish must decide instead; -1 with err.
 *
 * The new state copies the chain's file records from this state.json: a
 * signer that took them from a state it did not sign would sign, by their
 * BLAKE2b, files it never wrote.
 */
static int
open_root_on(struct publisher *p, const char *sync_root,
    struct snap_memo *memo, struct snap_err *err)
{
	struct snap_err ignored;
	size_t i;

	if (open_locked(p, sync_root, err) == -1)
		return -1;
	if (!reuse_state(p->rootfd, memo, &p->prev.st) &&
	    sign_state_read(p->rootfd, STATE_FILE, p->o->key, &p->prev.st,
	    &ignored) == -1)
		return 1;
	if (p->prev.st.version != memo->version)
		return 1;
	/* The deltas: all of them, manifest and archive (the base was
	 * checked when memo was made). One damaged file and no reader could
	 * open a delta on them. */
	for (i = 0; i < p->prev.st.ndeltas; i++)
		if (!is_intact(p->snapfd, &p->prev.st.deltas[i].manifest, memo) ||
		    !is_intact(p->snapfd, &p->prev.st.deltas[i].archive, memo))
			return 1;
	p->have_prev = true;
	/* A number is never used twice: when a publisher that died left a
	 * file of the next one, the directory is read for a verifiable
	 * state above it (next_version then passes over any number files
	 * use). */
	p->version = p->prev.st.version;
	if (!version_unused(p->snapfd, p->version + 1))
		p->version = highest_verified(p, p->version);
	return next_version(p, sync_root, err);
}

/*
 * A full chain restarts on the full copy of one of its versions that
 * memo->base names (snap_write_base): prev's chain becomes that base and
 * the deltas above it. Nothing done when there is none, it is not on this
 * chain, or its files are not intact.
 */
static void
rebase(struct publisher *p, struct snap_memo *memo)
{
	struct snap_state *st = &p->prev.st;
	const struct snap_base *b = &memo->base;
	size_t i;

	for (i = 0; i < st->ndeltas && st->deltas[i].version != b->version;)
		i++;
	if (b->version == 0 || i == st->ndeltas ||
	    !is_intact(p->snapfd, &b->manifest, memo) ||
	    !is_intact(p->snapfd, &b->archive, memo))
		return;
	st->base_version = b->version;
	st->manifest = b->manifest;
	st->archive = b->archive;
	st->ndeltas -= i + 1;
	memmove(st->deltas, st->deltas + i + 1,
	    st->ndeltas * sizeof(st->deltas[0]));
	memo->rebased = b->version;
}

static int
change_cmp(const void *a, const void *b)
{
	const struct snap_change *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* A problem of one changed path, for the report. */
static void
change_problem(const char *label, const struct snap_change *c,
    const char *why, struct report *rep)
{
	char path[PATH_MAX], rel[NAME_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", label,
	    name_path(c->type, c->name, rel, sizeof(rel)));
	report_add(rep, REPORT_ERROR, path, 0, "%s", why);
}

/* One changed path: a DEPLOY with its new entry, an UNDEPLOY, or nothing
 * (same bytes and labels as before, or gone and never published). A
 * problem goes to rep. -1 only when out of memory. */
static int
diff_one(struct publisher *p, int srcfd, const char *label,
    const struct label_rules *rules, const struct manifest *had,
    const struct snap_change *c, struct manifest *d, struct report *rep,
    struct snap_err *err)
{
	const struct manifest_entry *old = manifest_find(had, c->type, c->name);
	struct manifest_entry probe = { .type = c->type, .name = (char *)c->name };
	struct snap_err why = SNAP_ERR_INIT;
	char labels[LABELS_MAX], sum[HASH_HEX_LEN + 1];
	struct manifest_entry *e;
	bool exists;
	size_t len;

	if (scan_one(srcfd, label, c->type, c->name, &exists, rep, &why) == -1 ||
	    (exists && read_artifact(p, srcfd, label, &probe, &len,
	    &why) == -1)) {
		change_problem(label, c, why.msg, rep);
		return 0;
	}
	if (!exists)
		return old == NULL ? 0 : manifest_add_event(d, c->type, c->name,
		    MANIFEST_UNDEPLOY, p->now);
	hash_buf(p->buf, len, sum);
	labels_for(rules, c->type, c->name, labels);
	if (old != NULL && strcmp(old->xxh128, sum) == 0 &&
	    old->size == len && strcmp(old->labels, labels) == 0)
		return 0;
	if (manifest_add(d, c->type, c->name, labels, len, sum,
	    manifest_stamp(old, sum, p->now)) == -1 ||
	    manifest_add_event(d, c->type, c->name, MANIFEST_DEPLOY,
	    p->now) == -1)
		return snap_err_set(err, "out of memory");
	e = &d->entries[d->n - 1];
	if (old != NULL && strcmp(old->xxh128, sum) == 0)
		return manifest_entry_set_identity(e, old->identity) == -1 ?
		    snap_err_set(err, "out of memory") : 0;
	return check_artifact(p, label, e, len, rep, err);
}

/* The delta from memo to the source, over the changed paths only; every
 * problem of those paths in rep. */
static struct manifest *
diff_changes(struct publisher *p, int srcfd, const char *label,
    const struct snap_memo *memo, struct snap_change *changes, size_t n,
    struct report *rep, struct snap_err *err)
{
	struct label_rules *rules = NULL;
	struct manifest *d = manifest_new();
	size_t i;

	if (d == NULL) {
		snap_err_set(err, "out of memory");
		return NULL;
	}
	d->kind = MANIFEST_DELTA;
	d->version = p->version;
	d->parent_version = memo->version;
	d->published_at = p->now;
	d->folders = memo->m->folders;
	d->has_folders = memo->m->has_folders;
	d->has_identities = memo->m->has_identities && p->o->xc != NULL;
	qsort(changes, n, sizeof(*changes), change_cmp);
	if (labels_load(srcfd, &rules, err) == -1) {
		snap_err_prefix(err, "%s", label);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (i > 0 && change_cmp(&changes[i - 1], &changes[i]) == 0)
			continue;
		if (diff_one(p, srcfd, label, rules, memo->m, &changes[i], d,
		    rep, err) == -1)
			goto fail;
	}
	labels_free(rules);
	rules = NULL;
	if (manifest_sort(d, err) == -1)
		goto fail;
	if (p->o->xc != NULL)
		identity_check_delta(memo->m, d, label, rep);
	report_sort(rep);
	if (rep->nerrors > 0 || rep->lost > 0) {
		report_fail(rep, label, err);
		goto fail;
	}
	return d;
fail:
	labels_free(rules);
	manifest_free(d);
	return NULL;
}

int
snap_publish_changes(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, struct snap_memo *memo,
    struct snap_change *changes, size_t nchanges,
    enum snap_publish_result *result, uint64_t *version,
    struct snap_err *err)
{
	struct publisher p = { .rootfd = -1, .snapfd = -1, .lockfd = -1, .o = o,
	    .prev = SNAP_VERSION_INIT };
	struct report mine = REPORT_INIT, *rep = o->report ? o->report : &mine;
	struct manifest *d = NULL;
	struct snap_state st;
	size_t i, added = 0, removed;
	int srcfd = -1, rc = -1, on;

	if (memo->m == NULL || changes == NULL)
		return publish_full(source, sync_root, o, memo, result, version,
		    err);
	if (check_ids(o, err) == -1 ||
	    (srcfd = fsu_open_root(source, err)) == -1)
		return -1;
	memset(&st, 0, sizeof(st));
	if ((on = open_root_on(&p, sync_root, memo, err)) != 0)
		goto out;
	p.now = fsu_now();
	if ((d = diff_changes(&p, srcfd, source, memo, changes, nchanges,
	    rep, err)) == NULL)
		goto out;
	memo->rescanned = false;
	if (d->nev == 0) {
		*result = SNAP_UNCHANGED;
		*version = memo->version;
		rc = 0;
		goto out;
	}
	/* d's entries are changed or added artifacts, its other events
	 * removals: the tree now holds memo's plus the added, less the
	 * removed. */
	for (i = 0; i < d->n; i++)
		added += manifest_find(memo->m, d->entries[i].type,
		    d->entries[i].name) == NULL;
	removed = d->nev - d->n;
	memo->rebased = 0;
	if (p.prev.st.ndeltas + 1 > p.o->max_chain)
		rebase(&p, memo);
	if (!is_delta(&p, d->n, memo->m->n + added - removed)) {
		on = 1;	/* the chain is full, or most of the tree changed */
		goto out;
	}
	if (write_delta(&p, srcfd, source, d, &st, err) == -1 ||
	    manifest_apply_delta(memo->m, d, err) == -1 ||
	    manifest_check_total(memo->m, err) == -1 ||
	    commit_state(&p, &st, d->parent_version, memo->m->n, err) == -1) {
		discard_version(&p);
		snap_memo_clear(memo);	/* it may hold d: start afresh */
		goto out;
	}
	memo->version = p.version;
	memo->chain = st.ndeltas;
	remember_state(memo, &p, &st);
	manifest_clear_events(memo->m);
	finish_publish(&p, result, version, err);
	rc = 0;
out:
	report_free(&mine);
	manifest_free(d);
	close_root(&p);
	close(srcfd);
	if (on == 1 && o->report != NULL)
		report_free(o->report);	/* the full pass says it all again */
	if (on == 1)
		return publish_full(source, sync_root, o, memo, result, version,
		    err);
	return rc;
}

#define ROLLBACK_DIR ".rollback"

/* Extracts every layer of `old`, oldest first (a later layer's copy of a
 * file replaces the earlier one), into destfd (the sync root's
 * ROLLBACK_DIR, emptied first): every entry verified on the way. */
static int
extract_version(struct snap_version *old, int destfd, struct snap_err *err)
{
	struct arc_extract x = { .destfd = destfd };
	size_t i;

	if (fsu_remove_children(destfd, ROLLBACK_DIR, err) == -1)
		return -1;
	for (i = 0; i < old->nlayers; i++)
		if (arc_extract(old->layers[i].archfd, old->layers[i].archive_f,
		    old->layers[i].m, &x, err) == -1)
			return snap_err_prefix(err, "%s",
			    old->layers[i].archive_f->name);
	return 0;
}

int
snap_rollback(const char *sync_root, uint64_t to,
    const struct snap_publish_opts *o, uint64_t *version,
    struct snap_err *err)
{
	struct publisher p = { .rootfd = -1, .snapfd = -1, .lockfd = -1, .o = o,
	    .prev = SNAP_VERSION_INIT };
	struct snap_version old = SNAP_VERSION_INIT;
	struct snap_err ignored;
	struct snap_state st;
	int treefd = -1, rc = -1;

	memset(&st, 0, sizeof(st));
	if (check_ids(o, err) == -1 || open_root(&p, sync_root, err) == -1)
		goto out;
	if (!p.have_prev && p.repaired) {
		snap_err_set(err, "the latest version cannot be read: %s",
		    p.repair_reason);
		goto out;
	}
	if (to == 0 || !p.have_prev || to >= p.prev.st.version) {
		snap_err_set(err, "version %" PRIu64 " is not older than the "
		    "latest", to);
		goto out;
	}
	/* Republish only what still verifies completely (and, to be signed,
	 * was signed by the same key): its files are extracted, checked,
	 * and published again like a source tree. */
	old.pub = o->key;
	if ((treefd = beneath_make_dir(p.rootfd, ROLLBACK_DIR, 0700,
	    err)) == -1) {
		snap_err_prefix(err, "sync root %s", sync_root);
		goto out;
	}
	if (snap_open(p.rootfd, to, &old, err) == -1 ||
	    extract_version(&old, treefd, err) == -1) {
		snap_err_prefix(err, "version %" PRIu64, to);
		goto out;
	}
	p.now = fsu_now();
	manifest_clear_events(old.m);	/* recomputed against the latest */
	if (manifest_diff(p.prev.m, old.m, p.now) == -1) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	if (commit_version(&p, treefd, "version", old.m, &st, err) == -1) {
		discard_version(&p);
		goto out;
	}
	*version = p.version;
	(void)snap_prune(p.rootfd, p.version, o->keep_versions, o->grace_s);
	rc = 0;
out:
	if (treefd >= 0) {
		close(treefd);
		(void)fsu_remove_tree(p.rootfd, ROLLBACK_DIR, &ignored);
	}
	snap_close(&old);
	close_root(&p);
	return rc;
}
