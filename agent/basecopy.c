/*
 * basecopy.c - the primary's full copy ahead of need (see basecopy.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "basecopy.h"
#include "child.h"
#include "log.h"

/* What the child says, in one write (well under PIPE_BUF: atomic). */
struct copy_report {
	int rc;
	struct snap_base base;
	char msg[sizeof(((struct snap_err *)0)->msg)];
};

_Static_assert(sizeof(struct copy_report) <= 4096, "a report is one pipe write");

/* Versions to publish after a failed copy before the next try. */
#define COPY_RETRY_VERSIONS 4

/* Whether memo already holds a base that a full chain could restart on:
 * a version above the chain's own base, up to the latest. */
static bool
has_base(const struct snap_memo *memo)
{
	return memo->base.version > memo->version - memo->chain &&
	    memo->base.version <= memo->version;
}

/* The child: unblocks what the daemon blocks (SIGTERM must stop it),
 * steps back in priority, writes, reports, and leaves without running
 * anything of the parent's (atexit, stdio buffers). */
static void __attribute__((noreturn))
run_child(int fd, const char *source, const char *sync_root,
    const struct snap_publish_opts *o, const struct snap_memo *memo)
{
	const struct sched_param idle = { .sched_priority = 0 };
	struct snap_err err = SNAP_ERR_INIT;
	struct copy_report r;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	/* Spare CPU only: a publish, or a gateway's apply, that wakes takes
	 * the core back at once. Nice 10 where SCHED_IDLE is refused. */
	if (sched_setscheduler(0, SCHED_IDLE, &idle) == -1)
		(void)setpriority(PRIO_PROCESS, 0, 10);
	memset(&r, 0, sizeof(r));
	r.rc = snap_write_base(source, sync_root, o, memo, &r.base, &err);
	memcpy(r.msg, err.msg, sizeof(r.msg));
	_exit(write(fd, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
}

void
basecopy_maybe_start(struct basecopy *b, const char *source,
    const char *sync_root, const struct snap_publish_opts *o,
    const struct snap_memo *memo)
{
	int pfd[2];

	if (b->pid > 0 || memo->m == NULL || o->max_chain == 0 ||
	    memo->chain * 2 < o->max_chain || has_base(memo) ||
	    memo->version < b->not_before)
		return;
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		log_warn("full copy ahead of need: pipe");
		return;
	}
	if ((b->pid = fork()) == 0) {
		close(pfd[0]);
		run_child(pfd[1], source, sync_root, o, memo);
	}
	close(pfd[1]);
	if (b->pid == -1) {
		log_warn("full copy ahead of need: fork");
		close(pfd[0]);
		return;
	}
	b->fd = pfd[0];
	b->version = memo->version;
	log_debug("writing a full copy of version %" PRIu64 " (pid %ld)",
	    memo->version, (long)b->pid);
}

int
basecopy_fd(const struct basecopy *b)
{
	return b->fd;
}

void
basecopy_collect(struct basecopy *b, struct snap_memo *memo)
{
	struct copy_report r;
	ssize_t n;

	n = read(b->fd, &r, sizeof(r));
	basecopy_stop(b);
	b->not_before = b->version + COPY_RETRY_VERSIONS;	/* unless done */
	if (n != (ssize_t)sizeof(r))
		log_warnx("full copy ahead of need: the child died without a "
		    "report; the chain will restart on a full version");
	else if (r.rc == -1) {
		/* Mostly a file that changed since: expected on a busy tree,
		 * so said quietly, and not tried at every version. */
		log_debug("full copy ahead of need: %s; tried again from "
		    "version %" PRIu64, r.msg, b->not_before);
	} else {
		log_debug("full copy of version %" PRIu64 " written",
		    r.base.version);
		memo->base = r.base;
		b->not_before = 0;
	}
}

void
basecopy_stop(struct basecopy *b)
{
	child_stop(&b->pid, &b->fd);
}
