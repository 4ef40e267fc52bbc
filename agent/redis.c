/*
 * redis.c - the Redis sync root's URL, settings, connection (direct or
 * through Sentinel) and key names (see redis.h).
 *
 * Everything a server says is hostile: replies are checked for their type
 * and size before use, a Sentinel's answer must be an address and a port
 * in range, and a server that answers READONLY (a demoted master) is
 * dropped so that the next call asks the sentinels again.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "redis.h"
#include "state.h"

#define REDIS_CONNECT_MS 1000
#define REDIS_IO_MS 10000

struct redis {
	struct redis_url u;
	char sentinels[512];		/* "HOST:PORT,..." or "" */
	char master[128];
	char cluster[STATE_ID_MAX];
	char prefix[REDIS_PREFIX_MAX + STATE_ID_MAX + 2];	/* "P:<c>:" */
	redisContext *ctx;
	char host[REDIS_HOST_MAX];	/* in use, or last tried */
	unsigned port;
	char where[REDIS_HOST_MAX + 16];
	uint64_t connects;
};

bool
redis_is_url(const char *s)
{
	return strncmp(s, "redis://", 8) == 0 || strncmp(s, "rediss://", 9) == 0;
}

static bool
is_id_char(int ch)
{
	return isalnum(ch) || ch == '.' || ch == '_' || ch == '-';
}

