/*
 * cmdline.c - the flags of the daemons and one-shot commands (see
 * cmdline.h): the tables, the usage text, and the parse that lays the
 * config file, the environment and the flags over each other.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "cmdline.h"
#include "log.h"
#include "redis.h"

#define EXIT_USAGE 2

struct flag {
	const char *name;	/* --name */
	const char *section;	/* config section and key it sets */
	const char *key;
};

static const struct flag common_flags[] = {
	{ "cluster-id", "artsync", "cluster_id" },
	{ "node-id", "artsync", "node_id" },
	{ "log-level", "artsync", "log_level" },
	{ "log-format", "artsync", "log_format" },
	{ NULL, NULL, NULL },
};

static const struct flag primary_flags[] = {
	{ "source", "primary", "source" },
	{ "sync-root", "primary", "sync_root" },
	{ "push", "primary", "push" },
	{ "push-rsh", "primary", "push_rsh" },
	{ "push-ssh-key", "primary", "push_ssh_key" },
	{ "push-password-file", "primary", "push_password_file" },
	{ "push-rsync-options", "primary", "push_rsync_options" },
	{ "quiet-ms", "primary", "quiet_ms" },
	{ "retry-ms", "primary", "retry_ms" },
	{ "listen", "primary", "listen" },
	{ "retry-factor", "primary", "retry_factor" },
	{ "retry-max-ms", "primary", "retry_max_ms" },
	{ "retry-max-tries", "primary", "retry_max_tries" },
	{ "keep-versions", "primary", "keep_versions" },
	{ "keep-grace-ms", "primary", "keep_grace_ms" },
	{ "max-chain", "primary", "max_chain" },
	{ "publish-threads", "primary", "publish_threads" },
	{ "signing-key", "primary", "signing_key" },
	{ "state-validity", "primary", "state_validity" },
	{ "poll-ms", "primary", "poll_ms" },
	{ "ha", "primary", "ha" },
	{ "etcd", "primary", "etcd" },
	{ "lease-ms", "primary", "lease_ms" },
	{ "renew-ms", "primary", "renew_ms" },
	{ "takeover-grace-ms", "primary", "takeover_grace_ms" },
	{ "safety-ms", "primary", "safety_ms" },
	{ "redis-stage", "primary", "redis_stage" },
	{ "redis-password-file", "primary", "redis_password_file" },
	{ "redis-sentinels", "primary", "redis_sentinels" },
	{ "redis-master", "primary", "redis_master" },
	{ "redis-lease-ms", "primary", "redis_lease_ms" },
	{ NULL, NULL, NULL },
};

static const struct flag secondary_flags[] = {
	{ "sync-root", "secondary", "sync_root" },
	{ "deploy-root", "secondary", "deploy_root" },
	{ "keep-releases", "secondary", "keep_releases" },
	{ "recycle-releases", "secondary", "recycle_releases" },
	{ "poll-ms", "secondary", "poll_ms" },
	{ "listen", "secondary", "listen" },
	{ "labels", "secondary", "labels" },
	{ "token-file", "secondary", "token_file" },
	{ "max-lag-ms", "secondary", "max_lag_ms" },
	{ "startup", "secondary", "startup" },
	{ "startup-tries", "secondary", "startup_tries" },
	{ "max-body-bytes", "secondary", "max_body_bytes" },
	{ "public-key", "secondary", "public_key" },
	{ "require-fresh", "secondary", "require_fresh" },
	{ "min-version", "secondary", "min_version" },
	{ "exec-hook", "secondary", "exec_hook" },
	{ "exec-hook-timeout-ms", "secondary", "exec_hook_timeout_ms" },
	{ "webhook-url", "secondary", "webhook_url" },
	{ "webhook-token-file", "secondary", "webhook_token_file" },
	{ "webhook-timeout-ms", "secondary", "webhook_timeout_ms" },
	{ "webhook-max-tries", "secondary", "webhook_max_tries" },
	{ "webhook-retry-ms", "secondary", "webhook_retry_ms" },
	{ "redis-cache", "secondary", "redis_cache" },
	{ "redis-password-file", "secondary", "redis_password_file" },
	{ "redis-sentinels", "secondary", "redis_sentinels" },
	{ "redis-master", "secondary", "redis_master" },
	{ NULL, NULL, NULL },
};

