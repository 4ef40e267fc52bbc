/*
 * client.c - the REST client commands (see client.h).
 *
 * One command is one request: parse the flags, check TYPE and NAME here
 * (so that a typo costs no round trip and the URL needs no escaping), find
 * the endpoint and the token, send the request (client_http.h), then
 * print (client_print.h).
 *
 * The token: --token-file; else the one the agent uses, found as the agent
 * finds it (token.h: its token_file, else rest.token in its deploy root,
 * both from the config file and ARTSYNC_<KEY>). A token found that way is
 * sent only to that agent: the endpoint its listen gives, or a loopback
 * address; a change that needs it and cannot read it stops with one line
 * (exit 2), a read goes without it (the server says if it needed one).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "client.h"
#include "client_http.h"
#include "client_print.h"
#include "config.h"
#include "fsutil.h"
#include "names.h"
#include "token.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define HELP_SHOWN -1		/* parse_args() printed --help: exit 0 */

enum client_cmd {
	CMD_STATUS,
	CMD_LIST,
	CMD_SHOW,
	CMD_REDEPLOY,
	CMD_UNDEPLOY,
	CMD_DEPLOY_LOCAL,
	CMD_FORGET,
};

static const struct command {
	const char *name;
	int nargs;		/* positional arguments after the name */
	const char *args;	/* ... as the usage line shows them */
} commands[] = {
	[CMD_STATUS] = { "status", 0, "" },
	[CMD_LIST] = { "list", 0, "" },
	[CMD_SHOW] = { "show", 2, " TYPE NAME" },
	[CMD_REDEPLOY] = { "redeploy", 2, " TYPE NAME" },
	[CMD_UNDEPLOY] = { "undeploy", 2, " TYPE NAME" },
	[CMD_DEPLOY_LOCAL] = { "deploy-local", 3, " TYPE NAME FILE" },
	[CMD_FORGET] = { "forget", 2, " TYPE NAME" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char usage_text[] =
"usage: artsync status [OPTIONS]\n"
"       artsync list [--type TYPE] [OPTIONS]\n"
"       artsync show TYPE NAME [OPTIONS]\n"
"       artsync redeploy TYPE NAME [OPTIONS]\n"
"       artsync undeploy TYPE NAME [OPTIONS]\n"
"       artsync deploy-local TYPE NAME FILE [OPTIONS]\n"
"       artsync forget TYPE NAME [OPTIONS]\n"
"\n"
"Talk to the REST endpoint of a running secondary. redeploy, undeploy and\n"
"deploy-local change this gateway only, until the next redeploy; forget\n"
"drops a local override whatever it is. NAME is the file name without\n"
".xml, or the name Synapse knows the artifact by (an API's name:vVERSION,\n"
"a local entry's key). TYPE config names the files at the top (synapse).\n"
"\n"
"options:\n"
"  --endpoint URL       http://HOST:PORT of the agent (default: [secondary]\n"
"                       listen of the config, else " CLIENT_DEFAULT_ENDPOINT ")\n"
"  --token-file FILE    bearer token (default: the agent's own, sent to it\n"
"                       only: [secondary] token_file of the config, else\n"
"                       rest.token in its deploy_root; changes need it)\n"
"  --config FILE        the agent's config file (default: $ARTSYNC_CONFIG,\n"
"                       else /etc/artsync.conf if there is one)\n"
"  --json               print the server's JSON answer as it is\n"
"  --type TYPE          list: only artifacts of this type\n"
"  -h, --help           this text\n";

struct client_opts {
	enum client_cmd cmd;
	const char *endpoint;		/* --endpoint */
	const char *token_file;		/* --token-file */
	const char *config_path;	/* --config */
	const char *type_filter;	/* --type */
	bool json;
	char **args;			/* positional arguments */
};

bool
client_is_command(const char *cmd)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, cmd) == 0)
			return true;
	return false;
}

/*
 * fsu_read_file() refuses a symlink as its last component, which is right
 * for trees we own but not for a file a user names on the command line:
 * resolve the path first.
 */
static int
read_user_file(const char *path, size_t max, char **out, size_t *len,
    struct snap_err *err)
{
	char *real = NULL;
	int rc = -1;

