/*
 * main.c - artsync-agent, the full command line: every command, the
 * daemons and the REST client too.
 *
 * The one-shot commands are commands.c's, shared with the light front
 * (front.c), which execs this binary, same argv and same PID, for
 * everything else. Exit codes: 0 ok, 1 the operation failed, 2 usage or
 * config error.
 */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "cmdline.h"
#include "commands.h"
#include "config.h"
#include "primary.h"
#include "secondary.h"

#define EXIT_USAGE 2

static int
cmd_daemon(int argc, char **argv, enum config_role r)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct cmdline cl;
	int rc;

	rc = cmdline_parse(argc, argv, r, &cl);
	if (rc != 0)
		return commands_parse_exit(rc);
	if (cl.nrest > 0)
		return client_usage_error("unexpected argument '%s'", cl.rest[0]);
	if (config_check(&cl.c, &err) == -1) {
		fprintf(stderr, "artsync: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if ((rc = commands_load_key(&cl)) != 0)
		return rc;
	if ((rc = commands_only_checking(&cl, r == CONFIG_PRIMARY ?
	    CONFIG_USE_PRIMARY : CONFIG_USE_SECONDARY)) >= 0)
		return rc;
	return r == CONFIG_PRIMARY ? primary_run(&cl) : secondary_run(&cl);
}

int
main(int argc, char **argv)
{
	const char *cmd;
	int rc;

	if ((rc = commands_run(argc, argv)) != COMMANDS_NOT_MINE)
		return rc;
	cmd = argv[1];
	argc--;
	argv++;
	if (!strcmp(cmd, "primary"))
		return cmd_daemon(argc, argv, CONFIG_PRIMARY);
	if (!strcmp(cmd, "secondary"))
		return cmd_daemon(argc, argv, CONFIG_SECONDARY);
	if (client_is_command(cmd))
		return client_main(argc, argv);
	return client_usage_error("unknown command '%s'", cmd);
}
