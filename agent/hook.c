/*
 * hook.c - the exec hook after a swap, and the one call site for both
 * sinks (see hook.h).
 *
 * A hook's life: RUN_IDLE -> RUN_RUNNING -> (ends) -> RUN_IDLE; or, when
 * exec_hook_timeout_ms passes first, RUN_RUNNING -> RUN_TERM (SIGTERM to
 * its process group) -> RUN_KILLED (SIGKILL, HOOK_GRACE_MS later) ->
 * reaped -> RUN_IDLE. Between the two signals a leader that ended is left
 * a zombie, not reaped: its pid, which is the group's id, cannot be given
 * to another process while the zombie holds it, so the SIGKILL cannot
 * reach a stranger's group. Every step is a non-blocking call made from
 * the loop, which polls the output pipe and the pidfd like any other fd.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "child.h"
#include "daemon.h"
#include "fsutil.h"
#include "hook.h"
#include "hookproc.h"
#include "jsonfield.h"
#include "log.h"
#include "token.h"
#include "webhook.h"

extern char **environ;

enum run_state {
	RUN_IDLE,
	RUN_RUNNING,		/* until it ends or its time is up */
	RUN_TERM,		/* SIGTERM sent; SIGKILL at deadline_ms */
	RUN_KILLED,		/* SIGKILL sent; to be reaped */
};

/* Why a hook failed, for /metrics. */
enum hook_fail {
	FAIL_EXIT,		/* a non-zero exit status */
	FAIL_SIGNAL,		/* killed by a signal, not ours */
	FAIL_TIMEOUT,		/* killed by us, at exec_hook_timeout_ms */
	FAIL_SPAWN,		/* never started */
	FAIL_COUNT,
};

static const char *const fail_names[FAIL_COUNT] = { "exit", "signal",
    "timeout", "spawn" };

struct hook {
	const struct config *c;
	char root[PATH_MAX];		/* the deploy root, absolute */
	struct webhook *web;		/* NULL: no webhook_url */
	bool curl_up;
	struct swap_slot slot;

	/* The hook running, when state is not RUN_IDLE. */
	enum run_state state;
	struct swap_event ev;		/* what it was told */
	pid_t pid;
	int pidfd;			/* -1: none (an old kernel): polled */
	int outfd;			/* its stdout + stderr; -1 at EOF */
	bool ended;			/* RUN_TERM: the leader is a zombie */
	int64_t started_ms, deadline_ms;	/* monotonic */
	int64_t started_at;		/* wall clock */
	char out[HOOK_OUTPUT_MAX + 1];	/* the first bytes of its output */
	size_t outlen;
	uint64_t dropped;		/* bytes of output past those */

	/* What the runs so far came to. */
	uint64_t runs, fails[FAIL_COUNT];
	bool has_last;			/* a run ended: the fields below */
	bool last_ok;
	uint64_t last_version;
	enum swap_reason last_reason;
	int last_exit;			/* its exit status; -1: none */
	int64_t last_at;		/* wall clock of its start */
	int64_t last_ms;		/* how long it ran */
	char last_error[512];		/* "" after a success */
};

/* --- one run -------------------------------------------------------------- */

static void start_next(struct hook *h);

/* Reads what the hook wrote, keeping the first HOOK_OUTPUT_MAX bytes. A
 * bounded number of reads per call: a hook that writes without end must
 * not keep the loop here. */
static void
read_output(struct hook *h)
{
	char buf[4096];
	size_t keep;
	ssize_t n = -1;
	int reads;

	for (reads = 0; h->outfd >= 0 && reads < 16; reads++) {
		if ((n = read(h->outfd, buf, sizeof(buf))) <= 0)
			break;
		keep = HOOK_OUTPUT_MAX - h->outlen;
		if (keep > (size_t)n)
			keep = (size_t)n;
		memcpy(h->out + h->outlen, buf, keep);
		h->outlen += keep;
		h->dropped += (size_t)n - keep;
	}
	h->out[h->outlen] = '\0';
	if (h->outfd >= 0 && (n == 0 || (n == -1 && errno != EAGAIN &&
	    errno != EINTR))) {
		close(h->outfd);
		h->outfd = -1;
	}
}

