/*
 * child.h - a child process, started the one way the daemons start them.
 *
 * The caller builds argv (and envp) in full first; posix_spawn runs no
 * code of ours between fork and exec. stdin is infd (-1: /dev/null), the
 * working directory cwdfd (-1: the daemon's); stderr - and
 * stdout too with CHILD_STDOUT, else /dev/null - goes into a pipe whose
 * read end the caller's loop polls. The daemon blocks TERM, INT and HUP
 * (it reads them from a signalfd) and ignores PIPE: the child gets an
 * empty signal mask and PIPE's default action, or a SIGTERM sent to stop
 * it would wait for it to end by itself. With CHILD_SETSID it leads a
 * session and process group of its own, so that kill(-pid, ...) reaches
 * whatever it started too.
 */
#ifndef CHILD_H
#define CHILD_H

#include <stddef.h>
#include <sys/types.h>

#define CHILD_STDOUT	0x1	/* stdout into the pipe too */
#define CHILD_SETSID	0x2	/* a session and process group of its own */

/* Starts argv[0] (searched in PATH when it has no slash) with envp (NULL:
 * the daemon's environment). *pid and *outfd (the pipe's read end,
 * non-blocking and close-on-exec) are the caller's to reap and close.
 * 0, or -1 with errno set. */
int child_spawn(char *const argv[], char *const envp[], int flags,
    int infd, int cwdfd, pid_t *pid, int *outfd);

/* Stops a child of ours (child_spawn's, or one the caller forked): SIGTERM
 * to it, waits for it, closes its output pipe; *pid and *outfd become -1.
 * Either already -1 is skipped. */
void child_stop(pid_t *pid, int *outfd);

/* Reads what is in the child's output pipe now (non-blocking), keeping
 * the last size - 1 bytes in buf, NUL-terminated, *len of them: the last
 * line is what says most. 0 at end of file (the child is exiting), -1
 * when nothing more can be read now (errno: EAGAIN, or the error). */
int child_read_tail(int outfd, char *buf, size_t size, size_t *len);

#endif
