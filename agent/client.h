/*
 * client.h - the command-line client of a secondary's REST endpoint:
 * `artsync status`, `list`, `show`, `redeploy`, `undeploy`, `deploy-local`.
 *
 * client_main() is the whole command: it parses the flags, finds the
 * endpoint and the token (client_target.h), sends one request with
 * libcurl (client_http.h) and prints the answer (client_print.h). The
 * pieces that need no network (endpoint from a listen address, the token
 * file, turning the server's JSON into text) are public, in those
 * headers, so that they can be tested alone.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "client_print.h"
#include "client_target.h"
#include "snap_err.h"
#include "token.h"

/* Where the client goes when neither --endpoint nor --config says. */
#define CLIENT_DEFAULT_ENDPOINT "http://127.0.0.1:7846"
/* Longest token: what the server's token_read() takes. */
#define CLIENT_TOKEN_MAX TOKEN_MAX

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

#endif