/* Logs the output kept, line by line; the last line into last_line. */
static void
log_output(struct hook *h, bool failed, char *last_line, size_t len)
{
	char line[HOOK_LINE_MAX];
	const char *p = h->out, *end = h->out + h->outlen, *nl;

	last_line[0] = '\0';
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		hookproc_sanitize(p, (size_t)(nl - p), line, sizeof(line));
		if (line[0] != '\0') {
			(failed ? log_warnx : log_info)("exec_hook output: %s",
			    line);
			snprintf(last_line, len, "%s", line);
		}
		p = nl + 1;
	}
	if (h->dropped > 0)
		log_warnx("exec_hook output: %" PRIu64 " more bytes not kept",
		    h->dropped);
}

/* The run of h->ev is over (or never began): what status shows of it. */
static void
note_last(struct hook *h, bool ok)
{
	h->has_last = true;
	h->last_ok = ok;
	h->last_version = h->ev.version;
	h->last_reason = h->ev.reason;
	h->last_at = h->started_at;
	h->last_exit = -1;
	h->last_error[0] = '\0';
}

/* The hook was reaped: say how it went, then start the next one. */
static void
finish(struct hook *h, const siginfo_t *si)
{
	bool timed_out = h->state != RUN_RUNNING, ok = false;
	char how[128], last[HOOK_LINE_MAX];
	enum hook_fail why = FAIL_EXIT;

	read_output(h);
	h->last_ms = daemon_now_ms() - h->started_ms;
	if (timed_out) {
		snprintf(how, sizeof(how), "killed after exec_hook_timeout_ms "
		    "(%u ms)", h->c->exec_hook_timeout_ms);
		why = FAIL_TIMEOUT;
	} else {
		hookproc_describe(si->si_code, si->si_status, how, sizeof(how));
		ok = si->si_code == CLD_EXITED && si->si_status == 0;
		why = si->si_code == CLD_EXITED ? FAIL_EXIT : FAIL_SIGNAL;
	}
	log_output(h, !ok, last, sizeof(last));
	h->runs++;
	note_last(h, ok);
	if (!timed_out && si->si_code == CLD_EXITED)
		h->last_exit = si->si_status;
	if (ok) {
		log_info("exec_hook: version %" PRIu64 " (%s): done in %" PRId64
		    " ms", h->ev.version, swap_reason_name(h->ev.reason),
		    h->last_ms);
	} else {
		h->fails[why]++;
		snprintf(h->last_error, sizeof(h->last_error), "version %"
		    PRIu64 " (%s): %s%s%s", h->ev.version,
		    swap_reason_name(h->ev.reason), how, last[0] ? ": " : "",
		    last);
		log_errorx("exec_hook: %s", h->last_error);
	}
	if (h->outfd >= 0)
		close(h->outfd);
	if (h->pidfd >= 0)
		close(h->pidfd);
	h->outfd = h->pidfd = -1;
	h->pid = -1;
	h->state = RUN_IDLE;
	start_next(h);
}

/* Reaps the hook if it ended. In RUN_TERM an ended leader is only noted
 * (WNOWAIT): its zombie keeps the group's id ours until the SIGKILL. */
static void
check_end(struct hook *h)
{
	siginfo_t si;
	int opts = WEXITED | WNOHANG;

	if (h->state == RUN_TERM) {
		if (h->ended)
			return;
		opts |= WNOWAIT;
	}
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)h->pid, &si, opts) == -1 || si.si_pid == 0)
		return;
	if (h->state == RUN_TERM)
		h->ended = true;
	else
		finish(h, &si);
}

