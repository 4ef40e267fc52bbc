/*
 * redis_url.c - what a Redis sync root parses (see redis.h): the
 * redis:// URL, the password file, the redis_* settings and their
 * resolution, the -n description, and a Sentinel's answer. Pure string
 * work, fuzzed (fuzz/fuzz_redis.c); the connection is in redis.c.
 *
 * Everything a server says is hostile: a Sentinel's answer must be an
 * address and a port in range before it is used.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "confval.h"
#include "redis.h"
#include "state.h"

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
		return conf_uint(&c->redis_lease_ms, key, value, 300, 600000,
		    err);
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