const char cmdline_usage[] =
"usage: artsync COMMAND [OPTIONS]\n"
"\n"
"commands:\n"
"  publish   --source DIR --sync-root DIR    validate and publish the tree once\n"
"  check     --source DIR                    validate the tree, publish nothing\n"
"  primary   --config FILE | flags           watch the source, publish on change\n"
"  secondary --config FILE | flags           follow the sync root, swap current\n"
"  verify    --sync-root DIR [VERSION]       re-check every checksum of a version\n"
"  rollback  --sync-root DIR --to VERSION    republish an old version as the newest,\n"
"                                            and pin it (below)\n"
"  pin       --sync-root DIR [VERSION]       no primary publishes source changes;\n"
"                                            the sync root keeps VERSION's content\n"
"                                            (default: the latest)\n"
"  unpin     --sync-root DIR                 primaries publish the source again\n"
"  keygen    --out FILE                      new signing key: FILE (secret, 0600)\n"
"                                            and FILE.pub; prints the public key\n"
"\n"
"client commands (talk to a secondary's REST endpoint):\n"
"  status                                   the agent's state\n"
"  list [--type TYPE]                       deployed artifacts and their state\n"
"  show TYPE NAME                           the deployed XML\n"
"  undeploy TYPE NAME                       remove it from this gateway only\n"
"  redeploy TYPE NAME                       restore upstream's, dropping overrides\n"
"  deploy-local TYPE NAME FILE              deploy FILE on this gateway only\n"
"  forget TYPE NAME                         drop a local override, whatever it is\n"
"  options: --endpoint URL (default http://127.0.0.1:7846, or the config's\n"
"  listen), --token-file FILE, --config FILE, --json\n"
"\n"
"common options:\n"
"  --config FILE        read settings from FILE (default: $ARTSYNC_CONFIG,\n"
"                       else /etc/artsync.conf if there is one); ARTSYNC_KEY\n"
"                       variables override it, and flags override both\n"
"  --cluster-id ID      cluster id recorded in state.json (default: default)\n"
"  --node-id ID         this node's id (default: the host name)\n"
"  --log-level LEVEL    error, warn, info (default) or debug\n"
"  --log-format FORMAT  text (default) or json: one JSON object a line\n"
"  -n                   check the configuration, print \"configuration OK\", exit\n"
"  -h, --help           this text\n"
"\n"
"primary and publish:\n"
"  --source DIR         the artifact tree (api/, sequences/, ...)\n"
"  --sync-root DIR      where snapshots and state.json are written\n"
"  --quiet-ms N         publish after N ms without changes (default 500)\n"
"  --retry-ms N         retry a failed publish or push after N ms (default 15000)\n"
"  --push TARGET        push each version with rsync to rsync://HOST[:PORT]/\n"
"                       MODULE[/PATH], [USER@]HOST:PATH or /LOCAL/PATH\n"
"                       (repeatable)\n"
"  --push-rsh CMD       the remote shell rsync runs for HOST:PATH targets\n"
"  --push-ssh-key FILE  ... or ssh with this identity, in batch mode\n"
"  --push-password-file FILE  the password for rsync:// targets; mode 0600\n"
"                       or tighter\n"
"  --push-rsync-options OPTS  more rsync long options, blank-separated;\n"
"                       those that break atomic delivery are refused\n"
"  --retry-factor N     a failed push waits retry-ms, then N times longer\n"
"                       each time (default 2) ...\n"
"  --retry-max-ms N     ... up to N ms (default 3600000)\n"
"  --retry-max-tries N  and gives up after N tries until the next version\n"
"                       (default 0: never)\n"
"  --listen HOST:PORT   (primary) serve read-only status, metrics and\n"
"                       healthz there, push state included (default: off)\n"
"  --keep-versions N    versions kept in the sync root (default 20; 0: all)\n"
"  --keep-grace-ms N    and none younger than this (default 600000)\n"
"  --max-chain N        deltas on a full version before the next full one\n"
"                       (default 64; 0: every version full; at most 256)\n"
"  --publish-threads N  threads that read and validate a whole tree\n"
"                       (default 0: one per CPU, at most 8; 1: one)\n"
"  --signing-key FILE   sign every version (and rollback) with this secret\n"
"                       key (artsync keygen); mode 0600 or tighter\n"
"  --state-validity D   signed states expire D after they are published or\n"
"                       renewed: N[s|m|h|d] (default 7d; 0: never); a running\n"
"                       primary renews timestamp.sig every D/2\n"
"  --unpin              (publish) remove a pin first (see pin)\n"
"  --poll-ms N          (primary) rescan the source every N ms while inotify\n"
"                       watches cannot be had (default 2000)\n"
"\n"
"failover (primary; see docs/failover.md):\n"
"  --ha MODE            off (default): the one primary publishes; shared:\n"
"                       several primaries, one leads, coordinated through\n"
"                       the sync root; etcd: coordinated through etcd\n"
"  --etcd URL[,URL...]  etcd's JSON gateway (ha etcd)\n"
"  --lease-ms N         a holder silent this long is gone (default 10000)\n"
"  --renew-ms N         the holder's heartbeat period (default 1000)\n"
"  --takeover-grace-ms N  wait this much more before taking over\n"
"                       (default 2000)\n"
"  --safety-ms N        a holder commits only while its last renewal is\n"
"                       younger than lease-ms minus N (default 2000)\n"
"\n"
"secondary:\n"
"  --sync-root DIR      the directory the primary publishes to\n"
"  --deploy-root DIR    where releases and the current symlink live\n"
"  --poll-ms N          read state.json every N ms (default 1000)\n"
"  --keep-releases N    releases kept on disk, at least 2 (default 5)\n"
"  --recycle-releases yes|no  build new releases by patching the oldest\n"
"                       kept one (default yes; see README)\n"
"  --listen HOST:PORT   REST endpoint (default 127.0.0.1:7846; port 0 picks\n"
"                       a free one, logged at start)\n"
"  --labels A,B         gateway labels to deploy (default: default)\n"
"  --token-file FILE    the REST endpoint's bearer token, mode 0600 (default:\n"
"                       DEPLOY_ROOT/rest.token, written at first start)\n"
"  --max-lag-ms N       /healthz fails when behind for longer (default 60000)\n"
"  --startup sync|async sync: not ready (healthz, sd_notify) until the latest\n"
"                       version is applied or --startup-tries checks failed;\n"
"                       async (default): ready at once with the last release\n"
"  --startup-tries N    failed checks a sync startup waits for (default 30)\n"
"  --max-body-bytes N   largest deploy-local body (default 1048576)\n"
"  --public-key KEY     (secondary, verify) apply only versions signed by\n"
"                       KEY: a .pub file, its base64 line or 64 hex digits\n"
"  --require-fresh yes|no  refuse signed states past their expiry, or\n"
"                       without one (default: yes with --public-key)\n"
"  --min-version N      never apply a version below N (a new node's floor)\n"
"\n"
"after each swap of current (secondary; see README):\n"
"  --exec-hook CMD      run CMD with /bin/sh, given ARTSYNC_VERSION,\n"
"                       ARTSYNC_PREVIOUS_VERSION, ARTSYNC_RELEASE,\n"
"                       ARTSYNC_CHANGED, ARTSYNC_REASON, ARTSYNC_DEPLOY_ROOT\n"
"  --exec-hook-timeout-ms N  kill it (its process group) after N ms\n"
"                       (default 30000)\n"
"  --webhook-url URL    POST the same facts as JSON to an http(s) URL\n"
"  --webhook-token-file FILE  send Authorization: Bearer <its content>;\n"
"                       mode 0600 or tighter\n"
"  --webhook-timeout-ms N  one POST's time limit (default 10000)\n"
"  --webhook-max-tries N   tries per swap (default 8) ...\n"
"  --webhook-retry-ms N    ... the first retry after N ms, doubling up to\n"
"                       60000 (default 1000)\n"
"\n"
"a Redis sync root (--sync-root redis://[USER:PASSWORD@]HOST:PORT[/DB]\n"
"[?prefix=P]; docs/redis.md):\n"
"  --redis-stage DIR    (primary, publish, rollback) the local directory\n"
"                       published into, then uploaded (default\n"
"                       /var/lib/artsync/redis-stage/CLUSTER)\n"
"  --redis-cache DIR    (secondary, verify) the local mirror of the store\n"
"                       (default DEPLOY_ROOT/.redis-cache)\n"
"  --redis-password-file FILE  the password (AUTH); mode 0600 or tighter\n"
"  --redis-sentinels HOST:PORT,...  find the master through these sentinels\n"
"  --redis-master NAME  ... by this master name (both or neither)\n"
"  --ha redis           (primary) fencing in the store: only the holder of\n"
"                       its lease commits, with an epoch each new holder\n"
"                       raises\n"
"  --redis-lease-ms N   the lease's time to live (default 10000)\n";

