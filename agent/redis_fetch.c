/*
 * redis_fetch.c - the store mirrored into a local sync-root directory (see
 * redis_fetch.h): redis_mirror() and the store's version. A secondary's
 * link (subscription, backstop) is in redis_link.c.
 *
 * Every byte from Redis is hostile: a value is read with GETRANGE bounded
 * to one byte past what it may hold (the state's cap, a blob's recorded
 * size, a signature's cap), so a huge value costs nothing; names come only
 * from a state that state_from_json() accepted (each exactly the name of
 * its role and version); a blob enters the directory only once its size
 * and XXH128 match the state's record.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "fresh.h"
#include "fsutil.h"
#include "hash.h"
#include "redis_fetch.h"
#include "sign.h"
#include "snap.h"
#include "state.h"

/*
 * Reads the value of name's key, at most max bytes: *out (malloc'ed, NUL
 * added, owned by the caller) and *len; *out NULL when the key is absent
 * or empty. *len is max + 1 when the value is longer than max.
 */
static int
get_bounded(struct redis *r, const char *name, uint64_t max, char **out,
    size_t *len, struct snap_err *err)
{
	char key[REDIS_KEY_MAX], end[24];
	const char *argv[4] = { "GETRANGE", key, "0", end };
	redisReply *rep;

	*out = NULL;
	*len = 0;
	redis_key(r, name, key, sizeof(key));
	snprintf(end, sizeof(end), "%" PRIu64, max);
	if ((rep = redis_cmd(r, 4, argv, NULL, err)) == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_STRING) {
		freeReplyObject(rep);
		return snap_err_setc(err, SNAP_E_MALFORMED, "redis: %s: not a "
		    "string", name);
	}
	if (rep->len > 0) {
		if ((*out = malloc(rep->len + 1)) == NULL) {
			freeReplyObject(rep);
			return snap_err_sys(err, ENOMEM, "redis: %s", name);
		}
		memcpy(*out, rep->str, rep->len);
		(*out)[rep->len] = '\0';
		*len = rep->len;
	}
	freeReplyObject(rep);
	return 0;
}

int
redis_store_version(struct redis *r, uint64_t *version, struct snap_err *err)
{
	char *buf = NULL, *end;
	size_t len;

	*version = 0;
	if (get_bounded(r, "version", 20, &buf, &len, err) == -1)
		return -1;
	if (buf == NULL)
		return 0;
	errno = 0;
	*version = strtoull(buf, &end, 10);
	if (errno != 0 || *end != '\0' || len > 16 ||
	    *version > STATE_VERSION_MAX) {
		*version = 0;
		free(buf);
		return snap_err_setc(err, SNAP_E_MALFORMED, "redis: version: "
		    "not a version");
	}
	free(buf);
	return 0;
}

/* Whether dirfd/base is a regular file that matches its record (size,
 * then XXH128: a damaged copy, or a stage's own file of the same name
 * that another primary's differs from, is fetched again). */
static bool
have_file(int dirfd, const char *base, const struct state_file *f)
{
	struct snap_err err = SNAP_ERR_INIT;
	char hex[HASH_HEX_LEN + 1];
	struct stat st;
	uint64_t size;
	bool ok;
	int fd;

	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode) || (uint64_t)st.st_size != f->size)
		return false;
	if ((fd = beneath_open(dirfd, base, O_RDONLY | O_NONBLOCK, 0,
	    &err)) == -1)
		return false;
	ok = hash_fd(fd, hex, &size, &err) == 0 && size == f->size &&
	    strcmp(hex, f->xxh128) == 0;
	close(fd);
	return ok;
}

/* One blob a state names: fetched into snapfd unless there already, its
 * size and XXH128 checked first. */
static int
fetch_blob(struct redis *r, int snapfd, const struct state_file *f,
    struct redis_mirror_result *res, struct snap_err *err)
{
	const char *base = f->name + strlen("snapshots/");
	char hex[HASH_HEX_LEN + 1];
	uint64_t max = 0;
	char *buf = NULL;
	size_t len;
	int rc = -1;

