/*
 * redis_uploader.c - the primary daemon's uploader to a Redis sync root
 * (see redis_push.h, rpush_*): each version the stage publishes uploaded
 * and committed (redis_push.c), retried with a backoff, re-uploaded when
 * the store was emptied, fenced by the ha = redis lease (redis_lease.h);
 * and what it shows in status and metrics.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "daemon.h"
#include "log.h"
#include "redis.h"
#include "redis_fetch.h"
#include "redis_lease.h"
#include "redis_push.h"
#include "redis_push_int.h"
#include "redis_worker.h"

/* What the uploader knows: in struct rpush's st, the worker's while a
 * job runs and the loop's between jobs; shown, a copy made at each job's
 * end, is what status and metrics read meanwhile. */
struct upstate {
	uint64_t want;			/* the stage's latest (0: none yet) */
	uint64_t committed;		/* the last version committed */
	bool prepare;			/* bring the stage up to the store */
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
	enum rpush_ask ask;		/* what the job asks of the primary */
	char where[REDIS_HOST_MAX + 16];
	uint64_t connects;
};

struct rpush {
	/* The configuration the worker reads: a copy of the live one
	 * (live), taken by the loop before each job, so that a SIGHUP
	 * reload (reload.c) never writes what a running job reads. */
	const struct config *live;
	struct config cfg;
	struct redis *r;		/* the worker's */
	struct rworker *w;
	struct upstate st;
	struct upstate shown;
	/* What the loop asked while a job ran, applied when it ends. */
	uint64_t in_want;
	bool has_in_want, in_refresh;
	enum rpush_ask ask;		/* the last job's, not yet returned */
};

struct rpush *
rpush_new(const struct config *c, struct snap_err *err)
{
	struct rpush *rp;

	if ((rp = calloc(1, sizeof(*rp))) == NULL) {
		snap_err_sys(err, errno, "redis");
		return NULL;
	}
	rp->live = c;
	rp->cfg = *c;
	rp->st.delay_ms = c->retry_ms;
	if ((rp->r = redis_new(c, err)) == NULL ||
	    (rp->w = rworker_new(err)) == NULL) {
		redis_free(rp->r);
		sodium_memzero(&rp->cfg, sizeof(rp->cfg));
		free(rp);
		return NULL;
	}
	snprintf(rp->st.where, sizeof(rp->st.where), "%s", redis_where(rp->r));
	rp->shown = rp->st;
	return rp;
}

void
rpush_free(struct rpush *rp)
{
	if (rp == NULL)
		return;
	/* A job stalled on the store: made to fail now, and then the lease
	 * is left to expire; else it is given up, for a quick takeover. */
	if (rworker_busy(rp->w))
		redis_interrupt(rp->r);
	rworker_free(rp->w);
	redis_lease_release(rp->r, rp->cfg.node_id, rp->st.epoch);
	redis_free(rp->r);
	sodium_memzero(&rp->cfg, sizeof(rp->cfg));	/* a signing key */
	free(rp);
}

/* The job's first step after rpush_prepare(), on the worker. */
static void
prepare(struct rpush *rp)
{
	struct snap_err err = SNAP_ERR_INIT;
	bool ahead;

	rp->st.prepare = false;
	if (redis_push_prepare(rp->r, rp->cfg.sync_root, 0, false, &ahead,
	    &err) == -1)
		log_warnx("%s (publishing into the stage %s; uploaded once the "
		    "store answers)", err.msg, rp->cfg.sync_root);
	else if (ahead)
		log_info("redis %s: the stage %s brought up to the store",
		    redis_where(rp->r), rp->cfg.sync_root);
	rp->st.want = redis_push_stage_version(rp->cfg.sync_root);
	rp->st.due_upload = rp->st.want != 0;
	rp->st.due = 0;
}

/* What the loop asked while a job ran (or now, between jobs: then st is
 * the loop's, and shown follows it). */
static void
apply_asked(struct rpush *rp)
{
	if (rp->has_in_want) {
		if (rp->in_want != rp->st.want ||
		    rp->in_want != rp->st.committed) {
			rp->st.due_upload = true;
			rp->st.tries = 0;
			rp->st.delay_ms = rp->cfg.retry_ms;
			rp->st.due = 0;
		}
		rp->st.want = rp->in_want;
	}
	if (rp->in_refresh) {
		rp->st.due_refresh = true;
		if (!rp->st.due_upload)
			rp->st.due = 0;
	}
	rp->has_in_want = rp->in_refresh = false;
	rp->shown = rp->st;
}

