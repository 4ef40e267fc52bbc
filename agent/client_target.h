/*
 * client_target.h - where a CLI command goes, and with what token.
 *
 * The endpoint: --endpoint, else the agent's [secondary] listen (a
 * wildcard as the loopback address), else CLIENT_DEFAULT_ENDPOINT. The
 * token: --token-file, else the agent's token_file, from the agent's
 * settings as the agent reads them (the config file: --config, else
 * $ARTSYNC_CONFIG, else the default file; then ARTSYNC_<KEY>). A read
 * that may not read the agent's token_file goes without it: only a change
 * needs it.
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

/* What the command line says. */
struct client_where {
	const char *endpoint;		/* --endpoint, or NULL */
	const char *token_file;		/* --token-file, or NULL */
	const char *config_path;	/* --config, or NULL */
	bool change;			/* the command changes something */
};

struct client_target {
	char endpoint[CLIENT_ENDPOINT_MAX];	/* no trailing slash */
	char token[256];			/* "" for none */
	char why[sizeof(((struct snap_err *)0)->msg)];	/* no token: why */
};

/* Fills t for w. 0, or an exit code (said). */
int client_target_resolve(const struct client_where *w,
    struct client_target *t);

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
 * Reads the bearer token from path (a symlink is followed) into out
 * (outlen bytes), without its trailing whitespace, as the server reads its
 * own copy. Returns 0, or -1 with err ("token file: ...") when the file
 * cannot be read, the token is empty or longer than 255 (or outlen - 1)
 * bytes, or holds a byte that cannot go into an HTTP header.
 */
int client_read_token(const char *path, char *out, size_t outlen,
    struct snap_err *err);

#endif
