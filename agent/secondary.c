/*
 * secondary.c - watch the sync root, verify, apply, keep serving; and serve
 * the local REST endpoint, all from one event loop.
 *
 * The release current points at is served from the first instant: nothing
 * at start waits for the sync root. New versions are noticed two ways:
 * inotify on the sync root (a local writer, an rsync target) and a poll
 * every poll_ms that opens and reads state.json afresh (NFS, where another
 * client's writes raise no event; open() gives close-to-open consistency).
 *
 * Whatever fails - the share is gone, state.json is torn, a checksum does
 * not match - the current release stays, the error is logged once, counted
 * by its code, and the next event or poll tries again. An older version
 * than the one applied is never applied (rollbacks are published as new
 * versions). What a verified state.json must also be (this cluster's,
 * fresh, not below min_version) and what a final refusal leaves behind
 * are trust.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "redis_fetch.h"
#include "rest.h"
#include "secondary.h"
#include "watch.h"

/* Says a failure once, and counts a refusal once, by its code; version:
 * the one refused or that could not be read (0: none known). */
static void
report_error(struct agent *a, const struct snap_err *err, bool reject,
    uint64_t version)
{
	if (strcmp(err->msg, a->last_error) != 0) {
		log_fields(LOG_LEVEL_ERROR, LOG_FIELDS(
		    LOG_INT("version", version),
		    LOG_STR("reason", snap_code_name(err->code)),
		    LOG_STR("release", a->d.has_current ? a->d.current.name :
		    "")),
		    "%s; still serving %s", err->msg, a->d.has_current ?
		    a->d.current.name : "nothing (no release yet)");
		/* Counted once per distinct refusal, not at every poll. */
		if (reject)
			metrics_count_reject(&a->m, err->code);
	}
	snprintf(a->last_error, sizeof(a->last_error), "%s", err->msg);
}

static void
clear_error(struct agent *a)
{
	if (a->last_error[0] != '\0')
		log_info("sync root readable again; serving %s",
		    a->d.current.name);
	a->last_error[0] = '\0';
	a->last_sync_at = fsu_now();
}

/*
 * Whether the release holds exactly upstream (no override, every
 * artifact labeled for us), at the cost of the change. When every artifact
 * of the applied upstream version is known to carry one of our labels, a
 * version opened as deltas on it needs only what its deltas bring checked
 * (what they remove cannot matter), and a local change nothing.
 */
static bool
target_is_upstream(struct agent *a, const struct manifest *up,
    const struct snap_version *v)
{
	bool known = a->labeled_version != 0 &&
	    a->labeled_version == a->d.upstream_version, ok = true;
	size_t i;

	if (a->ovr.n != 0)
		return false;
	if (!known || (v != NULL && !v->from_delta))
		ok = ovr_all_labeled(up, a->c->labels);
	else if (v != NULL)
		for (i = 0; ok && i < v->nlayers; i++)
			ok = ovr_all_labeled(v->layers[i].m, a->c->labels);
	a->labeled_version = ok ? up->version : 0;
	return ok;
}

/* A retired release that could not be recycled (release.h: refused). */
static void
log_refused(const struct apply_stats *st)
{
	if (st->refused[0] != '\0')
		log_warn("%s: not recycled; removed (a link itself, never what "
		    "it points at), the release is built in full", st->refused);
}

int
agent_rebuild(struct agent *a, struct snap_version *v,
    enum swap_reason reason, int *http, struct snap_err *err)
{
	struct snap_version local = SNAP_VERSION_INIT;
	struct build_plan p = { .v = v, .localfd = a->ovr.dirfd,
	    .checks = a->checks };
	struct apply_stats st;
	int rc = -1, rootfd = -1;
	int64_t start = daemon_now_ms();
	uint64_t before = a->d.has_current ? a->d.current.version : 0;