void
rpush_prepare(struct rpush *rp)
{
	if (rp == NULL)
		return;
	rp->st.prepare = true;		/* the first job's first step */
}

void
rpush_want(struct rpush *rp, uint64_t version)
{
	if (rp == NULL)
		return;
	rp->in_want = version;
	rp->has_in_want = true;
	if (!rworker_busy(rp->w))
		apply_asked(rp);	/* and shown at once */
}

void
rpush_refresh(struct rpush *rp)
{
	if (rp == NULL)
		return;
	rp->in_refresh = true;
	if (!rworker_busy(rp->w))
		apply_asked(rp);
}

static void
failed(struct rpush *rp, const struct snap_err *err)
{
	unsigned long next;

	rp->st.failures++;
	rp->st.tries++;
	/* Said once per error and version, not at every retry. */
	if (strcmp(err->msg, rp->st.last_error) != 0 || rp->st.said != rp->st.want)
		log_errorx("redis upload of version %" PRIu64 " failed: %s "
		    "(retried in %u ms)", rp->st.want, err->msg, rp->st.delay_ms);
	rp->st.said = rp->st.want;
	snprintf(rp->st.last_error, sizeof(rp->st.last_error), "%s", err->msg);
	rp->st.due = daemon_now_ms() + rp->st.delay_ms;
	next = (unsigned long)rp->st.delay_ms * rp->cfg.retry_factor;
	rp->st.delay_ms = next > rp->cfg.retry_max_ms ? rp->cfg.retry_max_ms :
	    (unsigned)next;
}

static unsigned
lease_ms(const struct rpush *rp)
{
	return rp->cfg.redis_lease_ms ? rp->cfg.redis_lease_ms : 10000;
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
	uint64_t was = rp->st.epoch;
	char holder[sizeof(rp->st.holder)];
	bool ahead;

	*ask = RPUSH_NOTHING;
	if (!rp->cfg.redis_ha)
		return true;
	if (now < rp->st.lease_due)
		return rp->st.epoch != 0;
	rp->st.lease_due = now + lease_ms(rp) / 3;
	if (redis_lease_take(rp->r, rp->cfg.node_id, lease_ms(rp), &rp->st.epoch,
	    holder, sizeof(holder), &err) == -1) {
		/* Past its life the lease is someone else's to take. */
		rp->st.epoch = 0;
		failed(rp, &err);
		return false;
	}
	if (rp->st.epoch == 0) {
		if (strcmp(holder, rp->st.holder) != 0)
			log_info("redis %s: standby: the lease is held by %s",
			    redis_where(rp->r), holder);
		snprintf(rp->st.holder, sizeof(rp->st.holder), "%s", holder);
		rp->st.fence[0] = '\0';
		return false;
	}
	snprintf(rp->st.holder, sizeof(rp->st.holder), "%s", holder);
	snprintf(rp->st.fence, sizeof(rp->st.fence), "%s", holder);
	if (rp->st.epoch != was) {
		log_fields(LOG_LEVEL_INFO, LOG_FIELDS(LOG_INT("epoch",
		    rp->st.epoch)), "redis %s: lease taken, epoch %" PRIu64,
		    redis_where(rp->r), rp->st.epoch);
		if (redis_push_prepare(rp->r, rp->cfg.sync_root, 0, true, &ahead,
		    &err) == -1) {
			rp->st.epoch = 0;
			failed(rp, &err);
			return false;
		}
		if (ahead) {
			*ask = RPUSH_REPUBLISH;
			return false;
		}
		rp->st.due_upload = rp->st.want != 0;
		rp->st.due = now;
	}
	return true;
}

/* One turn of the uploader, on the worker: the lease, the store's
 * version every poll_ms, the upload when due. What the primary must do
 * next (RPUSH_REPUBLISH: the store was ahead). */
