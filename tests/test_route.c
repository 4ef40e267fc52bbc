/*
 * test_route.c - the REST route table: every route, every wrong method, and
 * the hostile paths, names and types a client can send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "route.h"
#include "testutil.h"

static const char *const methods[] = {
	"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "get", "",
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

/* Asserts a match and returns the route. */
static struct route
match_ok(const char *method, const char *path, const char *type_query)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct route r;
	int status = 0;

	if (route_match(method, path, type_query, &r, &status, &err) != 0)
		fail_msg("%s %s: %d %s", method, path, status, err.msg);
	return r;
}

/* Asserts a failure with `want_status` and a message holding `want`. */
static void
match_fails(const char *method, const char *path, const char *type_query,
    int want_status, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct route r;
	int status = 0;

	if (route_match(method, path, type_query, &r, &status, &err) != -1)
		fail_msg("%s %.100s: matched route %d", method, path, r.id);
	if (status != want_status)
		fail_msg("%s %.100s: status %d, expected %d (%s)", method, path,
		    status, want_status, err.msg);
	tu_assert_msg(err.msg, want);
	/* A failed match leaves nothing that looks like an artifact. */
	assert_int_equal(r.type, -1);
	assert_string_equal(r.name, "");
}

struct case_ {
	const char *path;
	const char *method;	/* the method (HEAD too if GET) */
	enum route_id id;
	bool mutating;
};

