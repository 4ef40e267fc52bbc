/*
 * config.h - every setting of the agent, from one INI file and the flags.
 *
 * File (examples/artsync.conf documents every key):
 *	[artsync]    cluster_id, node_id, log_level, log_format
 *	[primary]    source, sync_root, quiet_ms, push, retry_ms, listen,
 *	             retry_factor, retry_max_ms, retry_max_tries,
 *	             keep_versions, keep_grace_ms, max_chain, signing_key,
 *	             state_validity, poll_ms, publish_threads; failover (haconf.h): ha, etcd,
 *	             lease_ms, renew_ms, takeover_grace_ms, safety_ms; a Redis
 *	             sync root (redis.h): redis_stage, redis_password_file,
 *	             redis_sentinels, redis_master, redis_lease_ms
 *	[secondary]  sync_root, deploy_root, keep_releases, recycle_releases,
 *	             poll_ms, listen, labels, token_file, max_lag_ms,
 *	             max_body_bytes, startup, startup_tries, public_key,
 *	             require_fresh, min_version, exec_hook,
 *	             exec_hook_timeout_ms, webhook_url, webhook_token_file,
 *	             webhook_timeout_ms, webhook_max_tries, webhook_retry_ms,
 *	             redis_cache, redis_password_file, redis_sentinels,
 *	             redis_master
 * Each daemon reads [artsync] and its own section; keys of the other role's
 * section are checked but not used, so one file can serve a whole cluster.
 * An unknown section or key, or a bad value, is an error naming the file
 * and line.
 *
 * Where settings come from, the last one winning: defaults, the file
 * (--config FILE; else $ARTSYNC_CONFIG, none if it is empty; else
 * SYSCONFDIR/artsync.conf if there is one), the environment (ARTSYNC_<KEY>
 * for any key, as ARTSYNC_POLL_MS=200), the flags. The calling sequence
 * of a command: config_defaults(), config_find() and config_load() unless
 * --config, config_load_env(), config_set() for each flag, config_check(),
 * config_load_key(), and for -n config_check_paths() and config_describe().
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "haconf.h"
#include "sign.h"
#include "snap_err.h"

#define CONFIG_MAX_PUSH 16
#define CONFIG_HOOK_MAX 4096		/* exec_hook, bytes with the NUL */
#define CONFIG_URL_MAX 2048		/* webhook_url */

enum config_role {
	CONFIG_PRIMARY,
	CONFIG_SECONDARY,
};

struct config {
	enum config_role role;
	char cluster_id[128];
	char node_id[128];
	int log_level;			/* enum log_level */
	int log_format;			/* enum log_format */
	char source[PATH_MAX];
	char sync_root[PATH_MAX];
	char deploy_root[PATH_MAX];
	unsigned quiet_ms;
	unsigned retry_ms;
	unsigned retry_factor;
	unsigned retry_max_ms;
	unsigned retry_max_tries;	/* 0: forever */
	unsigned keep_versions;
	unsigned keep_grace_ms;
	unsigned max_chain;		/* deltas past a full snapshot */
	unsigned publish_threads;	/* 0: one per CPU (readpool.h) */
	char push[CONFIG_MAX_PUSH][PATH_MAX];
	size_t npush;
	/* How rsync reaches the targets (push.h): "" for none. */
	char push_rsh[1024];		/* rsync -e, HOST:PATH targets */
	char push_ssh_key[PATH_MAX];	/* -e "ssh -i KEY -o BatchMode=yes" */
	char push_password_file[PATH_MAX];	/* rsync:// targets */
	char push_rsync_options[1024];	/* more options, blank-separated */
	unsigned keep_releases;
	bool recycle_releases;
	unsigned poll_ms;
	char listen[128];
	char labels[256];
	char token_file[PATH_MAX];
	unsigned max_lag_ms;
	unsigned max_body_bytes;
	bool startup_sync;		/* startup = sync (else async) */
	unsigned startup_tries;
	unsigned state_validity_s;	/* primary: signed states expire
					 * after this long (0: never) */
	int require_fresh;		/* secondary: 1 yes, 0 no, -1 (unset)
					 * yes when public_key is set */
	uint64_t min_version;		/* secondary: apply nothing below */
	char signing_key[PATH_MAX];	/* primary: secret key file */
	char public_key[PATH_MAX];	/* secondary: file, base64 or hex */
	struct sign_key key;		/* loaded by config_load_key() */
	bool have_key;
	/* After each swap (hook.h): a command through /bin/sh -c, a POST. */
	char exec_hook[CONFIG_HOOK_MAX];	/* "": none */
	unsigned exec_hook_timeout_ms;
	char webhook_url[CONFIG_URL_MAX];	/* "": none */
	char webhook_token_file[PATH_MAX];
	unsigned webhook_timeout_ms;
	unsigned webhook_max_tries;
	unsigned webhook_retry_ms;		/* the first retry's delay */
	struct ha_config ha;		/* primary: failover (haconf.h) */
	/* A Redis sync root (redis.h): sync_root's URL moves here, and
	 * sync_root becomes the local directory (redis_stage on a primary,
	 * redis_cache on a secondary). */
	char redis_url[PATH_MAX];		/* "": none */
	char redis_dir[PATH_MAX];		/* "": the default */
	char redis_password_file[PATH_MAX];
	char redis_sentinels[512];		/* HOST:PORT,... ("": none) */
	char redis_master[128];			/* Sentinel's master name */
	bool redis_ha;				/* ha = redis: fencing by lease */
	unsigned redis_lease_ms;		/* its time to live (0: default) */
};

