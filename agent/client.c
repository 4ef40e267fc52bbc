/*
 * client.c - the REST client commands (see client.h).
 *
 * One command is one request: parse the flags, check TYPE and NAME here
 * (so that a typo costs no round trip and the URL needs no escaping), find
 * the endpoint and the token (flag, then the config file, then the default),
 * send the request with libcurl, then print. The HTTP part only fills a
 * response buffer; printing works on parsed JSON and never sees curl, so it
 * can be tested without a server.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "client.h"
#include "config.h"
#include "fsutil.h"
#include "httpc.h"
#include "names.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define HELP_SHOWN -1		/* parse_args() printed --help: exit 0 */

/* An answer is at most an artifact (show) or a list of them. */
#define RESPONSE_MAX (2 * (size_t)ARTIFACT_MAX_BYTES)
/* How much of a non-JSON error body is worth a line on stderr. */
#define ERROR_BODY_MAX 200
#define ENDPOINT_MAX 1024

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
"  --token-file FILE    bearer token (default: [secondary] token_file of\n"
"                       the config)\n"
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

struct request {
	const char *method;
	char path[1024];	/* TYPE, NAME percent-encoded (at most 3 bytes
				 * a byte), an action */
	const char *body;		/* PUT only; not owned */
	size_t body_len;
};

struct response {
	long status;
	char *body;			/* NUL-terminated; owned */
	size_t len;
	size_t cap;
	bool too_big;
};

int
client_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "artsync: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see artsync --help)\n");
	return EXIT_USAGE;
}

bool
client_is_command(const char *cmd)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, cmd) == 0)
			return true;
	return false;
}

/* --- the pieces without a network ------------------------------------ */

