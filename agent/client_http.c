/*
 * client_http.c - the CLI's one request, with libcurl (see client_http.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "client_http.h"
#include "httpc.h"
#include "token.h"

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct client_response *rs = arg;
	size_t len = size * n, ncap;
	char *nb;

	if (len > CLIENT_RESPONSE_MAX - rs->len) {
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

int
client_http_do(const struct client_request *rq, const char *endpoint,
    const char *token, struct client_response *rs, char *errbuf)
{
	char url[CLIENT_ENDPOINT_MAX + sizeof(rq->path)];
	char auth[TOKEN_MAX + 32] = "";
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

void
client_response_free(struct client_response *rs)
{
	free(rs->body);
	rs->body = NULL;
	rs->len = rs->cap = 0;
}
