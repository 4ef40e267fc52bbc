/*
 * commands.c - the one-shot commands that need no daemon (see commands.h):
 * publish, check, verify, rollback, pin, unpin, keygen, help, --version.
 *
 * Each command parses its flags with cmdline_parse() (cmdline.h), then
 * does its one job. Nothing here may reach the daemons, the REST endpoint
 * or the REST client: the light front (front.c) links this file, and only
 * what it references is pulled from libartsync.a.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "cmdline.h"
#include "commands.h"
#include "config.h"
#include "log.h"
#include "pinned.h"
#include "primary.h"
#include "redis.h"
#include "redis_push.h"
#include "snap.h"
#include "xmlcheck.h"

#define EXIT_USAGE 2

/* See commands.h. */
int
commands_load_key(struct cmdline *cl)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (config_load_key(&cl->c, &err) == -1) {
		fprintf(stderr, "artsync: %s\n", err.msg);
		return EXIT_USAGE;
	}
	return 0;
}

/* See commands.h. */
int
commands_only_checking(const struct cmdline *cl, enum config_use use)
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

/* See commands.h. */
int
commands_parse_exit(int rc)
{
	return rc == CMDLINE_HELP_SHOWN ? 0 : rc;
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

	if ((rc = cmdline_parse(argc, argv, CONFIG_PRIMARY, &cl)) != 0)
		return commands_parse_exit(rc);
	if (cl.nrest > 0)
		return client_usage_error("check: unexpected argument '%s'",
		    cl.rest[0]);
	if (cl.c.source[0] == '\0')
		return client_usage_error("check: %s", "--source is required");
	/* A one-shot process: its big buffers (the publish cache, read and
	 * written, ~1 MB at 10,000 artifacts; the manifests' arrays as they
	 * grow) come from the heap, not from an mmap each that munmap gives
	 * back and the next one faults in again, page by page - a third of
	 * a cached publish's page faults. Nothing lives long enough here for
	 * the heap's growth to matter. */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	o = primary_publish_opts(&cl.c);
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

/* $SOURCE_DATE_EPOCH (reproducible-builds.org): the time a publish records
 * instead of the clock's, so that two publishes of one tree are byte for
 * byte the same; 0 (the clock) when unset or not a positive number. */
static int64_t
source_date_epoch(void)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0' && v > 0 ? (int64_t)v : 0;
}

