/*
 * rest.h - the secondary's local REST endpoint (libmicrohttpd), run inside
 * the agent's own event loop: MHD in epoll mode hands us one fd to poll and
 * does its work when we call rest_run(). No thread.
 *
 * Routes and answers: route.h and the README. Mutating routes need
 * "Authorization: Bearer <token>" when the agent has a token; bodies over
 * max_body_bytes get 413; errors are {"error": "..."}.
 */
#ifndef REST_H
#define REST_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "agent.h"
#include "snap_err.h"

struct rest;

/* Binds a->c->listen and starts serving a secondary; NULL with err. */
struct rest *rest_new(struct agent *a, struct snap_err *err);

/*
 * What a primary serves: GET /api/v1/status, /metrics, /healthz, /livez
 * and /readyz, read only (every other route is 404). The callbacks run in
 * the loop's thread.
 */
struct rest_source {
	const char *listen;
	json_t *(*status)(void *arg);		/* a new reference */
	void (*metrics)(void *arg, FILE *f);	/* HTTP counters are added */
	bool (*healthy)(void *arg, char *why, size_t len);
	/* true (and *why) when healthy but degraded: /healthz answers 200
	 * with "degraded": true and the reason. NULL: never. */
	bool (*degraded)(void *arg, char *why, size_t len);
	void *arg;
	/* /readyz: true, or false and *why. NULL: healthy's answer. */
	bool (*ready)(void *arg, char *why, size_t len);
};

struct rest *rest_new_source(const struct rest_source *src,
    struct snap_err *err);
void rest_free(struct rest *r);		/* NULL is a no-op */

int rest_fd(struct rest *r);		/* poll for POLLIN */
int rest_timeout_ms(struct rest *r);	/* -1: none pending */
void rest_run(struct rest *r);		/* after the fd polled readable */
unsigned rest_port(struct rest *r);	/* the bound port */

#endif