/* Its time is up: SIGTERM to the group, then SIGKILL after the grace. */
static void
escalate(struct hook *h)
{
	if (h->state == RUN_RUNNING) {
		log_warnx("exec_hook: version %" PRIu64 ": still running after "
		    "%u ms: SIGTERM to its process group", h->ev.version,
		    h->c->exec_hook_timeout_ms);
		kill(-h->pid, SIGTERM);
		h->state = RUN_TERM;
		h->deadline_ms = daemon_now_ms() + HOOK_GRACE_MS;
		return;
	}
	log_warnx("exec_hook: version %" PRIu64 ": SIGKILL to its process "
	    "group", h->ev.version);
	kill(-h->pid, SIGKILL);
	h->state = RUN_KILLED;
	check_end(h);
}

/* Spawn failed, or the environment could not be built. */
static void
not_started(struct hook *h, int errnum)
{
	h->fails[FAIL_SPAWN]++;
	h->started_at = fsu_now();
	h->last_ms = 0;
	note_last(h, false);
	snprintf(h->last_error, sizeof(h->last_error), "version %" PRIu64
	    " (%s): cannot run /bin/sh: %s", h->ev.version,
	    swap_reason_name(h->ev.reason), strerror(errnum));
	log_errorx("exec_hook: %s", h->last_error);
}

/* Starts the hook for the event waiting, if any and none runs. */
static void
start_next(struct hook *h)
{
	struct hookproc_env env = HOOKPROC_ENV_INIT;
	char *argv[] = { "/bin/sh", "-c", (char *)h->c->exec_hook,
	    "artsync-exec-hook", NULL };
	int rc;

	if (h->state != RUN_IDLE || !swap_slot_take(&h->slot, &h->ev))
		return;
	errno = ENOMEM;
	rc = hookproc_env_build(&env, &h->ev, h->root, environ);
	if (rc == 0)
		rc = child_spawn(argv, env.envp, CHILD_STDOUT | CHILD_SETSID, -1, -1,
		    &h->pid, &h->outfd);
	hookproc_env_free(&env);
	if (rc == -1) {
		not_started(h, errno);
		return;
	}
	swap_slot_told(&h->slot, h->ev.version);
	/* Without a pidfd (a kernel before 5.3) the loop polls for its end
	 * every 50 ms instead. */
	h->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
	h->state = RUN_RUNNING;
	h->ended = false;
	h->outlen = 0;
	h->dropped = 0;
	h->started_ms = daemon_now_ms();
	h->started_at = fsu_now();
	h->deadline_ms = h->started_ms + h->c->exec_hook_timeout_ms;
	log_info("exec_hook: version %" PRIu64 " (%s, from %" PRIu64 "): "
	    "started, pid %d", h->ev.version, swap_reason_name(h->ev.reason),
	    h->ev.previous, (int)h->pid);
}

/* --- the loop's side ------------------------------------------------------ */

void
hook_pollfds(const struct hook *h, struct pollfd *out, struct pollfd *end)
{
	bool waiting = h != NULL && h->state != RUN_IDLE && !h->ended;

	*out = (struct pollfd){ .fd = h != NULL ? h->outfd : -1,
	    .events = POLLIN };
	*end = (struct pollfd){ .fd = waiting ? h->pidfd : -1,
	    .events = POLLIN };
}

int
hook_timeout_ms(const struct hook *h)
{
	int64_t left;

	if (h == NULL || h->state == RUN_IDLE)
		return -1;
	if (h->state == RUN_KILLED)
		return h->pidfd >= 0 ? -1 : 50;
	left = h->deadline_ms - daemon_now_ms();
	if (left < 0)
		left = 0;
	if (h->pidfd < 0 && left > 50)
		left = 50;
	return (int)left;
}

void
hook_run(struct hook *h)
{
	if (h == NULL || h->state == RUN_IDLE)
		return;
	read_output(h);
	check_end(h);
	if ((h->state == RUN_RUNNING || h->state == RUN_TERM) &&
	    daemon_now_ms() >= h->deadline_ms)
		escalate(h);
}

