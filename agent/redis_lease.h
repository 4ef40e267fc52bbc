/*
 * redis_lease.h - fencing in the store (ha = redis): one primary at a time
 * may commit, and a primary that lost its turn cannot commit late.
 *
 * The lease is P:<cluster>:lease = "<epoch> <node_id>", with a time to
 * live (redis_lease_ms); the epoch comes from INCR P:<cluster>:epoch, so
 * each new holder has a higher one than any before. A holder renews it
 * every third of its life. The commit script (redis_push.h) checks that
 * the lease still reads "<epoch> <node_id>" in the same atomic step that
 * sets state.json: a primary paused past its lease (a GC stop, a frozen
 * VM) and replaced finds its commit refused ("fenced"), whatever it
 * believes.
 */
#ifndef REDIS_LEASE_H
#define REDIS_LEASE_H

#include <stdint.h>

#include "redis.h"
#include "snap_err.h"

/*
 * Takes the lease for node, or renews it when node holds it at epoch
 * *epoch (0: not held). On return *epoch is the epoch node holds now (a
 * new one when the lease had lapsed or was someone else's and expired),
 * or 0 when another node holds it: its "<epoch> <node>" in holder
 * (holderlen bytes). 0, or -1 with err (the store cannot be reached).
 */
int redis_lease_take(struct redis *r, const char *node, unsigned ttl_ms,
    uint64_t *epoch, char *holder, size_t holderlen, struct snap_err *err);

/* Gives it up if node holds it at epoch (at stop: a standby takes over at
 * once rather than after the time to live). */
void redis_lease_release(struct redis *r, const char *node, uint64_t epoch);

#endif
