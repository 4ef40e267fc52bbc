/*
 * snap_err.c - formatting of library error messages (see snap_err.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "snap_err.h"

int
snap_err_set(struct snap_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
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
	return -1;
}
