/*
 * haconf.c - parsing and checking the failover settings (see haconf.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confval.h"
#include "haconf.h"

void
ha_config_defaults(struct ha_config *h)
{
	memset(h, 0, sizeof(*h));
	h->mode = HA_OFF;
	h->lease_ms = 10000;
	h->renew_ms = 1000;
	h->takeover_grace_ms = 2000;
	h->safety_ms = 2000;
}

const char *
ha_mode_name(enum ha_mode m)
{
	switch (m) {
	case HA_SHARED: return "shared";
	case HA_ETCD: return "etcd";
	case HA_OFF: break;
	}
	return "off";
}

/* URL[,URL...]: each http:// or https://, no blanks. */
static int
set_etcd(struct ha_config *h, const char *value, struct snap_err *err)
{
	const char *p = value;
	size_t n;

	if (strlen(value) >= sizeof(h->etcd))
		return snap_err_set(err, "etcd: longer than %zu bytes",
		    sizeof(h->etcd) - 1);
	while (*p != '\0') {
		n = strcspn(p, ",");
		if ((strncmp(p, "http://", 7) != 0 &&
		    strncmp(p, "https://", 8) != 0) ||
		    strcspn(p, " \t\r\n") < n || n <= 8)
			return snap_err_set(err, "etcd: '%.*s' is not an http:// "
			    "or https:// URL", (int)n, p);
		p += n;
		if (*p == ',')
			p++;
	}
	memcpy(h->etcd, value, strlen(value) + 1);
	return 0;
}

int
ha_config_set(struct ha_config *h, const char *key, const char *value,
    struct snap_err *err)
{
	if (!strcmp(key, "ha")) {
		if (!strcmp(value, "off"))
			h->mode = HA_OFF;
		else if (!strcmp(value, "shared"))
			h->mode = HA_SHARED;
		else if (!strcmp(value, "etcd"))
			h->mode = HA_ETCD;
		else
			return snap_err_set(err, "ha: '%s' is not off, shared, etcd or "
			    "redis", value);
		return 0;
	}
	if (!strcmp(key, "etcd"))
		return set_etcd(h, value, err);
	if (!strcmp(key, "lease_ms"))
		return conf_uint(&h->lease_ms, key, value, 100, 3600000, err);
	if (!strcmp(key, "renew_ms"))
		return conf_uint(&h->renew_ms, key, value, 10, 600000, err);
	if (!strcmp(key, "takeover_grace_ms"))
		return conf_uint(&h->takeover_grace_ms, key, value,
		    0, 3600000, err);
	if (!strcmp(key, "safety_ms"))
		return conf_uint(&h->safety_ms, key, value, 0, 3600000, err);
	return 1;
}

int
ha_config_check(const struct ha_config *h, struct snap_err *err)
{
	if (h->mode == HA_OFF)
		return 0;
	/* A holder renews, then commits while its last renewal is younger
	 * than lease_ms - safety_ms: there must be room for a renewal and
	 * a publish in that. */
	if (h->safety_ms >= h->lease_ms ||
	    2 * h->renew_ms > h->lease_ms - h->safety_ms)
		return snap_err_set(err, "ha: renew_ms %u, safety_ms %u and "
		    "lease_ms %u leave a holder no time to commit (renew_ms "
		    "at most (lease_ms - safety_ms) / 2)", h->renew_ms,
		    h->safety_ms, h->lease_ms);
	if (h->mode == HA_ETCD && h->etcd[0] == '\0')
		return snap_err_set(err, "ha = etcd needs etcd = URL[,URL...] "
		    "(--etcd)");
	return 0;
}
