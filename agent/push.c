/*
 * push.c - rsync children, two stages per version (four to a local path:
 * each rsync followed by a sync of the directory it renamed into),
 * backoff (see push.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "beneath.h"
#include "child.h"
#include "daemon.h"
#include "fresh.h"
#include "fsutil.h"
#include "log.h"
#include "push_int.h"
#include "pushfilter.h"
#include "snap.h"

int
push_check_target(const char *t, struct snap_err *err)
{
	const char *colon;
	size_t i;

	/* Never an option, never anything a shell or rsync would split. */
	if (t[0] == '-' || t[0] == '\0')
		return snap_err_set(err, "push target '%s' is empty or starts "
		    "with '-'", t);
	for (i = 0; t[i] != '\0'; i++)
		if ((unsigned char)t[i] <= ' ' || t[i] == 0x7f)
			return snap_err_set(err, "push target has a blank or "
			    "control byte at offset %zu", i);
	/* A local path (pushconf.h); a ':' in it would make rsync read it
	 * as HOST:PATH. */
	if (push_target_is_local(t))
		return strchr(t, ':') == NULL ? 0 : snap_err_set(err, "push "
		    "target '%s': a local path cannot hold ':'", t);
	if (strncmp(t, "rsync://", 8) == 0) {
		const char *slash = strchr(t + 8, '/');

		if (slash == NULL || slash == t + 8 || slash[1] == '\0' ||
		    slash[1] == '/')
			return snap_err_set(err, "push target '%s' is not "
			    "rsync://HOST[:PORT]/MODULE[/PATH]", t);
		return 0;
	}
	colon = strchr(t, ':');
	if (colon == NULL || colon == t || colon[1] == '\0' ||
	    strchr(t, '/') < colon)
		return snap_err_set(err, "push target '%s' is not "
		    "rsync://HOST[:PORT]/MODULE[/PATH] or [USER@]HOST:PATH", t);
	return 0;
}

struct pusher *
push_new(const struct config *c, struct snap_err *err)
{
	struct pusher *p;
	size_t i;

	for (i = 0; i < c->npush; i++)
		if (push_check_target(c->push[i], err) == -1)
			return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->t = calloc(c->npush + 1, sizeof(*p->t))) == NULL) {
		free(p);
		snap_err_set(err, "out of memory");
		return NULL;
	}
	p->c = c;
	p->n = c->npush;
	push_opts_init(&p->opts, c);
	for (i = 0; i < p->n; i++) {
		p->t[i].url = c->push[i];
		p->t[i].errfd = -1;
		p->t[i].delay_ms = c->retry_ms;
	}
	return p;
}

static void
stop_child(struct target *t)
{
	child_stop(&t->pid, &t->errfd);
	t->stage = STAGE_IDLE;
}

void
push_free(struct pusher *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		stop_child(&p->t[i]);
	free(p->t);
	free(p);
}

void
push_want(struct pusher *p, uint64_t version)
{
	size_t i;

	if (version <= p->latest)
		return;
	p->latest = version;
	/* A new version is worth trying at once, even after giving up. */
	for (i = 0; i < p->n; i++) {
		p->t[i].gave_up = false;
		p->t[i].due_ms = 0;
	}
}

void
push_refresh(struct pusher *p)
{
	size_t i;

	for (i = 0; p != NULL && i < p->n; i++)
		p->t[i].stale_ts = true;
}

bool
push_wants(const struct pusher *p, const struct target *t)
{
	return t->pushed < p->latest || (t->stale_ts && t->pushed > 0);
}

/* Whether the sync root has a timestamp record to push (fresh.h). */
static bool
have_timestamp(const struct pusher *p)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/" FRESH_FILE, p->c->sync_root);
	return access(path, F_OK) == 0;
}

/* dest = url + "/" + rest, with exactly one slash between. */
static void
join(char *out, size_t len, const char *url, const char *rest)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	snprintf(out, len, "%.*s/%s", (int)n, url, rest);
}

/*
 * Spawns rsync with argv in the directory cwdfd, its stdin from infd (-1:
 * /dev/null); its stderr goes to a pipe we keep.
 */
