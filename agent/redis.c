/*
 * redis.c - the Redis sync root's connection (direct or through
 * Sentinel), its commands and key names (see redis.h); the URL and the
 * settings are parsed in redis_url.c.
 *
 * Everything a server says is hostile: replies are checked for their type
 * and size before use, a Sentinel's answer must be an address and a port
 * in range (redis_sentinel_addr), and a server that answers READONLY (a
 * demoted master) is dropped so that the next call asks the sentinels
 * again.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "redis.h"
#include "state.h"

#define REDIS_CONNECT_MS 1000
#define REDIS_IO_MS 10000
#define REDIS_LIVE_MAX 3	/* a sentinel, the data, a subscription */

struct redis {
	struct redis_url u;
	char sentinels[512];		/* "HOST:PORT,..." or "" */
	char master[128];
	char cluster[STATE_ID_MAX];
	char prefix[REDIS_PREFIX_MAX + STATE_ID_MAX + 2];	/* "P:<c>:" */
	redisContext *ctx;
	char host[REDIS_HOST_MAX];	/* in use, or last tried */
	unsigned port;
	char where[REDIS_HOST_MAX + 16];
	uint64_t connects;
	/* redis_interrupt() may come from another thread: the sockets it
	 * shuts down are listed here, under mu, from dial() to hang_up(). */
	pthread_mutex_t mu;
	int live[REDIS_LIVE_MAX];
	bool interrupted;
};

struct redis *
redis_new(const struct config *c, struct snap_err *err)
{
	struct redis *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snap_err_sys(err, errno, "redis");
		return NULL;
	}
	if (redis_url_parse(c->redis_url, &r->u, err) == -1)
		goto fail;
	if (c->redis_password_file[0] != '\0' &&
	    redis_read_password(c->redis_password_file, r->u.password,
	    sizeof(r->u.password), err) == -1) {
		snap_err_prefix(err, "redis_password_file");
		goto fail;
	}
	snprintf(r->sentinels, sizeof(r->sentinels), "%s", c->redis_sentinels);
	snprintf(r->master, sizeof(r->master), "%s", c->redis_master);
	snprintf(r->cluster, sizeof(r->cluster), "%s", c->cluster_id);
	snprintf(r->prefix, sizeof(r->prefix), "%s:%s:", r->u.prefix,
	    c->cluster_id);
	snprintf(r->host, sizeof(r->host), "%s", r->u.host);
	r->port = r->u.port;
	snprintf(r->where, sizeof(r->where), "%s:%u", r->host, r->port);
	for (size_t i = 0; i < REDIS_LIVE_MAX; i++)
		r->live[i] = -1;
	pthread_mutex_init(&r->mu, NULL);
	return r;
fail:
	explicit_bzero(&r->u, sizeof(r->u));
	free(r);
	return NULL;
}

void
redis_free(struct redis *r)
{
	if (r == NULL)
		return;
	redis_disconnect(r);
	pthread_mutex_destroy(&r->mu);
	explicit_bzero(&r->u, sizeof(r->u));
	free(r);
}

/* ctx's socket no longer one redis_interrupt() may shut down. */
static void
unlist(struct redis *r, const redisContext *ctx)
{
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < REDIS_LIVE_MAX; i++)
		if (r->live[i] == ctx->fd)
			r->live[i] = -1;
	pthread_mutex_unlock(&r->mu);
}

/* Unlisted first, then closed: a closed number may be reused at once. */
static void
hang_up(struct redis *r, redisContext *ctx)
{
	if (ctx == NULL)
		return;
	unlist(r, ctx);
	redisFree(ctx);
}

void
redis_disconnect(struct redis *r)
{
	hang_up(r, r->ctx);
	r->ctx = NULL;
}

void
redis_interrupt(struct redis *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->interrupted = true;
	for (size_t i = 0; i < REDIS_LIVE_MAX; i++)
		if (r->live[i] >= 0)
			shutdown(r->live[i], SHUT_RDWR);
	pthread_mutex_unlock(&r->mu);
}

