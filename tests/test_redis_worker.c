/*
 * test_redis_worker.c - unit tests of agent/redis_worker.c (a job handed
 * to the thread, its end seen through the eventfd, one job at a time,
 * free waiting for a running job) and of redis_interrupt() (agent/redis.c)
 * cutting short a call blocked on a server that never answers: a local
 * socket that listens and never accepts.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "daemon.h"
#include "redis.h"
#include "redis_worker.h"

/* Waits (at most ms) for w's job to be done; reaps it. */
static bool
reaped_within(struct rworker *w, int ms)
{
	struct pollfd p = { .fd = rworker_fd(w), .events = POLLIN };
	int64_t end = daemon_now_ms() + ms;

	while (daemon_now_ms() < end) {
		if (poll(&p, 1, 50) == 1 && rworker_reap(w))
			return true;
	}
	return false;
}

static void
set_one(void *arg)
{
	*(int *)arg = 1;
}

static void
test_job_runs(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct rworker *w = rworker_new(&err);
	int done = 0;

	(void)state;
	assert_non_null(w);
	assert_false(rworker_busy(w));
	assert_false(rworker_reap(w));		/* nothing started */
	assert_int_equal(rworker_start(w, set_one, &done), 0);
	assert_true(rworker_busy(w));
	assert_true(reaped_within(w, 5000));
	assert_int_equal(done, 1);
	assert_false(rworker_busy(w));
	rworker_free(w);
	rworker_free(NULL);
	assert_false(rworker_busy(NULL));
	assert_int_equal(rworker_fd(NULL), -1);
}

/* Blocks until a byte arrives on the pipe whose read end is *arg. */
static void
wait_pipe(void *arg)
{
	char c;

	(void)!read(*(int *)arg, &c, 1);
}

static void
test_one_at_a_time(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct rworker *w = rworker_new(&err);
	int fds[2], other = 0;

	(void)state;
	assert_non_null(w);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(rworker_start(w, wait_pipe, &fds[0]), 0);
	assert_int_equal(rworker_start(w, set_one, &other), -1);
	assert_false(reaped_within(w, 100));	/* still blocked */
	assert_true(rworker_busy(w));
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_true(reaped_within(w, 5000));
	assert_int_equal(other, 0);		/* the refused one never ran */
	assert_int_equal(rworker_start(w, set_one, &other), 0);
	rworker_free(w);			/* waits for it */
	assert_int_equal(other, 1);
	close(fds[0]);
	close(fds[1]);
}

struct ping {
	struct redis *r;
	redisReply *rep;
	struct snap_err err;
};

static void
ping(void *arg)
{
	struct ping *p = arg;
	const char *argv[1] = { "PING" };

	p->rep = redis_cmd(p->r, 1, argv, NULL, &p->err);
}

static void
test_interrupt(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct snap_err err = SNAP_ERR_INIT;
	struct ping p = { .err = SNAP_ERR_INIT };
	struct rworker *w;
	struct config c;
	int64_t t0;
	int ls;

	(void)state;
	/* A server that takes connections (the backlog) and never answers. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((ls = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &len), 0);
	config_defaults(&c, CONFIG_SECONDARY);
	snprintf(c.redis_url, sizeof(c.redis_url), "redis://127.0.0.1:%u",
	    ntohs(sa.sin_port));
	assert_non_null(p.r = redis_new(&c, &err));
	assert_non_null(w = rworker_new(&err));
	assert_int_equal(rworker_start(w, ping, &p), 0);
	assert_false(reaped_within(w, 300));	/* PING waits for an answer */
	t0 = daemon_now_ms();
	redis_interrupt(p.r);
	assert_true(reaped_within(w, 2000));	/* not the 10 s limit */
	assert_true(daemon_now_ms() - t0 < 2000);
	assert_null(p.rep);
	assert_int_equal(p.err.code, SNAP_E_IO);
	/* Interrupted for good: the next call does not connect. */
	assert_int_equal(redis_connect(p.r, &err), -1);
	assert_non_null(strstr(err.msg, "stopping"));
	rworker_free(w);
	redis_free(p.r);
	close(ls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_job_runs),
		cmocka_unit_test(test_one_at_a_time),
		cmocka_unit_test(test_interrupt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
