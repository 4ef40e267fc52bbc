/*
 * hookproc.c - what an exec hook is given and what is made of what it
 * gives back (see hookproc.h).
 */
#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "hookproc.h"
#include "snap_err.h"

static const char *const var_names[HOOKPROC_NVARS] = { "ARTSYNC_VERSION",
    "ARTSYNC_PREVIOUS_VERSION", "ARTSYNC_RELEASE", "ARTSYNC_CHANGED",
    "ARTSYNC_REASON", "ARTSYNC_DEPLOY_ROOT" };

/* Whether the environment entry e sets one of our variables. */
static bool
is_ours(const char *e)
{
	size_t i, n;

	for (i = 0; i < HOOKPROC_NVARS; i++) {
		n = strlen(var_names[i]);
		if (strncmp(e, var_names[i], n) == 0 && e[n] == '=')
			return true;
	}
	return false;
}

int
hookproc_env_build(struct hookproc_env *env, const struct swap_event *ev,
    const char *root, char *const *base)
{
	size_t nbase = 0, i, n = 0;

	while (base[nbase] != NULL)
		nbase++;
	if ((env->envp = calloc(nbase + HOOKPROC_NVARS + 1, sizeof(char *))) ==
	    NULL)
		return -1;
	for (i = 0; i < nbase; i++)
		if (!is_ours(base[i]))
			env->envp[n++] = base[i];
	if (asprintf(&env->own[0], "%s=%" PRIu64, var_names[0],
	    ev->version) == -1 ||
	    asprintf(&env->own[1], "%s=%" PRIu64, var_names[1],
	    ev->previous) == -1 ||
	    asprintf(&env->own[2], "%s=%s", var_names[2], ev->release) == -1 ||
	    asprintf(&env->own[3], "%s=%" PRIu64, var_names[3],
	    ev->changed) == -1 ||
	    asprintf(&env->own[4], "%s=%s", var_names[4],
	    swap_reason_name(ev->reason)) == -1 ||
	    asprintf(&env->own[5], "%s=%s", var_names[5], root) == -1)
		return -1;	/* asprintf left that one NULL */
	for (i = 0; i < HOOKPROC_NVARS; i++)
		env->envp[n++] = env->own[i];
	env->envp[n] = NULL;
	return 0;
}

void
hookproc_env_free(struct hookproc_env *env)
{
	size_t i;

	for (i = 0; i < HOOKPROC_NVARS; i++) {
		free(env->own[i]);
		env->own[i] = NULL;
	}
	free(env->envp);
	env->envp = NULL;
}

/* Bytes of the escape sequence at in[0] (ESC), within len: CSI (ESC [
 * ... final byte), OSC (ESC ] ... BEL or ESC \), or ESC and one byte. */
static size_t
escape_len(const char *in, size_t len)
{
	size_t i = 2;

	if (len < 2)
		return len;
	if (in[1] == '[') {
		while (i < len && !(in[i] >= 0x40 && in[i] <= 0x7e))
			i++;
		return i < len ? i + 1 : len;
	}
	if (in[1] == ']') {
		while (i < len && in[i] != '\a' &&
		    !(in[i] == 0x1b && i + 1 < len && in[i + 1] == '\\'))
			i++;
		return i >= len ? len : in[i] == '\a' ? i + 1 : i + 2;
	}
	return 2;
}

size_t
hookproc_sanitize(const char *in, size_t len, char *out, size_t outlen)
{
	static const char fffd[] = "\xef\xbf\xbd";
	size_t i = 0, o = 0, n, step;
	const char *put;

	assert(outlen >= 8);
	while (i < len) {
		if (in[i] == 0x1b) {
			i += escape_len(in + i, len - i);
			continue;
		}
		if (in[i] == '\r') {
			i++;
			continue;
		}
		if ((n = snap_utf8_len(in + i, len - i)) > 0) {
			put = in + i;
			step = n;
		} else {
			put = in[i] == '\t' ? " " :
			    (unsigned char)in[i] < 0x80 ? "?" : fffd;
			n = strlen(put);
			step = 1;
		}
		i += step;
		if (o + n + 4 > outlen) {	/* room for "..." and NUL */
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, put, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

void
hookproc_describe(int code, int status, char *out, size_t len)
{
	if (code == CLD_EXITED)
		snprintf(out, len, "exited with status %d%s", status,
		    status == 127 ? " (command not found)" :
		    status == 126 ? " (not executable)" : "");
	else
		snprintf(out, len, "killed by signal %d (%s)%s", status,
		    strsignal(status), code == CLD_DUMPED ? ", core dumped" :
		    "");
}
