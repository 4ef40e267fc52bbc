/*
 * main.c - the artsync command line: one binary, one subcommand per job.
 *
 * Flags are table-driven and go through config_set(), the same code that
 * reads the config file, so a flag and its config key accept exactly the same
 * values. Exit codes: 0 ok, 1 the operation failed, 2 usage or config error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "primary.h"
#include "redis.h"
#include "redis_push.h"
#include "secondary.h"
#include "snap.h"
#include "xmlcheck.h"

#define EXIT_USAGE 2
#define HELP_SHOWN -1	/* parse() printed --help: exit 0 */

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
	{ "quiet-ms", "primary", "quiet_ms" },
	{ "retry-ms", "primary", "retry_ms" },
	{ "listen", "primary", "listen" },
	{ "retry-factor", "primary", "retry_factor" },
	{ "retry-max-ms", "primary", "retry_max_ms" },
	{ "retry-max-tries", "primary", "retry_max_tries" },
	{ "keep-versions", "primary", "keep_versions" },
	{ "keep-grace-ms", "primary", "keep_grace_ms" },
	{ "max-chain", "primary", "max_chain" },
	{ "signing-key", "primary", "signing_key" },
	{ "state-validity", "primary", "state_validity" },
	{ "poll-ms", "primary", "poll_ms" },
	{ "redis-stage", "primary", "redis_stage" },
	{ "redis-password-file", "primary", "redis_password_file" },
	{ "redis-sentinels", "primary", "redis_sentinels" },
	{ "redis-master", "primary", "redis_master" },
	{ "ha", "primary", "ha" },
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

static const char usage_text[] =
"usage: artsync COMMAND [OPTIONS]\n"
"\n"
"commands:\n"
"  publish   --source DIR --sync-root DIR    validate and publish the tree once\n"
"  check     --source DIR                    validate the tree, publish nothing\n"
"  primary   --config FILE | flags           watch the source, publish on change\n"
"  secondary --config FILE | flags           follow the sync root, swap current\n"
"  verify    --sync-root DIR [VERSION]       re-check every checksum of a version\n"
"  rollback  --sync-root DIR --to VERSION    republish an old version as the newest\n"
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
"                       MODULE[/PATH] or [USER@]HOST:PATH (repeatable)\n"
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
"  --signing-key FILE   sign every version (and rollback) with this secret\n"
"                       key (artsync keygen); mode 0600 or tighter\n"
"  --state-validity D   signed states expire D after they are published or\n"
"                       renewed: N[s|m|h|d] (default 7d; 0: never); a running\n"
"                       primary renews timestamp.sig every D/2\n"
"  --poll-ms N          (primary) rescan the source every N ms while inotify\n"
"                       watches cannot be had (default 2000)\n"
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
"  --token-file FILE    bearer token for mutating REST calls\n"
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
"  --ha redis|none      (primary) fencing in the store: only the holder of\n"
"                       its lease commits, with an epoch each new holder\n"
"                       raises (default none)\n"
"  --redis-lease-ms N   the lease's time to live (default 10000)\n";

/* Options of one command: the common flags plus the role's own. */
struct cmdline {
	struct config c;
	const char *config_path;	/* NULL: none */
	const char *config_from;	/* "--config", "ARTSYNC_CONFIG", ... */
	char found[PATH_MAX];		/* config_find()'s */
	bool check_only;
	uint64_t to;			/* rollback --to */
	bool have_to;
	char **rest;			/* positional arguments */
	int nrest;
};

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

static int
parse_u64(const char *s, uint64_t *out)
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
		log_warn("%s: no such configuration key (ignored)", name);
}

/*
 * Parses argv for a command whose role flags are `role`. Returns 0, an exit
 * code, or HELP_SHOWN. The config file is read first (wherever --config
 * stands; config_find() without it), then the environment's ARTSYNC_<KEY>
 * over it, then the flags over both.
 */
static int
parse(int argc, char **argv, enum config_role r, const struct flag *role,
    struct cmdline *cl)
{
	struct option opts[48];
	struct snap_err err = SNAP_ERR_INIT;
	size_t i, n = count_flags(common_flags) + count_flags(role);
	char unknown[512];
	int ch, o = 0;

