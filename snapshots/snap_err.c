/*
 * snap_err.c - formatting of library error messages (see snap_err.h).
 *
 * Messages quote hostile input (archive entry paths, manifest names,
 * jansson's "near '...'" text) and end up in log lines and JSON answers, so
 * every message is made safe once it is formatted: valid UTF-8 stays as it
 * is, and each control character (C0, DEL, C1) and each byte that is not
 * part of a valid UTF-8 sequence becomes '?'. A newline can then forge no
 * log line, and jansson, which refuses invalid UTF-8, can always quote it.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "snap_err.h"

size_t
snap_utf8_len(const char *s, size_t avail)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t n, i;

	if (*p >= 0x20 && *p < 0x7f)
		return 1;
	if (*p >= 0xc2 && *p <= 0xdf)
		n = 1, cp = *p & 0x1f;
	else if (*p >= 0xe0 && *p <= 0xef)
		n = 2, cp = *p & 0x0f;
	else if (*p >= 0xf0 && *p <= 0xf4)
		n = 3, cp = *p & 0x07;
	else
		return 0;		/* C0, DEL, continuation, 0xf5.. */
	for (i = 1; i <= n; i++) {
		if (i >= avail || (p[i] & 0xc0) != 0x80)
			return 0;	/* also stops at a NUL */
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
	    (cp >= 0x80 && cp <= 0x9f))
		return 0;		/* overlong, surrogate, C1 */
	return n + 1;
}

void
snap_err_sanitize(char *msg)
{
	size_t len = strlen(msg), i = 0, n;

	while (i < len) {
		if ((n = snap_utf8_len(msg + i, len - i)) == 0)
			msg[i++] = '?';
		else
			i += n;
	}
}

int
snap_err_set(struct snap_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	snap_err_sanitize(err->msg);
	return -1;
}

int
snap_err_sys(struct snap_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
	snap_err_sanitize(err->msg);
	return -1;
}

int
snap_err_prefix(struct snap_err *err, const char *fmt, ...)
{
	char prefix[sizeof(err->msg)], old[sizeof(err->msg)];
	int n;
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	n = snprintf(err->msg, sizeof(err->msg), "%.*s: ",
	    (int)(sizeof(err->msg) - 3), prefix);
	/* Keep the end of an over-long message rather than fail. */
	snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, "%.*s",
	    (int)(sizeof(err->msg) - (size_t)n - 1), old);
	snap_err_sanitize(err->msg);
	return -1;
}