int
client_endpoint_from_listen(const char *listen, char *out, size_t outlen)
{
	const char *host = listen, *port, *end;
	size_t hostlen, i;
	bool v6;
	int n;

	if (listen[0] == '[') {
		/* "[V6]:PORT": the port follows the closing bracket. */
		if ((end = strchr(listen, ']')) == NULL || end[1] != ':')
			return -1;
		host = listen + 1;
		hostlen = (size_t)(end - host);
		port = end + 2;
		v6 = true;
		if (hostlen == 0)
			return -1;
	} else {
		/* The last colon, as the server reads it: "::1:7846" is
		 * host ::1, port 7846. */
		if ((end = strrchr(listen, ':')) == NULL)
			return -1;
		hostlen = (size_t)(end - listen);
		port = end + 1;
		v6 = memchr(listen, ':', hostlen) != NULL;
	}
	/* A wildcard is where a server listens, not an address to connect
	 * to: the same machine is. */
	if (!v6 && (hostlen == 0 || (hostlen == 1 && *host == '*') ||
	    (hostlen == 7 && memcmp(host, "0.0.0.0", 7) == 0))) {
		host = "127.0.0.1";
		hostlen = 9;
	} else if (v6 && hostlen == 2 && memcmp(host, "::", 2) == 0) {
		host = "::1";
		hostlen = 3;
	}
	/* Port 0 (the server picks one) is no port to connect to. */
	if (port[0] == '\0' || strlen(port) > 5 ||
	    strspn(port, "0123456789") != strlen(port) ||
	    atoi(port) == 0 || atoi(port) > 65535)
		return -1;
	/* Any of these in the host would change what the URL means. */
	for (i = 0; i < hostlen; i++)
		if (strchr("/@?#[] ", host[i]) != NULL)
			return -1;
	n = snprintf(out, outlen, "http://%s%.*s%s:%s", v6 ? "[" : "",
	    (int)hostlen, host, v6 ? "]" : "", port);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
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

int
client_read_token(const char *path, char *out, size_t outlen,
    struct snap_err *err)
{
	/* The server reads its copy with the same function: the same
	 * trimming and checks on both sides, or a token would never match. */
	if (outlen > CLIENT_TOKEN_MAX + 1)
		outlen = CLIENT_TOKEN_MAX + 1;
	if (config_read_token(path, out, outlen, err) == -1)
		return snap_err_prefix(err, "token file");
	return 0;
}

/* The server's text may reach a terminal: control bytes become '?'. */
static void
put_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void
put_value(FILE *f, json_t *v)
{
	char *dump;
	size_t i;

	switch (v != NULL ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		put_text(f, json_string_value(v));
		break;
	case JSON_INTEGER:
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(f, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("yes", f);
		break;
	case JSON_FALSE:
		fputs("no", f);
		break;
	case JSON_ARRAY:
		if (json_array_size(v) == 0)
			fputs("-", f);
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				fputc(',', f);
			put_value(f, json_array_get(v, i));
		}
		break;
	case JSON_OBJECT:
		if ((dump = json_dumps(v, JSON_COMPACT)) != NULL)
			put_text(f, dump);
		free(dump);
		break;
	case JSON_NULL:
		fputs("-", f);
		break;
	}
}

static const char *const status_keys[] = {
	"role", "node_id", "cluster_id", "applied_version",
	"latest_seen_version", "last_sync_at", "last_error", "labels",
	"release", "artifact_count", "overrides", "healthy",
};
#define NSTATUS_KEYS (sizeof(status_keys) / sizeof(status_keys[0]))

static bool
is_status_key(const char *key)
{
	size_t i;

	for (i = 0; i < NSTATUS_KEYS; i++)
		if (strcmp(status_keys[i], key) == 0)
			return true;
	return false;
}

static void
put_field(FILE *f, const char *key, json_t *v, int width)
{
	put_text(f, key);
	fprintf(f, ":%*s", width - (int)strlen(key), "");
	put_value(f, v);
	fputc('\n', f);
}

int
client_format_status(json_t *j, FILE *f)
{
	const char *key;
	json_t *v;
	size_t i;
	int width = 0;

	if (!json_is_object(j))
		return -1;
	for (i = 0; i < NSTATUS_KEYS; i++)
		if ((int)strlen(status_keys[i]) > width)
			width = (int)strlen(status_keys[i]);
	json_object_foreach(j, key, v)
		if (strlen(key) < 64 && (int)strlen(key) > width)
			width = (int)strlen(key);
	/* One space after the colon of the longest key. */
	width++;
	/* The known fields always, in a fixed order; a newer server's extra
	 * fields after them rather than not at all. */
	for (i = 0; i < NSTATUS_KEYS; i++)
		put_field(f, status_keys[i], json_object_get(j, status_keys[i]),
		    width);
	json_object_foreach(j, key, v)
		if (!is_status_key(key))
			put_field(f, key, v, width > (int)strlen(key) ? width :
			    (int)strlen(key) + 1);
	return 0;
}

#define LIST_COLS 5
static const char *const list_header[LIST_COLS] = {
	"TYPE", "NAME", "STATE", "VERSION", "XXH128",
};
#define UPSTREAM_NOTE " (upstream changed)"

/* One artifact's cells; `num` holds the version's digits. */
static void
list_row(json_t *a, const char *cells[LIST_COLS], char num[32], bool *changed)
{
	static const char *const keys[LIST_COLS] = {
		"type", "name", "state", NULL, "xxh128",
	};
	json_t *v = json_object_get(a, "version");
	size_t i;

	for (i = 0; i < LIST_COLS; i++) {
		cells[i] = keys[i] != NULL ?
		    json_string_value(json_object_get(a, keys[i])) : NULL;
		if (cells[i] == NULL)
			cells[i] = "-";
	}
	if (json_is_integer(v))
		snprintf(num, 32, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else
		snprintf(num, 32, "-");
	cells[3] = num;
	*changed = json_is_true(json_object_get(a, "upstream_changed"));
}

static void
put_cell(FILE *f, const char *s, size_t len, size_t width, bool last)
{
	put_text(f, s);
	if (!last)
		fprintf(f, "%*s", (int)(width - len + 2), "");
}

int
client_format_list(json_t *j, FILE *f)
{
	json_t *arts = json_object_get(j, "artifacts"), *a;
	size_t width[LIST_COLS], len[LIST_COLS], i, c;
	const char *cells[LIST_COLS];
	char num[32];
	bool changed;

	if (!json_is_object(j) || !json_is_array(arts))
		return -1;
	for (c = 0; c < LIST_COLS; c++)
		width[c] = strlen(list_header[c]);
	json_array_foreach(arts, i, a) {
		if (!json_is_object(a))
			return -1;
		list_row(a, cells, num, &changed);
		for (c = 0; c < LIST_COLS; c++) {
			len[c] = strlen(cells[c]);
			if (c == 2 && changed)
				len[c] += strlen(UPSTREAM_NOTE);
			if (len[c] > width[c])
				width[c] = len[c];
		}
	}
	if (json_array_size(arts) > 0)
		for (c = 0; c < LIST_COLS; c++)
			put_cell(f, list_header[c], strlen(list_header[c]),
			    width[c], c == LIST_COLS - 1);
	if (json_array_size(arts) > 0)
		fputc('\n', f);
	json_array_foreach(arts, i, a) {
		list_row(a, cells, num, &changed);
		for (c = 0; c < LIST_COLS; c++) {
			len[c] = strlen(cells[c]);
			/* The note goes in the state's cell: print the
			 * state, then pad after the note. */
			if (c == 2 && changed) {
				put_text(f, cells[c]);
				cells[c] = UPSTREAM_NOTE;
				len[c] += strlen(UPSTREAM_NOTE);
			}
			put_cell(f, cells[c], len[c], width[c],
			    c == LIST_COLS - 1);
		}
		fputc('\n', f);
	}
	fprintf(f, "%zu artifacts\n", json_array_size(arts));
	return 0;
}

int
client_format_change(json_t *j, FILE *f)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *state = json_string_value(json_object_get(j, "state"));
	const char *release = json_string_value(json_object_get(j, "release"));

	if (type == NULL || name == NULL || state == NULL)
		return -1;
	put_text(f, type);
	fputc('/', f);
	put_text(f, name);
	fputs(": ", f);
	put_text(f, state);
	if (release != NULL) {
		fputs(" (release ", f);
		put_text(f, release);
		fputc(')', f);
	}
	fputc('\n', f);
	return 0;
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
 * An --endpoint as given, less trailing slashes (the paths we append
 * start with one). Only http and https: curl would take other schemes.
 */
static int
check_endpoint(const char *url, char *out, size_t outlen)
{
	size_t len = strlen(url), scheme;

	if (strncasecmp(url, "http://", 7) == 0)
		scheme = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		scheme = 8;
	else
		return client_usage_error("--endpoint: '%s' is not http://HOST:PORT",
		    url);
	while (len > scheme && url[len - 1] == '/')
		len--;
	if (len == scheme || len >= outlen)
		return client_usage_error("--endpoint: '%s' is not http://HOST:PORT",
		    url);
	memcpy(out, url, len);
	out[len] = '\0';
	return 0;
}

/*
 * Where to go and with what token: flags first, then the [secondary]
 * section as the agent itself reads it (the environment's ARTSYNC_LISTEN
 * and ARTSYNC_TOKEN_FILE over the config file: --config, else
 * ARTSYNC_CONFIG, else the default file), then the default endpoint and no
 * token. 0 or an exit code (the message printed).
 */
static int
resolve(const struct client_opts *o, char *endpoint, size_t endpoint_len,
    char *token, size_t token_len)
{
	struct snap_err err = SNAP_ERR_INIT;
	const char *token_file = o->token_file, *path = o->config_path;
	char found[PATH_MAX], unknown[512];
	struct config *c = NULL;
	int rc = EXIT_USAGE;

	token[0] = '\0';
	snprintf(endpoint, endpoint_len, "%s", CLIENT_DEFAULT_ENDPOINT);
	if (path == NULL) {
		(void)config_find(found, sizeof(found));
		path = found[0] != '\0' ? found : NULL;
	}
	/* struct config holds many PATH_MAX buffers: not the stack. */
	if ((c = malloc(sizeof(*c))) == NULL) {
		fprintf(stderr, "artsync: %s\n", strerror(errno));
		rc = EXIT_FAILED;
		goto out;
	}
	config_defaults(c, CONFIG_SECONDARY);
	if ((path != NULL && config_load(c, path, &err) == -1) ||
	    config_load_env(c, environ, unknown, sizeof(unknown), &err) == -1) {
		fprintf(stderr, "artsync: %s\n", err.msg);
		goto out;
	}
	if (unknown[0] != '\0')
		fprintf(stderr, "artsync: warning: %s: no such configuration "
		    "key (ignored)\n", unknown);
	if (o->endpoint == NULL && client_endpoint_from_listen(c->listen,
	    endpoint, endpoint_len) == -1) {
		fprintf(stderr, "artsync: %s: [secondary] listen '%s' is no "
		    "address to connect to (use --endpoint)\n",
		    path != NULL ? path : "environment", c->listen);
		goto out;
	}
	if (token_file == NULL && c->token_file[0] != '\0') {
		token_file = c->token_file;
		/* The node's own token, which an operator reading status
		 * need not be able to read: only a change needs it. */
		if ((o->cmd == CMD_STATUS || o->cmd == CMD_LIST ||
		    o->cmd == CMD_SHOW) && access(token_file, R_OK) == -1)
			token_file = NULL;
	}
	if (o->endpoint != NULL &&
	    check_endpoint(o->endpoint, endpoint, endpoint_len) != 0)
		goto out;
	if (token_file != NULL &&
	    client_read_token(token_file, token, token_len, &err) == -1) {
		fprintf(stderr, "artsync: %s\n", err.msg);
		goto out;
	}
	rc = 0;
out:
	free(c);
	return rc;
}

/*
 * The request of a command, TYPE and NAME checked. For deploy-local, *file
 * gets the FILE's bytes (the caller frees). 0 or an exit code.
 */
static int
build_request(const struct client_opts *o, struct request *rq, char **file)
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

/* --- HTTP ------------------------------------------------------------- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct response *rs = arg;
	size_t len = size * n, ncap;
	char *nb;

	if (len > RESPONSE_MAX - rs->len) {
		rs->too_big = true;
		return 0;	/* curl stops with a write error */
	}
	if (rs->len + len + 1 > rs->cap) {
		ncap = rs->cap > 0 ? rs->cap : 16384;
		while (ncap < rs->len + len + 1)
			ncap *= 2;
		if ((nb = realloc(rs->body, ncap)) == NULL)
			return 0;
		rs->body = nb;
		rs->cap = ncap;
	}
	memcpy(rs->body + rs->len, p, len);
	rs->len += len;
	rs->body[rs->len] = '\0';
	return len;
}

