/*
 * rest.c - HTTP glue: libmicrohttpd in, JSON (jansson) out (see rest.h).
 *
 * A request is handled in three kinds of calls from MHD. The first, with
 * the headers only, checks who asks what (rest_guard.h: framing, Host,
 * Origin, route, token, size) and answers any refusal at once: MHD then
 * closes the connection without reading a byte of the body. The middle
 * ones collect the body, bounded; the last one answers (rest_view.h).
 * Beside them, every connection is on a budget (rest_budget.h): deadlines
 * for its headers and its answer, a share per client, so that slow
 * sockets cannot starve /healthz.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "agent.h"
#include "daemon.h"
#include "log.h"
#include "rest.h"
#include "rest_budget.h"
#include "rest_guard.h"
#include "rest_view.h"
#include "route.h"
#include "token.h"

/* MHD's hard limit: room past the budget for connections cut but not yet
 * closed. No MHD_OPTION_PER_IP_CONNECTION_LIMIT: it refuses the newest
 * connection of a client, which is the health checker's when an attacker
 * on the same host holds the rest; the budget cuts the oldest instead. */
#define REST_CONNECTION_LIMIT (BUDGET_TOTAL + 128)
#define REST_CUTS_LOG_MS 60000	/* cut connections: one line this often */

struct rest {
	struct agent *a;		/* a secondary's, or NULL */
	struct rest_source src;		/* a primary's, when a is NULL */
	struct metrics *m;		/* where HTTP requests are counted */
	struct metrics own;		/* ... for a primary */
	const char *token;		/* "" when none (a primary's) */
	bool loopback;			/* listening on a loopback address */
	unsigned max_body;
	struct guard_names names;
	struct budget budget;
	unsigned long long cuts_said;	/* cuts already logged */
	int64_t next_cuts_log_ms;
	struct MHD_Daemon *mhd;
};

/* A connection: its budget slot and the address it came in on. */
struct conn {
	struct budget_slot slot;
	struct sockaddr_storage local;
	bool has_local;
};

/* A request. */
struct req {
	struct route r;
	bool routed;
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
	/* What a browser may do with what it gets: nothing of its own. */
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (ans->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"artsync\"");
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

/* --- the first call: who asks what --- */

static struct conn *
conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *i = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i != NULL ? i->socket_context : NULL;
}

static const char *
header(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* Counts the framing headers, duplicates included (a lookup sees only the
 * first of each). */
static enum MHD_Result
count_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct guard_framing *f = cls;

	(void)kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0 &&
	    f->n_length++ == 0)
		f->length = value != NULL ? value : "";
	else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0 &&
	    f->n_encoding++ == 0)
		f->encoding = value != NULL ? value : "";
	else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
		f->n_host++;
	return MHD_YES;
}

/* Framing, Host and Origin: 0, or the status to refuse with (msg). */
static int
check_headers(struct rest *rs, struct MHD_Connection *conn,
    const struct conn *c, uint64_t *length, char *msg, size_t len)
{
	const struct sockaddr *local = c != NULL && c->has_local ?
	    (const struct sockaddr *)&c->local : NULL;
	struct guard_framing f = { 0 };
	const char *host, *origin;
	int status;

	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &f);
	if ((status = guard_framing(&f, length, msg, len)) != 0)
		return status;
	/* No Host: no browser sent it (HTTP/1.1 without one MHD refuses). */
	if ((host = header(conn, MHD_HTTP_HEADER_HOST)) != NULL &&
	    !guard_host_ok(host, &rs->names, local)) {
		snprintf(msg, len, "Host header: not a name of this endpoint: "
		    "call it as localhost, 127.0.0.1, [::1] or its listen "
		    "address");
		return 421;
	}
	if ((origin = header(conn, MHD_HTTP_HEADER_ORIGIN)) != NULL &&
	    !guard_origin_ok(origin, &rs->names, local)) {
		snprintf(msg, len, "Origin header: a request from a web page of "
		    "another site is refused");
		return 403;
	}
	return 0;
}

static enum MHD_Result
first_call(struct rest *rs, struct MHD_Connection *conn, const char *url,
    const char *method, struct req *q)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct conn *c = conn_of(conn);
	uint64_t length;
	char msg[256];
	int status;

	if (c != NULL)
		budget_busy(&rs->budget, &c->slot, daemon_now_ms());
	if ((status = check_headers(rs, conn, c, &length, msg,
	    sizeof(msg))) != 0)
		return respond_error(rs, conn, q, status, msg);
	if (route_match(method, url, MHD_lookup_connection_value(conn,
	    MHD_GET_ARGUMENT_KIND, "type"), &q->r, &status, &err) == -1)
		return respond_error(rs, conn, q, status, err.msg);
	q->routed = true;
	if (rs->token[0] != '\0' && guard_needs_token(&q->r, rs->loopback) &&
	    !guard_token_ok(header(conn, MHD_HTTP_HEADER_AUTHORIZATION),
	    rs->token))
		return respond_error(rs, conn, q, 401, q->r.mutating ?
		    "this change needs Authorization: Bearer <token> (the "
		    "secondary's token_file, else rest.token in its deploy "
		    "root)" : "on a listener beyond loopback this call needs "
		    "Authorization: Bearer <token>");
	if (length > rs->max_body) {
		snprintf(msg, sizeof(msg), "body of %llu bytes is larger than "
		    "%u bytes (max_body_bytes)", (unsigned long long)length,
		    rs->max_body);
		return respond_error(rs, conn, q, 413, msg);
	}
	return MHD_YES;
}

