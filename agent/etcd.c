/*
 * etcd.c - etcd v3 over its JSON gateway (see etcd.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "etcd.h"
#include "httpc.h"

#define ETCD_URLS_MAX 8
#define ETCD_ANSWER_MAX (64 * 1024)

struct etcd {
	char *urls[ETCD_URLS_MAX];
	size_t n;
	long timeout_ms;
	CURL *curl;
};

struct etcd *
etcd_new(const char *urls, long timeout_ms, struct snap_err *err)
{
	struct etcd *e = calloc(1, sizeof(*e));
	const char *p = urls;
	size_t len;

	if (e == NULL)
		goto nomem;
	e->timeout_ms = timeout_ms;
	while (*p != '\0' && e->n < ETCD_URLS_MAX) {
		len = strcspn(p, ",");
		/* Without the trailing slash: paths start with one. */
		while (len > 0 && p[len - 1] == '/')
			len--;
		if ((e->urls[e->n++] = strndup(p, len)) == NULL)
			goto nomem;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	if (e->n == 0) {
		snap_err_set(err, "etcd: no URL");
		etcd_free(e);
		return NULL;
	}
	if ((e->curl = curl_easy_init()) == NULL)
		goto nomem;
	return e;
nomem:
	snap_err_setc(err, SNAP_E_NOMEM, "etcd: out of memory");
	etcd_free(e);
	return NULL;
}

void
etcd_free(struct etcd *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->n; i++)
		free(e->urls[i]);
	if (e->curl != NULL)
		curl_easy_cleanup(e->curl);
	free(e);
}

struct answer {
	char *buf;
	size_t len;
	bool too_big;
};

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	char *more;

	size *= n;
	if (a->len + size > ETCD_ANSWER_MAX) {
		a->too_big = true;
		return 0;
	}
	if ((more = realloc(a->buf, a->len + size + 1)) == NULL)
		return 0;
	a->buf = more;
	memcpy(a->buf + a->len, data, size);
	a->len += size;
	a->buf[a->len] = '\0';
	return size;
}

/* POSTs body (released here) to path at each URL in turn until one
 * answers 200: its bytes in *out (malloc'ed, the caller's). */
static int
call(struct etcd *e, const char *path, json_t *body, char **out, size_t *len,
    struct snap_err *err)
{
	char errbuf[CURL_ERROR_SIZE], url[2048], *req;
	struct answer a = { NULL, 0, false };
	long status = 0;
	CURLcode rc = CURLE_OK;
	size_t i;

	*out = NULL;
	req = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (req == NULL)
		return snap_err_setc(err, SNAP_E_NOMEM, "etcd: out of memory");
	for (i = 0; i < e->n; i++) {
		curl_easy_reset(e->curl);
		errbuf[0] = '\0';
		httpc_defaults(e->curl, errbuf, e->timeout_ms);
		snprintf(url, sizeof(url), "%s%s", e->urls[i], path);
		curl_easy_setopt(e->curl, CURLOPT_URL, url);
		curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, req);
		curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &a);
		free(a.buf);
		a = (struct answer){ NULL, 0, false };
		rc = curl_easy_perform(e->curl);
		status = 0;
		curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
		if (rc == CURLE_OK && status == 200 && a.buf != NULL)
			break;
	}
	free(req);
	if (i == e->n) {
		if (rc != CURLE_OK)
			snap_err_setc(err, SNAP_E_IO, "etcd %s: %s", path,
			    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		else
			snap_err_setc(err, SNAP_E_IO, "etcd %s: HTTP %ld%s%.200s",
			    path, status, a.buf ? ": " : "", a.buf ? a.buf : "");
		free(a.buf);
		return -1;
	}
	*out = a.buf;
	*len = a.len;
	return 0;
}

static char *
b64(const char *s)
{
	size_t n = strlen(s), outlen = sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(outlen);

	if (out != NULL)
		sodium_bin2base64(out, outlen, (const unsigned char *)s, n,
		    sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* A 64-bit number as etcd's JSON writes it: a string of digits (or a
 * plain integer); missing is 0, as proto3 leaves zeros out. */
static int
get_i64(json_t *obj, const char *key, int64_t *out, struct snap_err *err)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	char *end;

	*out = 0;
	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return *out < 0 ? snap_err_setc(err, SNAP_E_MALFORMED,
		    "etcd: '%s' is negative", key) : 0;
	}
	if (!json_is_string(v) || (s = json_string_value(v))[0] == '\0' ||
	    strspn(s, "0123456789") != strlen(s) || strlen(s) > 19)
		return snap_err_setc(err, SNAP_E_MALFORMED, "etcd: '%s' is not "
		    "a number", key);
	errno = 0;
	*out = (int64_t)strtoll(s, &end, 10);
	if (errno != 0)
		return snap_err_setc(err, SNAP_E_MALFORMED, "etcd: '%s' is out "
		    "of range", key);
	return 0;
}

