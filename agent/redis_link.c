/*
 * redis_link.c - a secondary's link to a Redis sync root (see
 * redis_fetch.h, rfetch_*): the mirror before each check of the cache,
 * the SUBSCRIBE connection on the notify channel as one more descriptor
 * in the loop (retried with a backoff when it drops), the backstop
 * timer, and what the link shows in status and metrics. The mirror
 * itself is redis_fetch.c's.
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