static const struct case_ cases[] = {
	{ "/api/v1/status", "GET", ROUTE_STATUS, false },
	{ "/api/v1/artifacts", "GET", ROUTE_LIST, false },
	{ "/api/v1/artifacts/api/Orders", "GET", ROUTE_SHOW, false },
	{ "/api/v1/artifacts/api/Orders", "PUT", ROUTE_DEPLOY_LOCAL, true },
	{ "/api/v1/artifacts/api/Orders/undeploy", "POST", ROUTE_UNDEPLOY,
	    true },
	{ "/api/v1/artifacts/api/Orders/redeploy", "POST", ROUTE_REDEPLOY,
	    true },
	{ "/api/v1/sync", "POST", ROUTE_SYNC, true },
	{ "/healthz", "GET", ROUTE_HEALTHZ, false },
	{ "/metrics", "GET", ROUTE_METRICS, false },
	{ "/api/v1/artifacts/api/Orders/override", "DELETE", ROUTE_FORGET,
	    true },
	{ "/livez", "GET", ROUTE_LIVEZ, false },
	{ "/readyz", "GET", ROUTE_READYZ, false },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Whether some route at this path takes the method. */
static bool
path_takes(const char *path, const char *method)
{
	size_t i;

	for (i = 0; i < NCASES; i++)
		if (strcmp(cases[i].path, path) == 0 &&
		    (strcmp(cases[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		    strcmp(cases[i].method, "GET") == 0)))
			return true;
	return false;
}

static void
test_every_route(void **state)
{
	struct route r;
	size_t i;
	bool seen[ROUTE_COUNT] = { false };

	(void)state;
	for (i = 0; i < NCASES; i++) {
		r = match_ok(cases[i].method, cases[i].path, NULL);
		assert_int_equal(r.id, cases[i].id);
		assert_int_equal(r.mutating, cases[i].mutating);
		assert_int_equal(r.type_filter, -1);
		if (strncmp(cases[i].path, "/api/v1/artifacts/", 18) == 0) {
			assert_int_equal(r.type, name_type_index("api"));
			assert_string_equal(r.name, "Orders");
		} else {
			assert_int_equal(r.type, -1);
			assert_string_equal(r.name, "");
		}
		seen[r.id] = true;
		if (strcmp(cases[i].method, "GET") == 0) {
			r = match_ok("HEAD", cases[i].path, NULL);
			assert_int_equal(r.id, cases[i].id);
			assert_false(r.mutating);
		}
	}
	for (i = 0; i < ROUTE_COUNT; i++)
		if (!seen[i])
			fail_msg("route %zu has no case", i);
}

static void
test_every_wrong_method(void **state)
{
	size_t i, m;

	(void)state;
	for (i = 0; i < NCASES; i++)
		for (m = 0; m < NMETHODS; m++)
			if (!path_takes(cases[i].path, methods[m]))
				match_fails(methods[m], cases[i].path, NULL,
				    405, "method not allowed");
}

static void
test_every_type(void **state)
{
	char path[TU_PATH];
	struct route r;
	size_t i;

	(void)state;
	for (i = 0; i < artifact_type_count; i++) {
		tu_path(path, "/api/v1/artifacts/%s/a.b_c-9",
		    artifact_types[i].folder);
		r = match_ok("GET", path, NULL);
		assert_int_equal(r.id, ROUTE_SHOW);
		assert_int_equal(r.type, (int)i);
		assert_string_equal(r.name, "a.b_c-9");
		tu_path(path, "/api/v1/artifacts/%s/x/undeploy",
		    artifact_types[i].folder);
		r = match_ok("POST", path, NULL);
		assert_int_equal(r.type, (int)i);
		r = match_ok("GET", "/api/v1/artifacts",
		    artifact_types[i].folder);
		assert_int_equal(r.id, ROUTE_LIST);
		assert_int_equal(r.type_filter, (int)i);
		assert_int_equal(r.type, -1);
	}
}

static void
test_unknown_types(void **state)
{
	char big[5000];

	(void)state;
	match_fails("GET", "/api/v1/artifacts/apis/x", NULL, 400,
	    "unknown artifact type 'apis'");
	match_fails("GET", "/api/v1/artifacts/API/x", NULL, 400,
	    "unknown artifact type 'API'");
	match_fails("PUT", "/api/v1/artifacts/../x", NULL, 400,
	    "unknown artifact type '..'");
	match_fails("POST", "/api/v1/artifacts/proxy/x/redeploy", NULL, 400,
	    "unknown artifact type 'proxy'");
	match_fails("GET", "/api/v1/artifacts", "bogus", 400,
	    "unknown artifact type 'bogus'");
	match_fails("GET", "/api/v1/artifacts", "", 400,
	    "unknown artifact type ''");
	match_fails("HEAD", "/api/v1/artifacts", "api ", 400,
	    "unknown artifact type 'api '");
	/* Hostile bytes are not echoed into the message. */
	match_fails("GET", "/api/v1/artifacts", "a\n\xc3\xa9", 400,
	    "unknown artifact type 'a\?\?\?'");
	/* A type that only starts like a real one is not it. */
	match_fails("GET", "/api/v1/artifacts", "api\xff", 400,
	    "unknown artifact type 'api?'");
	/* A long type is quoted in part. */
	memset(big, 't', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	match_fails("GET", "/api/v1/artifacts", big, 400, "tttt...'");
	/* The type query only matters to the list. */
	assert_int_equal(match_ok("GET", "/api/v1/status", "bogus").id,
	    ROUTE_STATUS);
}

static void
test_bad_names(void **state)
{
	char path[TU_PATH], name[300];

	(void)state;
	match_fails("GET", "/api/v1/artifacts/api/..", NULL, 400,
	    "starts with '.'");
	match_fails("GET", "/api/v1/artifacts/api/.", NULL, 400,
	    "starts with '.'");
	match_fails("PUT", "/api/v1/artifacts/api/.hidden", NULL, 400,
	    "starts with '.'");
	match_fails("POST", "/api/v1/artifacts/api/.hidden/undeploy", NULL, 400,
	    "starts with '.'");
	/* Names WSO2 uses, sent encoded as a client does. */
	assert_string_equal(match_ok("GET", "/api/v1/artifacts/api/a%20b",
	    NULL).name, "a b");
	assert_string_equal(match_ok("GET", "/api/v1/artifacts/api/"
	    "admin--A%3Av1.0.0", NULL).name, "admin--A:v1.0.0");
	assert_string_equal(match_ok("GET", "/api/v1/artifacts/imports/"
	    "%7Borg.wso2%7Dhello", NULL).name, "{org.wso2}hello");
	assert_string_equal(match_ok("GET", "/api/v1/artifacts/config/synapse",
	    NULL).name, "synapse");
	/* Paths arrive encoded; TYPE and NAME are decoded one by one, so an
	 * encoded '/' or NUL is refused inside its own segment. */
	match_fails("GET", "/api/v1/artifacts/api/a%2Fb", NULL, 400,
	    "byte 0x2f at offset 1");
	match_fails("GET", "/api/v1/artifacts/api/..%2F..", NULL, 400,
	    "starts with '.'");
	match_fails("GET", "/api/v1/artifacts/api/HelloWorld%00.txt", NULL, 400,
	    "NUL byte");
	match_fails("GET", "/api/v1/artifacts/api/%", NULL, 400,
	    "badly percent-encoded");
	match_fails("GET", "/api/v1/artifacts/api/a%zz", NULL, 400,
	    "badly percent-encoded");
	match_fails("GET", "/api/v1/artifacts/api/%2e%2e", NULL, 400,
	    "starts with '.'");
	match_fails("GET", "/api/v1/artifacts/%61pi/%2e", NULL, 400,
	    "starts with '.'");
	match_fails("GET", "/api/v1/artifacts/api/caf\xc3", NULL, 400,
	    "byte 0xc3 at offset 3");
	match_fails("GET", "/api/v1/artifacts/api/a%22b", NULL, 400,
	    "a double quote");
	match_fails("GET", "/api/v1/artifacts/api/a\\b", NULL, 400,
	    "byte 0x5c");
	match_fails("GET", "/api/v1/artifacts/api/a\tb", NULL, 400,
	    "byte 0x09");
	/* A dot name is refused without quoting its bytes. */
	match_fails("GET", "/api/v1/artifacts/api/.\xff\n", NULL, 400,
	    "artifact name starts with '.'");

	/* 255 bytes is a name, 256 is not. */
	memset(name, 'n', 255);
	name[255] = '\0';
	tu_path(path, "/api/v1/artifacts/sequences/%s", name);
	assert_int_equal(strlen(match_ok("GET", path, NULL).name), 255);
	tu_path(path, "/api/v1/artifacts/sequences/%s/redeploy", name);
	assert_int_equal(match_ok("POST", path, NULL).id, ROUTE_REDEPLOY);
	name[255] = 'n';
	name[256] = '\0';
	tu_path(path, "/api/v1/artifacts/sequences/%s", name);
	match_fails("GET", path, NULL, 400, "longer than 255 bytes");
	tu_path(path, "/api/v1/artifacts/sequences/%s/undeploy", name);
	match_fails("POST", path, NULL, 400, "longer than 255 bytes");
}

/* A legal name sent encoded is the same name. */
static void
test_encoded_names_decode(void **state)
{
	struct route r;

	(void)state;
	r = match_ok("GET", "/api/v1/artifacts/api/Hello%57orld", NULL);
	assert_string_equal(r.name, "HelloWorld");
	r = match_ok("POST", "/api/v1/artifacts/%61pi/a%2Db/undeploy", NULL);
	assert_int_equal(r.id, ROUTE_UNDEPLOY);
	assert_string_equal(r.name, "a-b");
	r = match_ok("GET", "/api/v1/artifacts", "%61pi");
	assert_int_equal(r.type_filter, 0);
}

static void
test_no_such_route(void **state)
{
	static const char *const paths[] = {
		"",
		"/",
		"api/v1/status",
		"/api/v1/status/",
		"/api/v1/status/x",
		"//api/v1/status",
		"/api//v1/status",
		"/api/v1/Status",
		"/api/v1",
		"/api/v2/status",
		"/api/v1/artifacts/",
		"/api/v1/artifacts//",
		"/api/v1/artifacts/api",
		"/api/v1/artifacts/api/",
		"/api/v1/artifacts//Orders",
		"/api/v1/artifacts/api//Orders",
		"/api/v1/artifacts/api/Orders/",
		"/api/v1/artifacts/api/Orders//undeploy",
		"/api/v1/artifacts/api/Orders/undeploy/",
		"/api/v1/artifacts/api/Orders/undeploy/x",
		"/api/v1/artifacts/api/Orders/delete",
		"/api/v1/artifacts/api/Orders/Undeploy",
		"/api/v1/artifacts/api/Orders/undeployx",
		"/api/v1/artifacts/api/Orders/x/y/z",
		"/api/v1/artifactsx",
		"/api/v1/artifacts?type=api",
		"/api/v1/sync/",
		"/healthz/",
		"/healthzz",
		"/metrics/x",
		"/metrics\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		match_fails("GET", paths[i], NULL, 404, "no such route");
		match_fails("POST", paths[i], NULL, 404, "no such route");
		match_fails("PUT", paths[i], NULL, 404, "no such route");
	}
	/* Structure is judged before the type or the name. */
	match_fails("GET", "/api/v1/artifacts/bogus", NULL, 404, NULL);
	match_fails("GET", "/api/v1/artifacts/bogus/..//", NULL, 404, NULL);
	/* The method before the type or the name. */
	match_fails("DELETE", "/api/v1/artifacts/bogus/..", NULL, 405, NULL);
	match_fails("GET", "/api/v1/artifacts/bogus/../undeploy", NULL, 405,
	    NULL);
	match_fails("POST", "/api/v1/artifacts", "bogus", 405, NULL);
}

static void
test_long_paths(void **state)
{
	size_t len = 1 << 20;
	char *path = malloc(len + 1);
	const char *prefix = "/api/v1/artifacts/api/";

	(void)state;
	assert_non_null(path);
	/* Just over the limit, and far over it: 404 either way. */
	memset(path, 'a', len);
	memcpy(path, prefix, strlen(prefix));
	path[4097] = '\0';
	match_fails("GET", path, NULL, 404, "longer than 4096 bytes");
	path[4097] = 'a';
	path[len] = '\0';
	match_fails("GET", path, NULL, 404, "longer than 4096 bytes");
	/* At the limit it is judged as usual: a name too long. */
	path[4096] = '\0';
	match_fails("GET", path, NULL, 400, "longer than 255 bytes");
	/* Many slashes: an ordinary 404. */
	memset(path, '/', 4096);
	match_fails("GET", path, NULL, 404, "no such route");
	memcpy(path, prefix, strlen(prefix));
	match_fails("GET", path, NULL, 404, "no such route");
	free(path);
}

static void
test_null_args(void **state)
{
	struct route r;
	int status = 0;

	(void)state;
	/* The error buffer is optional. */
	assert_int_equal(route_match("GET", "/nope", NULL, &r, &status, NULL),
	    -1);
	assert_int_equal(status, 404);
	assert_int_equal(route_match("GET", "/api/v1/artifacts/api/..", NULL,
	    &r, &status, NULL), -1);
	assert_int_equal(status, 400);
	assert_int_equal(route_match(NULL, "/healthz", NULL, &r, &status,
	    NULL), -1);
	assert_int_equal(route_match("GET", NULL, NULL, &r, &status, NULL),
	    -1);
	assert_int_equal(status, 404);
}

static void
test_labels_are_stable(void **state)
{
	static const char *const want[ROUTE_COUNT] = {
		[ROUTE_STATUS] = "status",
		[ROUTE_LIST] = "artifacts",
		[ROUTE_SHOW] = "artifact",
		[ROUTE_DEPLOY_LOCAL] = "deploy_local",
		[ROUTE_UNDEPLOY] = "undeploy",
		[ROUTE_REDEPLOY] = "redeploy",
		[ROUTE_SYNC] = "sync",
		[ROUTE_HEALTHZ] = "healthz",
		[ROUTE_METRICS] = "metrics",
		[ROUTE_FORGET] = "forget",
		[ROUTE_LIVEZ] = "livez",
		[ROUTE_READYZ] = "readyz",
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < ROUTE_COUNT; i++) {
		assert_non_null(want[i]);
		assert_string_equal(route_label((enum route_id)i), want[i]);
		for (j = 0; j < i; j++)
			assert_string_not_equal(route_label((enum route_id)i),
			    route_label((enum route_id)j));
	}
	assert_string_equal(route_label(ROUTE_COUNT), "unknown");
	assert_string_equal(route_label((enum route_id)-1), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_route),
		cmocka_unit_test(test_every_wrong_method),
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_unknown_types),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_encoded_names_decode),
		cmocka_unit_test(test_no_such_route),
		cmocka_unit_test(test_long_paths),
		cmocka_unit_test(test_null_args),
		cmocka_unit_test(test_labels_are_stable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
