/*
 * deploy_plan.c - what a build starts from (deploy_build steps 4 and 5):
 * the deltas from the applied upstream version, and the release to
 * recycle with what it must change.
 *
 * Calling sequence: plan_deltas(), then plan_base() with what it found,
 * then keyset_free() once the build is done, whatever happened. What a
 * recycled release must change is known the cheap way (ks: the artifacts
 * the delta records since its version name) when the target is exactly
 * upstream, else from its full record (*bm). Nothing here fails the
 * apply but the rename of the base into .staging: a base that cannot be
 * used is not recycled, and the release is built in full.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy_int.h"

/*
 * The deltas that take the applied upstream version (upstream_version) to
 * p->upstream, oldest first, into out (STATE_CHAIN_MAX + 1 slots): the
 * version's layers when it was opened as deltas on it; for a version
 * opened in full (the primary's periodic full one), the difference
 * computed here, which *own holds for the caller to free. 0 when there is
 * none to give (a local change, no applied version, out of memory).
 */
size_t
plan_deltas(const struct deploy *d, const struct build_plan *p,
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

void
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
 * the base's record is not its upstream record (a hard link, deploy.h),
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
	record_upstream_name(base->version, up, sizeof(up));
	if (!same_file(d->relfd, rec, d->upfd, up))
		return -1;
	for (x = have; x > base->version; x = m->parent_version) {
		record_upstream_name(x, up, sizeof(up));
		if (ks->nrecs == RECORD_CHAIN_MAX ||
		    (m = record_read_one(d->upfd, up, &ignored)) == NULL)
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
int
plan_base(struct deploy *d, const struct release *list, size_t n,
    const struct build_plan *p, const struct manifest *const *deltas,
    size_t ndeltas, struct staged *s, struct manifest **bm,
    struct keyset *ks, struct apply_stats *st, struct snap_err *err)
{
	char json[RELEASE_NAME_MAX + 8];
	struct snap_err ignored;
	const struct release *base;

	*bm = NULL;
	if (!d->recycle || n < d->keep)
		return 0;
	base = &list[n - d->keep];
	if (release_is_current(d, base->name))
		return 0;
	if (!recyclable(d, base->name, st->refused, sizeof(st->refused))) {
		release_drop(d, base->name);
		return 0;
	}
	if (keys_since(d, base, p, deltas, ndeltas, ks) == 0) {
		record_cache_drop(d, base->name);
	} else {
		/* A release whose record we cannot read is not reused. */
		if ((*bm = record_cache_take(d, base->name)) == NULL)
			*bm = record_read_release(d, base->name, &ignored);
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
	/* Its directory has left releases/; its record goes too. */
	snprintf(json, sizeof(json), "%s.json", base->name);
	(void)unlinkat(d->relfd, json, 0);
	st->recycled = true;
	snprintf(st->base, sizeof(st->base), "%s", base->name);
	return 0;
}
