/*
 * rest_budget.h - the REST endpoint's connections, bounded in time and per
 * client, so that slow or many connections cannot starve the others: a
 * health check above all, which comes from 127.0.0.1 like any local
 * attacker and must still be answered.
 *
 * Each connection has a slot, in one of two phases. Waiting: for the
 * headers of a request (a new connection, or a kept-alive one between two
 * requests); it must have them all within BUDGET_HEADER_MS of the phase's
 * start, however the bytes dribble in (libmicrohttpd's own timeout starts
 * again at every byte). Busy: headers in, until the answer is sent; within
 * BUDGET_REQUEST_MS. A connection past its deadline is cut. And when a
 * connection opens over a budget - more than BUDGET_PER_CLIENT open from
 * its client (an IPv4 address, an IPv6 /64), or more than BUDGET_TOTAL in
 * all - the oldest waiting connection of that client (of all) is cut to
 * make room, the oldest busy one only when none waits. A newcomer is never
 * the one cut: a health checker, which sends its request at once, gets in
 * and is answered before it is anyone's oldest.
 *
 * Cutting is shutdown(2) of the socket, never close: the fd stays
 * libmicrohttpd's, which then sees a client that went away and closes it
 * (and only then calls budget_close()).
 *
 * Calling sequence: budget_init(); budget_open() when a connection
 * starts, budget_busy() when its request's headers are in, budget_idle()
 * when its answer is sent, budget_close() when it is gone; budget_expire()
 * every pass of the event loop and budget_next_ms() for its timeout. The
 * slots are the caller's memory, linked here; no call fails or allocates.
 * Times are monotonic milliseconds, given by the caller.
 */
#ifndef REST_BUDGET_H
#define REST_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define BUDGET_HEADER_MS 5000		/* a request's headers, at most */
#define BUDGET_REQUEST_MS 60000		/* headers in to answer sent */
#define BUDGET_PER_CLIENT 64		/* open connections of one client */
#define BUDGET_TOTAL 384		/* open connections in all */

/* Why connections were cut (counted in struct budget). */
enum budget_cut {
	BUDGET_CUT_SLOW,		/* past a deadline */
	BUDGET_CUT_IDLE,		/* kept alive, no next request in time */
	BUDGET_CUT_CLIENT,		/* over its client's budget */
	BUDGET_CUT_TOTAL,		/* over the total */
	BUDGET_CUT_COUNT,
};

struct budget_slot {
	struct budget_slot *prev, *next;	/* by phase start, oldest
						 * first */
	int fd;				/* the socket; -1: none (tests) */
	int family;			/* the client: AF_INET or AF_INET6 */
	unsigned char client[8];	/* IPv4 address, or IPv6 /64 */
	int64_t deadline_ms;
	bool busy;
	bool kept;			/* waiting after an answer */
	bool cut;			/* shut down, not yet closed */
};

struct budget {
	struct budget_slot *head, *tail;
	size_t open;			/* slots not cut */
	unsigned per_client, total;	/* the limits (tests lower them) */
	unsigned long long cuts[BUDGET_CUT_COUNT];
};

void budget_init(struct budget *b);

/* A new connection on fd from peer (its address; NULL: unknown). May cut
 * another connection to make room. */
void budget_open(struct budget *b, struct budget_slot *s, int fd,
    const struct sockaddr *peer, int64_t now_ms);

/* Its request's headers are in; its answer is sent. */
void budget_busy(struct budget *b, struct budget_slot *s, int64_t now_ms);
void budget_idle(struct budget *b, struct budget_slot *s, int64_t now_ms);

/* It is gone (cut or not): the slot is unlinked, the caller frees it. */
void budget_close(struct budget *b, struct budget_slot *s);

/* Cuts every connection past its deadline; returns how many. */
size_t budget_expire(struct budget *b, int64_t now_ms);

/* The earliest deadline of an open connection; INT64_MAX when none. */
int64_t budget_next_ms(const struct budget *b);

#endif