/* Lists ctx's socket for redis_interrupt(); -1 once interrupted. */
static int
list(struct redis *r, const redisContext *ctx)
{
	int rc = -1;

	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < REDIS_LIVE_MAX && !r->interrupted; i++)
		if (r->live[i] == -1) {
			r->live[i] = ctx->fd;
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

bool
redis_is_connected(const struct redis *r)
{
	return r->ctx != NULL;
}

const char *
redis_where(const struct redis *r)
{
	return r->where;
}

uint64_t
redis_connects(const struct redis *r)
{
	return r->connects;
}

static struct timeval
tv_ms(unsigned ms)
{
	return (struct timeval){ .tv_sec = ms / 1000,
	    .tv_usec = (ms % 1000) * 1000 };
}

/* A TCP connection with both time limits set. NULL with err. */
static redisContext *
dial(struct redis *r, const char *host, unsigned port, struct snap_err *err)
{
	redisContext *ctx;

	ctx = redisConnectWithTimeout(host, (int)port, tv_ms(REDIS_CONNECT_MS));
	if (ctx == NULL) {
		snap_err_setc(err, SNAP_E_IO, "redis %s:%u: cannot connect",
		    host, port);
		return NULL;
	}
	if (ctx->err != 0) {
		snap_err_setc(err, SNAP_E_IO, "redis %s:%u: %s", host, port,
		    ctx->errstr);
		redisFree(ctx);
		return NULL;
	}
	if (redisSetTimeout(ctx, tv_ms(REDIS_IO_MS)) != REDIS_OK ||
	    redisEnableKeepAlive(ctx) != REDIS_OK) {
		snap_err_setc(err, SNAP_E_IO, "redis %s:%u: %s", host, port,
		    ctx->errstr);
		redisFree(ctx);
		return NULL;
	}
	if (list(r, ctx) == -1) {
		snap_err_setc(err, SNAP_E_IO, "redis %s:%u: stopping", host,
		    port);
		redisFree(ctx);
		return NULL;
	}
	return ctx;
}

/* One command on ctx whose reply must not be an error. */
static int
simple(redisContext *ctx, const char *what, int argc, const char **argv,
    struct snap_err *err)
{
	redisReply *rep = redisCommandArgv(ctx, argc, argv, NULL);
	int rc = 0;

	if (rep == NULL)
		return snap_err_setc(err, SNAP_E_IO, "%s: %s", what,
		    ctx->errstr[0] ? ctx->errstr : "no reply");
	if (rep->type == REDIS_REPLY_ERROR)
		rc = snap_err_setc(err, SNAP_E_IO, "%s: %.200s", what, rep->str);
	freeReplyObject(rep);
	return rc;
}

/* AUTH and SELECT on a new connection to the data server. */
static int
handshake(struct redis *r, redisContext *ctx, struct snap_err *err)
{
	const char *argv[3];
	char db[16];

	if (r->u.password[0] != '\0') {
		argv[0] = "AUTH";
		argv[1] = r->u.user[0] ? r->u.user : r->u.password;
		argv[2] = r->u.password;
		if (simple(ctx, "AUTH", r->u.user[0] ? 3 : 2, argv, err) == -1)
			return -1;
	}
	if (r->u.db != 0) {
		snprintf(db, sizeof(db), "%u", r->u.db);
		argv[0] = "SELECT";
		argv[1] = db;
		if (simple(ctx, "SELECT", 2, argv, err) == -1)
			return -1;
	}
	return 0;
}

/* Asks each sentinel in turn for the master's address (into r->host and
 * r->port). 0 or -1 with err. */
static int
ask_sentinels(struct redis *r, struct snap_err *err)
{
	char list[sizeof(r->sentinels)], url[600], host[REDIS_HOST_MAX];
	const char *argv[3] = { "SENTINEL", "get-master-addr-by-name",
	    r->master };
	char *tok, *save = NULL;
	struct redis_url u;
	redisContext *ctx;
	redisReply *rep;
	unsigned port;

	snprintf(list, sizeof(list), "%s", r->sentinels);
	snap_err_setc(err, SNAP_E_IO, "redis: no sentinel answered");
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		snprintf(url, sizeof(url), "redis://%s", tok);
		if (redis_url_parse(url, &u, err) == -1 ||
		    (ctx = dial(r, u.host, u.port, err)) == NULL)
			continue;
		rep = redisCommandArgv(ctx, 3, argv, NULL);
		if (rep == NULL)
			snap_err_setc(err, SNAP_E_IO, "redis sentinel %s: %s",
			    tok, ctx->errstr);
		else if (redis_sentinel_addr(rep, host, sizeof(host),
		    &port) == -1)
			snap_err_setc(err, SNAP_E_IO, "redis sentinel %s: no "
			    "usable address for master '%s'", tok, r->master);
		else {
			snprintf(r->host, sizeof(r->host), "%s", host);
			r->port = port;
			freeReplyObject(rep);
			hang_up(r, ctx);
			return 0;
		}
		if (rep != NULL)
			freeReplyObject(rep);
		hang_up(r, ctx);
	}
	return -1;
}

