/*
 * route.c - matches a method and a path against the REST table (see
 * route.h).
 *
 * The path comes straight from the network, still percent-encoded, so it is
 * never copied whole: segments are compared in place as (pointer, length)
 * pairs. Only TYPE and NAME are decoded, each on its own, so that an encoded
 * '/' or NUL stays inside the segment it was sent in and is refused there
 * (decoding the whole path first would turn "a%2Fb" into two segments and
 * "a%00b" into "a"). Structure is
 * decided first (404), then the method (405), then the type and the name
 * (400), so that a client learns the most basic thing that is wrong.
 */
#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "route.h"

/* Longer paths are no route of ours; bounds every scan of the path. */
#define ROUTE_PATH_MAX 4096
/* How much of a bad type segment an error message quotes. */
#define ROUTE_QUOTE_MAX 64

#define ARTIFACTS_PREFIX "/api/v1/artifacts/"

/* Which methods a route takes. */
enum route_method {
	M_GET,		/* GET and HEAD */
	M_PUT,
	M_POST,
	M_DELETE,
};

struct route_def {
	const char *path;	/* exact path; NULL: an artifact route */
	enum route_method method;
	const char *label;
};

static const struct route_def route_defs[ROUTE_COUNT] = {
	[ROUTE_STATUS] = { "/api/v1/status", M_GET, "status" },
	[ROUTE_LIST] = { "/api/v1/artifacts", M_GET, "artifacts" },
	[ROUTE_SHOW] = { NULL, M_GET, "artifact" },
	[ROUTE_DEPLOY_LOCAL] = { NULL, M_PUT, "deploy_local" },
	[ROUTE_UNDEPLOY] = { NULL, M_POST, "undeploy" },
	[ROUTE_REDEPLOY] = { NULL, M_POST, "redeploy" },
	[ROUTE_SYNC] = { "/api/v1/sync", M_POST, "sync" },
	[ROUTE_HEALTHZ] = { "/healthz", M_GET, "healthz" },
	[ROUTE_METRICS] = { "/metrics", M_GET, "metrics" },
	[ROUTE_FORGET] = { NULL, M_DELETE, "forget" },
	[ROUTE_LIVEZ] = { "/livez", M_GET, "livez" },
	[ROUTE_READYZ] = { "/readyz", M_GET, "readyz" },
};

struct seg {
	const char *p;
	size_t len;
};

static bool
method_is(const char *method, enum route_method m)
{
	switch (m) {
	case M_GET:
		return strcmp(method, "GET") == 0 ||
		    strcmp(method, "HEAD") == 0;
	case M_PUT:
		return strcmp(method, "PUT") == 0;
	case M_POST:
		return strcmp(method, "POST") == 0;
	case M_DELETE:
		return strcmp(method, "DELETE") == 0;
	}
	return false;
}

static bool
seg_is(const struct seg *s, const char *word)
{
	return s->len == strlen(word) && memcmp(s->p, word, s->len) == 0;
}

/*
 * Error messages end up in JSON answers and in logs: a byte that is not
 * printable ASCII becomes '?', so that neither a control character nor a
 * broken UTF-8 sequence from the path can reach them.
 */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static int
