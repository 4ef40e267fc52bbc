/*
 * config_check.c - a whole configuration checked, and -n (see config.h):
 * what a role needs and whether it is consistent (config_check), its key
 * (config_load_key), whether the paths can be used (config_check_paths)
 * and what a command would do (config_describe). Token files are read
 * here as the daemon will read them, so that a bad one stops the start
 * with one line naming it, not the first request.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "pushconf.h"
#include "token.h"

static int check_listen(const struct config *c, struct snap_err *err);
static int check_webhook(const struct config *c, struct snap_err *err);

int
config_check(const struct config *c, struct snap_err *err)
{
	if (c->sync_root[0] == '\0')
		return snap_err_set(err, "sync_root is not set (--sync-root or "
		    "[%s] sync_root)", c->role == CONFIG_PRIMARY ? "primary" :
		    "secondary");
	if (c->role == CONFIG_PRIMARY && c->source[0] == '\0')
		return snap_err_set(err, "source is not set (--source or "
		    "[primary] source)");
	if (c->role == CONFIG_SECONDARY && c->deploy_root[0] == '\0')
		return snap_err_set(err, "deploy_root is not set (--deploy-root "
		    "or [secondary] deploy_root)");
	/* An expiry proves something only under a signature. */
	if (c->role == CONFIG_SECONDARY && c->require_fresh == 1 &&
	    c->public_key[0] == '\0')
		return snap_err_set(err, "require_fresh = yes needs public_key: "
		    "an unsigned expiry proves nothing");
	if (c->role == CONFIG_SECONDARY)
		return check_listen(c, err) == -1 ? -1 : check_webhook(c, err);
	if (push_config_check(c, err) == -1)	/* pushconf.h */
		return -1;
	return ha_config_check(&c->ha, err);
}

bool
config_require_fresh(const struct config *c)
{
	return c->require_fresh == 1 ||
	    (c->require_fresh == -1 && c->public_key[0] != '\0');
}

int
config_load_key(struct config *c, struct snap_err *err)
{
	c->have_key = false;
	if (c->role == CONFIG_PRIMARY && c->signing_key[0] != '\0') {
		if (sign_load_secret(c->signing_key, &c->key, err) == -1)
			return snap_err_prefix(err, "signing_key");
		c->have_key = true;
	} else if (c->role == CONFIG_SECONDARY && c->public_key[0] != '\0') {
		if (sign_load_public(c->public_key, &c->key, err) == -1)
			return snap_err_prefix(err, "public_key");
		c->have_key = true;
	}
	return 0;
}

/* A token the secondary wrote at an earlier start that others may read
 * now stops this one as a configuration error, like a token_file. */
static int
check_generated_token(const struct config *c, struct snap_err *err)
{
	char path[PATH_MAX], token[TOKEN_MAX + 1];
	struct stat st;
	bool generated;
	int rc;

	/* Not there (or no deploy root yet): written at start. */
	if (token_path(c, path, sizeof(path), &generated) == -1 ||
	    !generated || lstat(path, &st) == -1)
		return 0;
	rc = token_read_own(c, token, sizeof(token), err);
	explicit_bzero(token, sizeof(token));
	return rc == -1 ? snap_err_prefix(err, "token") : 0;
}

/* A token file others may read, or none, stops the start with one line.
 * Without token_file the secondary makes its own (token.h): every listen
 * has a token, loopback or not. */
static int
check_listen(const struct config *c, struct snap_err *err)
{
	struct sockaddr_storage ss;
	char token[TOKEN_MAX + 1];
	unsigned len;
	bool lo;
	int rc;

	if (c->token_file[0] != '\0') {
		rc = token_read(c->token_file, token, sizeof(token), err);
		explicit_bzero(token, sizeof(token));
		if (rc == -1)
			return snap_err_prefix(err, "token_file");
	}
	if (config_listen_addr(c->listen, &ss, &len, &lo, err) == -1)
		return snap_err_prefix(err, "listen");
	return check_generated_token(c, err);
}

/* The token is read now so that a file others may read, or none, stops
 * the start with one line, not the first POST. */