/* The base64 value of kv into value (NUL-terminated text of at most
 * ETCD_VALUE_MAX - 1 bytes, no NUL inside). */
static int
get_value(json_t *kv, char value[ETCD_VALUE_MAX], struct snap_err *err)
{
	const char *s = json_string_value(json_object_get(kv, "value"));
	size_t got = 0;

	value[0] = '\0';
	if (s == NULL)
		return 0;
	if (sodium_base642bin((unsigned char *)value, ETCD_VALUE_MAX - 1, s,
	    strlen(s), NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    memchr(value, '\0', got) != NULL)
		return snap_err_setc(err, SNAP_E_MALFORMED, "etcd: a value that "
		    "is not base64 text of at most %d bytes", ETCD_VALUE_MAX - 1);
	value[got] = '\0';
	return 0;
}

static json_t *
load(const char *buf, size_t len, struct snap_err *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);

	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		snap_err_setc(err, SNAP_E_MALFORMED, "etcd: an answer that is "
		    "not a JSON object");
		return NULL;
	}
	return root;
}

/* The first kv of a range answer object. */
static int
first_kv(json_t *range, int64_t *kv_rev, char value[ETCD_VALUE_MAX],
    struct snap_err *err)
{
	json_t *kvs = json_object_get(range, "kvs"), *kv;

	*kv_rev = 0;
	value[0] = '\0';
	if (kvs == NULL || json_array_size(kvs) == 0)
		return 0;
	kv = json_array_get(kvs, 0);
	if (!json_is_object(kv) ||
	    get_i64(kv, "create_revision", kv_rev, err) == -1 ||
	    get_value(kv, value, err) == -1)
		return snap_err_setc(err, SNAP_E_MALFORMED, "etcd: a kv that "
		    "does not parse");
	return 0;
}

int
etcd_parse_txn(const char *buf, size_t len, int *ok, int64_t *rev,
    int64_t *kv_rev, char value[ETCD_VALUE_MAX], struct snap_err *err)
{
	json_t *root, *resp, *range;
	int rc = -1;

	*ok = 0;
	*rev = *kv_rev = 0;
	value[0] = '\0';
	if ((root = load(buf, len, err)) == NULL)
		return -1;
	if (get_i64(json_object_get(root, "header"), "revision", rev,
	    err) == -1)
		goto out;
	*ok = json_is_true(json_object_get(root, "succeeded"));
	resp = json_array_get(json_object_get(root, "responses"), 0);
	range = json_object_get(resp, "response_range");
	if (range != NULL && first_kv(range, kv_rev, value, err) == -1)
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int
etcd_parse_range(const char *buf, size_t len, int64_t *kv_rev,
    char value[ETCD_VALUE_MAX], struct snap_err *err)
{
	json_t *root;
	int rc;

	if ((root = load(buf, len, err)) == NULL)
		return -1;
	rc = first_kv(root, kv_rev, value, err);
	json_decref(root);
	return rc;
}

int
etcd_parse_lease(const char *buf, size_t len, int64_t *id, int64_t *ttl,
    struct snap_err *err)
{
	json_t *root, *obj;
	int rc = -1;

	*id = *ttl = 0;
	if ((root = load(buf, len, err)) == NULL)
		return -1;
	/* A keepalive's answer is wrapped in "result"; a grant's is not. */
	obj = json_object_get(root, "result");
	if (obj == NULL)
		obj = root;
	if (get_i64(obj, "ID", id, err) == 0 &&
	    get_i64(obj, "TTL", ttl, err) == 0)
		rc = 0;
	json_decref(root);
	return rc;
}

int
etcd_lease_grant(struct etcd *e, unsigned ttl_s, int64_t *id,
    struct snap_err *err)
{
	char *buf = NULL;
	int64_t ttl;
	size_t len;
	int rc;

	if (call(e, "/v3/lease/grant", json_pack("{s:I}", "TTL",
	    (json_int_t)ttl_s), &buf, &len, err) == -1)
		return -1;
	rc = etcd_parse_lease(buf, len, id, &ttl, err);
	free(buf);
	if (rc == 0 && (*id == 0 || ttl <= 0))
		return snap_err_setc(err, SNAP_E_MALFORMED, "etcd: no lease "
		    "granted");
	return rc;
}

int
etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl,
    struct snap_err *err)
{
	char *buf = NULL, ids[32];
	int64_t got;
	size_t len;
	int rc;

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	if (call(e, "/v3/lease/keepalive", json_pack("{s:s}", "ID", ids), &buf,
	    &len, err) == -1)
		return -1;
	rc = etcd_parse_lease(buf, len, &got, ttl, err);
	free(buf);
	return rc;
}

