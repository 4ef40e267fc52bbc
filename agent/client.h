/*
 * client.h - the command-line client of a secondary's REST endpoint:
 * `artsync status`, `list`, `show`, `redeploy`, `undeploy`, `deploy-local`.
 *
 * client_main() is the whole command: it parses the flags, finds the
 * endpoint and the token, sends one request with libcurl and prints the
 * answer. The pieces that need no network (endpoint from a listen address,
 * the token file, turning the server's JSON into text) are public so that
 * they can be tested alone.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "snap_err.h"

/* Where the client goes when neither --endpoint nor --config says. */
#define CLIENT_DEFAULT_ENDPOINT "http://127.0.0.1:7846"
/* Longest token: what the server's config_read_token() takes. */
#define CLIENT_TOKEN_MAX 255

/*
 * Runs a client command ("status", "list", "show", "redeploy", "undeploy",
 * "deploy-local") with its argv (argv[0] is the command name; getopt may
 * reorder the rest). Prints the answer on stdout and any error as one line
 * on stderr. Returns the process exit code: 0 ok, 1 the request failed
 * (server error or unreachable), 2 usage error.
 */
int client_main(int argc, char **argv);

/* Prints "artsync: <fmt with arg> (see artsync --help)" on stderr and
 * returns 2, the usage exit code: every command's usage errors look alike. */
int client_usage_error(const char *fmt, const char *arg);

/* Whether `cmd` is one of the commands client_main() runs. */
bool client_is_command(const char *cmd);

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
 * own copy. Returns 0, or -1 with err when the file cannot be read, the
 * token is empty or longer than CLIENT_TOKEN_MAX (or outlen - 1) bytes, or
 * holds a byte that cannot go into an HTTP header.
 */
int client_read_token(const char *path, char *out, size_t outlen,
    struct snap_err *err);

/*
 * Print the server's answers as text for people. status: aligned
 * "key: value" lines; list: a table and "N artifacts"; change (redeploy,
 * undeploy, deploy-local): "TYPE/NAME: STATE (release R)". The JSON stays
 * the caller's. Return 0, or -1 when the answer is not the expected object
 * (nothing useful was printed).
 */
int client_format_status(json_t *j, FILE *f);
int client_format_list(json_t *j, FILE *f);
int client_format_change(json_t *j, FILE *f);

#endif
