/*
 * pinned.h - a primary honouring pin.json (snapshots/pin.h): while the
 * sync root is pinned, no source change is published; the primary that
 * publishes (the leader, with ha) makes the latest version hold the pinned
 * version's content first, publishing it again if need be. So a rollback
 * sticks, whichever primary leads next.
 *
 * Calling sequence (agent/primary.c): PINNED_INIT; in the loop
 * pinned_look() when pinned_due() (true: the pin came, went or moved -
 * publish now), the poll timeout through pinned_timeout_ms(); in a publish,
 * pinned_hold() first (true: pinned, publish nothing); pinned_status() and
 * pinned_render_metrics() for the endpoint.
 */
#ifndef PINNED_H
#define PINNED_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "config.h"
#include "pin.h"
#include "snap.h"

struct pinned {
	bool on;			/* a pin holds */
	struct pin pin;
	int64_t due_ms;			/* the next look (monotonic) */
	uint64_t checked;		/* a latest version found to hold the
					 * pin's content (0: none) */
	char error[sizeof(((struct snap_err *)0)->msg)];	/* said once */
};

#define PINNED_INIT { .on = false, .due_ms = 0, .checked = 0, .error = "" }

bool pinned_due(const struct pinned *pn, int64_t now);
int pinned_timeout_ms(const struct pinned *pn, int timeout, int64_t now);
/* Reads pin.json; true when the pin came, went or moved. */
bool pinned_look(struct pinned *pn, const struct config *c);
/* false: not pinned, publish. true: pinned; the latest version was made to
 * hold the pin's content (with o: *latest is then the version published).
 */
bool pinned_hold(struct pinned *pn, const struct config *c,
    const struct snap_publish_opts *o, uint64_t *latest);
void pinned_status(const struct pinned *pn, json_t *obj);
void pinned_render_metrics(const struct pinned *pn, FILE *f);

/* The commands' part (artsync pin, unpin, rollback, publish). */

/* Pins c's sync root to `version` (0: the latest), which must be a
 * retained version that verifies (with c's key) and not above the latest.
 * *pinned gets the version. 0 or -1 with err. */
int pinned_set(const struct config *c, uint64_t version, uint64_t *pinned,
    struct snap_err *err);
/* Removes the pin (none is no error). 0 or -1 with err. */
int pinned_clear(const struct config *c, struct snap_err *err);
/* The pin of c's sync root: 0 (*p filled), 1 none, -1 with err. */
int pinned_get(const struct config *c, struct pin *p, struct snap_err *err);

/* What the commands do with these; each prints what it did or why not
 * (stdout, stderr) and returns an exit code. */

/* publish: 0 may go on (a pin removed first with unpin); 1 refused: with
 * failover (a second publisher beside the leader, its states without an
 * epoch), or pinned. */
int pinned_publish_allowed(const struct config *c, bool unpin);
/* rollback --to: pins first; with failover that is all (the leader
 * publishes), an exit code; -1: go on and publish (*was: pinned_get()'s
 * answer before, for pinned_rollback_failed()). */
int pinned_rollback_begin(const struct config *c, uint64_t to, int *was);
void pinned_rollback_failed(const struct config *c, int was);
/* pin [VERSION] (on), unpin. */
int pinned_command(const struct config *c, bool on, uint64_t version);

#endif
