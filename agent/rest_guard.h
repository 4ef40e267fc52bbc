/*
 * rest_guard.h - who may ask the REST endpoint what: the checks made on a
 * request's headers, before it is routed and before any body is read.
 *
 * Each check is pure (strings and addresses in, a verdict out; no I/O, no
 * allocation), so that every hostile header can be tested and fuzzed
 * without a server. The threat they answer: a web page that a person on
 * the gateway host opens can send requests to 127.0.0.1 (a simple POST
 * needs no preflight), or rebind a name of its own to 127.0.0.1 and read
 * the answers; and any local user can connect.
 *
 * Calling sequence: guard_names_init() once, when the port is bound; then
 * on a request's first call (headers only), in this order:
 *	guard_framing()      400 smuggling shapes, 411 a body without
 *	                     Content-Length
 *	guard_host_ok()      421 unless Host names this endpoint
 *	guard_origin_ok()    403 unless Origin is absent or this endpoint
 *	route_match()        (route.h) 404, 405, 400
 *	guard_needs_token(), guard_token_ok()   401
 *	the length guard_framing() found        413 over max_body_bytes
 * The caller answers a refusal at once, closing the connection (the body,
 * if any, is never read), with the message the check wrote: one line
 * naming the header and what to send instead.
 */
#ifndef REST_GUARD_H
#define REST_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "route.h"

#define GUARD_NAME_MAX 256

/* The names and addresses a Host header may give for this endpoint. */
struct guard_names {
	char listen_name[GUARD_NAME_MAX];	/* the listen host when it is
						 * a name, lower case; "" */
	struct sockaddr_storage listen_addr;	/* ... when a literal that is
						 * no wildcard; else AF_UNSPEC */
	char host_name[GUARD_NAME_MAX];		/* this machine's, lower case */
	unsigned port;				/* the bound port */
};

/*
 * Fills n from listen ("HOST:PORT" or "[V6]:PORT", as config.h parses
 * it), this machine's host name (NULL or "": none) and the bound port.
 * 0, or -1 when listen is not HOST:PORT.
 */
int guard_names_init(struct guard_names *n, const char *listen,
    const char *host_name, unsigned port);

/*
 * Whether the value of a Host header names this endpoint: "localhost", a
 * loopback address (127.0.0.0/8, [::1]), the listen host, the address the
 * connection came in on (local; NULL: unknown) or this machine's host
 * name, each with or without a port (any port: an SSH tunnel changes it).
 * A name is compared without regard to case. Anything else - another
 * name, a port that is no number, a second colon, a bracket unclosed - is
 * not. A request without Host comes from no browser: the caller lets it
 * pass without asking.
 */
bool guard_host_ok(const char *host, const struct guard_names *n,
    const struct sockaddr *local);

/*
 * Whether the value of an Origin header is this endpoint itself:
 * "http://HOST[:PORT]" or "https://..." with a HOST guard_host_ok() takes
 * and the bound port (80 or 443 when none is given). "null", another
 * scheme, a path or anything else is foreign. The endpoint serves no page,
 * so a browser sends an Origin of its own only from a tab opened on it.
 */
bool guard_origin_ok(const char *origin, const struct guard_names *n,
    const struct sockaddr *local);

/* What framing headers a request carries: how many of each, and the
 * first value of each (NULL when none). */
struct guard_framing {
	unsigned n_length;		/* Content-Length */
	unsigned n_encoding;		/* Transfer-Encoding */
	unsigned n_host;		/* Host */
	const char *length;
	const char *encoding;
};

/*
 * The body's framing, before the body: 0 when it is one Content-Length of
 * digits (its value in *length) or none (*length 0); else the status to
 * answer, with msg (len bytes) saying why: 400 for Content-Length and
 * Transfer-Encoding together, either twice, two Hosts, or a length that is
 * not digits (the shapes of request smuggling, which libmicrohttpd 0.9.75
 * lets through: it takes the first Content-Length, and Transfer-Encoding
 * over it); 411 for Transfer-Encoding alone (send Content-Length, so that
 * a body too large is refused before it is read).
 */
int guard_framing(const struct guard_framing *f, uint64_t *length,
    char *msg, size_t len);

/* Whether route r needs the bearer token: every change does; on a listener
 * beyond loopback every read does too, but the probes /healthz, /livez and
 * /readyz (for load balancers and kubelets), which never do. */
bool guard_needs_token(const struct route *r, bool loopback_listener);

/* Whether an Authorization header value is "Bearer <token>" (the scheme in
 * any case). Compared in constant time. */
bool guard_token_ok(const char *authorization, const char *token);

#endif