fail(int *status, int code, struct snap_err *err, const char *why)
{
	*status = code;
	return snap_err_set(err, "%s", why);
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes (p, len) into out (cap bytes, NUL-terminated). Returns the
 * decoded length, or -1 when a '%' is not followed by two hex digits or the
 * result does not fit. The result may hold NUL bytes: callers check.
 */
static long
decode(const char *p, size_t len, char *out, size_t cap)
{
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (n + 1 >= cap)
			return -1;
		if (p[i] != '%') {
			out[n++] = p[i];
			continue;
		}
		if (i + 2 >= len || (hi = hex_digit(p[i + 1])) < 0 ||
		    (lo = hex_digit(p[i + 2])) < 0)
			return -1;
		out[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[n] = '\0';
	return (long)n;
}

/* The index of a type given as (p, len), or -1 with a 400 message. */
static int
lookup_type(const char *p, size_t len, int *status, struct snap_err *err)
{
	char buf[ROUTE_QUOTE_MAX + 1];
	long n = decode(p, len, buf, sizeof(buf));
	int i = -1;

	/* Only a decoding that holds the whole segment can be a type. */
	if (n >= 0 && strlen(buf) == (size_t)n)
		i = name_type_index(buf);
	else
		snprintf(buf, sizeof(buf), "%.*s", (int)(len < ROUTE_QUOTE_MAX ?
		    len : ROUTE_QUOTE_MAX), p);
	if (i >= 0)
		return i;
	sanitize(buf);
	*status = 400;
	snap_err_set(err, "unknown artifact type '%s%s'", buf,
	    len > ROUTE_QUOTE_MAX ? "..." : "");
	return -1;
}

static int
check_name(const struct seg *s, struct route *r, int *status,
    struct snap_err *err)
{
	long n;

	/* Every byte of a name may be encoded: up to 3 raw bytes each. */
	if (s->len > 3 * NAME_MAX_BYTES ||
	    (n = decode(s->p, s->len, r->name, sizeof(r->name))) < 0) {
		r->name[0] = '\0';
		*status = 400;
		return snap_err_set(err, "artifact name longer than %d bytes or "
		    "badly percent-encoded", NAME_MAX_BYTES);
	}
	if (strlen(r->name) != (size_t)n) {
		r->name[0] = '\0';
		*status = 400;
		return snap_err_set(err, "artifact name holds a NUL byte");
	}
	if (name_check(r->name, err) == -1) {
		r->name[0] = '\0';
		if (err != NULL)
			sanitize(err->msg);
		*status = 400;
		return -1;
	}
	return 0;
}

/*
 * Splits what follows "/api/v1/artifacts/" into at most three segments.
 * Returns how many, or -1 when there are more or one is empty (a doubled or
 * trailing slash), neither of which is a route.
 */
static int
split(const char *rest, struct seg *segs)
{
	const char *p = rest, *slash;
	int n = 0;

	for (;;) {
		if (n == 3)
			return -1;
		slash = strchr(p, '/');
		segs[n].p = p;
		segs[n].len = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (segs[n].len == 0)
			return -1;
		n++;
		if (slash == NULL)
			return n;
		p = slash + 1;
	}
}

/* The artifact routes: TYPE/NAME and TYPE/NAME/ACTION. */
static int
match_artifact(const char *method, const char *rest, struct route *r,
    int *status, struct snap_err *err)
{
	struct seg segs[3];
	int n = split(rest, segs);

	if (n == 2)
		r->id = method_is(method, M_PUT) ? ROUTE_DEPLOY_LOCAL :
		    ROUTE_SHOW;
	else if (n == 3 && seg_is(&segs[2], "undeploy"))
		r->id = ROUTE_UNDEPLOY;
	else if (n == 3 && seg_is(&segs[2], "redeploy"))
		r->id = ROUTE_REDEPLOY;
	else if (n == 3 && seg_is(&segs[2], "override"))
		r->id = ROUTE_FORGET;
	else
		return fail(status, 404, err, "no such route");
	if (!method_is(method, route_defs[r->id].method))
		return fail(status, 405, err, "method not allowed");
	if ((r->type = lookup_type(segs[0].p, segs[0].len, status, err)) < 0)
		return -1;
	return check_name(&segs[1], r, status, err);
}

int
route_match(const char *method, const char *path, const char *type_query,
    struct route *r, int *status, struct snap_err *err)
{
	size_t i;

	assert(r != NULL && status != NULL);
	memset(r, 0, sizeof(*r));
	r->id = ROUTE_COUNT;
	r->type = -1;
	r->type_filter = -1;
	if (method == NULL || path == NULL)
		return fail(status, 404, err, "no such route");
	/* strnlen: a hostile path is looked at no further than the limit. */
	if (strnlen(path, ROUTE_PATH_MAX + 1) > ROUTE_PATH_MAX)
		return fail(status, 404, err, "path longer than 4096 bytes");

	if (strncmp(path, ARTIFACTS_PREFIX, strlen(ARTIFACTS_PREFIX)) == 0) {
		if (match_artifact(method, path + strlen(ARTIFACTS_PREFIX), r,
		    status, err) == -1) {
			r->id = ROUTE_COUNT;
			r->type = -1;
			return -1;
		}
	} else {
		for (i = 0; i < ROUTE_COUNT; i++)
			if (route_defs[i].path != NULL &&
			    strcmp(path, route_defs[i].path) == 0)
				break;
		if (i == ROUTE_COUNT)
			return fail(status, 404, err, "no such route");
		if (!method_is(method, route_defs[i].method))
			return fail(status, 405, err, "method not allowed");
		r->id = (enum route_id)i;
		if (r->id == ROUTE_LIST && type_query != NULL &&
		    (r->type_filter = lookup_type(type_query,
		    strnlen(type_query, ROUTE_PATH_MAX), status, err)) < 0) {
			r->id = ROUTE_COUNT;
			return -1;
		}
	}
	r->mutating = route_defs[r->id].method != M_GET;
	return 0;
}

const char *
route_label(enum route_id id)
{
	if ((unsigned)id >= ROUTE_COUNT)
		return "unknown";
	return route_defs[id].label;
}
