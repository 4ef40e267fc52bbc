/*
 * rest.c - HTTP glue: libmicrohttpd in, JSON (jansson) out (see rest.h).
 *
 * A request is handled in three kinds of calls from MHD: the first routes
 * it and decides early refusals (404/405/400, 401, a declared body too
 * large); the middle ones collect the body, bounded; the last one answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "agent.h"
#include "daemon.h"
#include "fsutil.h"
#include "jsonfield.h"
#include "log.h"
#include "manifest.h"
#include "names.h"
#include "redis_fetch.h"
#include "rest.h"
#include "route.h"

struct rest {
	struct agent *a;		/* a secondary's, or NULL */
	struct rest_source src;		/* a primary's, when a is NULL */
	struct metrics *m;		/* where HTTP requests are counted */
	struct metrics own;		/* ... for a primary */
	const char *token;		/* "" when none */
	unsigned max_body;
	struct MHD_Daemon *mhd;
};

struct req {
	struct route r;
	bool routed;
	int early;			/* status decided on the first call */
	char early_msg[sizeof(((struct snap_err *)0)->msg)];
	char *body;
	size_t len, cap;
	bool too_big;
};

/* --- answers --- */

static enum MHD_Result
respond(struct rest *rs, struct MHD_Connection *conn, struct req *q,
    int status, const char *ctype, char *buf, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	rc = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	metrics_count_http(rs->m, q->routed ? (int)q->r.id : ROUTE_COUNT,
	    status);
	return rc;
}

/* Sends obj (a reference is taken over) as the JSON answer. */
static enum MHD_Result
respond_json(struct rest *rs, struct MHD_Connection *conn, struct req *q,
    int status, json_t *obj)
{
	char *buf = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL, *nb;
	size_t len;

	json_decref(obj);
	if (buf == NULL)
		return MHD_NO;
	/* A trailing newline keeps curl output and logs tidy. */
	len = strlen(buf);
	if ((nb = realloc(buf, len + 2)) == NULL) {
		free(buf);
		return MHD_NO;
	}
	nb[len++] = '\n';
	nb[len] = '\0';
	return respond(rs, conn, q, status, "application/json", nb, len);
}

static enum MHD_Result
respond_error(struct rest *rs, struct MHD_Connection *conn, struct req *q,
    int status, const char *msg)
{
	return respond_json(rs, conn, q, status, json_pack("{s:s}", "error",
	    msg));
}

/* --- the routes --- */

/* An override is stale when upstream moved since it was made. */
static bool
upstream_changed(const struct agent *a, const struct override *ov)
{
	const struct manifest_entry *u = a->d.upstream_m == NULL ? NULL :
	    manifest_find(a->d.upstream_m, ov->type, ov->name);

	return strcmp(u != NULL ? u->xxh128 : "", ov->base) != 0;
}

/* How many overrides hide or replace an upstream artifact that changed
 * since they were made: the operator's to look at (list, redeploy). */
static json_int_t
stale_overrides(const struct agent *a)
{
	json_int_t n = 0;
	size_t i;

	for (i = 0; i < a->ovr.n; i++)
		n += upstream_changed(a, &a->ovr.v[i]);
	return n;
}

static json_t *
status_json(struct agent *a)
{
	const struct deploy *d = &a->d;
	json_t *j;

	j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:I, "
	    "s:I, s:I, s:b, s:b, s:s, s:o, s:o}",
	    "role", "secondary",
	    "node_id", a->c->node_id,
	    "cluster_id", a->c->cluster_id,
	    "applied_version", (json_int_t)(d->has_current ?
	    d->current.version : 0),
	    "latest_seen_version", (json_int_t)a->latest_seen,
	    "last_sync_at", jf_time_or_null(a->last_sync_at),
	    "last_error", a->last_error[0] ? json_string(a->last_error) :
	    json_null(),
	    "labels", manifest_labels_json(a->c->labels),
	    "release", d->has_current ? json_string(d->current.name) :
	    json_null(),
	    "artifact_count", (json_int_t)(d->current_m ? d->current_m->n : 0),
	    "overrides", (json_int_t)a->ovr.n,
	    "overrides_upstream_changed", stale_overrides(a),
	    "healthy", agent_healthy(a, NULL, 0),
	    "sync_root_ok", a->root_state != ROOT_UNREACHABLE,
	    "sync_root_state", agent_root_state_name(a->root_state),
	    "sync_root_state_since", jf_time_or_null(a->root_since),
	    "state_expires_at", jf_time_or_null(a->fresh_until));
	hook_status_add(a->hook, j);
	rfetch_status_add(a->redis, j);
	return j;
}