static int
cmd_publish(int argc, char **argv)
{
	struct snap_err err = SNAP_ERR_INIT, warn = SNAP_ERR_INIT;
	struct snap_cache_use use = { 0, 0 };
	struct report rep = REPORT_INIT;
	enum snap_publish_result res;
	struct snap_publish_opts o;
	struct cmdline cl;
	uint64_t version;
	int rc;

	if ((rc = cmdline_parse(argc, argv, CONFIG_PRIMARY, &cl)) != 0)
		return commands_parse_exit(rc);
	if (cl.nrest > 0)
		return client_usage_error("publish: unexpected argument '%s'",
		    cl.rest[0]);
	if (config_check(&cl.c, &err) == -1) {
		fprintf(stderr, "artsync: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if ((rc = commands_load_key(&cl)) != 0)
		return rc;
	if ((rc = commands_only_checking(&cl, CONFIG_USE_PUBLISH)) >= 0)
		return rc;
	if ((rc = pinned_publish_allowed(&cl.c, cl.unpin)) != 0)
		return rc;	/* failover, a pin (agent/pinned.h) */
	/* A one-shot process: its big buffers (the publish cache, read and
	 * written, ~1 MB at 10,000 artifacts; the manifests' arrays as they
	 * grow) come from the heap, not from an mmap each that munmap gives
	 * back and the next one faults in again, page by page - a third of
	 * a cached publish's page faults. Nothing lives long enough here for
	 * the heap's growth to matter. */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	o = primary_publish_opts(&cl.c);
	if ((o.xc = new_validator()) == NULL)
		return 1;
	o.report = &rep;
	o.now = source_date_epoch();
	rc = cl.c.redis_url[0] ? redis_cmd_prepare(&cl.c, 0, &err) : 0;
	if (rc == 0)
		rc = snap_publish_cached(cl.c.source, cl.c.sync_root, &o, &res,
		    &version, &use, &warn, &err);
	if (warn.msg[0] != '\0')	/* the publish cache: a full read */
		fprintf(stderr, "artsync: warning: %s/%s\n", cl.c.sync_root,
		    warn.msg);
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
	if (cl.c.log_level == LOG_LEVEL_DEBUG)
		fprintf(stderr, "artsync: debug: %s/.publish.cache: %zu of %zu "
		    "artifacts read\n", cl.c.sync_root, use.read, use.total);
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

	if ((rc = cmdline_parse(argc, argv, CONFIG_SECONDARY, &cl)) != 0)
		return commands_parse_exit(rc);
	if (cl.nrest > 1)
		return client_usage_error("verify: unexpected argument '%s'",
		    cl.rest[1]);
	if (cl.nrest == 1 && (cmdline_parse_u64(cl.rest[0], &version) == -1 ||
	    version == 0))
		return client_usage_error("verify: '%s' is not a version", cl.rest[0]);
	if (cl.c.sync_root[0] == '\0')
		return client_usage_error("verify: %s", "--sync-root is required");
	if ((rc = commands_load_key(&cl)) != 0)
		return rc;
	if ((rc = commands_only_checking(&cl, CONFIG_USE_VERIFY)) >= 0)
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
	int rc, was;

	if ((rc = cmdline_parse(argc, argv, CONFIG_PRIMARY, &cl)) != 0)
		return commands_parse_exit(rc);
	if (cl.c.sync_root[0] == '\0' || !cl.have_to)
		return client_usage_error("rollback: %s", "--sync-root and --to are "
		    "required");
	if ((rc = commands_load_key(&cl)) != 0)
		return rc;
	if ((rc = commands_only_checking(&cl, CONFIG_USE_ROLLBACK)) >= 0)
		return rc;
	/* The rollback sticks: pinned first (agent/pinned.h). */
	if ((rc = pinned_rollback_begin(&cl.c, cl.to, &was)) >= 0)
		return rc;
	o = primary_publish_opts(&cl.c);
	if ((cl.c.redis_url[0] && redis_cmd_prepare(&cl.c, cl.to, &err) == -1) ||
	    snap_rollback(cl.c.sync_root, cl.to, &o, &version, &err) == -1 ||
	    (cl.c.redis_url[0] && redis_cmd_upload(&cl.c, &err) == -1)) {
		fprintf(stderr, "artsync: rollback failed: %s\n", err.msg);
		pinned_rollback_failed(&cl.c, was);
		return 1;
	}
	printf("%" PRIu64 "\n", version);
	return 0;
}

/* pin [VERSION], unpin: pin.json (snapshots/pin.h, agent/pinned.h). */
static int
cmd_pin(int argc, char **argv, bool on)
{
	struct cmdline cl;
	uint64_t version = 0;
	int rc;

	if ((rc = cmdline_parse(argc, argv, CONFIG_PRIMARY, &cl)) != 0)
		return commands_parse_exit(rc);
	if (cl.nrest > (on ? 1 : 0))
		return client_usage_error("unexpected argument '%s'",
		    cl.rest[on ? 1 : 0]);
	if (cl.nrest == 1 && (cmdline_parse_u64(cl.rest[0], &version) == -1 ||
	    version == 0))
		return client_usage_error("pin: '%s' is not a version",
		    cl.rest[0]);
	if (cl.c.sync_root[0] == '\0')
		return client_usage_error("%s", "--sync-root is required");
	if ((rc = commands_load_key(&cl)) != 0)
		return rc;
	if ((rc = commands_only_checking(&cl, CONFIG_USE_ROLLBACK)) >= 0)
		return rc;
	return pinned_command(&cl.c, on, version);
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


/* See commands.h. The order of the tests is main()'s of old: help and
 * --version before any command, so that both binaries answer alike. */
int
commands_run(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (cmd == NULL)
		return client_usage_error("%s", "no command given");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(cmdline_usage, stdout);
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
	if (!strcmp(cmd, "pin") || !strcmp(cmd, "unpin"))
		return cmd_pin(argc, argv, cmd[0] == 'p');
	if (!strcmp(cmd, "keygen"))
		return cmd_keygen(argc, argv);
	return COMMANDS_NOT_MINE;
}
