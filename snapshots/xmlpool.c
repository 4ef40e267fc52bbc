/*
 * xmlpool.c - artifact validation spread over the machine's cores (see
 * xmlpool.h).
 *
 * The one place with threads, and it earns them: on a full apply of 10,000
 * artifacts validation is about half the work, and it is independent per
 * artifact. Each worker owns an xmlcheck (libxml2 keeps its error handlers
 * per thread, and a compiled schema is not shared across threads), takes
 * copies of artifacts from a bounded queue and records failures by
 * submission number, so the verdict does not depend on who finished first.
 * Workers block every signal: the daemon's loop takes them all.
 */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thread.h"
#include "xmlpool.h"

/* Bounds on what waits for a worker; past them the caller validates. */
#define QUEUE_MAX_JOBS	256
#define QUEUE_MAX_BYTES	(8u << 20)
#define WORKERS_MAX	8

struct job {
	struct job *next;
	uint64_t seq;		/* submission number in the batch */
	struct xmlpool_item it;	/* its strings and buf point into data[] */
	char data[];
};

struct worker {
	struct xmlpool *xp;
	struct xmlcheck *xc;
	pthread_t thread;
	bool started;
};

struct xmlpool {
	pthread_mutex_t mu;
	pthread_cond_t more;		/* a job was queued, or stopping */
	pthread_cond_t drained;		/* no job queued or running */
	struct job *head, *tail;
	size_t queued, queued_bytes;
	unsigned running;		/* jobs taken and not yet judged */
	bool stopping;
	uint64_t next_seq;
	/* The batch's verdict so far: the earliest failure known. */
	bool failed;
	uint64_t failed_seq;
	struct snap_err failure;

	struct xmlcheck *xc;		/* the caller's, for its own checks */
	unsigned nworkers;
	struct worker *workers;
};

/*
 * The checks of publish for one artifact, and that it is what the manifest
 * says it is: a writer on the share who names a file "a" in the manifest
 * cannot slip in the artifact that Synapse knows as "b".
 */
static int
judge(struct xmlcheck *xc, const struct xmlpool_item *it,
    struct snap_err *err)
{
	struct xmlcheck_result res;

	if (xmlcheck_validate(xc, it->type, it->name, it->buf, it->len, &res,
	    err) == -1)
		return -1;
	if (it->identity != NULL && strcmp(res.identity, it->identity) != 0)
		return snap_err_set(err, "Synapse knows it as '%s', the manifest "
		    "says '%s'", res.identity, it->identity);
	return 0;
}

/* Keeps the earliest failure. Called with mu held. */
static void
record_failure(struct xmlpool *xp, uint64_t seq, const char *label,
    const struct snap_err *why)
{
	if (xp->failed && xp->failed_seq < seq)
		return;
	xp->failed = true;
	xp->failed_seq = seq;
	xp->failure = *why;
	snap_err_prefix(&xp->failure, "%s: invalid artifact", label);
	xp->failure.code = SNAP_E_INVALID;
}

/* Whether a verdict on seq can still matter. Called with mu held. */
static bool
is_worth_checking(const struct xmlpool *xp, uint64_t seq)
{
	return !xp->failed || seq < xp->failed_seq;
}

/*
 * Takes the next queued job, judges it with xc and records the outcome.
 * Called with mu held, returns with it held; false when nothing was queued.
 */
static bool
run_one(struct xmlpool *xp, struct xmlcheck *xc)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct job *j = xp->head;
	bool worth;
	int rc = 0;

	if (j == NULL)
		return false;
	if ((xp->head = j->next) == NULL)
		xp->tail = NULL;
	xp->queued--;
	xp->queued_bytes -= j->it.len;
	xp->running++;
	worth = is_worth_checking(xp, j->seq);
	pthread_mutex_unlock(&xp->mu);

	if (worth)
		rc = judge(xc, &j->it, &err);

	pthread_mutex_lock(&xp->mu);
	if (rc == -1)
		record_failure(xp, j->seq, j->it.label, &err);
	xp->running--;
	if (xp->head == NULL && xp->running == 0)
		pthread_cond_broadcast(&xp->drained);
	free(j);
	return true;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct xmlpool *xp = w->xp;

	pthread_mutex_lock(&xp->mu);
	for (;;) {
		while (xp->head == NULL && !xp->stopping)
			pthread_cond_wait(&xp->more, &xp->mu);
		if (!run_one(xp, w->xc))
			break;	/* stopping, and nothing left */
	}
	pthread_mutex_unlock(&xp->mu);
	return NULL;
}

/* One worker per CPU this process may run on, but the caller's. */
static unsigned
default_workers(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == -1)
		return 0;
	n = CPU_COUNT(&set) - 1;
	return n < 0 ? 0 : n > WORKERS_MAX ? WORKERS_MAX : (unsigned)n;
}

static int
start_workers(struct xmlpool *xp, struct snap_err *err)
{
	unsigned i;
	int rc = 0, e;

	/* Every validator first: xmlcheck_new() sets up libxml2's globals,
	 * which must not change under a running thread. */
	for (i = 0; i < xp->nworkers; i++) {
		xp->workers[i].xp = xp;
		if ((xp->workers[i].xc = xmlcheck_new(err)) == NULL)
			return -1;
	}
	/* None of our threads ever takes a signal. */
	for (i = 0; i < xp->nworkers && rc == 0; i++) {
		struct worker *w = &xp->workers[i];

		if ((e = thread_start_nosig(&w->thread, worker_main, w)) != 0)
			rc = snap_err_sys(err, e, "xml validation thread");
		else
			w->started = true;
	}
	return rc;
}

