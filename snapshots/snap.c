/*
 * snap.c - publish, roll back, open and verify versions (see snap.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc.h"
#include "fsutil.h"
#include "labels.h"
#include "names.h"
#include "scan.h"
#include "snap.h"

/* --- opening --- */

/*
 * state.json is the one file no checksum covers, so it is checked against
 * its twin: it must be byte for byte the copy its version was published
 * with (snapshots/<V>.state.json). A flipped bit in a field that nothing
 * else checks (an id, a time) is then refused like any other damage.
 */
static int
open_latest(int rootfd, struct snap_state *st, struct snap_err *err)
{
	char *buf = NULL, *copy = NULL, name[96];
	size_t len, clen;
	int rc = -1;

	if (fsu_read_file(rootfd, STATE_FILE, STATE_MAX_BYTES, &buf, &len,
	    err) == -1)
		return -1;
	if (state_from_json(buf, len, st, err) == -1) {
		snap_err_prefix(err, STATE_FILE);
		goto out;
	}
	state_copy_name(st->version, name, sizeof(name));
	if (fsu_read_file(rootfd, name, STATE_MAX_BYTES, &copy, &clen,
	    err) == -1)
		goto out;
	if (clen != len || memcmp(buf, copy, len) != 0) {
		snap_err_set(err, STATE_FILE " differs from its copy %s "
		    "(damaged, or not written by a publisher)", name);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	free(copy);
	return rc;
}

static int
open_state(int rootfd, uint64_t version, struct snap_state *st,
    struct snap_err *err)
{
	char name[96];

	if (version == 0)
		return open_latest(rootfd, st, err);
	state_copy_name(version, name, sizeof(name));
	if (state_read(rootfd, name, st, err) == -1)
		return -1;
	if (st->version != version)
		return snap_err_set(err, "%s records version %" PRIu64, name,
		    st->version);
	return 0;
}

static struct manifest *
read_manifest(int rootfd, const struct state_file *f, struct snap_err *err)
{
	char *buf = NULL, got[HASH_HEX_LEN + 1];
	struct manifest *m = NULL;
	size_t len;

	if (f->size > SNAP_MANIFEST_MAX_BYTES) {
		snap_err_set(err, "%s: %" PRIu64 " bytes is over the limit",
		    f->name, f->size);
		return NULL;
	}
	if (fsu_read_file(rootfd, f->name, SNAP_MANIFEST_MAX_BYTES, &buf, &len,
	    err) == -1)
		return NULL;
	hash_buf(buf, len, got);
	if (len < f->size)
		snap_err_set(err, "%s: %zu bytes, state records %" PRIu64
		    " (truncated or still being written?)", f->name, len, f->size);
	else if (len > f->size)
		snap_err_set(err, "%s: %zu bytes, longer than the %" PRIu64
		    " state records (replaced by another file?)", f->name, len,
		    f->size);
	else if (strcmp(got, f->xxh128) != 0)
		snap_err_set(err, "%s: checksum mismatch (xxh128 %s, state "
		    "records %s)", f->name, got, f->xxh128);
	else if ((m = manifest_from_json(buf, len, err)) == NULL)
		snap_err_prefix(err, "%s", f->name);
	free(buf);
	return m;
}

int
snap_open(int rootfd, uint64_t version, struct snap_version *v,
    struct snap_err *err)
{
	if (open_state(rootfd, version, &v->st, err) == -1)
		return -1;
	if ((v->m = read_manifest(rootfd, &v->st.manifest, err)) == NULL)
		return -1;
	if (v->m->version != v->st.version ||
	    v->m->parent_version != v->st.parent_version ||
	    v->m->n != v->st.artifact_count) {
		snap_err_set(err, "%s does not match its state record (version, "
		    "parent or artifact count)", v->st.manifest.name);
		goto fail;
	}
	v->archfd = openat(rootfd, v->st.archive.name,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (v->archfd == -1) {
		snap_err_sys(err, errno, "%s", v->st.archive.name);
		goto fail;
	}
	return 0;
fail:
	snap_close(v);
	return -1;
}

void
snap_close(struct snap_version *v)
{
	manifest_free(v->m);
	v->m = NULL;
	if (v->archfd >= 0)
		close(v->archfd);
	v->archfd = -1;
}

int
snap_verify(const char *sync_root, uint64_t version, struct snap_state *st,
    struct snap_err *err)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct arc_extract x = { .destfd = -1 };
	int rootfd, rc = -1;

	if ((rootfd = fsu_open_dir(AT_FDCWD, sync_root, err)) == -1)
		return -1;
	if (snap_open(rootfd, version, &v, err) == -1)
		goto out;
	if (arc_extract(v.archfd, &v.st.archive, v.m, &x, err) == -1) {
		snap_err_prefix(err, "%s", v.st.archive.name);
		goto out;
	}
	if (st != NULL)
		*st = v.st;
	rc = 0;
out:
	snap_close(&v);
	close(rootfd);
	return rc;
}

/* --- retention --- */

/* The version a snapshots/ file belongs to, or 0 if it is none of ours. */
static uint64_t
file_version(const char *name)
{
	static const char *const suffixes[] = { ".manifest.json", ".tar.zst",
	    ".state.json" };
	uint64_t v;
	size_t i;
	char *end;

	if (name[0] < '1' || name[0] > '9')
		return 0;
	v = strtoull(name, &end, 10);
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (strcmp(end, suffixes[i]) == 0)
			return v;
	return 0;
}

size_t
snap_prune(int rootfd, uint64_t latest, unsigned keep, unsigned grace_s)
{
	int64_t cutoff = fsu_now() - (int64_t)grace_s;
	struct dirent *de;
	struct stat st;
	size_t removed = 0;
	uint64_t v;
	bool ours;
	DIR *d;
	int fd;

	if (keep == 0 || latest < keep)
		return 0;
	if ((fd = openat(rootfd, "snapshots", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		v = file_version(de->d_name);
		/* A temp file of ours is ".<V>.<suffix>.tmp-XXXXXX". */
		ours = v != 0 || (de->d_name[0] == '.' &&
		    strstr(de->d_name, ".tmp-") != NULL &&
		    strncmp(de->d_name, ".nfs", 4) != 0);
		if (!ours || (v != 0 && v + keep > latest) || v == latest)
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
};

static int
lock_root(struct publisher *p, const char *sync_root, struct snap_err *err)
{
	p->lockfd = openat(p->rootfd, ".publish.lock",
	    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (p->lockfd == -1)
		return snap_err_sys(err, errno, "%s/.publish.lock", sync_root);
	if (flock(p->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			return snap_err_set(err, "%s: another publisher holds "
			    ".publish.lock", sync_root);
		return snap_err_sys(err, errno, "%s/.publish.lock", sync_root);
	}
	return 0;
}

/* The highest version number any snapshot file of ours carries: versions
 * must also pass leftovers of a publish that crashed before state.json. */
static uint64_t
highest_on_disk(int snapfd)
{
	struct dirent *de;
	uint64_t max = 0, v;
	DIR *d;

	if ((d = fsu_opendir_dup(snapfd)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if ((v = file_version(de->d_name)) > max)
			max = v;
	closedir(d);
	return max;
}

/*
 * The latest version cannot be read (err says why). Publishing over it is
 * safe only above every number it may have had: those on disk and the one
 * state.json names, if that much parses. With neither, refuse.
 */
static int
repair_floor(struct publisher *p, struct snap_err *err)
{
	struct snap_err ignored;
	struct snap_state st;

	snprintf(p->repair_reason, sizeof(p->repair_reason), "%s", err->msg);
	if (state_read(p->rootfd, STATE_FILE, &st, &ignored) == 0 &&
	    st.version > p->version)
		p->version = st.version;
	if (p->version == 0)
		return snap_err_set(err, "%s; and no version number on disk to "
		    "publish past: repair or empty the sync root",
		    p->repair_reason);
	p->repaired = true;
	return 0;
}

static int
open_root(struct publisher *p, const char *sync_root, struct snap_err *err)
{
	if (fsu_mkdirs(sync_root, err) == -1)
		return -1;
	if ((p->rootfd = fsu_open_dir(AT_FDCWD, sync_root, err)) == -1)
		return -1;
	if (mkdirat(p->rootfd, "snapshots", 0755) == -1 && errno != EEXIST)
		return snap_err_sys(err, errno, "%s/snapshots", sync_root);
	if ((p->snapfd = fsu_open_dir(p->rootfd, "snapshots", err)) == -1)
		return snap_err_prefix(err, "%s", sync_root);
	if (lock_root(p, sync_root, err) == -1)
		return -1;
	p->version = highest_on_disk(p->snapfd);
	if (faccessat(p->rootfd, STATE_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		if (snap_open(p->rootfd, 0, &p->prev, err) == 0) {
			p->have_prev = true;
			if (p->prev.st.version > p->version)
				p->version = p->prev.st.version;
		} else if (repair_floor(p, err) == -1) {
			return snap_err_prefix(err, "%s: latest version "
			    "unreadable", sync_root);
		}
	}
	p->version++;
	return 0;
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

	if (state_read(p->rootfd, STATE_FILE, &st, &ignored) == 0 &&
	    st.version == p->version)
		return;		/* committed; only a last fsync failed */
	state_archive_name(p->version, name, sizeof(name));
	(void)unlinkat(p->rootfd, name, 0);
	state_manifest_name(p->version, name, sizeof(name));
	(void)unlinkat(p->rootfd, name, 0);
	state_copy_name(p->version, name, sizeof(name));
	(void)unlinkat(p->rootfd, name, 0);
}

static void
close_root(struct publisher *p)
{
	snap_close(&p->prev);
	if (p->lockfd >= 0)
		close(p->lockfd);	/* releases the flock */
	if (p->snapfd >= 0)
		close(p->snapfd);
	if (p->rootfd >= 0)
		close(p->rootfd);
	free(p->buf);
}

/* Reads TYPE/NAME.xml below srcfd into p->buf. */
static int
read_artifact(struct publisher *p, int srcfd, const char *label,
    const struct manifest_entry *e, size_t *len, struct snap_err *err)
{
	char path[NAME_MAX_BYTES + 64];

	free(p->buf);
	p->buf = NULL;
	snprintf(path, sizeof(path), "%s/%s.xml", artifact_types[e->type].folder,
	    e->name);
	if (fsu_read_file(srcfd, path, ARTIFACT_MAX_BYTES, &p->buf, len,
	    err) == -1)
		return snap_err_prefix(err, "%s", label);
	return 0;
}

/* Gives every artifact the labels labels.conf assigns it. */
static int
assign_labels(int srcfd, const char *label, struct manifest *cur,
    struct snap_err *err)
{
	struct label_rules *rules = NULL;
	char labels[LABELS_MAX], *dup;
	size_t i;

	if (labels_load(srcfd, &rules, err) == -1)
		return snap_err_prefix(err, "%s", label);
	for (i = 0; rules != NULL && i < cur->n; i++) {
		labels_for(rules, cur->entries[i].type, cur->entries[i].name,
		    labels);
		if ((dup = strdup(labels)) == NULL) {
			labels_free(rules);
			return snap_err_set(err, "out of memory");
		}
		free(cur->entries[i].labels);
		cur->entries[i].labels = dup;
	}
	labels_free(rules);
	return 0;
}

/* Pass one: checksum every artifact, validate those the latest version
 * does not already hold byte for byte. */
static int
hash_and_validate(struct publisher *p, int srcfd, const char *label,
    struct manifest *cur, struct snap_err *err)
{
	const struct manifest_entry *old;
	struct manifest_entry *e;
	size_t i, len;

	for (i = 0; i < cur->n; i++) {
		e = &cur->entries[i];
		if (read_artifact(p, srcfd, label, e, &len, err) == -1)
			return -1;
		e->size = len;
		hash_buf(p->buf, len, e->xxh128);
		old = p->have_prev ? manifest_find(p->prev.m, e->type, e->name) :
		    NULL;
		if (old != NULL && strcmp(old->xxh128, e->xxh128) == 0)
			continue;
		if (p->o->xc != NULL && xmlcheck_validate(p->o->xc,
		    artifact_types[e->type].folder, p->buf, len, err) == -1)
			return snap_err_prefix(err, "%s/%s/%s.xml", label,
			    artifact_types[e->type].folder, e->name);
	}
	/* What no secondary would apply is not published. */
	if (manifest_check_total(cur, err) == -1)
		return snap_err_prefix(err, "%s", label);
	return 0;
}

/* Pass two: the archive, from a second read that must match the first. */
static int
write_archive(struct publisher *p, int srcfd, const char *label,
    const struct manifest *cur, struct state_file *f, struct snap_err *err)
{
	struct fsu_tmp t = FSU_TMP_INIT;
	struct arc_writer *w = NULL;
	char base[96], sum[HASH_HEX_LEN + 1];
	size_t i, len;
	int rc = -1;

	state_archive_name(p->version, f->name, sizeof(f->name));
	snprintf(base, sizeof(base), "%s", f->name + strlen("snapshots/"));
	if (fsu_tmp_open(&t, p->snapfd, base, err) == -1)
		return -1;
	if ((w = arc_writer_new(t.fd, err)) == NULL)
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
	if (arc_writer_finish(w, &f->size, f->xxh128, err) == -1)
		goto out;
	rc = fsu_tmp_commit(&t, err);
out:
	arc_writer_free(w);
	fsu_tmp_abort(&t);
	return rc;
}

/* Writes buf as snapshots/<base> (temp, fsync, rename) and records it. */
static int
write_snapshot_file(struct publisher *p, const char *name, const char *buf,
    size_t len, struct state_file *f, struct snap_err *err)
{
	struct fsu_tmp t = FSU_TMP_INIT;

	if (f != NULL) {
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->size = len;
		hash_buf(buf, len, f->xxh128);
	}
	if (fsu_tmp_open(&t, p->snapfd, name + strlen("snapshots/"), err) == -1)
		return -1;
	if (fsu_write_all(t.fd, buf, len) == -1) {
		int saved = errno;

		fsu_tmp_abort(&t);
		return snap_err_sys(err, saved, "%s: write", name);
	}
	return fsu_tmp_commit(&t, err);
}

/* Manifest, state copy, fsync snapshots/, then state.json: the commit. */
static int
commit_version(struct publisher *p, struct manifest *cur,
    struct snap_state *st, struct snap_err *err)
{
	char *mbuf = NULL, *sbuf = NULL, name[96];
	size_t mlen, slen;
	int rc = -1;

	cur->version = p->version;
	cur->parent_version = p->have_prev ? p->prev.st.version : 0;
	cur->published_at = p->now;
	if (manifest_to_json(cur, &mbuf, &mlen, err) == -1)
		goto out;
	state_manifest_name(p->version, name, sizeof(name));
	if (write_snapshot_file(p, name, mbuf, mlen, &st->manifest, err) == -1)
		goto out;
	snprintf(st->cluster_id, sizeof(st->cluster_id), "%s", p->o->cluster_id);
	snprintf(st->node_id, sizeof(st->node_id), "%s", p->o->node_id);
	snprintf(st->node_version, sizeof(st->node_version), "%s",
	    SNAP_VERSION_STRING);
	st->version = p->version;
	st->parent_version = cur->parent_version;
	st->published_at = p->now;
	st->last_sync_at = p->now;
	st->artifact_count = cur->n;
	if (state_to_json(st, &sbuf, &slen, err) == -1)
		goto out;
	state_copy_name(p->version, name, sizeof(name));
	if (write_snapshot_file(p, name, sbuf, slen, NULL, err) == -1 ||
	    fsu_fsync_dir(p->snapfd, "snapshots", err) == -1)
		goto out;
	rc = fsu_write_atomic(p->rootfd, STATE_FILE, sbuf, slen, err);
out:
	free(mbuf);
	free(sbuf);
	return rc;
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

int
snap_publish(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, enum snap_publish_result *result,
    uint64_t *version, struct snap_err *err)
{
	struct publisher p = { .rootfd = -1, .snapfd = -1, .lockfd = -1, .o = o,
	    .prev = SNAP_VERSION_INIT };
	struct manifest *cur = NULL;
	struct snap_state st;
	int srcfd = -1, rc = -1;

	memset(&st, 0, sizeof(st));
	if (check_ids(o, err) == -1)
		return -1;
	if ((srcfd = fsu_open_dir(AT_FDCWD, source, err)) == -1)
		return -1;
	if (open_root(&p, sync_root, err) == -1)
		goto out;
	p.now = fsu_now();
	if ((cur = manifest_new()) == NULL) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	if (scan_tree(srcfd, source, cur, err) == -1 ||
	    assign_labels(srcfd, source, cur, err) == -1 ||
	    hash_and_validate(&p, srcfd, source, cur, err) == -1)
		goto out;
	if (p.have_prev && manifest_same_content(p.prev.m, cur)) {
		*result = SNAP_UNCHANGED;
		*version = p.prev.st.version;
		rc = 0;
		goto out;
	}
	if (manifest_diff(p.have_prev ? p.prev.m : NULL, cur, p.now) == -1) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	if (write_archive(&p, srcfd, source, cur, &st.archive, err) == -1 ||
	    commit_version(&p, cur, &st, err) == -1) {
		discard_version(&p);
		goto out;
	}
	*result = p.repaired ? SNAP_REPAIRED : SNAP_PUBLISHED;
	*version = p.version;
	if (p.repaired)
		snap_err_set(err, "replaced an unreadable latest version: %s",
		    p.repair_reason);
	(void)snap_prune(p.rootfd, p.version, o->keep_versions, o->grace_s);
	rc = 0;
out:
	manifest_free(cur);
	close_root(&p);
	close(srcfd);
	return rc;
}

/* Copies the verified archive of `old` byte for byte as the new version's. */
static int
copy_archive(struct publisher *p, struct snap_version *old,
    struct state_file *f, struct snap_err *err)
{
	struct fsu_tmp t = FSU_TMP_INIT;
	char buf[1 << 16];
	ssize_t n;

	state_archive_name(p->version, f->name, sizeof(f->name));
	f->size = old->st.archive.size;
	memcpy(f->xxh128, old->st.archive.xxh128, sizeof(f->xxh128));
	if (lseek(old->archfd, 0, SEEK_SET) == -1)
		return snap_err_sys(err, errno, "%s", old->st.archive.name);
	if (fsu_tmp_open(&t, p->snapfd, f->name + strlen("snapshots/"),
	    err) == -1)
		return -1;
	while ((n = read(old->archfd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || fsu_write_all(t.fd, buf, (size_t)n) == -1) {
			int saved = errno;

			fsu_tmp_abort(&t);
			return snap_err_sys(err, saved, "%s", f->name);
		}
	}
	return fsu_tmp_commit(&t, err);
}

int
snap_rollback(const char *sync_root, uint64_t to,
    const struct snap_publish_opts *o, uint64_t *version,
    struct snap_err *err)
{
	struct publisher p = { .rootfd = -1, .snapfd = -1, .lockfd = -1, .o = o,
	    .prev = SNAP_VERSION_INIT };
	struct snap_version old = SNAP_VERSION_INIT;
	struct arc_extract x = { .destfd = -1 };
	struct snap_state st;
	int rc = -1;

	memset(&st, 0, sizeof(st));
	if (check_ids(o, err) == -1 || open_root(&p, sync_root, err) == -1)
		goto out;
	if (to == 0 || !p.have_prev || to >= p.prev.st.version) {
		snap_err_set(err, "version %" PRIu64 " is not older than the "
		    "latest", to);
		goto out;
	}
	/* Republish only what still verifies completely. */
	if (snap_open(p.rootfd, to, &old, err) == -1 ||
	    arc_extract(old.archfd, &old.st.archive, old.m, &x, err) == -1) {
		snap_err_prefix(err, "version %" PRIu64, to);
		goto out;
	}
	p.now = fsu_now();
	manifest_clear_events(old.m);	/* recomputed against the latest */
	if (manifest_diff(p.prev.m, old.m, p.now) == -1) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	if (copy_archive(&p, &old, &st.archive, err) == -1 ||
	    commit_version(&p, old.m, &st, err) == -1) {
		discard_version(&p);
		goto out;
	}
	*version = p.version;
	(void)snap_prune(p.rootfd, p.version, o->keep_versions, o->grace_s);
	rc = 0;
out:
	snap_close(&old);
	close_root(&p);
	return rc;
}
