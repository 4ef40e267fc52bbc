/*
 * hookproc.h - what an exec hook (hook.h) is given, and what is made of
 * what it gives back: its environment, its output fit for a log line, how
 * it ended in words. Plain functions of their arguments, so that tests
 * reach them without a daemon.
 */
#ifndef HOOKPROC_H
#define HOOKPROC_H

#include <stddef.h>

#include "swapevent.h"

#define HOOKPROC_NVARS	6	/* the ARTSYNC_* variables */
#define HOOK_LINE_MAX	300	/* bytes of one output line logged */

/* A hook's environment: base (NULL-terminated; any ARTSYNC_* variable of
 * ours it holds dropped) plus ours (hook.h). */
struct hookproc_env {
	char **envp;			/* what posix_spawn takes */
	char *own[HOOKPROC_NVARS];	/* the strings we made */
};
#define HOOKPROC_ENV_INIT { NULL, { NULL } }

/* 0, or -1 when out of memory. hookproc_env_free() either way. */
int hookproc_env_build(struct hookproc_env *env,
    const struct swap_event *ev, const char *root, char *const *base);
void hookproc_env_free(struct hookproc_env *env);

/* One line of a hook's output (len bytes at in) made fit for a log line:
 * escape sequences dropped, tabs as blanks, CR dropped, other control
 * characters as '?', bytes outside valid UTF-8 as U+FFFD; cut with "..."
 * to fit outlen (>= 8) with its NUL. Returns the length written. */
size_t hookproc_sanitize(const char *in, size_t len, char *out,
    size_t outlen);

/* How a hook ended, from waitid()'s si_code and si_status: "exited with
 * status 3", "killed by signal 9 (Killed)". */
void hookproc_describe(int code, int status, char *out, size_t len);

#endif