static json_t *
artifact_json(const struct agent *a, int type, const char *name,
    const char *xxh, const char *state, bool changed)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:b}",
	    "type", artifact_types[type].folder, "name", name, "xxh128", xxh,
	    "version", (json_int_t)a->d.current.version, "state", state,
	    "upstream_changed", changed);
}

static json_t *
list_json(struct agent *a, int type_filter)
{
	json_t *arr = json_array();
	const struct manifest *t = a->d.current_m;
	const struct override *ov;
	size_t i;

	for (i = 0; t != NULL && i < t->n; i++) {
		const struct manifest_entry *e = &t->entries[i];

		if (type_filter >= 0 && e->type != type_filter)
			continue;
		ov = ovr_find(&a->ovr, e->type, e->name);
		json_array_append_new(arr, artifact_json(a, e->type, e->name,
		    e->xxh128, ov ? ovr_state_name(ov->state) : "synced",
		    ov ? upstream_changed(a, ov) : false));
	}
	/* Undeployed ones are not in the release but an operator must
	 * see them. */
	for (i = 0; i < a->ovr.n; i++) {
		ov = &a->ovr.v[i];
		if (ov->state != OVR_UNDEPLOYED ||
		    (type_filter >= 0 && ov->type != type_filter))
			continue;
		json_array_append_new(arr, artifact_json(a, ov->type, ov->name,
		    ov->base, ovr_state_name(ov->state),
		    upstream_changed(a, ov)));
	}
	return json_pack("{s:I, s:o}", "applied_version",
	    (json_int_t)(a->d.has_current ? a->d.current.version : 0),
	    "artifacts", arr);
}

static enum MHD_Result
show(struct rest *rs, struct MHD_Connection *conn, struct req *q)
{
	struct agent *a = rs->a;
	struct snap_err err = SNAP_ERR_INIT;
	char path[RELEASE_NAME_MAX + NAME_PATH_MAX], rel[NAME_PATH_MAX], *buf;
	size_t len;

	if (a->d.current_m == NULL ||
	    manifest_find(a->d.current_m, q->r.type, q->r.name) == NULL)
		return respond_error(rs, conn, q, 404, "not deployed");
	snprintf(path, sizeof(path), "%s/%s", a->d.current.name,
	    name_path(q->r.type, q->r.name, rel, sizeof(rel)));
	if (fsu_read_file(a->d.relfd, path, ARTIFACT_MAX_BYTES, &buf, &len,
	    &err) == -1)
		return respond_error(rs, conn, q, 500, err.msg);
	return respond(rs, conn, q, 200, "application/xml", buf, len);
}

static enum MHD_Result
local_op(struct rest *rs, struct MHD_Connection *conn, struct req *q)
{
	struct agent *a = rs->a;
	struct snap_err err = SNAP_ERR_INIT;
	const struct override *ov;
	int status;

	if (q->r.id == ROUTE_UNDEPLOY)
		status = local_undeploy(a, q->r.type, q->r.name, &err);
	else if (q->r.id == ROUTE_REDEPLOY)
		status = local_redeploy(a, q->r.type, q->r.name, &err);
	else if (q->r.id == ROUTE_FORGET)
		status = local_forget(a, q->r.type, q->r.name, &err);
	else
		status = local_deploy(a, q->r.type, q->r.name,
		    q->body ? q->body : "", q->len, &err);
	if (status != 200)
		return respond_error(rs, conn, q, status, err.msg);
	ov = ovr_find(&a->ovr, q->r.type, q->r.name);
	return respond_json(rs, conn, q, 200, json_pack("{s:s, s:s, s:s, s:s}",
	    "type", artifact_types[q->r.type].folder, "name", q->r.name,
	    "state", ov ? ovr_state_name(ov->state) : "synced",
	    "release", a->d.current.name));
}

static enum MHD_Result
metrics(struct rest *rs, struct MHD_Connection *conn, struct req *q)
{
	struct agent *a = rs->a;
	struct metrics_sample s = { 0 };
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	s.applied_version = a->d.has_current ? a->d.current.version : 0;
	s.latest_seen_version = a->latest_seen;
	s.last_sync_at = a->last_sync_at;
	s.healthy = agent_healthy(a, NULL, 0);
	s.sync_root_up = a->root_state != ROOT_UNREACHABLE;
	s.sync_root_verifiable = a->root_state == ROOT_OK;
	s.sync_root_state = agent_root_state_name(a->root_state);
	for (i = 0; i < a->ovr.n; i++) {
		if (a->ovr.v[i].state == OVR_UNDEPLOYED)
			s.undeployed_local++;
		else
			s.deployed_local++;
	}
	if ((f = open_memstream(&buf, &len)) == NULL)
		return MHD_NO;
	metrics_render(&a->m, &s, f);
	hook_render_metrics(a->hook, f);
	rfetch_render_metrics(a->redis, f);
	if (fclose(f) != 0) {
		free(buf);
		return MHD_NO;
	}
	return respond(rs, conn, q, 200, "text/plain; version=0.0.4", buf, len);
}