/* With Sentinel: the server must say it is a master (a sentinel's view
 * may lag a failover by a moment). */
static int
check_master(redisContext *ctx, struct snap_err *err)
{
	const char *argv[1] = { "ROLE" };
	redisReply *rep = redisCommandArgv(ctx, 1, argv, NULL);
	int rc = -1;

	if (rep == NULL)
		return snap_err_setc(err, SNAP_E_IO, "ROLE: %s", ctx->errstr);
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
	    rep->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(rep->element[0]->str, "master") == 0)
		rc = 0;
	else
		snap_err_setc(err, SNAP_E_IO, "not a master (yet): waiting for "
		    "the sentinels");
	freeReplyObject(rep);
	return rc;
}

/* A new connection to the data server, found through Sentinel if so
 * configured; AUTH and SELECT done. */
static redisContext *
open_data(struct redis *r, bool find, struct snap_err *err)
{
	redisContext *ctx;

	if (find && r->sentinels[0] != '\0' && ask_sentinels(r, err) == -1)
		return NULL;
	snprintf(r->where, sizeof(r->where), "%s:%u", r->host, r->port);
	if ((ctx = dial(r, r->host, r->port, err)) == NULL)
		return NULL;
	if (handshake(r, ctx, err) == -1 ||
	    (r->sentinels[0] != '\0' && check_master(ctx, err) == -1)) {
		snap_err_prefix(err, "redis %s", r->where);
		hang_up(r, ctx);
		return NULL;
	}
	return ctx;
}

int
redis_connect(struct redis *r, struct snap_err *err)
{
	if (r->ctx != NULL)
		return 0;
	if ((r->ctx = open_data(r, true, err)) == NULL)
		return -1;
	r->connects++;
	return 0;
}

redisContext *
redis_subscribe(struct redis *r, const char *name, struct snap_err *err)
{
	char key[REDIS_KEY_MAX];
	const char *argv[2] = { "SUBSCRIBE", key };
	redisContext *ctx;
	redisReply *rep;

	/* With Sentinel, asked each time: a subscription is made again
	 * after a failover, when the data connection may not know yet. */
	if ((ctx = open_data(r, true, err)) == NULL)
		return NULL;
	redis_key(r, name, key, sizeof(key));
	rep = redisCommandArgv(ctx, 2, argv, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		snap_err_setc(err, SNAP_E_IO, "redis %s: SUBSCRIBE %s failed",
		    r->where, key);
		if (rep != NULL)
			freeReplyObject(rep);
		hang_up(r, ctx);
		return NULL;
	}
	freeReplyObject(rep);
	unlist(r, ctx);		/* the caller's now */
	return ctx;
}

void
redis_key(const struct redis *r, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s%s", r->prefix, name);
}

const char *
redis_key_prefix(const struct redis *r)
{
	return r->prefix;
}

redisReply *
redis_cmd(struct redis *r, int argc, const char **argv,
    const size_t *argvlen, struct snap_err *err)
{
	redisReply *rep;

	if (redis_connect(r, err) == -1)
		return NULL;
	rep = redisCommandArgv(r->ctx, argc, argv, argvlen);
	if (rep == NULL) {
		snap_err_setc(err, SNAP_E_IO, "redis %s: %s: %s", r->where,
		    argv[0], r->ctx->errstr[0] ? r->ctx->errstr : "no reply");
		redis_disconnect(r);
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snap_err_setc(err, SNAP_E_IO, "redis %s: %s: %.300s", r->where,
		    argv[0], rep->str);
		/* A demoted master, or one still loading: find the master
		 * again next time. */
		if (strncmp(rep->str, "READONLY", 8) == 0 ||
		    strncmp(rep->str, "LOADING", 7) == 0 ||
		    strncmp(rep->str, "NOAUTH", 6) == 0)
			redis_disconnect(r);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}