int
etcd_lease_revoke(struct etcd *e, int64_t id, struct snap_err *err)
{
	char *buf = NULL, ids[32];
	size_t len;

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	if (call(e, "/v3/lease/revoke", json_pack("{s:s}", "ID", ids), &buf,
	    &len, err) == -1)
		return -1;
	free(buf);
	return 0;
}

/* One transaction (body released here; NULL means out of memory, which
 * call() reports): whether it succeeded, its revision, and the key's
 * create revision and holder when it did not. */
static int
txn(struct etcd *e, json_t *body, int *ok, int64_t *txrev, int64_t *kvrev,
    char holder[ETCD_VALUE_MAX], struct snap_err *err)
{
	char *buf = NULL;
	size_t len;
	int rc;

	if (call(e, "/v3/kv/txn", body, &buf, &len, err) == -1)
		return -1;
	rc = etcd_parse_txn(buf, len, ok, txrev, kvrev, holder, err);
	free(buf);
	return rc;
}

int
etcd_campaign(struct etcd *e, const char *key, const char *value,
    int64_t lease, int64_t *rev, char holder[ETCD_VALUE_MAX],
    struct snap_err *err)
{
	char *k = b64(key), *v = b64(value), ids[32];
	int64_t txrev = 0, kvrev = 0;
	json_t *body = NULL;
	int ok = 0, rc = -1;

	snprintf(ids, sizeof(ids), "%" PRId64, lease);
	if (k != NULL && v != NULL)
		body = json_pack("{s:[{s:s, s:s, s:s, s:s}], "
		    "s:[{s:{s:s, s:s, s:s}}], s:[{s:{s:s}}]}",
		    "compare", "key", k, "result", "EQUAL", "target", "CREATE",
		    "create_revision", "0",
		    "success", "request_put", "key", k, "value", v, "lease", ids,
		    "failure", "request_range", "key", k);
	if (txn(e, body, &ok, &txrev, &kvrev, holder, err) == -1)
		goto out;
	/* Won: the put happened at the txn's revision, which is therefore
	 * the key's create revision. */
	*rev = ok ? txrev : kvrev;
	rc = ok ? 0 : 1;
out:
	free(k);
	free(v);
	return rc;
}

int
etcd_get(struct etcd *e, const char *key, int64_t *rev,
    char value[ETCD_VALUE_MAX], struct snap_err *err)
{
	char *k = b64(key), *buf = NULL;
	size_t len;
	int rc = -1;

	if (k == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "etcd: out of memory");
		goto out;
	}
	/* Linearizable (the default): a leader cut off from the quorum
	 * cannot answer from its stale copy. */
	if (call(e, "/v3/kv/range", json_pack("{s:s}", "key", k), &buf, &len,
	    err) == -1 || etcd_parse_range(buf, len, rev, value, err) == -1)
		goto out;
	rc = *rev == 0 ? 1 : 0;
out:
	free(buf);
	free(k);
	return rc;
}

int
etcd_put_if_leader(struct etcd *e, const char *leader, int64_t rev,
    const char *key, const char *value, struct snap_err *err)
{
	char *l = b64(leader), *k = b64(key), *v = b64(value);
	char revs[32], holder[ETCD_VALUE_MAX];
	int64_t txrev, kvrev;
	json_t *body = NULL;
	int ok = 0, rc = -1;

	snprintf(revs, sizeof(revs), "%" PRId64, rev);
	if (l != NULL && k != NULL && v != NULL)
		body = json_pack("{s:[{s:s, s:s, s:s, s:s}], "
		    "s:[{s:{s:s, s:s}}]}",
		    "compare", "key", l, "result", "EQUAL", "target", "CREATE",
		    "create_revision", revs,
		    "success", "request_put", "key", k, "value", v);
	if (txn(e, body, &ok, &txrev, &kvrev, holder, err) == -1)
		goto out;
	rc = ok ? 0 : 1;
out:
	free(l);
	free(k);
	free(v);
	return rc;
}
