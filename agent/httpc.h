/*
 * httpc.h - what every libcurl handle of artsync is set to, whoever sends
 * (the CLI client, the secondary's webhook).
 */
#ifndef HTTPC_H
#define HTTPC_H

#include <curl/curl.h>

/* Only http and https (curl would follow a URL to other schemes), no
 * signals (a timeout must not longjmp out of a resolver, and a daemon
 * reads its signals from a signalfd), errors into errbuf
 * (CURL_ERROR_SIZE bytes), the whole transfer within timeout_ms. */
void httpc_defaults(CURL *curl, char *errbuf, long timeout_ms);

#endif
