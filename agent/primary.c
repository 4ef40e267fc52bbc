/*
 * primary.c - watch the source tree, debounce, publish.
 *
 * Every inotify event (re)starts the quiet timer; when quiet_ms pass with no
 * event, the tree is published. The events also say which artifacts may
 * have changed: only those are read, and the version is a delta on the one
 * this process published last (snap_publish_changes), so a publish costs
 * what changed, not the tree. Whenever that list is not to be trusted - at
 * start, after IN_Q_OVERFLOW, a folder moved, labels.conf or anything else
 * at the top changed, someone else published - the whole tree is rescanned,
 * and a publish that finds nothing new writes nothing. A failed publish (an invalid artifact,
 * a file caught mid-write) is logged once and retried on the next change, or
 * after retry_ms for errors that may pass by themselves. Each published
 * version is then pushed to the rsync targets, if any (push.h). SIGHUP
 * reloads the config (reload.h), then publishes the whole tree now.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basecopy.h"
#include "changes.h"
#include "daemon.h"
#include "fresh.h"
#include "fsutil.h"
#include "histogram.h"
#include "jsonfield.h"
#include "leader.h"
#include "log.h"
#include "metrics.h"
#include "pinned.h"
#include "primary.h"
#include "primary_int.h"
#include "push.h"
#include "reload.h"
#include "report.h"
#include "rest.h"
#include "snap.h"
#include "watch.h"
#include "xmlcheck.h"


/* Retention waits this long after the last publish: removing old files is
 * work that need not compete with secondaries fetching the new version.
 * A tree that never goes quiet is pruned at publish every PRUNE_MAX_MS. */
#define PRUNE_QUIET_MS 1000
#define PRUNE_MAX_MS 10000

static void
prune_now(struct primary *p)
{
	p->prune_due = 0;
	p->pruned_at = daemon_now_ms();
	if (!leader_leads(p->lead))
		return;
	(void)snap_prune_root(p->c->sync_root, p->c->keep_versions,
	    p->c->keep_grace_ms / 1000);
}

/* Whether this primary renews the latest state's expiry (renew_now). */
static bool
renews(const struct primary *p)
{
	return p->c->have_key && p->c->state_validity_s > 0 &&
	    leader_leads(p->lead);
}

/* Every problem of the tree, and what was skipped, one line each. */
static void
log_report(const struct report *rep)
{
	size_t i;

	for (i = 0; i < rep->n; i++) {
		if (rep->v[i].kind == REPORT_ERROR)
			log_errorx("%s", rep->v[i].text);
		else
			log_warnx("%s", rep->v[i].text);
	}
}