static enum rpush_ask
run_once(struct rpush *rp)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct upload_result res;
	int64_t now = daemon_now_ms(), start;
	enum rpush_ask ask;
	uint64_t stored;
	bool ahead;

	if (!hold_lease(rp, &ask))
		return ask;
	/* Every poll_ms: does the store still hold what we committed? */
	if (!rp->st.due_upload && rp->st.committed != 0 && now >= rp->st.check_due) {
		rp->st.check_due = now + rp->cfg.poll_ms;
		if (redis_store_version(rp->r, &stored, &err) == -1) {
			failed(rp, &err);
			rp->st.due_upload = true;	/* once it answers */
		} else if (stored < rp->st.committed) {
			log_warnx("redis %s: the store holds version %" PRIu64
			    ", not %" PRIu64 " (emptied or restarted): "
			    "uploading version %" PRIu64 " in full",
			    redis_where(rp->r), stored, rp->st.committed,
			    rp->st.want);
			rp->st.due_upload = true;
			rp->st.due = now;
		}
	}
	if ((!rp->st.due_upload && !rp->st.due_refresh) || now < rp->st.due)
		return RPUSH_NOTHING;
	start = now;
	if (redis_push_upload(rp->r, &rp->cfg, !rp->st.due_upload,
	    rp->st.fence, &res, &err) == -1) {
		if (res.fenced) {
			rp->st.epoch = 0;		/* ask again at once */
			rp->st.lease_due = 0;
		}
		if (res.refused) {
			/* Another node published above us: take its
			 * version, then publish ours above it. */
			if (redis_push_prepare(rp->r, rp->cfg.sync_root, 0,
			    true, &ahead, &err) == 0 && ahead) {
				log_warnx("redis %s: the store holds version %"
				    PRIu64 " above ours: stage brought up to "
				    "it, publishing again", redis_where(rp->r),
				    res.stored);
				rp->st.due_upload = false;
				return RPUSH_REPUBLISH;
			}
		}
		failed(rp, &err);
		return RPUSH_NOTHING;
	}
	if (rp->st.last_error[0] != '\0')
		log_info("redis %s: uploads work again", redis_where(rp->r));
	rp->st.last_error[0] = '\0';
	if (rp->st.due_upload) {
		rp->st.uploads++;
		rp->st.blobs_sent += res.sent;
		rp->st.committed = res.version;
		log_fields(LOG_LEVEL_INFO, LOG_FIELDS(LOG_INT("version",
		    res.version)), "redis %s: version %" PRIu64 " committed "
		    "in %" PRId64 " ms (%zu blobs sent)", redis_where(rp->r),
		    res.version, daemon_now_ms() - start, res.sent);
	}
	rp->st.due_upload = rp->st.due_refresh = false;
	rp->st.tries = 0;
	rp->st.delay_ms = rp->cfg.retry_ms;
	rp->st.check_due = daemon_now_ms() + rp->cfg.poll_ms;
	return RPUSH_NOTHING;
}

static void
job(void *arg)
{
	struct rpush *rp = arg;

	if (rp->st.prepare)
		prepare(rp);
	rp->st.ask = run_once(rp);
	snprintf(rp->st.where, sizeof(rp->st.where), "%s", redis_where(rp->r));
	rp->st.connects = redis_connects(rp->r);
}

/* When the next job is due (monotonic ms), -1 for none. */
static int64_t
next_due(const struct rpush *rp)
{
	const struct upstate *st = &rp->st;
	int64_t due;

	if (st->prepare)
		return 0;
	due = st->due_upload || st->due_refresh ? st->due :
	    st->committed != 0 ? st->check_due : -1;
	if (rp->cfg.redis_ha && (st->epoch == 0 || due < 0 ||
	    st->lease_due < due))
		due = st->lease_due;	/* a standby waits for the lease */
	return due;
}

enum rpush_ask
rpush_run(struct rpush *rp)
{
	enum rpush_ask ask;
	int64_t due;

	if (rp == NULL || rworker_busy(rp->w))
		return RPUSH_NOTHING;
	if ((ask = rp->ask) != RPUSH_NOTHING) {
		rp->ask = RPUSH_NOTHING;
		return ask;
	}
	due = next_due(rp);
	if (due >= 0 && daemon_now_ms() >= due) {
		rp->cfg = *rp->live;	/* the worker is idle: ours to write */
		rworker_start(rp->w, job, rp);
	}
	return RPUSH_NOTHING;
}

