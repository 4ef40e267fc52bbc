/*
 * test_client.c - the REST client: endpoint and token resolution, the text
 * made of the server's JSON, and whole commands against a small
 * libmicrohttpd server in this process that answers canned JSON and records
 * what it was sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <microhttpd.h>

#include "client.h"
#include "testutil.h"

/* --- a canned server --------------------------------------------------- */

static const char status_json[] =
    "{\"role\":\"secondary\",\"node_id\":\"gw1\",\"cluster_id\":\"default\","
    "\"applied_version\":12,\"latest_seen_version\":13,"
    "\"last_sync_at\":\"2026-11-24T19:40:00Z\",\"last_error\":null,"
    "\"labels\":[\"default\",\"eu\"],\"release\":\"v12-r7\","
    "\"artifact_count\":77,\"overrides\":2,\"healthy\":true}";

static const char list_json[] =
    "{\"applied_version\":12,\"artifacts\":["
    "{\"type\":\"api\",\"name\":\"Orders\","
    "\"xxh128\":\"0123456789abcdef0123456789abcdef\",\"version\":12,"
    "\"state\":\"synced\",\"upstream_changed\":false},"
    "{\"type\":\"sequences\",\"name\":\"fault\","
    "\"xxh128\":\"fedcba9876543210fedcba9876543210\",\"version\":9,"
    "\"state\":\"undeployed-local\",\"upstream_changed\":true}]}";

/* No trailing newline: show must not add one. */
static const char orders_xml[] =
    "<?xml version=\"1.0\"?>\n<api xmlns=\"http://ws.apache.org/ns/synapse\" "
    "name=\"Orders\" context=\"/orders\"/>";

struct seen {
	int count;
	char method[16];
	char url[512];
	char type_arg[64];	/* ?type=, or "(none)" */
	char auth[256];		/* Authorization, or "(none)" */
	char ctype[128];	/* Content-Type, or "(none)" */
	char *body;
	size_t len;
};

static struct server {
	struct MHD_Daemon *d;
	unsigned port;
	char url[64];
	pthread_mutex_t lock;
	struct seen seen;
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct upload {
	char *data;
	size_t len;
};

static void
copy_value(char *dst, size_t len, const char *v)
{
	snprintf(dst, len, "%s", v != NULL ? v : "(none)");
}

/* The answer for a request: status code, body, content type. */
static void
canned(const char *method, const char *url, int *code, const char **body,
    const char **ctype)
{
	*code = 200;
	*ctype = "application/json";
	if (!strcmp(method, "GET") && !strcmp(url, "/api/v1/status")) {
		*body = status_json;
	} else if (!strcmp(method, "GET") &&
	    !strcmp(url, "/api/v1/artifacts")) {
		*body = list_json;
	} else if (!strcmp(method, "GET") &&
	    !strcmp(url, "/api/v1/artifacts/api/Orders")) {
		*body = orders_xml;
		*ctype = "application/xml";
	} else if (!strcmp(method, "PUT") &&
	    !strcmp(url, "/api/v1/artifacts/api/Orders")) {
		*body = "{\"type\":\"api\",\"name\":\"Orders\","
		    "\"state\":\"deployed-local\",\"release\":\"v12-r8\"}";
	} else if (!strcmp(method, "POST") &&
	    !strcmp(url, "/api/v1/artifacts/api/Orders/undeploy")) {
		*body = "{\"type\":\"api\",\"name\":\"Orders\","
		    "\"state\":\"undeployed-local\",\"release\":\"v12-r9\"}";
	} else if (!strcmp(method, "POST") &&
	    !strcmp(url, "/api/v1/artifacts/api/Orders/redeploy")) {
		*body = "{\"type\":\"api\",\"name\":\"Orders\","
		    "\"state\":\"synced\",\"release\":null}";
	} else if (!strcmp(url, "/api/v1/artifacts/api/Boom")) {
		*code = 500;
		*body = "boom  \n<html>more</html>\n";
		*ctype = "text/html";
	} else if (!strncmp(url, "/api/v1/artifacts/api/Empty", 27)) {
		*code = 503;
		*body = "";
	} else if (!strncmp(url, "/api/v1/artifacts/api/Garbage", 29)) {
		*body = "not json";
	} else if (!strcmp(url, "/api/v1/artifacts/api/Missing")) {
		*code = 404;
		*body = "{\"error\":\"artifact api/Missing not found\"}";
	} else {
		*code = 404;
		*body = "{\"error\":\"no such route\"}";
	}
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *data,
    size_t *data_len, void **con_cls)
{
	struct upload *up = *con_cls;
	struct MHD_Response *resp;
	const char *body, *ctype;
	enum MHD_Result ret;
	int code;

	(void)cls;
	(void)version;
	if (up == NULL) {
		if ((up = calloc(1, sizeof(*up))) == NULL)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*data_len > 0) {
		char *nb = realloc(up->data, up->len + *data_len);

		if (nb == NULL)
			return MHD_NO;
		memcpy(nb + up->len, data, *data_len);
		up->data = nb;
		up->len += *data_len;
		*data_len = 0;
		return MHD_YES;
	}

	pthread_mutex_lock(&srv.lock);
	srv.seen.count++;
	copy_value(srv.seen.method, sizeof(srv.seen.method), method);
	copy_value(srv.seen.url, sizeof(srv.seen.url), url);
	copy_value(srv.seen.type_arg, sizeof(srv.seen.type_arg),
	    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "type"));
	copy_value(srv.seen.auth, sizeof(srv.seen.auth),
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION));
	copy_value(srv.seen.ctype, sizeof(srv.seen.ctype),
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE));
	free(srv.seen.body);
	srv.seen.body = up->data;
	srv.seen.len = up->len;
	up->data = NULL;
	up->len = 0;
	pthread_mutex_unlock(&srv.lock);

	canned(method, url, &code, &body, &ctype);
	resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
	    MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(conn, (unsigned)code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (up != NULL) {
		free(up->data);
		free(up);
		*con_cls = NULL;
	}
}