static void
publish_now(struct primary *p)
{
	struct snap_publish_opts o = primary_publish_opts(p->c);
	struct snap_err err = SNAP_ERR_INIT;
	enum snap_publish_result res;
	int64_t start = daemon_now_ms(), start_us = fsu_mono_us();
	struct snap_marks marks = { { 0 } };
	struct report rep = REPORT_INIT;
	uint64_t version;
	int rc;

	p->pending = false;
	o.xc = p->xc;
	o.defer_prune = true;	/* prune_now(), once quiet */
	if (!leader_may_publish(p->lead)) {	/* standing by: a new leader
						 * rescans */
		changes_clear(&p->changes);
		p->changes.unknown = true;
		return;
	}
	leader_publish_opts(p->lead, &o);
	if (pinned_hold(&p->pin, p->c, &o, &p->latest)) {
		leader_published(p->lead, p->latest);
		changes_clear(&p->changes);
		p->changes.unknown = true;	/* unpinned: a rescan */
		return;
	}
	o.report = &rep;
	o.marks = &marks;
	rc = snap_publish_changes(p->c->source, p->c->sync_root, &o, &p->memo,
	    p->changes.unknown ? NULL : p->changes.v, p->changes.n, &res,
	    &version, &err);
	/* Same failure again: say it once, not at every retry. */
	if (rc == 0 || strcmp(err.msg, p->last_error) != 0)
		log_report(&rep);
	report_free(&rep);
	if (rc == -1) {
		p->publish_failures++;
		/* The changes stay listed: the retry must cover them too. */
		if (strcmp(err.msg, p->last_error) != 0)
			log_errorx("publish failed: %s", err.msg);
		snprintf(p->last_error, sizeof(p->last_error), "%s", err.msg);
		p->pending = true;
		p->due = daemon_now_ms() + p->c->retry_ms;
		return;
	}
	o.marks = NULL;		/* basecopy_maybe_start() runs no publish */
	changes_clear(&p->changes);
	push_want(p->push, version);
	rpush_want(p->redis, version);
	p->latest = version;
	if (res != SNAP_UNCHANGED) {
		leader_published(p->lead, version);
		p->publishes++;
		histogram_observe_ms(&p->publish_time,
		    (uint64_t)(daemon_now_ms() - start));
		primary_count_stages(p, start_us, &marks, version);
		p->published_at = fsu_now();
		p->prune_due = daemon_now_ms() + PRUNE_QUIET_MS;
		if (renews(p) && p->renew_error[0] == '\0') {
			p->fresh_until = p->published_at +
			    p->c->state_validity_s;
			p->renew_due = daemon_now_ms() +
			    (int64_t)p->c->state_validity_s * 1000 / 2;
		}
	}
	p->noticed_us = 0;
	if (p->last_error[0] != '\0')
		log_info("publish works again");
	p->last_error[0] = '\0';
	if (res == SNAP_REPAIRED)
		log_warnx("%s", err.msg);
	if (res == SNAP_UNCHANGED)
		log_debug("source unchanged at version %" PRIu64, version);
	else if (p->memo.rebased != 0)
		log_fields(LOG_LEVEL_INFO, LOG_FIELDS(LOG_INT("version", version)),
		    "published version %" PRIu64 " in %" PRId64 " ms "
		    "(changed files read; the chain restarts on the full copy "
		    "of version %" PRIu64 ")", version,
		    daemon_now_ms() - start, p->memo.rebased);
	else
		log_fields(LOG_LEVEL_INFO, LOG_FIELDS(LOG_INT("version", version)),
		    "published version %" PRIu64 " in %" PRId64 " ms (%s)",
		    version, daemon_now_ms() - start, p->memo.rescanned ?
		    "whole tree read" : "changed files read");
	basecopy_maybe_start(&p->base, p->c->source, p->c->sync_root, &o,
	    &p->memo);
	if (p->prune_due != 0 && daemon_now_ms() - p->pruned_at >= PRUNE_MAX_MS)
		prune_now(p);
}

/*
 * Watches the source with inotify. When it cannot - every watch or
 * instance of this user taken (ENOSPC, EMFILE), the tree's folders not
 * all watchable - the primary says so once and polls instead: every
 * poll_ms it looks at the tree (watch_poll_digest: a stat of each entry)
 * and rescans and publishes only when that changed. inotify is tried again
 * every retry_ms, and used again as soon as the whole tree can be watched.
 */
static void
try_watch(struct primary *p)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (p->watching || daemon_now_ms() < p->watch_retry)
		return;
	p->watch_retry = daemon_now_ms() + p->c->retry_ms;
	if ((watch_fd() < 0 && watch_init(&err) == -1) ||
	    watch_tree(p->c->source, &err) == -1) {
		/* Half a tree watched is no use, and holds watches the user
		 * lacks (and records libinotifytools would leak when the same
		 * folders are added again): the next try starts afresh. */
		watch_cleanup();
		/* Said once, not at every try. */
		if (strcmp(err.msg, p->watch_error) != 0)
			log_warnx("%s: not watching: %s; rescanning every %u ms "
			    "instead (inotify tried again every %u ms)",
			    p->c->source, err.msg, p->c->poll_ms,
			    p->c->retry_ms);
		snprintf(p->watch_error, sizeof(p->watch_error), "%s", err.msg);
		if (p->scan_due == 0)
			p->scan_due = daemon_now_ms();
		return;
	}
	if (p->watch_error[0] != '\0') {
		log_info("%s: watching again (inotify)", p->c->source);
		/* What changed while nobody watched: a rescan says. */
		p->changes.unknown = true;
		p->pending = true;
		p->due = 0;
	}
	p->watch_error[0] = '\0';
	p->watching = true;
	p->scan_due = 0;
}

/* Without inotify: a publish (of the whole tree, rescanned) when the tree
 * looks different from the last look. */
