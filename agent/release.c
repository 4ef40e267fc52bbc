/*
 * release.c - build releases by patching a retiring one, swap, retain (see
 * release.h for the layout and the safety argument).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc.h"
#include "beneath.h"
#include "folders.h"
#include "fsutil.h"
#include "names.h"
#include "release.h"
#include "swap.h"

#define STAGING ".staging"
#define BUILD "build"		/* in STAGING */
/* Above this many files one syncfs(2) beats an fsync(2) per file (and
 * the batch would hold too many open files). */
#define FSYNC_EACH_MAX 256

/*
 * A build written but not yet durable: its files, the folders whose
 * entries changed. publish_release() syncs it in one batch with the
 * release's records.
 */
struct staged {
	int top;			/* .staging */
	int fd;				/* .staging/build */
	struct folders dirs;		/* its type folders */
	struct batch files;		/* each file written, or (big builds)
					 * syncfs of the whole file system */
	bool touched[ARTIFACT_TYPES_MAX];
	uint32_t folders;		/* the type folders it holds */
	bool made;			/* folders were made or removed in it,
					 * or files at its top changed */
};

bool
release_parse_name(const char *s, struct release *r)
{
	char again[RELEASE_NAME_MAX];
	int used = 0;

	if (sscanf(s, "v%" SCNu64 "-r%" SCNu64 "%n", &r->version, &r->serial,
	    &used) != 2 || s[used] != '\0')
		return false;
	/* Only the canonical spelling: no leading zeros, signs or spaces. */
	snprintf(again, sizeof(again), "v%" PRIu64 "-r%" PRIu64, r->version,
	    r->serial);
	if (strcmp(again, s) != 0)
		return false;
	snprintf(r->name, sizeof(r->name), "%s", s);
	return true;
}

static void
release_make(struct release *r, uint64_t version, uint64_t serial)
{
	r->version = version;
	r->serial = serial;
	snprintf(r->name, sizeof(r->name), "v%" PRIu64 "-r%" PRIu64, version,
	    serial);
}

