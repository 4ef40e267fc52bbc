/*
 * webhook.c - the POST after a swap, its retries, its worker thread (see
 * webhook.h).
 *
 * One thread, because a POST blocks for as long as the receiver takes (up
 * to webhook_timeout_ms) and the loop must not. The loop and the worker
 * share only what is under `mu`: the one-slot mailbox and the state the
 * worker reports back. The worker never holds `mu` while it talks to the
 * network or waits, so the loop's calls here never wait for a receiver.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "daemon.h"
#include "fsutil.h"
#include "httpc.h"
#include "jsonfield.h"
#include "log.h"
#include "thread.h"
#include "webhook.h"

struct webhook {
	/* Set before the worker starts, then read-only. */
	char url[CONFIG_URL_MAX];
	char auth[300];			/* "Authorization: Bearer ..." or "" */
	char node_id[128];
	char cluster_id[128];
	char root[PATH_MAX];
	unsigned timeout_ms, max_tries, retry_ms;
	pthread_t thread;
	bool started;
	atomic_bool stopping;		/* read by curl's progress callback */

	pthread_mutex_t mu;		/* guards everything below */
	pthread_cond_t cv;		/* an event, or stopping */
	struct swap_slot slot;
	bool busy;			/* an event taken, not yet done */
	uint64_t version;		/* ... its version */
	unsigned tries;			/* tries of that (or the last) event */
	long last_status;		/* HTTP status of the last answer; 0:
					 * none (no answer yet, or no answer
					 * to the last try) */
	char last_error[CURL_ERROR_SIZE + 64];	/* "" after a success */
	int64_t last_ok_at;		/* wall clock; 0: never */
	int64_t retry_at_ms;		/* monotonic; 0: no retry waiting */
	uint64_t delivered, failed_tries, gave_up;
};

unsigned
webhook_backoff_ms(unsigned first, unsigned failed)
{
	uint64_t ms = first;

	while (failed-- > 1 && ms < WEBHOOK_RETRY_MAX_MS)
		ms *= 2;
	return ms > WEBHOOK_RETRY_MAX_MS ? WEBHOOK_RETRY_MAX_MS : (unsigned)ms;
}

char *
webhook_body(const struct swap_event *ev, const char *node_id,
    const char *cluster_id, const char *root)
{
	char at[32];
	json_t *j;
	char *body;

	fsu_rfc3339(ev->at, at);
	j = json_pack("{s:I, s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s}",
	    "version", (json_int_t)ev->version,
	    "previous_version", (json_int_t)ev->previous,
	    "release", ev->release,
	    "changed", (json_int_t)ev->changed,
	    "reason", swap_reason_name(ev->reason),
	    "node_id", node_id,
	    "cluster_id", cluster_id,
	    "deploy_root", root,
	    "at", at);
	body = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(j);
	return body;
}

/* --- one try ------------------------------------------------------------ */

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* Non-zero stops the transfer: the daemon is stopping. */
static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct webhook *w = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load(&w->stopping) ? 1 : 0;
}

static void
set_options(struct webhook *w, CURL *curl, const char *body,
    struct curl_slist *hdrs, char *errbuf)
{
	curl_easy_setopt(curl, CURLOPT_URL, w->url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(body));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	httpc_defaults(curl, errbuf, (long)w->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, w);
}

/*
 * POSTs ev once. 0 on a 2xx answer; -1 otherwise, with *status the
 * answer's HTTP status (0: no answer) and why filled.
 */
static int
post(struct webhook *w, const struct swap_event *ev, long *status,
    char *why, size_t whylen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL, *h;
	char *body = webhook_body(ev, w->node_id, w->cluster_id, w->root);
	CURL *curl = curl_easy_init();
	CURLcode cc = CURLE_OUT_OF_MEMORY;
	int rc = -1;

	*status = 0;
	if (body == NULL || curl == NULL ||
	    (hdrs = curl_slist_append(NULL,
	    "Content-Type: application/json")) == NULL ||
	    (h = curl_slist_append(hdrs, "Expect:")) == NULL ||
	    (w->auth[0] != '\0' && (h = curl_slist_append(hdrs,
	    w->auth)) == NULL))
		goto out;
	set_options(w, curl, body, hdrs, errbuf);
	if ((cc = curl_easy_perform(curl)) != CURLE_OK)
		goto out;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	if (*status >= 200 && *status <= 299)
		rc = 0;
	else
		snprintf(why, whylen, "HTTP %ld", *status);
out:
	if (rc == -1 && *status == 0)
		snprintf(why, whylen, "%s", errbuf[0] ? errbuf :
		    curl_easy_strerror(cc));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	free(body);
	return rc;
}