static void
scan_now(struct primary *p)
{
	struct snap_err err = SNAP_ERR_INIT;
	char digest[HASH_HEX_LEN + 1];

	p->scan_due = daemon_now_ms() + p->c->poll_ms;
	if (watch_poll_digest(p->c->source, digest, &err) == -1) {
		log_debug("%s", err.msg);
		digest[0] = '\0';
	}
	if (strcmp(digest, p->scan_digest) == 0 && digest[0] != '\0')
		return;
	snprintf(p->scan_digest, sizeof(p->scan_digest), "%s", digest);
	p->changes.unknown = true;
	if (p->noticed_us == 0)
		p->noticed_us = fsu_mono_us();
	if (!p->pending) {
		p->pending = true;
		p->due = daemon_now_ms() + p->c->quiet_ms;
	}
}

/*
 * With a signing key and an expiry: the latest state's freshness renewed
 * (timestamp.sig, fresh.h) every state_validity / 2 while this primary
 * runs, and pushed; a publish resets the clock (its state carries its own
 * expiry). A failure (state.json not ours, the lock busy) is said once and
 * tried again every retry_ms.
 */
static void
renew_now(struct primary *p)
{
	struct snap_err err = SNAP_ERR_INIT;
	uint64_t version;
	int64_t half_ms = (int64_t)p->c->state_validity_s * 1000 / 2;

	if (fresh_renew(p->c->sync_root, &p->c->key, p->c->cluster_id,
	    fsu_now(), p->c->state_validity_s, &version, &p->fresh_until,
	    &err) == -1) {
		if (strcmp(err.msg, p->renew_error) != 0)
			log_warnx("cannot renew the latest state's expiry: %s "
			    "(tried again every %u ms)", err.msg,
			    p->c->retry_ms);
		snprintf(p->renew_error, sizeof(p->renew_error), "%s",
		    err.msg);
		p->renew_due = daemon_now_ms() + p->c->retry_ms;
		return;
	}
	if (p->renew_error[0] != '\0')
		log_info("renewing the latest state's expiry works again");
	p->renew_error[0] = '\0';
	log_debug("version %" PRIu64 " renewed: fresh until %" PRId64,
	    version, p->fresh_until);
	p->renew_due = daemon_now_ms() + half_ms;
	push_refresh(p->push);
	rpush_refresh(p->redis);
}

/* watch_file_fn: one file in the source tree was created, written,
 * moved or removed. */
static void
on_file(const char *dir, const char *name, void *arg)
{
	struct primary *p = arg;

	changes_note(&p->changes, p->c->source, dir, name);
}

static void
on_inotify(struct primary *p)
{
	unsigned flags = watch_drain();

	if (flags & (WATCH_OVERFLOW | WATCH_LOST | WATCH_NEWDIR))
		p->changes.unknown = true;
	if (flags & WATCH_INCOMPLETE) {
		/* A folder nobody watches: poll until inotify covers it. */
		log_warnx("%s: a new folder cannot be watched (inotify watch "
		    "limit reached?): rescanning every %u ms", p->c->source,
		    p->c->poll_ms);
		snprintf(p->watch_error, sizeof(p->watch_error), "a new folder "
		    "cannot be watched (inotify watch limit reached?)");
		p->watching = false;
		p->watch_retry = daemon_now_ms() + p->c->retry_ms;
		p->scan_due = daemon_now_ms();
	}
	if (flags & WATCH_OVERFLOW)
		log_warnx("inotify queue overflowed: rescanning %s",
		    p->c->source);
	if ((flags & WATCH_LOST) && !(flags & WATCH_INCOMPLETE)) {
		log_warnx("%s: watch lost (removed or unmounted)", p->c->source);
		p->watching = false;
	}
	if ((flags & WATCH_CHANGED) && p->noticed_us == 0)
		p->noticed_us = fsu_mono_us();
	if (flags & WATCH_CHANGED) {
		p->pending = true;
		p->due = daemon_now_ms() + p->c->quiet_ms;
	}
}

/* --- the read-only endpoint (rest_source) --- */

static int
shorter(int timeout, int64_t wait)
{
	if (wait < 0)
		wait = 0;
	if (wait > INT_MAX)
		wait = INT_MAX;
	return timeout < 0 || wait < timeout ? (int)wait : timeout;
}

/* The poll timeout (-1: none): a publish or retention due, inotify tried
 * again or the tree looked at without it, the renewal, a push's retry,
 * MHD's own; shortened to wake for the watchdog. */
