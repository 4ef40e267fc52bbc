/*
 * snap_write.c - a version's files written, then committed: steps 7 to 11
 * of a publish (snap.h).
 *
 * Calling sequence, under the lock, p->version numbered (snap_root.c) and
 * cur read (snap_tree.c): snap_commit_version(p, srcfd, label, cur, &st)
 * writes the archive and manifest - full, or a delta on p->prev when
 * snap_is_delta() - then snap_commit_state(): the state copy, its
 * signature and state.json's temp, all synced in one batch with
 * snapshots/, and state.json renamed last. snap_publish_changes() calls
 * snap_write_delta() and snap_commit_state() itself; snap_write_base()
 * calls snap_write_full_files() with p->via_temps.
 *
 * Error contract: -1 with err; the files written so far are members of
 * p->files (freed by snap_root_close), and the caller removes the
 * version's files with snap_discard_version() - unless state.json already
 * names it (only a last fsync failed). Until step 11, state.json names
 * the previous version: a crash anywhere leaves a complete version named.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arc.h"
#include "fsutil.h"
#include "names.h"
#include "snap_int.h"

/*
 * Opens snapshots/<base>, a file of the version being written, as a member
 * of p->files. A version's own files are written under their final names:
 * no reader opens a file of a version that state.json does not name, a
 * number is never used twice (snap_root_open, open_root_on), and a
 * publish that fails removes what it wrote (snap_discard_version). With no
 * renames to make durable, the sync of snapshots/ before state.json costs
 * no journal commit of its own. A full copy written ahead of need
 * (snap_write_base) may be killed midway with nobody to remove what it
 * wrote: it writes temps (p->via_temps), renamed once synced.
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

		if (snap_read_artifact(p, srcfd, label, e, &len, err) == -1)
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
bool
snap_is_delta(const struct publisher *p, size_t changed, size_t total)
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
int
snap_write_delta(struct publisher *p, int srcfd, const char *label,
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
	/* Step 7: write the archive (a delta's). */
	if (write_archive(p, srcfd, label, d, &sd->archive, err) == -1)
		return -1;
	/* Step 8: write the manifest. */
	return write_manifest_file(p, d, &sd->manifest, err);
}

/* Writes full manifest cur, of `version`, and its archive: the files of a
 * full version (snapshots/<V>.manifest.json, <V>.tar.zst), recorded in mf
 * and af. */
int
snap_write_full_files(struct publisher *p, int srcfd, const char *label,
    const struct manifest *cur, uint64_t version, struct state_file *mf,
    struct state_file *af, struct snap_err *err)
{
	state_manifest_name(version, mf->name, sizeof(mf->name));
	state_archive_name(version, af->name, sizeof(af->name));
	/* Step 7: write the archive (a full one). */
	if (write_archive(p, srcfd, label, cur, af, err) == -1)
		return -1;
	/* Step 8: write the manifest. */
	return write_manifest_file(p, cur, mf, err);
}

/* Writes full manifest cur and its archive; st gets them as its base. */
static int
write_full(struct publisher *p, int srcfd, const char *label,
    const struct manifest *cur, struct snap_state *st, struct snap_err *err)
{
	st->base_version = p->version;
	st->ndeltas = 0;
	return snap_write_full_files(p, srcfd, label, cur, p->version,
	    &st->manifest, &st->archive, err);
}

/* The version's own files, full or delta. */
static int
write_payload(struct publisher *p, int srcfd, const char *label,
    struct manifest *cur, struct snap_state *st, struct snap_err *err)
{
	struct manifest *delta;
	int rc;

	snap_mark(p, SNAP_MARK_READ);
	cur->kind = MANIFEST_FULL;
	if (!snap_is_delta(p, deploy_events(cur), cur->n))
		return write_full(p, srcfd, label, cur, st, err);
	if ((delta = manifest_delta(cur)) == NULL)
		return snap_err_set(err, "out of memory");
	rc = snap_write_delta(p, srcfd, label, delta, st, err);
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
void
snap_seen_of(const char *name, const struct stat *st, struct snap_seen *out)
{
	memset(out, 0, sizeof(*out));	/* compared with memcmp */
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->dev = st->st_dev;
	out->ino = st->st_ino;
	out->size = (uint64_t)st->st_size;
	out->mtime_ns = st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	out->ctime_ns = st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
}

void
snap_mark(const struct publisher *p, enum snap_mark which)
{
	if (p->o->marks != NULL)
		p->o->marks->at[which] = fsu_mono_us();
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

	snap_mark(p, SNAP_MARK_WRITTEN);
	/* Step 10: sync - every file of the batch, then snapshots/. */
	if (batch_sync(&p->files, err) == -1 ||
	    batch_rename(&p->files, p->files.n - 1, err) == -1 ||
	    fsu_fsync_dir(p->snapfd, "snapshots", err) == -1)
		return -1;
	snap_mark(p, SNAP_MARK_SYNCED);
	/* Step 11: commit - state.json renamed, the root synced; under a
	 * coordinator (ha) only while this publisher still holds its lease. */
	if ((p->o->precommit != NULL &&
	    p->o->precommit(p->o->precommit_arg, p->version, err) == -1) ||
	    batch_rename(&p->files, p->files.n, err) == -1 ||
	    fsu_fsync_dir(p->rootfd, STATE_FILE, err) == -1)
		return -1;
	snap_mark(p, SNAP_MARK_COMMITTED);
	/* After the rename, which changes its ctime. */
	if (fstatat(p->rootfd, STATE_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		snap_seen_of(STATE_FILE, &st, &p->state_seen);
		p->wrote_state = true;
	}
	return 0;
}

/* The state record, its copy and (with a key) its signature, then all the
 * version's files synced and state.json renamed last: the commit. st
 * already names the files. */
int
snap_commit_state(struct publisher *p, struct snap_state *st, uint64_t parent,
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
	p->base = st->base_version;
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
	/* Step 9: the state copy, its signature, state.json's temp. */
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
int
snap_commit_version(struct publisher *p, int srcfd, const char *label,
    struct manifest *cur, struct snap_state *st, struct snap_err *err)
{
	cur->version = p->version;
	cur->parent_version = p->have_prev ? p->prev.st.version : 0;
	cur->published_at = p->now;
	if (write_payload(p, srcfd, label, cur, st, err) == -1)
		return -1;
	return snap_commit_state(p, st, cur->parent_version, cur->n, err);
}