/*
 * Sends rq to endpoint. Returns 0 when the server answered (any status,
 * in rs), or -1 with a message in errbuf (CURL_ERROR_SIZE bytes) when no
 * whole answer came (rs->too_big: it was over RESPONSE_MAX).
 */
static int
http_do(const struct request *rq, const char *endpoint, const char *token,
    struct response *rs, char *errbuf)
{
	char url[ENDPOINT_MAX + sizeof(rq->path)];
	char auth[CLIENT_TOKEN_MAX + 32];
	struct curl_slist *hdrs = NULL, *h;
	CURLcode cc = CURLE_OUT_OF_MEMORY;
	CURL *curl = NULL;
	int rc = -1;

	errbuf[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", endpoint, rq->path);
	if ((curl = curl_easy_init()) == NULL)
		goto out;
	/* A token on every request: the server decides which need it. */
	if (token[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		if ((h = curl_slist_append(hdrs, auth)) == NULL)
			goto out;
		hdrs = h;
	}
	if (strcmp(rq->method, "PUT") == 0) {
		if ((h = curl_slist_append(hdrs,
		    "Content-Type: application/xml")) == NULL)
			goto out;
		hdrs = h;
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)rq->body_len);
	} else if (strcmp(rq->method, "POST") == 0) {
		/* An empty body is no form: drop curl's default type. */
		if ((h = curl_slist_append(hdrs, "Content-Type:")) == NULL)
			goto out;
		hdrs = h;
		curl_easy_setopt(curl, CURLOPT_POST, 1L);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
	} else if (strcmp(rq->method, "DELETE") == 0) {
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	/* No "Expect: 100-continue" round trip before a large PUT. */
	if ((h = curl_slist_append(hdrs, "Expect:")) == NULL)
		goto out;
	hdrs = h;

	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	httpc_defaults(curl, errbuf, 60000L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	/* The agent is local: an http_proxy meant for the outside must not
	 * carry our token through someone else's proxy. */
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, rs);

	if ((cc = curl_easy_perform(curl)) != CURLE_OK)
		goto out;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &rs->status);
	rc = 0;
out:
	if (rc == -1 && errbuf[0] == '\0')
		snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(cc));
	explicit_bzero(auth, sizeof(auth));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	return rc;
}

