/*
 * client_http.h - one request of the CLI to a REST endpoint, with libcurl.
 *
 * Calling sequence: curl_global_init() once (client_main does), fill a
 * struct client_request, client_http_do(), read the struct client_response
 * (its body is NUL-terminated), client_response_free(). The request goes
 * straight to the endpoint, never through a proxy from the environment (a
 * token must not travel through someone else's proxy), with the token, if
 * any, as "Authorization: Bearer ...".
 *
 * Errors: any HTTP status is an answer (0: the caller judges it); -1 when
 * no whole answer came, with a message in errbuf (CURL_ERROR_SIZE bytes),
 * or too_big set when it was over CLIENT_RESPONSE_MAX.
 */
#ifndef CLIENT_HTTP_H
#define CLIENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "names.h"

#define CLIENT_ENDPOINT_MAX 1024	/* an endpoint URL, bytes */

/* An answer is at most an artifact (show) or a list of them. */
#define CLIENT_RESPONSE_MAX (2 * (size_t)ARTIFACT_MAX_BYTES)

struct client_request {
	const char *method;		/* GET, PUT, POST, DELETE */
	char path[1024];		/* TYPE, NAME percent-encoded (at most
					 * 3 bytes a byte), an action */
	const char *body;		/* PUT only; not owned */
	size_t body_len;
};

struct client_response {
	long status;
	char *body;			/* NUL-terminated; owned */
	size_t len;
	size_t cap;
	bool too_big;
};

/* Sends rq to endpoint ("http://HOST:PORT"), token "" for none. */
int client_http_do(const struct client_request *rq, const char *endpoint,
    const char *token, struct client_response *rs, char *errbuf);

void client_response_free(struct client_response *rs);

#endif
