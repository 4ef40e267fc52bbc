/*
 * redis_fetch.c - the store mirrored into a local sync-root directory, and
 * a secondary's subscription (see redis_fetch.h).
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

#include "agent.h"
#include "beneath.h"
#include "daemon.h"
#include "fresh.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
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

/* --- a secondary's link --- */

#define RFETCH_RETRY_MIN_MS 200
#define RFETCH_RETRY_MAX_MS 5000

struct rfetch {
	struct redis *r;
	char dir[PATH_MAX];
	redisContext *sub;		/* SUBSCRIBE connection, or NULL */
	int64_t sub_retry_at;		/* monotonic */
	unsigned backoff_ms;
	uint64_t store_version;
	uint64_t notifications;
	uint64_t mirrors;		/* state.json of the cache written */
	uint64_t failures;
	uint64_t subscribes;
	bool up;			/* the last mirror worked */
	char last_error[sizeof(((struct snap_err *)0)->msg)];
};

struct rfetch *
rfetch_new(const struct config *c, struct snap_err *err)
{
	struct rfetch *rf;

	if ((rf = calloc(1, sizeof(*rf))) == NULL) {
		snap_err_sys(err, errno, "redis");
		return NULL;
	}
	if ((rf->r = redis_new(c, err)) == NULL) {
		free(rf);
		return NULL;
	}
	snprintf(rf->dir, sizeof(rf->dir), "%s", c->sync_root);
	rf->backoff_ms = RFETCH_RETRY_MIN_MS;
	return rf;
}

void
rfetch_free(struct rfetch *rf)
{
	if (rf == NULL)
		return;
	if (rf->sub != NULL)
		redisFree(rf->sub);
	redis_free(rf->r);
	free(rf);
}

static void
drop_sub(struct rfetch *rf)
{
	if (rf->sub != NULL)
		redisFree(rf->sub);
	rf->sub = NULL;
	rf->sub_retry_at = daemon_now_ms() + rf->backoff_ms;
	rf->backoff_ms = rf->backoff_ms * 2 > RFETCH_RETRY_MAX_MS ?
	    RFETCH_RETRY_MAX_MS : rf->backoff_ms * 2;
}

/* SUBSCRIBE P:<cluster>:notify on a connection of its own. */
static int
subscribe(struct rfetch *rf, struct snap_err *err)
{
	char key[REDIS_KEY_MAX];
	const char *argv[2] = { "SUBSCRIBE", key };
	redisReply *rep;

	if (rf->sub != NULL || daemon_now_ms() < rf->sub_retry_at)
		return 0;
	if ((rf->sub = redis_connect_extra(rf->r, err)) == NULL) {
		drop_sub(rf);
		return -1;
	}
	redis_key(rf->r, "notify", key, sizeof(key));
	rep = redisCommandArgv(rf->sub, 2, argv, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		snap_err_setc(err, SNAP_E_IO, "redis %s: SUBSCRIBE failed",
		    redis_where(rf->r));
		if (rep != NULL)
			freeReplyObject(rep);
		drop_sub(rf);
		return -1;
	}
	freeReplyObject(rep);
	rf->subscribes++;
	rf->backoff_ms = RFETCH_RETRY_MIN_MS;
	log_debug("redis %s: subscribed to %s", redis_where(rf->r), key);
	return 0;
}

/* A failure said once, and what the agent shows: last_error, the root
 * state (unreachable for I/O; else unverifiable, a refusal counted). */
static void
failed(struct rfetch *rf, struct agent *a, const struct snap_err *err)
{
	bool io = err->code == SNAP_E_IO || err->code == SNAP_E_NOMEM;

	rf->failures++;
	rf->up = false;
	if (strcmp(err->msg, rf->last_error) != 0) {
		log_errorx("%s; still serving %s", err->msg, a->d.has_current ?
		    a->d.current.name : "nothing (no release yet)");
		if (!io)
			metrics_count_reject(&a->m, err->code);
	}
	snprintf(rf->last_error, sizeof(rf->last_error), "%s", err->msg);
	snprintf(a->last_error, sizeof(a->last_error), "%s", err->msg);
	trust_set_root(&a->trust, io ? ROOT_UNREACHABLE : ROOT_UNVERIFIABLE);
}

