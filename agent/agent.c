/*
 * agent.c - a secondary's model (see agent.h): check the sync root,
 * verify, apply, rebuild for a local change, keep serving, say whether it
 * is healthy.
 *
 * The release current points at is served from the first instant: nothing
 * at open waits for the sync root. Whatever fails - the share is gone,
 * state.json is torn, a checksum does not match - the current release
 * stays, the error is logged once, counted by its code, and the next
 * check tries again. An older version than the one applied is never
 * applied (rollbacks are published as new versions). What a verified
 * state.json must also be (this cluster's, fresh, not below min_version)
 * and what a final refusal leaves behind are trust.c's. Which event calls
 * agent_check() is the loop's (secondary.c) or an operator's (rest.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "stages.h"

int
agent_open(struct agent *a, const struct config *c, struct snap_err *err)
{
	a->c = c;
	trust_init(&a->trust, c);
	stages_init(a->m.stage, APPLY_STAGES);
	a->starting = c->startup_sync;
	if ((a->xc = xmlcheck_new(err)) == NULL ||
	    (a->checks = xmlpool_new(a->xc, XMLPOOL_PER_CPU, err)) == NULL ||
	    deploy_open(&a->d, c->deploy_root, c->keep_releases,
	    c->recycle_releases, err) == -1)
		return -1;
	if (ovr_open(&a->ovr, a->d.rootfd, err) == -1)
		return snap_err_prefix(err, "deploy root %s", c->deploy_root);
	if ((a->hook = hook_new(c, err)) == NULL)
		return -1;
	return 0;
}

void
agent_close(struct agent *a)
{
	hook_free(a->hook);
	a->hook = NULL;
	ovr_close(&a->ovr);
	deploy_close(&a->d);
	xmlpool_free(a->checks);
	xmlcheck_free(a->xc);
	a->checks = NULL;
	a->xc = NULL;
}

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

/* A retired release that could not be recycled (deploy.h: refused). */
static void
log_refused(const struct apply_stats *st)
{
	if (st->refused[0] != '\0')
		log_warnx("%s: not recycled; removed (a link itself, never what "
		    "it points at), the release is built in full", st->refused);
}

/* A synced version's stage breakdown (stages.h): counted, and said at
 * debug level. */
static void
count_stages(struct agent *a, const struct apply_stats *st)
{
	int64_t us[APPLY_STAGES];
	char line[192];

	stages_of_apply(a->notice_us, a->check_us, st, us);
	stages_observe(a->m.stage, us, APPLY_STAGES);
	stages_format(apply_stage_names, us, APPLY_STAGES, line, sizeof(line));
	log_fields(LOG_LEVEL_DEBUG, LOG_FIELDS(
	    LOG_INT("version", a->d.current.version)),
	    "version %" PRIu64 ": apply stages (ms): %s",
	    a->d.current.version, line);
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
		if (v != NULL)
			count_stages(a, &st);
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
	trust_forget_refusal(&a->trust);
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
		trust_remember_refusal(&a->trust, v, &err);
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
	trust_set_root(&a->trust, down ? ROOT_UNREACHABLE : ROOT_UNVERIFIABLE);
}

/*
 * How long before `wall` (the check's start) state.json was renamed in, in
 * us: its ctime, which the rename set (its mtime is older: the temp was
 * written before the primary's fsyncs). On a share that is the primary's
 * clock: -1 when it reads ahead of ours.
 */
static int64_t
since_renamed(const struct stat *sst, const struct timespec *wall)
{
	int64_t us = ((int64_t)wall->tv_sec - sst->st_ctim.tv_sec) * 1000000 +
	    (wall->tv_nsec - sst->st_ctim.tv_nsec) / 1000;

	return us >= 0 ? us : -1;
}

