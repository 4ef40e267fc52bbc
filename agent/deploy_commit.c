/*
 * deploy_commit.c - a filled build made a release, and current swapped to
 * it (deploy_build steps 7 and 8).
 *
 * commit_release(): the upstream records (the deltas, or a full one) and
 * the release's own record written with the build's batch; the batch
 * synced (one journal commit for all of it); the records renamed into
 * place; the build renamed into releases/ and that made durable; and only
 * then current swapped, in one rename. Three journal commits in all. The
 * spans between are timed into the apply's stats (stages.h). On
 * a failure (-1 with err) current is untouched. commit_manifests() then
 * hands the new manifests to the deploy; it cannot fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "deploy_int.h"
#include "fsutil.h"
#include "swap.h"

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

	record_upstream_name(p->upstream->version, up, sizeof(up));
	if (linkat(d->upfd, up, d->relfd, json, 0) == 0)
		return 0;
	return record_write(d->relfd, json, p->target, NULL, err);
}

/*
 * Upstream's record of p->upstream: the deltas from the applied version
 * (plan_deltas) as records, one per version - a few hundred bytes, where
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
		record_forget_parent(d, p->upstream->version);
		record_upstream_name(p->upstream->version, name, sizeof(name));
		return record_write(d->upfd, name, p->upstream, batch, err);
	}
	for (i = 0; i < ndeltas; i++) {
		record_forget_parent(d, deltas[i]->version);
		record_upstream_name(deltas[i]->version, name, sizeof(name));
		if (record_write(d->upfd, name, deltas[i], batch, err) == -1)
			return -1;
	}
	*depth = d->upstream_depth + (unsigned)ndeltas;
	if (*depth < RECORD_CHAIN_MAX)
		return 0;
	*depth = 0;
	record_full_name(p->upstream->version, name, sizeof(name));
	return record_write(d->upfd, name, p->upstream, batch, err);
}

/*
 * The records, in the build's batch; the batch synced; the upstream
 * records named before the release record that may link one; the build
 * renamed into releases/, that made durable, and only then current
 * swapped. Three journal commits in all. (upstream/ is not synced on its
 * own: a lost upstream record is survivable: deploy_open.c, load_upstream().)
 */
int
commit_release(struct deploy *d, const struct release *r,
    const struct build_plan *p, struct staged *s,
    const struct manifest *const *deltas, size_t ndeltas, unsigned *depth,
    struct apply_stats *st, struct snap_err *err)
{
	char json[RELEASE_NAME_MAX + 8], target[RELEASE_NAME_MAX + 16];
	bool link = manifest_same_content(p->target, p->upstream);

	*depth = d->upstream_depth;
	if (p->upstream->version != d->upstream_version &&
	    write_upstream(d, p, deltas, ndeltas, &s->files, depth, err) == -1)
		return snap_err_prefix(err, "upstream");
	snprintf(json, sizeof(json), "%s.json", r->name);
	/* A record of its own is written with the build's batch. */
	if (!link && record_write(d->relfd, json, p->target, &s->files,
	    err) == -1)
		return -1;
	st->staged_us = fsu_mono_us();
	if (seal(s, err) == -1 ||
	    (link && link_release_record(d, json, p, err) == -1))
		return -1;
	if (renameat(s->top, BUILD, d->relfd, r->name) == -1)
		return snap_err_sys(err, errno, "releases/%s: rename", r->name);
	if (fsu_fsync_dir(d->relfd, "releases", err) == -1)
		return -1;
	st->durable_us = fsu_mono_us();
	snprintf(target, sizeof(target), "releases/%s", r->name);
	if (swap_current(d->rootfd, target, err) == -1)
		return -1;
	st->swapped_us = fsu_mono_us();
	return 0;
}

/*
 * current_m and upstream_m become target and upstream (either may alias
 * the other, and upstream may be the old upstream_m). The old current's
 * record goes to the cache unless it is still in use as the upstream.
 */
void
commit_manifests(struct deploy *d, struct manifest *target,
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
		record_cache_put(d, d->current.name, old_cur);
	else
		manifest_free(old_cur);
}