static size_t
count_flags(const struct flag *f)
{
	size_t n = 0;

	while (f != NULL && f[n].name != NULL)
		n++;
	return n;
}

static const struct flag *
flag_at(const struct flag *role, size_t i)
{
	size_t nc = count_flags(common_flags);

	return i < nc ? &common_flags[i] : &role[i - nc];
}

int
cmdline_parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' || s[0] == '-' ? -1 : 0;
}

/* ARTSYNC_* variables shaped like keys that are none: a typo, said once
 * at start rather than ignored in silence. */
static void
warn_unknown(char *names)
{
	char *name, *save = NULL;

	for (name = strtok_r(names, " ", &save); name != NULL;
	    name = strtok_r(NULL, " ", &save))
		log_warnx("%s: no such configuration key (ignored)", name);
}

#define MAX_OPTS 48

/* getopt_long's table for role r: the keys' flags (256 + their index),
 * then --config, --to, --help, --unpin. */
static void
build_opts(enum config_role r, struct option *opts)
{
	const struct flag *role = r == CONFIG_PRIMARY ? primary_flags :
	    secondary_flags;
	size_t i, n = count_flags(common_flags) + count_flags(role);
	int o = 0;

	for (i = 0; i < n && o < MAX_OPTS - 5; i++)
		opts[o++] = (struct option){ flag_at(role, i)->name,
		    required_argument, NULL, 256 + (int)i };
	opts[o++] = (struct option){ "config", required_argument, NULL, 'c' };
	opts[o++] = (struct option){ "to", required_argument, NULL, 't' };
	opts[o++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[o++] = (struct option){ "unpin", no_argument, NULL, 'u' };
	opts[o] = (struct option){ NULL, 0, NULL, 0 };
}

/* The flag getopt_long() returned as ch (>= 256) over c: 0, or -1 with
 * err "--FLAG: ...". */
static int
set_flag(struct config *c, enum config_role r, int ch, const char *value,
    struct snap_err *err)
{
	const struct flag *f = flag_at(r == CONFIG_PRIMARY ? primary_flags :
	    secondary_flags, (size_t)ch - 256);

	if (config_set(c, f->section, f->key, value, err) == -1)
		return snap_err_prefix(err, "--%s", f->name);
	return 0;
}

/* See cmdline.h: the file, then ARTSYNC_<KEY>, then the flags. */
int
cmdline_parse(int argc, char **argv, enum config_role r, struct cmdline *cl)
{
	struct option opts[MAX_OPTS];
	struct snap_err err = SNAP_ERR_INIT;
	char unknown[512];
	int ch;

	memset(cl, 0, sizeof(*cl));
	cl->argc = argc;
	cl->argv = argv;
	cl->role = r;
	config_defaults(&cl->c, r);
	build_opts(r, opts);

	/* First pass: only --config, so that the file lies under the
	 * environment and the flags. */
	opterr = 0;
	optind = 1;
	cl->config_from = "--config";
	while ((ch = getopt_long(argc, argv, "+nh", opts, NULL)) != -1)
		if (ch == 'c')
			cl->config_path = optarg;
	if (cl->config_path == NULL) {
		cl->config_from = config_find(cl->found, sizeof(cl->found));
		if (cl->found[0] != '\0')
			cl->config_path = cl->found;
	}
	if ((cl->config_path != NULL &&
	    config_load(&cl->c, cl->config_path, &err) == -1) ||
	    config_load_env(&cl->c, environ, unknown, sizeof(unknown),
	    &err) == -1) {
		fprintf(stderr, "artsync: %s\n", err.msg);
		return EXIT_USAGE;
	}
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+nh", opts, NULL)) != -1) {
		if (ch == 'h') {
			fputs(cmdline_usage, stdout);
			return CMDLINE_HELP_SHOWN;
		} else if (ch == 'n') {
			cl->check_only = true;
		} else if (ch == 'u') {
			cl->unpin = true;
		} else if (ch == 't') {
			if (cmdline_parse_u64(optarg, &cl->to) == -1 || cl->to == 0)
				return client_usage_error("--to: '%s' is not a version",
				    optarg);
			cl->have_to = true;
		} else if (ch >= 256) {
			if (set_flag(&cl->c, r, ch, optarg, &err) == -1) {
				fprintf(stderr, "artsync: %s\n", err.msg);
				return EXIT_USAGE;
			}
		} else if (ch == '?') {
			return client_usage_error("unknown or incomplete option '%s'",
			    argv[optind - 1]);
		}
	}
	cl->rest = argv + optind;
	cl->nrest = argc - optind;
	/* A redis:// sync root: sync_root becomes the local directory. */
	if (redis_config_resolve(&cl->c, &err) == -1) {
		fprintf(stderr, "artsync: %s\n", err.msg);
		return EXIT_USAGE;
	}
	log_init((enum log_level)cl->c.log_level,
	    (enum log_format)cl->c.log_format);
	warn_unknown(unknown);
	return 0;
}


/* See cmdline.h: what cmdline_parse() did, with what the file says now. */
int
cmdline_reread(const struct cmdline *cl, struct config *c,
    struct snap_err *err)
{
	struct option opts[MAX_OPTS];
	char unknown[512];
	int ch;

	config_defaults(c, cl->role);
	build_opts(cl->role, opts);
	if ((cl->config_path != NULL &&
	    config_load(c, cl->config_path, err) == -1) ||
	    config_load_env(c, environ, unknown, sizeof(unknown), err) == -1)
		return -1;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(cl->argc, cl->argv, "+nh", opts,
	    NULL)) != -1)
		if (ch >= 256 && set_flag(c, cl->role, ch, optarg, err) == -1)
			return -1;
	/* A file that reads well but does not hold together: named too. */
	if (redis_config_resolve(c, err) == -1 || config_check(c, err) == -1 ||
	    config_load_key(c, err) == -1)
		return cl->config_path != NULL ? snap_err_prefix(err, "%s",
		    cl->config_path) : -1;
	return 0;
}