static int
timeout_ms(struct primary *p, int64_t now)
{
	/* While the Redis uploader's job uses the stage, nothing is
	 * written there: its end wakes the loop (SLOT_REDIS_JOB). */
	bool stage_free = !rpush_busy(p->redis);
	int timeout = p->pending && stage_free ? (int)(p->due - now) : -1, t;
	int64_t wait;

	if (p->prune_due != 0 && !p->pending && stage_free)
		timeout = (int)(p->prune_due - now);
	if (!p->watching) {
		wait = p->watch_retry - now;
		if (p->scan_due != 0 && p->scan_due - now < wait)
			wait = p->scan_due - now;
		timeout = shorter(timeout, wait);
	}
	if (renews(p) && !p->pending && stage_free)
		timeout = shorter(timeout, p->renew_due - now);
	if ((t = push_timeout_ms(p->push)) >= 0)
		timeout = shorter(timeout, t);
	if ((t = rpush_timeout_ms(p->redis)) >= 0)
		timeout = shorter(timeout, t);
	if (p->rest != NULL && (t = rest_timeout_ms(p->rest)) >= 0)
		timeout = shorter(timeout, t);
	timeout = leader_timeout_ms(p->lead, timeout, now);
	timeout = pinned_timeout_ms(&p->pin, timeout, now);
	return daemon_watchdog(timeout);
}

/* The loop's descriptors, one name each. A slot whose fd is -1 (no REST
 * endpoint, no full copy running, fewer rsync children than slots) is
 * one poll(2) passes over. */
enum {
	SLOT_SIGNAL,
	SLOT_INOTIFY,		/* the source tree's watches */
	SLOT_HTTP,		/* libmicrohttpd: the read-only endpoint */
	SLOT_BASECOPY,		/* the full copy's report */
	SLOT_REDIS_JOB,		/* the Redis uploader's job is done */
	SLOT_PUSH,		/* the rsync children's stderr, from here */
	SLOT_COUNT = SLOT_PUSH + CONFIG_MAX_PUSH,
};

/* ha and pin.json (leader.h, pinned.h): whether the leadership or the pin
 * changed something due now; a new leader, a pin or an unpin rescans. */
static bool
coordinate(struct primary *p, int64_t now)
{
	enum leader_event ev;

	if (leader_due(p->lead, now)) {
		ev = leader_tick(p->lead);
		if (ev == LEADER_DEPOSED) {
			p->pending = false;
			p->last_error[0] = '\0';
		}
		if (ev != LEADER_ELECTED)
			return true;
	} else if (pinned_due(&p->pin, now)) {
		if (!pinned_look(&p->pin, p->c))	/* nothing moved */
			return true;
	} else {
		return false;
	}
	p->pending = true;
	p->changes.unknown = true;
	p->due = 0;
	return true;
}

