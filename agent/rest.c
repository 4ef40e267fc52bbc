/*
 * rest.c - HTTP glue: libmicrohttpd in, JSON (jansson) out (see rest.h).
 *
 * A request is handled in three kinds of calls from MHD: the first routes
 * it and decides early refusals (404/405/400, 401, a declared body too
 * large); the middle ones collect the body, bounded; the last one answers
 * with what rest_view.h makes of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "agent.h"
#include "daemon.h"
#include "log.h"
#include "rest.h"
#include "rest_view.h"
#include "route.h"
#include "token.h"

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

/* Sends ans (its buffer taken over); counts it. */
static enum MHD_Result
respond(struct rest *rs, struct MHD_Connection *conn, struct req *q,
    struct view_answer *ans)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	resp = MHD_create_response_from_buffer(ans->len, ans->buf,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(ans->buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ans->ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	rc = MHD_queue_response(conn, (unsigned)ans->status, resp);
	MHD_destroy_response(resp);
	metrics_count_http(rs->m, q->routed ? (int)q->r.id : ROUTE_COUNT,
	    ans->status);
	return rc;
}

static enum MHD_Result
respond_error(struct rest *rs, struct MHD_Connection *conn, struct req *q,
    int status, const char *msg)
{
	struct view_answer ans;

	if (view_error(status, msg, &ans) == -1)
		return MHD_NO;
	return respond(rs, conn, q, &ans);
}

/* The last call: the request in full, its answer. */
static enum MHD_Result
dispatch(struct rest *rs, struct MHD_Connection *conn, struct req *q)
{
	struct view_answer ans;
	int rc;

	if (rs->a != NULL)
		rc = view_answer(rs->a, &q->r, q->body ? q->body : "", q->len,
		    &ans);
	else
		rc = view_answer_source(&rs->src, rs->m, &q->r, &ans);
	return rc == -1 ? MHD_NO : respond(rs, conn, q, &ans);
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
		snprintf(q->early_msg, sizeof(q->early_msg), "this change needs "
		    "Authorization: Bearer <token> (the secondary's token_file, "
		    "else rest.token in its deploy root)");
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
	bool created;

	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		snap_err_set(err, "out of memory");
		return NULL;
	}
	rs->a = a;
	rs->m = &a->m;
	rs->token = a->token;
	rs->max_body = a->c->max_body_bytes;
	if (token_load(a->c, a->d.rootfd, a->token, sizeof(a->token), &created,
	    err) == -1) {
		free(rs);
		return NULL;
	}
	if (created)
		log_info("%s/%s: new REST token (mode 0600): changes need it",
		    a->c->deploy_root, TOKEN_FILE_NAME);
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