struct xmlpool *
xmlpool_new(struct xmlcheck *xc, int workers, struct snap_err *err)
{
	struct xmlpool *xp;

	assert(xc != NULL);
	if ((xp = calloc(1, sizeof(*xp))) == NULL) {
		snap_err_set(err, "xml validation: out of memory");
		return NULL;
	}
	pthread_mutex_init(&xp->mu, NULL);
	pthread_cond_init(&xp->more, NULL);
	pthread_cond_init(&xp->drained, NULL);
	xp->xc = xc;
	xp->nworkers = workers < 0 ? default_workers() :
	    workers > WORKERS_MAX ? WORKERS_MAX : (unsigned)workers;
	if (xp->nworkers > 0 && (xp->workers = calloc(xp->nworkers,
	    sizeof(*xp->workers))) == NULL) {
		snap_err_set(err, "xml validation: out of memory");
		goto fail;
	}
	if (start_workers(xp, err) == -1)
		goto fail;
	return xp;
fail:
	xmlpool_free(xp);
	return NULL;
}

void
xmlpool_free(struct xmlpool *xp)
{
	unsigned i;

	if (xp == NULL)
		return;
	pthread_mutex_lock(&xp->mu);
	xp->stopping = true;
	pthread_cond_broadcast(&xp->more);
	pthread_mutex_unlock(&xp->mu);
	for (i = 0; i < xp->nworkers && xp->workers != NULL; i++) {
		if (xp->workers[i].started)
			pthread_join(xp->workers[i].thread, NULL);
		xmlcheck_free(xp->workers[i].xc);
	}
	assert(xp->head == NULL);
	free(xp->workers);
	pthread_cond_destroy(&xp->drained);
	pthread_cond_destroy(&xp->more);
	pthread_mutex_destroy(&xp->mu);
	free(xp);
}

unsigned
xmlpool_workers(const struct xmlpool *xp)
{
	return xp->nworkers;
}

/* A copy of s at *p, which moves past it. */
static const char *
put(char **p, const char *s, size_t len)
{
	char *at = *p;

	if (len > 0)
		memcpy(at, s, len);
	*p += len;
	return at;
}

/* A job holding copies of the item's strings and bytes; NULL when out of
 * memory. */
static struct job *
job_new(uint64_t seq, const struct xmlpool_item *it)
{
	size_t nl = strlen(it->name) + 1, ll = strlen(it->label) + 1;
	size_t il = it->identity != NULL ? strlen(it->identity) + 1 : 0;
	struct job *j;
	char *p;

	if ((j = malloc(sizeof(*j) + nl + ll + il + it->len)) == NULL)
		return NULL;
	j->next = NULL;
	j->seq = seq;
	j->it.type = it->type;
	p = j->data;
	j->it.name = put(&p, it->name, nl);
	j->it.label = put(&p, it->label, ll);
	j->it.identity = it->identity != NULL ? put(&p, it->identity, il) :
	    NULL;
	j->it.buf = put(&p, it->buf, it->len);
	j->it.len = it->len;
	return j;
}

/* The caller judges the artifact itself. Called with mu held. */
static int
check_here(struct xmlpool *xp, uint64_t seq, const struct xmlpool_item *it,
    struct snap_err *err)
{
	struct snap_err why = SNAP_ERR_INIT;
	int rc;

	pthread_mutex_unlock(&xp->mu);
	rc = judge(xp->xc, it, &why);
	pthread_mutex_lock(&xp->mu);
	if (rc == 0)
		return 0;
	record_failure(xp, seq, it->label, &why);
	if (err != NULL)
		*err = xp->failure;
	return -1;
}

int
xmlpool_submit(struct xmlpool *xp, const struct xmlpool_item *it,
    struct snap_err *err)
{
	struct job *j = NULL;
	uint64_t seq;
	int rc = 0;

	pthread_mutex_lock(&xp->mu);
	if (xp->failed) {
		if (err != NULL)
			*err = xp->failure;
		rc = -1;
		goto out;
	}
	seq = xp->next_seq++;
	/* Only this thread adds jobs: a queue with room now keeps it. */
	if (xp->nworkers == 0 || xp->queued >= QUEUE_MAX_JOBS ||
	    xp->queued_bytes + it->len > QUEUE_MAX_BYTES) {
		rc = check_here(xp, seq, it, err);
		goto out;
	}
	pthread_mutex_unlock(&xp->mu);
	j = job_new(seq, it);
	pthread_mutex_lock(&xp->mu);
	if (j == NULL) {
		rc = check_here(xp, seq, it, err);
		goto out;
	}
	if (xp->tail != NULL)
		xp->tail->next = j;
	else
		xp->head = j;
	xp->tail = j;
	xp->queued++;
	xp->queued_bytes += it->len;
	pthread_cond_signal(&xp->more);
out:
	pthread_mutex_unlock(&xp->mu);
	return rc;
}

int
xmlpool_wait(struct xmlpool *xp, struct snap_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&xp->mu);
	/* Help with what is still queued, then wait for what is running. */
	while (run_one(xp, xp->xc))
		;
	while (xp->running > 0)
		pthread_cond_wait(&xp->drained, &xp->mu);
	if (xp->failed) {
		if (err != NULL)
			*err = xp->failure;
		rc = -1;
	}
	xp->failed = false;
	xp->next_seq = 0;
	pthread_mutex_unlock(&xp->mu);
	return rc;
}
