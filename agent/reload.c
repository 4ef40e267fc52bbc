/*
 * reload.c - SIGHUP's new configuration compared with the live one, key by
 * key, and what may change applied (see reload.h).
 *
 * One table names every field of struct config that a file can set, with
 * its kind (how to compare and print it) and whether it is taken now or
 * needs a restart. A field missing from the table would never change on a
 * reload: the table is the list an operator reads in docs/operations.md,
 * and integration/t66-docs fails for a key config.c, pushconf.c or
 * redis_url.c accepts that has no row here.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "reload.h"

enum kind {
	K_STR,
	K_SECRET,	/* a string never printed (a URL with a password) */
	K_UINT,
	K_BOOL,
	K_LEVEL,
	K_FORMAT,
	K_U64,
	K_TRI,		/* int: -1 unset, 0 no, 1 yes */
	K_BLOB,		/* a struct, compared whole (ha) */
	K_PUSH,		/* the push targets */
};

struct knob {
	const char *key;
	enum kind kind;
	size_t off, size;
	bool now;		/* taken now; else needs a restart */
	unsigned what;		/* RELOAD_* a change asks for */
};

#define F(field) offsetof(struct config, field), \
	sizeof(((struct config *)0)->field)
#define NOW(key, kind, what)	{ #key, kind, F(key), true, what }
#define LATER(key, kind)	{ #key, kind, F(key), false, 0 }

static const struct knob knobs[] = {
	NOW(log_level, K_LEVEL, 0),
	NOW(log_format, K_FORMAT, 0),
	LATER(cluster_id, K_STR),
	LATER(node_id, K_STR),
	/* Both roles: read where they are used. */
	NOW(poll_ms, K_UINT, 0),
	NOW(retry_ms, K_UINT, 0),
	/* The primary's policy, read at each publish, push or prune. */
	NOW(quiet_ms, K_UINT, 0),
	NOW(retry_factor, K_UINT, 0),
	NOW(retry_max_ms, K_UINT, 0),
	NOW(retry_max_tries, K_UINT, 0),
	NOW(keep_versions, K_UINT, 0),
	NOW(keep_grace_ms, K_UINT, 0),
	NOW(max_chain, K_UINT, 0),
	NOW(publish_threads, K_UINT, 0),
	NOW(signing_key, K_STR, 0),
	LATER(state_validity_s, K_UINT),
	LATER(source, K_STR),
	LATER(sync_root, K_STR),
	LATER(push, K_PUSH),	/* the array holds npush: zeroed past it */
	LATER(push_rsh, K_STR),
	LATER(push_ssh_key, K_STR),
	LATER(push_password_file, K_STR),
	LATER(push_rsync_options, K_STR),
	LATER(listen, K_STR),
	LATER(ha, K_BLOB),
	/* The secondary's. */
	LATER(deploy_root, K_STR),
	LATER(keep_releases, K_UINT),
	LATER(recycle_releases, K_BOOL),
	NOW(labels, K_STR, RELOAD_LABELS),
	NOW(token_file, K_STR, 0),
	NOW(max_lag_ms, K_UINT, 0),
	LATER(max_body_bytes, K_UINT),
	LATER(startup_sync, K_BOOL),
	NOW(startup_tries, K_UINT, 0),
	NOW(public_key, K_STR, RELOAD_TRUST),
	NOW(require_fresh, K_TRI, RELOAD_TRUST),
	NOW(min_version, K_U64, RELOAD_TRUST),
	NOW(exec_hook, K_STR, 0),
	NOW(exec_hook_timeout_ms, K_UINT, 0),
	NOW(webhook_url, K_SECRET, RELOAD_WEBHOOK),
	NOW(webhook_token_file, K_STR, RELOAD_WEBHOOK),
	NOW(webhook_timeout_ms, K_UINT, RELOAD_WEBHOOK),
	NOW(webhook_max_tries, K_UINT, RELOAD_WEBHOOK),
	NOW(webhook_retry_ms, K_UINT, RELOAD_WEBHOOK),
	/* A Redis sync root: its link is made at start. */
	LATER(redis_url, K_SECRET),
	LATER(redis_dir, K_STR),
	LATER(redis_password_file, K_STR),
	LATER(redis_sentinels, K_STR),
	LATER(redis_master, K_STR),
	LATER(redis_ha, K_BOOL),
	LATER(redis_lease_ms, K_UINT),
};

#define NKNOBS (sizeof(knobs) / sizeof(knobs[0]))

