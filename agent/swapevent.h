/*
 * swapevent.h - what a swap of DEPLOY_ROOT/current tells the world, and
 * the one-slot mailbox each sink (hook.c's command, webhook.c's POST)
 * takes its events from.
 *
 * A sink never queues: while it is busy with one event (a command running,
 * a POST waiting to be retried) only the latest swap waits, and each event
 * it replaces is counted. Merged that way the facts stay consistent: an
 * event taken from the slot reports as `previous` the version its sink
 * last told of (not the version before the last swap), so a receiver
 * always sees from -> to, and as `changed` the files of every swap merged
 * into it.
 *
 * Calling sequence (the slot has no lock: a caller that shares it between
 * threads holds its own around each call):
 *	struct swap_slot s = SWAP_SLOT_INIT;
 *	swap_slot_put(&s, &ev);		at each swap: replaces what waits
 *	if (swap_slot_take(&s, &ev)) {	when the sink is free
 *		... tell of ev ...
 *		swap_slot_told(&s, ev.version);	once told (run, delivered)
 *	}
 *	swap_slot_putback(&s, &ev);	ev was not told and a newer event
 *					waits: it carries ev's changes
 */
#ifndef SWAPEVENT_H
#define SWAPEVENT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

/* Why current was swapped: the operation that did it. */
enum swap_reason {
	SWAP_SYNC,		/* a new upstream version applied */
	SWAP_REDEPLOY,		/* the local operations (local.c) */
	SWAP_UNDEPLOY,
	SWAP_DEPLOY_LOCAL,
	SWAP_RECONCILE,		/* rebuilt at start (overrides, labels) */
	SWAP_FORGET,		/* a local override dropped */
};

struct swap_event {
	enum swap_reason reason;
	uint64_t version;	/* the upstream version now live */
	uint64_t previous;	/* live before the swap (0: none) */
	uint64_t changed;	/* artifact files written + removed */
	int64_t at;		/* wall clock of the swap, unix seconds */
	char release[PATH_MAX + 64];	/* the new release, absolute:
					 * DEPLOY_ROOT/releases/vV-rS */
};

struct swap_slot {
	struct swap_event ev;	/* what waits, when pending */
	bool pending;
	bool told;		/* told_version is set */
	uint64_t told_version;	/* the version the sink last told of */
	uint64_t coalesced;	/* events merged into a later one */
};

#define SWAP_SLOT_INIT { .pending = false }

/* "sync", "redeploy", "undeploy", "deploy-local", "reconcile",
 * "forget". */
const char *swap_reason_name(enum swap_reason r);

void swap_slot_put(struct swap_slot *s, const struct swap_event *ev);
/* The waiting event, its previous version the one last told of; false
 * when none waits. */
bool swap_slot_take(struct swap_slot *s, struct swap_event *out);
void swap_slot_told(struct swap_slot *s, uint64_t version);
void swap_slot_putback(struct swap_slot *s, const struct swap_event *ev);

#endif