	*http = 500;
	p.upstream = v != NULL ? v->m : a->d.upstream_m;
	if (p.upstream == NULL)
		return snap_err_set(err, "no record of the applied upstream "
		    "version; waiting for the next sync");
	p.target = target_is_upstream(a, p.upstream, v) ? p.upstream :
	    ovr_target(p.upstream, &a->ovr, a->c->labels, err);
	if (p.target == NULL)
		return -1;
	rc = deploy_build(&a->d, &p, &st, err);
	log_refused(&st);
	if (rc == -1 && st.missing_source && v == NULL) {
		/* A local change needs a file only upstream holds (a
		 * redeploy): read the applied version from the sync root. */
		*http = 503;
		rootfd = fsu_open_root(a->c->sync_root, err);
		local.pub = a->c->have_key ? &a->c->key : NULL;
		if (rootfd >= 0 && snap_open(rootfd, a->d.upstream_m->version,
		    &local, err) == 0) {
			p.v = &local;
			rc = deploy_build(&a->d, &p, &st, err);
			log_refused(&st);
		}
		if (rc == -1)
			snap_err_prefix(err, "sync root %s", a->c->sync_root);
	}
	if (rc == 0) {
		if (v != NULL)
			v->m = NULL;	/* the deploy owns it now */
		metrics_count_apply(&a->m, (uint64_t)(daemon_now_ms() - start),
		    v != NULL ? daemon_wall_ms() - v->st.published_at * 1000 : -1);
		log_fields(LOG_LEVEL_INFO, LOG_FIELDS(
		    LOG_INT("version", a->d.current.version),
		    LOG_STR("release", a->d.current.name)),
		    "releases/%s (version %" PRIu64 ") live in %" PRIu64
		    " ms (%s%s, %zu written, %zu removed)", a->d.current.name,
		    a->d.current.version, a->m.apply_ms_last,
		    st.recycled ? "patched " : "full build",
		    st.recycled ? st.base : "", st.written, st.removed);
		daemon_notify_status(a->d.current.name);
		hook_swapped(a->hook, reason, before, &a->d.current,
		    st.written + st.removed);
	}
	if (p.target != p.upstream)	/* else it is v's or the deploy's */
		manifest_free(p.target);
	snap_close(&local);
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}

void
agent_retry(struct agent *a)
{
	a->refused.version = 0;
}

static void
apply(struct agent *a, struct snap_version *v)
{
	struct snap_err err = SNAP_ERR_INIT;
	uint64_t version = v->st.version;
	int http;

	if (agent_rebuild(a, v, SWAP_SYNC, &http, &err) == -1) {
		snap_err_prefix(&err, "version %" PRIu64 " refused", version);
		report_error(a, &err, true, version);
		agent_remember_refusal(a, v, &err);
		return;
	}
	clear_error(a);
}

/* A failure to read state.json itself: the share failing, or what it
 * holds not verifying. */
static void
state_unusable(struct agent *a, const struct snap_err *err)
{
	bool down = err->code == SNAP_E_IO || err->code == SNAP_E_MISSING ||
	    err->code == SNAP_E_NOMEM;

	report_error(a, err, true, 0);
	agent_set_root_state(a, down ? ROOT_UNREACHABLE : ROOT_UNVERIFIABLE);
}