static int
spawn(struct target *t, char *const argv[], int cwdfd, int infd)
{
	/* rsync reads snapshots/ as we opened it, never through a path that
	 * a symlink put in its place since could redirect. */
	if (child_spawn(argv, NULL, 0, infd, cwdfd, &t->pid, &t->errfd) == -1)
		return -1;
	t->errlen = 0;
	t->errbuf[0] = '\0';
	return 0;
}

/* snapshots/ of the sync root, opened as every path below it is
 * (beneath.h): a symlink there is refused, and named in err. */
static int
open_snapshots(const struct pusher *p, struct snap_err *err)
{
	int rootfd, fd;

	if ((rootfd = fsu_open_root(p->c->sync_root, err)) == -1)
		return -1;
	if ((fd = beneath_open_dir(rootfd, "snapshots", err)) == -1)
		snap_err_prefix(err, "sync root %s", p->c->sync_root);
	close(rootfd);
	return fd;
}

/*
 * Starts rsync for `stage` of t->pushing: 0, or -1 with err. Stage 1 sends
 * only our files (pushfilter.h) and deletes only names of ours; stage 2
 * sends the version's state copy, which must be a regular file (rsync
 * would skip a symlink and still succeed).
 */
static int
start_stage(struct pusher *p, struct target *t, enum stage stage,
    struct snap_err *err)
{
	char src[64], dst[PATH_MAX + 64], maxsize[48];
	struct stat st;
	char *argv[16 + PUSH_OPTS_ARGV];
	int i = 0, snapfd, filter = -1, rc = -1;