/* --- the MHD callbacks --- */

static void
take_body(struct rest *rs, struct req *q, const char *data, size_t len)
{
	size_t max = rs->max_body;

	if (q->too_big)
		return;
	/* Content-Length was checked; a body past it MHD does not pass. */
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
		return first_call(rs, conn, url, method, q);
	}
	if (*upload_data_size > 0) {
		take_body(rs, q, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
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
	struct rest *rs = cls;
	struct req *q = *req_cls;
	struct conn *c = conn_of(conn);

	(void)toe;
	/* Kept alive, it waits for its next request's headers. */
	if (c != NULL)
		budget_idle(&rs->budget, &c->slot, daemon_now_ms());
	if (q != NULL) {
		free(q->body);
		free(q);
	}
	*req_cls = NULL;
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *fd, *peer;
	struct rest *rs = cls;
	struct conn *c = *socket_context;
	socklen_t len;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (c != NULL)
			budget_close(&rs->budget, &c->slot);
		free(c);
		*socket_context = NULL;
		return;
	}
	fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	peer = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (fd == NULL || (c = calloc(1, sizeof(*c))) == NULL) {
		/* Not on the budget is not served: away with it. */
		if (fd != NULL)
			(void)shutdown(fd->connect_fd, SHUT_RDWR);
		return;
	}
	len = sizeof(c->local);
	c->has_local = getsockname(fd->connect_fd, (struct sockaddr *)&c->local,
	    &len) == 0;
	budget_open(&rs->budget, &c->slot, fd->connect_fd, peer != NULL ?
	    peer->client_addr : NULL, daemon_now_ms());
	*socket_context = c;
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

/* Binds listen and starts MHD for rs (filled but for mhd, names, budget);
 * frees rs on failure. */
static struct rest *
start(struct rest *rs, const char *listen, struct snap_err *err)
{
	const union MHD_DaemonInfo *port;
	struct sockaddr_storage ss;
	char host[GUARD_NAME_MAX] = "";
	unsigned sslen, flags;

	if (config_listen_addr(listen, &ss, &sslen, &rs->loopback, err) == -1)
		goto fail;
	budget_init(&rs->budget);
	flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	    (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	/* The logger first, or MHD says so on stderr (its own logger). */
	rs->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, rs,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, rs,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, rs,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, rs,
	    MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, rs,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)REST_CONNECTION_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	    /* HTTP/1.1 without Host, a space in a URL: 400. */
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
	    MHD_OPTION_END);
	if (rs->mhd == NULL) {
		snap_err_set(err, "listen %s: cannot bind (address in use, or "
		    "not local?)", listen);
		goto fail;
	}
	port = MHD_get_daemon_info(rs->mhd, MHD_DAEMON_INFO_BIND_PORT);
	(void)gethostname(host, sizeof(host) - 1);
	if (guard_names_init(&rs->names, listen, host, port != NULL ?
	    port->port : 0) == -1) {
		snap_err_set(err, "listen %s: not HOST:PORT", listen);
		goto fail;
	}
	return rs;
fail:
	rest_free(rs);
	return NULL;
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
	if (r->mhd != NULL)
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
	int64_t next = budget_next_ms(&r->budget), now = daemon_now_ms();
	int ms = -1;

	if (MHD_get_timeout(r->mhd, &t) == MHD_YES)
		ms = t > 60000 ? 60000 : (int)t;
	if (next != INT64_MAX) {
		next = next > now ? next - now : 0;
		if (ms == -1 || next < ms)
			ms = next > 60000 ? 60000 : (int)next;
	}
	return ms;
}

/* Connections cut, said at most once a minute: an operator should know
 * when someone is starving the endpoint, without a line per socket. An
 * idle kept-alive connection closed is no news. */
static void
say_cuts(struct rest *r, int64_t now)
{
	const unsigned long long *c = r->budget.cuts;
	unsigned long long all = c[BUDGET_CUT_SLOW] + c[BUDGET_CUT_CLIENT] +
	    c[BUDGET_CUT_TOTAL];

	if (all == r->cuts_said || now < r->next_cuts_log_ms)
		return;
	log_warnx("http: %llu connections cut since start: %llu too slow "
	    "(headers within %d s, answer within %d s), %llu over %u from one "
	    "client, %llu over %u in all", all, c[BUDGET_CUT_SLOW],
	    BUDGET_HEADER_MS / 1000, BUDGET_REQUEST_MS / 1000,
	    c[BUDGET_CUT_CLIENT], r->budget.per_client, c[BUDGET_CUT_TOTAL],
	    r->budget.total);
	r->cuts_said = all;
	r->next_cuts_log_ms = now + REST_CUTS_LOG_MS;
}

void
rest_run(struct rest *r)
{
	int64_t now;

	MHD_run(r->mhd);
	now = daemon_now_ms();
	budget_expire(&r->budget, now);
	say_cuts(r, now);
}

unsigned
rest_port(struct rest *r)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(r->mhd,
	    MHD_DAEMON_INFO_BIND_PORT);

	return i != NULL ? i->port : 0;
}
