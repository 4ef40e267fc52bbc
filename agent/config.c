/*
 * config.c - INI parsing with inih, the environment, defaults (see
 * config.h); the checks of a whole configuration and -n are
 * config_check.c's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ini.h>

#include "confval.h"
#include "config.h"
#include "snap.h"
#include "labels.h"
#include "names.h"
#include "push.h"
#include "readpool.h"
#include "pushconf.h"
#include "redis.h"
#include "log.h"
#include "manifest.h"
#include "state.h"
#include "webhook.h"

void
config_defaults(struct config *c, enum config_role role)
{
	char host[128] = "node";
	size_t i;

	memset(c, 0, sizeof(*c));
	c->role = role;
	snprintf(c->cluster_id, sizeof(c->cluster_id), "default");
	if (gethostname(host, sizeof(host) - 1) == 0) {
		/* Keep the host name usable as an id: cut at the first dot
		 * and replace whatever else the id alphabet lacks. */
		host[strcspn(host, ".")] = '\0';
		for (i = 0; host[i] != '\0'; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR"
			    "STUVWXYZ0123456789_-", host[i]))
				host[i] = '-';
	}
	snprintf(c->node_id, sizeof(c->node_id), "%s", host[0] ? host : "node");
	c->log_level = LOG_LEVEL_INFO;
	c->log_format = LOG_FORMAT_TEXT;
	c->quiet_ms = 500;
	c->retry_ms = 15000;
	c->retry_factor = 2;
	c->retry_max_ms = 3600000;
	c->retry_max_tries = 0;
	c->keep_versions = 20;
	c->keep_grace_ms = 600000;
	c->max_chain = SNAP_MAX_CHAIN_DEFAULT;
	c->keep_releases = 5;
	c->recycle_releases = true;
	/* A secondary reads state.json this often; a primary rescans its
	 * source this often while inotify watches cannot be had. */
	c->poll_ms = role == CONFIG_PRIMARY ? 2000 : 1000;
	c->state_validity_s = 7 * 86400;
	c->require_fresh = -1;
	/* A secondary always serves; a primary only when asked to. */
	snprintf(c->listen, sizeof(c->listen), "%s",
	    role == CONFIG_SECONDARY ? "127.0.0.1:7846" : "");
	snprintf(c->labels, sizeof(c->labels), "default");
	c->max_lag_ms = 60000;
	c->max_body_bytes = 1024 * 1024;
	c->startup_sync = false;
	c->startup_tries = 30;
	c->exec_hook_timeout_ms = 30000;
	c->webhook_timeout_ms = 10000;
	c->webhook_max_tries = 8;
	c->webhook_retry_ms = 1000;
	ha_config_defaults(&c->ha);
}

static int
set_string(char *dst, size_t len, const char *key, const char *value,
    struct snap_err *err)
{
	if (strlen(value) >= len)
		return snap_err_set(err, "%s: value longer than %zu bytes", key,
		    len - 1);
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

static int
set_bool(bool *dst, const char *key, const char *value, struct snap_err *err)
{
	if (!strcmp(value, "yes") || !strcmp(value, "true") ||
	    !strcmp(value, "on") || !strcmp(value, "1"))
		*dst = true;
	else if (!strcmp(value, "no") || !strcmp(value, "false") ||
	    !strcmp(value, "off") || !strcmp(value, "0"))
		*dst = false;
	else
		return snap_err_set(err, "%s: '%s' is not yes or no", key, value);
	return 0;
}

/* A duration in seconds: N, or N with s, m, h or d (7d, 12h, 90s). */
static int
set_duration(unsigned *dst, const char *key, const char *value, unsigned min,
    unsigned max, struct snap_err *err)
{
	static const struct { char unit; unsigned s; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	unsigned long long v;
	unsigned mult = 1;
	size_t i;
	char *end;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno == 0 && end != value && value[0] != '-' && *end != '\0' &&
	    end[1] == '\0')
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (*end == units[i].unit) {
				mult = units[i].s;
				end++;
			}
	if (errno != 0 || end == value || *end != '\0' || value[0] == '-' ||
	    v > max / mult || (v != 0 && v * mult < min))
		return snap_err_set(err, "%s: '%s' is not 0 or a duration from "
		    "%us to %ud (N, or N followed by s, m, h or d)", key, value,
		    min, max / 86400);
	*dst = (unsigned)(v * mult);
	return 0;
}

/* Parsed now, so that a bad address is a config error with its line. */
static int
set_listen(struct config *c, const char *value, struct snap_err *err)
{
	struct sockaddr_storage ss;
	unsigned len;
	bool lo;

	if (config_listen_addr(value, &ss, &len, &lo, err) == -1)
		return snap_err_prefix(err, "listen");
	return set_string(c->listen, sizeof(c->listen), "listen", value, err);
}

static int
set_common(struct config *c, const char *key, const char *value,
    struct snap_err *err)
{
	int level, format;