static int
check_webhook(const struct config *c, struct snap_err *err)
{
	char token[TOKEN_MAX + 1];
	int rc;

	if (c->webhook_token_file[0] == '\0')
		return 0;
	if (c->webhook_url[0] == '\0')
		return snap_err_set(err, "webhook_token_file is set but "
		    "webhook_url is not");
	rc = token_read(c->webhook_token_file, token, sizeof(token), err);
	explicit_bzero(token, sizeof(token));
	return rc == -1 ? snap_err_prefix(err, "webhook_token_file") : 0;
}

/* -n: an existing directory that can be listed and entered (write: also
 * written into). 0, or -1 with err "KEY: PATH: ...". */
static int
check_dir(const char *key, const char *path, bool write, struct snap_err *err)
{
	struct stat st;

	if (stat(path, &st) == -1)
		snap_err_sys(err, errno, "%s", path);
	else if (!S_ISDIR(st.st_mode))
		snap_err_set(err, "%s: not a directory", path);
	else if (access(path, write ? W_OK | X_OK : R_OK | X_OK) == -1)
		snap_err_sys(err, errno, "%s: not %s", path, write ?
		    "writable" : "readable");
	else
		return 0;
	return key != NULL ? snap_err_prefix(err, "%s", key) : -1;
}

/* -n: a directory to write that exists, or that mkdir -p can make: its
 * nearest existing parent is a writable directory. */
static int
check_creatable(const char *key, const char *path, struct snap_err *err)
{
	char up[PATH_MAX], *slash;
	struct stat st;

	if (stat(path, &st) == 0 || (errno != ENOENT))
		return check_dir(key, path, true, err);
	snprintf(up, sizeof(up), "%s", path);
	for (;;) {
		while ((slash = strrchr(up, '/')) != NULL && slash[1] == '\0' &&
		    slash != up)
			*slash = '\0';		/* trailing slashes */
		if ((slash = strrchr(up, '/')) == NULL) {
			snprintf(up, sizeof(up), ".");
			break;
		}
		slash[slash == up] = '\0';	/* "/x" -> "/" */
		if (stat(up, &st) == 0 || errno != ENOENT || !strcmp(up, "/"))
			break;
	}
	if (check_dir(NULL, up, true, err) == -1)
		return snap_err_prefix(err, "%s: %s: cannot be created", key,
		    path);
	return 0;
}

int
config_check_paths(const struct config *c, enum config_use use,
    struct snap_err *err)
{
	struct stat st;

	switch (use) {
	case CONFIG_USE_PUBLISH:
	case CONFIG_USE_PRIMARY:
		if (check_dir("source", c->source, false, err) == -1)
			return -1;
		return check_creatable("sync_root", c->sync_root, err);
	case CONFIG_USE_ROLLBACK:
		return check_dir("sync_root", c->sync_root, true, err);
	case CONFIG_USE_VERIFY:
		return check_dir("sync_root", c->sync_root, false, err);
	case CONFIG_USE_SECONDARY:
		/* Absent is fine: the secondary waits for it. */
		if ((stat(c->sync_root, &st) == 0 || errno != ENOENT) &&
		    check_dir("sync_root", c->sync_root, false, err) == -1)
			return -1;
		return check_creatable("deploy_root", c->deploy_root, err);
	}
	return 0;
}

/* " (not there yet: created at start)" or "". */
static const char *
yet(const char *path, const char *then)
{
	struct stat st;

	return stat(path, &st) == -1 && errno == ENOENT ? then : "";
}

/* "signing_key: FILE", or what happens without one. */
static void
describe_key(const struct config *c, FILE *f)
{
	bool primary = c->role == CONFIG_PRIMARY;

	fprintf(f, "%s: %s\n", primary ? "signing_key" : "public_key",
	    c->have_key ? (primary ? c->signing_key : c->public_key) :
	    primary ? "none (versions are not signed)" :
	    "none (signatures are ignored)");
}