	*out = NULL;
	if ((real = realpath(path, NULL)) == NULL) {
		snap_err_sys(err, errno, "%s", path);
		goto out;
	}
	if (fsu_read_file(AT_FDCWD, real, max, out, len, err) == -1)
		goto out;
	rc = 0;
out:
	free(real);
	return rc;
}

/* --- flags ------------------------------------------------------------ */

static int
parse_args(int argc, char **argv, struct client_opts *o)
{
	static const struct option opts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "token-file", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "type", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd;
	size_t i;
	int ch, nargs;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < NCOMMANDS; i++)
		if (argc > 0 && strcmp(commands[i].name, argv[0]) == 0)
			break;
	if (i == NCOMMANDS)
		return client_usage_error("unknown command '%s'",
		    argc > 0 ? argv[0] : "");
	o->cmd = (enum client_cmd)i;
	cmd = &commands[i];

	/* optind 0: glibc starts over, whatever parsed argv before us. The
	 * leading ':' reports a missing value apart from an unknown flag. */
	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			o->endpoint = optarg;
			break;
		case 't':
			o->token_file = optarg;
			break;
		case 'c':
			o->config_path = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'T':
			o->type_filter = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return HELP_SHOWN;
		case ':':
			return client_usage_error("option '%s' needs a value",
			    argv[optind - 1]);
		default:
			/* A long flag is named as typed; a short one by optopt,
			 * since argv[optind - 1] may be a cluster ("-xj"). */
			if (strncmp(argv[optind - 1], "--", 2) != 0 &&
			    optopt != 0) {
				char flag[3] = { '-', (char)optopt, '\0' };

				return client_usage_error("unknown option '%s'", flag);
			}
			return client_usage_error("unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	o->args = argv + optind;
	nargs = argc - optind;
	if (nargs > cmd->nargs)
		return client_usage_error("unexpected argument '%s'",
		    o->args[cmd->nargs]);
	if (nargs < cmd->nargs) {
		fprintf(stderr, "artsync: usage: artsync %s%s [OPTIONS] (see "
		    "artsync %s --help)\n", cmd->name, cmd->args, cmd->name);
		return EXIT_USAGE;
	}
	if (o->type_filter != NULL && o->cmd != CMD_LIST)
		return client_usage_error("option '--type' is for %s only", "list");
	if (o->type_filter != NULL && name_type_lookup(o->type_filter) == NULL)
		return client_usage_error("--type: unknown artifact type '%s'",
		    o->type_filter);
	return 0;
}

/*
 * The request of a command, TYPE and NAME checked. For deploy-local, *file
 * gets the FILE's bytes (the caller frees). 0 or an exit code.
 */
static int
build_request(const struct client_opts *o, struct client_request *rq,
    char **file)
{
	struct snap_err err = SNAP_ERR_INIT;
	const char *type, *name;
	char *enc;

	memset(rq, 0, sizeof(*rq));
	*file = NULL;
	rq->method = "GET";
	switch (o->cmd) {
	case CMD_STATUS:
		snprintf(rq->path, sizeof(rq->path), "/api/v1/status");
		return 0;
	case CMD_LIST:
		/* A known type is URL-safe as it is. */
		snprintf(rq->path, sizeof(rq->path), "/api/v1/artifacts%s%s",
		    o->type_filter != NULL ? "?type=" : "",
		    o->type_filter != NULL ? o->type_filter : "");
		return 0;
	default:
		break;
	}
	/* Only now: status and list have no TYPE NAME in argv. */
	type = o->args[0];
	name = o->args[1];
	if (name_type_lookup(type) == NULL)
		return client_usage_error("unknown artifact type '%s'", type);
	if (name_check(name, &err) == -1) {
		fprintf(stderr, "artsync: %s\n", err.msg);
		return EXIT_USAGE;
	}
	/* A name may hold ':', '{', spaces, UTF-8 (names.h): sent encoded,
	 * and decoded by the endpoint segment by segment (route.c). The
	 * handle argument is ignored since curl 7.82. */
	if ((enc = curl_easy_escape(NULL, name, 0)) == NULL) {
		fprintf(stderr, "artsync: out of memory\n");
		return 1;
	}
	snprintf(rq->path, sizeof(rq->path), "/api/v1/artifacts/%s/%s%s",
	    type, enc, o->cmd == CMD_REDEPLOY ? "/redeploy" :
	    o->cmd == CMD_UNDEPLOY ? "/undeploy" : o->cmd == CMD_FORGET ?
	    "/override" : "");
	curl_free(enc);
	if (o->cmd == CMD_REDEPLOY || o->cmd == CMD_UNDEPLOY)
		rq->method = "POST";
	if (o->cmd == CMD_FORGET)
		rq->method = "DELETE";
	if (o->cmd == CMD_DEPLOY_LOCAL) {
		rq->method = "PUT";
		if (read_user_file(o->args[2], ARTIFACT_MAX_BYTES, file,
		    &rq->body_len, &err) == -1) {
			fprintf(stderr, "artsync: %s\n", err.msg);
			return EXIT_USAGE;
		}
		rq->body = *file;
	}
	return 0;
}

