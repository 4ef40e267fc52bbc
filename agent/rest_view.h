/*
 * rest_view.h - what the REST endpoint answers to a request that passed
 * its checks, as data: a status, a content type and the bytes (the JSON of
 * a secondary's status, artifacts, health or a local change; a deployed
 * artifact; the metrics text; a primary's read-only three). No HTTP here:
 * rest.c checks, routes and sends what these return. They read (and, for
 * a change, change) the agent's state, which one thread owns: the event
 * loop's.
 *
 * Calling sequence: view_answer() (a secondary) or view_answer_source()
 * (a primary) with a matched route, or view_error() for a refusal; send
 * out->buf, then free it. Errors: a failed operation is an answer
 * (4xx/5xx with {"error": "..."}); -1 only when out of memory (nothing to
 * free).
 */
#ifndef REST_VIEW_H
#define REST_VIEW_H

#include <stddef.h>

#include "agent.h"
#include "metrics.h"
#include "rest.h"
#include "route.h"

struct view_answer {
	int status;
	const char *ctype;		/* static */
	char *buf;			/* malloc'ed, the caller's */
	size_t len;
};

/* The answer of a secondary to the request r (body: a PUT's, len bytes). */
int view_answer(struct agent *a, const struct route *r, const char *body,
    size_t len, struct view_answer *out);

/* The answer of a primary (its HTTP counters in m). */
int view_answer_source(const struct rest_source *src, const struct metrics *m,
    const struct route *r, struct view_answer *out);

/* {"error": msg} with status. */
int view_error(int status, const char *msg, struct view_answer *out);

#endif
