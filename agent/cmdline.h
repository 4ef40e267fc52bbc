/*
 * cmdline.h - the command line of publish, check, primary, secondary,
 * verify, rollback and keygen.
 *
 * Flags are table-driven and go through config_set(), the same code that
 * reads the config file, so a flag and its config key accept exactly the
 * same values: every key has a flag, --KEY with - for _.
 *
 * Calling sequence: a command calls cmdline_parse() with its role, then
 * reads cl->c (config_check() and the rest are the command's), cl->rest
 * and the few flags that are no keys (-n, --to). Errors: cmdline_parse()
 * prints one "artsync: ..." line on stderr and returns the exit code (2);
 * after --help it returns CMDLINE_HELP_SHOWN (the command exits 0).
 */
#ifndef CMDLINE_H
#define CMDLINE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define CMDLINE_HELP_SHOWN -1	/* --help printed: exit 0 */

/* Options of one command: the common flags plus the role's own. */
struct cmdline {
	struct config c;
	const char *config_path;	/* NULL: none */
	const char *config_from;	/* "--config", "ARTSYNC_CONFIG", ... */
	char found[PATH_MAX];		/* config_find()'s */
	bool check_only;		/* -n */
	uint64_t to;			/* rollback --to */
	bool have_to;
	bool unpin;			/* publish --unpin */
	char **rest;			/* positional arguments */
	int nrest;
	int argc;			/* as given, for cmdline_reread() */
	char **argv;
	enum config_role role;
};

/* The usage of every command, for --help. */
extern const char cmdline_usage[];

/*
 * Parses argv for a command of role r (its flags: the common ones and the
 * role's). The config file is read first (wherever --config stands;
 * config_find() without it), then the environment's ARTSYNC_<KEY> over
 * it, then the flags over both; logging is set up from the result.
 * Returns 0, an exit code (said), or CMDLINE_HELP_SHOWN.
 */
int cmdline_parse(int argc, char **argv, enum config_role r,
    struct cmdline *cl);

/*
 * SIGHUP (reload.h): a new config built as cmdline_parse() built cl->c -
 * defaults, cl->config_path read again, the environment, cl's flags - then
 * checked (config_check()) and its key loaded (config_load_key()), so that
 * the flags still win over the file. Logs nothing. 0, or -1 with err
 * ("FILE:LINE: ..." for the file).
 */
int cmdline_reread(const struct cmdline *cl, struct config *c,
    struct snap_err *err);

/* A decimal uint64 (a version), the whole of s. 0 or -1. */
int cmdline_parse_u64(const char *s, uint64_t *out);

#endif