	if (strncmp(f->name, "snapshots/", 10) != 0 ||
	    snap_file_version(base, &max) == 0 || strchr(base, '/') != NULL)
		return snap_err_setc(err, SNAP_E_MALFORMED, "redis: state.json "
		    "names '%s'", f->name);
	if (f->size > max)
		return snap_err_setc(err, SNAP_E_TOO_LARGE, "redis: %s: %" PRIu64
		    " bytes recorded, more than such a file may hold", f->name,
		    f->size);
	if (have_file(snapfd, base, f))
		return 0;
	if (get_bounded(r, f->name, f->size, &buf, &len, err) == -1)
		return -1;
	if (buf == NULL && f->size > 0) {
		rc = snap_err_setc(err, SNAP_E_MISSING, "redis: %s: not in the "
		    "store", f->name);
		goto out;
	}
	if (len != f->size) {
		rc = snap_err_setc(err, SNAP_E_TRUNCATED, "redis: %s: %s than "
		    "the %" PRIu64 " bytes recorded", f->name, len > f->size ?
		    "longer" : "shorter", f->size);
		goto out;
	}
	hash_buf(buf ? buf : "", len, hex);
	if (strcmp(hex, f->xxh128) != 0) {
		rc = snap_err_setc(err, SNAP_E_CHECKSUM, "redis: %s: checksum "
		    "mismatch (xxh128 %s, recorded %s)", f->name, hex,
		    f->xxh128);
		goto out;
	}
	if (fsu_write_atomic(snapfd, base, buf ? buf : "", len, err) == -1) {
		snap_err_prefix(err, "redis cache");
		goto out;
	}
	res->fetched++;
	res->bytes += len;
	rc = 0;
out:
	free(buf);
	return rc;
}

/* A small file with no record of its own (the state copy, a signature,
 * timestamp.sig): copied when the store has it and it differs; the
 * reader judges it. */
static int
fetch_small(struct redis *r, int dirfd, const char *name, const char *base,
    size_t max, struct snap_err *err)
{
	char *buf = NULL, *have = NULL;
	size_t len, hlen;
	struct snap_err ignored = SNAP_ERR_INIT;
	int rc = 0;

	if (get_bounded(r, name, max, &buf, &len, err) == -1)
		return -1;
	if (buf == NULL)
		return 0;	/* the reader says what is missing */
	if (len > max) {
		free(buf);
		return snap_err_setc(err, SNAP_E_TOO_LARGE, "redis: %s: over "
		    "%zu bytes", name, max);
	}
	if (fsu_read_file(dirfd, base, max, &have, &hlen, &ignored) == -1 ||
	    hlen != len || memcmp(have, buf, len) != 0)
		rc = fsu_write_atomic(dirfd, base, buf, len, err);
	free(have);
	free(buf);
	return rc;
}

/* Whether base (a name in snapshots/) is one of those the state keeps. */
static bool
is_named(const struct snap_state *st, const char *base)
{
	char name[300];
	size_t i;

	snprintf(name, sizeof(name), "snapshots/%s", base);
	if (!strcmp(name, st->manifest.name) || !strcmp(name, st->archive.name))
		return true;
	for (i = 0; i < st->ndeltas; i++)
		if (!strcmp(name, st->deltas[i].manifest.name) ||
		    !strcmp(name, st->deltas[i].archive.name))
			return true;
	return snap_file_version(base, NULL) == st->version;
}

/* Whether every blob st names is in snapfd with its recorded size (the
 * cheap look of an unchanged state; the hashes were checked on arrival). */
