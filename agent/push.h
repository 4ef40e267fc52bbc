/*
 * push.h - rsync push: the primary mirrors each new version to every
 * configured target by running the real rsync binary.
 *
 * For a version V, each target gets two transfers, in order:
 *	1. SYNC_ROOT/snapshots/ -> TARGET/snapshots/, only the files a
 *	   publisher writes (pushfilter.h): names snap_file_version() accepts,
 *	   regular files within their size limit, of versions up to V. Every
 *	   other name is neither sent nor deleted there (an NFS client's
 *	   .nfsXXXX, rsync's own temps, anything an operator keeps there);
 *	   names of ours the primary no longer has are deleted (retention);
 *	2. SYNC_ROOT/snapshots/V.state.json -> TARGET/state.json, always
 *	   sent (--ignore-times: rsync's size+mtime check could skip it);
 *	3. SYNC_ROOT/timestamp.sig, when there is one (a signing primary's
 *	   renewed expiry: fresh.h), also alone each time it is renewed.
 * rsync writes each file to a temp name (in the same directory: options
 * that change that are refused, pushconf.h) and renames it, and the second
 * transfer sends V's own state copy, not state.json: a publish racing the
 * push cannot make a target name a snapshot it does not hold. rsync runs
 * in snapshots/ as the primary opened it (no symlink followed there,
 * beneath.h): a symlink in its place fails the push, naming it.
 *
 * A failed push is retried with exponential backoff (retry_ms, times
 * retry_factor, at most retry_max_ms; retry_max_tries, 0 = forever). A
 * target that comes back gets the latest version, not every missed one.
 * Children run while the primary's loop goes on: their stderr pipes are
 * polled with the rest, and exit codes become readable errors; what a
 * child wrote passes through snap_err_sanitize() before it is logged or
 * shown in status.
 */
#ifndef PUSH_H
#define PUSH_H

#include <poll.h>
#include <stdio.h>

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "snap_err.h"

struct pusher;

/* Checks every target (form and no option injection). NULL with err. */
struct pusher *push_new(const struct config *c, struct snap_err *err);
void push_free(struct pusher *p);		/* NULL is a no-op; kills children */

/* A target string is rsync://HOST[:PORT]/MODULE[/PATH], [USER@]HOST:PATH
 * or an absolute local path without ':' (how rsync reaches each:
 * pushconf.h). 0 or -1 with err. */
int push_check_target(const char *t, struct snap_err *err);

/* Version `version` is the latest: every target should get it. */
void push_want(struct pusher *p, uint64_t version);

/* timestamp.sig was renewed (fresh.h): every target that holds the
 * latest version gets that file alone (a third stage, after state.json,
 * for a new version). */
void push_refresh(struct pusher *p);

/* Starts the pushes that are due. */
void push_start_due(struct pusher *p);

/* Fills fds with the running children's stderr pipes; returns how many. */
int push_pollfds(struct pusher *p, struct pollfd *fds, int max);
/* After poll(): reads those pipes, reaps finished children. */
void push_handle(struct pusher *p, const struct pollfd *fds, int n);

/* Milliseconds until the next retry is due; -1 if none is waiting. */
int push_timeout_ms(const struct pusher *p);

/* Per-target state as a JSON array (a new reference): target, state
 * (idle, pushing, waiting, gave-up), last_pushed_version, pushing_version,
 * tries, last_error, next_retry_at. */
json_t *push_status_json(const struct pusher *p);
/* The same as Prometheus samples (artsync_push_*{target="..."}). */
void push_render_metrics(const struct pusher *p, FILE *f);

#endif
