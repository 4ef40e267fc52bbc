/*
 * secondary.c - watch the sync root, verify, apply, keep serving.
 *
 * The release current points at is served from the first instant: nothing
 * at start waits for the sync root. New versions are noticed two ways:
 * inotify on the sync root (a local writer, an rsync target) and a poll
 * every poll_ms that opens and reads state.json afresh (NFS, where another
 * client's writes raise no event; open() gives close-to-open consistency).
 *
 * Whatever fails - the share is gone, state.json is torn, a checksum does
 * not match - the current release stays, the error is logged once, and the
 * next event or poll tries again. An older version than the one applied is
 * never applied (rollbacks are published as new versions).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "release.h"
#include "secondary.h"
#include "snap.h"
#include "watch.h"

struct secondary {
	const struct config *c;
	struct deploy d;
	bool watching;
	uint64_t latest_seen;
	char last_error[sizeof(((struct snap_err *)0)->msg)];
};

static void
report_error(struct secondary *s, const char *msg)
{
	if (strcmp(msg, s->last_error) != 0)
		log_error("%s; still serving %s", msg, s->d.has_current ?
		    s->d.current.name : "nothing (no release yet)");
	snprintf(s->last_error, sizeof(s->last_error), "%s", msg);
}

static void
clear_error(struct secondary *s)
{
	if (s->last_error[0] != '\0')
		log_info("sync root readable again");
	s->last_error[0] = '\0';
}

static void
apply(struct secondary *s, struct snap_version *v)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct apply_stats st;
	int64_t start = daemon_now_ms();
	uint64_t version = v->st.version;

	if (deploy_apply(&s->d, v, &st, &err) == -1) {
		snap_err_prefix(&err, "version %" PRIu64 " refused", version);
		report_error(s, err.msg);
		return;
	}
	clear_error(s);
	log_info("applied version %" PRIu64 " as releases/%s in %" PRId64
	    " ms (%s%s, %zu written, %zu removed)", version, s->d.current.name,
	    daemon_now_ms() - start, st.recycled ? "patched " : "full build",
	    st.recycled ? st.base : "", st.written, st.removed);
	daemon_notify_status(s->d.current.name);
}

/* Looks at the sync root now; applies a newer version if there is one. */
static void
check(struct secondary *s)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	uint64_t applied = s->d.has_current ? s->d.current.version : 0;
	int rootfd;

	/* Opened afresh each time: a remounted share is a new directory. */
	if ((rootfd = fsu_open_dir(AT_FDCWD, s->c->sync_root, &err)) == -1) {
		report_error(s, err.msg);
		return;
	}
	if (faccessat(rootfd, STATE_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT && !s->d.has_current) {
		log_debug("%s: nothing published yet", s->c->sync_root);
		goto out;
	}
	if (snap_open(rootfd, 0, &v, &err) == -1) {
		report_error(s, err.msg);
		goto out;
	}
	if (v.st.version > s->latest_seen)
		s->latest_seen = v.st.version;
	if (v.st.version == applied) {
		clear_error(s);
	} else if (v.st.version < applied) {
		snprintf(err.msg, sizeof(err.msg), "sync root holds version %"
		    PRIu64 ", older than applied %" PRIu64 ": not going back",
		    v.st.version, applied);
		report_error(s, err.msg);
	} else {
		apply(s, &v);
	}
out:
	snap_close(&v);
	close(rootfd);
}

static void
try_watch(struct secondary *s)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (s->watching)
		return;
	if (watch_dir(s->c->sync_root, &err) == -1) {
		log_debug("%s (polling only)", err.msg);
		return;
	}
	s->watching = true;
}

static int
loop(struct secondary *s, int sigfd)
{
	struct pollfd pfd[2];
	int64_t next_poll = 0, now;
	unsigned flags;
	int sig;

	for (;;) {
		now = daemon_now_ms();
		if (now >= next_poll) {
			try_watch(s);
			check(s);
			next_poll = daemon_now_ms() + s->c->poll_ms;
			continue;
		}
		pfd[0] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = watch_fd(), .events = POLLIN };
		if (poll(pfd, 2, (int)(next_poll - now)) == -1 &&
		    errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			return 1;
		}
		if (pfd[0].revents & POLLIN) {
			sig = daemon_signal_read(sigfd);
			if (sig == SIGTERM || sig == SIGINT) {
				log_info("stopping on signal %d", sig);
				return 0;
			}
			if (sig == SIGHUP)
				next_poll = 0;	/* check now */
		}
		if (pfd[1].revents & POLLIN) {
			flags = watch_drain();
			if (flags & WATCH_LOST)
				s->watching = false;
			if (flags & (WATCH_STATE | WATCH_LOST))
				next_poll = 0;
		}
	}
}

int
secondary_run(const struct config *c)
{
	struct secondary s = { .c = c, .d = DEPLOY_INIT };
	struct snap_err err = SNAP_ERR_INIT;
	int sigfd = -1, rc = 1;

	if ((sigfd = daemon_signals(&err)) == -1 || watch_init(&err) == -1 ||
	    deploy_open(&s.d, c->deploy_root, c->keep_releases,
	    c->recycle_releases, &err) == -1) {
		log_error("%s", err.msg);
		goto out;
	}
	if (s.d.has_current)
		log_info("serving releases/%s (version %" PRIu64 ") from %s",
		    s.d.current.name, s.d.current.version, c->deploy_root);
	else
		log_info("no release yet in %s: waiting for %s", c->deploy_root,
		    c->sync_root);
	daemon_notify_ready(s.d.has_current ? s.d.current.name : "empty");
	rc = loop(&s, sigfd);
	daemon_notify_stopping();
out:
	watch_cleanup();
	deploy_close(&s.d);
	if (sigfd >= 0)
		close(sigfd);
	return rc;
}
