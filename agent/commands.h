/*
 * commands.h - the one-shot commands that need no daemon: publish, check,
 * verify, rollback, pin, unpin, keygen, and help and --version.
 *
 * Both binaries run them from here: artsync, the light front (front.c),
 * which links neither libcurl nor libmicrohttpd and so starts in a third
 * of the time, and artsync-agent (main.c), which runs every command. Code
 * reached from commands_run() must therefore stay out of the daemons, the
 * REST endpoint and the REST client (docs/architecture.md).
 *
 * Calling sequence (a main):
 *	rc = commands_run(argc, argv);
 *	if (rc != COMMANDS_NOT_MINE)
 *		return rc;		the command ran here
 *	... argv[1] is another binary's: the daemons, the REST client
 * Exit codes: 0 ok, 1 the operation failed, 2 usage or config error.
 */
#ifndef COMMANDS_H
#define COMMANDS_H

#include "cmdline.h"
#include "config.h"

#define COMMANDS_NOT_MINE (-1)

/* Runs the command argv[1] (with argv + 1), or says "no command given",
 * if it is one of the above. Returns the process exit code, or
 * COMMANDS_NOT_MINE, having printed nothing, for any other argv[1]. */
int commands_run(int argc, char **argv);

/* The steps every command takes, for the daemons' command in main.c. */

/* What a command returns when cmdline_parse() did not return 0. */
int commands_parse_exit(int rc);

/* The role's key (signing_key, public_key): 0, or 2 (a bad key is a
 * config error), said on stderr. */
int commands_load_key(struct cmdline *cl);

/* -n: cmdline_parse() and the command checked the settings; check that
 * the paths can be used as the command would, say what it would do, and
 * stop there. Returns -1 without -n, else the exit code. */
int commands_only_checking(const struct cmdline *cl, enum config_use use);

#endif