/* A decimal number from s up to end, within [min, max]. */
static int
parse_num(const char *s, const char *end, unsigned long min,
    unsigned long max, unsigned *out)
{
	unsigned long v = 0;
	const char *p;

	if (s == end || end - s > 5)
		return -1;
	for (p = s; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* USER:PASSWORD or PASSWORD, with %XX escapes, into u. */
static int
parse_userinfo(const char *s, const char *end, struct redis_url *u)
{
	char buf[2 * REDIS_SECRET_MAX];
	const char *colon;
	size_t n = 0;
	unsigned hi, lo;

	for (; s < end && n < sizeof(buf) - 1; s++) {
		if (*s == '%') {
			if (end - s < 3 || !isxdigit((unsigned char)s[1]) ||
			    !isxdigit((unsigned char)s[2]))
				return -1;
			hi = (unsigned)(isdigit((unsigned char)s[1]) ? s[1] - '0' :
			    (tolower((unsigned char)s[1]) - 'a' + 10));
			lo = (unsigned)(isdigit((unsigned char)s[2]) ? s[2] - '0' :
			    (tolower((unsigned char)s[2]) - 'a' + 10));
			buf[n++] = (char)(hi * 16 + lo);
			s += 2;
		} else if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return -1;
		else
			buf[n++] = *s;
	}
	if (s != end || memchr(buf, '\0', n) != NULL)
		return -1;
	buf[n] = '\0';
	/* The first ':' of what was given (escaped ones are the password's
	 * own, but they are decoded by now: split on the raw form). */
	colon = memchr(buf, ':', n);
	if (colon == NULL) {
		if (n >= REDIS_SECRET_MAX)
			return -1;
		memcpy(u->password, buf, n + 1);
		return 0;
	}
	if ((size_t)(colon - buf) >= REDIS_SECRET_MAX ||
	    strlen(colon + 1) >= REDIS_SECRET_MAX)
		return -1;
	memcpy(u->user, buf, (size_t)(colon - buf));
	u->user[colon - buf] = '\0';
	memcpy(u->password, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

int
redis_url_parse(const char *s, struct redis_url *u, struct snap_err *err)
{
	const char *p, *at, *hend, *pend, *end, *q;
	size_t n;

	memset(u, 0, sizeof(*u));
	snprintf(u->prefix, sizeof(u->prefix), "%s", REDIS_DEFAULT_PREFIX);
	if (strncmp(s, "redis://", 8) == 0)
		p = s + 8;
	else if (strncmp(s, "rediss://", 9) == 0) {
		p = s + 9;
		u->tls = true;
	} else
		return snap_err_set(err, "not a redis:// URL");
	end = p + strlen(p);
	q = strchr(p, '?');
	if (q == NULL)
		q = end;
	/* The user information ends at the last '@' before the path. */
	at = NULL;
	for (pend = p; pend < q && *pend != '/'; pend++)
		if (*pend == '@')
			at = pend;
	if (at != NULL) {
		if (parse_userinfo(p, at, u) == -1)
			return snap_err_set(err, "redis URL: the user or "
			    "password is not valid (percent-encode what is not "
			    "plain text)");
		p = at + 1;
	}
	/* HOST:PORT, HOST an IPv6 address in brackets or a name. */
	if (*p == '[') {
		if ((hend = memchr(p, ']', (size_t)(pend - p))) == NULL)
			return snap_err_set(err, "redis URL: unclosed '['");
		n = (size_t)(hend - p - 1);
		if (n == 0 || n >= sizeof(u->host) ||
		    strspn(p + 1, "0123456789abcdefABCDEF:.") < n)
			return snap_err_set(err, "redis URL: bad IPv6 address");
		memcpy(u->host, p + 1, n);
		hend++;
	} else {
		for (hend = p; hend < pend && *hend != ':'; hend++)
			if (!is_id_char((unsigned char)*hend))
				return snap_err_set(err, "redis URL: bad host "
				    "name (a name, an IPv4 address or [IPv6])");
		n = (size_t)(hend - p);
		if (n == 0 || n >= sizeof(u->host))
			return snap_err_set(err, "redis URL: no host");
		memcpy(u->host, p, n);
	}
	u->host[n] = '\0';
	if (*hend != ':' || parse_num(hend + 1, pend, 1, 65535, &u->port) == -1)
		return snap_err_set(err, "redis URL: HOST:PORT needs a port from "
		    "1 to 65535");
	/* /DB */
	p = pend;
	if (*p == '/' && p + 1 < q) {
		if (parse_num(p + 1, q, 0, 15, &u->db) == -1)
			return snap_err_set(err, "redis URL: /DB must be a "
			    "database number from 0 to 15");
	} else if (*p == '/' && p + 1 != q)
		return snap_err_set(err, "redis URL: bad path");
	else if (*p != '/' && p != q)
		return snap_err_set(err, "redis URL: unexpected text after the "
		    "port");
	/* ?prefix=P, the one parameter. */
	if (*q == '?') {
		q++;
		if (strncmp(q, "prefix=", 7) != 0)
			return snap_err_set(err, "redis URL: the only parameter "
			    "is prefix=P");
		q += 7;
		n = strlen(q);
		if (n == 0 || n >= sizeof(u->prefix))
			return snap_err_set(err, "redis URL: prefix must be 1 to "
			    "%zu bytes", sizeof(u->prefix) - 1);
		for (p = q; *p != '\0'; p++)
			if (!is_id_char((unsigned char)*p))
				return snap_err_set(err, "redis URL: prefix may "
				    "hold only A-Z a-z 0-9 . _ -");
		memcpy(u->prefix, q, n + 1);
	}
	return 0;
}

int
redis_read_password(const char *path, char *out, size_t outlen,
    struct snap_err *err)
{
	char buf[REDIS_SECRET_MAX + 2];
	struct stat st;
	FILE *f = NULL;
	size_t len;
	int rc = -1;

	if ((f = fopen(path, "re")) == NULL)
		return snap_err_sys(err, errno, "%s", path);
	if (fstat(fileno(f), &st) == -1) {
		snap_err_sys(err, errno, "%s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snap_err_set(err, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snap_err_set(err, "%s: a password that group or others may "
		    "access (mode 0%03o): chmod 600 %s", path,
		    (unsigned)(st.st_mode & 0777), path);
		goto out;
	}
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		buf[--len] = '\0';
	if (len == 0 || len >= outlen || len >= REDIS_SECRET_MAX ||
	    memchr(buf, '\0', len) != NULL) {
		snap_err_set(err, "%s: the password must be 1 to %d bytes",
		    path, REDIS_SECRET_MAX - 1);
		goto out;
	}
	memcpy(out, buf, len + 1);
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	fclose(f);
	return rc;
}

/* HOST:PORT[,HOST:PORT...]: each a host (name, IPv4, [IPv6]) and a port. */
static int
check_sentinels(const char *list, struct snap_err *err)
{
	char url[600];
	struct redis_url u;
	const char *p = list, *comma;
	size_t n;

	while (*p != '\0') {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		snprintf(url, sizeof(url), "redis://%.*s", (int)n, p);
		if (n == 0 || redis_url_parse(url, &u, err) == -1 ||
		    u.password[0] != '\0' || strchr(url + 8, '/') != NULL)
			return snap_err_set(err, "redis_sentinels: '%.*s' is "
			    "not HOST:PORT", (int)n, p);
		p += n + (comma != NULL);
	}
	return 0;
}

int
redis_config_set(struct config *c, bool primary, const char *key,
    const char *value, struct snap_err *err)
{
	char *dst = NULL;
	size_t len = 0;

	if (!strcmp(key, primary ? "redis_stage" : "redis_cache")) {
		dst = c->redis_dir;
		len = sizeof(c->redis_dir);
	} else if (!strcmp(key, "redis_password_file")) {
		dst = c->redis_password_file;
		len = sizeof(c->redis_password_file);
	} else if (!strcmp(key, "redis_sentinels")) {
		if (value[0] != '\0' && check_sentinels(value, err) == -1)
			return -1;
		dst = c->redis_sentinels;
		len = sizeof(c->redis_sentinels);
	} else if (!strcmp(key, "redis_master")) {
		if (value[0] != '\0' && state_check_id(value, err) == -1)
			return snap_err_prefix(err, "redis_master");
		dst = c->redis_master;
		len = sizeof(c->redis_master);
	} else if (primary && !strcmp(key, "ha")) {
		if (strcmp(value, "redis") != 0 && strcmp(value, "none") != 0)
			return snap_err_set(err, "ha: '%s' is not redis or none "
			    "(this build)", value);
		c->redis_ha = value[0] == 'r';
		return 0;
	} else if (primary && !strcmp(key, "redis_lease_ms")) {
		char *end;
		unsigned long v = strtoul(value, &end, 10);

		if (end == value || *end != '\0' || value[0] == '-' ||
		    v < 300 || v > 600000)
			return snap_err_set(err, "redis_lease_ms: '%s' is not a "
			    "whole number from 300 to 600000", value);
		c->redis_lease_ms = (unsigned)v;
		return 0;
	} else
		return 1;
	if (strlen(value) >= len)
		return snap_err_set(err, "%s: value longer than %zu bytes", key,
		    len - 1);
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

int
redis_config_resolve(struct config *c, struct snap_err *err)
{
	struct redis_url u;

	if (!redis_is_url(c->sync_root))
		return c->redis_ha ? snap_err_set(err, "ha = redis needs a "
		    "redis:// sync_root") : 0;
	if (redis_url_parse(c->sync_root, &u, err) == -1)
		return snap_err_prefix(err, "sync_root");
	explicit_bzero(u.password, sizeof(u.password));
	if (u.tls)
		return snap_err_set(err, "sync_root: rediss:// (TLS) is not "
		    "built in (Debian 12's hiredis has no TLS): reach Redis "
		    "through a local stunnel or spiped and use redis://127.0.0.1"
		    ":PORT (docs/redis.md)");
	if ((c->redis_sentinels[0] != '\0') != (c->redis_master[0] != '\0'))
		return snap_err_set(err, "redis_sentinels and redis_master go "
		    "together");
	/* A password file others may read stops the start, with one line. */
	if (c->redis_password_file[0] != '\0' &&
	    redis_read_password(c->redis_password_file, u.password,
	    sizeof(u.password), err) == -1)
		return snap_err_prefix(err, "redis_password_file");
	explicit_bzero(u.password, sizeof(u.password));
	snprintf(c->redis_url, sizeof(c->redis_url), "%s", c->sync_root);
	if (c->redis_dir[0] != '\0')
		snprintf(c->sync_root, sizeof(c->sync_root), "%s", c->redis_dir);
	else if (c->role == CONFIG_SECONDARY && c->deploy_root[0] != '\0') {
		if ((size_t)snprintf(c->sync_root, sizeof(c->sync_root),
		    "%s/.redis-cache", c->deploy_root) >= sizeof(c->sync_root))
			return snap_err_set(err, "deploy_root: too long");
	} else
		snprintf(c->sync_root, sizeof(c->sync_root),
		    "/var/lib/artsync/redis-%s/%s", c->role == CONFIG_PRIMARY ?
		    "stage" : "cache", c->cluster_id);
	return 0;
}

void
redis_describe(const struct config *c, FILE *f)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct redis_url u;

	if (c->redis_url[0] == '\0' ||
	    redis_url_parse(c->redis_url, &u, &err) == -1)
		return;
	if (c->redis_sentinels[0] != '\0')
		fprintf(f, "redis: master '%s' through the sentinels %s",
		    c->redis_master, c->redis_sentinels);
	else
		fprintf(f, "redis: %s:%u", u.host, u.port);
	fprintf(f, ", db %u, keys %s:%s:*, password %s%s\n", u.db, u.prefix,
	    c->cluster_id, c->redis_password_file[0] ? "from " :
	    u.password[0] ? "in the URL" : "none",
	    c->redis_password_file);
	fprintf(f, "redis %s: %s (%s)\n", c->role == CONFIG_PRIMARY ? "stage" :
	    "cache", c->sync_root, c->role == CONFIG_PRIMARY ? "each version "
	    "published here, then uploaded" : "the store mirrored here, then "
	    "verified and applied");
	if (c->role == CONFIG_PRIMARY && c->redis_ha)
		fprintf(f, "ha: redis (lease %u ms: only its holder commits)\n",
		    c->redis_lease_ms ? c->redis_lease_ms : 10000);
	explicit_bzero(&u, sizeof(u));
}

struct redis *
redis_new(const struct config *c, struct snap_err *err)
{
	struct redis *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snap_err_sys(err, errno, "redis");
		return NULL;
	}
	if (redis_url_parse(c->redis_url, &r->u, err) == -1)
		goto fail;
	if (c->redis_password_file[0] != '\0' &&
	    redis_read_password(c->redis_password_file, r->u.password,
	    sizeof(r->u.password), err) == -1) {
		snap_err_prefix(err, "redis_password_file");
		goto fail;
	}
	snprintf(r->sentinels, sizeof(r->sentinels), "%s", c->redis_sentinels);
	snprintf(r->master, sizeof(r->master), "%s", c->redis_master);
	snprintf(r->cluster, sizeof(r->cluster), "%s", c->cluster_id);
	snprintf(r->prefix, sizeof(r->prefix), "%s:%s:", r->u.prefix,
	    c->cluster_id);
	snprintf(r->host, sizeof(r->host), "%s", r->u.host);
	r->port = r->u.port;
	snprintf(r->where, sizeof(r->where), "%s:%u", r->host, r->port);
	return r;
fail:
	explicit_bzero(&r->u, sizeof(r->u));
	free(r);
	return NULL;
}

void
redis_free(struct redis *r)
{
	if (r == NULL)
		return;
	redis_disconnect(r);
	explicit_bzero(&r->u, sizeof(r->u));
	free(r);
}

void
redis_disconnect(struct redis *r)
{
	if (r->ctx != NULL)
		redisFree(r->ctx);
	r->ctx = NULL;
}

bool
redis_is_connected(const struct redis *r)
{
	return r->ctx != NULL;
}

const char *
redis_where(const struct redis *r)
{
	return r->where;
}

uint64_t
redis_connects(const struct redis *r)
{
	return r->connects;
}

static struct timeval
tv_ms(unsigned ms)
{
	return (struct timeval){ .tv_sec = ms / 1000,
	    .tv_usec = (ms % 1000) * 1000 };
}

/* A TCP connection with both time limits set. NULL with err. */
static redisContext *
dial(const char *host, unsigned port, struct snap_err *err)
{
	redisContext *ctx;

	ctx = redisConnectWithTimeout(host, (int)port, tv_ms(REDIS_CONNECT_MS));
	if (ctx == NULL) {
		snap_err_setc(err, SNAP_E_IO, "redis %s:%u: cannot connect",
		    host, port);
		return NULL;
	}
	if (ctx->err != 0) {
		snap_err_setc(err, SNAP_E_IO, "redis %s:%u: %s", host, port,
		    ctx->errstr);
		redisFree(ctx);
		return NULL;
	}
	if (redisSetTimeout(ctx, tv_ms(REDIS_IO_MS)) != REDIS_OK ||
	    redisEnableKeepAlive(ctx) != REDIS_OK) {
		snap_err_setc(err, SNAP_E_IO, "redis %s:%u: %s", host, port,
		    ctx->errstr);
		redisFree(ctx);
		return NULL;
	}
	return ctx;
}

/* One command on ctx whose reply must not be an error. */
static int
simple(redisContext *ctx, const char *what, int argc, const char **argv,
    struct snap_err *err)
{
	redisReply *rep = redisCommandArgv(ctx, argc, argv, NULL);
	int rc = 0;

	if (rep == NULL)
		return snap_err_setc(err, SNAP_E_IO, "%s: %s", what,
		    ctx->errstr[0] ? ctx->errstr : "no reply");
	if (rep->type == REDIS_REPLY_ERROR)
		rc = snap_err_setc(err, SNAP_E_IO, "%s: %.200s", what, rep->str);
	freeReplyObject(rep);
	return rc;
}

/* AUTH and SELECT on a new connection to the data server. */
static int
handshake(struct redis *r, redisContext *ctx, struct snap_err *err)
{
	const char *argv[3];
	char db[16];

	if (r->u.password[0] != '\0') {
		argv[0] = "AUTH";
		argv[1] = r->u.user[0] ? r->u.user : r->u.password;
		argv[2] = r->u.password;
		if (simple(ctx, "AUTH", r->u.user[0] ? 3 : 2, argv, err) == -1)
			return -1;
	}
	if (r->u.db != 0) {
		snprintf(db, sizeof(db), "%u", r->u.db);
		argv[0] = "SELECT";
		argv[1] = db;
		if (simple(ctx, "SELECT", 2, argv, err) == -1)
			return -1;
	}
	return 0;
}

int
redis_sentinel_addr(const redisReply *rep, char *host, size_t hostlen,
    unsigned *port)
{
	const redisReply *h, *p;
	size_t i;

	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 2)
		return -1;
	h = rep->element[0];
	p = rep->element[1];
	if (h == NULL || p == NULL || h->type != REDIS_REPLY_STRING ||
	    p->type != REDIS_REPLY_STRING || h->len == 0 ||
	    h->len >= hostlen || h->len >= REDIS_HOST_MAX)
		return -1;
	for (i = 0; i < h->len; i++)
		if (!isalnum((unsigned char)h->str[i]) &&
		    strchr(".-_:", h->str[i]) == NULL)
			return -1;
	if (parse_num(p->str, p->str + p->len, 1, 65535, port) == -1)
		return -1;
	memcpy(host, h->str, h->len);
	host[h->len] = '\0';
	return 0;
}

/* Asks each sentinel in turn for the master's address (into r->host and
 * r->port). 0 or -1 with err. */
static int
ask_sentinels(struct redis *r, struct snap_err *err)
{
	char list[sizeof(r->sentinels)], url[600], host[REDIS_HOST_MAX];
	const char *argv[3] = { "SENTINEL", "get-master-addr-by-name",
	    r->master };
	char *tok, *save = NULL;
	struct redis_url u;
	redisContext *ctx;
	redisReply *rep;
	unsigned port;

	snprintf(list, sizeof(list), "%s", r->sentinels);
	snap_err_setc(err, SNAP_E_IO, "redis: no sentinel answered");
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		snprintf(url, sizeof(url), "redis://%s", tok);
		if (redis_url_parse(url, &u, err) == -1 ||
		    (ctx = dial(u.host, u.port, err)) == NULL)
			continue;
		rep = redisCommandArgv(ctx, 3, argv, NULL);
		if (rep == NULL)
			snap_err_setc(err, SNAP_E_IO, "redis sentinel %s: %s",
			    tok, ctx->errstr);
		else if (redis_sentinel_addr(rep, host, sizeof(host),
		    &port) == -1)
			snap_err_setc(err, SNAP_E_IO, "redis sentinel %s: no "
			    "usable address for master '%s'", tok, r->master);
		else {
			snprintf(r->host, sizeof(r->host), "%s", host);
			r->port = port;
			freeReplyObject(rep);
			redisFree(ctx);
			return 0;
		}
		if (rep != NULL)
			freeReplyObject(rep);
		redisFree(ctx);
	}
	return -1;
}

/* With Sentinel: the server must say it is a master (a sentinel's view
 * may lag a failover by a moment). */
static int
check_master(redisContext *ctx, struct snap_err *err)
{
	const char *argv[1] = { "ROLE" };
	redisReply *rep = redisCommandArgv(ctx, 1, argv, NULL);
	int rc = -1;

	if (rep == NULL)
		return snap_err_setc(err, SNAP_E_IO, "ROLE: %s", ctx->errstr);
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
	    rep->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(rep->element[0]->str, "master") == 0)
		rc = 0;
	else
		snap_err_setc(err, SNAP_E_IO, "not a master (yet): waiting for "
		    "the sentinels");
	freeReplyObject(rep);
	return rc;
}

