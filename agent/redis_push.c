/*
 * redis_push.c - an upload to a Redis sync root (see redis_push.h): the
 * blobs, the commit script, retention; the stage brought up to the store;
 * the one-shot commands. The primary daemon's uploader, which calls these
 * with retries and the ha = redis lease, is in redis_uploader.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "daemon.h"
#include "fresh.h"
#include "fsutil.h"
#include "log.h"
#include "redis.h"
#include "redis_fetch.h"
#include "redis_lease.h"
#include "redis_push.h"
#include "redis_push_int.h"
#include "sign.h"
#include "snap.h"
#include "state.h"

/*
 * KEYS: state.json, version, notify, lease. ARGV: version, state bytes,
 * "<epoch> <node>" with ha = redis (else ""). {1, previous}: committed (or
 * the same bytes were there); {0, stored}: refused, the store holds a
 * version at least as high; {-1, 0}: fenced, the lease is not ours.
 */
static const char commit_script[] =
"if ARGV[3] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[3] then\n"
"  return {-1, 0}\n"
"end\n"
"local cur = tonumber(redis.call('GET', KEYS[2]) or '0') or 0\n"
"local v = tonumber(ARGV[1])\n"
"if v < cur then return {0, cur} end\n"
"if v == cur then\n"
"  if redis.call('GET', KEYS[1]) == ARGV[2] then\n"
"    redis.call('PUBLISH', KEYS[3], ARGV[1])\n"
"    return {1, cur}\n"
"  end\n"
"  return {0, cur}\n"
"end\n"
"redis.call('SET', KEYS[1], ARGV[2])\n"
"redis.call('SET', KEYS[2], ARGV[1])\n"
"redis.call('PUBLISH', KEYS[3], ARGV[1])\n"
"return {1, cur}\n";

/* The stage's state.json: bytes and record. */
struct stage_state {
	char *buf;
	size_t len;
	struct snap_state *st;
};

static void
stage_state_free(struct stage_state *s)
{
	free(s->buf);
	free(s->st);
	s->buf = NULL;
	s->st = NULL;
}

