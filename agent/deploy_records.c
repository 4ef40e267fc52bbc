/*
 * deploy_records.c - what the deploy root knows by name: release names,
 * the releases/ directory, the records (releases/<name>.json,
 * upstream/<V>.json: manifests, a delta one read through its parents
 * down to a full one; see deploy.h) and the two caches kept of them.
 *
 * Every reader opens below the root's fds without following a symlink and
 * returns NULL or -1 with err; the caches never fail (a record that does
 * not fit is simply not kept) and never go stale: records are never
 * changed in place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy_int.h"
#include "fsutil.h"

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

void
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
int
release_list(struct deploy *d, struct release **out, size_t *n,
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

bool
release_is_current(const struct deploy *d, const char *name)
{
	return d->has_current && strcmp(d->current.name, name) == 0;
}

/* Removes release `name` from releases/, its record first: a directory
 * without one is a leftover the next start removes. A symlink in its
 * place is unlinked, never followed. */
void
release_drop(struct deploy *d, const char *name)
{
	char json[RELEASE_NAME_MAX + 8];
	struct snap_err ignored;

	record_cache_drop(d, name);
	snprintf(json, sizeof(json), "%s.json", name);
	if (unlinkat(d->relfd, json, 0) == 0 || errno == ENOENT)
		(void)fsu_remove_tree(d->relfd, name, &ignored);
}

void
record_upstream_name(uint64_t version, char *out, size_t len)
{
	snprintf(out, len, "%" PRIu64 ".json", version);
}

/* The full record written beside a delta record every RECORD_CHAIN_MAX
 * deltas: what reading stops at, so the chain read stays bounded while
 * the delta records stay continuous (recycling walks those). */
void
record_full_name(uint64_t version, char *out, size_t len)
{
	snprintf(out, len, "%" PRIu64 ".full.json", version);
}

bool
record_has_full(const struct deploy *d, uint64_t version)
{
	char name[40];

	record_full_name(version, name, sizeof(name));
	return faccessat(d->upfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The upstream record of `version` to read: its full copy when there is
 * one, else the record itself. */
void
record_readable_name(const struct deploy *d, uint64_t version, char *out,
    size_t len)
{
	if (record_has_full(d, version))
		record_full_name(version, out, len);
	else
		record_upstream_name(version, out, len);
}

/* Reads one file of ours, streaming: bounded memory beyond the manifest
 * itself. */
struct manifest *
record_read_one(int dirfd, const char *file, struct snap_err *err)
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
 * Reads record `file` in dirfd (deploy.h): a delta record is applied to
 * its parent record in upstream/, and so on down to a full one (at most
 * RECORD_CHAIN_MAX deltas). *depth, when asked, gets the number of deltas.
 */
struct manifest *
record_read(struct deploy *d, int dirfd, const char *file, unsigned *depth,
    struct snap_err *err)
{
	struct manifest *chain[RECORD_CHAIN_MAX], *m;
	char parent[40];
	size_t n = 0;

	while ((m = record_read_one(dirfd, file, err)) != NULL &&
	    m->kind == MANIFEST_DELTA) {
		if (n == RECORD_CHAIN_MAX) {
			snap_err_set(err, "%s: more than %d deltas above a full "
			    "record", file, RECORD_CHAIN_MAX);
			manifest_free(m);
			m = NULL;
			break;
		}
		chain[n++] = m;
		record_readable_name(d, m->parent_version, parent,
		    sizeof(parent));
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

struct manifest *
record_read_release(struct deploy *d, const char *name, struct snap_err *err)
{
	char file[RELEASE_NAME_MAX + 8];
	struct manifest *m;

	snprintf(file, sizeof(file), "%s.json", name);
	if ((m = record_read(d, d->relfd, file, NULL, err)) == NULL)
		snap_err_prefix(err, "releases");
	return m;
}

/* Records are streamed: a 100,000-artifact record never sits in memory
 * as text. Written as a temp of batch (renamed when it is sealed), or on
 * its own (temp, fsync, rename) when batch is NULL. */
int
record_write(int dirfd, const char *name, const struct manifest *m,
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

/* --- the record cache (deploy.h) --- */

void
record_cache_drop(struct deploy *d, const char *name)
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
void
record_cache_put(struct deploy *d, const char *name, struct manifest *m)
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
struct manifest *
record_cache_take(struct deploy *d, const char *name)
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

/* --- the parent cache (deploy.h) --- */

static struct parent_cached *
parent_slot(struct deploy *d, uint64_t version)
{
	return &d->parents[version % PARENT_CACHE_MAX];
}

/* Upstream record `version` is being written or removed. */
void
record_forget_parent(struct deploy *d, uint64_t version)
{
	struct parent_cached *c = parent_slot(d, version);

	if (c->version == version)
		c->version = 0;
}

/* The parent of upstream record `version` (0: a full record), from its
 * header line alone (or the cache of those). 0, or -1 when that line
 * cannot be read. */
int
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
	record_upstream_name(version, name, sizeof(name));
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
