/*
 * child.c - posix_spawn with a pipe for the child's output (see child.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"

extern char **environ;

static void
set_attr(posix_spawnattr_t *attr, int flags)
{
	sigset_t none, pipe_only;
	short f = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;

	sigemptyset(&none);
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	posix_spawnattr_init(attr);
	posix_spawnattr_setsigmask(attr, &none);
	posix_spawnattr_setsigdefault(attr, &pipe_only);
	if (flags & CHILD_SETSID)
		f |= POSIX_SPAWN_SETSID;
	posix_spawnattr_setflags(attr, f);
}

int
child_spawn(char *const argv[], char *const envp[], int flags, int infd,
    int cwdfd, pid_t *pid, int *outfd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int pfd[2], devnull, rc;

	if (pipe2(pfd, O_CLOEXEC) == -1)
		return -1;
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		rc = errno;
		close(pfd[0]);
		close(pfd[1]);
		errno = rc;
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, infd >= 0 ? infd : devnull, 0);
	posix_spawn_file_actions_adddup2(&fa, (flags & CHILD_STDOUT) ? pfd[1] :
	    devnull, 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	/* Before the descriptors are closed: cwdfd is one of them. */
	if (cwdfd >= 0)
		posix_spawn_file_actions_addfchdir_np(&fa, cwdfd);
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34)
	/* A descriptor opened without O_CLOEXEC (a library's) is none of
	 * the child's business, nor of what it leaves running. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	set_attr(&attr, flags);
	rc = posix_spawnp(pid, argv[0], &fa, &attr, argv,
	    envp != NULL ? envp : environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(devnull);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		errno = rc;
		return -1;
	}
	*outfd = pfd[0];
	fcntl(*outfd, F_SETFL, fcntl(*outfd, F_GETFL) | O_NONBLOCK);
	return 0;
}

void
child_stop(pid_t *pid, int *outfd)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
	}
	if (*outfd >= 0)
		close(*outfd);
	*pid = -1;
	*outfd = -1;
}

int
child_read_tail(int outfd, char *buf, size_t size, size_t *len)
{
	char chunk[512];
	size_t keep = size - 1, drop;
	ssize_t n;

	while ((n = read(outfd, chunk, sizeof(chunk))) > 0) {
		if ((size_t)n >= keep) {
			memcpy(buf, chunk + n - keep, keep);
			*len = keep;
		} else {
			if (*len + (size_t)n > keep) {
				drop = *len + (size_t)n - keep;
				memmove(buf, buf + drop, *len - drop);
				*len -= drop;
			}
			memcpy(buf + *len, chunk, (size_t)n);
			*len += (size_t)n;
		}
		buf[*len] = '\0';
	}
	return n == 0 ? 0 : -1;
}
