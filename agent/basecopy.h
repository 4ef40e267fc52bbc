/*
 * basecopy.h - the primary's full copy ahead of need.
 *
 * Every max_chain deltas the chain must restart on a full version, and
 * writing one costs the whole tree: ~0.2 s at 10,000 artifacts, seconds
 * at 100,000, while the change that filled the chain waits. So once the
 * chain is half full the primary forks a child, at a lower priority, that
 * writes the full files of the latest version (snap_write_base) beside
 * the chain; when the chain is full, the next publish restarts it on them
 * and is a delta like any other. A child that fails (a file changed while
 * it read it: a busy tree) is tried again a few versions later; without
 * a copy the chain restarts the old way, on a full version.
 */
#ifndef BASECOPY_H
#define BASECOPY_H

#include <stdint.h>
#include <sys/types.h>

#include "snap.h"

struct basecopy {
	pid_t pid;		/* -1: none running */
	int fd;			/* the child's report, -1: none */
	uint64_t version;	/* the version it writes */
	uint64_t not_before;	/* after a failure: the next try's version */
};

#define BASECOPY_INIT { .pid = -1, .fd = -1, .version = 0, .not_before = 0 }

/* Starts a child when memo's chain is at least half of o->max_chain and
 * holds no base newer than its own; a no-op otherwise or while one runs. */
void basecopy_maybe_start(struct basecopy *b, const char *source,
    const char *sync_root, const struct snap_publish_opts *o,
    const struct snap_memo *memo);

/* The fd to poll for the child's report; -1 when none runs. */
int basecopy_fd(const struct basecopy *b);

/* Reads the report (the fd polled readable), reaps the child and, when
 * it wrote the base, gives it to memo. */
void basecopy_collect(struct basecopy *b, struct snap_memo *memo);

/* Stops a running child (SIGTERM) and reaps it. */
void basecopy_stop(struct basecopy *b);

#endif