int
rfetch_sync(struct rfetch *rf, struct agent *a)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct redis_mirror_result res;

	if (rf == NULL)
		return 0;
	/* Subscribed first, read second: a commit between the two is seen
	 * by the read, one after it by the subscription. */
	if (subscribe(rf, &err) == -1)
		log_debug("%s (polling every %u ms until it works)", err.msg,
		    a->c->poll_ms);
	if (redis_mirror(rf->r, rf->dir, 0, &res, &err) == -1) {
		failed(rf, a, &err);
		return -1;
	}
	if (!rf->up && rf->last_error[0] != '\0')
		log_info("redis %s: reachable again", redis_where(rf->r));
	rf->up = true;
	rf->last_error[0] = '\0';
	rf->store_version = res.version;
	if (res.changed) {
		rf->mirrors++;
		log_debug("redis %s: version %" PRIu64 " mirrored (%zu blobs, "
		    "%" PRIu64 " bytes fetched)", redis_where(rf->r),
		    res.version, res.fetched, res.bytes);
	}
	return 0;
}

int
rfetch_fd(const struct rfetch *rf)
{
	return rf != NULL && rf->sub != NULL ? rf->sub->fd : -1;
}

bool
rfetch_drain(struct rfetch *rf)
{
	redisReply *rep = NULL;
	bool check = false;

	if (rf == NULL || rf->sub == NULL)
		return false;
	if (redisBufferRead(rf->sub) != REDIS_OK) {
		log_warnx("redis %s: subscription lost: %s", redis_where(rf->r),
		    rf->sub->errstr);
		drop_sub(rf);
		return true;
	}
	while (redisGetReplyFromReader(rf->sub, (void **)&rep) == REDIS_OK &&
	    rep != NULL) {
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
		    rep->element[0]->type == REDIS_REPLY_STRING &&
		    strcmp(rep->element[0]->str, "message") == 0) {
			rf->notifications++;
			check = true;
		}
		freeReplyObject(rep);
		rep = NULL;
	}
	if (rf->sub->err != 0) {
		drop_sub(rf);
		return true;
	}
	return check;
}

bool
rfetch_due(const struct rfetch *rf)
{
	return rf != NULL && rf->sub == NULL &&
	    daemon_now_ms() >= rf->sub_retry_at;
}

int
rfetch_timeout_ms(const struct rfetch *rf)
{
	int64_t wait;

	if (rf == NULL || rf->sub != NULL)
		return -1;
	wait = rf->sub_retry_at - daemon_now_ms();
	return wait < 0 ? 0 : wait > 60000 ? 60000 : (int)wait;
}

void
rfetch_status_add(const struct rfetch *rf, json_t *status)
{
	if (rf == NULL || status == NULL)
		return;
	json_object_set_new(status, "redis", json_pack("{s:s, s:b, s:b, s:I, "
	    "s:I, s:I, s:o}",
	    "server", redis_where(rf->r),
	    "up", rf->up,
	    "subscribed", rf->sub != NULL,
	    "store_version", (json_int_t)rf->store_version,
	    "notifications", (json_int_t)rf->notifications,
	    "connects", (json_int_t)redis_connects(rf->r),
	    "last_error", rf->last_error[0] ? json_string(rf->last_error) :
	    json_null()));
}

void
rfetch_render_metrics(const struct rfetch *rf, FILE *f)
{
	if (rf == NULL)
		return;
	fprintf(f, "# HELP artsync_redis_up 1 while the last read of the Redis "
	    "store worked.\n# TYPE artsync_redis_up gauge\n"
	    "artsync_redis_up %d\n", rf->up);
	fprintf(f, "# HELP artsync_redis_subscribed 1 while subscribed to the "
	    "store's notifications.\n# TYPE artsync_redis_subscribed gauge\n"
	    "artsync_redis_subscribed %d\n", rf->sub != NULL);
	fprintf(f, "# HELP artsync_redis_notifications_total Notifications "
	    "received.\n# TYPE artsync_redis_notifications_total counter\n"
	    "artsync_redis_notifications_total %" PRIu64 "\n",
	    rf->notifications);
	fprintf(f, "# HELP artsync_redis_connects_total Connections made to "
	    "the store.\n# TYPE artsync_redis_connects_total counter\n"
	    "artsync_redis_connects_total %" PRIu64 "\n",
	    redis_connects(rf->r));
	fprintf(f, "# HELP artsync_redis_failures_total Reads of the store "
	    "that failed.\n# TYPE artsync_redis_failures_total counter\n"
	    "artsync_redis_failures_total %" PRIu64 "\n", rf->failures);
	fprintf(f, "# HELP artsync_redis_store_version The version the store's "
	    "state names.\n# TYPE artsync_redis_store_version gauge\n"
	    "artsync_redis_store_version %" PRIu64 "\n", rf->store_version);
}