	if ((snapfd = open_snapshots(p, err)) == -1)
		return -1;
	if (stage == STAGE_SYNC_SNAPSHOTS || stage == STAGE_SYNC_ROOT) {
		argv[i++] = "sync";	/* coreutils: fsync(2) of each */
		argv[i++] = "--";
		if (stage == STAGE_SYNC_SNAPSHOTS)
			join(dst, sizeof(dst), t->url, "snapshots");
		else
			snprintf(dst, sizeof(dst), "%s", t->url);
		argv[i++] = dst;
		argv[i] = NULL;
		goto spawn;
	}
	/* The argv is built in full first; the child does nothing but exec. */
	argv[i++] = "rsync";
	argv[i++] = "-rt";
	argv[i++] = "--mkpath";
	argv[i++] = "--timeout=60";
	if (stage == STAGE_SNAPSHOTS) {
		/* The rules come on stdin: "- *" last keeps every other name
		 * from being sent, or deleted there (no --delete-excluded). A
		 * file grown past its limit since the filter was written
		 * is still not sent. */
		snprintf(maxsize, sizeof(maxsize), "--max-size=%" PRIu64,
		    (uint64_t)SNAP_ARCHIVE_MAX_BYTES);
		argv[i++] = "--delete";
		argv[i++] = "--exclude-from=-";
		argv[i++] = maxsize;
		if ((filter = memfd_create("artsync-push-filter",
		    MFD_CLOEXEC)) == -1) {
			snap_err_sys(err, errno, "push filter");
			goto out;
		}
		if (pushfilter_write(snapfd, t->pushing, filter, err) == -1)
			goto out;
		if (lseek(filter, 0, SEEK_SET) == -1) {
			snap_err_sys(err, errno, "push filter: seek");
			goto out;
		}
		snprintf(src, sizeof(src), "./");
		join(dst, sizeof(dst), t->url, "snapshots/");
	} else if (stage == STAGE_STATE) {
		/* Two state copies can match in size and mtime second, and
		 * rsync's quick check would then skip the one that matters:
		 * this small file always goes. */
		argv[i++] = "--ignore-times";
		snprintf(src, sizeof(src), "./%" PRIu64 ".state.json",
		    t->pushing);
		if (fstatat(snapfd, src + 2, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			snap_err_sys(err, errno, "snapshots/%s", src + 2);
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			snap_err_set(err, "snapshots/%s: not a regular file",
			    src + 2);
			goto out;
		}
		join(dst, sizeof(dst), t->url, "state.json");
	} else {
		/* The renewed expiry, after the state it may name. */
		argv[i++] = "--ignore-times";
		snprintf(src, sizeof(src), "../" FRESH_FILE);
		join(dst, sizeof(dst), t->url, FRESH_FILE);
	}
	push_opts_argv(&p->opts, t->url, argv, &i);	/* pushconf.h */
	argv[i++] = "--";
	argv[i++] = src;
	argv[i++] = dst;
	argv[i] = NULL;
spawn:
	if (spawn(t, argv, snapfd, filter) == -1) {
		snap_err_sys(err, errno, "cannot run %s", argv[0]);
		goto out;
	}
	t->stage = stage;
	rc = 0;
out:
	if (filter >= 0)
		close(filter);
	close(snapfd);
	return rc;
}

static void
schedule_retry(struct pusher *p, struct target *t, const char *why)
{
	uint64_t next;

	t->tries++;
	snprintf(t->last_error, sizeof(t->last_error), "%s", why);
	if (p->c->retry_max_tries > 0 && t->tries >= p->c->retry_max_tries) {
		log_errorx("push %s: version %" PRIu64 " failed (%s); gave up "
		    "after %u tries until the next version", t->url,
		    t->pushing, why, t->tries);
		t->gave_up = true;
		return;
	}
	t->due_ms = daemon_now_ms() + t->delay_ms;
	log_fields(LOG_LEVEL_WARN, LOG_FIELDS(LOG_INT("version", t->pushing),
	    LOG_STR("target", t->url), LOG_STR("reason", why)),
	    "push %s: version %" PRIu64 " failed (%s); retry %u in %u ms",
	    t->url, t->pushing, why, t->tries, t->delay_ms);
	next = (uint64_t)t->delay_ms * p->c->retry_factor;
	t->delay_ms = next > p->c->retry_max_ms ? p->c->retry_max_ms :
	    (unsigned)next;
}

void
push_start_due(struct pusher *p)
{
	struct snap_err err = SNAP_ERR_INIT;
	int64_t now = daemon_now_ms();
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct target *t = &p->t[i];

		if (t->stage != STAGE_IDLE || t->gave_up || !push_wants(p, t) ||
		    now < t->due_ms)
			continue;
		if (t->pushed >= p->latest) {
			/* Only the expiry was renewed: that file alone. */
			t->pushing = t->pushed;
			if (!have_timestamp(p))
				t->stale_ts = false;
			else if (start_stage(p, t, STAGE_TIMESTAMP, &err) == -1)
				schedule_retry(p, t, err.msg);
			continue;
		}
		/* Whatever was missed, the latest is what a target needs. */
		t->pushing = p->latest;
		if (start_stage(p, t, STAGE_SNAPSHOTS, &err) == -1)
			schedule_retry(p, t, err.msg);
	}
}

int
push_pollfds(struct pusher *p, struct pollfd *fds, int max)
{
	size_t i;
	int n = 0;

	for (i = 0; p != NULL && i < p->n && n < max; i++)
		if (p->t[i].errfd >= 0)
			fds[n++] = (struct pollfd){ .fd = p->t[i].errfd,
			    .events = POLLIN };
	return n;
}

/* rsync's exit codes (rsync(1) EXIT VALUES) that an operator will meet. */
static const char *
exit_text(int code)
{
	switch (code) {
	case 1: return "syntax or usage error";
	case 3: return "errors selecting input/output files, dirs";
	case 5: return "error starting client-server protocol";
	case 10: return "error in socket I/O";
	case 11: return "error in file I/O";
	case 12: return "error in rsync protocol data stream";
	case 23: return "partial transfer due to error";
	case 24: return "partial transfer due to vanished source files";
	case 30: return "timeout in data send/receive";
	case 35: return "timeout waiting for daemon connection";
	default: return "failed";
	}
}