static bool
all_there(int snapfd, const struct snap_state *st)
{
	const struct state_file *f[2] = { &st->manifest, &st->archive };
	struct stat sb;
	size_t i, j;

	for (i = 0; i <= st->ndeltas; i++) {
		if (i > 0) {
			f[0] = &st->deltas[i - 1].manifest;
			f[1] = &st->deltas[i - 1].archive;
		}
		for (j = 0; j < 2; j++)
			if (strncmp(f[j]->name, "snapshots/", 10) != 0 ||
			    fstatat(snapfd, f[j]->name + 10, &sb,
			    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(sb.st_mode) ||
			    (uint64_t)sb.st_size != f[j]->size)
				return false;
	}
	return true;
}

/* Cache retention: files of ours that the state does not name, once
 * older than REDIS_CACHE_GRACE_S (a redeploy may still read the applied
 * version's files for that long). */
static void
prune_cache(int snapfd, const struct snap_state *st)
{
	struct dirent *de;
	struct stat sb;
	DIR *dir;
	int64_t now = fsu_now();

	if ((dir = fsu_opendir_dup(snapfd)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (snap_file_version(de->d_name, NULL) == 0 ||
		    is_named(st, de->d_name) ||
		    fstatat(snapfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    now - sb.st_mtime < REDIS_CACHE_GRACE_S)
			continue;
		(void)unlinkat(snapfd, de->d_name, 0);
	}
	closedir(dir);
}

int
redis_mirror(struct redis *r, const char *dir, uint64_t version,
    struct redis_mirror_result *res, struct snap_err *err)
{
	struct snap_state *st = NULL;
	struct snap_err ignored = SNAP_ERR_INIT;
	char name[128], *buf = NULL, *have = NULL;
	size_t len, hlen, i;
	int rootfd = -1, snapfd = -1, rc = -1;
	bool parsed = false;

	memset(res, 0, sizeof(*res));
	/* (1) The state: the latest, or version V's copy. */
	if (version == 0)
		snprintf(name, sizeof(name), "%s", STATE_FILE);
	else
		state_copy_name(version, name, sizeof(name));
	if (get_bounded(r, name, STATE_MAX_BYTES, &buf, &len, err) == -1)
		goto out;
	if (buf == NULL) {
		if (version == 0) {
			rc = 0;		/* an empty store: nothing to do */
			goto out;
		}
		snap_err_setc(err, SNAP_E_MISSING, "redis: %s: not in the "
		    "store", name);
		goto out;
	}
	if (len > STATE_MAX_BYTES) {
		snap_err_setc(err, SNAP_E_TOO_LARGE, "redis: %s: over %d bytes",
		    name, STATE_MAX_BYTES);
		goto out;
	}
	if (fsu_mkdirs(dir, err) == -1 ||
	    (rootfd = fsu_open_root(dir, err)) == -1 ||
	    (snapfd = beneath_make_dir(rootfd, "snapshots", 0755, err)) == -1) {
		snap_err_prefix(err, "redis cache");
		goto out;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snap_err_sys(err, errno, "redis");
		goto out;
	}
	/* (2) Unchanged, every blob still there by its size: only
	 * timestamp.sig may have been renewed. (A blob removed from the
	 * cache since is fetched again, below.) */
	if (version == 0 && fsu_read_file(rootfd, STATE_FILE, STATE_MAX_BYTES,
	    &have, &hlen, &ignored) == 0 && hlen == len &&
	    memcmp(have, buf, len) == 0 &&
	    ((parsed = state_from_json(buf, len, st, &ignored) == 0) == false ||
	    all_there(snapfd, st))) {
		res->version = parsed ? st->version : 0;
		rc = fetch_small(r, rootfd, FRESH_FILE, FRESH_FILE,
		    SIGN_SIG_MAX_BYTES, err);
		goto out;
	}
	/* (3) A state that does not parse: the reader refuses it with its
	 * reason, as from a share. */
	if (state_from_json(buf, len, st, err) == -1) {
		if (version != 0 || fsu_write_atomic(rootfd, STATE_FILE, buf,
		    len, err) == -1)
			goto out;
		res->changed = true;
		rc = 0;
		goto out;
	}
	if (version != 0 && st->version != version) {
		snap_err_setc(err, SNAP_E_MALFORMED, "redis: %s names version "
		    "%" PRIu64, name, st->version);
		goto out;
	}
	res->version = st->version;
	/* (4) The blobs, each checked against its record. */
	if (fetch_blob(r, snapfd, &st->manifest, res, err) == -1 ||
	    fetch_blob(r, snapfd, &st->archive, res, err) == -1)
		goto out;
	for (i = 0; i < st->ndeltas; i++)
		if (fetch_blob(r, snapfd, &st->deltas[i].manifest, res,
		    err) == -1 || fetch_blob(r, snapfd, &st->deltas[i].archive,
		    res, err) == -1)
			goto out;
	/* (5) The state copy and its signature; timestamp.sig. */
	state_copy_name(st->version, name, sizeof(name));
	if (fetch_small(r, snapfd, name, name + 10, STATE_MAX_BYTES,
	    err) == -1)
		goto out;
	sign_sig_name(st->version, name, sizeof(name));
	if (fetch_small(r, snapfd, name, name + 10, SIGN_SIG_MAX_BYTES,
	    err) == -1)
		goto out;
	if (version == 0 && fetch_small(r, rootfd, FRESH_FILE, FRESH_FILE,
	    SIGN_SIG_MAX_BYTES, err) == -1)
		goto out;
	if (fsu_fsync_dir(snapfd, "snapshots", err) == -1)
		goto out;
	/* (6) state.json last. */
	if (version == 0) {
		if (fsu_write_atomic(rootfd, STATE_FILE, buf, len, err) == -1)
			goto out;
		res->changed = true;
		prune_cache(snapfd, st);
	}
	rc = 0;
out:
	if (rc == -1 && err->code == SNAP_E_OTHER)
		snap_err_recode(err, SNAP_E_IO);
	free(st);
	free(buf);
	free(have);
	if (snapfd >= 0)
		close(snapfd);
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}
