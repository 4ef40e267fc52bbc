/*
 * redis_worker.h - one thread that makes a daemon's blocking Redis calls,
 * so that a store that stalls (a stopped server, a blackholed link) never
 * stops the poll loop: REST, /healthz, the watchdog and signals go on.
 *
 * Why a thread and not hiredis's async API: a mirror or an upload is a
 * dozen dependent steps (read the state, check each blob, write files,
 * commit), each plain blocking code in redis_fetch.c and redis_push.c;
 * run as callbacks they would be twice the code. One worker, one job at a
 * time, keeps them as they are; the loop only hands a job over and is
 * woken (an eventfd) when it is done.
 *
 * Calling sequence, all on the loop's thread:
 *	1. rworker_new(), after the daemon's signals are blocked (the worker
 *	   blocks every signal itself too: they stay the loop's);
 *	2. rworker_start(w, fn, arg) while idle: fn(arg) runs on the worker.
 *	   From then until step 3 the loop must not touch what arg points to
 *	   (the job owns it: its struct redis, its results);
 *	3. when rworker_fd() polls readable, rworker_reap(): true once fn has
 *	   returned; arg is the loop's again, and fn's writes are visible;
 *	4. rworker_free(): waits for a running job. A caller that cannot wait
 *	   for a stalled store first makes the job fail fast
 *	   (redis_interrupt).
 * rworker_new() fails (NULL with err) only when the thread or the eventfd
 * cannot be made.
 */
#ifndef REDIS_WORKER_H
#define REDIS_WORKER_H

#include <stdbool.h>

#include "snap_err.h"

struct rworker;

struct rworker *rworker_new(struct snap_err *err);
void rworker_free(struct rworker *w);	/* NULL is a no-op */

/* Hands fn(arg) to the worker. -1 when a job is still running. */
int rworker_start(struct rworker *w, void (*fn)(void *), void *arg);
/* Whether a job was started and not yet reaped (false for NULL). */
bool rworker_busy(const struct rworker *w);
/* Readable once the running job has returned; -1 for NULL. */
int rworker_fd(const struct rworker *w);
/* After rworker_fd() polled readable: true when the job is done. */
bool rworker_reap(struct rworker *w);

#endif