/* A server on 127.0.0.1 and a port the kernel picks; *port gets it. */
static struct MHD_Daemon *
server_start(unsigned *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
	    on_request, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_END);
	assert_non_null(d);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	assert_true(info->port != 0);
	*port = info->port;
	return d;
}

static int
group_setup(void **state)
{
	(void)state;
	srv.d = server_start(&srv.port);
	snprintf(srv.url, sizeof(srv.url), "http://127.0.0.1:%u", srv.port);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	MHD_stop_daemon(srv.d);
	free(srv.seen.body);
	srv.seen.body = NULL;
	return 0;
}

/* A copy of what the server last saw (body owned by the caller). */
static struct seen
last_seen(void)
{
	struct seen s;

	pthread_mutex_lock(&srv.lock);
	s = srv.seen;
	s.body = NULL;
	if (srv.seen.len > 0) {
		s.body = malloc(srv.seen.len);
		assert_non_null(s.body);
		memcpy(s.body, srv.seen.body, srv.seen.len);
	}
	pthread_mutex_unlock(&srv.lock);
	return s;
}

static int
seen_count(void)
{
	int n;

	pthread_mutex_lock(&srv.lock);
	n = srv.seen.count;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

/* --- running a command ----------------------------------------------- */

struct run {
	int rc;
	char *out;		/* stdout, NUL-terminated */
	char *err;		/* stderr */
};

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void
redirect(int fd, const char *path, int *saved)
{
	int tmp = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(tmp != -1);
	assert_true((*saved = dup(fd)) != -1);
	assert_true(dup2(tmp, fd) != -1);
	close(tmp);
}

static void
restore(int fd, int saved)
{
	assert_true(dup2(saved, fd) != -1);
	close(saved);
}

/*
 * client_main() with argv (NULL-terminated), stdout and stderr captured in
 * files under dir. Nothing may fail the test while the fds are redirected,
 * or cmocka's report would land in the files.
 */
static struct run
run_client(const char *dir, const char *arg0, ...)
{
	char *argv[32], out_path[TU_PATH], err_path[TU_PATH];
	int argc = 0, saved_out, saved_err;
	struct run r;
	va_list ap;

	/* getopt may reorder argv, never the strings themselves. */
	argv[argc++] = (char *)arg0;
	va_start(ap, arg0);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		if (++argc == 31)
			fail_msg("too many arguments");
	va_end(ap);
	tu_path(out_path, "%s/stdout", dir);
	tu_path(err_path, "%s/stderr", dir);
	fflush(stdout);
	fflush(stderr);
	redirect(STDOUT_FILENO, out_path, &saved_out);
	redirect(STDERR_FILENO, err_path, &saved_err);
	r.rc = client_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	restore(STDOUT_FILENO, saved_out);
	restore(STDERR_FILENO, saved_err);
	r.out = tu_slurp(out_path, NULL);
	r.err = tu_slurp(err_path, NULL);
	return r;
}

/* Asserts exit code, stdout and stderr (NULL: don't care). */
static void
assert_run(const struct run *r, int rc, const char *out, const char *err)
{
	if (r->rc != rc)
		fail_msg("exit %d, expected %d; stdout \"%s\" stderr \"%s\"",
		    r->rc, rc, r->out, r->err);
	if (out != NULL && strcmp(r->out, out) != 0)
		fail_msg("stdout \"%s\", expected \"%s\"", r->out, out);
	if (err != NULL && strcmp(r->err, err) != 0)
		fail_msg("stderr \"%s\", expected \"%s\"", r->err, err);
}

/* Asserts a usage error: exit 2, one line on stderr holding `want`, no
 * request sent. */
static void
assert_usage(const struct run *r, int count_before, const char *want)
{
	const char *nl = strchr(r->err, '\n');

	assert_run(r, 2, "", NULL);
	tu_assert_msg(r->err, want);
	if (strncmp(r->err, "artsync: ", 9) != 0 || nl == NULL ||
	    nl[1] != '\0')
		fail_msg("stderr is not one 'artsync: ' line: \"%s\"", r->err);
	assert_int_equal(seen_count(), count_before);
}

static const char *
token_file(const char *dir, const char *name, const char *content)
{
	static char path[TU_PATH];

	tu_path(path, "%s/%s", dir, name);
	tu_write_str(path, content);
	/* A token is a secret: only its owner may read it. */
	assert_int_equal(chmod(path, 0600), 0);
	return path;
}

/* --- the pieces without a network ------------------------------------ */

static void
assert_endpoint(const char *listen, const char *want)
{
	char out[256];

	if (client_endpoint_from_listen(listen, out, sizeof(out)) != 0)
		fail_msg("listen '%s' refused", listen);
	assert_string_equal(out, want);
}

static void
test_endpoint_from_listen(void **state)
{
	static const char *const bad[] = {
		"", "host", "host:", "host:0", "host:65536", "host:123456",
		"host:12a", "host:-1", "[::1]", "[::1]7846", "[]:80",
		"[::1:80", "a/b:80", "user@h:80", "h?x:80", "h#:80", "h :80",
		"a]:80", "[a[b]:80",
	};
	char small[16];
	size_t i;

	(void)state;
	assert_endpoint("127.0.0.1:7846", "http://127.0.0.1:7846");
	assert_endpoint("0.0.0.0:80", "http://127.0.0.1:80");
	assert_endpoint(":7846", "http://127.0.0.1:7846");
	assert_endpoint("*:7846", "http://127.0.0.1:7846");
	assert_endpoint("[::]:7846", "http://[::1]:7846");
	assert_endpoint("[::1]:7846", "http://[::1]:7846");
	assert_endpoint("[fe80::1]:1", "http://[fe80::1]:1");
	/* Unbracketed, as the server takes it: the last colon. */
	assert_endpoint("::1:7846", "http://[::1]:7846");
	assert_endpoint(":::7846", "http://[::1]:7846");
	assert_endpoint("fe80::1:80", "http://[fe80::1]:80");
	assert_endpoint("gw1.example.com:65535",
	    "http://gw1.example.com:65535");
	assert_endpoint("localhost:7846", "http://localhost:7846");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (client_endpoint_from_listen(bad[i], small,
		    sizeof(small)) != -1)
			fail_msg("listen '%s' accepted as %s", bad[i], small);
	/* Too small a buffer is a failure, not a cut URL. */
	assert_int_equal(client_endpoint_from_listen("127.0.0.1:7846", small,
	    sizeof(small)), -1);
	assert_int_equal(client_endpoint_from_listen("h:1", small,
	    sizeof(small)), 0);
	assert_string_equal(small, "http://h:1");
}

static void
assert_token(const char *dir, const char *content, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	char out[CLIENT_TOKEN_MAX + 1];

	if (client_read_token(token_file(dir, "tok", content), out,
	    sizeof(out), &err) != 0)
		fail_msg("token '%s': %s", content, err.msg);
	assert_string_equal(out, want);
}

static void
assert_token_fails(const char *dir, const char *content, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	char out[CLIENT_TOKEN_MAX + 1];

	assert_int_equal(client_read_token(token_file(dir, "tok", content),
	    out, sizeof(out), &err), -1);
	tu_assert_msg(err.msg, want);
}

static void
test_token_file(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char out[CLIENT_TOKEN_MAX + 1], path[TU_PATH], link[TU_PATH];
	char big[CLIENT_TOKEN_MAX + 2];
	const char *dir = *state;

	assert_token(dir, "s3cret", "s3cret");
	assert_token(dir, "s3cret\n", "s3cret");
	assert_token(dir, "s3cret \r\n\t\n\n", "s3cret");
	assert_token(dir, "a.b-c_d~e+f/g=", "a.b-c_d~e+f/g=");
	assert_token_fails(dir, "", "must be 1 to 255 bytes");
	assert_token_fails(dir, " \n\r\n", "must be 1 to 255 bytes");
	assert_token_fails(dir, " \n\r\n", "token file");
	/* Whatever would break the header line is refused. */
	assert_token_fails(dir, "a b", "byte 0x20 at offset 1");
	assert_token_fails(dir, "a\nb\n", "byte 0x0a at offset 1");
	assert_token_fails(dir, "a\rb", "byte 0x0d");
	assert_token_fails(dir, " ab", "byte 0x20 at offset 0");
	assert_token_fails(dir, "caf\xc3\xa9", "byte 0xc3");

	/* A full-size token and its newline fit; one byte more does not. */
	memset(big, 'x', CLIENT_TOKEN_MAX);
	big[CLIENT_TOKEN_MAX] = '\n';
	big[CLIENT_TOKEN_MAX + 1] = '\0';
	assert_int_equal(client_read_token(token_file(dir, "tok", big), out,
	    sizeof(out), &err), 0);
	assert_int_equal(strlen(out), CLIENT_TOKEN_MAX);
	big[CLIENT_TOKEN_MAX] = 'x';
	assert_token_fails(dir, big, "must be 1 to 255 bytes");
	/* ... and the buffer the caller gave bounds it too. */
	assert_int_equal(client_read_token(token_file(dir, "tok", "abcdef"),
	    out, 4, &err), -1);

	tu_path(path, "%s/missing", dir);
	assert_int_equal(client_read_token(path, out, sizeof(out), &err), -1);
	tu_assert_msg(err.msg, "token file");
	tu_assert_msg(err.msg, "missing: No such file");
	/* A secret mounted as a symlink is read through it. */
	tu_path(path, "%s/tok", dir);
	tu_write_str(path, "linked\n");
	tu_path(link, "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(client_read_token(link, out, sizeof(out), &err), 0);
	assert_string_equal(out, "linked");
	/* A directory is no token. */
	assert_int_equal(client_read_token(dir, out, sizeof(out), &err), -1);
	tu_assert_msg(err.msg, "not a regular file");
	/* Nor is a file others may read, nor one the group may write: the
	 * message says how to fix it, as for a signing key. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(client_read_token(path, out, sizeof(out), &err), -1);
	tu_assert_msg(err.msg, "others may read (mode 0644): chmod 600 ");
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(client_read_token(link, out, sizeof(out), &err), -1);
	tu_assert_msg(err.msg, "mode 0620");
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(client_read_token(link, out, sizeof(out), &err), 0);
}

static void
test_endpoint_is_loopback(void **state)
{
	static const char *const yes[] = {
		"http://127.0.0.1:7846", "http://127.9.8.7:1/x", "http://[::1]:7846",
		"https://localhost:7846", "http://LocalHost", "http://127.0.0.1",
	};
	static const char *const no[] = {
		"http://10.0.0.1:7846", "http://gw1:7846", "http://[::2]:1",
		"http://localhost.evil.example:1", "http://128.0.0.1:1",
		"http://[::1", "127.0.0.1:7846", "http://", "http://[]:1",
		"http://0.0.0.0:7846", "http://127.0.0.1.nip.io:1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!client_endpoint_is_loopback(yes[i]))
			fail_msg("%s: not loopback", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (client_endpoint_is_loopback(no[i]))
			fail_msg("%s: loopback", no[i]);
}

/* What f printed through `format`, as a malloc'ed string. */
static char *
format_to_string(int (*format)(json_t *, FILE *), const char *text, int *rc)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (j == NULL)
		fail_msg("bad test JSON: %s", jerr.text);
	assert_non_null(f = open_memstream(&buf, &len));
	*rc = format(j, f);
	assert_int_equal(fclose(f), 0);
	json_decref(j);
	return buf;
}

static void
assert_format(int (*format)(json_t *, FILE *), const char *text,
    const char *want)
{
	int rc;
	char *got = format_to_string(format, text, &rc);

	assert_int_equal(rc, 0);
	assert_string_equal(got, want);
	free(got);
}

static void
assert_format_fails(int (*format)(json_t *, FILE *), const char *text)
{
	int rc;
	char *got = format_to_string(format, text, &rc);

	assert_int_equal(rc, -1);
	free(got);
}

static const char status_text[] =
    "role:                secondary\n"
    "node_id:             gw1\n"
    "cluster_id:          default\n"
    "applied_version:     12\n"
    "latest_seen_version: 13\n"
    "last_sync_at:        2026-11-24T19:40:00Z\n"
    "last_error:          -\n"
    "labels:              default,eu\n"
    "release:             v12-r7\n"
    "artifact_count:      77\n"
    "overrides:           2\n"
    "healthy:             yes\n";

static void
test_format_status(void **state)
{
	(void)state;
	assert_format(client_format_status, status_json, status_text);
	/* Missing and null fields are "-"; a control byte is made safe;
	 * a field we do not know yet still shows, after the known ones. */
	assert_format(client_format_status,
	    "{\"healthy\":false,\"last_error\":\"disk\\nfull\",\"labels\":[],"
	    "\"last_sync_at\":null,\"a_much_longer_key_than_known\":1.5,"
	    "\"peers\":{\"a\":1}}",
	    "role:                         -\n"
	    "node_id:                      -\n"
	    "cluster_id:                   -\n"
	    "applied_version:              -\n"
	    "latest_seen_version:          -\n"
	    "last_sync_at:                 -\n"
	    "last_error:                   disk?full\n"
	    "labels:                       -\n"
	    "release:                      -\n"
	    "artifact_count:               -\n"
	    "overrides:                    -\n"
	    "healthy:                      no\n"
	    "a_much_longer_key_than_known: 1.5\n"
	    "peers:                        {\"a\":1}\n");
	assert_format_fails(client_format_status, "[]");
	assert_format_fails(client_format_status, "\"secondary\"");
}

static void
test_format_list(void **state)
{
	char want[1024];

	(void)state;
	snprintf(want, sizeof(want),
	    "%-9s  %-6s  %-35s  %-7s  %s\n"
	    "%-9s  %-6s  %-35s  %-7s  %s\n"
	    "%-9s  %-6s  %-35s  %-7s  %s\n"
	    "2 artifacts\n",
	    "TYPE", "NAME", "STATE", "VERSION", "XXH128",
	    "api", "Orders", "synced", "12", "0123456789abcdef0123456789abcdef",
	    "sequences", "fault", "undeployed-local (upstream changed)", "9",
	    "fedcba9876543210fedcba9876543210");
	assert_format(client_format_list, list_json, want);
	/* No artifacts: no header either. */
	assert_format(client_format_list,
	    "{\"applied_version\":0,\"artifacts\":[]}", "0 artifacts\n");
	/* Missing cells are "-" and keep the columns. */
	snprintf(want, sizeof(want),
	    "%-4s  %-4s  %-14s  %-7s  %s\n"
	    "%-4s  %-4s  %-14s  %-7s  %s\n"
	    "1 artifacts\n",
	    "TYPE", "NAME", "STATE", "VERSION", "XXH128",
	    "api", "a", "deployed-local", "-", "-");
	assert_format(client_format_list,
	    "{\"artifacts\":[{\"type\":\"api\",\"name\":\"a\","
	    "\"state\":\"deployed-local\"}]}", want);
	assert_format_fails(client_format_list, "{\"applied_version\":1}");
	assert_format_fails(client_format_list, "{\"artifacts\":[1]}");
	assert_format_fails(client_format_list, "[]");
}

static void
test_format_change(void **state)
{
	(void)state;
	assert_format(client_format_change,
	    "{\"type\":\"api\",\"name\":\"X\",\"state\":\"undeployed-local\","
	    "\"release\":\"v12-r8\"}",
	    "api/X: undeployed-local (release v12-r8)\n");
	assert_format(client_format_change,
	    "{\"type\":\"tasks\",\"name\":\"t\",\"state\":\"synced\","
	    "\"release\":null}", "tasks/t: synced\n");
	assert_format_fails(client_format_change,
	    "{\"type\":\"api\",\"name\":\"X\"}");
	assert_format_fails(client_format_change, "{\"error\":\"x\"}");
}

static void
test_is_command(void **state)
{
	(void)state;
	assert_true(client_is_command("status"));
	assert_true(client_is_command("list"));
	assert_true(client_is_command("show"));
	assert_true(client_is_command("redeploy"));
	assert_true(client_is_command("undeploy"));
	assert_true(client_is_command("deploy-local"));
	assert_false(client_is_command("publish"));
	assert_false(client_is_command(""));
	assert_false(client_is_command("Status"));
}

/* --- whole commands against the server ------------------------------- */

static void
test_status_sends_token(void **state)
{
	const char *dir = *state, *tok = token_file(dir, "tok", "s3cret\n\n");
	struct run r;
	struct seen s;

	r = run_client(dir, "status", "--endpoint", srv.url, "--token-file",
	    tok, NULL);
	assert_run(&r, 0, status_text, "");
	run_free(&r);
	s = last_seen();
	assert_string_equal(s.method, "GET");
	assert_string_equal(s.url, "/api/v1/status");
	assert_string_equal(s.auth, "Bearer s3cret");
	free(s.body);

	/* --json: the body as it is, and a newline; flags after or before. */
	r = run_client(dir, "status", "--json", "--endpoint", srv.url, NULL);
	assert_run(&r, 0, NULL, "");
	assert_int_equal(strlen(r.out), strlen(status_json) + 1);
	assert_memory_equal(r.out, status_json, strlen(status_json));
	assert_string_equal(r.out + strlen(status_json), "\n");
	run_free(&r);
	/* No token file: no Authorization header at all. */
	s = last_seen();
	assert_string_equal(s.auth, "(none)");
	free(s.body);
}

static void
test_list(void **state)
{
	const char *dir = *state;
	struct run r;
	struct seen s;

	r = run_client(dir, "list", "--endpoint", srv.url, "--type", "api",
	    NULL);
	assert_run(&r, 0, NULL, "");
	tu_assert_msg(r.out, "TYPE       NAME    STATE");
	tu_assert_msg(r.out, "undeployed-local (upstream changed)");
	tu_assert_msg(r.out, "\n2 artifacts\n");
	run_free(&r);
	s = last_seen();
	assert_string_equal(s.method, "GET");
	assert_string_equal(s.url, "/api/v1/artifacts");
	assert_string_equal(s.type_arg, "api");
	free(s.body);

	r = run_client(dir, "list", "--endpoint", srv.url, "--json", NULL);
	assert_run(&r, 0, NULL, "");
	assert_int_equal(strncmp(r.out, list_json, strlen(list_json)), 0);
	run_free(&r);
	s = last_seen();
	assert_string_equal(s.type_arg, "(none)");
	free(s.body);
}

static void
test_show_prints_xml_as_is(void **state)
{
	const char *dir = *state;
	struct run r;
	struct seen s;

	r = run_client(dir, "show", "api", "Orders", "--endpoint", srv.url,
	    NULL);
	assert_run(&r, 0, orders_xml, "");
	run_free(&r);
	/* --json changes nothing for XML. */
	r = run_client(dir, "show", "--json", "api", "Orders", "--endpoint",
	    srv.url, NULL);
	assert_run(&r, 0, orders_xml, "");
	run_free(&r);
	s = last_seen();
	assert_string_equal(s.method, "GET");
	assert_string_equal(s.url, "/api/v1/artifacts/api/Orders");
	free(s.body);
}

static void
test_deploy_local_sends_file(void **state)
{
	const char *dir = *state, *tok = token_file(dir, "tok", "t0k");
	size_t len = 300 * 1024, i;
	char path[TU_PATH], *xml = malloc(len);
	struct run r;
	struct seen s;

	/* Bytes that a text-minded path would mangle: NUL, CR LF, high
	 * bytes; big enough to arrive in several pieces. */
	assert_non_null(xml);
	for (i = 0; i < len; i++)
		xml[i] = (char)(i * 7 + i / 251);
	memcpy(xml, "<api>\r\n\0\xff", 9);
	tu_path(path, "%s/Orders.xml", dir);
	tu_write(path, xml, len);

	r = run_client(dir, "deploy-local", "api", "Orders", path,
	    "--endpoint", srv.url, "--token-file", tok, NULL);
	assert_run(&r, 0, "api/Orders: deployed-local (release v12-r8)\n", "");
	run_free(&r);
	s = last_seen();
	assert_string_equal(s.method, "PUT");
	assert_string_equal(s.url, "/api/v1/artifacts/api/Orders");
	assert_string_equal(s.auth, "Bearer t0k");
	assert_string_equal(s.ctype, "application/xml");
	assert_int_equal(s.len, len);
	assert_memory_equal(s.body, xml, len);
	free(s.body);
	free(xml);

	/* --json prints the server's answer instead of the line. */
	tu_write_str(path, "<api/>");
	r = run_client(dir, "deploy-local", "--json", "api", "Orders", path,
	    "--endpoint", srv.url, NULL);
	assert_run(&r, 0, "{\"type\":\"api\",\"name\":\"Orders\","
	    "\"state\":\"deployed-local\",\"release\":\"v12-r8\"}\n", "");
	run_free(&r);
}

static void
test_undeploy_redeploy(void **state)
{
	const char *dir = *state, *tok = token_file(dir, "tok", "t0k\n");
	struct run r;
	struct seen s;

	r = run_client(dir, "undeploy", "api", "Orders", "--endpoint",
	    srv.url, "--token-file", tok, NULL);
	assert_run(&r, 0, "api/Orders: undeployed-local (release v12-r9)\n",
	    "");
	run_free(&r);
	s = last_seen();
	assert_string_equal(s.method, "POST");
	assert_string_equal(s.url, "/api/v1/artifacts/api/Orders/undeploy");
	assert_string_equal(s.auth, "Bearer t0k");
	assert_string_equal(s.ctype, "(none)");
	assert_int_equal(s.len, 0);
	free(s.body);

	r = run_client(dir, "redeploy", "api", "Orders", "--endpoint",
	    srv.url, "--token-file", tok, NULL);
	assert_run(&r, 0, "api/Orders: synced\n", "");
	run_free(&r);
	s = last_seen();
	assert_string_equal(s.method, "POST");
	assert_string_equal(s.url, "/api/v1/artifacts/api/Orders/redeploy");
	assert_int_equal(s.len, 0);
	free(s.body);
}

static void
test_server_errors(void **state)
{
	const char *dir = *state;
	struct run r;

	r = run_client(dir, "show", "api", "Missing", "--endpoint", srv.url,
	    NULL);
	assert_run(&r, 1, "",
	    "artsync: artifact api/Missing not found (HTTP 404)\n");
	run_free(&r);
	/* Not JSON: the first line of the body, trimmed. */
	r = run_client(dir, "show", "api", "Boom", "--endpoint", srv.url, NULL);
	assert_run(&r, 1, "", "artsync: boom (HTTP 500)\n");
	run_free(&r);
	/* No body: the request is named. */
	r = run_client(dir, "undeploy", "api", "Empty", "--endpoint", srv.url,
	    NULL);
	assert_run(&r, 1, "", "artsync: POST /api/v1/artifacts/api/Empty/"
	    "undeploy failed (HTTP 503)\n");
	run_free(&r);
	r = run_client(dir, "show", "api", "Empty", "--endpoint", srv.url,
	    NULL);
	assert_run(&r, 1, "",
	    "artsync: GET /api/v1/artifacts/api/Empty failed (HTTP 503)\n");
	run_free(&r);
	/* A 200 that is not the JSON we expect is a failure too. */
	r = run_client(dir, "redeploy", "api", "Garbage", "--endpoint",
	    srv.url, NULL);
	assert_run(&r, 1, "", NULL);
	tu_assert_msg(r.err, "artsync: the answer is not JSON");
	run_free(&r);
	/* A trailing slash on the endpoint is harmless. */
	{
		char url[80];

		snprintf(url, sizeof(url), "%s//", srv.url);
		r = run_client(dir, "status", "--endpoint", url, NULL);
		assert_run(&r, 0, status_text, "");
		run_free(&r);
	}
}

static void
test_unreachable(void **state)
{
	const char *dir = *state;
	struct MHD_Daemon *d;
	char url[64], want[128];
	unsigned port;
	struct run r;

	/* A port that was just ours and is closed now. */
	d = server_start(&port);
	MHD_stop_daemon(d);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	snprintf(want, sizeof(want), "artsync: cannot reach %s: ", url);
	r = run_client(dir, "status", "--endpoint", url, NULL);
	assert_run(&r, 1, "", NULL);
	if (strncmp(r.err, want, strlen(want)) != 0)
		fail_msg("stderr \"%s\" lacks \"%s\"", r.err, want);
	assert_non_null(strchr(r.err, '\n'));
	assert_int_equal(strchr(r.err, '\n')[1], '\0');
	run_free(&r);
}

static void
test_config_file(void **state)
{
	const char *dir = *state;
	char conf[TU_PATH], text[TU_PATH * 2], tok[TU_PATH];
	struct run r;
	struct seen s;

	/* listen and token_file from [secondary]; a wildcard listen is
	 * reached on the loopback. */
	tu_path(tok, "%s/conf-token", dir);
	tu_write_str(tok, "fromconf\n");
	assert_int_equal(chmod(tok, 0600), 0);
	tu_path(conf, "%s/artsync.conf", dir);
	snprintf(text, sizeof(text), "[artsync]\nnode_id = gw1\n"
	    "[secondary]\nlisten = 0.0.0.0:%u\ntoken_file = %s\n", srv.port,
	    tok);
	tu_write_str(conf, text);
	r = run_client(dir, "status", "--config", conf, NULL);
	assert_run(&r, 0, status_text, "");
	run_free(&r);
	s = last_seen();
	assert_string_equal(s.auth, "Bearer fromconf");
	free(s.body);

	/* --token-file wins over token_file. */
	r = run_client(dir, "status", "--config", conf, "--token-file",
	    token_file(dir, "tok", "fromflag"), NULL);
	assert_run(&r, 0, status_text, "");
	run_free(&r);
	s = last_seen();
	assert_string_equal(s.auth, "Bearer fromflag");
	free(s.body);

	/* --endpoint wins over listen (port 1 would refuse us). */
	snprintf(text, sizeof(text), "[secondary]\nlisten = 127.0.0.1:1\n");
	tu_write_str(conf, text);
	r = run_client(dir, "status", "--config", conf, "--endpoint", srv.url,
	    NULL);
	assert_run(&r, 0, status_text, "");
	run_free(&r);

	/* A bad config file or listen value is a usage error. */
	tu_write_str(conf, "[secondary]\nbogus = 1\n");
	r = run_client(dir, "status", "--config", conf, NULL);
	assert_usage(&r, seen_count(), "unknown key 'bogus'");
	run_free(&r);
	tu_write_str(conf, "[secondary]\nlisten = nowhere\n");
	r = run_client(dir, "status", "--config", conf, NULL);
	assert_usage(&r, seen_count(), "'nowhere' is not HOST:PORT");
	run_free(&r);
	/* Port 0 is for the server to pick: nothing a client can use. */
	tu_write_str(conf, "[secondary]\nlisten = 127.0.0.1:0\n");
	r = run_client(dir, "status", "--config", conf, NULL);
	assert_usage(&r, seen_count(), "no address to connect to (use "
	    "--endpoint)");
	run_free(&r);
	tu_path(conf, "%s/none.conf", dir);
	r = run_client(dir, "status", "--config", conf, NULL);
	assert_usage(&r, seen_count(), "none.conf");
	run_free(&r);
}

/*
 * The agent's own token, found as the agent finds it: rest.token in its
 * deploy_root (config file or ARTSYNC_DEPLOY_ROOT), sent to it only; a
 * change that cannot read it stops before any request, a read goes on
 * without it.
 */
static void
test_generated_token(void **state)
{
	const char *dir = *state;
	char conf[TU_PATH], text[TU_PATH * 2], dep[TU_PATH], tok[TU_PATH];
	int n;
	struct run r;
	struct seen s;

	tu_path(dep, "%s/dep", dir);
	assert_int_equal(mkdir(dep, 0755), 0);
	tu_path(conf, "%s/gen.conf", dir);
	snprintf(text, sizeof(text), "[secondary]\nlisten = 127.0.0.1:%u\n"
	    "deploy_root = %s\n", srv.port, dep);
	tu_write_str(conf, text);

	/* Not written yet: a read goes without, a change stops (exit 2). */
	r = run_client(dir, "status", "--config", conf, NULL);
	assert_run(&r, 0, status_text, "");
	run_free(&r);
	s = last_seen();
	assert_string_equal(s.auth, "(none)");
	free(s.body);
	n = seen_count();
	r = run_client(dir, "undeploy", "api", "Orders", "--config", conf, NULL);
	assert_run(&r, 2, "", NULL);
	tu_assert_msg(r.err, "rest.token: No such file");
	tu_assert_msg(r.err, "a change needs the agent's token");
	assert_int_equal(seen_count(), n);
	run_free(&r);

	/* Written (0600): sent, from the config file or the environment. */
	tu_path(tok, "%s/rest.token", dep);
	tu_write_str(tok, "generated\n");
	assert_int_equal(chmod(tok, 0600), 0);
	r = run_client(dir, "undeploy", "api", "Orders", "--config", conf, NULL);
	assert_run(&r, 0, NULL, "");
	run_free(&r);
	s = last_seen();
	assert_string_equal(s.auth, "Bearer generated");
	free(s.body);
	assert_int_equal(setenv("ARTSYNC_DEPLOY_ROOT", dep, 1), 0);
	r = run_client(dir, "redeploy", "api", "Orders", "--endpoint", srv.url,
	    NULL);
	assert_int_equal(unsetenv("ARTSYNC_DEPLOY_ROOT"), 0);
	assert_run(&r, 0, NULL, "");
	run_free(&r);
	s = last_seen();
	assert_string_equal(s.auth, "Bearer generated");
	free(s.body);

	/* Others may read it: refused, the fix said; a read goes without. */
	assert_int_equal(chmod(tok, 0640), 0);
	r = run_client(dir, "undeploy", "api", "Orders", "--config", conf, NULL);
	assert_run(&r, 2, "", NULL);
	tu_assert_msg(r.err, "chmod 600");
	run_free(&r);
	r = run_client(dir, "status", "--config", conf, NULL);
	assert_run(&r, 0, status_text, "");
	run_free(&r);
	s = last_seen();
	assert_string_equal(s.auth, "(none)");
	free(s.body);
}

static void
test_usage_errors(void **state)
{
	const char *dir = *state, *u = srv.url;
	char name256[257], path[TU_PATH];
	int n = seen_count();
	struct run r;

	memset(name256, 'n', 256);
	name256[256] = '\0';
	tu_path(path, "%s/absent.xml", dir);

#define USAGE(want, ...) do { \
	r = run_client(dir, __VA_ARGS__, NULL); \
	assert_usage(&r, n, want); \
	run_free(&r); \
} while (0)
	USAGE("unknown option '--bogus'", "status", "--bogus", "--endpoint", u);
	USAGE("unknown option '-x'", "status", "-x", "--endpoint", u);
	USAGE("unknown option '--json=1'", "status", "--json=1");
	USAGE("option '--endpoint' needs a value", "status", "--endpoint");
	USAGE("option '--token-file' needs a value", "list", "--token-file");
	USAGE("unexpected argument 'extra'", "status", "extra", "--endpoint",
	    u);
	USAGE("unexpected argument 'x'", "undeploy", "api", "a", "x");
	USAGE("artsync show TYPE NAME", "show", "api", "--endpoint", u);
	USAGE("artsync deploy-local TYPE NAME FILE", "deploy-local", "api",
	    "a");
	USAGE("'--type' is for list only", "status", "--type", "api");
	USAGE("--type: unknown artifact type 'apis'", "list", "--type", "apis");
	USAGE("unknown artifact type 'apis'", "show", "apis", "a");
	USAGE("unknown artifact type 'API'", "undeploy", "API", "a");
	USAGE("starts with '.'", "show", "api", "..", "--endpoint", u);
	USAGE("starts with '.'", "redeploy", "api", ".hidden");
	USAGE("a control character", "show", "api", "a\tb");
	USAGE("byte 0x2f", "show", "api", "a/b");
	USAGE("a double quote", "show", "api", "a\"b");
	USAGE("byte 0xc3", "show", "api", "caf\xc3");
	USAGE("longer than 255 bytes", "show", "api", name256);
	USAGE("empty artifact name", "show", "api", "");
	USAGE("absent.xml", "deploy-local", "api", "a", path, "--endpoint", u);
	USAGE("'ftp://h:1' is not http://HOST:PORT", "status", "--endpoint",
	    "ftp://h:1");
	USAGE("'http://' is not http://HOST:PORT", "status", "--endpoint",
	    "http://");
	USAGE("token file", "status", "--endpoint", u, "--token-file", path);
	USAGE("unknown command 'publish'", "publish");
#undef USAGE

	/* --help: the usage on stdout, exit 0, nothing sent. */
	r = run_client(dir, "deploy-local", "--help", NULL);
	assert_run(&r, 0, NULL, "");
	tu_assert_msg(r.out, "usage: artsync status");
	tu_assert_msg(r.out, "--endpoint URL");
	run_free(&r);
	r = run_client(dir, "list", "-h", NULL);
	assert_run(&r, 0, NULL, "");
	run_free(&r);
	assert_int_equal(seen_count(), n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_from_listen),
		cmocka_unit_test_setup_teardown(test_token_file,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test(test_endpoint_is_loopback),
		cmocka_unit_test(test_format_status),
		cmocka_unit_test(test_format_list),
		cmocka_unit_test(test_format_change),
		cmocka_unit_test(test_is_command),
		cmocka_unit_test_setup_teardown(test_status_sends_token,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_list,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_show_prints_xml_as_is,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_deploy_local_sends_file,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_undeploy_redeploy,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_server_errors,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_unreachable,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_config_file,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_generated_token,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_usage_errors,
		    tu_setup_tmp, tu_teardown_tmp),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
