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

#include "daemon.h"
#include "log.h"
#include "redis.h"
#include "redis_fetch.h"
#include "redis_lease.h"
#include "redis_push.h"
#include "redis_push_int.h"

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
	if (redis_push_prepare(rp->r, rp->c->sync_root, 0, false, &ahead,
	    &err) == -1)
		log_warnx("%s (publishing into the stage %s; uploaded once the "
		    "store answers)", err.msg, rp->c->sync_root);
	else if (ahead)
		log_info("redis %s: the stage %s brought up to the store",
		    redis_where(rp->r), rp->c->sync_root);
	rp->want = redis_push_stage_version(rp->c->sync_root);
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
		if (redis_push_prepare(rp->r, rp->c->sync_root, 0, true, &ahead,
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
	if (redis_push_upload(rp->r, rp->c, !rp->due_upload, rp->fence, &res,
	    &err) == -1) {
		if (res.fenced) {
			rp->epoch = 0;		/* ask again at once */
			rp->lease_due = 0;
		}
		if (res.refused) {
			/* Another node published above us: take its
			 * version, then publish ours above it. */
			if (redis_push_prepare(rp->r, rp->c->sync_root, 0,
			    true, &ahead, &err) == 0 && ahead) {
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
