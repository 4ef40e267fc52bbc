/*
 * rest_budget.c - deadlines and fair shares for the REST endpoint's
 * connections (see rest_budget.h).
 *
 * One list, ordered by when each connection's phase began (a phase change
 * moves it to the end), so that "the oldest" is the first one met. Its
 * length is bounded by libmicrohttpd's connection limit; every operation
 * is at most one walk of it.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "rest_budget.h"

void
budget_init(struct budget *b)
{
	memset(b, 0, sizeof(*b));
	b->per_client = BUDGET_PER_CLIENT;
	b->total = BUDGET_TOTAL;
}

static void
unlink_slot(struct budget *b, struct budget_slot *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		b->head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	else
		b->tail = s->prev;
	s->prev = s->next = NULL;
}

static void
append_slot(struct budget *b, struct budget_slot *s)
{
	s->prev = b->tail;
	s->next = NULL;
	if (b->tail != NULL)
		b->tail->next = s;
	else
		b->head = s;
	b->tail = s;
}

static void
cut(struct budget *b, struct budget_slot *s, enum budget_cut why)
{
	/* shutdown, not close: the fd stays libmicrohttpd's to close. */
	if (s->fd >= 0)
		(void)shutdown(s->fd, SHUT_RDWR);
	s->cut = true;
	b->open--;
	b->cuts[why]++;
}

/* The client a peer counts as: an IPv4 address (a mapped one too), or an
 * IPv6 /64, which one host may hold whole. */
static void
set_client(struct budget_slot *s, const struct sockaddr *peer)
{
	memset(s->client, 0, sizeof(s->client));
	s->family = 0;
	if (peer != NULL && peer->sa_family == AF_INET) {
		s->family = AF_INET;
		memcpy(s->client, &((const struct sockaddr_in *)(const void *)
		    peer)->sin_addr, 4);
	} else if (peer != NULL && peer->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)
		    (const void *)peer)->sin6_addr;

		s->family = IN6_IS_ADDR_V4MAPPED(a) ? AF_INET : AF_INET6;
		memcpy(s->client, IN6_IS_ADDR_V4MAPPED(a) ? a->s6_addr + 12 :
		    a->s6_addr, s->family == AF_INET ? 4 : 8);
	}
}

static bool
same_client(const struct budget_slot *x, const struct budget_slot *y)
{
	return x->family == y->family &&
	    memcmp(x->client, y->client, sizeof(x->client)) == 0;
}

/* The open connections of s's client (s included). */
static size_t
count_client(const struct budget *b, const struct budget_slot *s)
{
	const struct budget_slot *p;
	size_t n = 0;

	for (p = b->head; p != NULL; p = p->next)
		n += !p->cut && same_client(p, s);
	return n;
}

/* The one to cut for newcomer s: the oldest open waiting connection (of
 * s's client when `mine`), else the oldest open busy one; never s. */
static struct budget_slot *
victim(const struct budget *b, const struct budget_slot *s, bool mine)
{
	struct budget_slot *p, *busy = NULL;

	for (p = b->head; p != NULL; p = p->next) {
		if (p == s || p->cut || (mine && !same_client(p, s)))
			continue;
		if (!p->busy)
			return p;
		if (busy == NULL)
			busy = p;
	}
	return busy;
}

void
budget_open(struct budget *b, struct budget_slot *s, int fd,
    const struct sockaddr *peer, int64_t now_ms)
{
	struct budget_slot *v;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	set_client(s, peer);
	s->deadline_ms = now_ms + BUDGET_HEADER_MS;
	append_slot(b, s);
	b->open++;
	if (count_client(b, s) > b->per_client &&
	    (v = victim(b, s, true)) != NULL)
		cut(b, v, BUDGET_CUT_CLIENT);
	if (b->open > b->total && (v = victim(b, s, false)) != NULL)
		cut(b, v, BUDGET_CUT_TOTAL);
}

static void
phase(struct budget *b, struct budget_slot *s, bool busy, int64_t now_ms)
{
	if (s->cut)
		return;
	unlink_slot(b, s);
	append_slot(b, s);
	s->kept = !busy;
	s->busy = busy;
	s->deadline_ms = now_ms + (busy ? BUDGET_REQUEST_MS : BUDGET_HEADER_MS);
}

void
budget_busy(struct budget *b, struct budget_slot *s, int64_t now_ms)
{
	phase(b, s, true, now_ms);
}

void
budget_idle(struct budget *b, struct budget_slot *s, int64_t now_ms)
{
	phase(b, s, false, now_ms);
}

void
budget_close(struct budget *b, struct budget_slot *s)
{
	if (!s->cut)
		b->open--;
	unlink_slot(b, s);
}

size_t
budget_expire(struct budget *b, int64_t now_ms)
{
	struct budget_slot *p;
	size_t n = 0;

	for (p = b->head; p != NULL; p = p->next)
		if (!p->cut && p->deadline_ms <= now_ms) {
			cut(b, p, p->kept ? BUDGET_CUT_IDLE : BUDGET_CUT_SLOW);
			n++;
		}
	return n;
}

int64_t
budget_next_ms(const struct budget *b)
{
	const struct budget_slot *p;
	int64_t next = INT64_MAX;

	for (p = b->head; p != NULL; p = p->next)
		if (!p->cut && p->deadline_ms < next)
			next = p->deadline_ms;
	return next;
}