	if (!strcmp(key, "cluster_id") || !strcmp(key, "node_id")) {
		char *dst = key[0] == 'c' ? c->cluster_id : c->node_id;

		if (state_check_id(value, err) == -1)
			return snap_err_prefix(err, "%s", key);
		return set_string(dst, 128, key, value, err);
	}
	if (!strcmp(key, "log_level")) {
		if ((level = log_level_parse(value)) < 0)
			return snap_err_set(err, "log_level: '%s' is not error, "
			    "warn, info or debug", value);
		c->log_level = level;
		return 0;
	}
	if (!strcmp(key, "log_format")) {
		if ((format = log_format_parse(value)) < 0)
			return snap_err_set(err, "log_format: '%s' is not text or "
			    "json", value);
		c->log_format = format;
		return 0;
	}
	return 1;
}

static int
set_primary(struct config *c, const char *key, const char *value,
    struct snap_err *err)
{
	int rc;

	if (!strcmp(key, "source"))
		return set_string(c->source, sizeof(c->source), key, value, err);
	if (!strcmp(key, "sync_root"))
		return set_string(c->sync_root, sizeof(c->sync_root), key, value,
		    err);
	if (!strcmp(key, "quiet_ms"))
		return conf_uint(&c->quiet_ms, key, value, 0, 3600000, err);
	if (!strcmp(key, "retry_ms"))
		return conf_uint(&c->retry_ms, key, value, 100, 86400000, err);
	if (!strcmp(key, "listen"))
		return set_listen(c, value, err);
	if (!strcmp(key, "retry_factor"))
		return conf_uint(&c->retry_factor, key, value, 1, 100, err);
	if (!strcmp(key, "retry_max_ms"))
		return conf_uint(&c->retry_max_ms, key, value,
		    100, 86400000, err);
	if (!strcmp(key, "retry_max_tries"))
		return conf_uint(&c->retry_max_tries, key, value,
		    0, 1000000, err);
	if (!strcmp(key, "keep_versions"))
		return conf_uint(&c->keep_versions, key, value,
		    0, 1000000, err);
	if (!strcmp(key, "max_chain"))
		return conf_uint(&c->max_chain, key, value, 0, STATE_CHAIN_MAX,
		    err);
	if (!strcmp(key, "publish_threads"))
		return conf_uint(&c->publish_threads, key, value, 0,
		    READPOOL_THREADS_MAX, err);
	if (!strcmp(key, "keep_grace_ms"))
		return conf_uint(&c->keep_grace_ms, key, value, 0, 2000000000u,
		    err);
	if (!strcmp(key, "signing_key"))
		return set_string(c->signing_key, sizeof(c->signing_key), key,
		    value, err);
	if (!strcmp(key, "state_validity"))
		return set_duration(&c->state_validity_s, key, value, 2,
		    3650 * 86400, err);
	if (!strcmp(key, "poll_ms"))
		return conf_uint(&c->poll_ms, key, value, 10, 3600000, err);
	if (!strcmp(key, "push")) {
		if (c->npush == CONFIG_MAX_PUSH)
			return snap_err_set(err, "push: more than %d targets",
			    CONFIG_MAX_PUSH);
		if (push_check_target(value, err) == -1)
			return -1;
		return set_string(c->push[c->npush++], PATH_MAX, key, value, err);
	}
	if ((rc = push_config_set(c, key, value, err)) != 1)
		return rc;	/* push_rsh, ... (pushconf.h) */
	/* ha = redis is the Redis store's (redis.h); the rest failover's. */
	if (strcmp(key, "ha") == 0) {
		c->redis_ha = false;
		if (strcmp(value, "redis") == 0) {
			c->ha.mode = HA_OFF;
			return redis_config_set(c, true, key, value, err);
		}
	}
	if ((rc = ha_config_set(&c->ha, key, value, err)) != 1)
		return rc;
	return redis_config_set(c, true, key, value, err);	/* redis.h */
}

/* [secondary]'s keys of what runs after a swap (hook.h). */
static int
set_after_swap(struct config *c, const char *key, const char *value,
    struct snap_err *err)
{
	if (!strcmp(key, "exec_hook"))
		return set_string(c->exec_hook, sizeof(c->exec_hook), key, value,
		    err);
	if (!strcmp(key, "exec_hook_timeout_ms"))
		return conf_uint(&c->exec_hook_timeout_ms, key, value, 100,
		    86400000, err);
	if (!strcmp(key, "webhook_url")) {
		if (value[0] != '\0' && webhook_check_url(value, err) == -1)
			return snap_err_prefix(err, "webhook_url");
		return set_string(c->webhook_url, sizeof(c->webhook_url), key,
		    value, err);
	}
	if (!strcmp(key, "webhook_token_file"))
		return set_string(c->webhook_token_file,
		    sizeof(c->webhook_token_file), key, value, err);
	if (!strcmp(key, "webhook_timeout_ms"))
		return conf_uint(&c->webhook_timeout_ms, key, value,
		    100, 600000, err);
	if (!strcmp(key, "webhook_max_tries"))
		return conf_uint(&c->webhook_max_tries, key, value,
		    1, 1000, err);
	if (!strcmp(key, "webhook_retry_ms"))
		return conf_uint(&c->webhook_retry_ms, key, value, 10,
		    WEBHOOK_RETRY_MAX_MS, err);
	return redis_config_set(c, false, key, value, err);	/* redis.h */
}

static int
set_secondary(struct config *c, const char *key, const char *value,
    struct snap_err *err)
{
	if (!strcmp(key, "sync_root"))
		return set_string(c->sync_root, sizeof(c->sync_root), key, value,
		    err);
	if (!strcmp(key, "deploy_root"))
		return set_string(c->deploy_root, sizeof(c->deploy_root), key,
		    value, err);
	if (!strcmp(key, "keep_releases"))
		return conf_uint(&c->keep_releases, key, value, 2, 1000, err);
	if (!strcmp(key, "recycle_releases"))
		return set_bool(&c->recycle_releases, key, value, err);
	if (!strcmp(key, "poll_ms"))
		return conf_uint(&c->poll_ms, key, value, 10, 3600000, err);
	if (!strcmp(key, "labels")) {
		char clean[sizeof(c->labels)];

		if (labels_normalize(value, clean, sizeof(clean), err) == -1 ||
		    manifest_check_labels(clean, err) == -1)
			return snap_err_prefix(err, "labels");
		return set_string(c->labels, sizeof(c->labels), key, clean, err);
	}
	if (!strcmp(key, "token_file"))
		return set_string(c->token_file, sizeof(c->token_file), key,
		    value, err);
	if (!strcmp(key, "startup")) {
		if (strcmp(value, "sync") != 0 && strcmp(value, "async") != 0)
			return snap_err_set(err, "startup: '%s' is not sync or "
			    "async", value);
		c->startup_sync = value[0] == 's';
		return 0;
	}
	if (!strcmp(key, "startup_tries"))
		return conf_uint(&c->startup_tries, key, value,
		    1, 1000000, err);
	if (!strcmp(key, "max_lag_ms"))
		return conf_uint(&c->max_lag_ms, key, value, 0, 86400000, err);
	if (!strcmp(key, "max_body_bytes"))
		return conf_uint(&c->max_body_bytes, key, value, 1024,
		    ARTIFACT_MAX_BYTES, err);
	if (!strcmp(key, "listen"))
		return set_listen(c, value, err);
	if (!strcmp(key, "public_key"))
		return set_string(c->public_key, sizeof(c->public_key), key,
		    value, err);
	if (!strcmp(key, "require_fresh")) {
		bool yes;

		if (set_bool(&yes, key, value, err) == -1)
			return -1;
		c->require_fresh = yes;
		return 0;
	}
	if (!strcmp(key, "min_version")) {
		unsigned long long v;
		char *end;

		errno = 0;
		v = strtoull(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' ||
		    value[0] == '-' || v > STATE_VERSION_MAX)
			return snap_err_set(err, "min_version: '%s' is not a "
			    "version (0 to %llu)", value,
			    (unsigned long long)STATE_VERSION_MAX);
		c->min_version = v;
		return 0;
	}
	return set_after_swap(c, key, value, err);
}

int
config_set(struct config *c, const char *section, const char *key,
    const char *value, struct snap_err *err)
{
	struct config scratch;
	int rc;

	if (!strcmp(section, "artsync"))
		rc = set_common(c, key, value, err);
	else if (!strcmp(section, "primary") || !strcmp(section, "secondary")) {
		bool mine = (c->role == CONFIG_PRIMARY) ==
		    (section[0] == 'p');
		/* The other role's keys are checked, then dropped. */
		struct config *dst = mine ? c : &scratch;

		if (!mine)
			config_defaults(&scratch, c->role);
		rc = section[0] == 'p' ? set_primary(dst, key, value, err) :
		    set_secondary(dst, key, value, err);
	} else
		return snap_err_set(err, "unknown section [%s]", section);
	if (rc == 1)
		return snap_err_set(err, "unknown key '%s' in [%s]", key, section);
	return rc;
}

const char *
config_find(char *path, size_t len)
{
	const char *env = getenv("ARTSYNC_CONFIG");
	const char *dir = getenv("ARTSYNC_SYSCONFDIR");

	if (env != NULL) {
		snprintf(path, len, "%s", env);
		return "ARTSYNC_CONFIG";
	}
	if (dir == NULL || *dir == '\0')
		dir = SYSCONFDIR;
	snprintf(path, len, "%s/artsync.conf", dir);
	/* Only absence means none: a file we may not read is an error,
	 * which config_load() will name. */
	if (access(path, F_OK) == -1 && (errno == ENOENT || errno == ENOTDIR))
		path[0] = '\0';
	return "default";
}

/* ARTSYNC_PUSH: blank-separated targets that replace the file's. Only the
 * primary keeps them; a secondary checks them, like the file's. */
static int
env_push(struct config *c, const char *value, struct snap_err *err)
{
	struct config scratch;
	struct config *dst = c;
	char *buf, *tok, *save = NULL;
	int rc = 0;

	if (c->role != CONFIG_PRIMARY) {
		config_defaults(&scratch, CONFIG_PRIMARY);
		dst = &scratch;
	}
	if ((buf = strdup(value)) == NULL)
		return snap_err_sys(err, errno, "push");
	dst->npush = 0;
	for (tok = strtok_r(buf, " \t\n", &save); tok != NULL && rc == 0;
	    tok = strtok_r(NULL, " \t\n", &save))
		rc = set_primary(dst, "push", tok, err);
	free(buf);
	return rc;
}

/* One key from the environment: 0, -1 (bad value) or 1 (no such key). */
static int
env_set(struct config *c, const char *key, const char *value,
    struct snap_err *err)
{
	struct config scratch;
	bool primary = c->role == CONFIG_PRIMARY;
	int rc;