void
hook_swapped(struct hook *h, enum swap_reason reason, uint64_t previous,
    const struct release *now, uint64_t changed)
{
	struct swap_event ev = { .reason = reason, .version = now->version,
	    .previous = previous, .changed = changed, .at = fsu_now() };

	if (h == NULL || (h->c->exec_hook[0] == '\0' && h->web == NULL))
		return;
	if (snprintf(ev.release, sizeof(ev.release), "%s/releases/%s",
	    h->root, now->name) >= (int)sizeof(ev.release))
		return;		/* cannot be: root < PATH_MAX, name short */
	webhook_post(h->web, &ev);
	if (h->c->exec_hook[0] == '\0')
		return;
	if (h->state != RUN_IDLE)
		log_info("exec_hook: version %" PRIu64 " waits for the hook of "
		    "version %" PRIu64, ev.version, h->ev.version);
	swap_slot_put(&h->slot, &ev);
	start_next(h);
}

/* The webhook c asks for (NULL for none) into *out: its token read,
 * libcurl up. 0, or -1 with err. */
static int
new_webhook(struct hook *h, const struct config *c, struct webhook **out,
    struct snap_err *err)
{
	char token[256] = "";

	*out = NULL;
	if (c->webhook_url[0] == '\0')
		return 0;
	if (c->webhook_token_file[0] != '\0' && token_read(
	    c->webhook_token_file, token, sizeof(token), err) == -1)
		return snap_err_prefix(err, "webhook_token_file");
	if (!h->curl_up && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return snap_err_set(err, "webhook: cannot initialise libcurl");
	h->curl_up = true;
	*out = webhook_new(c, h->root, token, err);
	explicit_bzero(token, sizeof(token));
	return *out == NULL ? -1 : 0;
}

struct hook *
hook_new(const struct config *c, struct snap_err *err)
{
	struct hook *h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snap_err_set(err, "out of memory");
		return NULL;
	}
	h->c = c;
	h->pid = -1;
	h->outfd = h->pidfd = -1;
	h->last_exit = -1;
	if (realpath(c->deploy_root, h->root) == NULL) {
		snap_err_sys(err, errno, "%s", c->deploy_root);
		goto fail;
	}
	if (new_webhook(h, c, &h->web, err) == -1)
		goto fail;
	return h;
fail:
	hook_free(h);
	return NULL;
}

int
hook_reload_webhook(struct hook *h, struct snap_err *err)
{
	struct webhook *w;

	if (new_webhook(h, h->c, &w, err) == -1)
		return -1;
	webhook_free(h->web);	/* a POST in flight, a retry pending: cut */
	h->web = w;
	return 0;
}

/* The daemon stops: SIGTERM to a running hook's group, SIGKILL after the
 * grace at most, then reap it. */
static void
stop_running(struct hook *h)
{
	struct pollfd p = { .fd = h->pidfd, .events = POLLIN };
	int64_t until = daemon_now_ms() + HOOK_GRACE_MS;
	siginfo_t si;

	log_warnx("exec_hook: version %" PRIu64 ": stopped with the daemon",
	    h->ev.version);
	if (h->state == RUN_RUNNING)
		kill(-h->pid, SIGTERM);
	while (h->state != RUN_KILLED && !h->ended &&
	    daemon_now_ms() < until) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)h->pid, &si, WEXITED | WNOHANG |
		    WNOWAIT) == 0 && si.si_pid != 0)
			break;
		(void)poll(&p, h->pidfd >= 0 ? 1 : 0, 20);
	}
	kill(-h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
}

void
hook_free(struct hook *h)
{
	if (h == NULL)
		return;
	if (h->state != RUN_IDLE)
		stop_running(h);
	if (h->outfd >= 0)
		close(h->outfd);
	if (h->pidfd >= 0)
		close(h->pidfd);
	webhook_free(h->web);
	if (h->curl_up)
		curl_global_cleanup();
	free(h);
}

