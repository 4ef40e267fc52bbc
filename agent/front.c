/*
 * front.c - artsync, the light front: the one-shot commands run here, every
 * other one in artsync-agent, exec'd in place.
 *
 * CI runs `artsync publish` after each pull, and at 10,000 artifacts a
 * cached publish takes ~40 ms, of which the dynamic loader took ~10 ms
 * while the binary linked libcurl and libmicrohttpd (55 shared libraries
 * with their dependencies). This binary is linked from libartsync.a with
 * --as-needed and references none of the daemons' or the REST client's
 * code, so those libraries are not even loaded; libcurl stays linked, never
 * dlopen'd, in artsync-agent (docs/architecture.md).
 *
 * Calling sequence (main): commands_run() (commands.h) runs publish, check,
 * verify, rollback, pin, unpin, keygen, help and --version. For anything
 * else - primary, secondary, the REST client's commands, a command that
 * does not exist - the agent is execv()'d with the same argv, argv[0]
 * included, so the process keeps its PID: systemd's Type=notify and
 * MAINPID, signals and the exit status reach the agent unchanged. The
 * agent is looked for, in order, at:
 *	1. $ARTSYNC_AGENT, if set: that path and no other (tests, valgrind);
 *	2. artsync-agent in this executable's own directory (the build tree,
 *	   a side-by-side install);
 *	3. AGENT_DIR/artsync-agent, AGENT_DIR fixed at build time
 *	   ($(LIBEXECDIR)/artsync: make install puts it there).
 * If none can be run: one line naming the command and the places looked,
 * exit 1.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

#ifndef AGENT_DIR
#define AGENT_DIR "/usr/local/libexec/artsync"
#endif
#define AGENT_NAME "artsync-agent"

/* Where the last execv() that found a file failed, and why: a file that
 * is there but cannot be run is worth naming over "not found". */
struct tried {
	char path[PATH_MAX];
	int errnum;			/* 0: every place was empty */
};

/* This executable's directory, '/' at its end, in dir: 0, or -1 (no
 * /proc, a name too long, the file replaced since it was started). */
static int
self_dir(char *dir, size_t len)
{
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", dir, len - 1);
	if (n <= 0 || (size_t)n >= len - 1)
		return -1;
	dir[n] = '\0';
	if (strstr(dir, " (deleted)") != NULL ||
	    (slash = strrchr(dir, '/')) == NULL)
		return -1;
	slash[1] = '\0';
	return 0;
}

/* Runs the agent at path in place of this process; returns only when it
 * could not, having noted in t why unless the file was simply not there. */
static void
try_exec(const char *path, char **argv, struct tried *t)
{
	execv(path, argv);
	if (errno != ENOENT && errno != ENOTDIR) {
		snprintf(t->path, sizeof(t->path), "%s", path);
		t->errnum = errno;
	}
}

/* Execs the agent (see above) for argv[1]; returns the exit code when it
 * cannot. */
static int
exec_agent(char **argv)
{
	const char *env = getenv("ARTSYNC_AGENT");
	struct tried t = { "", 0 };
	char dir[PATH_MAX], path[PATH_MAX + sizeof(AGENT_NAME)];

	if (env != NULL && *env != '\0') {
		execv(env, argv);
		fprintf(stderr, "artsync: '%s' needs %s: cannot run "
		    "ARTSYNC_AGENT=%s: %s\n", argv[1], AGENT_NAME, env,
		    strerror(errno));
		return 1;
	}
	if (self_dir(dir, sizeof(dir)) == 0) {
		snprintf(path, sizeof(path), "%s%s", dir, AGENT_NAME);
		try_exec(path, argv, &t);
	} else
		snprintf(dir, sizeof(dir), "%s", "(this binary's directory)");
	try_exec(AGENT_DIR "/" AGENT_NAME, argv, &t);
	if (t.errnum != 0)
		fprintf(stderr, "artsync: '%s' needs %s: cannot run %s: %s\n",
		    argv[1], AGENT_NAME, t.path, strerror(t.errnum));
	else
		fprintf(stderr, "artsync: '%s' needs %s, not found in %s or %s "
		    "(install it: make install)\n", argv[1], AGENT_NAME, dir,
		    AGENT_DIR);
	return 1;
}

int
main(int argc, char **argv)
{
	int rc;

	if ((rc = commands_run(argc, argv)) != COMMANDS_NOT_MINE)
		return rc;
	return exec_agent(argv);
}
