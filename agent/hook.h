/*
 * hook.h - after each swap of DEPLOY_ROOT/current, tell the world: run
 * the operator's exec_hook, and POST to webhook_url (webhook.h).
 *
 * The exec hook is `/bin/sh -c CMD` (the operator's own command line, so
 * a shell is what they expect), started with posix_spawn in a session and
 * process group of its own, with the daemon's environment plus
 *	ARTSYNC_VERSION           the upstream version now live
 *	ARTSYNC_PREVIOUS_VERSION  the version the last hook was told of
 *	                          (before the swap for the first; 0: none)
 *	ARTSYNC_RELEASE           the new release directory, absolute
 *	ARTSYNC_CHANGED           artifact files written + removed
 *	ARTSYNC_REASON            sync, redeploy, undeploy, deploy-local or
 *	                          reconcile
 *	ARTSYNC_DEPLOY_ROOT       the deploy root, absolute
 * Its stdout and stderr share one pipe that the loop reads; the first
 * HOOK_OUTPUT_MAX bytes are logged when it ends, line by line, sanitised.
 * A pidfd in the loop's poll says when it ended. After
 * exec_hook_timeout_ms its process group gets SIGTERM, then SIGKILL
 * HOOK_GRACE_MS later. One hook runs at a time: swaps meanwhile wait in a
 * one-slot mailbox, the latest replacing the others (swapevent.h).
 * Nothing here waits for a hook: the loop goes on serving, polling and
 * applying while one runs.
 *
 * Calling sequence (the secondary's loop thread):
 *	h = hook_new(c, err);		after deploy_open(); NULL with err
 *	hook_swapped(h, reason, previous, &d->current, changed);
 *					after each swap; never blocks
 *	each pass of the loop:
 *		hook_pollfds(h, &pfd[PFD_HOOK_OUT], &pfd[PFD_HOOK_END]);
 *		timeout = min(timeout, hook_timeout_ms(h)) (-1: none);
 *		poll(pfd, ...);
 *		hook_run(h);		reads, reaps, kills, starts the next
 *	hook_status_add(h, obj); hook_render_metrics(h, f);
 *	hook_free(h);		a running hook: SIGTERM to its group, SIGKILL
 *				after HOOK_GRACE_MS at most; the webhook's
 *				pending retry abandoned
 */
#ifndef HOOK_H
#define HOOK_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "config.h"
#include "deploy.h"
#include "snap_err.h"
#include "swapevent.h"

#define HOOK_OUTPUT_MAX	4096	/* bytes of a hook's output kept */
#define HOOK_GRACE_MS	1000	/* from SIGTERM to SIGKILL */

struct hook;

/* Everything c asks for after a swap (nothing: a no-op hook). Reads
 * webhook_token_file and calls curl_global_init() when there is a
 * webhook. NULL with err. */
struct hook *hook_new(const struct config *c, struct snap_err *err);
void hook_free(struct hook *h);		/* NULL is a no-op */

/* SIGHUP (reload.h): the webhook made again from the config hook_new()
 * was given, whose webhook_* keys changed, its token file read again; the
 * old one's POST in flight or retry pending is dropped. The exec hook
 * needs nothing: its keys are read at each run. 0, or -1 with err (the
 * old webhook kept). */
int hook_reload_webhook(struct hook *h, struct snap_err *err);

/* current went from `previous` (0: no release) to `now`, changing
 * `changed` files, for `reason`. */
void hook_swapped(struct hook *h, enum swap_reason reason, uint64_t previous,
    const struct release *now, uint64_t changed);

/* The running hook's output pipe and pidfd (fd -1 when there is none). */
void hook_pollfds(const struct hook *h, struct pollfd *out,
    struct pollfd *end);
/* Milliseconds until hook_run() has something to do on its own (a time
 * limit), -1 for never. */
int hook_timeout_ms(const struct hook *h);
/* After each poll(): reads output, reaps a hook that ended, signals one
 * whose time is up, starts the next. Never blocks. */
void hook_run(struct hook *h);

/* Adds "exec_hook" and "webhook" (null when not configured) to obj. */
void hook_status_add(struct hook *h, json_t *obj);
void hook_render_metrics(struct hook *h, FILE *f);

#endif