/* --- status and metrics --------------------------------------------------- */

static const char *
state_name(const struct hook *h)
{
	return h->state == RUN_IDLE ? "idle" : h->state == RUN_RUNNING ?
	    "running" : "killing";
}

static json_t *
exec_status(const struct hook *h)
{
	uint64_t failed = 0;
	size_t i;

	for (i = 0; i < FAIL_COUNT; i++)
		failed += h->fails[i];
	return json_pack("{s:s, s:o, s:b, s:I, s:I, s:I, s:o, s:o, s:o, s:o, "
	    "s:o, s:o, s:o}",
	    "state", state_name(h),
	    "running_version", h->state != RUN_IDLE ?
	    json_integer((json_int_t)h->ev.version) : json_null(),
	    "pending", h->slot.pending,
	    "runs", (json_int_t)h->runs,
	    "failures", (json_int_t)failed,
	    "coalesced", (json_int_t)h->slot.coalesced,
	    "last_version", h->has_last ?
	    json_integer((json_int_t)h->last_version) : json_null(),
	    "last_reason", h->has_last ?
	    json_string(swap_reason_name(h->last_reason)) : json_null(),
	    "last_ok", h->has_last ? json_boolean(h->last_ok) : json_null(),
	    "last_exit_status", h->last_exit >= 0 ?
	    json_integer(h->last_exit) : json_null(),
	    "last_error", h->last_error[0] ? json_string(h->last_error) :
	    json_null(),
	    "last_run_at", jf_time_or_null(h->has_last ? h->last_at : 0),
	    "last_duration_ms", h->has_last ?
	    json_integer((json_int_t)h->last_ms) : json_null());
}

void
hook_status_add(struct hook *h, json_t *obj)
{
	if (obj == NULL)
		return;
	json_object_set_new(obj, "exec_hook", h != NULL &&
	    h->c->exec_hook[0] != '\0' ? exec_status(h) : json_null());
	json_object_set_new(obj, "webhook", webhook_status_json(h != NULL ?
	    h->web : NULL));
}

void
hook_render_metrics(struct hook *h, FILE *f)
{
	size_t i;

	if (h == NULL)
		return;
	if (h->c->exec_hook[0] != '\0') {
		fprintf(f, "# HELP artsync_exec_hook_runs_total Hooks that ran "
		    "to their end.\n# TYPE artsync_exec_hook_runs_total counter\n"
		    "artsync_exec_hook_runs_total %" PRIu64 "\n", h->runs);
		fprintf(f, "# HELP artsync_exec_hook_failures_total Hooks that "
		    "failed, by reason.\n# TYPE artsync_exec_hook_failures_total "
		    "counter\n");
		for (i = 0; i < FAIL_COUNT; i++)
			fprintf(f, "artsync_exec_hook_failures_total{reason=\"%s\"}"
			    " %" PRIu64 "\n", fail_names[i], h->fails[i]);
		fprintf(f, "# HELP artsync_exec_hook_coalesced_total Swaps "
		    "merged into a later one while a hook ran.\n# TYPE "
		    "artsync_exec_hook_coalesced_total counter\n"
		    "artsync_exec_hook_coalesced_total %" PRIu64 "\n",
		    h->slot.coalesced);
		fprintf(f, "# HELP artsync_exec_hook_running 1 while a hook "
		    "runs.\n# TYPE artsync_exec_hook_running gauge\n"
		    "artsync_exec_hook_running %d\n", h->state != RUN_IDLE);
		fprintf(f, "# HELP artsync_exec_hook_last_duration_seconds How "
		    "long the last hook ran.\n# TYPE "
		    "artsync_exec_hook_last_duration_seconds gauge\n"
		    "artsync_exec_hook_last_duration_seconds %" PRId64 ".%03"
		    PRId64 "\n", h->last_ms / 1000, h->last_ms % 1000);
	}
	webhook_render_metrics(h->web, f);
}
