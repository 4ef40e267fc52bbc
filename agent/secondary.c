/*
 * secondary.c - the secondary daemon's one event loop: the sync root
 * watched and polled, signals, the REST endpoint and a running exec hook,
 * in one poll(2); what each event does to the agent is agent.c's.
 *
 * New versions are noticed two ways: inotify on the sync root (a local
 * writer, an rsync target) and a poll every poll_ms that opens and reads
 * state.json afresh (NFS, where another client's writes raise no event;
 * open() gives close-to-open consistency). SIGHUP reloads the config
 * (reload.h), then asks for a check now, forgetting a refusal; SIGTERM
 * and SIGINT stop the loop, status 0.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "daemon.h"
#include "log.h"
#include "rest.h"
#include "redis_fetch.h"
#include "reload.h"
#include "secondary.h"
#include "token.h"
#include "watch.h"

struct loop {
	struct cmdline *cl;		/* the live config, and how to reread */
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

/* The REST token read again (token_file, or rest.token): a changed one
 * is the only one taken from now on. A token that cannot be read keeps
 * the old. */
static void
reload_token(struct agent *a)
{
	struct snap_err err = SNAP_ERR_INIT;
	char token[sizeof(a->token)];
	bool created;

	if (token_load(a->c, a->d.rootfd, token, sizeof(token), &created,
	    &err) == -1) {
		log_errorx("reload: %s; the old REST token is still the one "
		    "taken", err.msg);
		return;
	}
	if (strcmp(token, a->token) != 0) {
		log_info("token: changed");
		memcpy(a->token, token, sizeof(a->token));
	}
	explicit_bzero(token, sizeof(token));
}

/* SIGHUP: the config read again (reload.h), then what its changes ask
 * the agent to redo. */
static void
reload(struct loop *l)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct agent *a = l->a;
	unsigned what;

	if (reload_config(l->cl, &what) == -1)
		return;
	reload_token(a);
	if (what & RELOAD_TRUST)	/* retried below, by agent_retry() */
		trust_init(&a->trust, a->c);
	if ((what & RELOAD_WEBHOOK) && hook_reload_webhook(a->hook,
	    &err) == -1)
		log_errorx("reload: %s; the old webhook goes on", err.msg);
	if (what & RELOAD_LABELS) {	/* rebuilt for the new labels */
		a->labeled_version = 0;
		agent_reconcile(a);
	}
}

/* The loop's descriptors, one name each. A slot whose fd is -1 (no hook
 * running) is one poll(2) passes over. */
enum {
	SLOT_SIGNAL,
	SLOT_INOTIFY,		/* inotify on the sync root */
	SLOT_HTTP,		/* libmicrohttpd */
	SLOT_HOOK_OUT,		/* a running exec hook's output */
	SLOT_HOOK_END,		/* its pidfd */
	SLOT_REDIS,		/* a Redis sync root's notifications */
	SLOT_REDIS_JOB,		/* its worker: a mirror is back */
	SLOT_COUNT,
};

/* The poll timeout: the next check, or sooner for MHD or a hook. */
static int
timeout_ms(struct loop *l, int64_t next_poll, int64_t now)
{
	int timeout = (int)(next_poll - now), t;

	if ((t = rest_timeout_ms(l->rest)) >= 0 && t < timeout)
		timeout = t;
	if ((t = rfetch_timeout_ms(l->a->redis)) >= 0 && t < timeout)
		timeout = t;
	if ((t = hook_timeout_ms(l->a->hook)) >= 0 && t < timeout)
		timeout = t;
	return daemon_watchdog(timeout);	/* wake in time to ping */
}

/* The worker's mirror is back: check the cache it wrote. */
static void
mirrored(struct loop *l, int64_t *next_poll)
{
	bool again;
	int rc = rfetch_end(l->a->redis, l->a, &again);

	if (rc == 1)
		return;
	if (rc == 0)
		agent_check(l->a);
	agent_startup_progress(l->a);
	if (again)
		*next_poll = 0;	/* asked for while it ran */
}