void
agent_check(struct agent *a)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	uint64_t applied = a->d.has_current ? a->d.current.version : 0;
	int rootfd;

	/* Opened afresh each time: a remounted share is a new directory. */
	if ((rootfd = fsu_open_root(a->c->sync_root, &err)) == -1) {
		report_error(a, &err, false, 0);
		agent_set_root_state(a, ROOT_UNREACHABLE);
		return;
	}
	if (faccessat(rootfd, STATE_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT && !a->d.has_current) {
			log_debug("%s: nothing published yet", a->c->sync_root);
			agent_set_root_state(a, ROOT_OK);
		} else {
			snap_err_sys(&err, errno, "%s/" STATE_FILE,
			    a->c->sync_root);
			report_error(a, &err, false, 0);
			agent_set_root_state(a, ROOT_UNREACHABLE);
		}
		goto out;
	}
	/* state.json alone says whether there is anything to do: a poll
	 * reads one small file (and, with a key, its signature), whatever
	 * the size of the tree. */
	v.pub = a->c->have_key ? &a->c->key : NULL;
	/* A full version's events (version 1's: a DEPLOY per artifact, 6 MB
	 * at 100,000) serve no one here; a delta's are kept: its record
	 * holds its removals. */
	v.drop_full_events = true;
	if (snap_read_state(rootfd, &v, &err) == -1) {
		state_unusable(a, &err);
		goto out;
	}
	if (agent_trust_state(a, rootfd, &v, applied, &err) == -1) {
		report_error(a, &err, true, v.st.version);
		goto out;
	}
	agent_set_root_state(a, ROOT_OK);
	if (v.st.version > a->latest_seen)
		a->latest_seen = v.st.version;
	if (v.st.version == applied && a->d.upstream_m != NULL) {
		clear_error(a);
	} else if (agent_refused_before(a, &v)) {
		/* Said and counted already; said again only if another
		 * error (the share went away) came in between. */
		report_error(a, &a->refused.why, false, v.st.version);
	} else if (snap_open_since(rootfd, 0, a->d.upstream_m, &v,
	    &err) == -1) {
		report_error(a, &err, true, v.st.version);
		agent_remember_refusal(a, &v, &err);
	} else {
		bool in_place = v.m_borrowed;

		apply(a, &v);
		snap_close(&v);
		/* What an apply that copied freed (a replaced manifest:
		 * ~14 MB at 100,000 artifacts) goes back to the system, not
		 * into a heap that only grows. */
		if (!in_place)
			malloc_trim(0);
	}
out:
	snap_close(&v);
	close(rootfd);
	/* Behind is measured from when we first knew it. */
	applied = a->d.has_current ? a->d.current.version : 0;
	if (a->latest_seen <= applied)
		a->behind_since_ms = 0;
	else if (a->behind_since_ms == 0)
		a->behind_since_ms = daemon_now_ms();
}

bool
agent_healthy(const struct agent *a, char *why, size_t len)
{
	char scratch[8];
	int64_t lag;

	if (why == NULL) {
		why = scratch;
		len = sizeof(scratch);
	}
	if (a->starting) {
		snprintf(why, len, "starting: applying the latest version first "
		    "(startup = sync, %u of %u checks failed)", a->startup_fails,
		    a->c->startup_tries);
		return false;
	}
	if (!a->d.has_current) {
		snprintf(why, len, "no verified release applied yet");
		return false;
	}
	lag = a->root_since_ms ? daemon_now_ms() - a->root_since_ms : 0;
	if (lag > (int64_t)a->c->max_lag_ms) {
		snprintf(why, len, "sync root %s for %" PRId64 " ms (serving "
		    "version %" PRIu64 "): %s", agent_root_state_words(a->root_state),
		    lag, a->d.current.version, a->last_error);
		return false;
	}
	lag = a->behind_since_ms ? daemon_now_ms() - a->behind_since_ms : 0;
	if (lag > (int64_t)a->c->max_lag_ms) {
		snprintf(why, len, "behind: serving version %" PRIu64 ", version "
		    "%" PRIu64 " seen %" PRId64 " ms ago%s%s",
		    a->d.current.version, a->latest_seen, lag,
		    a->last_error[0] ? ": " : "", a->last_error);
		return false;
	}
	return true;
}

/* After a crash between saving overrides and the swap, or a restart with
 * other --labels, what is deployed is not upstream (for our labels) plus
 * overrides: rebuild once at start. */
static void
reconcile(struct agent *a)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *want;
	int http;

	if (!a->d.has_current || a->d.upstream_m == NULL)
		return;
	want = ovr_target(a->d.upstream_m, &a->ovr, a->c->labels, &err);
	if (want == NULL)
		return;
	if (!manifest_same_content(want, a->d.current_m)) {
		log_warn("deployed release differs from upstream plus local "
		    "overrides: rebuilding");
		if (agent_rebuild(a, NULL, SWAP_RECONCILE, &http, &err) == -1)
			log_error("rebuild failed: %s", err.msg);
	}
	manifest_free(want);
}

