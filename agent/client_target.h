/*
 * client_target.h - where a CLI command goes, and with what token.
 *
 * The endpoint: --endpoint, else the agent's [secondary] listen (a
 * wildcard as the loopback address), else CLIENT_DEFAULT_ENDPOINT. The
 * token: --token-file, else the agent's own, found as the agent finds it
 * (token.h: its token_file, else rest.token in its deploy_root), from the
 * agent's settings as the agent reads them (the config file: --config,
 * else $ARTSYNC_CONFIG, else the default file; then ARTSYNC_<KEY>).
 *
 * A token found that way is sent only to that agent: the endpoint its
 * listen gives, or a loopback address (another host's operator must not
 * get this node's token by being named with --endpoint). A change that
 * needs it and cannot read it - a user who is neither root nor the user
 * the agent runs as - stops there with one line; a read goes without it,
 * and why is kept for the server's 401, if it needs one.
 *
 * Calling sequence: fill a struct client_where, client_target_resolve(),
 * use the struct client_target, explicit_bzero() its token. Errors: the
 * exit code (2: usage or configuration, 1: out of memory), the message
 * printed on stderr as one "artsync: ..." line.
 */
#ifndef CLIENT_TARGET_H
#define CLIENT_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "client_http.h"
#include "snap_err.h"
#include "token.h"

/* What the command line says. */
struct client_where {
	const char *endpoint;		/* --endpoint, or NULL */
	const char *token_file;		/* --token-file, or NULL */
	const char *config_path;	/* --config, or NULL */
	bool change;			/* the command changes something */
};

struct client_target {
	char endpoint[CLIENT_ENDPOINT_MAX];	/* no trailing slash */
	char token[TOKEN_MAX + 1];		/* "" for none */
	char why[sizeof(((struct snap_err *)0)->msg)];	/* no token: why */
};

/* Fills t for w. 0, or an exit code (said). */
int client_target_resolve(const struct client_where *w,
    struct client_target *t);

/* Whether url ("http://HOST[:PORT]...") names a loopback host: localhost,
 * 127.0.0.0/8 or [::1]. */
bool client_endpoint_is_loopback(const char *url);

/*
 * Turns a listen address ("HOST:PORT", "[V6]:PORT", or "V6:PORT" read at
 * the last colon, as the server does) into the URL a client uses:
 * "http://HOST:PORT", an IPv6 host bracketed. A wildcard host is no
 * address to connect to, so "0.0.0.0" (or an empty host) becomes 127.0.0.1
 * and "[::]" becomes [::1]. Returns 0, or -1 when listen is not HOST:PORT,
 * the port is 0 (picked by the server at start) or out (outlen bytes) is
 * too small.
 */
int client_endpoint_from_listen(const char *listen, char *out, size_t outlen);

/*
 * Reads the bearer token from path (token_read(): a symlink is followed,
 * group and others may not access the file) into out (outlen bytes),
 * without its trailing whitespace, as the server reads its own copy.
 * Returns 0, or -1 with err ("token file: ...") when the file cannot be
 * read, others may read it, the token is empty or longer than TOKEN_MAX
 * (or outlen - 1) bytes, or holds a byte that cannot go into an HTTP
 * header.
 */
int client_read_token(const char *path, char *out, size_t outlen,
    struct snap_err *err);

#endif