	memset(cl, 0, sizeof(*cl));
	config_defaults(&cl->c, r);
	for (i = 0; i < n; i++)
		opts[o++] = (struct option){ flag_at(role, i)->name,
		    required_argument, NULL, 256 + (int)i };
	opts[o++] = (struct option){ "config", required_argument, NULL, 'c' };
	opts[o++] = (struct option){ "to", required_argument, NULL, 't' };
	opts[o++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[o] = (struct option){ NULL, 0, NULL, 0 };

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
			fputs(usage_text, stdout);
			return HELP_SHOWN;
		} else if (ch == 'n') {
			cl->check_only = true;
		} else if (ch == 't') {
			if (parse_u64(optarg, &cl->to) == -1 || cl->to == 0)
				return client_usage_error("--to: '%s' is not a version",
				    optarg);
			cl->have_to = true;
		} else if (ch >= 256) {
			const struct flag *f = flag_at(role, (size_t)ch - 256);

			if (config_set(&cl->c, f->section, f->key, optarg,
			    &err) == -1) {
				fprintf(stderr, "artsync: --%s: %s\n", f->name,
				    err.msg);
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

static struct snap_publish_opts
publish_opts(const struct config *c)
{
	return (struct snap_publish_opts){ .cluster_id = c->cluster_id,
	    .node_id = c->node_id, .keep_versions = c->keep_versions,
	    .grace_s = c->keep_grace_ms / 1000, .max_chain = c->max_chain,
	    .key = c->have_key ? &c->key : NULL,
	    .validity_s = c->state_validity_s };
}

/* The role's key (signing_key, public_key): a bad one is a config error. */
static int
load_key(struct cmdline *cl)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (config_load_key(&cl->c, &err) == -1) {
		fprintf(stderr, "artsync: %s\n", err.msg);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * -n: parse() and the command checked the settings; check that the paths
 * can be used as the command would, say what it would do, and stop there.
 * Returns -1 without -n, else the exit code.
 */
static int
only_checking(const struct cmdline *cl, enum config_use use)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (!cl->check_only)
		return -1;
	if (config_check_paths(&cl->c, use, &err) == -1) {
		fprintf(stderr, "artsync: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if (cl->config_path != NULL)
		printf("config: %s (%s)\n", cl->config_path, cl->config_from);
	else
		printf("config: none (%s)\n", cl->config_from);
	config_describe(&cl->c, use, stdout);
	redis_describe(&cl->c, stdout);		/* redis.h */
	printf("configuration OK\n");
	return 0;
}

/* What a command returns when parse() did not return 0. */
static int
parse_exit(int rc)
{
	return rc == HELP_SHOWN ? 0 : rc;
}

static struct xmlcheck *
new_validator(void)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct xmlcheck *xc = xmlcheck_new(&err);

	if (xc == NULL)
		fprintf(stderr, "artsync: %s\n", err.msg);
	return xc;
}

/* What a publish skipped, one line each; and when more than one thing
 * was wrong, every problem (one is said by the failure line itself). */
static void
print_report(const struct report *rep)
{
	size_t i;

	for (i = 0; i < rep->n; i++)
		if (rep->v[i].kind == REPORT_WARNING || rep->nerrors > 1)
			fprintf(stderr, "artsync: %s%s\n", rep->v[i].kind ==
			    REPORT_WARNING ? "warning: " : "", rep->v[i].text);
}

/* A publish's failure, said once: every problem when there were several,
 * and the line that sums them up. */
static void
print_failure(const char *what, const struct report *rep,
    const struct snap_err *err)
{
	print_report(rep);
	if (rep->nerrors > 1)
		fprintf(stderr, "artsync: %s failed: %zu problems above, nothing "
		    "published\n", what, rep->nerrors);
	else
		fprintf(stderr, "artsync: %s failed: %s\n", what, err->msg);
}

static int
cmd_check(int argc, char **argv)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct report rep = REPORT_INIT;
	struct snap_publish_opts o;
	struct cmdline cl;
	size_t count;
	int rc;

	if ((rc = parse(argc, argv, CONFIG_PRIMARY, primary_flags, &cl)) != 0)
		return parse_exit(rc);
	if (cl.nrest > 0)
		return client_usage_error("check: unexpected argument '%s'",
		    cl.rest[0]);
	if (cl.c.source[0] == '\0')
		return client_usage_error("check: %s", "--source is required");
	o = publish_opts(&cl.c);
	if ((o.xc = new_validator()) == NULL)
		return 1;
	o.report = &rep;
	rc = snap_check(cl.c.source, &o, &count, &err);
	xmlcheck_free(o.xc);
	if (rc == -1)
		print_failure("check", &rep, &err);
	else
		print_report(&rep);
	if (rc == 0)
		printf("%zu artifacts OK\n", count);
	report_free(&rep);
	return rc == -1 ? 1 : 0;
}

static int
cmd_publish(int argc, char **argv)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct report rep = REPORT_INIT;
	enum snap_publish_result res;
	struct snap_publish_opts o;
	struct cmdline cl;
	uint64_t version;
	int rc;

	if ((rc = parse(argc, argv, CONFIG_PRIMARY, primary_flags, &cl)) != 0)
		return parse_exit(rc);
	if (cl.nrest > 0)
		return client_usage_error("publish: unexpected argument '%s'",
		    cl.rest[0]);
	if (config_check(&cl.c, &err) == -1) {
		fprintf(stderr, "artsync: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if ((rc = load_key(&cl)) != 0)
		return rc;
	if ((rc = only_checking(&cl, CONFIG_USE_PUBLISH)) >= 0)
		return rc;
	o = publish_opts(&cl.c);
	if ((o.xc = new_validator()) == NULL)
		return 1;
	o.report = &rep;
	rc = cl.c.redis_url[0] ? redis_cmd_prepare(&cl.c, 0, &err) : 0;
	if (rc == 0)
		rc = snap_publish(cl.c.source, cl.c.sync_root, &o, &res,
		    &version, &err);
	if (rc == 0 && cl.c.redis_url[0])	/* redis_push.h */
		rc = redis_cmd_upload(&cl.c, &err);
	xmlcheck_free(o.xc);
	if (rc == -1)
		print_failure("publish", &rep, &err);
	else
		print_report(&rep);
	report_free(&rep);
	if (rc == -1)
		return 1;
	if (res == SNAP_UNCHANGED)
		printf("unchanged\n");
	else
		printf("%" PRIu64 "\n", version);
	if (res == SNAP_REPAIRED)
		fprintf(stderr, "artsync: warning: %s\n", err.msg);
	return 0;
}

static int
cmd_verify(int argc, char **argv)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state st;
	struct cmdline cl;
	uint64_t version = 0;
	int rc;

	if ((rc = parse(argc, argv, CONFIG_SECONDARY, secondary_flags,
	    &cl)) != 0)
		return parse_exit(rc);
	if (cl.nrest > 1)
		return client_usage_error("verify: unexpected argument '%s'",
		    cl.rest[1]);
	if (cl.nrest == 1 && (parse_u64(cl.rest[0], &version) == -1 ||
	    version == 0))
		return client_usage_error("verify: '%s' is not a version", cl.rest[0]);
	if (cl.c.sync_root[0] == '\0')
		return client_usage_error("verify: %s", "--sync-root is required");
	if ((rc = load_key(&cl)) != 0)
		return rc;
	if ((rc = only_checking(&cl, CONFIG_USE_VERIFY)) >= 0)
		return rc;
	if ((cl.c.redis_url[0] && redis_cmd_fetch(&cl.c, version, &err) == -1) ||
	    snap_verify(cl.c.sync_root, version, cl.c.have_key ? &cl.c.key :
	    NULL, &st, &err) == -1) {
		fprintf(stderr, "artsync: verify failed: %s\n", err.msg);
		return 1;
	}
	printf("version %" PRIu64 " OK: %" PRIu64 " artifacts, archive xxh128 "
	    "%s%s\n", st.version, st.artifact_count, st.archive.xxh128,
	    cl.c.have_key ? ", signature good" : "");
	return 0;
}

static int
cmd_rollback(int argc, char **argv)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_publish_opts o;
	struct cmdline cl;
	uint64_t version;
	int rc;

	if ((rc = parse(argc, argv, CONFIG_PRIMARY, primary_flags, &cl)) != 0)
		return parse_exit(rc);
	if (cl.c.sync_root[0] == '\0' || !cl.have_to)
		return client_usage_error("rollback: %s", "--sync-root and --to are "
		    "required");
	if ((rc = load_key(&cl)) != 0)
		return rc;
	if ((rc = only_checking(&cl, CONFIG_USE_ROLLBACK)) >= 0)
		return rc;
	o = publish_opts(&cl.c);
	if ((cl.c.redis_url[0] && redis_cmd_prepare(&cl.c, cl.to, &err) == -1) ||
	    snap_rollback(cl.c.sync_root, cl.to, &o, &version, &err) == -1 ||
	    (cl.c.redis_url[0] && redis_cmd_upload(&cl.c, &err) == -1)) {
		fprintf(stderr, "artsync: rollback failed: %s\n", err.msg);
		return 1;
	}
	printf("%" PRIu64 "\n", version);
	return 0;
}

static int
cmd_daemon(int argc, char **argv, enum config_role r)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct cmdline cl;
	int rc;

	rc = parse(argc, argv, r, r == CONFIG_PRIMARY ? primary_flags :
	    secondary_flags, &cl);
	if (rc != 0)
		return parse_exit(rc);
	if (cl.nrest > 0)
		return client_usage_error("unexpected argument '%s'", cl.rest[0]);
	if (config_check(&cl.c, &err) == -1) {
		fprintf(stderr, "artsync: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if ((rc = load_key(&cl)) != 0)
		return rc;
	if ((rc = only_checking(&cl, r == CONFIG_PRIMARY ? CONFIG_USE_PRIMARY :
	    CONFIG_USE_SECONDARY)) >= 0)
		return rc;
	return r == CONFIG_PRIMARY ? primary_run(&cl.c) : secondary_run(&cl.c);
}

/* keygen --out FILE: a new key pair; the public key on stdout. */
static int
cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct snap_err err = SNAP_ERR_INIT;
	struct sign_key k;
	const char *out = NULL;
	char b64[128], id[17];
	int ch, rc = 1;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (ch == 'o')
			out = optarg;
		else if (ch == 'h') {
			printf("usage: artsync keygen --out FILE\n"
			    "writes a new ed25519 signing key to FILE (mode 0600) "
			    "and its public key\nto FILE.pub (signify's formats), "
			    "and prints the public key\n");
			return 0;
		} else
			return client_usage_error("keygen: unknown or incomplete "
			    "option '%s'", argv[optind - 1]);
	}
	if (out == NULL || optind < argc)
		return client_usage_error("keygen: %s", "usage: artsync keygen "
		    "--out FILE");
	if (sign_keygen(&k, &err) == 0 && sign_key_write(&k, out, &err) == 0) {
		sign_public_b64(&k, b64, sizeof(b64));
		sign_keyid(k.keynum, id);
		fprintf(stderr, "artsync: key %s: secret key in %s, public key "
		    "in %s.pub\n", id, out, out);
		printf("%s\n", b64);
		rc = 0;
	} else
		fprintf(stderr, "artsync: keygen failed: %s\n", err.msg);
	sodium_memzero(&k, sizeof(k));
	return rc;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (cmd == NULL)
		return client_usage_error("%s", "no command given");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("%s\n", SNAP_VERSION_STRING);
		return 0;
	}
	argc--;
	argv++;
	if (!strcmp(cmd, "publish"))
		return cmd_publish(argc, argv);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc, argv);
	if (!strcmp(cmd, "verify"))
		return cmd_verify(argc, argv);
	if (!strcmp(cmd, "rollback"))
		return cmd_rollback(argc, argv);
	if (!strcmp(cmd, "keygen"))
		return cmd_keygen(argc, argv);
	if (!strcmp(cmd, "primary"))
		return cmd_daemon(argc, argv, CONFIG_PRIMARY);
	if (!strcmp(cmd, "secondary"))
		return cmd_daemon(argc, argv, CONFIG_SECONDARY);
	if (client_is_command(cmd))
		return client_main(argc, argv);
	return client_usage_error("unknown command '%s'", cmd);
}