/* Defaults for a role (node_id defaults to the host name). */
void config_defaults(struct config *c, enum config_role role);

/* The directory of the default config file: SYSCONFDIR (a build setting,
 * /etc) or, for tests, $ARTSYNC_SYSCONFDIR. */
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/*
 * The config file of a command given no --config: $ARTSYNC_CONFIG if set
 * (empty: none), else SYSCONFDIR/artsync.conf if it exists. Fills path
 * (len bytes; "" for none) and returns where it came from: "ARTSYNC_CONFIG"
 * or "default".
 */
const char *config_find(char *path, size_t len);

/* Reads the INI file at path over the current values. 0 or -1 with err
 * ("FILE:LINE: ..."). */
int config_load(struct config *c, const char *path, struct snap_err *err);

/* Sets one key as the file would (used for flags too). 0 or -1 with err. */
int config_set(struct config *c, const char *section, const char *key,
    const char *value, struct snap_err *err);

/*
 * Sets every key named by an ARTSYNC_<KEY> variable of env (environ's
 * form): KEY in lower case is the key of [artsync] or the role's section;
 * a key of the other role's section only is checked and dropped, as in the
 * file. ARTSYNC_PUSH holds targets separated by blanks and replaces the
 * file's. ARTSYNC_CONFIG and ARTSYNC_SYSCONFDIR are no keys. The names of
 * variables that look like keys (upper case, digits, '_') but are none go
 * to unknown (len bytes), separated by blanks, for the caller to warn
 * about. 0, or -1 with err naming the variable.
 */
int config_load_env(struct config *c, char *const *env, char *unknown,
    size_t len, struct snap_err *err);

/* Checks that what the role needs is there and consistent (token files
 * that only their owner may read). 0 or -1. */
int config_check(const struct config *c, struct snap_err *err);

/* Whether a secondary refuses states without a fresh expiry: yes when
 * require_fresh says so, or is unset and public_key is set. */
bool config_require_fresh(const struct config *c);

/* Loads the role's key, if one is set: a primary's signing_key (a secret
 * key file only its owner may read), a secondary's public_key. Sets
 * c->key and c->have_key. 0 or -1 with err naming the key. */
int config_load_key(struct config *c, struct snap_err *err);

/* What a command does with the paths, for -n. */
enum config_use {
	CONFIG_USE_PUBLISH,	/* reads source once, writes the sync root
				 * (created if need be) */
	CONFIG_USE_PRIMARY,	/* the same, on every change */
	CONFIG_USE_ROLLBACK,	/* writes an existing sync root */
	CONFIG_USE_VERIFY,	/* reads an existing sync root */
	CONFIG_USE_SECONDARY,	/* reads the sync root (it may come later: an
				 * NFS mount, a first push), writes the deploy
				 * root (created if need be) */
};

/*
 * -n: whether the paths can be used as the command will: source a
 * readable directory, a root to write a writable directory or one that
 * can be created (its nearest existing parent writable), key and token
 * files readable. Creates nothing. 0, or -1 with err "KEY: PATH: problem".
 */
int config_check_paths(const struct config *c, enum config_use use,
    struct snap_err *err);

/* -n: what the command would do with these settings, a line a fact, for
 * people (role, ids, paths and what becomes of them, what is watched,
 * listen, keys). */
void config_describe(const struct config *c, enum config_use use, FILE *f);

struct sockaddr_storage;

/* Parses "HOST:PORT" or "[V6]:PORT" (numeric or a resolvable name).
 * *loopback says whether it is 127.0.0.0/8 or ::1. 0 or -1 with err. */
int config_listen_addr(const char *listen, struct sockaddr_storage *ss,
    unsigned *sslen, bool *loopback, struct snap_err *err);

#endif