void
agent_check(struct agent *a)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	uint64_t applied = a->d.has_current ? a->d.current.version : 0;
	struct timespec wall;
	struct stat sst;
	int rootfd;

	a->check_us = fsu_mono_us();
	clock_gettime(CLOCK_REALTIME, &wall);
	/* Opened afresh each time: a remounted share is a new directory. */
	if ((rootfd = fsu_open_root(a->c->sync_root, &err)) == -1) {
		report_error(a, &err, false, 0);
		trust_set_root(&a->trust, ROOT_UNREACHABLE);
		return;
	}
	if (fstatat(rootfd, STATE_FILE, &sst, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT && !a->d.has_current) {
			log_debug("%s: nothing published yet", a->c->sync_root);
			trust_set_root(&a->trust, ROOT_OK);
		} else {
			snap_err_sys(&err, errno, "%s/" STATE_FILE,
			    a->c->sync_root);
			report_error(a, &err, false, 0);
			trust_set_root(&a->trust, ROOT_UNREACHABLE);
		}
		goto out;
	}
	a->notice_us = since_renamed(&sst, &wall);
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
	if (trust_check_state(&a->trust, rootfd, &v, applied, &err) == -1 ||
	    agent_fence(a, rootfd, &v.st, &err) == -1) {	/* epochs (ha) */
		report_error(a, &err, true, v.st.version);
		goto out;
	}
	trust_set_root(&a->trust, ROOT_OK);
	if (v.st.version > a->latest_seen)
		a->latest_seen = v.st.version;
	if (v.st.version == applied && a->d.upstream_m != NULL) {
		clear_error(a);
	} else if (trust_refused_before(&a->trust, &v)) {
		/* Said and counted already; said again only if another
		 * error (the share went away) came in between. */
		report_error(a, &a->trust.refused.why, false, v.st.version);
	} else if (snap_open_since(rootfd, 0, a->d.upstream_m, &v,
	    &err) == -1) {
		report_error(a, &err, true, v.st.version);
		trust_remember_refusal(&a->trust, &v, &err);
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

/* Whether a verified release is served, a sync startup done. */
static bool
serving(const struct agent *a, char *why, size_t len)
{
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
	return true;
}

/* Whether a newer version has waited past max_lag_ms. */
static bool
known_behind(const struct agent *a, char *why, size_t len)
{
	int64_t lag = a->behind_since_ms ? daemon_now_ms() -
	    a->behind_since_ms : 0;

	if (lag <= (int64_t)a->c->max_lag_ms)
		return false;
	snprintf(why, len, "behind: serving version %" PRIu64 ", version "
	    "%" PRIu64 " seen %" PRId64 " ms ago%s%s", a->d.current.version,
	    a->latest_seen, lag, a->last_error[0] ? ": " : "", a->last_error);
	return true;
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
	if (!serving(a, why, len))
		return false;
	lag = a->trust.root_since_ms ? daemon_now_ms() -
	    a->trust.root_since_ms : 0;
	if (lag > (int64_t)a->c->max_lag_ms) {
		snprintf(why, len, "sync root %s for %" PRId64 " ms (serving "
		    "version %" PRIu64 "): %s",
		    trust_root_state_words(a->trust.root_state), lag,
		    a->d.current.version, a->last_error);
		return false;
	}
	return !known_behind(a, why, len);
}

bool
agent_ready(const struct agent *a, char *why, size_t len)
{
	return serving(a, why, len) && !known_behind(a, why, len);
}

/* After a crash between saving overrides and the swap, or a restart with
 * other --labels, what is deployed is not upstream (for our labels) plus
 * overrides: rebuild once at start. */
void
agent_reconcile(struct agent *a)
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
		log_warnx("deployed release differs from upstream plus local "
		    "overrides: rebuilding");
		if (agent_rebuild(a, NULL, SWAP_RECONCILE, &http, &err) == -1)
			log_errorx("rebuild failed: %s", err.msg);
	}
	manifest_free(want);
}

/*
 * startup = sync: ready (sd_notify READY=1, /healthz) only once the latest
 * version in the sync root is applied, or after startup_tries checks could
 * not get there - then with whatever release there is, and saying why.
 */
void
agent_startup_progress(struct agent *a)
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
		log_warnx("startup: the latest version could not be applied in "
		    "%u checks; ready with %s", a->c->startup_tries,
		    a->d.has_current ? a->d.current.name : "no release");
	daemon_notify_ready(a->d.has_current ? a->d.current.name : "empty");
}
