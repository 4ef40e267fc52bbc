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
 * version is then pushed to the rsync targets, if any (push.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>
#include <sys/stat.h>

#include "basecopy.h"
#include "daemon.h"
#include "log.h"
#include "names.h"
#include "fresh.h"
#include "fsutil.h"
#include "histogram.h"
#include "jsonfield.h"
#include "metrics.h"
#include "primary.h"
#include "rest.h"
#include "push.h"
#include "redis_push.h"
#include "report.h"
#include "snap.h"
#include "watch.h"
#include "xmlcheck.h"

struct primary {
	const struct config *c;
	struct xmlcheck *xc;
	struct pusher *push;		/* NULL-safe: no targets, no children */
	struct rpush *redis;		/* a Redis sync root, or NULL */
	bool watching;			/* inotify covers the whole tree */
	int64_t watch_retry;		/* monotonic: try inotify again */
	int64_t scan_due;		/* monotonic: without inotify, look at
					 * the tree again (every poll_ms) */
	char scan_digest[HASH_HEX_LEN + 1];	/* what it looked like */
	int64_t renew_due;		/* monotonic: renew timestamp.sig */
	int64_t fresh_until;		/* wall clock: the latest state's
					 * expiry, as renewed (0: none) */
	char renew_error[sizeof(((struct snap_err *)0)->msg)];
	bool pending;		/* a publish is due at `due` */
	int64_t due;
	char last_error[sizeof(((struct snap_err *)0)->msg)];
	char watch_error[sizeof(((struct snap_err *)0)->msg)];
	uint64_t latest;		/* latest version in the sync root */
	struct snap_memo memo;		/* what we published last */
	struct snap_change *changes;	/* what may have changed since */
	size_t nchanges, capchanges;
	bool changes_unknown;		/* rescan the whole tree */
	int64_t published_at;		/* wall clock of the last publish */
	uint64_t publishes, publish_failures;	/* /metrics */
	struct histogram publish_time;	/* ... of the versions written */
	struct rest *rest;		/* read-only endpoint, or NULL */
	struct basecopy base;		/* the full copy ahead of need */
	int64_t prune_due;		/* retention, once quiet; 0: none */
	int64_t pruned_at;		/* monotonic, the last retention */
};

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
	(void)snap_prune_root(p->c->sync_root, p->c->keep_versions,
	    p->c->keep_grace_ms / 1000);
}

static struct snap_publish_opts
publish_opts(const struct primary *p)
{
	return (struct snap_publish_opts){ .cluster_id = p->c->cluster_id,
	    .node_id = p->c->node_id, .xc = p->xc,
	    .keep_versions = p->c->keep_versions,
	    .grace_s = p->c->keep_grace_ms / 1000,
	    .max_chain = p->c->max_chain, .defer_prune = true,
	    .key = p->c->have_key ? &p->c->key : NULL,
	    .validity_s = p->c->state_validity_s };
}

/* Whether this primary renews the latest state's expiry (renew_now). */
static bool
renews(const struct primary *p)
{
	return p->c->have_key && p->c->state_validity_s > 0;
}

/* Every problem of the tree, and what was skipped, one line each. */
static void
log_report(const struct report *rep)
{
	size_t i;

	for (i = 0; i < rep->n; i++) {
		if (rep->v[i].kind == REPORT_ERROR)
			log_error("%s", rep->v[i].text);
		else
			log_warn("%s", rep->v[i].text);
	}
}