/* What the answer to a command holds, for client_print_answer(). */
static enum client_answer
answer_kind(enum client_cmd cmd)
{
	switch (cmd) {
	case CMD_STATUS:
		return CLIENT_ANSWER_STATUS;
	case CMD_LIST:
		return CLIENT_ANSWER_LIST;
	case CMD_SHOW:
		return CLIENT_ANSWER_XML;
	default:
		return CLIENT_ANSWER_CHANGE;
	}
}

/* Sends rq and prints the answer. An exit code. */
static int
send_and_print(const struct client_opts *o, const struct client_request *rq,
    const struct client_target *t)
{
	struct client_response rs = { 0 };
	char errbuf[CURL_ERROR_SIZE], what[sizeof(rq->path) + 16];
	int rc = EXIT_FAILED;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "artsync: cannot initialise libcurl\n");
		return EXIT_FAILED;
	}
	if (client_http_do(rq, t->endpoint, t->token, &rs, errbuf) == -1) {
		if (rs.too_big)
			fprintf(stderr, "artsync: %s%s: answer larger than %zu "
			    "bytes\n", t->endpoint, rq->path,
			    CLIENT_RESPONSE_MAX);
		else
			fprintf(stderr, "artsync: cannot reach %s: %s\n",
			    t->endpoint, errbuf);
		goto out;
	}
	if (rs.status < 200 || rs.status > 299) {
		snprintf(what, sizeof(what), "%s %s", rq->method, rq->path);
		client_report_error(what, rs.status, rs.body, rs.len,
		    rs.status == 401 ? t->why : NULL);
		goto out;
	}
	if (client_print_answer(answer_kind(o->cmd), o->json,
	    rs.body != NULL ? rs.body : "", rs.len) == -1)
		goto out;
	/* A full disk or a closed pipe is a failure too, not a silent 0. */
	if (fflush(stdout) == EOF || ferror(stdout))
		fprintf(stderr, "artsync: stdout: %s\n", strerror(errno));
	else
		rc = 0;
out:
	client_response_free(&rs);
	curl_global_cleanup();
	return rc;
}

int
client_main(int argc, char **argv)
{
	struct client_request rq;
	struct client_where w;
	struct client_opts o;
	struct client_target t = { .token = "" };
	char *file = NULL;
	int rc;

	if ((rc = parse_args(argc, argv, &o)) != 0) {
		if (rc == HELP_SHOWN)
			rc = 0;
		goto out;
	}
	if ((rc = build_request(&o, &rq, &file)) != 0)
		goto out;
	w = (struct client_where){ .endpoint = o.endpoint,
	    .token_file = o.token_file, .config_path = o.config_path,
	    .change = o.cmd != CMD_STATUS && o.cmd != CMD_LIST &&
	    o.cmd != CMD_SHOW };
	if ((rc = client_target_resolve(&w, &t)) != 0)
		goto out;
	rc = send_and_print(&o, &rq, &t);
out:
	explicit_bzero(t.token, sizeof(t.token));
	free(file);
	return rc;
}