/*
 * startup = sync: ready (sd_notify READY=1, /healthz) only once the latest
 * version in the sync root is applied, or after startup_tries checks could
 * not get there - then with whatever release there is, and saying why.
 */
static void
startup_progress(struct agent *a)
{
	bool caught_up = a->d.has_current && a->latest_seen > 0 &&
	    a->d.current.version >= a->latest_seen && a->last_error[0] == '\0';

	if (!a->starting)
		return;
	if (!caught_up && ++a->startup_fails < a->c->startup_tries)
		return;
	a->starting = false;
	if (caught_up)
		log_info("startup: version %" PRIu64 " applied; ready",
		    a->d.current.version);
	else
		log_warn("startup: the latest version could not be applied in "
		    "%u checks; ready with %s", a->c->startup_tries,
		    a->d.has_current ? a->d.current.name : "no release");
	daemon_notify_ready(a->d.has_current ? a->d.current.name : "empty");
}

struct loop {
	struct agent *a;
	struct rest *rest;
	int sigfd;
	bool watching;
};

static void
try_watch(struct loop *l)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (l->watching)
		return;
	if (watch_dir(l->a->c->sync_root, &err) == -1) {
		log_debug("%s (polling only)", err.msg);
		return;
	}
	l->watching = true;
}

/* The loop's descriptors, one name each. */
enum {
	PFD_SIGNAL,
	PFD_WATCH,		/* inotify on the sync root */
	PFD_REST,		/* libmicrohttpd */
	PFD_HOOK_OUT,		/* a running exec hook's output */
	PFD_HOOK_END,		/* its pidfd */
	PFD_REDIS,		/* a Redis sync root's notifications */
	PFD_COUNT,
};

/* The poll timeout: the next check, or sooner for MHD or a hook. */
static int
timeout_ms(struct loop *l, int64_t next_poll, int64_t now)
{
	int timeout = (int)(next_poll - now), t;

	if ((t = rest_timeout_ms(l->rest)) >= 0 && t < timeout)
		timeout = t;
	if ((t = hook_timeout_ms(l->a->hook)) >= 0 && t < timeout)
		timeout = t;
	if ((t = rfetch_timeout_ms(l->a->redis)) >= 0 && t < timeout)
		timeout = t;
	return daemon_watchdog(timeout);	/* wake in time to ping */
}

static int
run(struct loop *l)
{
	struct pollfd pfd[PFD_COUNT];
	int64_t next_poll = 0, now;
	int sig;
	unsigned flags;

	for (;;) {
		now = daemon_now_ms();
		if (now >= next_poll) {
			try_watch(l);
			/* A Redis sync root: mirrored first (redis_fetch.h). */
			if (rfetch_sync(l->a->redis, l->a) == 0)
				agent_check(l->a);
			startup_progress(l->a);
			next_poll = daemon_now_ms() + l->a->c->poll_ms;
			continue;
		}
		pfd[PFD_SIGNAL] = (struct pollfd){ .fd = l->sigfd,
		    .events = POLLIN };
		pfd[PFD_WATCH] = (struct pollfd){ .fd = watch_fd(),
		    .events = POLLIN };
		pfd[PFD_REST] = (struct pollfd){ .fd = rest_fd(l->rest),
		    .events = POLLIN };
		hook_pollfds(l->a->hook, &pfd[PFD_HOOK_OUT],
		    &pfd[PFD_HOOK_END]);
		pfd[PFD_REDIS] = (struct pollfd){ .fd = rfetch_fd(l->a->redis),
		    .events = POLLIN };
		if (poll(pfd, PFD_COUNT, timeout_ms(l, next_poll, now)) == -1 &&
		    errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			return 1;
		}
		if (pfd[PFD_SIGNAL].revents & POLLIN) {
			sig = daemon_signal_read(l->sigfd);
			if (sig == SIGTERM || sig == SIGINT) {
				log_info("stopping on signal %d", sig);
				return 0;
			}
			if (sig == SIGHUP) {
				agent_retry(l->a);
				next_poll = 0;	/* check now */
			}
		}
		if (pfd[PFD_WATCH].revents & POLLIN) {
			flags = watch_drain();
			if (flags & WATCH_LOST)
				l->watching = false;
			if (flags & (WATCH_STATE | WATCH_LOST))
				next_poll = 0;
		}
		if ((pfd[PFD_REDIS].revents != 0 &&
		    rfetch_drain(l->a->redis)) || rfetch_due(l->a->redis))
			next_poll = 0;	/* notified, or resubscribe */
		/* MHD and a hook also have timeouts: they run every pass. */
		rest_run(l->rest);
		hook_run(l->a->hook);
	}
}

