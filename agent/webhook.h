/*
 * webhook.h - after each swap, a POST of its facts as JSON to webhook_url
 * (libcurl), from a thread of its own so that a slow or dead receiver
 * never holds up the secondary's loop.
 *
 * The body (Content-Type: application/json; with webhook_token_file,
 * "Authorization: Bearer TOKEN"):
 *	{"version":42,"previous_version":41,"release":"/d/releases/v42-r7",
 *	 "changed":3,"reason":"sync","node_id":"gw-1","cluster_id":"prod",
 *	 "deploy_root":"/d","at":"2026-11-24T19:40:00Z"}
 * A try fails on a connection error, webhook_timeout_ms without a whole
 * answer, or any status but 2xx. The next try waits webhook_retry_ms,
 * doubling up to WEBHOOK_RETRY_MAX_MS; after webhook_max_tries the event
 * is given up. A newer swap replaces an event waiting for its retry (it
 * carries the older one's changes: swapevent.h), so a receiver that comes
 * back gets the latest, not every one it missed.
 *
 * Calling sequence (the loop's thread; the worker is internal):
 *	w = webhook_new(c, root, token, err);	starts the worker
 *	webhook_post(w, &ev);			at each swap; never blocks
 *	webhook_status_json(w) / webhook_render_metrics(w, f)
 *	webhook_free(w);	stops the worker: a POST in flight is cut
 *				short, a pending retry abandoned
 * curl_global_init() must have run (the daemon's start does it).
 */
#ifndef WEBHOOK_H
#define WEBHOOK_H

#include <stdio.h>

#include <jansson.h>

#include "config.h"
#include "snap_err.h"
#include "swapevent.h"

#define WEBHOOK_RETRY_MAX_MS	60000

struct webhook;

/* webhook_url's form: http:// or https://, a host, no blank or control
 * byte (curl would take other schemes). 0 or -1 with err. */
int webhook_check_url(const char *url, struct snap_err *err);

/* A worker for c->webhook_url; root is the deploy root's absolute path,
 * token the bearer token ("" for none; copied). NULL with err. */
struct webhook *webhook_new(const struct config *c, const char *root,
    const char *token, struct snap_err *err);
void webhook_free(struct webhook *w);	/* NULL is a no-op */

void webhook_post(struct webhook *w, const struct swap_event *ev);

/* last_status, last_error, pending, tries, last_ok_at, delivered,
 * failed_tries, gave_up, coalesced, next_retry_at: a new reference. */
json_t *webhook_status_json(struct webhook *w);
void webhook_render_metrics(struct webhook *w, FILE *f);

/* The JSON body above, malloc'ed (the caller frees it), NULL when out of
 * memory. */
char *webhook_body(const struct swap_event *ev, const char *node_id,
    const char *cluster_id, const char *root);

/* The wait before the try after `failed` failed tries (1, 2, ...): first,
 * then doubling, at most WEBHOOK_RETRY_MAX_MS. */
unsigned webhook_backoff_ms(unsigned first, unsigned failed);

#endif