static void
describe_primary(const struct config *c, bool daemon, FILE *f)
{
	size_t i;

	if (daemon)
		fprintf(f, "source: %s: watched with inotify (every folder), "
		    "published %u ms after the last change\n", c->source,
		    c->quiet_ms);
	else
		fprintf(f, "source: %s: read once, published if it changed\n",
		    c->source);
	fprintf(f, "sync_root: %s%s: snapshots/ and state.json written; %u "
	    "versions kept (0: all), up to %u deltas on a full version\n",
	    c->sync_root, yet(c->sync_root, " (not there yet: created)"),
	    c->keep_versions, c->max_chain);
	describe_key(c, f);
	if (!daemon)
		return;
	for (i = 0; i < c->npush; i++)
		fprintf(f, "push: %s (rsync; retry after %u ms, x%u, up to %u "
		    "ms)\n", c->push[i], c->retry_ms, c->retry_factor,
		    c->retry_max_ms);
	if (c->npush == 0)
		fprintf(f, "push: none\n");
	fprintf(f, "listen: %s\n", c->listen[0] ? c->listen :
	    "off (no status endpoint)");
}

/* The REST endpoint: who may call what, and where the token is. */
static void
describe_rest(const struct config *c, FILE *f)
{
	struct sockaddr_storage ss;
	char path[PATH_MAX];
	unsigned len;
	bool lo = true, generated;

	(void)config_listen_addr(c->listen, &ss, &len, &lo, NULL);
	fprintf(f, "listen: http://%s (REST endpoint; changes need the token%s)"
	    "\n", c->listen, lo ? "" : ", and every read but /healthz");
	if (token_path(c, path, sizeof(path), &generated) == 0 && !generated)
		fprintf(f, "token_file: %s\n", path);
	else if (generated)
		fprintf(f, "token: %s%s\n", path, yet(path, " (not there yet: "
		    "written at start, mode 0600)"));
}

static void
describe_secondary(const struct config *c, FILE *f)
{
	fprintf(f, "sync_root: %s%s: watched with inotify and read every %u "
	    "ms\n", c->sync_root, yet(c->sync_root, " (not there yet: "
	    "waited for)"), c->poll_ms);
	fprintf(f, "deploy_root: %s%s: releases/ and current; %u releases "
	    "kept, %s\n", c->deploy_root, yet(c->deploy_root, " (not there "
	    "yet: created at start)"), c->keep_releases, c->recycle_releases ?
	    "new ones patched from the oldest" : "each extracted in full");
	describe_rest(c, f);
	fprintf(f, "labels: %s\n", c->labels);
	describe_key(c, f);
	fprintf(f, "startup: %s\n", c->startup_sync ? "sync (ready once the "
	    "latest version is applied)" : "async (ready at once)");
}

void
config_describe(const struct config *c, enum config_use use, FILE *f)
{
	static const char *const what[] = {
		[CONFIG_USE_PUBLISH] = "publish",
		[CONFIG_USE_PRIMARY] = "primary",
		[CONFIG_USE_ROLLBACK] = "rollback",
		[CONFIG_USE_VERIFY] = "verify",
		[CONFIG_USE_SECONDARY] = "secondary",
	};

	fprintf(f, "command: %s (cluster %s, node %s)\n", what[use],
	    c->cluster_id, c->node_id);
	switch (use) {
	case CONFIG_USE_PUBLISH:
	case CONFIG_USE_PRIMARY:
		describe_primary(c, use == CONFIG_USE_PRIMARY, f);
		break;
	case CONFIG_USE_ROLLBACK:
		fprintf(f, "sync_root: %s: an older version's content published "
		    "as the newest\n", c->sync_root);
		describe_key(c, f);
		break;
	case CONFIG_USE_VERIFY:
		fprintf(f, "sync_root: %s: a version's checksums read and "
		    "checked, nothing written\n", c->sync_root);
		describe_key(c, f);
		break;
	case CONFIG_USE_SECONDARY:
		describe_secondary(c, f);
		break;
	}
	fprintf(f, "log: level %s, format %s\n",
	    log_level_name((enum log_level)c->log_level),
	    log_format_name((enum log_format)c->log_format));
}