/* --- the worker ------------------------------------------------------- */

/*
 * Waits (mu held) until the retry is due. false when it will not be
 * tried: the daemon is stopping, or a newer event waits.
 */
static bool
wait_retry(struct webhook *w, unsigned delay_ms)
{
	struct timespec ts;
	int64_t ns;

	w->retry_at_ms = daemon_now_ms() + delay_ms;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = ts.tv_nsec + (int64_t)(delay_ms % 1000) * 1000000;
	ts.tv_sec += delay_ms / 1000 + ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	while (!atomic_load(&w->stopping) && !w->slot.pending &&
	    pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
		;
	w->retry_at_ms = 0;
	return !atomic_load(&w->stopping) && !w->slot.pending;
}

/* After a try of ev (mu held): true when ev is done with. */
static bool
tried(struct webhook *w, const struct swap_event *ev, int rc, long status,
    const char *why)
{
	w->tries++;
	w->last_status = status;
	if (rc == 0) {
		w->delivered++;
		w->last_ok_at = fsu_now();
		w->last_error[0] = '\0';
		swap_slot_told(&w->slot, ev->version);
		log_info("webhook: version %" PRIu64 " (%s) delivered, HTTP %ld",
		    ev->version, swap_reason_name(ev->reason), status);
		return true;
	}
	w->failed_tries++;
	snprintf(w->last_error, sizeof(w->last_error), "%s", why);
	if (w->tries >= w->max_tries) {
		w->gave_up++;
		log_errorx("webhook: version %" PRIu64 " given up after %u "
		    "tries: %s", ev->version, w->tries, why);
		return true;
	}
	log_warnx("webhook: version %" PRIu64 ": %s; try %u of %u in %u ms",
	    ev->version, why, w->tries + 1, w->max_tries,
	    webhook_backoff_ms(w->retry_ms, w->tries));
	return false;
}

/* Tries ev until it is delivered, given up, replaced by a newer event or
 * the daemon stops. Called and returns with mu held. */
static void
deliver(struct webhook *w, struct swap_event *ev)
{
	char why[sizeof(w->last_error)];
	long status;
	int rc;

	w->busy = true;
	w->version = ev->version;
	w->tries = 0;
	for (;;) {
		pthread_mutex_unlock(&w->mu);
		rc = post(w, ev, &status, why, sizeof(why));
		pthread_mutex_lock(&w->mu);
		if (atomic_load(&w->stopping) || tried(w, ev, rc, status, why))
			break;
		if (!wait_retry(w, webhook_backoff_ms(w->retry_ms, w->tries))) {
			if (w->slot.pending) {
				log_info("webhook: version %" PRIu64 " replaced "
				    "by a newer swap before its retry",
				    ev->version);
				swap_slot_putback(&w->slot, ev);
			}
			break;
		}
	}
	w->busy = false;
}

static void *
worker_main(void *arg)
{
	struct webhook *w = arg;
	struct swap_event ev;

	pthread_mutex_lock(&w->mu);
	while (!atomic_load(&w->stopping)) {
		if (swap_slot_take(&w->slot, &ev))
			deliver(w, &ev);
		else
			pthread_cond_wait(&w->cv, &w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* --- the loop's side ---------------------------------------------------- */

struct webhook *
webhook_new(const struct config *c, const char *root, const char *token,
    struct snap_err *err)
{
	pthread_condattr_t ca;
	struct webhook *w;
	int e;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snap_err_set(err, "webhook: out of memory");
		return NULL;
	}
	snprintf(w->url, sizeof(w->url), "%s", c->webhook_url);
	if (token[0] != '\0')
		snprintf(w->auth, sizeof(w->auth), "Authorization: Bearer %s",
		    token);
	snprintf(w->node_id, sizeof(w->node_id), "%s", c->node_id);
	snprintf(w->cluster_id, sizeof(w->cluster_id), "%s", c->cluster_id);
	snprintf(w->root, sizeof(w->root), "%s", root);
	w->timeout_ms = c->webhook_timeout_ms;
	w->max_tries = c->webhook_max_tries;
	w->retry_ms = c->webhook_retry_ms;
	atomic_init(&w->stopping, false);
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((e = thread_start_nosig(&w->thread, worker_main, w)) != 0) {
		snap_err_sys(err, e, "webhook thread");
		webhook_free(w);
		return NULL;
	}
	w->started = true;
	return w;
}

void
webhook_free(struct webhook *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->stopping, true);
	if (w->busy || w->slot.pending)
		log_info("webhook: stopping; version %" PRIu64 " not delivered",
		    w->busy ? w->version : w->slot.ev.version);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	explicit_bzero(w->auth, sizeof(w->auth));
	free(w);
}

void
webhook_post(struct webhook *w, const struct swap_event *ev)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	swap_slot_put(&w->slot, ev);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Wall-clock time of a monotonic instant, for people. */
static json_t *
wall_time_or_null(int64_t mono_ms)
{
	if (mono_ms == 0)
		return json_null();
	return jf_time_or_null(fsu_now() + (mono_ms - daemon_now_ms() + 999) /
	    1000);
}

json_t *
webhook_status_json(struct webhook *w)
{
	json_t *j;

	if (w == NULL)
		return json_null();
	pthread_mutex_lock(&w->mu);
	j = json_pack("{s:o, s:o, s:b, s:I, s:o, s:I, s:I, s:I, s:I, s:o}",
	    "last_status", w->last_status ? json_integer(w->last_status) :
	    json_null(),
	    "last_error", w->last_error[0] ? json_string(w->last_error) :
	    json_null(),
	    "pending", w->busy || w->slot.pending,
	    "tries", (json_int_t)w->tries,
	    "last_ok_at", jf_time_or_null(w->last_ok_at),
	    "delivered", (json_int_t)w->delivered,
	    "failed_tries", (json_int_t)w->failed_tries,
	    "gave_up", (json_int_t)w->gave_up,
	    "coalesced", (json_int_t)w->slot.coalesced,
	    "next_retry_at", wall_time_or_null(w->retry_at_ms));
	pthread_mutex_unlock(&w->mu);
	return j;
}

static void
counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name,
	    help, name, name, v);
}

