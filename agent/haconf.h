/*
 * haconf.h - the [primary] settings of failover (docs/failover.md): which
 * coordinator decides who publishes, and the lease's timings.
 *
 *	ha                off (default: one primary, as before), shared (the
 *	                  sync root itself coordinates: epochs/, lease.json)
 *	                  or etcd
 *	etcd              URL[,URL...] of etcd's JSON gateway (ha = etcd)
 *	lease_ms          an unchanged heartbeat this long means the holder
 *	                  is gone (default 10000)
 *	renew_ms          the heartbeat's period (default 1000)
 *	takeover_grace_ms wait this much more before claiming (default 2000)
 *	safety_ms         the holder commits only while its last renewal is
 *	                  younger than lease_ms - safety_ms (default 2000)
 *
 * config.c calls ha_config_defaults() from config_defaults(),
 * ha_config_set() for a [primary] key it does not know, and
 * ha_config_check() from config_check() for a primary.
 */
#ifndef HACONF_H
#define HACONF_H

#include "snap_err.h"

enum ha_mode {
	HA_OFF,
	HA_SHARED,
	HA_ETCD,
};

#define HA_ETCD_MAX 1024

struct ha_config {
	enum ha_mode mode;
	char etcd[HA_ETCD_MAX];		/* "": none */
	unsigned lease_ms;
	unsigned renew_ms;
	unsigned takeover_grace_ms;
	unsigned safety_ms;
};

void ha_config_defaults(struct ha_config *h);

/* One [primary] key: 0, -1 with err (a bad value), 1 (not one of ours). */
int ha_config_set(struct ha_config *h, const char *key, const char *value,
    struct snap_err *err);

/* The timings fit together (a holder must be able to renew and commit
 * before its lease is judged gone); etcd names its URLs. 0 or -1. */
int ha_config_check(const struct ha_config *h, struct snap_err *err);

/* "off", "shared", "etcd" (states' "ha", status, logs). */
const char *ha_mode_name(enum ha_mode m);

#endif