static int
run(struct loop *l)
{
	struct pollfd pfd[SLOT_COUNT];
	int64_t next_poll = 0, now;
	int sig;
	unsigned flags;

	for (;;) {
		now = daemon_now_ms();
		if (now >= next_poll) {
			try_watch(l);
			next_poll = daemon_now_ms() + l->a->c->poll_ms;
			/* A Redis sync root: mirrored first, on the worker;
			 * checked when it is back (SLOT_REDIS_JOB). */
			if (rfetch_begin(l->a->redis) == -1) {
				agent_check(l->a);
				agent_startup_progress(l->a);
			}
			continue;
		}
		pfd[SLOT_SIGNAL] = (struct pollfd){ .fd = l->sigfd,
		    .events = POLLIN };
		pfd[SLOT_INOTIFY] = (struct pollfd){ .fd = watch_fd(),
		    .events = POLLIN };
		pfd[SLOT_HTTP] = (struct pollfd){ .fd = rest_fd(l->rest),
		    .events = POLLIN };
		hook_pollfds(l->a->hook, &pfd[SLOT_HOOK_OUT],
		    &pfd[SLOT_HOOK_END]);
		pfd[SLOT_REDIS] = (struct pollfd){ .fd = rfetch_fd(l->a->redis),
		    .events = POLLIN };
		pfd[SLOT_REDIS_JOB] = (struct pollfd){
		    .fd = rfetch_job_fd(l->a->redis), .events = POLLIN };
		if (poll(pfd, SLOT_COUNT, timeout_ms(l, next_poll,
		    now)) == -1 && errno != EINTR) {
			log_error("poll");
			return 1;
		}
		daemon_tick();		/* /livez */
		if (pfd[SLOT_SIGNAL].revents & POLLIN) {
			sig = daemon_signal_read(l->sigfd);
			if (sig == SIGTERM || sig == SIGINT) {
				log_info("stopping on signal %d", sig);
				return 0;
			}
			if (sig == SIGHUP) {
				reload(l);
				agent_retry(l->a);
				next_poll = 0;	/* check now */
			}
		}
		if (pfd[SLOT_INOTIFY].revents & POLLIN) {
			flags = watch_drain();
			if (flags & WATCH_LOST)
				l->watching = false;
			if (flags & (WATCH_STATE | WATCH_LOST))
				next_poll = 0;
		}
		if (pfd[SLOT_REDIS_JOB].revents & POLLIN)
			mirrored(l, &next_poll);
		if ((pfd[SLOT_REDIS].revents != 0 &&
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

	/* Signals first: a SIGTERM while the schemas compile must still
	 * stop us cleanly (status 0), not by its default action. */
	if ((l->sigfd = daemon_signals(err)) == -1 || watch_init(err) == -1 ||
	    agent_open(a, c, err) == -1 || (l->rest = rest_new(a, err)) == NULL)
		return -1;
	if (c->redis_url[0] != '\0' && (a->redis = rfetch_new(c, err)) == NULL)
		return -1;
	return 0;
}

int
secondary_run(struct cmdline *cl)
{
	const struct config *c = &cl->c;
	struct agent a = AGENT_INIT;
	struct loop l = { .cl = cl, .a = &a, .sigfd = -1 };
	struct snap_err err = SNAP_ERR_INIT;
	int rc = 1;

	a.c = c;
	if (start(&a, &l, &err) == -1) {
		log_errorx("%s", err.msg);
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
		    a.trust.require_fresh ? ", and not expired" : "");
	}
	if (c->min_version > 0)
		log_info("applying no version below %" PRIu64 " (min_version)",
		    c->min_version);
	agent_reconcile(&a);
	daemon_watchdog_init();
	if (!a.starting)
		daemon_notify_ready(a.d.has_current ? a.d.current.name : "empty");
	rc = run(&l);
	daemon_notify_stopping();
out:
	rest_free(l.rest);
	rfetch_free(a.redis);
	agent_close(&a);
	watch_cleanup();
	if (l.sigfd >= 0)
		close(l.sigfd);
	return rc;
}