static bool
same(const struct knob *k, const struct config *a, const struct config *b)
{
	const char *pa = (const char *)a + k->off, *pb = (const char *)b +
	    k->off;

	if (k->kind == K_STR || k->kind == K_SECRET)
		return strcmp(pa, pb) == 0;
	return memcmp(pa, pb, k->size) == 0;
}

/* The value of k in c, for a log line. */
static const char *
show(const struct knob *k, const struct config *c, char *buf, size_t len)
{
	const void *p = (const char *)c + k->off;
	int tri;

	switch (k->kind) {
	case K_STR:
		return *(const char *)p ? p : "(none)";
	case K_SECRET:
		return "(set)";
	case K_BLOB:
		return "its old values";
	case K_PUSH:
		snprintf(buf, len, "%zu targets", c->npush);
		return buf;
	case K_UINT:
		snprintf(buf, len, "%u", *(const unsigned *)p);
		return buf;
	case K_BOOL:
		return *(const bool *)p ? "yes" : "no";
	case K_LEVEL:
		return log_level_name(*(const enum log_level *)p);
	case K_FORMAT:
		return log_format_name(*(const enum log_format *)p);
	case K_U64:
		snprintf(buf, len, "%" PRIu64, *(const uint64_t *)p);
		return buf;
	case K_TRI:
		tri = *(const int *)p;
		return tri < 0 ? "(unset)" : tri ? "yes" : "no";
	}
	return "?";
}

/* The user's name of a field: state_validity, startup. */
static const char *
key_name(const struct knob *k)
{
	if (strcmp(k->key, "state_validity_s") == 0)
		return "state_validity";
	if (strcmp(k->key, "startup_sync") == 0)
		return "startup";
	return k->key;
}

/* One changed key: taken into live, or said to need a restart. */
static unsigned
take(const struct knob *k, struct config *live, const struct config *next,
    const char *file)
{
	char a[32], b[32];

	if (!k->now) {
		log_warnx("%s changed in %s; needs a restart, still using %s",
		    key_name(k), file, show(k, live, a, sizeof(a)));
		return 0;
	}
	if (k->kind == K_SECRET)
		log_info("%s: changed", key_name(k));
	else
		log_info("%s: %s -> %s", key_name(k), show(k, live, a,
		    sizeof(a)), show(k, next, b, sizeof(b)));
	memcpy((char *)live + k->off, (const char *)next + k->off, k->size);
	return k->what;
}

/* The role's key: loaded afresh by cmdline_reread(), its content may have
 * changed under the same file name. Said by key id, never by content. */
static unsigned
take_key(struct config *live, const struct config *next)
{
	char was[17] = "none", now[17] = "none";

	if (live->have_key == next->have_key && (!live->have_key ||
	    sodium_memcmp(&live->key, &next->key, sizeof(live->key)) == 0))
		return 0;
	if (live->have_key)
		sign_keyid(live->key.keynum, was);
	if (next->have_key)
		sign_keyid(next->key.keynum, now);
	log_info("%s: key %s -> %s", live->role == CONFIG_PRIMARY ?
	    "signing_key" : "public_key", was, now);
	live->key = next->key;
	live->have_key = next->have_key;
	return RELOAD_TRUST;
}

int
reload_config(struct cmdline *cl, unsigned *what)
{
	struct snap_err err = SNAP_ERR_INIT;
	const char *file = cl->config_path != NULL ? cl->config_path :
	    "(no file)";
	struct config next;
	size_t i, taken = 0, later = 0;

	*what = 0;
	if (cmdline_reread(cl, &next, &err) == -1) {
		log_errorx("reload refused: %s; still running with the "
		    "configuration from before", err.msg);
		sodium_memzero(&next, sizeof(next));
		return -1;
	}
	/* What changed is said at the more verbose of the two levels. */
	log_init(next.log_level > cl->c.log_level ?
	    (enum log_level)next.log_level : (enum log_level)cl->c.log_level,
	    (enum log_format)cl->c.log_format);
	for (i = 0; i < NKNOBS; i++)
		if (!same(&knobs[i], &cl->c, &next)) {
			*what |= take(&knobs[i], &cl->c, &next, file);
			if (knobs[i].now)
				taken++;
			else
				later++;
		}
	*what |= take_key(&cl->c, &next);
	sodium_memzero(&next, sizeof(next));
	log_info("configuration reloaded from %s: %zu changes taken, %zu "
	    "waiting for a restart", file, taken, later);
	log_init((enum log_level)cl->c.log_level,
	    (enum log_format)cl->c.log_format);
	return 0;
}