	if ((rc = set_common(c, key, value, err)) != 1)
		return rc;
	if (!strcmp(key, "push"))
		return env_push(c, value, err);
	rc = primary ? set_primary(c, key, value, err) :
	    set_secondary(c, key, value, err);
	if (rc != 1)
		return rc;
	/* The other role's key: checked, then dropped. */
	config_defaults(&scratch, c->role);
	return primary ? set_secondary(&scratch, key, value, err) :
	    set_primary(&scratch, key, value, err);
}

int
config_load_env(struct config *c, char *const *env, char *unknown,
    size_t len, struct snap_err *err)
{
	static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
	const char *name, *eq;
	char key[64], var[80];
	size_t i, n, used = 0;
	int rc;

	if (len > 0)
		unknown[0] = '\0';
	for (; env != NULL && *env != NULL; env++) {
		if (strncmp(*env, "ARTSYNC_", 8) != 0 ||
		    (eq = strchr(*env, '=')) == NULL)
			continue;
		name = *env + 8;
		n = (size_t)(eq - name);
		/* Not in the form of a key (ARTSYNC_x=...): not ours. */
		if (n == 0 || n >= sizeof(key) || strspn(name, upper) < n)
			continue;
		for (i = 0; i < n; i++)
			key[i] = (char)tolower((unsigned char)name[i]);
		key[n] = '\0';
		snprintf(var, sizeof(var), "ARTSYNC_%s", name);
		var[8 + n] = '\0';
		/* Not keys: where the config is, and where the front finds
		 * artsync-agent (front.c). */
		if (!strcmp(key, "config") || !strcmp(key, "sysconfdir") ||
		    !strcmp(key, "agent"))
			continue;
		if ((rc = env_set(c, key, eq + 1, err)) == -1)
			return snap_err_prefix(err, "%s", var);
		if (rc == 1 && used + n + 9 < len)
			used += (size_t)snprintf(unknown + used, len - used,
			    "%s%s", used > 0 ? " " : "", var);
	}
	return 0;
}

struct load_ctx {
	struct config *c;
	struct snap_err *err;
	bool failed;
};

static int
on_ini_line(void *arg, const char *section, const char *key,
    const char *value)
{
	struct load_ctx *ctx = arg;

	if (ctx->failed)
		return 0;
	if (config_set(ctx->c, section, key, value, ctx->err) == -1) {
		ctx->failed = true;
		return 0;	/* ini_parse reports this line */
	}
	return 1;
}

int
config_load(struct config *c, const char *path, struct snap_err *err)
{
	struct load_ctx ctx = { .c = c, .err = err };
	FILE *f;
	int line;

	if ((f = fopen(path, "r")) == NULL)
		return snap_err_sys(err, errno, "%s", path);
	line = ini_parse_file(f, on_ini_line, &ctx);
	fclose(f);
	if (line == 0)
		return 0;
	if (ctx.failed)
		return snap_err_prefix(err, "%s:%d", path, line);
	return snap_err_set(err, "%s:%d: not a 'key = value' line or "
	    "'[section]'", path, line);
}

int
config_listen_addr(const char *listen, struct sockaddr_storage *ss,
    unsigned *sslen, bool *loopback, struct snap_err *err)
{
	struct addrinfo hints, *res = NULL;
	char host[128];
	const char *port;
	size_t hlen;
	int rc;

	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');

		if (end == NULL || end[1] != ':')
			return snap_err_set(err, "'%s' is not HOST:PORT", listen);
		hlen = (size_t)(end - listen - 1);
		port = end + 2;
		listen++;
	} else {
		const char *colon = strrchr(listen, ':');

		if (colon == NULL)
			return snap_err_set(err, "'%s' is not HOST:PORT", listen);
		hlen = (size_t)(colon - listen);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host) || *port == '\0' ||
	    strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535)
		return snap_err_set(err, "'%s' is not HOST:PORT", listen);
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return snap_err_set(err, "'%s': %s", host, gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = (unsigned)res->ai_addrlen;
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		*loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		*loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return 0;
}