/* --- printing the answer --------------------------------------------- */

/* One line on stderr for a non-2xx answer. */
static void
report_http_error(const struct request *rq, struct response *rs)
{
	json_t *j = NULL;
	const char *msg = NULL;
	size_t len;

	if (rs->len > 0)
		j = json_loadb(rs->body, rs->len, 0, NULL);
	if (j != NULL)
		msg = json_string_value(json_object_get(j, "error"));
	fputs("artsync: ", stderr);
	if (msg != NULL) {
		put_text(stderr, msg);
	} else if (rs->len > 0) {
		/* Not our JSON (a proxy's page?): its first line, trimmed. */
		len = strcspn(rs->body, "\r\n");
		if (len > ERROR_BODY_MAX)
			len = ERROR_BODY_MAX;
		while (len > 0 && (rs->body[len - 1] == ' ' ||
		    rs->body[len - 1] == '\t'))
			len--;
		rs->body[len] = '\0';
		put_text(stderr, len > 0 ? rs->body : "(no message)");
	} else {
		fprintf(stderr, "%s %s failed", rq->method, rq->path);
	}
	fprintf(stderr, " (HTTP %ld)\n", rs->status);
	json_decref(j);
}

/* Prints a 2xx answer. Returns an exit code. */
static int
print_answer(const struct client_opts *o, const struct response *rs)
{
	const char *body = rs->body != NULL ? rs->body : "";
	json_error_t jerr;
	json_t *j = NULL;
	int rc = EXIT_FAILED, frc;

	/* show's answer is the XML itself: byte for byte, so that
	 * "artsync show api X > X.xml" gives the deployed file. */
	if (o->cmd == CMD_SHOW || o->json) {
		fwrite(body, 1, rs->len, stdout);
		if (o->cmd != CMD_SHOW && (rs->len == 0 ||
		    body[rs->len - 1] != '\n'))
			fputc('\n', stdout);
		rc = 0;
		goto out;
	}
	if ((j = json_loadb(body, rs->len, 0, &jerr)) == NULL) {
		fprintf(stderr, "artsync: the answer is not JSON: %s\n",
		    jerr.text);
		goto out;
	}
	if (o->cmd == CMD_STATUS)
		frc = client_format_status(j, stdout);
	else if (o->cmd == CMD_LIST)
		frc = client_format_list(j, stdout);
	else
		frc = client_format_change(j, stdout);
	if (frc == -1) {
		fprintf(stderr, "artsync: unexpected answer from the server\n");
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int
client_main(int argc, char **argv)
{
	char endpoint[ENDPOINT_MAX], errbuf[CURL_ERROR_SIZE];
	char token[CLIENT_TOKEN_MAX + 1] = "";
	char *file = NULL;
	struct response rs = { 0 };
	struct client_opts o;
	struct request rq;
	bool curl_up = false;
	int rc;

	if ((rc = parse_args(argc, argv, &o)) != 0) {
		if (rc == HELP_SHOWN)
			rc = 0;
		goto out;
	}
	if ((rc = build_request(&o, &rq, &file)) != 0)
		goto out;
	if ((rc = resolve(&o, endpoint, sizeof(endpoint), token,
	    sizeof(token))) != 0)
		goto out;

	rc = EXIT_FAILED;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "artsync: cannot initialise libcurl\n");
		goto out;
	}
	curl_up = true;
	if (http_do(&rq, endpoint, token, &rs, errbuf) == -1) {
		if (rs.too_big)
			fprintf(stderr, "artsync: %s%s: answer larger than %zu "
			    "bytes\n", endpoint, rq.path, RESPONSE_MAX);
		else
			fprintf(stderr, "artsync: cannot reach %s: %s\n",
			    endpoint, errbuf);
		goto out;
	}
	if (rs.status < 200 || rs.status > 299) {
		report_http_error(&rq, &rs);
		goto out;
	}
	if ((rc = print_answer(&o, &rs)) != 0)
		goto out;
	/* A full disk or a closed pipe is a failure too, not a silent 0. */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "artsync: stdout: %s\n", strerror(errno));
		rc = EXIT_FAILED;
	}
out:
	if (curl_up)
		curl_global_cleanup();
	explicit_bzero(token, sizeof(token));
	free(file);
	free(rs.body);
	return rc;
}
