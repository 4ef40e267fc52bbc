/*
 * deploy_stage.c - .staging/build filled with the target (deploy_build
 * step 6): a recycled release patched - what changed unlinked, what the
 * target lacks written as new inodes - or a new one written whole.
 *
 * Each file comes, in this order, from the upstream archive (newest layer
 * first, verified while it is extracted and, with p->checks, validated as
 * publish would), from the current release, the overrides store, or
 * another kept release - every copy checked against the target's XXH128
 * as it is written. Files are written, not synced: commit_release() makes
 * them durable in one batch. stage_fill() returns 0, or -1 with err (an
 * invalid artifact named first, whatever failed after it);
 * st->missing_source says a file only the archive holds was needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc.h"
#include "beneath.h"
#include "deploy_int.h"
#include "fsutil.h"

/* Above this many files one syncfs(2) beats an fsync(2) per file (and
 * the batch would hold too many open files). */
#define FSYNC_EACH_MAX 256

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
		if (release_list(d, &src->kept, &src->nkept, &ignored) == -1)
			src->nkept = 0;
	}
	for (i = src->nkept; got == 1 && i-- > 0;) {
		if (release_is_current(d, src->kept[i].name))
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
 * before its verdict, and stage_fill() takes the verdict before the build
 * is synced or used (an invalid artifact throws the whole build away).
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
int
stage_fill(struct deploy *d, struct build_plan *p,
    const struct manifest *base, const struct keyset *ks, struct staged *s,
    struct apply_stats *st, struct snap_err *err)
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
