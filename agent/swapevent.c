/*
 * swapevent.c - the facts of a swap and their one-slot mailbox (see
 * swapevent.h).
 */
#include <assert.h>

#include "swapevent.h"

const char *
swap_reason_name(enum swap_reason r)
{
	static const char *const names[] = { "sync", "redeploy", "undeploy",
	    "deploy-local", "reconcile", "forget" };

	assert((unsigned)r < sizeof(names) / sizeof(names[0]));
	return names[r];
}

void
swap_slot_put(struct swap_slot *s, const struct swap_event *ev)
{
	struct swap_event waited;

	if (!s->pending) {
		s->ev = *ev;
		s->pending = true;
		return;
	}
	/* What waited will never be told on its own: ev carries it. */
	waited = s->ev;
	s->ev = *ev;
	swap_slot_putback(s, &waited);
}

bool
swap_slot_take(struct swap_slot *s, struct swap_event *out)
{
	if (!s->pending)
		return false;
	*out = s->ev;
	/* From what the receiver was last told, whatever was merged since. */
	if (s->told)
		out->previous = s->told_version;
	s->pending = false;
	return true;
}

void
swap_slot_told(struct swap_slot *s, uint64_t version)
{
	s->told = true;
	s->told_version = version;
}

void
swap_slot_putback(struct swap_slot *s, const struct swap_event *ev)
{
	if (!s->pending) {
		s->ev = *ev;
		s->pending = true;
		return;
	}
	/* From where ev started: the receiver knows neither of them. */
	s->ev.previous = ev->previous;
	s->ev.changed += ev->changed;
	s->coalesced++;
}