static int
serial_cmp(const void *a, const void *b)
{
	const struct release *x = a, *y = b;

	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

/* The release directories under releases/, oldest first; *out is owned by
 * the caller. */
static int
list_releases(struct deploy *d, struct release **out, size_t *n,
    struct snap_err *err)
{
	struct release *list = NULL, r;
	struct dirent *de;
	size_t cap = 0;
	DIR *dir;

	*n = 0;
	if ((dir = fsu_opendir_dup(d->relfd)) == NULL)
		return snap_err_sys(err, errno, "releases");
	while ((de = readdir(dir)) != NULL) {
		if (!release_parse_name(de->d_name, &r))
			continue;
		if (*n == cap) {
			void *p;

			cap = cap ? cap * 2 : 16;
			if ((p = realloc(list, cap * sizeof(*list))) == NULL) {
				closedir(dir);
				free(list);
				return snap_err_set(err, "out of memory");
			}
			list = p;
		}
		list[(*n)++] = r;
	}
	closedir(dir);
	if (*n > 1)
		qsort(list, *n, sizeof(*list), serial_cmp);
	*out = list;
	return 0;
}

static void
upstream_name(uint64_t version, char *out, size_t len)
{
	snprintf(out, len, "%" PRIu64 ".json", version);
}

/* The full record written beside a delta record every RECORD_CHAIN_MAX
 * deltas: what reading stops at, so the chain read stays bounded while
 * the delta records stay continuous (recycling walks those). */
static void
upstream_full_name(uint64_t version, char *out, size_t len)
{
	snprintf(out, len, "%" PRIu64 ".full.json", version);
}

static bool
has_full(const struct deploy *d, uint64_t version)
{
	char name[40];

	upstream_full_name(version, name, sizeof(name));
	return faccessat(d->upfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The upstream record of `version` to read: its full copy when there is
 * one, else the record itself. */
static void
readable_name(const struct deploy *d, uint64_t version, char *out,
    size_t len)
{
	if (has_full(d, version))
		upstream_full_name(version, out, len);
	else
		upstream_name(version, out, len);
}

/* Reads one file of ours, streaming: bounded memory beyond the manifest
 * itself. */
static struct manifest *
read_one(int dirfd, const char *file, struct snap_err *err)
{
	struct manifest *m = NULL;
	int fd;

	fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		snap_err_sys(err, errno, "%s", file);
		return NULL;
	}
	if (fsu_check_regular(fd, file, err) == 0 &&
	    (m = manifest_read(fd, SNAP_MANIFEST_MAX_BYTES, err)) == NULL)
		snap_err_prefix(err, "%s", file);
	close(fd);
	return m;
}

/*
 * Reads record `file` in dirfd (release.h): a delta record is applied to
 * its parent record in upstream/, and so on down to a full one (at most
 * RECORD_CHAIN_MAX deltas). *depth, when asked, gets the number of deltas.
 */
static struct manifest *
read_record(struct deploy *d, int dirfd, const char *file, unsigned *depth,
    struct snap_err *err)
{
	struct manifest *chain[RECORD_CHAIN_MAX], *m;
	char parent[40];
	size_t n = 0;

	while ((m = read_one(dirfd, file, err)) != NULL &&
	    m->kind == MANIFEST_DELTA) {
		if (n == RECORD_CHAIN_MAX) {
			snap_err_set(err, "%s: more than %d deltas above a full "
			    "record", file, RECORD_CHAIN_MAX);
			manifest_free(m);
			m = NULL;
			break;
		}
		chain[n++] = m;
		readable_name(d, m->parent_version, parent, sizeof(parent));
		dirfd = d->upfd;
		file = parent;
	}
	if (m == NULL && n > 0)
		snap_err_prefix(err, "upstream");
	if (depth != NULL)
		*depth = (unsigned)n;
	/* Oldest delta first, onto the full record. */
	while (n > 0) {
		n--;
		if (m != NULL && manifest_apply_delta(m, chain[n], err) == -1) {
			snap_err_prefix(err, "upstream/%" PRIu64 ".json",
			    chain[n]->version);
			manifest_free(m);
			m = NULL;
		}
		manifest_free(chain[n]);
	}
	return m;
}

static struct manifest *
load_manifest(struct deploy *d, const char *name, struct snap_err *err)
{
	char file[RELEASE_NAME_MAX + 8];
	struct manifest *m;

	snprintf(file, sizeof(file), "%s.json", name);
	if ((m = read_record(d, d->relfd, file, NULL, err)) == NULL)
		snap_err_prefix(err, "releases");
	return m;
}

/* --- the record cache (release.h) --- */

static void
cache_drop(struct deploy *d, const char *name)
{
	size_t i;

	for (i = 0; i < RELEASE_CACHE_MAX; i++)
		if (d->cache[i].m != NULL && (name == NULL ||
		    strcmp(d->cache[i].name, name) == 0)) {
			manifest_free(d->cache[i].m);
			d->cache[i].m = NULL;
		}
}

/* Takes ownership of m, the record of release `name`. */
static void
cache_put(struct deploy *d, const char *name, struct manifest *m)
{
	size_t i, held = m->n, slot = RELEASE_CACHE_MAX;

	for (i = 0; i < RELEASE_CACHE_MAX; i++) {
		if (d->cache[i].m == NULL)
			slot = slot == RELEASE_CACHE_MAX ? i : slot;
		else
			held += d->cache[i].m->n;
	}
	if (slot == RELEASE_CACHE_MAX || held > RELEASE_CACHE_ENTRIES) {
		manifest_free(m);
		return;
	}
	snprintf(d->cache[slot].name, sizeof(d->cache[slot].name), "%s", name);
	d->cache[slot].m = m;
}

/* The cached record of `name`, handed over to the caller, or NULL. */
static struct manifest *
cache_take(struct deploy *d, const char *name)
{
	struct manifest *m;
	size_t i;

	for (i = 0; i < RELEASE_CACHE_MAX; i++)
		if (d->cache[i].m != NULL &&
		    strcmp(d->cache[i].name, name) == 0) {
			m = d->cache[i].m;
			d->cache[i].m = NULL;
			return m;
		}
	return NULL;
}

static bool
is_current(const struct deploy *d, const char *name)
{
	return d->has_current && strcmp(d->current.name, name) == 0;
}

/* Removes release `name` from releases/, its record first: a directory
 * without one is a leftover the next start removes. A symlink in its
 * place is unlinked, never followed. */
static void
drop_release(struct deploy *d, const char *name)
{
	char json[RELEASE_NAME_MAX + 8];
	struct snap_err ignored;

	cache_drop(d, name);
	snprintf(json, sizeof(json), "%s.json", name);
	if (unlinkat(d->relfd, json, 0) == 0 || errno == ENOENT)
		(void)fsu_remove_tree(d->relfd, name, &ignored);
}

static bool
is_dir(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode);
}

/* Removes what a crash may have left: see release.h. */
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
			drop = !is_current(d, name) &&
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

static void apply_retention(struct deploy *d);

/* Upstream's record of the current version; missing is survivable (the
 * next sync writes it again), so it is only left NULL. */
static void
load_upstream(struct deploy *d)
{
	struct snap_err ignored;
	char name[40];

	readable_name(d, d->current.version, name, sizeof(name));
	d->upstream_m = read_record(d, d->upfd, name, &d->upstream_depth,
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
	if ((d->current_m = load_manifest(d, name, err)) == NULL)
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
	apply_retention(d);
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
	cache_drop(d, NULL);
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

/* --- the deltas from the applied upstream version --- */

/*
 * The deltas that take the applied upstream version (upstream_version) to
 * p->upstream, oldest first, into out (STATE_CHAIN_MAX + 1 slots): the
 * version's layers when it was opened as deltas on it; for a version
 * opened in full (the primary's periodic full one), the difference
 * computed here, which *own holds for the caller to free. 0 when there is
 * none to give (a local change, no applied version, out of memory).
 */
static size_t
deltas_since(const struct deploy *d, const struct build_plan *p,
    const struct manifest **out, struct manifest **own)
{
	const struct snap_version *v = p->v;
	size_t i;

	*own = NULL;
	if (v == NULL || d->upstream_m == NULL ||
	    p->upstream->version <= d->upstream_version)
		return 0;
	if (v->from_delta) {
		if (v->nlayers == 0 ||
		    v->layers[0].m->parent_version != d->upstream_version)
			return 0;
		for (i = 0; i < v->nlayers; i++)
			out[i] = v->layers[i].m;
		return v->nlayers;
	}
	/* Opened in full: upstream_m was not touched. */
	if ((*own = manifest_between(d->upstream_m, p->upstream)) == NULL)
		return 0;
	out[0] = *own;
	return 1;
}

/* --- what a recycled release must change --- */

struct key {
	int type;
	const char *name;		/* into one of the keyset's records */
};

/*
 * The artifacts that may differ between a retired release and the target,
 * when both hold exactly an upstream version and the versions between them
 * are known as deltas (patch_keys): what those deltas name, changed or
 * removed. Then recycling costs what changed, not the tree.
 */
struct keyset {
	bool valid;
	struct manifest *recs[RECORD_CHAIN_MAX];	/* delta records read */
	size_t nrecs;
	struct key *k;
	size_t n;
};

static void
keyset_free(struct keyset *ks)
{
	size_t i;

	for (i = 0; i < ks->nrecs; i++)
		manifest_free(ks->recs[i]);
	free(ks->k);
	memset(ks, 0, sizeof(*ks));
}

/* Adds what delta m names: its artifacts and its events' (removals). */
static int
keys_add(struct keyset *ks, const struct manifest *m)
{
	struct key *k = realloc(ks->k, (ks->n + m->n + m->nev + 1) *
	    sizeof(*k));
	size_t i;

	if (k == NULL)
		return -1;
	ks->k = k;
	for (i = 0; i < m->n; i++)
		ks->k[ks->n++] = (struct key){ m->entries[i].type,
		    m->entries[i].name };
	for (i = 0; i < m->nev; i++)
		ks->k[ks->n++] = (struct key){ m->events[i].type,
		    m->events[i].name };
	return 0;
}

static bool
same_file(int dir1, const char *f1, int dir2, const char *f2)
{
	struct stat a, b;

	return fstatat(dir1, f1, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(dir2, f2, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Fills ks for recycling release `base` into p->target, or returns -1 when
 * that needs the base's full record: the target is filtered or overridden,
 * the base's record is not its upstream record (a hard link, release.h),
 * or a version between them has no delta record.
 */
static int
keys_since(struct deploy *d, const struct release *base,
    const struct build_plan *p, const struct manifest *const *deltas,
    size_t ndeltas, struct keyset *ks)
{
	uint64_t have = d->upstream_version;
	char rec[RELEASE_NAME_MAX + 8], up[32];
	struct snap_err ignored;
	struct manifest *m;
	uint64_t x;
	size_t i;

	if (p->target != p->upstream || d->upstream_m == NULL ||
	    have < base->version)
		return -1;
	if (p->v != NULL ? ndeltas == 0 : p->upstream != d->upstream_m)
		return -1;
	snprintf(rec, sizeof(rec), "%s.json", base->name);
	upstream_name(base->version, up, sizeof(up));
	if (!same_file(d->relfd, rec, d->upfd, up))
		return -1;
	for (x = have; x > base->version; x = m->parent_version) {
		upstream_name(x, up, sizeof(up));
		if (ks->nrecs == RECORD_CHAIN_MAX ||
		    (m = read_one(d->upfd, up, &ignored)) == NULL)
			goto fail;
		ks->recs[ks->nrecs++] = m;
		if (m->kind != MANIFEST_DELTA || m->version != x ||
		    keys_add(ks, m) == -1)
			goto fail;
	}
	if (x != base->version)
		goto fail;
	for (i = 0; i < ndeltas; i++)
		if (keys_add(ks, deltas[i]) == -1)
			goto fail;
	ks->valid = true;
	return 0;
fail:
	keyset_free(ks);
	return -1;
}

/* What `name` in dirfd is when it is not a directory, into why. */
static void
not_a_dir(int dirfd, const char *name, const char *path, char *why,
    size_t len)
{
	char target[256];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

	if (n >= 0) {
		target[n] = '\0';
		snprintf(why, len, "%s is a symlink (to '%s')", path, target);
	} else {
		snprintf(why, len, "%s is not a directory", path);
	}
}

/*
 * Whether releases/<name> may be patched: a directory, not a symlink to
 * one, and so is each of its type folders (patching writes and unlinks
 * through them). When not, why says what is in the way.
 */
static bool
recyclable(const struct deploy *d, const char *name, char *why, size_t len)
{
	char path[RELEASE_NAME_MAX + 32];
	struct stat st;
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "releases/%s", name);
	if ((fd = openat(d->relfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		not_a_dir(d->relfd, name, path, why, len);
		return false;
	}
	for (i = 0; i < artifact_type_count; i++) {
		if (i == TYPE_CONFIG || fstatat(fd, artifact_types[i].dir, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || S_ISDIR(st.st_mode))
			continue;
		snprintf(path, sizeof(path), "releases/%s/%s", name,
		    artifact_types[i].dir);
		not_a_dir(fd, artifact_types[i].dir, path, why, len);
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

/*
 * The release to recycle: the keep-th newest, if it is not current. What
 * it must change is known by ks (keys_since) or, failing that, by its
 * record *bm (from the cache, else read). One that is not a directory of
 * ours is removed instead (a symlink: the link, not what it points at),
 * and st->refused says so.
 */
static int
pick_base(struct deploy *d, const struct release *list, size_t n,
    const struct build_plan *p, const struct manifest *const *deltas,
    size_t ndeltas, struct staged *s, struct release *base,
    struct manifest **bm, struct keyset *ks, struct apply_stats *st,
    struct snap_err *err)
{
	struct snap_err ignored;

	*bm = NULL;
	if (!d->recycle || n < d->keep)
		return 0;
	*base = list[n - d->keep];
	if (is_current(d, base->name))
		return 0;
	if (!recyclable(d, base->name, st->refused, sizeof(st->refused))) {
		drop_release(d, base->name);
		return 0;
	}
	if (keys_since(d, base, p, deltas, ndeltas, ks) == 0) {
		cache_drop(d, base->name);
	} else {
		/* A release whose record we cannot read is not reused. */
		if ((*bm = cache_take(d, base->name)) == NULL)
			*bm = load_manifest(d, base->name, &ignored);
		if (*bm == NULL)
			return 0;
	}
	if (renameat(d->relfd, base->name, s->top, BUILD) == -1) {
		manifest_free(*bm);
		*bm = NULL;
		keyset_free(ks);
		return snap_err_sys(err, errno, "releases/%s: rename to "
		    STAGING "/" BUILD, base->name);
	}
	return 0;
}

/* What the build must still write: target entries the base lacks. */
struct need {
	const struct manifest *target;
	bool *todo;			/* per target entry */
	size_t count;
};

static bool
base_has(const struct manifest *base, const struct manifest_entry *e)
{
	const struct manifest_entry *b;

	if (base == NULL)
		return false;
	b = manifest_find(base, e->type, e->name);
	return b != NULL && strcmp(b->xxh128, e->xxh128) == 0;
}

/* Marks the target entries base lacks (all, without a base), when
 * `compare`; none otherwise (patch_keys marks them). */
static int
need_init(struct need *n, const struct manifest *target,
    const struct manifest *base, bool compare)
{
	size_t i;

	n->target = target;
	n->count = 0;
	if ((n->todo = calloc(target->n + 1, sizeof(*n->todo))) == NULL)
		return -1;
	for (i = 0; compare && i < target->n; i++)
		if (!base_has(base, &target->entries[i])) {
			n->todo[i] = true;
			n->count++;
		}
	return 0;
}

/* arc_want_fn: an upstream entry is written when the target wants exactly
 * that content there and the base lacks it. */
static bool
want_from_archive(const struct manifest_entry *e, void *arg)
{
	struct need *n = arg;
	const struct manifest_entry *t = manifest_find(n->target, e->type,
	    e->name);
	size_t i;

	if (t == NULL || strcmp(t->xxh128, e->xxh128) != 0)
		return false;
	i = (size_t)(t - n->target->entries);
	if (!n->todo[i])
		return false;
	n->todo[i] = false;
	return true;
}

/* Unlinks TYPE/NAME.xml from the build, through its folder's fd: 0, 1
 * when it was not there, -1 with err. */
static int
unlink_artifact(struct folders *dirs, int type, const char *name,
    struct snap_err *err)
{
	char file[NAME_MAX_BYTES + 8], path[NAME_PATH_MAX];
	int dirfd;

	if ((dirfd = folders_get(dirs, type, false, err)) == -1)
		return errno == ENOENT ? 1 : -1;
	snprintf(file, sizeof(file), "%s.xml", name);
	if (unlinkat(dirfd, file, 0) == 0)
		return 0;
	if (errno == ENOENT)
		return 1;
	name_path(type, name, path, sizeof(path));
	return snap_err_sys(err, errno, "%s: unlink", path);
}

/* Unlinks what the base holds and the target does not. */
static int
remove_dropped(struct folders *dirs, const struct manifest *base,
    const struct manifest *target, size_t *removed, bool *touched,
    struct snap_err *err)
{
	size_t i;

	for (i = 0; base != NULL && i < base->n; i++) {
		const struct manifest_entry *e = &base->entries[i];

		if (manifest_find(target, e->type, e->name) != NULL)
			continue;
		if (unlink_artifact(dirs, e->type, e->name, err) == -1)
			return -1;
		touched[e->type] = true;
		(*removed)++;
	}
	return 0;
}

/* Unlinks every file ks names from the recycled release; those the
 * target holds are to be written again. */
static int
patch_keys(struct folders *dirs, const struct keyset *ks, struct need *n,
    size_t *removed, bool *touched, struct snap_err *err)
{
	const struct manifest_entry *t;
	size_t i, at;
	int rc;

	for (i = 0; i < ks->n; i++) {
		const struct key *k = &ks->k[i];

		t = manifest_find(n->target, k->type, k->name);
		if ((rc = unlink_artifact(dirs, k->type, k->name, err)) == -1)
			return -1;
		if (rc == 0) {
			touched[k->type] = true;
			*removed += t == NULL;
		}
		if (t == NULL || n->todo[at = (size_t)(t - n->target->entries)])
			continue;
		n->todo[at] = true;
		n->count++;
		touched[k->type] = true;
	}
	return 0;
}

/*
 * Gives the build exactly the type folders of `folders` (manifest.h:
 * manifest_folders): an empty folder of the source is an empty folder of
 * the release, and one the source dropped goes (it is empty by now: its
 * files were removed first). *made says whether any was made or removed
 * (the build's own directory then changed).
 */
static int
make_folders(int stagefd, uint32_t folders, bool *made, struct snap_err *err)
{
	const char *dir;
	size_t i;

	for (i = 0; i < artifact_type_count; i++) {
		if (i == TYPE_CONFIG)
			continue;
		dir = artifact_types[i].dir;
		if (folders & (1u << i)) {
			if (mkdirat(stagefd, dir, 0755) == 0)
				*made = true;
			else if (errno != EEXIST)
				return snap_err_sys(err, errno, "%s: mkdir", dir);
		} else if (unlinkat(stagefd, dir, AT_REMOVEDIR) == 0) {
			*made = true;
		} else if (errno != ENOENT) {
			return snap_err_sys(err, errno, "%s: rmdir", dir);
		}
	}
	return 0;
}

/* Makes the folders whose entries changed durable, and the build's own
 * directory when its folders or its top files changed: a patched release
 * pays for the folders it touched, not all of them. */
static int
sync_folders(struct staged *s, struct snap_err *err)
{
	size_t i;
	int fd;

	for (i = 0; i < artifact_type_count; i++) {
		if (!s->touched[i] || i == TYPE_CONFIG ||
		    !(s->folders & (1u << i)))
			continue;
		if ((fd = folders_get(&s->dirs, (int)i, false, err)) == -1 ||
		    fsu_fsync_dir(fd, artifact_types[i].dir, err) == -1)
			return -1;
	}
	return s->made || s->touched[TYPE_CONFIG] ?
	    fsu_fsync_dir(s->fd, "staging", err) : 0;
}

/*
 * Copies TYPE/NAME.xml from srcdir into the staging tree as a new file,
 * checking it against e's checksum. 0; 1 when srcdir does not hold that
 * content; -1 on an I/O error.
 */
static int
copy_verified(int srcdir, struct folders *dirs,
    const struct manifest_entry *e, struct batch *batch, struct snap_err *err)
{
	char path[NAME_PATH_MAX], file[NAME_MAX_BYTES + 8];
	char sum[HASH_HEX_LEN + 1], *buf = NULL;
	struct snap_err ignored;
	size_t len;
	int fd = -1, rc = -1, dirfd;

	name_path(e->type, e->name, path, sizeof(path));
	if (fsu_read_file(srcdir, path, ARTIFACT_MAX_BYTES, &buf, &len,
	    &ignored) == -1)
		return 1;
	hash_buf(buf, len, sum);
	if (len != e->size || strcmp(sum, e->xxh128) != 0) {
		rc = 1;		/* not the content we need */
		goto out;
	}
	if ((dirfd = folders_get(dirs, e->type, true, err)) == -1)
		goto out;
	snprintf(file, sizeof(file), "%s.xml", e->name);
	fd = fsu_create_new(dirfd, file);
	if (fd == -1 || fsu_write_all(fd, buf, len) == -1 ||
	    fsu_set_mtime(fd, e->updated_at) == -1) {
		snap_err_sys(err, errno, "%s: write", path);
		goto out;
	}
	rc = 0;
	if (batch != NULL) {
		rc = batch_add_fd(batch, fd, path, err);
		fd = -1;
	}
out:
	if (fd >= 0 && close(fd) == -1 && rc == 0)
		rc = snap_err_sys(err, errno, "%s: close", path);
	free(buf);
	return rc;
}

/* Where local verified copies may be found (copy_local). */
struct sources {
	int curfd;			/* the current release, or -1 */
	int localfd;			/* the overrides store, or -1 */
	struct release *kept;		/* kept releases, listed on first need */
	size_t nkept;
	bool listed;
};

/*
 * Copies e from the first local place that holds exactly that content: the
 * current release, the overrides store, then the other kept releases,
 * newest first (so a redeploy works with the sync root unreachable as long
 * as some kept release still has upstream's copy). 0; 1 when none holds
 * it; -1 on an I/O error.
 */
static int
copy_local(struct deploy *d, struct sources *src, struct folders *dirs,
    const struct manifest_entry *e, struct batch *batch, struct snap_err *err)
{
	struct snap_err ignored;
	int got = 1, fd;
	size_t i;

	if (src->curfd >= 0)
		got = copy_verified(src->curfd, dirs, e, batch, err);
	if (got == 1 && src->localfd >= 0)
		got = copy_verified(src->localfd, dirs, e, batch, err);
	if (got != 1)
		return got;
	if (!src->listed) {
		src->listed = true;
		if (list_releases(d, &src->kept, &src->nkept, &ignored) == -1)
			src->nkept = 0;
	}
	for (i = src->nkept; got == 1 && i-- > 0;) {
		if (is_current(d, src->kept[i].name))
			continue;
		fd = openat(d->relfd, src->kept[i].name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1)
			continue;
		got = copy_verified(fd, dirs, e, batch, err);
		close(fd);
	}
	return got;
}

/* Writes what the archive did not provide, from local verified copies. */
static int
copy_remaining(struct deploy *d, struct build_plan *p, struct folders *dirs,
    struct need *n, struct batch *batch, struct wb *wb, struct apply_stats *st,
    struct snap_err *err)
{
	struct sources src = { .curfd = -1, .localfd = p->localfd };
	int rc = -1, got;
	size_t i;

	if (d->has_current)
		src.curfd = openat(d->relfd, d->current.name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	for (i = 0; i < n->target->n; i++) {
		const struct manifest_entry *e = &n->target->entries[i];

		if (!n->todo[i])
			continue;
		got = copy_local(d, &src, dirs, e, batch, err);
		if (got == -1)
			goto out;
		if (got == 1) {
			st->missing_source = true;
			snap_err_set(err, "%s/%s: no verified copy here (xxh128 "
			    "%s); the sync root is needed",
			    artifact_types[e->type].folder, e->name,
			    e->xxh128);
			goto out;
		}
		n->todo[i] = false;
		st->written++;
		st->bytes += e->size;
		wb_wrote(wb, e->size);
	}
	rc = 0;
out:
	if (src.curfd >= 0)
		close(src.curfd);
	free(src.kept);
	return rc;
}

/* What check_artifact() needs to hand an artifact over. */
struct artifact_checks {
	struct xmlpool *pool;
	const char *archive;	/* the layer being read */
	bool identities;	/* its manifest records identities */
};

/*
 * arc_check_fn: the XML checks of publish, for a file from the archive.
 * The pool judges it while the extraction goes on: a file may be written
 * before its verdict, and build() takes the verdict before the build is
 * synced or used (an invalid artifact throws the whole build away).
 */
static int
check_artifact(const struct manifest_entry *e, const char *buf, size_t len,
    void *arg, struct snap_err *err)
{
	const struct artifact_checks *ac = arg;
	char label[PATH_MAX], path[NAME_PATH_MAX];
	struct xmlpool_item it = { .type = e->type, .name = e->name,
	    .identity = ac->identities ? manifest_identity(e) : NULL,
	    .label = label, .buf = buf, .len = len };

	snprintf(label, sizeof(label), "%s: %s", ac->archive,
	    name_path(e->type, e->name, path, sizeof(path)));
	return xmlpool_submit(ac->pool, &it, err);
}

/*
 * The verdict on every artifact handed to the pool since the last one. An
 * invalid artifact is the reason a build failed even when a later step
 * failed too: done in order, its check would have stopped everything.
 */
static int
checks_verdict(const struct build_plan *p, struct snap_err *err)
{
	struct snap_err why = SNAP_ERR_INIT;

	if (p->checks == NULL || xmlpool_wait(p->checks, &why) == 0)
		return 0;
	*err = why;
	return -1;
}

/* How many files a build may sync one by one: each is held open until
 * then, and a quarter of the open-file limit is left to them at most. */
static size_t
batch_max(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < FSYNC_EACH_MAX)
		return (size_t)(rl.rlim_cur / 4);
	return FSYNC_EACH_MAX;
}

/*
 * Fills .staging/build (s->fd) with p->target, written but not synced
 * (s). The build is a recycled release when base (its record) or ks (what
 * it must change) is given, else new.
 */
static int
build(struct deploy *d, struct build_plan *p, const struct manifest *base,
    const struct keyset *ks, struct staged *s, struct apply_stats *st,
    struct snap_err *err)
{
	struct need n = { 0 };
	struct arc_extract x = { .want = want_from_archive, .arg = &n };
	struct artifact_checks ac = { .pool = p->checks };
	struct wb wb = WB_INIT;
	int stagefd;
	size_t i;

	if (base == NULL && ks == NULL && mkdirat(s->top, BUILD, 0755) == -1)
		return snap_err_sys(err, errno, STAGING "/" BUILD ": mkdir");
	/* A recycled release was checked before it was renamed here; what
	 * is here now is opened as a directory or not at all. */
	if ((stagefd = s->fd = beneath_open_dir(s->top, BUILD, err)) == -1)
		return snap_err_prefix(err, STAGING);
	folders_init(&s->dirs, stagefd);
	if (need_init(&n, p->target, base, ks == NULL) == -1) {
		snap_err_set(err, "out of memory");
		goto fail;
	}
	for (i = 0; ks == NULL && i < p->target->n; i++)
		if (n.todo[i] || base == NULL)
			s->touched[p->target->entries[i].type] = true;
	s->folders = manifest_folders(p->target);
	if ((ks != NULL ?
	    patch_keys(&s->dirs, ks, &n, &st->removed, s->touched, err) :
	    remove_dropped(&s->dirs, base, p->target, &st->removed, s->touched,
	    err)) == -1 || make_folders(stagefd, s->folders, &s->made,
	    err) == -1)
		goto fail;
	if (n.count <= batch_max()) {
		x.batch = &s->files;
	} else {
		wb_start(&wb, stagefd);
		x.writeback = &wb;
		batch_syncfs(&s->files, stagefd);
	}
	/* Newest layer first: a file changed twice is taken from the delta
	 * that holds the target's copy, and only once. */
	for (i = p->v != NULL ? p->v->nlayers : 0; i-- > 0;) {
		const struct snap_layer *l = &p->v->layers[i];

		x.destfd = stagefd;
		x.file_checked = true;	/* deploy_build() did, up front */
		if (p->checks != NULL) {
			ac.archive = l->archive_f->name;
			ac.identities = l->m->has_identities;
			x.check = check_artifact;
			x.check_arg = &ac;
		}
		if (arc_extract(l->archfd, l->archive_f, l->m, &x, err) == -1) {
			snap_err_prefix(err, "%s", l->archive_f->name);
			goto fail;
		}
		st->written += x.written;
		st->bytes += x.bytes_written;
	}
	if (copy_remaining(d, p, &s->dirs, &n, x.batch, x.writeback, st,
	    err) == -1 || checks_verdict(p, err) == -1)
		goto fail;
	wb_stop(&wb);
	free(n.todo);
	return 0;
fail:
	checks_verdict(p, err);
	wb_stop(&wb);
	free(n.todo);
	return -1;
}

/*
 * Makes the build and the records added to its batch durable: the batch
 * (one journal commit for all its files), the folders whose entries
 * changed (in that commit already, on a journaling file system), then the
 * records renamed into place.
 */
static int
seal(struct staged *s, struct snap_err *err)
{
	if (batch_sync(&s->files, err) == -1)
		return -1;
	/* A syncfs (a big build) covered the folders too. */
	if (!s->files.use_syncfs && sync_folders(s, err) == -1)
		return -1;
	return batch_rename(&s->files, s->files.n, err);
}

static struct parent_cached *
parent_slot(struct deploy *d, uint64_t version)
{
	return &d->parents[version % PARENT_CACHE_MAX];
}

/* Upstream record `version` is being written or removed. */
static void
forget_parent(struct deploy *d, uint64_t version)
{
	struct parent_cached *c = parent_slot(d, version);

	if (c->version == version)
		c->version = 0;
}

/* The parent of upstream record `version` (0: a full record), from its
 * header line alone (or the cache of those). 0, or -1 when that line
 * cannot be read. */
static int
record_parent(struct deploy *d, uint64_t version, uint64_t *parent)
{
	struct parent_cached *c = parent_slot(d, version);
	struct snap_err ignored;
	struct manifest *head;
	char name[32];
	int fd;

	if (c->version == version) {
		*parent = c->parent;
		return 0;
	}
	upstream_name(version, name, sizeof(name));
	fd = openat(d->upfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return -1;
	head = manifest_read_header(fd, &ignored);
	close(fd);
	if (head == NULL)
		return -1;
	*parent = head->kind == MANIFEST_DELTA ? head->parent_version : 0;
	manifest_free(head);
	c->version = version;
	c->parent = *parent;
	return 0;
}

static bool
holds(const uint64_t *set, size_t n, uint64_t v)
{
	while (n-- > 0)
		if (set[n] == v)
			return true;
	return false;
}

/* Adds `version` and the records its record is a delta on to *set; -1
 * when a record on the way cannot be read (then nothing is pruned). */
static int
need_chain(struct deploy *d, uint64_t version, uint64_t *set, size_t *n)
{
	uint64_t parent;
	unsigned depth;

	for (depth = 0; version != 0 && !holds(set, *n, version); depth++) {
		if (depth > RECORD_CHAIN_MAX ||
		    record_parent(d, version, &parent) == -1)
			return -1;
		set[(*n)++] = version;
		if (has_full(d, version))
			break;	/* reading stops there */
		version = parent;
	}
	return 0;
}

/* Drops upstream records no kept release needs: its own; for a delta
 * record the records down to a full one; and every record from the
 * oldest kept release's version up, which recycling walks (keys_since). */
static void
prune_upstream(struct deploy *d, const struct release *list, size_t n)
{
	uint64_t v, *need, from = d->has_current ? d->current.version : 0;
	size_t i, nneed = 0;
	struct dirent *de;
	bool ok;
	DIR *dir;
	char *end;

	need = malloc((n + 1) * (RECORD_CHAIN_MAX + 1) * sizeof(*need));
	if (need == NULL)
		return;
	ok = !d->has_current ||
	    need_chain(d, d->current.version, need, &nneed) == 0;
	for (i = 0; ok && i < n; i++) {
		ok = need_chain(d, list[i].version, need, &nneed) == 0;
		if (from == 0 || list[i].version < from)
			from = list[i].version;
	}
	/* A record that cannot be read: whatever it stood on stays. */
	if (!ok || (dir = fsu_opendir_dup(d->upfd)) == NULL) {
		free(need);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		v = strtoull(de->d_name, &end, 10);
		if (strcmp(end, ".full.json") == 0 ? !holds(need, nneed, v) :
		    strcmp(end, ".json") == 0 && v < from &&
		    !holds(need, nneed, v)) {
			unlinkat(d->upfd, de->d_name, 0);
			forget_parent(d, v);
		}
	}
	closedir(dir);
	free(need);
}

/* Keeps the newest `keep` releases (and current, whatever its age). */
static void
apply_retention(struct deploy *d)
{
	struct release *list = NULL;
	struct snap_err err = SNAP_ERR_INIT;
	size_t n, i, drop;

	if (list_releases(d, &list, &n, &err) == -1)
		return;
	drop = n > d->keep ? n - d->keep : 0;
	for (i = 0; i < drop; i++)
		if (!is_current(d, list[i].name))
			drop_release(d, list[i].name);
	/* The survivors' upstream records stay (current's is kept by
	 * prune_upstream itself, whatever its age). */
	prune_upstream(d, list + drop, n - drop);
	free(list);
}

/* Records are streamed: a 100,000-artifact record never sits in memory
 * as text. Written as a temp of batch (renamed when it is sealed), or on
 * its own (temp, fsync, rename) when batch is NULL. */
static int
write_manifest(int dirfd, const char *name, const struct manifest *m,
    struct batch *batch, struct snap_err *err)
{
	struct fsu_tmp t = FSU_TMP_INIT;

	if (fsu_tmp_open(&t, dirfd, name, err) == -1)
		return -1;
	if (manifest_write(m, t.fd, NULL, err) == -1) {
		fsu_tmp_abort(&t);
		return snap_err_prefix(err, "%s", name);
	}
	return batch != NULL ? batch_add(batch, &t, err) :
	    fsu_tmp_commit(&t, err);
}

/*
 * The release's record. Where it holds exactly its upstream version (no
 * override, every label deployed: the common case) it is a hard link to
 * the upstream record, not a second copy of the same lines: records are
 * never changed in place, so sharing the inode is safe. The link is made
 * once the upstream record has its name (after seal()); a copy is written
 * when that record is missing (a lost one is survivable).
 */
static int
link_release_record(struct deploy *d, const char *json,
    const struct build_plan *p, struct snap_err *err)
{
	char up[32];

	upstream_name(p->upstream->version, up, sizeof(up));
	if (linkat(d->upfd, up, d->relfd, json, 0) == 0)
		return 0;
	return write_manifest(d->relfd, json, p->target, NULL, err);
}

/*
 * Upstream's record of p->upstream: the deltas from the applied version
 * (deltas_since) as records, one per version - a few hundred bytes, where
 * the full record of a 100,000-artifact tree is 25 MB - or a full record
 * when there are none. Every RECORD_CHAIN_MAX deltas a full record is
 * written beside the delta one (<V>.full.json). *depth gets the new
 * record's.
 */
static int
write_upstream(struct deploy *d, const struct build_plan *p,
    const struct manifest *const *deltas, size_t ndeltas, struct batch *batch,
    unsigned *depth, struct snap_err *err)
{
	char name[40];
	size_t i;

	if (ndeltas == 0) {
		*depth = 0;
		forget_parent(d, p->upstream->version);
		upstream_name(p->upstream->version, name, sizeof(name));
		return write_manifest(d->upfd, name, p->upstream, batch, err);
	}
	for (i = 0; i < ndeltas; i++) {
		forget_parent(d, deltas[i]->version);
		upstream_name(deltas[i]->version, name, sizeof(name));
		if (write_manifest(d->upfd, name, deltas[i], batch, err) == -1)
			return -1;
	}
	*depth = d->upstream_depth + (unsigned)ndeltas;
	if (*depth < RECORD_CHAIN_MAX)
		return 0;
	*depth = 0;
	upstream_full_name(p->upstream->version, name, sizeof(name));
	return write_manifest(d->upfd, name, p->upstream, batch, err);
}

/*
 * The records, in the build's batch; the batch synced; the upstream
 * records named before the release record that may link one; the build
 * renamed into releases/, that made durable, and only then current
 * swapped. Three journal commits in all. (upstream/ is not synced on its
 * own: a lost upstream record is survivable, load_upstream().)
 */
static int
publish_release(struct deploy *d, const struct release *r,
    const struct build_plan *p, struct staged *s,
    const struct manifest *const *deltas, size_t ndeltas, unsigned *depth,
    struct snap_err *err)
{
	char json[RELEASE_NAME_MAX + 8], target[RELEASE_NAME_MAX + 16];
	bool link = manifest_same_content(p->target, p->upstream);

	*depth = d->upstream_depth;
	if (p->upstream->version != d->upstream_version &&
	    write_upstream(d, p, deltas, ndeltas, &s->files, depth, err) == -1)
		return snap_err_prefix(err, "upstream");
	snprintf(json, sizeof(json), "%s.json", r->name);
	/* A record of its own is written with the build's batch. */
	if ((!link && write_manifest(d->relfd, json, p->target, &s->files,
	    err) == -1) || seal(s, err) == -1 ||
	    (link && link_release_record(d, json, p, err) == -1))
		return -1;
	if (renameat(s->top, BUILD, d->relfd, r->name) == -1)
		return snap_err_sys(err, errno, "releases/%s: rename", r->name);
	if (fsu_fsync_dir(d->relfd, "releases", err) == -1)
		return -1;
	snprintf(target, sizeof(target), "releases/%s", r->name);
	return swap_current(d->rootfd, target, err);
}

/*
 * current_m and upstream_m become target and upstream (either may alias
 * the other, and upstream may be the old upstream_m). The old current's
 * record goes to the cache unless it is still in use as the upstream.
 */
static void
install_manifests(struct deploy *d, struct manifest *target,
    struct manifest *upstream)
{
	struct manifest *old_cur = d->current_m, *old_up = d->upstream_m;

	d->current_m = target;
	d->upstream_m = upstream;
	d->upstream_version = upstream->version;
	if (old_up != NULL && old_up != upstream && old_up != old_cur)
		manifest_free(old_up);
	if (old_cur == NULL || old_cur == upstream)
		return;
	if (d->has_current)
		cache_put(d, d->current.name, old_cur);
	else
		manifest_free(old_cur);
}

int
deploy_build(struct deploy *d, struct build_plan *p, struct apply_stats *st,
    struct snap_err *err)
{
	const struct manifest *deltas[STATE_CHAIN_MAX + 1];
	struct release *list = NULL, base, next;
	struct keyset ks = { .valid = false };
	struct manifest *bm = NULL, *between = NULL;
	struct staged s = { .top = -1, .fd = -1 };
	size_t ndeltas;
	uint64_t serial;
	unsigned depth;
	size_t n, i;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	folders_init(&s.dirs, -1);
	/* A bad file must not cost us the release we would patch. */
	for (i = 0; p->v != NULL && i < p->v->nlayers; i++)
		if (arc_check_file(p->v->layers[i].archfd,
		    p->v->layers[i].archive_f, err) == -1)
			return snap_err_prefix(err, "%s",
			    p->v->layers[i].archive_f->name);
	/* Opened afresh for each build: a symlink put in its place since
	 * the last one is refused here, before anything is written. */
	if ((s.top = beneath_make_dir(d->rootfd, STAGING, 0755, err)) == -1)
		return snap_err_prefix(err, "deploy root %s", d->path);
	if (fsu_remove_tree(s.top, BUILD, err) == -1) {
		snap_err_prefix(err, STAGING);
		goto out;
	}
	if (list_releases(d, &list, &n, err) == -1)
		goto out;
	serial = n > 0 ? list[n - 1].serial + 1 : 1;
	if (d->has_current && d->current.serial >= serial)
		serial = d->current.serial + 1;
	ndeltas = deltas_since(d, p, deltas, &between);
	if (pick_base(d, list, n, p, deltas, ndeltas, &s, &base, &bm, &ks, st,
	    err) == -1)
		goto out;
	if (bm != NULL || ks.valid) {
		char json[RELEASE_NAME_MAX + 8];

		/* Its directory has left releases/; its record goes too. */
		snprintf(json, sizeof(json), "%s.json", base.name);
		(void)unlinkat(d->relfd, json, 0);
		st->recycled = true;
		snprintf(st->base, sizeof(st->base), "%s", base.name);
	}
	if (build(d, p, bm, ks.valid ? &ks : NULL, &s, st, err) == -1)
		goto out;
	release_make(&next, p->upstream->version, serial);
	if (publish_release(d, &next, p, &s, deltas, ndeltas, &depth,
	    err) == -1)
		goto out;
	install_manifests(d, p->target, p->upstream);
	d->upstream_depth = depth;
	p->target = p->upstream = NULL;
	d->current = next;
	d->has_current = true;
	apply_retention(d);
	rc = 0;
out:
	batch_free(&s.files);
	folders_close(&s.dirs);
	if (s.fd >= 0)
		close(s.fd);
	if (rc == -1) {
		struct snap_err ignored;

		(void)fsu_remove_tree(s.top, BUILD, &ignored);
	}
	if (s.top >= 0)
		close(s.top);
	manifest_free(bm);
	manifest_free(between);
	keyset_free(&ks);
	free(list);
	return rc;
}
