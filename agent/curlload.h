/*
 * curlload.h - libcurl, loaded when a client command first needs it.
 *
 * Only the client commands (status, list, show, redeploy...) speak HTTP;
 * the daemons and publish never do. Linked in, libcurl made every start
 * of them load it and the TLS, Kerberos and LDAP libraries it pulls in:
 * `artsync --version` took 8.4 ms, 3.9 of them for that, and a
 * secondary's start is part of every full apply. So the client resolves
 * the calls it makes from libcurl.so.4 at first use.
 *
 * The members mirror the curl_* functions of the same names (without the
 * prefix: curl.h makes some of those names macros).
 */
#ifndef CURLLOAD_H
#define CURLLOAD_H

#include <curl/curl.h>

#include "snap_err.h"

struct curl_api {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list,
	    const char *s);
	void (*slist_free_all)(struct curl_slist *list);
};

/* The API (loaded on the first call, then the same), or NULL with err
 * naming what is missing. */
const struct curl_api *curl_api(struct snap_err *err);

#endif
