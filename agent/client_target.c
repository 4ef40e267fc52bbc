/*
 * client_target.c - where a CLI command goes, and with what token (see
 * client_target.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client.h"
#include "client_target.h"
#include "config.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

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

int
client_read_token(const char *path, char *out, size_t outlen,
    struct snap_err *err)
{
	/* The server reads its copy with the same function: the same
	 * trimming and checks on both sides, or a token would never match. */
	if (token_read(path, out, outlen, err) == -1)
		return snap_err_prefix(err, "token file");
	return 0;
}

bool
client_endpoint_is_loopback(const char *url)
{
	static const unsigned char v6_loopback[16] = { [15] = 1 };
	unsigned char a[16];
	char host[64];
	const char *h, *e;
	size_t n;

	if ((h = strstr(url, "://")) == NULL)
		return false;
	h += 3;
	if (h[0] == '[') {
		if ((e = strchr(++h, ']')) == NULL)
			return false;
	} else
		e = h + strcspn(h, ":/");
	if ((n = (size_t)(e - h)) >= sizeof(host))
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	if (h[-1] == '[')
		return inet_pton(AF_INET6, host, a) == 1 &&
		    memcmp(a, v6_loopback, 16) == 0;
	return strcasecmp(host, "localhost") == 0 ||
	    (inet_pton(AF_INET, host, a) == 1 && a[0] == 127);
}

/*
 * The agent's own token, as the agent finds it (token.h), when t->endpoint
 * is that agent (own: the endpoint its listen gives) or on this host. A
 * change stops when it cannot be read (0 or an exit code, said); anything
 * else goes without it, t->why saying why for a 401.
 */
static int
own_token(const struct client_where *w, const struct config *c,
    const char *own, struct client_target *t)
{
	struct snap_err err = SNAP_ERR_INIT;
	char path[PATH_MAX];
	bool generated;

	if (token_path(c, path, sizeof(path), &generated) == -1 ||
	    path[0] == '\0') {
		snprintf(t->why, sizeof(t->why), "no token: give --token-file, "
		    "or --config naming the agent's deploy_root");
		return 0;
	}
	if (strcasecmp(t->endpoint, own) != 0 &&
	    !client_endpoint_is_loopback(t->endpoint)) {
		snprintf(t->why, sizeof(t->why), "this node's token goes to "
		    "this node only: give --token-file for another");
		return 0;
	}
	if (token_read_own(c, t->token, sizeof(t->token), &err) == 0)
		return 0;
	snap_err_prefix(&err, "token file");
	if (!w->change) {
		snprintf(t->why, sizeof(t->why), "%s", err.msg);
		return 0;
	}
	fprintf(stderr, "artsync: %s (a change needs the agent's token: run as "
	    "root or as the user the agent runs as, or give --token-file)\n",
	    err.msg);
	return EXIT_USAGE;
}

/*
 * The [secondary] settings as the agent reads them: the config file
 * (--config, else ARTSYNC_CONFIG, else the default file), then the
 * environment's ARTSYNC_<KEY>. NULL (said, *rc the exit code) on error.
 */
static struct config *
agent_config(const struct client_where *w, int *rc)
{
	struct snap_err err = SNAP_ERR_INIT;
	const char *path = w->config_path;
	char found[PATH_MAX], unknown[512];
	struct config *c;

	if (path == NULL) {
		(void)config_find(found, sizeof(found));
		path = found[0] != '\0' ? found : NULL;
	}
	/* struct config holds many PATH_MAX buffers: not the stack. */
	if ((c = malloc(sizeof(*c))) == NULL) {
		fprintf(stderr, "artsync: %s\n", strerror(errno));
		*rc = EXIT_FAILED;
		return NULL;
	}
	config_defaults(c, CONFIG_SECONDARY);
	if ((path != NULL && config_load(c, path, &err) == -1) ||
	    config_load_env(c, environ, unknown, sizeof(unknown), &err) == -1) {
		fprintf(stderr, "artsync: %s\n", err.msg);
		free(c);
		*rc = EXIT_USAGE;
		return NULL;
	}
	if (unknown[0] != '\0')
		fprintf(stderr, "artsync: warning: %s: no such configuration "
		    "key (ignored)\n", unknown);
	return c;
}

int
client_target_resolve(const struct client_where *w, struct client_target *t)
{
	struct snap_err err = SNAP_ERR_INIT;
	char own[CLIENT_ENDPOINT_MAX] = "";
	struct config *c;
	int rc = EXIT_USAGE;

	memset(t, 0, sizeof(*t));
	if ((c = agent_config(w, &rc)) == NULL)
		return rc;
	if (client_endpoint_from_listen(c->listen, own, sizeof(own)) == -1 &&
	    w->endpoint == NULL) {
		fprintf(stderr, "artsync: [secondary] listen '%s' is no "
		    "address to connect to (use --endpoint)\n", c->listen);
		goto out;
	}
	snprintf(t->endpoint, sizeof(t->endpoint), "%s", own);
	if (w->endpoint != NULL && check_endpoint(w->endpoint, t->endpoint,
	    sizeof(t->endpoint)) != 0)
		goto out;
	if (w->token_file == NULL)
		rc = own_token(w, c, own, t);
	else if (client_read_token(w->token_file, t->token, sizeof(t->token),
	    &err) == -1)
		fprintf(stderr, "artsync: %s\n", err.msg);
	else
		rc = 0;
out:
	free(c);
	return rc;
}