static void
publish_now(struct primary *p)
{
	struct snap_publish_opts o = publish_opts(p);
	struct snap_err err = SNAP_ERR_INIT;
	enum snap_publish_result res;
	int64_t start = daemon_now_ms();
	struct report rep = REPORT_INIT;
	uint64_t version;
	int rc;

	p->pending = false;
	o.report = &rep;
	rc = snap_publish_changes(p->c->source, p->c->sync_root, &o, &p->memo,
	    p->changes_unknown ? NULL : p->changes, p->nchanges, &res, &version,
	    &err);
	/* Same failure again: say it once, not at every retry. */
	if (rc == 0 || strcmp(err.msg, p->last_error) != 0)
		log_report(&rep);
	report_free(&rep);
	if (rc == -1) {
		p->publish_failures++;
		/* The changes stay listed: the retry must cover them too. */
		if (strcmp(err.msg, p->last_error) != 0)
			log_error("publish failed: %s", err.msg);
		snprintf(p->last_error, sizeof(p->last_error), "%s", err.msg);
		p->pending = true;
		p->due = daemon_now_ms() + p->c->retry_ms;
		return;
	}
	p->nchanges = 0;
	p->changes_unknown = false;
	push_want(p->push, version);
	rpush_want(p->redis, version);
	p->latest = version;
	if (res != SNAP_UNCHANGED) {
		p->publishes++;
		histogram_observe_ms(&p->publish_time,
		    (uint64_t)(daemon_now_ms() - start));
		p->published_at = fsu_now();
		p->prune_due = daemon_now_ms() + PRUNE_QUIET_MS;
		if (renews(p) && p->renew_error[0] == '\0') {
			p->fresh_until = p->published_at +
			    p->c->state_validity_s;
			p->renew_due = daemon_now_ms() +
			    (int64_t)p->c->state_validity_s * 1000 / 2;
		}
	}
	if (p->last_error[0] != '\0')
		log_info("publish works again");
	p->last_error[0] = '\0';
	if (res == SNAP_REPAIRED)
		log_warn("%s", err.msg);
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
			log_warn("%s: not watching: %s; rescanning every %u ms "
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
		p->changes_unknown = true;
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
	p->changes_unknown = true;
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
			log_warn("cannot renew the latest state's expiry: %s "
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

/* More changed paths than this: a rescan is as cheap. */
#define CHANGES_MAX 4096

/* watch_file_fn: one file in the source tree was created, written,
 * moved or removed. */
static void
on_file(const char *dir, const char *name, void *arg)
{
	struct primary *p = arg;
	size_t len = strlen(p->c->source);
	char folder[64];
	int type;

	if (name[0] == '.')
		return;		/* hidden: never an artifact (editors' temps) */
	while (len > 1 && p->c->source[len - 1] == '/')
		len--;
	if (p->changes_unknown || dir == NULL ||
	    strncmp(dir, p->c->source, len) != 0 || dir[len] != '/' ||
	    sscanf(dir + len + 1, "%63[^/]/", folder) != 1 ||
	    strlen(dir + len + 1) != strlen(folder) + 1 ||
	    (type = name_type_of_dir(folder)) < 0)
		goto unknown;	/* top level (labels.conf), or not ours */
	if (p->nchanges == p->capchanges) {
		size_t ncap = p->capchanges ? p->capchanges * 2 : 64;
		void *n = ncap > CHANGES_MAX ? NULL :
		    realloc(p->changes, ncap * sizeof(*p->changes));

		if (n == NULL)
			goto unknown;
		p->changes = n;
		p->capchanges = ncap;
	}
	/* Not *.xml: WSO2 does not read it, nor do we (an editor's temp
	 * file, a README). A *.xml whose name we cannot carry: the rescan
	 * names it among the tree's problems. */
	if (!name_is_xml_file(name))
		return;
	if (name_from_file(name, p->changes[p->nchanges].name, NULL) == 0) {
		p->changes[p->nchanges++].type = type;
		return;
	}
unknown:
	p->changes_unknown = true;
}

static void
on_inotify(struct primary *p)
{
	unsigned flags = watch_drain();

	if (flags & (WATCH_OVERFLOW | WATCH_LOST | WATCH_NEWDIR))
		p->changes_unknown = true;
	if (flags & WATCH_INCOMPLETE) {
		/* A folder nobody watches: poll until inotify covers it. */
		log_warn("%s: a new folder cannot be watched (inotify watch "
		    "limit reached?): rescanning every %u ms", p->c->source,
		    p->c->poll_ms);
		snprintf(p->watch_error, sizeof(p->watch_error), "a new folder "
		    "cannot be watched (inotify watch limit reached?)");
		p->watching = false;
		p->watch_retry = daemon_now_ms() + p->c->retry_ms;
		p->scan_due = daemon_now_ms();
	}
	if (flags & WATCH_OVERFLOW)
		log_warn("inotify queue overflowed: rescanning %s",
		    p->c->source);
	if ((flags & WATCH_LOST) && !(flags & WATCH_INCOMPLETE)) {
		log_warn("%s: watch lost (removed or unmounted)", p->c->source);
		p->watching = false;
	}
	if (flags & WATCH_CHANGED) {
		p->pending = true;
		p->due = daemon_now_ms() + p->c->quiet_ms;
	}
}

/* --- the read-only endpoint (rest_source) --- */

static json_t *
status_json(void *arg)
{
	struct primary *p = arg;

	return json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:s, s:s, s:b, s:o, "
	    "s:o, s:o, s:o}",
	    "role", "primary", "node_id", p->c->node_id,
	    "cluster_id", p->c->cluster_id,
	    "latest_version", (json_int_t)p->latest,
	    "last_publish_at", jf_time_or_null(p->published_at),
	    "last_error", p->last_error[0] ? json_string(p->last_error) :
	    json_null(),
	    "source", p->c->source, "sync_root", p->c->sync_root,
	    "watching", p->watching,
	    "watch_error", p->watching || p->watch_error[0] == '\0' ?
	    json_null() : json_string(p->watch_error),
	    "state_expires_at", jf_time_or_null(p->fresh_until),
	    "renew_error", p->renew_error[0] ? json_string(p->renew_error) :
	    json_null(),
	    "push", push_status_json(p->push));
}

/* The status object with the Redis link's (redis_push.h) added. */
static json_t *
status_all(void *arg)
{
	struct primary *p = arg;
	json_t *j = status_json(arg);

	rpush_status_add(p->redis, j);
	return j;
}

static void
render_metrics(void *arg, FILE *f)
{
	struct primary *p = arg;

	metrics_render_build_info(f);
	fprintf(f, "# HELP artsync_publishes_total Versions published.\n"
	    "# TYPE artsync_publishes_total counter\n"
	    "artsync_publishes_total %" PRIu64 "\n", p->publishes);
	fprintf(f, "# HELP artsync_publish_failures_total Publishes that "
	    "failed (each retry counts).\n"
	    "# TYPE artsync_publish_failures_total counter\n"
	    "artsync_publish_failures_total %" PRIu64 "\n", p->publish_failures);
	histogram_render(&p->publish_time, f, "artsync_publish_seconds",
	    "Duration of each publish that wrote a version.");
	fprintf(f, "# HELP artsync_published_version Latest version in the "
	    "sync root.\n# TYPE artsync_published_version gauge\n"
	    "artsync_published_version %" PRIu64 "\n", p->latest);
	fprintf(f, "# HELP artsync_last_publish_timestamp_seconds Unix time of "
	    "the last publish (0: none yet).\n# TYPE "
	    "artsync_last_publish_timestamp_seconds gauge\n"
	    "artsync_last_publish_timestamp_seconds %" PRId64 "\n",
	    p->published_at);
	fprintf(f, "# HELP artsync_publish_failing 1 while the last publish "
	    "failed.\n# TYPE artsync_publish_failing gauge\n"
	    "artsync_publish_failing %d\n", p->last_error[0] != '\0');
	fprintf(f, "# HELP artsync_source_watch_ok 1 while inotify watches the "
	    "whole source tree; 0 while it is rescanned every poll_ms "
	    "instead.\n# TYPE artsync_source_watch_ok gauge\n"
	    "artsync_source_watch_ok %d\n", p->watching);
	fprintf(f, "# HELP artsync_state_expires_timestamp_seconds Unix time "
	    "the latest signed state expires, as renewed (0: no expiry).\n"
	    "# TYPE artsync_state_expires_timestamp_seconds gauge\n"
	    "artsync_state_expires_timestamp_seconds %" PRId64 "\n",
	    p->fresh_until);
	push_render_metrics(p->push, f);
	rpush_render_metrics(p->redis, f);
}

static bool
healthy(void *arg, char *why, size_t len)
{
	struct primary *p = arg;

	if (rpush_failing(p->redis, why, len))
		return false;
	if (p->last_error[0] == '\0')
		return true;
	snprintf(why, len, "publish failing: %s", p->last_error);
	return false;
}

/* Healthy, but not as it should be: publishing works (by polling), an
 * operator should still look. */
static bool
degraded(void *arg, char *why, size_t len)
{
	struct primary *p = arg;

	if (!p->watching) {
		snprintf(why, len, "not watching the source (%s): rescanning "
		    "every %u ms", p->watch_error[0] ? p->watch_error :
		    "inotify unavailable", p->c->poll_ms);
		return true;
	}
	if (p->renew_error[0] != '\0') {
		snprintf(why, len, "cannot renew the latest state's expiry: %s",
		    p->renew_error);
		return true;
	}
	return false;
}

/* The shorter of a poll timeout (-1: none) and a wait in ms. */
static int
shorter(int timeout, int64_t wait)
{
	if (wait < 0)
		wait = 0;
	if (wait > INT_MAX)
		wait = INT_MAX;
	return timeout < 0 || wait < timeout ? (int)wait : timeout;
}

static int
loop(struct primary *p, int sigfd)
{
	struct pollfd pfd[4 + CONFIG_MAX_PUSH];
	int64_t now, wait;
	int timeout, sig, npush, pt, nrest, nbase;

	for (;;) {
		now = daemon_now_ms();
		if (p->pending && now >= p->due) {
			try_watch(p);
			publish_now(p);
			continue;
		}
		if (!p->watching && p->scan_due != 0 && now >= p->scan_due) {
			scan_now(p);
			continue;
		}
		if (renews(p) && now >= p->renew_due && !p->pending) {
			renew_now(p);
			continue;
		}
		if (p->prune_due != 0 && now >= p->prune_due && !p->pending)
			prune_now(p);
		push_start_due(p->push);
		if (rpush_run(p->redis) == RPUSH_REPUBLISH) {
			p->pending = true;	/* above the store's version */
			p->changes_unknown = true;
			p->due = 0;
			continue;
		}
		timeout = p->pending ? (int)(p->due - now) : -1;
		if (p->prune_due != 0 && !p->pending)
			timeout = (int)(p->prune_due - now);
		if (!p->watching) {
			wait = p->watch_retry - now;
			if (p->scan_due != 0 && p->scan_due - now < wait)
				wait = p->scan_due - now;
			timeout = shorter(timeout, wait);
		}
		if (renews(p) && !p->pending)
			timeout = shorter(timeout, p->renew_due - now);
		pt = push_timeout_ms(p->push);
		if (pt >= 0 && (timeout < 0 || pt < timeout))
			timeout = pt;
		pt = rpush_timeout_ms(p->redis);
		if (pt >= 0 && (timeout < 0 || pt < timeout))
			timeout = pt;
		pt = p->rest != NULL ? rest_timeout_ms(p->rest) : -1;
		if (pt >= 0 && (timeout < 0 || pt < timeout))
			timeout = pt;
		timeout = daemon_watchdog(timeout);
		pfd[0] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = watch_fd(), .events = POLLIN };
		nrest = p->rest != NULL;
		if (nrest)
			pfd[2] = (struct pollfd){ .fd = rest_fd(p->rest),
			    .events = POLLIN };
		nbase = basecopy_fd(&p->base) >= 0;
		if (nbase)
			pfd[2 + nrest] = (struct pollfd){
			    .fd = basecopy_fd(&p->base), .events = POLLIN };
		npush = push_pollfds(p->push, pfd + 2 + nrest + nbase,
		    CONFIG_MAX_PUSH);
		if (poll(pfd, 2 + (nfds_t)(nrest + nbase + npush),
		    timeout) == -1 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			return 1;
		}
		if (pfd[0].revents & POLLIN) {
			sig = daemon_signal_read(sigfd);
			if (sig == SIGTERM || sig == SIGINT) {
				log_info("stopping on signal %d", sig);
				return 0;
			}
			if (sig == SIGHUP) {	/* a manual "publish now", of
						 * the whole tree as it is */
				p->pending = true;
				p->changes_unknown = true;
				p->due = 0;
			}
		}
		if (pfd[1].revents & POLLIN)
			on_inotify(p);
		if (nbase && pfd[2 + nrest].revents != 0)
			basecopy_collect(&p->base, &p->memo);
		push_handle(p->push, pfd + 2 + nrest + nbase, npush);
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
primary_run(const struct config *c)
{
	struct primary p = { .c = c, .pending = true, .due = 0,
	    .memo = SNAP_MEMO_INIT, .changes_unknown = true,
	    .base = BASECOPY_INIT };
	struct snap_err err = SNAP_ERR_INIT;
	int sigfd = -1, rc = 1;

	/* Signals first: a SIGTERM while the schemas compile must still
	 * stop us cleanly (status 0), not by its default action. */
	if ((sigfd = daemon_signals(&err)) == -1 ||
	    (p.xc = xmlcheck_new(&err)) == NULL ||
	    (p.push = push_new(c, &err)) == NULL ||
	    (c->redis_url[0] != '\0' && (p.redis = rpush_new(c, &err)) == NULL)) {
		log_error("%s", err.msg);
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
		struct rest_source src = { c->listen, status_all,
		    render_metrics, healthy, degraded, &p };

		if ((p.rest = rest_new_source(&src, &err)) == NULL) {
			log_error("%s", err.msg);
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
	rc = loop(&p, sigfd);
	daemon_notify_stopping();
out:
	basecopy_stop(&p.base);
	rest_free(p.rest);
	watch_on_file(NULL, NULL);
	watch_cleanup();
	snap_memo_clear(&p.memo);
	free(p.changes);
	push_free(p.push);
	rpush_free(p.redis);
	if (sigfd >= 0)
		close(sigfd);
	xmlcheck_free(p.xc);
	return rc;
}
