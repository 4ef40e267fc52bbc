/*
 * redis_link.c - a secondary's link to a Redis sync root (see
 * redis_fetch.h, rfetch_*): the mirror before each check of the cache,
 * the SUBSCRIBE connection on the notify channel as one more descriptor
 * in the loop (retried with a backoff when it drops), the backstop
 * timer, and what the link shows in status and metrics. The mirror
 * itself is redis_fetch.c's.
 *
 * Every blocking call (the subscribe, the mirror) is one job on the
 * worker thread (redis_worker.h): struct sync_job is all the job reads
 * and writes, and the loop touches it only between jobs. The loop owns
 * the rest of struct rfetch, and the subscription once handed over: it
 * reads that socket only when poll(2) says it is readable, which never
 * blocks. The loop checks the cache only after a job ended, so the
 * worker never writes the cache while the loop reads it.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "daemon.h"
#include "log.h"
#include "redis_fetch.h"
#include "redis_worker.h"

#define RFETCH_RETRY_MIN_MS 200
#define RFETCH_RETRY_MAX_MS 5000

/* One round trip to the store, on the worker. */
struct sync_job {
	struct redis *r;
	char dir[PATH_MAX];
	bool subscribe;			/* in: make a subscription */
	redisContext *sub;		/* out: the one made, or NULL */
	struct snap_err sub_err;
	int rc;				/* the mirror's */
	struct redis_mirror_result res;
	struct snap_err err;
	char where[REDIS_HOST_MAX + 16];
	uint64_t connects;
};

struct rfetch {
	struct rworker *w;
	struct sync_job job;		/* the worker's while w is busy */
	bool again;			/* asked for while a job ran */
	redisContext *sub;		/* SUBSCRIBE connection, or NULL */
	int64_t sub_retry_at;		/* monotonic */
	unsigned backoff_ms;
	unsigned poll_ms;
	uint64_t store_version;
	uint64_t notifications;
	uint64_t mirrors;		/* state.json of the cache written */
	uint64_t failures;
	uint64_t subscribes;
	char where[REDIS_HOST_MAX + 16];	/* the job's, copied at its end */
	uint64_t connects;
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
	if ((rf->job.r = redis_new(c, err)) == NULL ||
	    (rf->w = rworker_new(err)) == NULL) {
		redis_free(rf->job.r);
		free(rf);
		return NULL;
	}
	snprintf(rf->job.dir, sizeof(rf->job.dir), "%s", c->sync_root);
	snprintf(rf->where, sizeof(rf->where), "%s", redis_where(rf->job.r));
	rf->backoff_ms = RFETCH_RETRY_MIN_MS;
	rf->poll_ms = c->poll_ms;
	return rf;
}

void
rfetch_free(struct rfetch *rf)
{
	if (rf == NULL)
		return;
	/* A job stalled on the store: made to fail now, not in 10 s. */
	if (rworker_busy(rf->w))
		redis_interrupt(rf->job.r);
	rworker_free(rf->w);
	if (rf->job.sub != NULL)
		redisFree(rf->job.sub);
	if (rf->sub != NULL)
		redisFree(rf->sub);
	redis_free(rf->job.r);
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

/* The worker's side: subscribed first, read second, so that a commit
 * between the two is seen by the read, one after it by the
 * subscription. */
static void
sync_job_run(void *arg)
{
	struct sync_job *j = arg;

	j->sub = NULL;
	j->sub_err = (struct snap_err)SNAP_ERR_INIT;
	j->err = (struct snap_err)SNAP_ERR_INIT;
	if (j->subscribe)
		j->sub = redis_subscribe(j->r, "notify", &j->sub_err);
	j->rc = redis_mirror(j->r, j->dir, 0, &j->res, &j->err);
	snprintf(j->where, sizeof(j->where), "%s", redis_where(j->r));
	j->connects = redis_connects(j->r);
}

int
rfetch_begin(struct rfetch *rf)
{
	if (rf == NULL)
		return -1;
	if (rworker_busy(rf->w)) {
		rf->again = true;
		return 1;
	}
	rf->again = false;
	rf->job.subscribe = rf->sub == NULL &&
	    daemon_now_ms() >= rf->sub_retry_at;
	return rworker_start(rf->w, sync_job_run, &rf->job);
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

/* The subscription the job made (or why not) taken over by the loop. */
static void
take_sub(struct rfetch *rf)
{
	struct sync_job *j = &rf->job;

	if (!j->subscribe)
		return;
	if (j->sub == NULL) {
		log_debug("%s (polling every %u ms until it works)",
		    j->sub_err.msg, rf->poll_ms);
		drop_sub(rf);
		return;
	}
	rf->sub = j->sub;
	j->sub = NULL;
	rf->subscribes++;
	rf->backoff_ms = RFETCH_RETRY_MIN_MS;
	log_debug("redis %s: subscribed", rf->where);
}

int
rfetch_end(struct rfetch *rf, struct agent *a, bool *again)
{
	struct sync_job *j;

	*again = false;
	if (rf == NULL || !rworker_reap(rf->w))
		return 1;
	j = &rf->job;
	*again = rf->again;
	rf->again = false;
	snprintf(rf->where, sizeof(rf->where), "%s", j->where);
	rf->connects = j->connects;
	take_sub(rf);
	if (j->rc == -1) {
		failed(rf, a, &j->err);
		return -1;
	}
	if (!rf->up && rf->last_error[0] != '\0')
		log_info("redis %s: reachable again", rf->where);
	rf->up = true;
	rf->last_error[0] = '\0';
	rf->store_version = j->res.version;
	if (j->res.changed) {
		rf->mirrors++;
		log_debug("redis %s: version %" PRIu64 " mirrored (%zu blobs, "
		    "%" PRIu64 " bytes fetched)", rf->where, j->res.version,
		    j->res.fetched, j->res.bytes);
	}
	return 0;
}

int
rfetch_job_fd(const struct rfetch *rf)
{
	return rf != NULL ? rworker_fd(rf->w) : -1;
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
		log_warnx("redis %s: subscription lost: %s", rf->where,
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
	/* Not while a job runs: it is asked again when that one ends. */
	return rf != NULL && rf->sub == NULL && !rworker_busy(rf->w) &&
	    daemon_now_ms() >= rf->sub_retry_at;
}

int
rfetch_timeout_ms(const struct rfetch *rf)
{
	int64_t wait;

	if (rf == NULL || rf->sub != NULL || rworker_busy(rf->w))
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
	    "server", rf->where,
	    "up", rf->up,
	    "subscribed", rf->sub != NULL,
	    "store_version", (json_int_t)rf->store_version,
	    "notifications", (json_int_t)rf->notifications,
	    "connects", (json_int_t)rf->connects,
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
	    "artsync_redis_connects_total %" PRIu64 "\n", rf->connects);
	fprintf(f, "# HELP artsync_redis_failures_total Reads of the store "
	    "that failed.\n# TYPE artsync_redis_failures_total counter\n"
	    "artsync_redis_failures_total %" PRIu64 "\n", rf->failures);
	fprintf(f, "# HELP artsync_redis_store_version The version the store's "
	    "state names.\n# TYPE artsync_redis_store_version gauge\n"
	    "artsync_redis_store_version %" PRIu64 "\n", rf->store_version);
}