/* Reads rootfd's state.json; *absent when there is none. */
static int
stage_state_read(int rootfd, struct stage_state *s, bool *absent,
    struct snap_err *err)
{
	*absent = false;
	if (faccessat(rootfd, STATE_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT) {
		*absent = true;
		return 0;
	}
	if (fsu_read_file(rootfd, STATE_FILE, STATE_MAX_BYTES, &s->buf,
	    &s->len, err) == -1)
		return -1;
	if ((s->st = calloc(1, sizeof(*s->st))) == NULL)
		return snap_err_sys(err, errno, "state.json");
	if (state_from_json(s->buf, s->len, s->st, err) == -1)
		return snap_err_prefix(err, "redis stage: state.json");
	return 0;
}

/* One file of the stage (snapshots/NAME) into its key, unless the key
 * holds it already. *sent when it was set. */
static int
put_blob(struct redis *r, int rootfd, const char *name, bool optional,
    bool *sent, struct snap_err *err)
{
	char key[REDIS_KEY_MAX], *buf = NULL;
	const char *argv[4];
	size_t argvlen[4], len;
	uint64_t max = 0;
	redisReply *rep;
	int rc = -1;

	*sent = false;
	if (snap_file_version(name + 10, &max) == 0)
		return snap_err_set(err, "redis: '%s' is not a snapshot file",
		    name);
	if (optional && faccessat(rootfd, name, F_OK,
	    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT)
		return 0;
	if (fsu_read_file(rootfd, name, max, &buf, &len, err) == -1)
		return snap_err_prefix(err, "redis stage");
	redis_key(r, name, key, sizeof(key));
	argv[0] = "STRLEN";
	argv[1] = key;
	if ((rep = redis_cmd(r, 2, argv, NULL, err)) == NULL)
		goto out;
	if (rep->type == REDIS_REPLY_INTEGER && rep->integer > 0) {
		if ((uint64_t)rep->integer != len) {
			snap_err_set(err, "redis: %s exists with other bytes "
			    "(%lld, here %zu): blobs are never overwritten",
			    key, rep->integer, len);
			freeReplyObject(rep);
			goto out;
		}
		freeReplyObject(rep);
		rc = 0;
		goto out;
	}
	freeReplyObject(rep);
	argv[0] = "SET";
	argv[2] = buf;
	argv[3] = "NX";
	argvlen[0] = 3;
	argvlen[1] = strlen(key);
	argvlen[2] = len;
	argvlen[3] = 2;
	if ((rep = redis_cmd(r, 4, argv, argvlen, err)) == NULL)
		goto out;
	freeReplyObject(rep);
	*sent = true;
	rc = 0;
out:
	free(buf);
	return rc;
}

/* Keys of versions below `below` that the stage no longer holds. */
static size_t
retire_blobs(struct redis *r, int snapfd, uint64_t below)
{
	char pattern[REDIS_KEY_MAX], cursor[32] = "0";
	const char *argv[6] = { "SCAN", cursor, "MATCH", pattern, "COUNT",
	    "1000" };
	const char *del[2] = { "DEL", NULL };
	struct snap_err err = SNAP_ERR_INIT;
	size_t i, plen, n = 0;
	redisReply *rep, *keys, *d;
	const char *base;
	uint64_t v;

	redis_key(r, "snapshots/*", pattern, sizeof(pattern));
	plen = strlen(pattern) - 1;
	do {
		if ((rep = redis_cmd(r, 6, argv, NULL, &err)) == NULL)
			return n;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[0]->len >= sizeof(cursor) ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			return n;
		}
		memcpy(cursor, rep->element[0]->str, rep->element[0]->len + 1);
		keys = rep->element[1];
		for (i = 0; i < keys->elements; i++) {
			if (keys->element[i]->type != REDIS_REPLY_STRING ||
			    keys->element[i]->len <= plen)
				continue;
			base = keys->element[i]->str + plen;
			v = snap_file_version(base, NULL);
			if (v == 0 || v >= below || faccessat(snapfd, base, F_OK,
			    AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
				continue;
			del[1] = keys->element[i]->str;
			if ((d = redis_cmd(r, 2, del, NULL, &err)) != NULL) {
				freeReplyObject(d);
				n++;
			}
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0);
	return n;
}

/*
 * Step 4 may trust the stage only once it is old enough. A blob key is
 * retired because the stage no longer holds its file, which the stage's
 * own retention removed no sooner than keep_grace_ms after writing it.
 * A re-staged stage (new, or brought up to the store after a takeover)
 * never held the versions before the one it was brought up to: their
 * absence says nothing of their age, and one of them may have been the
 * latest a moment ago, a secondary still fetching it. So nothing is
 * retired until keep_grace_ms after the last re-stage (the mtime of
 * RESTAGED_FILE, written by redis_push_prepare); every version below it
 * was superseded by then, as the grace asks.
 */
#define RESTAGED_FILE ".redis-restaged"

static bool
restaged_lately(int rootfd, unsigned grace_ms)
{
	struct stat st;

	if (fstatat(rootfd, RESTAGED_FILE, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno != ENOENT;		/* unknown: keep */
	return (int64_t)st.st_mtime > fsu_now() - (int64_t)(grace_ms / 1000);
}

/* Steps 1-4 of redis_push.h for the stage at c->sync_root; fence is
 * "<epoch> <node>" with ha = redis, else "". */
int
redis_push_upload(struct redis *r, const struct config *c, bool timestamp_only,
    const char *fence, struct upload_result *res, struct snap_err *err)
{
	struct stage_state s = { NULL, 0, NULL };
	char name[128], ver[24], key[4][REDIS_KEY_MAX];
	const char *argv[10];
	size_t argvlen[10], i;
	redisReply *rep = NULL;
	int rootfd = -1, snapfd = -1, rc = -1;
	bool absent, sent;

	memset(res, 0, sizeof(*res));
	if ((rootfd = fsu_open_root(c->sync_root, err)) == -1 ||
	    stage_state_read(rootfd, &s, &absent, err) == -1)
		goto out;
	if (absent) {
		rc = 0;		/* nothing published yet */
		goto out;
	}
	res->version = s.st->version;
	/* (1) blobs, state copy, signature. */
	if (!timestamp_only) {
		const struct state_file *f[2 * (STATE_CHAIN_MAX + 1)];
		size_t nf = 0;

		f[nf++] = &s.st->manifest;
		f[nf++] = &s.st->archive;
		for (i = 0; i < s.st->ndeltas; i++) {
			f[nf++] = &s.st->deltas[i].manifest;
			f[nf++] = &s.st->deltas[i].archive;
		}
		for (i = 0; i < nf; i++) {
			if (put_blob(r, rootfd, f[i]->name, false, &sent,
			    err) == -1)
				goto out;
			res->sent += sent;
		}
		state_copy_name(s.st->version, name, sizeof(name));
		if (put_blob(r, rootfd, name, false, &sent, err) == -1)
			goto out;
		sign_sig_name(s.st->version, name, sizeof(name));
		if (put_blob(r, rootfd, name, true, &sent, err) == -1)
			goto out;
	}
	/* (2) timestamp.sig, renewed in place. */
	if (faccessat(rootfd, FRESH_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		char *ts = NULL;
		size_t tslen;

		if (fsu_read_file(rootfd, FRESH_FILE, SIGN_SIG_MAX_BYTES, &ts,
		    &tslen, err) == -1)
			goto out;
		redis_key(r, FRESH_FILE, key[0], sizeof(key[0]));
		argv[0] = "SET";
		argv[1] = key[0];
		argv[2] = ts;
		argvlen[0] = 3;
		argvlen[1] = strlen(key[0]);
		argvlen[2] = tslen;
		rep = redis_cmd(r, 3, argv, argvlen, err);
		free(ts);
		if (rep == NULL)
			goto out;
		freeReplyObject(rep);
		rep = NULL;
	}
	if (timestamp_only) {
		rc = 0;
		goto out;
	}
	/* (3) the commit. */
	redis_key(r, STATE_FILE, key[0], sizeof(key[0]));
	redis_key(r, "version", key[1], sizeof(key[1]));
	redis_key(r, "notify", key[2], sizeof(key[2]));
	redis_key(r, "lease", key[3], sizeof(key[3]));
	snprintf(ver, sizeof(ver), "%" PRIu64, s.st->version);
	argv[0] = "EVAL";
	argv[1] = commit_script;
	argv[2] = "4";
	argv[3] = key[0];
	argv[4] = key[1];
	argv[5] = key[2];
	argv[6] = key[3];
	argv[7] = ver;
	argv[8] = s.buf;
	argv[9] = fence;
	for (i = 0; i < 10; i++)
		argvlen[i] = strlen(argv[i]);
	argvlen[8] = s.len;
	if ((rep = redis_cmd(r, 10, argv, argvlen, err)) == NULL)
		goto out;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER) {
		snap_err_set(err, "redis: the commit script answered "
		    "something else");
		goto out;
	}
	if (rep->element[0]->integer == -1) {
		res->fenced = true;
		snap_err_set(err, "redis: fenced: the lease is no longer %s; "
		    "version %" PRIu64 " not committed", fence, s.st->version);
		goto out;
	}
	if (rep->element[0]->integer == 0) {
		res->refused = true;
		res->stored = (uint64_t)rep->element[1]->integer;
		snap_err_set(err, "redis: the store holds version %" PRIu64
		    ", not below version %" PRIu64 ": not committed",
		    res->stored, s.st->version);
		goto out;
	}
	/* (4) retention, after the commit; with the grace above. */
	if (c->keep_versions > 0 && s.st->version > c->keep_versions &&
	    !restaged_lately(rootfd, c->keep_grace_ms) &&
	    (snapfd = beneath_open_dir(rootfd, "snapshots", err)) >= 0)
		(void)retire_blobs(r, snapfd, s.st->version -
		    c->keep_versions + 1);
	rc = 0;
out:
	if (rep != NULL)
		freeReplyObject(rep);
	stage_state_free(&s);
	if (snapfd >= 0)
		close(snapfd);
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}

/* The stage's latest version (0: none or unreadable). */
uint64_t
redis_push_stage_version(const char *dir)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct stage_state s = { NULL, 0, NULL };
	uint64_t v = 0;
	bool absent;
	int rootfd;

	if ((rootfd = fsu_open_root(dir, &err)) == -1)
		return 0;
	if (stage_state_read(rootfd, &s, &absent, &err) == 0 && !absent)
		v = s.st->version;
	stage_state_free(&s);
	close(rootfd);
	return v;
}

/* RESTAGED_FILE's mtime: now (what it holds is for people). */
static int
mark_restaged(const char *stage, uint64_t version, struct snap_err *err)
{
	char line[64];
	int rootfd, rc;

	if ((rootfd = fsu_open_root(stage, err)) == -1)
		return -1;
	snprintf(line, sizeof(line), "brought up to version %" PRIu64 "\n",
	    version);
	rc = fsu_write_atomic(rootfd, RESTAGED_FILE, line, strlen(line), err);
	close(rootfd);
	return rc;
}

/* Mirrors the store into the stage when it names a higher version (or,
 * with equal_too, the same version with other bytes: another primary's).
 * *ahead says the stage's state.json changed. */
int
redis_push_prepare(struct redis *r, const char *stage, uint64_t version,
    bool equal_too, bool *ahead, struct snap_err *err)
{
	struct redis_mirror_result res;
	uint64_t stored, staged;
	char name[128];
	int rootfd;

	*ahead = false;
	if (fsu_mkdirs(stage, err) == -1 ||
	    redis_store_version(r, &stored, err) == -1)
		return -1;
	staged = redis_push_stage_version(stage);
	if (stored > staged || (equal_too && stored != 0 && stored == staged)) {
		if (redis_mirror(r, stage, 0, &res, err) == -1)
			return snap_err_prefix(err, "bringing the stage up to "
			    "the store");
		*ahead = res.changed;
		if (res.changed && mark_restaged(stage, res.version, err) == -1)
			return -1;
	}
	if (version != 0) {
		state_copy_name(version, name, sizeof(name));
		if ((rootfd = fsu_open_root(stage, err)) == -1)
			return -1;
		if (faccessat(rootfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
		    redis_mirror(r, stage, version, &res, err) == -1) {
			close(rootfd);
			return -1;
		}
		close(rootfd);
	}
	return 0;
}

int
redis_cmd_prepare(const struct config *c, uint64_t version,
    struct snap_err *err)
{
	struct redis *r;
	bool ahead;
	int rc;

	if ((r = redis_new(c, err)) == NULL)
		return -1;
	rc = redis_push_prepare(r, c->sync_root, version, false, &ahead, err);
	redis_free(r);
	return rc;
}

int
redis_cmd_upload(const struct config *c, struct snap_err *err)
{
	struct upload_result res;
	struct redis *r;
	int rc;

	if ((r = redis_new(c, err)) == NULL)
		return -1;
	if (c->redis_ha)
		rc = snap_err_set(err, "ha = redis: only the primary daemon "
		    "holding the lease commits (stop it, or publish without "
		    "ha)");
	else
		rc = redis_push_upload(r, c, false, "", &res, err);
	redis_free(r);
	return rc;
}

int
redis_cmd_fetch(const struct config *c, uint64_t version,
    struct snap_err *err)
{
	struct redis_mirror_result res;
	struct redis *r;
	int rc;

	if ((r = redis_new(c, err)) == NULL)
		return -1;
	rc = redis_mirror(r, c->sync_root, 0, &res, err);
	if (rc == 0 && res.version == 0)
		rc = snap_err_setc(err, SNAP_E_MISSING, "redis %s: nothing "
		    "published for cluster %s", redis_where(r), c->cluster_id);
	if (rc == 0 && version != 0 && version != res.version)
		rc = redis_mirror(r, c->sync_root, version, &res, err);
	redis_free(r);
	return rc;
}
