/*
 * xmlpool.h - artifact validation spread over the machine's cores.
 *
 * A full apply validates every artifact it writes, and validating costs
 * about as much as everything else the apply does (decompressing, hashing,
 * writing). The pool lets the caller go on with that while worker threads
 * validate what it has already handed over; the verdict is taken once, at
 * the end, before anything written is used. When the workers fall behind
 * (a bounded queue is full) the caller validates the artifact itself, so
 * every core works and memory stays bounded.
 *
 * The verdict is exactly the sequential one: the first invalid artifact in
 * submission order, with the same message xmlcheck_validate() gives.
 *
 * Calling sequence (one thread calls; the workers are the pool's own):
 *	xp = xmlpool_new(xc, XMLPOOL_PER_CPU, &err);	once per process
 *	xmlpool_submit(xp, &item, &err); ... then
 *	xmlpool_wait(xp, &err);		always, even after a failed submit
 *	...
 *	xmlpool_free(xp);
 * A batch is everything submitted since the last xmlpool_wait().
 */
#ifndef XMLPOOL_H
#define XMLPOOL_H

#include <stddef.h>

#include "snap_err.h"
#include "xmlcheck.h"

struct xmlpool;

/*
 * A pool whose caller-side checks use xc (borrowed: it must outlive the
 * pool, and is only used from the calling thread). workers: threads of
 * their own, each with its own validator (0: the caller does it all);
 * XMLPOOL_PER_CPU: one per CPU this process may use, but the caller's.
 * NULL with err when a thread cannot be started.
 */
#define XMLPOOL_PER_CPU (-1)
struct xmlpool *xmlpool_new(struct xmlcheck *xc, int workers,
    struct snap_err *err);
void xmlpool_free(struct xmlpool *xp);	/* NULL is a no-op; waits first */

/* How many worker threads the pool runs (0: the caller does it all). */
unsigned xmlpool_workers(const struct xmlpool *xp);

/* One artifact to judge: xmlcheck_validate() of buf[0..len) as TYPE/NAME,
 * and, when identity is not NULL, that Synapse knows it by that identity
 * (xmlcheck.h). label names it in the verdict ("snapshots/5.tar.zst:
 * api/x.xml"). */
struct xmlpool_item {
	int type;
	const char *name;
	const char *identity;
	const char *label;
	const char *buf;
	size_t len;
};

/*
 * Hands an artifact over for judging. Everything the item points to is
 * copied (or judged at once), so the caller may reuse it on return.
 * 0: accepted; -1 when an artifact of this batch is already known to be
 * invalid, err saying so: stop submitting, and let xmlpool_wait() name the
 * first one.
 */
int xmlpool_submit(struct xmlpool *xp, const struct xmlpool_item *it,
    struct snap_err *err);

/*
 * Waits until every artifact of the batch is validated and starts a new
 * batch. 0 when all were valid; -1 with err "LABEL: invalid artifact: ..."
 * for the first invalid one in submission order.
 */
int xmlpool_wait(struct xmlpool *xp, struct snap_err *err);

#endif