/* A primary's three read-only routes. */
static enum MHD_Result
dispatch_source(struct rest *rs, struct MHD_Connection *conn, struct req *q)
{
	char why[512], *buf = NULL;
	size_t len = 0;
	FILE *f;

	switch (q->r.id) {
	case ROUTE_STATUS:
		return respond_json(rs, conn, q, 200, rs->src.status(rs->src.arg));
	case ROUTE_HEALTHZ:
		if (rs->src.healthy(rs->src.arg, why, sizeof(why)) &&
		    rs->src.degraded != NULL &&
		    rs->src.degraded(rs->src.arg, why, sizeof(why)))
			return respond_json(rs, conn, q, 200, json_pack(
			    "{s:s, s:b, s:s}", "status", "ok", "degraded", 1,
			    "reason", why));
		if (rs->src.healthy(rs->src.arg, why, sizeof(why)))
			return respond_json(rs, conn, q, 200, json_pack("{s:s}",
			    "status", "ok"));
		return respond_json(rs, conn, q, 503, json_pack("{s:s, s:s}",
		    "status", "unavailable", "reason", why));
	case ROUTE_METRICS:
		if ((f = open_memstream(&buf, &len)) == NULL)
			return MHD_NO;
		rs->src.metrics(rs->src.arg, f);
		metrics_render_http(rs->m, f);
		if (fclose(f) != 0) {
			free(buf);
			return MHD_NO;
		}
		return respond(rs, conn, q, 200, "text/plain; version=0.0.4",
		    buf, len);
	default:
		return respond_error(rs, conn, q, 404, "not served by a "
		    "primary: ask a secondary");
	}
}

static enum MHD_Result
dispatch(struct rest *rs, struct MHD_Connection *conn, struct req *q)
{
	struct agent *a = rs->a;
	struct snap_err err = SNAP_ERR_INIT;
	char why[512];
	int status;

	if (a == NULL)
		return dispatch_source(rs, conn, q);
	/* An artifact may be named by its file or by its Synapse name. */
	if (q->r.type >= 0 && (status = local_resolve(a, q->r.type, q->r.name,
	    q->r.name, &err)) != 200)
		return respond_error(rs, conn, q, status, err.msg);

	switch (q->r.id) {
	case ROUTE_STATUS:
		return respond_json(rs, conn, q, 200, status_json(a));
	case ROUTE_LIST:
		return respond_json(rs, conn, q, 200, list_json(a,
		    q->r.type_filter));
	case ROUTE_SHOW:
		return show(rs, conn, q);
	case ROUTE_UNDEPLOY:
	case ROUTE_REDEPLOY:
	case ROUTE_DEPLOY_LOCAL:
	case ROUTE_FORGET:
		return local_op(rs, conn, q);
	case ROUTE_SYNC:
		agent_retry(a);
		if (rfetch_sync(a->redis, a) == 0)	/* redis_fetch.h */
			agent_check(a);
		return respond_json(rs, conn, q, 200, status_json(a));
	case ROUTE_HEALTHZ:
		if (agent_healthy(a, why, sizeof(why)))
			return respond_json(rs, conn, q, 200, json_pack(
			    "{s:s, s:I}", "status", "ok", "applied_version",
			    (json_int_t)a->d.current.version));
		return respond_json(rs, conn, q, 503, json_pack("{s:s, s:s}",
		    "status", "unavailable", "reason", why));
	case ROUTE_METRICS:
		return metrics(rs, conn, q);
	case ROUTE_COUNT:
		break;
	}
	return respond_error(rs, conn, q, 500, "unrouted request");
}

/* --- the MHD callbacks --- */

static bool
token_ok(struct rest *rs, struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	const char *tok = rs->token;
	size_t i, n = strlen(tok);
	unsigned char diff = 0;

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) != n)
		return false;
	/* Constant time: no timing hint of how much of a guess was right. */
	for (i = 0; i < n; i++)
		diff |= (unsigned char)(h[7 + i] ^ tok[i]);
	return diff == 0;
}