void
webhook_render_metrics(struct webhook *w, FILE *f)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	counter(f, "artsync_webhook_delivered_total", "Swaps the webhook "
	    "received (2xx).", w->delivered);
	counter(f, "artsync_webhook_failed_tries_total", "POSTs that failed "
	    "(no answer or not 2xx).", w->failed_tries);
	counter(f, "artsync_webhook_gave_up_total", "Swaps given up after "
	    "webhook_max_tries.", w->gave_up);
	counter(f, "artsync_webhook_coalesced_total", "Swaps merged into a "
	    "later one while the webhook was busy.", w->slot.coalesced);
	fprintf(f, "# HELP artsync_webhook_pending 1 while a swap waits to be "
	    "delivered.\n# TYPE artsync_webhook_pending gauge\n"
	    "artsync_webhook_pending %d\n", w->busy || w->slot.pending);
	fprintf(f, "# HELP artsync_webhook_last_status HTTP status of the last "
	    "answer (0: none).\n# TYPE artsync_webhook_last_status gauge\n"
	    "artsync_webhook_last_status %ld\n", w->last_status);
	fprintf(f, "# HELP artsync_webhook_last_ok_timestamp_seconds Unix time "
	    "of the last delivery (0: never).\n# TYPE "
	    "artsync_webhook_last_ok_timestamp_seconds gauge\n"
	    "artsync_webhook_last_ok_timestamp_seconds %" PRId64 "\n",
	    w->last_ok_at);
	pthread_mutex_unlock(&w->mu);
}