static int
start(struct agent *a, struct loop *l, struct snap_err *err)
{
	const struct config *c = a->c;

	if (c->token_file[0] != '\0' && config_read_token(c->token_file,
	    a->token, sizeof(a->token), err) == -1)
		return -1;
	/* Signals first: a SIGTERM while the schemas compile must still
	 * stop us cleanly (status 0), not by its default action. */
	if ((l->sigfd = daemon_signals(err)) == -1 ||
	    (a->xc = xmlcheck_new(err)) == NULL ||
	    (a->checks = xmlpool_new(a->xc, XMLPOOL_PER_CPU, err)) == NULL ||
	    watch_init(err) == -1 ||
	    deploy_open(&a->d, c->deploy_root, c->keep_releases,
	    c->recycle_releases, err) == -1)
		return -1;
	if (ovr_open(&a->ovr, a->d.rootfd, err) == -1)
		return snap_err_prefix(err, "deploy root %s", c->deploy_root);
	if ((a->hook = hook_new(c, err)) == NULL)
		return -1;
	if ((l->rest = rest_new(a, err)) == NULL)
		return -1;
	if (c->redis_url[0] != '\0' && (a->redis = rfetch_new(c, err)) == NULL)
		return -1;
	return 0;
}

int
secondary_run(const struct config *c)
{
	struct agent a = { .c = c, .d = DEPLOY_INIT, .ovr = OVERRIDES_INIT,
	    .require_fresh = c->have_key && config_require_fresh(c) };
	struct loop l = { .a = &a, .sigfd = -1 };
	struct snap_err err = SNAP_ERR_INIT;
	int rc = 1;

	if (start(&a, &l, &err) == -1) {
		log_error("%s", err.msg);
		goto out;
	}
	if (a.d.has_current)
		log_info("serving releases/%s (version %" PRIu64 ") from %s",
		    a.d.current.name, a.d.current.version, c->deploy_root);
	else
		log_info("no release yet in %s: waiting for %s", c->deploy_root,
		    c->sync_root);
	log_info("listening on http://%s (port %u)%s", c->listen,
	    rest_port(l.rest), a.token[0] ? ", token required" : "");
	if (c->have_key) {
		char id[17];

		sign_keyid(c->key.keynum, id);
		log_info("applying only versions signed by key %s%s", id,
		    a.require_fresh ? ", and not expired" : "");
	}
	if (c->min_version > 0)
		log_info("applying no version below %" PRIu64 " (min_version)",
		    c->min_version);
	reconcile(&a);
	daemon_watchdog_init();
	a.starting = c->startup_sync;
	if (!a.starting)
		daemon_notify_ready(a.d.has_current ? a.d.current.name : "empty");
	rc = run(&l);
	daemon_notify_stopping();
out:
	rest_free(l.rest);
	rfetch_free(a.redis);
	hook_free(a.hook);
	watch_cleanup();
	ovr_close(&a.ovr);
	deploy_close(&a.d);
	xmlpool_free(a.checks);
	xmlcheck_free(a.xc);
	if (l.sigfd >= 0)
		close(l.sigfd);
	return rc;
}