static void
first_call(struct rest *rs, struct MHD_Connection *conn, const char *url,
    const char *method, struct req *q)
{
	struct snap_err err = SNAP_ERR_INIT;
	const char *type_q, *clen;

	type_q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
	    "type");
	if (route_match(method, url, type_q, &q->r, &q->early, &err) == -1) {
		snprintf(q->early_msg, sizeof(q->early_msg), "%s", err.msg);
		return;
	}
	q->routed = true;
	if (q->r.mutating && rs->token[0] != '\0' && !token_ok(rs, conn)) {
		q->early = 401;
		snprintf(q->early_msg, sizeof(q->early_msg), "this call needs "
		    "Authorization: Bearer <token>");
		return;
	}
	clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (clen != NULL && strtoull(clen, NULL, 10) > rs->max_body)
		q->too_big = true;
}

static void
take_body(struct rest *rs, struct req *q, const char *data, size_t len)
{
	size_t max = rs->max_body;

	if (q->early != 0 || q->too_big)
		return;
	if (q->len + len > max) {
		q->too_big = true;
		return;
	}
	if (q->len + len + 1 > q->cap) {
		size_t ncap = (q->len + len + 1) * 2;
		char *nb;

		if (ncap > max + 1)
			ncap = max + 1;
		if ((nb = realloc(q->body, ncap)) == NULL) {
			q->too_big = true;
			return;
		}
		q->body = nb;
		q->cap = ncap;
	}
	memcpy(q->body + q->len, data, len);
	q->len += len;
	q->body[q->len] = '\0';
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct rest *rs = cls;
	struct req *q = *req_cls;
	char msg[96];

	(void)version;
	if (q == NULL) {
		if ((q = calloc(1, sizeof(*q))) == NULL)
			return MHD_NO;
		*req_cls = q;
		first_call(rs, conn, url, method, q);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		take_body(rs, q, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (q->early != 0)
		return respond_error(rs, conn, q, q->early, q->early_msg);
	if (q->too_big) {
		snprintf(msg, sizeof(msg), "body larger than %u bytes",
		    rs->max_body);
		return respond_error(rs, conn, q, 413, msg);
	}
	return dispatch(rs, conn, q);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *q = *req_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (q != NULL) {
		free(q->body);
		free(q);
	}
	*req_cls = NULL;
}

/* Leaves URLs and arguments percent-encoded: route_match() decodes TYPE and
 * NAME segment by segment, so that "%2F" and "%00" cannot change a path's
 * shape or cut it short. */
static size_t
no_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	return strlen(s);
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("http: %s", line);
}

/* Binds listen and starts MHD for rs (filled but for mhd). */
static struct rest *
start(struct rest *rs, const char *listen, struct snap_err *err)
{
	struct sockaddr_storage ss;
	unsigned sslen, flags;
	bool lo;

	if (config_listen_addr(listen, &ss, &sslen, &lo, err) == -1) {
		free(rs);
		return NULL;
	}
	flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	    (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	/* The logger first, or MHD says so on stderr (its own logger). */
	rs->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, rs,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, rs,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, rs,
	    MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, rs,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
	    MHD_OPTION_END);
	if (rs->mhd == NULL) {
		snap_err_set(err, "listen %s: cannot bind (address in use, or "
		    "not local?)", listen);
		free(rs);
		return NULL;
	}
	return rs;
}

struct rest *
rest_new(struct agent *a, struct snap_err *err)
{
	struct rest *rs;

	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		snap_err_set(err, "out of memory");
		return NULL;
	}
	rs->a = a;
	rs->m = &a->m;
	rs->token = a->token;
	rs->max_body = a->c->max_body_bytes;
	return start(rs, a->c->listen, err);
}

struct rest *
rest_new_source(const struct rest_source *src, struct snap_err *err)
{
	struct rest *rs;

	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		snap_err_set(err, "out of memory");
		return NULL;
	}
	rs->src = *src;
	rs->m = &rs->own;
	rs->token = "";		/* nothing it serves changes anything */
	rs->max_body = 4096;
	return start(rs, src->listen, err);
}

void
rest_free(struct rest *r)
{
	if (r == NULL)
		return;
	MHD_stop_daemon(r->mhd);
	free(r);
}

int
rest_fd(struct rest *r)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(r->mhd,
	    MHD_DAEMON_INFO_EPOLL_FD);

	return i != NULL ? i->epoll_fd : -1;
}

int
rest_timeout_ms(struct rest *r)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (MHD_get_timeout(r->mhd, &t) != MHD_YES)
		return -1;
	return t > 60000 ? 60000 : (int)t;
}

void
rest_run(struct rest *r)
{
	MHD_run(r->mhd);
}

unsigned
rest_port(struct rest *r)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(r->mhd,
	    MHD_DAEMON_INFO_BIND_PORT);

	return i != NULL ? i->port : 0;
}
