/*
 * redis_worker.c - the worker thread of redis_worker.h: one job slot
 * under a mutex, a condition variable to wake the worker, an eventfd to
 * wake the loop. The busy flag is the loop's alone (set by start, cleared
 * by reap); the mutex orders everything the job wrote before the eventfd
 * write against the loop's reads after its read.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "redis_worker.h"

struct rworker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*fn)(void *);		/* the job handed over, or NULL */
	void *arg;
	bool done;			/* fn returned (under mu) */
	bool stop;			/* under mu */
	bool busy;			/* the loop's: started, not reaped */
	int efd;
};

static void *
work(void *p)
{
	struct rworker *w = p;
	void (*fn)(void *);
	uint64_t one = 1;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->fn == NULL && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->fn == NULL)
			break;			/* stopping, nothing to do */
		fn = w->fn;
		pthread_mutex_unlock(&w->mu);
		fn(w->arg);
		pthread_mutex_lock(&w->mu);
		w->fn = NULL;
		w->done = true;
		/* An eventfd counter cannot overflow at one a job. */
		(void)!write(w->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct rworker *
rworker_new(struct snap_err *err)
{
	struct rworker *w;
	int e;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snap_err_sys(err, errno, "redis worker");
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snap_err_sys(err, errno, "redis worker: eventfd");
		goto fail;
	}
	if ((e = pthread_create(&w->thread, NULL, work, w)) != 0) {
		snap_err_sys(err, e, "redis worker: pthread_create");
		close(w->efd);
		goto fail;
	}
	return w;
fail:
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return NULL;
}

void
rworker_free(struct rworker *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);	/* after a running job returns */
	close(w->efd);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int
rworker_start(struct rworker *w, void (*fn)(void *), void *arg)
{
	if (w->busy)
		return -1;
	pthread_mutex_lock(&w->mu);
	w->fn = fn;
	w->arg = arg;
	w->done = false;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	w->busy = true;
	return 0;
}

bool
rworker_busy(const struct rworker *w)
{
	return w != NULL && w->busy;
}

int
rworker_fd(const struct rworker *w)
{
	return w != NULL ? w->efd : -1;
}

bool
rworker_reap(struct rworker *w)
{
	uint64_t n;
	bool done;

	if (w == NULL || !w->busy)
		return false;
	(void)!read(w->efd, &n, sizeof(n));
	pthread_mutex_lock(&w->mu);
	done = w->done;
	pthread_mutex_unlock(&w->mu);
	if (done)
		w->busy = false;
	return done;
}