/* The stage after `done` (STAGE_IDLE: the version is pushed). */
static enum stage
next_stage(const struct pusher *p, const struct target *t, enum stage done)
{
	bool local = push_target_is_local(t->url);

	switch (done) {
	case STAGE_SNAPSHOTS:
		return local ? STAGE_SYNC_SNAPSHOTS : STAGE_STATE;
	case STAGE_SYNC_SNAPSHOTS:
		return STAGE_STATE;
	case STAGE_STATE:
		if (have_timestamp(p))
			return STAGE_TIMESTAMP;
		return local ? STAGE_SYNC_ROOT : STAGE_IDLE;
	case STAGE_TIMESTAMP:
		return local ? STAGE_SYNC_ROOT : STAGE_IDLE;
	default:
		return STAGE_IDLE;
	}
}

static void
finished(struct pusher *p, struct target *t, int status)
{
	struct snap_err err = SNAP_ERR_INIT;
	char why[640];
	enum stage stage = t->stage, next;
	bool renewal, sync = stage == STAGE_SYNC_SNAPSHOTS ||
	    stage == STAGE_SYNC_ROOT;

	close(t->errfd);
	t->errfd = -1;
	t->pid = -1;
	t->stage = STAGE_IDLE;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if ((next = next_stage(p, t, stage)) != STAGE_IDLE) {
			if (start_stage(p, t, next, &err) == -1)
				schedule_retry(p, t, err.msg);
			return;
		}
		renewal = t->pushed == t->pushing;
		t->pushed = t->pushing;
		t->stale_ts = false;
		if (t->tries > 0)
			log_info("push %s: back after %u failed tries", t->url,
			    t->tries);
		t->tries = 0;
		t->delay_ms = p->c->retry_ms;
		t->last_error[0] = '\0';
		if (renewal)
			log_debug("pushed the renewed expiry of version %" PRIu64
			    " to %s", t->pushed, t->url);
		else
			log_fields(LOG_LEVEL_INFO, LOG_FIELDS(
			    LOG_INT("version", t->pushed),
			    LOG_STR("target", t->url)),
			    "pushed version %" PRIu64 " to %s", t->pushed,
			    t->url);
		return;
	}
	/* The last line rsync wrote says more than its exit code. */
	while (t->errlen > 0 && t->errbuf[t->errlen - 1] == '\n')
		t->errbuf[--t->errlen] = '\0';
	{
		char *last = strrchr(t->errbuf, '\n');

		snprintf(why, sizeof(why), "%s exit %d, %s%s%s",
		    sync ? "sync" : "rsync",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		    !WIFEXITED(status) ? "killed" : sync ? "failed" :
		    exit_text(WEXITSTATUS(status)), t->errlen ? ": " : "",
		    last ? last + 1 : t->errbuf);
	}
	/* What a child wrote is not ours: a remote shell, a login banner
	 * or the far side may put escape sequences or bytes that are not
	 * UTF-8 there, which must reach neither the log nor status (whose
	 * JSON cannot hold them). */
	snap_err_sanitize(why);
	schedule_retry(p, t, why);
}

/* Keeps the tail of what rsync wrote (its last line is what matters);
 * at EOF, reaps it. */
static void
drain(struct pusher *p, struct target *t)
{
	int status;

	if (child_read_tail(t->errfd, t->errbuf, sizeof(t->errbuf),
	    &t->errlen) == 0) {	/* EOF: rsync is exiting */
		if (waitpid(t->pid, &status, 0) == -1)
			status = -1;
		finished(p, t, status);
	}
}

void
push_handle(struct pusher *p, const struct pollfd *fds, int n)
{
	size_t i;
	int k;

	for (k = 0; k < n; k++) {
		if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (i = 0; i < p->n; i++)
			if (p->t[i].errfd == fds[k].fd) {
				drain(p, &p->t[i]);
				break;
			}
	}
}

int
push_timeout_ms(const struct pusher *p)
{
	int64_t now = daemon_now_ms(), best = -1;
	size_t i;

	for (i = 0; p != NULL && i < p->n; i++) {
		const struct target *t = &p->t[i];
		int64_t wait;

		if (t->stage != STAGE_IDLE || t->gave_up || !push_wants(p, t))
			continue;
		wait = t->due_ms > now ? t->due_ms - now : 0;
		if (best < 0 || wait < best)
			best = wait;
	}
	return (int)best;
}
