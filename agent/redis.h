/*
 * redis.h - Redis as a sync root: the URL, the connection, the key names.
 *
 * A sync root may be redis://[USER:PASSWORD@]HOST:PORT[/DB][?prefix=P]
 * (docs/redis.md). The store mirrors the sync-root file layout, one key per
 * file, under a per-cluster prefix:
 *	P:<cluster>:snapshots/<name>	immutable blobs, written once (SET NX)
 *	P:<cluster>:state.json		the latest state, written last
 *	P:<cluster>:version		its version, beside it, same script
 *	P:<cluster>:timestamp.sig	a signing primary's renewed expiry
 *	P:<cluster>:notify		the channel: "<version>" on each commit
 * P is "artsync" unless ?prefix= says otherwise. Nothing outside
 * "P:<cluster>:" is read, written or deleted.
 *
 * The primary publishes into a local directory (redis_stage) exactly as to
 * a directory sync root, then uploads (redis_push.h); a secondary mirrors
 * the store into a local directory (redis_cache) that it then reads as its
 * sync root (redis_fetch.h): every check of the directory reader applies.
 *
 * Calling sequence: redis_config_resolve() once the settings are known
 * (it moves a redis:// sync_root into c->redis_url and points sync_root
 * at the local directory); redis_new(); then redis_cmd*() as needed (each
 * connects when not connected; an I/O error drops the connection, and the
 * next call connects afresh); redis_free(). One thread at a time uses a
 * handle (a daemon's worker, redis_worker.h), except redis_interrupt().
 * This module never logs: it
 * returns -1 (NULL) and fills err.
 */
#ifndef REDIS_H
#define REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <hiredis/hiredis.h>

#include "config.h"
#include "snap_err.h"

#define REDIS_HOST_MAX 256
#define REDIS_PREFIX_MAX 64
#define REDIS_SECRET_MAX 256
#define REDIS_KEY_MAX 512
#define REDIS_DEFAULT_PREFIX "artsync"

struct redis_url {
	char host[REDIS_HOST_MAX];
	unsigned port;
	unsigned db;
	char user[REDIS_SECRET_MAX];		/* "": none (AUTH PASSWORD) */
	char password[REDIS_SECRET_MAX];	/* "": none */
	char prefix[REDIS_PREFIX_MAX];
	bool tls;				/* rediss:// (refused: docs) */
};

/* Whether s names a Redis sync root (redis:// or rediss://). */
bool redis_is_url(const char *s);

/*
 * Parses redis://[USER:PASSWORD@]HOST:PORT[/DB][?prefix=P]. HOST is a
 * name, an IPv4 address or [V6]; PORT 1..65535; DB 0..15 (default 0);
 * P 1..63 bytes of [A-Za-z0-9._-] (default "artsync"). rediss:// parses
 * with tls set (the caller refuses it: this build has no TLS). Any other
 * form, or any byte out of place, is -1 with err; the message never
 * repeats the password.
 */
int redis_url_parse(const char *s, struct redis_url *u, struct snap_err *err);

/* Sets a Redis key of a role's section (primary: redis_stage, secondary:
 * redis_cache; both: redis_password_file, redis_sentinels, redis_master).
 * 0, -1 with err, or 1 when key is none of these. */
int redis_config_set(struct config *c, bool primary, const char *key,
    const char *value, struct snap_err *err);

/* If c->sync_root is a Redis URL: checks it, keeps it in c->redis_url and
 * sets c->sync_root to the local directory (c->redis_dir, or its
 * default). 0 (also when it is none), or -1 with err. */
int redis_config_resolve(struct config *c, struct snap_err *err);

/* -n: what the Redis settings say (never the password), a line a fact. */
void redis_describe(const struct config *c, FILE *f);

/* Reads a password file: refused when group or others may access it;
 * trailing white space removed; 1..255 bytes. 0 or -1 with err. */
int redis_read_password(const char *path, char *out, size_t outlen,
    struct snap_err *err);

struct redis;

/* A handle for c's store (not yet connected). NULL with err (a bad URL,
 * a password file that cannot be read). */
struct redis *redis_new(const struct config *c, struct snap_err *err);
void redis_free(struct redis *r);	/* NULL is a no-op; disconnects */

/* Connects (Sentinel: asks for the master first), AUTH, SELECT. A no-op
 * when connected. 0 or -1 with err (code SNAP_E_IO). */
int redis_connect(struct redis *r, struct snap_err *err);
bool redis_is_connected(const struct redis *r);
void redis_disconnect(struct redis *r);
/* "HOST:PORT" of the server in use (or last tried). */
const char *redis_where(const struct redis *r);
/* Connections made so far (1 after the first). */
uint64_t redis_connects(const struct redis *r);

/* The key of `name` (a sync-root relative path, "state.json",
 * "snapshots/7.tar.zst", or "notify") for this cluster. */
void redis_key(const struct redis *r, const char *name, char *out,
    size_t len);
/* "P:<cluster>:" (what every key of this cluster starts with). */
const char *redis_key_prefix(const struct redis *r);

/*
 * Runs one command (argv form; binary-safe). Returns the reply (freed by
 * the caller with freeReplyObject) or NULL with err: not connected and
 * cannot connect, an I/O error (the connection is dropped), or an error
 * reply (err holds its text; code SNAP_E_OTHER).
 */
redisReply *redis_cmd(struct redis *r, int argc, const char **argv,
    const size_t *argvlen, struct snap_err *err);

/* A Sentinel's answer to SENTINEL get-master-addr-by-name: exactly two
 * strings, a host of [A-Za-z0-9.-_:] and a port 1..65535, into host
 * (hostlen bytes) and *port. 0, or -1 for anything else. */
int redis_sentinel_addr(const redisReply *rep, char *host, size_t hostlen,
    unsigned *port);

/* A new connection to the same server, subscribed to the key of `name`
 * ("notify"): owned by the caller (redisFree), read when its fd polls
 * readable. NULL with err. */
redisContext *redis_subscribe(struct redis *r, const char *name,
    struct snap_err *err);

/* May be called from another thread than the one using r: shuts down
 * r's sockets, so that a call blocked on a stalled server returns at
 * once with an error, and makes every later connect fail ("stopping").
 * For a daemon's stop (redis_worker.h); r is then only fit to free. */
void redis_interrupt(struct redis *r);

#endif