static int
loop(struct primary *p, struct cmdline *cl, int sigfd)
{
	struct pollfd pfd[SLOT_COUNT];
	int64_t now;
	int sig, npush, i;
	unsigned what;
	bool stage_free;

	for (;;) {
		now = daemon_now_ms();
		stage_free = !rpush_busy(p->redis);
		if (p->pending && now >= p->due && stage_free) {
			try_watch(p);
			publish_now(p);
			continue;
		}
		if (!p->watching && p->scan_due != 0 && now >= p->scan_due) {
			scan_now(p);
			continue;
		}
		if (coordinate(p, now))
			continue;
		if (renews(p) && now >= p->renew_due && !p->pending &&
		    stage_free) {
			renew_now(p);
			continue;
		}
		if (p->prune_due != 0 && now >= p->prune_due && !p->pending &&
		    stage_free)
			prune_now(p);
		push_start_due(p->push);
		if (rpush_run(p->redis) == RPUSH_REPUBLISH) {
			p->pending = true;	/* above the store's version */
			p->changes.unknown = true;
			p->due = 0;
			continue;
		}
		pfd[SLOT_SIGNAL] = (struct pollfd){ .fd = sigfd,
		    .events = POLLIN };
		pfd[SLOT_INOTIFY] = (struct pollfd){ .fd = watch_fd(),
		    .events = POLLIN };
		pfd[SLOT_HTTP] = (struct pollfd){ .fd = p->rest != NULL ?
		    rest_fd(p->rest) : -1, .events = POLLIN };
		pfd[SLOT_BASECOPY] = (struct pollfd){
		    .fd = basecopy_fd(&p->base), .events = POLLIN };
		pfd[SLOT_REDIS_JOB] = (struct pollfd){
		    .fd = rpush_fd(p->redis), .events = POLLIN };
		npush = push_pollfds(p->push, &pfd[SLOT_PUSH], CONFIG_MAX_PUSH);
		for (i = SLOT_PUSH + npush; i < SLOT_COUNT; i++)
			pfd[i] = (struct pollfd){ .fd = -1 };
		if (poll(pfd, SLOT_COUNT, timeout_ms(p, now)) == -1 &&
		    errno != EINTR) {
			log_error("poll");
			return 1;
		}
		daemon_tick();		/* /livez */
		if (pfd[SLOT_SIGNAL].revents & POLLIN) {
			sig = daemon_signal_read(sigfd);
			if (sig == SIGTERM || sig == SIGINT) {
				log_info("stopping on signal %d", sig);
				return 0;
			}
			if (sig == SIGHUP) {	/* reload, then a manual
						 * "publish now", of the whole
						 * tree as it is */
				/* Nothing to redo: what a primary takes
				 * it reads where it uses it. */
				(void)reload_config(cl, &what);
				p->pending = true;
				p->changes.unknown = true;
				p->due = 0;
			}
		}
		if (pfd[SLOT_INOTIFY].revents & POLLIN)
			on_inotify(p);
		if (pfd[SLOT_BASECOPY].revents != 0)
			basecopy_collect(&p->base, &p->memo);
		if (pfd[SLOT_REDIS_JOB].revents & POLLIN)
			rpush_reap(p->redis);
		push_handle(p->push, &pfd[SLOT_PUSH], npush);
		if (p->rest != NULL)
			rest_run(p->rest);
		if (!p->watching && !p->pending) {
			try_watch(p);
			if (p->watching) {	/* back: catch up at once */
				p->pending = true;
				p->due = 0;
			}
		}
	}
}

int
primary_run(struct cmdline *cl)
{
	const struct config *c = &cl->c;
	struct primary p = { .c = c, .pending = true, .due = 0,
	    .memo = SNAP_MEMO_INIT, .changes = CHANGES_INIT,
	    .base = BASECOPY_INIT, .pin = PINNED_INIT };
	struct snap_err err = SNAP_ERR_INIT;
	int sigfd = -1, rc = 1;

	stages_init(p.stage, PUBLISH_STAGES);
	/* Signals first: a SIGTERM while the schemas compile must still
	 * stop us cleanly (status 0), not by its default action. */
	if ((sigfd = daemon_signals(&err)) == -1 ||
	    (p.xc = xmlcheck_new(&err)) == NULL ||
	    (p.push = push_new(c, &err)) == NULL ||
	    leader_new(c, &p.lead, &err) == -1 ||
	    (c->redis_url[0] != '\0' && (p.redis = rpush_new(c, &err)) == NULL)) {
		log_errorx("%s", err.msg);
		goto out;
	}
	log_info("primary %s/%s: %s -> %s (quiet %u ms)", c->cluster_id,
	    c->node_id, c->source, c->sync_root, c->quiet_ms);
	if (c->have_key) {
		char id[17];

		sign_keyid(c->key.keynum, id);
		log_info("signing every version with key %s", id);
	}
	if (c->listen[0] != '\0') {
		struct rest_source src = { .listen = c->listen,
		    .status = primary_status_json,
		    .metrics = primary_render_metrics,
		    .healthy = primary_healthy, .degraded = primary_degraded,
		    .ready = primary_ready, .arg = &p };

		if ((p.rest = rest_new_source(&src, &err)) == NULL) {
			log_errorx("%s", err.msg);
			goto out;
		}
		log_info("listening on http://%s (port %u), read only",
		    c->listen, rest_port(p.rest));
	}
	rpush_prepare(p.redis);		/* the stage up to the store */
	watch_on_file(on_file, &p);
	try_watch(&p);
	daemon_watchdog_init();
	daemon_notify_ready("watching");
	rc = loop(&p, cl, sigfd);
	daemon_notify_stopping();
out:
	basecopy_stop(&p.base);
	rest_free(p.rest);
	watch_on_file(NULL, NULL);
	watch_cleanup();
	snap_memo_clear(&p.memo);
	changes_free(&p.changes);
	push_free(p.push);
	rpush_free(p.redis);
	leader_free(p.lead);	/* a leader releases its lease */
	if (sigfd >= 0)
		close(sigfd);
	xmlcheck_free(p.xc);
	return rc;
}
