/*
 * redis_push.c - the primary's uploads to a Redis sync root, and the
 * one-shot commands' (see redis_push.h).
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

struct upload_result {
	uint64_t version;
	uint64_t stored;	/* the store's version when refused */
	bool refused;		/* the store holds a higher version */
	bool fenced;		/* the lease is not ours (ha = redis) */
	size_t sent;
};

/* Steps 1-4 of redis_push.h for the stage at c->sync_root; fence is
 * "<epoch> <node>" with ha = redis, else "". */
static int
upload(struct redis *r, const struct config *c, bool timestamp_only,
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
	/* (4) retention, after the commit. */
	if (c->keep_versions > 0 && s.st->version > c->keep_versions &&
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
static uint64_t
stage_version(const char *dir)
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

/* Mirrors the store into the stage when it names a higher version (or,
 * with equal_too, the same version with other bytes: another primary's).
 * *ahead says the stage's state.json changed. */
static int
prepare(struct redis *r, const char *stage, uint64_t version, bool equal_too,
    bool *ahead, struct snap_err *err)
{
	struct redis_mirror_result res;
	uint64_t stored, staged;
	char name[128];
	int rootfd;

	*ahead = false;
	if (fsu_mkdirs(stage, err) == -1 ||
	    redis_store_version(r, &stored, err) == -1)
		return -1;
	staged = stage_version(stage);
	if (stored > staged || (equal_too && stored != 0 && stored == staged)) {
		if (redis_mirror(r, stage, 0, &res, err) == -1)
			return snap_err_prefix(err, "bringing the stage up to "
			    "the store");
		*ahead = res.changed;
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
	rc = prepare(r, c->sync_root, version, false, &ahead, err);
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
		rc = upload(r, c, false, "", &res, err);
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

/* --- the daemon's uploader --- */

struct rpush {
	const struct config *c;
	struct redis *r;
	uint64_t want;			/* the stage's latest (0: none yet) */
	uint64_t committed;		/* the last version committed */
	bool due_upload;
	bool due_refresh;
	int64_t due;			/* monotonic: next try */
	int64_t check_due;		/* monotonic: look at the store */
	unsigned delay_ms;		/* the next retry's */
	unsigned tries;
	uint64_t said;			/* the version last_error was said of */
	/* ha = redis */
	uint64_t epoch;			/* the lease's we hold (0: none) */
	char holder[256];		/* "<epoch> <node>" of the holder */
	char fence[256];		/* "<epoch> <node>" while we hold it */
	int64_t lease_due;		/* monotonic: renew or try again */
	uint64_t uploads, failures, blobs_sent;
	char last_error[sizeof(((struct snap_err *)0)->msg)];
};

struct rpush *
rpush_new(const struct config *c, struct snap_err *err)
{
	struct rpush *rp;

	if ((rp = calloc(1, sizeof(*rp))) == NULL) {
		snap_err_sys(err, errno, "redis");
		return NULL;
	}
	rp->c = c;
	rp->delay_ms = c->retry_ms;
	if ((rp->r = redis_new(c, err)) == NULL) {
		free(rp);
		return NULL;
	}
	return rp;
}

void
rpush_free(struct rpush *rp)
{
	if (rp == NULL)
		return;
	redis_lease_release(rp->r, rp->c->node_id, rp->epoch);
	redis_free(rp->r);
	free(rp);
}

void
rpush_prepare(struct rpush *rp)
{
	struct snap_err err = SNAP_ERR_INIT;
	bool ahead;

	if (rp == NULL)
		return;
	if (prepare(rp->r, rp->c->sync_root, 0, false, &ahead, &err) == -1)
		log_warnx("%s (publishing into the stage %s; uploaded once the "
		    "store answers)", err.msg, rp->c->sync_root);
	else if (ahead)
		log_info("redis %s: the stage %s brought up to the store",
		    redis_where(rp->r), rp->c->sync_root);
	rp->want = stage_version(rp->c->sync_root);
	rp->due_upload = rp->want != 0;
	rp->due = 0;
}

void
rpush_want(struct rpush *rp, uint64_t version)
{
	if (rp == NULL)
		return;
	if (version != rp->want || version != rp->committed) {
		rp->due_upload = true;
		rp->tries = 0;
		rp->delay_ms = rp->c->retry_ms;
		rp->due = 0;
	}
	rp->want = version;
}

void
rpush_refresh(struct rpush *rp)
{
	if (rp == NULL)
		return;
	rp->due_refresh = true;
	if (!rp->due_upload)
		rp->due = 0;
}

static void
failed(struct rpush *rp, const struct snap_err *err)
{
	unsigned long next;

	rp->failures++;
	rp->tries++;
	/* Said once per error and version, not at every retry. */
	if (strcmp(err->msg, rp->last_error) != 0 || rp->said != rp->want)
		log_errorx("redis upload of version %" PRIu64 " failed: %s "
		    "(retried in %u ms)", rp->want, err->msg, rp->delay_ms);
	rp->said = rp->want;
	snprintf(rp->last_error, sizeof(rp->last_error), "%s", err->msg);
	rp->due = daemon_now_ms() + rp->delay_ms;
	next = (unsigned long)rp->delay_ms * rp->c->retry_factor;
	rp->delay_ms = next > rp->c->retry_max_ms ? rp->c->retry_max_ms :
	    (unsigned)next;
}

static unsigned
lease_ms(const struct rpush *rp)
{
	return rp->c->redis_lease_ms ? rp->c->redis_lease_ms : 10000;
}

/*
 * ha = redis: takes or renews the lease when due. false while another
 * node holds it (a standby uploads nothing) or the store cannot be asked;
 * *ask is RPUSH_REPUBLISH when a newly taken lease found the store ahead
 * of the stage.
 */
static bool
hold_lease(struct rpush *rp, enum rpush_ask *ask)
{
	struct snap_err err = SNAP_ERR_INIT;
	int64_t now = daemon_now_ms();
	uint64_t was = rp->epoch;
	char holder[sizeof(rp->holder)];
	bool ahead;

	*ask = RPUSH_NOTHING;
	if (!rp->c->redis_ha)
		return true;
	if (now < rp->lease_due)
		return rp->epoch != 0;
	rp->lease_due = now + lease_ms(rp) / 3;
	if (redis_lease_take(rp->r, rp->c->node_id, lease_ms(rp), &rp->epoch,
	    holder, sizeof(holder), &err) == -1) {
		/* Past its life the lease is someone else's to take. */
		rp->epoch = 0;
		failed(rp, &err);
		return false;
	}
	if (rp->epoch == 0) {
		if (strcmp(holder, rp->holder) != 0)
			log_info("redis %s: standby: the lease is held by %s",
			    redis_where(rp->r), holder);
		snprintf(rp->holder, sizeof(rp->holder), "%s", holder);
		rp->fence[0] = '\0';
		return false;
	}
	snprintf(rp->holder, sizeof(rp->holder), "%s", holder);
	snprintf(rp->fence, sizeof(rp->fence), "%s", holder);
	if (rp->epoch != was) {
		log_fields(LOG_LEVEL_INFO, LOG_FIELDS(LOG_INT("epoch",
		    rp->epoch)), "redis %s: lease taken, epoch %" PRIu64,
		    redis_where(rp->r), rp->epoch);
		if (prepare(rp->r, rp->c->sync_root, 0, true, &ahead,
		    &err) == -1) {
			rp->epoch = 0;
			failed(rp, &err);
			return false;
		}
		if (ahead) {
			*ask = RPUSH_REPUBLISH;
			return false;
		}
		rp->due_upload = rp->want != 0;
		rp->due = now;
	}
	return true;
}

enum rpush_ask
rpush_run(struct rpush *rp)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct upload_result res;
	int64_t now = daemon_now_ms(), start;
	enum rpush_ask ask;
	uint64_t stored;
	bool ahead;

	if (rp == NULL)
		return RPUSH_NOTHING;
	if (!hold_lease(rp, &ask))
		return ask;
	/* Every poll_ms: does the store still hold what we committed? */
	if (!rp->due_upload && rp->committed != 0 && now >= rp->check_due) {
		rp->check_due = now + rp->c->poll_ms;
		if (redis_store_version(rp->r, &stored, &err) == -1) {
			failed(rp, &err);
			rp->due_upload = true;	/* once it answers */
		} else if (stored < rp->committed) {
			log_warnx("redis %s: the store holds version %" PRIu64
			    ", not %" PRIu64 " (emptied or restarted): "
			    "uploading version %" PRIu64 " in full",
			    redis_where(rp->r), stored, rp->committed,
			    rp->want);
			rp->due_upload = true;
			rp->due = now;
		}
	}
	if ((!rp->due_upload && !rp->due_refresh) || now < rp->due)
		return RPUSH_NOTHING;
	start = now;
	if (upload(rp->r, rp->c, !rp->due_upload, rp->fence, &res,
	    &err) == -1) {
		if (res.fenced) {
			rp->epoch = 0;		/* ask again at once */
			rp->lease_due = 0;
		}
		if (res.refused) {
			/* Another node published above us: take its
			 * version, then publish ours above it. */
			if (prepare(rp->r, rp->c->sync_root, 0, true, &ahead,
			    &err) == 0 && ahead) {
				log_warnx("redis %s: the store holds version %"
				    PRIu64 " above ours: stage brought up to "
				    "it, publishing again", redis_where(rp->r),
				    res.stored);
				rp->due_upload = false;
				return RPUSH_REPUBLISH;
			}
		}
		failed(rp, &err);
		return RPUSH_NOTHING;
	}
	if (rp->last_error[0] != '\0')
		log_info("redis %s: uploads work again", redis_where(rp->r));
	rp->last_error[0] = '\0';
	if (rp->due_upload) {
		rp->uploads++;
		rp->blobs_sent += res.sent;
		rp->committed = res.version;
		log_fields(LOG_LEVEL_INFO, LOG_FIELDS(LOG_INT("version",
		    res.version)), "redis %s: version %" PRIu64 " committed "
		    "in %" PRId64 " ms (%zu blobs sent)", redis_where(rp->r),
		    res.version, daemon_now_ms() - start, res.sent);
	}
	rp->due_upload = rp->due_refresh = false;
	rp->tries = 0;
	rp->delay_ms = rp->c->retry_ms;
	rp->check_due = daemon_now_ms() + rp->c->poll_ms;
	return RPUSH_NOTHING;
}

int
rpush_timeout_ms(const struct rpush *rp)
{
	int64_t wait, due;

	if (rp == NULL)
		return -1;
	due = rp->due_upload || rp->due_refresh ? rp->due :
	    rp->committed != 0 ? rp->check_due : -1;
	if (rp->c->redis_ha && (rp->epoch == 0 || due < 0 ||
	    rp->lease_due < due))
		due = rp->lease_due;	/* a standby waits for the lease */
	if (due < 0)
		return -1;
	wait = due - daemon_now_ms();
	return wait < 0 ? 0 : wait > 3600000 ? 3600000 : (int)wait;
}

int
rpush_failing(const struct rpush *rp, char *why, size_t len)
{
	if (rp == NULL || rp->last_error[0] == '\0')
		return 0;
	snprintf(why, len, "redis upload failing: %s", rp->last_error);
	return 1;
}

void
rpush_status_add(const struct rpush *rp, json_t *status)
{
	if (rp == NULL || status == NULL)
		return;
	json_object_set_new(status, "redis", json_pack("{s:s, s:s, s:I, s:s, "
	    "s:I, s:I, s:b, s:I, s:o}",
	    "server", redis_where(rp->r),
	    "ha", rp->c->redis_ha ? (rp->epoch ? "holder" : "standby") : "none",
	    "epoch", (json_int_t)rp->epoch,
	    "lease_holder", rp->holder,
	    "latest_version", (json_int_t)rp->want,
	    "committed_version", (json_int_t)rp->committed,
	    "uploading", rp->due_upload,
	    "tries", (json_int_t)rp->tries,
	    "last_error", rp->last_error[0] ? json_string(rp->last_error) :
	    json_null()));
}

void
rpush_render_metrics(const struct rpush *rp, FILE *f)
{
	if (rp == NULL)
		return;
	fprintf(f, "# HELP artsync_redis_up 1 while the last upload to the "
	    "Redis store worked.\n# TYPE artsync_redis_up gauge\n"
	    "artsync_redis_up %d\n", rp->last_error[0] == '\0');
	fprintf(f, "# HELP artsync_redis_committed_version The last version "
	    "committed to the store.\n# TYPE artsync_redis_committed_version "
	    "gauge\nartsync_redis_committed_version %" PRIu64 "\n",
	    rp->committed);
	fprintf(f, "# HELP artsync_redis_lease_epoch The epoch of the lease "
	    "this primary holds (ha = redis; 0: none, a standby).\n# TYPE "
	    "artsync_redis_lease_epoch gauge\nartsync_redis_lease_epoch %"
	    PRIu64 "\n", rp->epoch);
	fprintf(f, "# HELP artsync_redis_uploads_total Versions committed to "
	    "the store.\n# TYPE artsync_redis_uploads_total counter\n"
	    "artsync_redis_uploads_total %" PRIu64 "\n", rp->uploads);
	fprintf(f, "# HELP artsync_redis_upload_failures_total Uploads that "
	    "failed (each retry counts).\n# TYPE "
	    "artsync_redis_upload_failures_total counter\n"
	    "artsync_redis_upload_failures_total %" PRIu64 "\n", rp->failures);
	fprintf(f, "# HELP artsync_redis_connects_total Connections made to "
	    "the store.\n# TYPE artsync_redis_connects_total counter\n"
	    "artsync_redis_connects_total %" PRIu64 "\n",
	    redis_connects(rp->r));
}
