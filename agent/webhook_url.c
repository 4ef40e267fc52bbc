/*
 * webhook_url.c - webhook_url's form (webhook.h), checked when the config
 * is read.
 *
 * Apart from webhook.c, which posts with libcurl, because config.c calls
 * it and every binary links config.c: the light front (front.c) must not
 * pull libcurl in for a string check (docs/architecture.md).
 */
#include <string.h>
#include <strings.h>

#include "webhook.h"

int
webhook_check_url(const char *url, struct snap_err *err)
{
	size_t scheme, i;

	if (strncasecmp(url, "http://", 7) == 0)
		scheme = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		scheme = 8;
	else
		return snap_err_set(err, "'%s' is not an http:// or https:// "
		    "URL", url);
	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return snap_err_set(err, "a blank or control byte at "
			    "offset %zu", i);
	if (url[scheme] == '\0' || url[scheme] == '/')
		return snap_err_set(err, "'%s' has no host", url);
	return 0;
}