void
rpush_reap(struct rpush *rp)
{
	if (rp == NULL || !rworker_reap(rp->w))
		return;
	rp->ask = rp->st.ask;
	rp->st.ask = RPUSH_NOTHING;
	apply_asked(rp);
}

bool
rpush_busy(const struct rpush *rp)
{
	/* The stage is the uploader's until rpush_prepare()'s job is done:
	 * a version published before it would be numbered from the stage,
	 * not from the store. */
	return rp != NULL && (rworker_busy(rp->w) || rp->st.prepare);
}

int
rpush_fd(const struct rpush *rp)
{
	return rp != NULL ? rworker_fd(rp->w) : -1;
}

int
rpush_timeout_ms(const struct rpush *rp)
{
	int64_t wait, due;

	if (rp == NULL || rworker_busy(rp->w))
		return -1;		/* rpush_fd() wakes the loop */
	if (rp->ask != RPUSH_NOTHING)
		return 0;
	if ((due = next_due(rp)) < 0)
		return -1;
	wait = due - daemon_now_ms();
	return wait < 0 ? 0 : wait > 3600000 ? 3600000 : (int)wait;
}

int
rpush_failing(const struct rpush *rp, char *why, size_t len)
{
	if (rp == NULL || rp->shown.last_error[0] == '\0')
		return 0;
	snprintf(why, len, "redis upload failing: %s", rp->shown.last_error);
	return 1;
}

void
rpush_status_add(const struct rpush *rp, json_t *status)
{
	if (rp == NULL || status == NULL)
		return;
	json_object_set_new(status, "redis", json_pack("{s:s, s:s, s:I, s:s, "
	    "s:I, s:I, s:b, s:I, s:o}",
	    "server", rp->shown.where,
	    "ha", rp->cfg.redis_ha ? (rp->shown.epoch ? "holder" : "standby") : "none",
	    "epoch", (json_int_t)rp->shown.epoch,
	    "lease_holder", rp->shown.holder,
	    "latest_version", (json_int_t)rp->shown.want,
	    "committed_version", (json_int_t)rp->shown.committed,
	    "uploading", rp->shown.due_upload,
	    "tries", (json_int_t)rp->shown.tries,
	    "last_error", rp->shown.last_error[0] ? json_string(rp->shown.last_error) :
	    json_null()));
}

void
rpush_render_metrics(const struct rpush *rp, FILE *f)
{
	if (rp == NULL)
		return;
	fprintf(f, "# HELP artsync_redis_up 1 while the last upload to the "
	    "Redis store worked.\n# TYPE artsync_redis_up gauge\n"
	    "artsync_redis_up %d\n", rp->shown.last_error[0] == '\0');
	fprintf(f, "# HELP artsync_redis_committed_version The last version "
	    "committed to the store.\n# TYPE artsync_redis_committed_version "
	    "gauge\nartsync_redis_committed_version %" PRIu64 "\n",
	    rp->shown.committed);
	fprintf(f, "# HELP artsync_redis_lease_epoch The epoch of the lease "
	    "this primary holds (ha = redis; 0: none, a standby).\n# TYPE "
	    "artsync_redis_lease_epoch gauge\nartsync_redis_lease_epoch %"
	    PRIu64 "\n", rp->shown.epoch);
	fprintf(f, "# HELP artsync_redis_uploads_total Versions committed to "
	    "the store.\n# TYPE artsync_redis_uploads_total counter\n"
	    "artsync_redis_uploads_total %" PRIu64 "\n", rp->shown.uploads);
	fprintf(f, "# HELP artsync_redis_upload_failures_total Uploads that "
	    "failed (each retry counts).\n# TYPE "
	    "artsync_redis_upload_failures_total counter\n"
	    "artsync_redis_upload_failures_total %" PRIu64 "\n", rp->shown.failures);
	fprintf(f, "# HELP artsync_redis_connects_total Connections made to "
	    "the store.\n# TYPE artsync_redis_connects_total counter\n"
	    "artsync_redis_connects_total %" PRIu64 "\n",
	    rp->shown.connects);
}