/* A new connection to the data server, found through Sentinel if so
 * configured; AUTH and SELECT done. */
static redisContext *
open_data(struct redis *r, bool find, struct snap_err *err)
{
	redisContext *ctx;

	if (find && r->sentinels[0] != '\0' && ask_sentinels(r, err) == -1)
		return NULL;
	snprintf(r->where, sizeof(r->where), "%s:%u", r->host, r->port);
	if ((ctx = dial(r->host, r->port, err)) == NULL)
		return NULL;
	if (handshake(r, ctx, err) == -1 ||
	    (r->sentinels[0] != '\0' && check_master(ctx, err) == -1)) {
		snap_err_prefix(err, "redis %s", r->where);
		redisFree(ctx);
		return NULL;
	}
	return ctx;
}

int
redis_connect(struct redis *r, struct snap_err *err)
{
	if (r->ctx != NULL)
		return 0;
	if ((r->ctx = open_data(r, true, err)) == NULL)
		return -1;
	r->connects++;
	return 0;
}

redisContext *
redis_connect_extra(struct redis *r, struct snap_err *err)
{
	/* With Sentinel, asked each time: a subscription is made again
	 * after a failover, when the data connection may not know yet. */
	return open_data(r, true, err);
}

void
redis_key(const struct redis *r, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s%s", r->prefix, name);
}

const char *
redis_key_prefix(const struct redis *r)
{
	return r->prefix;
}

redisReply *
redis_cmd(struct redis *r, int argc, const char **argv,
    const size_t *argvlen, struct snap_err *err)
{
	redisReply *rep;

	if (redis_connect(r, err) == -1)
		return NULL;
	rep = redisCommandArgv(r->ctx, argc, argv, argvlen);
	if (rep == NULL) {
		snap_err_setc(err, SNAP_E_IO, "redis %s: %s: %s", r->where,
		    argv[0], r->ctx->errstr[0] ? r->ctx->errstr : "no reply");
		redis_disconnect(r);
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snap_err_setc(err, SNAP_E_IO, "redis %s: %s: %.300s", r->where,
		    argv[0], rep->str);
		/* A demoted master, or one still loading: find the master
		 * again next time. */
		if (strncmp(rep->str, "READONLY", 8) == 0 ||
		    strncmp(rep->str, "LOADING", 7) == 0 ||
		    strncmp(rep->str, "NOAUTH", 6) == 0)
			redis_disconnect(r);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}
