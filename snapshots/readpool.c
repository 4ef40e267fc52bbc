/*
 * readpool.c - read, hash and validate a tree's artifacts on N threads
 * (readpool.h). The caller's thread works too, with the caller's
 * validator; each other thread has its own (libxml2 parser state is per
 * thread: xmlcheck.h), all made before the first thread starts. Workers
 * take the next index from one atomic counter and write only their own
 * slots, so nothing else is shared; the joins publish the slots to the
 * caller.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "names.h"
#include "readpool.h"
#include "thread.h"

struct worker {
	const struct readpool_job *job;
	struct readpool_result *res;
	size_t *next;			/* shared: the next index to take */
	struct xmlcheck *xc;		/* this thread's */
	bool nomem;
	pthread_t thread;
	bool started;
};

unsigned
readpool_default_threads(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == -1)
		return 1;
	n = CPU_COUNT(&set);
	return n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
}

/* A copy of s into *out; -1 when out of memory. */
static int
keep(char **out, const char *s)
{
	return (*out = strdup(s)) == NULL ? -1 : 0;
}

/* The prev entry that holds e's bytes, if any. */
static bool
is_reused(const struct readpool_job *job, const struct manifest_entry *e,
    const char *sum)
{
	const struct manifest_entry *old;

	if (job->prev == NULL)
		return false;
	old = manifest_find(job->prev, e->type, e->name);
	return old != NULL && strcmp(old->xxh128, sum) == 0;
}

/* One artifact: read, hashed, judged; -1 only when out of memory. */
static int
judge(const struct readpool_job *job, struct xmlcheck *xc, size_t i,
    struct readpool_result *r)
{
	const struct manifest_entry *e = &job->cur->entries[i];
	struct snap_err why = SNAP_ERR_INIT;
	struct xmlcheck_result xr;
	char path[NAME_PATH_MAX], *buf = NULL;
	int rc = 0;

	name_path(e->type, e->name, path, sizeof(path));
	if (fsu_read_file_flags(job->srcfd, path, ARTIFACT_MAX_BYTES,
	    FSU_FOLLOW, &buf, &r->len, &why) == -1) {
		snap_err_prefix(&why, "%s", job->label);
		r->status = READPOOL_UNREADABLE;
		return keep(&r->why, why.msg);
	}
	hash_buf(buf, r->len, r->xxh128);
	if (is_reused(job, e, r->xxh128)) {
		r->status = READPOOL_REUSED;
	} else if (xc == NULL) {
		r->status = READPOOL_OK;
	} else if (xmlcheck_artifact(xc, e->type, e->name, buf, r->len, &xr,
	    &why) == -1) {
		r->status = READPOOL_INVALID;
		r->line = xr.line;
		rc = keep(&r->why, why.msg);
	} else {
		r->status = READPOOL_OK;
		rc = keep(&r->identity, xr.identity);
	}
	free(buf);
	return rc;
}

/* Takes indexes until none is left (or memory runs out). */
static void *
work(void *arg)
{
	struct worker *w = arg;
	size_t i;

	while (!w->nomem &&
	    (i = __atomic_fetch_add(w->next, 1, __ATOMIC_RELAXED)) <
	    w->job->cur->n)
		w->nomem = judge(w->job, w->xc, i, &w->res[i]) == -1;
	return NULL;
}

/* Starts workers 1.. (worker 0 is the caller); -1 with err. */
static int
start(struct worker *w, unsigned n, struct snap_err *err)
{
	unsigned i;
	int e;

	/* Every validator before any thread: xmlcheck_new() sets up
	 * libxml2's globals, which must not change under a running one. */
	for (i = 1; i < n; i++)
		if (w[0].job->xc != NULL && (w[i].xc = xmlcheck_new(err)) == NULL)
			return -1;
	for (i = 1; i < n; i++) {
		if ((e = thread_start_nosig(&w[i].thread, work, &w[i])) != 0)
			return snap_err_sys(err, e, "publish: a reading thread");
		w[i].started = true;
	}
	return 0;
}

int
readpool_run(const struct readpool_job *job, struct readpool_result *res,
    struct snap_err *err)
{
	unsigned n = job->threads < 1 ? 1 : job->threads >
	    READPOOL_THREADS_MAX ? READPOOL_THREADS_MAX : job->threads;
	struct worker *w;
	size_t next = 0;
	unsigned i;
	int rc;

	if ((size_t)n > job->cur->n)
		n = job->cur->n > 0 ? (unsigned)job->cur->n : 1;
	if ((w = calloc(n, sizeof(*w))) == NULL)
		return snap_err_set(err, "out of memory");
	for (i = 0; i < n; i++) {
		w[i].job = job;
		w[i].res = res;
		w[i].next = &next;
	}
	w[0].xc = job->xc;
	rc = start(w, n, err);
	if (rc == -1)	/* the started ones stop: join them */
		__atomic_store_n(&next, job->cur->n, __ATOMIC_RELAXED);
	else
		work(&w[0]);
	for (i = 1; i < n; i++) {
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
		xmlcheck_free(w[i].xc);
	}
	for (i = 0; i < n && rc == 0; i++)
		if (w[i].nomem)
			rc = snap_err_set(err, "out of memory");
	free(w);
	return rc;
}

void
readpool_results_free(struct readpool_result *res, size_t n)
{
	size_t i;

	for (i = 0; res != NULL && i < n; i++) {
		free(res[i].identity);
		free(res[i].why);
	}
	free(res);
}
