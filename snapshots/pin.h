/*
 * pin.h - pin.json in the sync root: an operator's decision that every
 * primary honours (docs/failover.md). While a pin is there, no primary
 * publishes source changes; the leading one (or the only one) makes sure
 * the latest version holds the pinned version's content, publishing it
 * again as a new version if need be: a rollback that sticks whichever
 * primary leads.
 *
 *	{ "format": 1, "cluster_id", "version", "pinned_at", "by" }
 *
 * Written atomically (temp, fsync, rename, fsync the root), removed with
 * unlink and an fsync of the root; never reached through a symlink. Its
 * reader takes hostile bytes (fuzz/fuzz_epoch.c reads them too).
 */
#ifndef PIN_H
#define PIN_H

#include <stddef.h>
#include <stdint.h>

#include "snap_err.h"
#include "state.h"

#define PIN_FILE "pin.json"

struct pin {
	char cluster_id[STATE_ID_MAX];
	uint64_t version;		/* the content to keep serving */
	int64_t pinned_at;		/* wall clock, for people */
	char by[STATE_ID_MAX];		/* who: a node id or a user name */
};

int pin_to_json(const struct pin *p, char **out, size_t *len,
    struct snap_err *err);
int pin_from_json(const char *buf, size_t len, struct pin *p,
    struct snap_err *err);
/* 0, 1 when there is no pin, -1 with err. */
int pin_read(int rootfd, struct pin *p, struct snap_err *err);
int pin_write(int rootfd, const struct pin *p, struct snap_err *err);
/* 0 (also when there was none) or -1 with err. */
int pin_remove(int rootfd, struct snap_err *err);

#endif
