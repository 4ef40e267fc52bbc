/*
 * etcd.h - the few etcd v3 calls failover needs (ha = etcd), through
 * etcd's JSON gateway (/v3/...) with libcurl: a lease, a campaign for the
 * leader key, a read of it, and a put fenced on still holding it.
 *
 * Keys and values travel in base64, 64-bit numbers as JSON strings; proto3
 * JSON leaves out what is false or zero ("succeeded" missing means false).
 * Every call tries the URLs in order until one answers, each within the
 * handle's timeout; nothing is retried behind the caller's back. Like
 * snapshots/, nothing here logs: 0 / -1 with err.
 *
 * The answers are outside input: etcd_parse_*() read them (and are what
 * fuzz/fuzz_etcd.c feeds).
 */
#ifndef ETCD_H
#define ETCD_H

#include <stddef.h>
#include <stdint.h>

#include "snap_err.h"

struct etcd;

#define ETCD_VALUE_MAX 256

/* urls: URL[,URL...]; timeout_ms for each request. NULL with err. */
struct etcd *etcd_new(const char *urls, long timeout_ms, struct snap_err *err);
void etcd_free(struct etcd *e);

/* A lease of ttl_s seconds: *id. */
int etcd_lease_grant(struct etcd *e, unsigned ttl_s, int64_t *id,
    struct snap_err *err);
/* One keepalive: *ttl the seconds left, 0 when the lease is gone. */
int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl,
    struct snap_err *err);
int etcd_lease_revoke(struct etcd *e, int64_t id, struct snap_err *err);

/*
 * Campaign: if `key` does not exist, put value there attached to lease:
 * 0, *rev its create revision (the epoch). 1 when someone holds it:
 * *rev its create revision, holder its value. -1 with err.
 */
int etcd_campaign(struct etcd *e, const char *key, const char *value,
    int64_t lease, int64_t *rev, char holder[ETCD_VALUE_MAX],
    struct snap_err *err);
/* Reads key: 0 (*rev its create revision, value), 1 none, -1. */
int etcd_get(struct etcd *e, const char *key, int64_t *rev,
    char value[ETCD_VALUE_MAX], struct snap_err *err);
/* Puts value at key only if `leader`'s create revision is still rev:
 * 0 done, 1 not the holder (nothing written), -1 not known. */
int etcd_put_if_leader(struct etcd *e, const char *leader, int64_t rev,
    const char *key, const char *value, struct snap_err *err);

/* --- the answers' readers (exposed for the fuzzer) --- */

/* A txn answer: *ok its "succeeded", *rev the header's revision, and of a
 * range in its first response (a lost campaign) the first kv's create
 * revision and value (*kv_rev 0: none). */
int etcd_parse_txn(const char *buf, size_t len, int *ok, int64_t *rev,
    int64_t *kv_rev, char value[ETCD_VALUE_MAX], struct snap_err *err);
/* A range answer: the first kv's create revision (0: no key) and value. */
int etcd_parse_range(const char *buf, size_t len, int64_t *kv_rev,
    char value[ETCD_VALUE_MAX], struct snap_err *err);
/* A lease grant or keepalive answer: the lease's ID and TTL (0: gone). */
int etcd_parse_lease(const char *buf, size_t len, int64_t *id, int64_t *ttl,
    struct snap_err *err);

#endif
