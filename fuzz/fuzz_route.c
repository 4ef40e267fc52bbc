/*
 * fuzz_route.c - libFuzzer target for route_match(), which gets the method,
 * the raw (still percent-encoded) URL path and the raw ?type= value of every
 * request the REST endpoint receives.
 *
 * Input: byte 0 picks the method; the rest is the path, and when it holds a
 * '?', what follows is passed as the type query (as libmicrohttpd hands it
 * over with our no-op unescaper). Each string is its own exact-size heap
 * copy, so ASan sees any read past its end.
 *
 * Beyond memory safety, checks what the REST handlers rely on: an accepted
 * route has a real id, an artifact route a valid type and a NAME that passes
 * name_check() (so it is safe as a file name), a refusal a 400/404/405 and a
 * message without control bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {
	"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "get", "",
};

static char *
dup_bytes(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void
check(const struct route *r, int rc, int status, const struct snap_err *err)
{
	struct snap_err e2 = SNAP_ERR_INIT;
	const char *p;

	if (rc == -1) {
		if (status != 400 && status != 404 && status != 405)
			abort();
		if (r->id != ROUTE_COUNT || err->msg[0] == '\0')
			abort();
		for (p = err->msg; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				abort();
		return;
	}
	if (rc != 0 || (unsigned)r->id >= ROUTE_COUNT)
		abort();
	switch (r->id) {
	case ROUTE_SHOW:
	case ROUTE_DEPLOY_LOCAL:
	case ROUTE_UNDEPLOY:
	case ROUTE_REDEPLOY:
		if (r->type < 0 || (size_t)r->type >= artifact_type_count ||
		    name_check(r->name, &e2) == -1)
			abort();
		break;
	default:
		if (r->type != -1 || r->name[0] != '\0')
			abort();
	}
	if (r->type_filter != -1 && (r->id != ROUTE_LIST ||
	    (size_t)r->type_filter >= artifact_type_count))
		abort();
	if (strcmp(route_label(r->id), "unknown") == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	const uint8_t *q;
	char *method, *path, *query = NULL;
	struct route r;
	int rc, status = 0;

	if (size == 0)
		return 0;
	method = dup_bytes((const uint8_t *)methods[data[0] % 8],
	    strlen(methods[data[0] % 8]));
	data++;
	size--;
	q = memchr(data, '?', size);
	path = dup_bytes(data, q != NULL ? (size_t)(q - data) : size);
	if (q != NULL)
		query = dup_bytes(q + 1, size - (size_t)(q - data) - 1);
	rc = route_match(method, path, query, &r, &status, &err);
	check(&r, rc, status, &err);
	free(query);
	free(path);
	free(method);
	return 0;
}
