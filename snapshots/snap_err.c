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
#include <errno.h>
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

static void
vformat(struct snap_err *err, enum snap_code code, const char *fmt,
    va_list ap)
{
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	snap_err_sanitize(err->msg);
	err->code = code;
}

int
snap_err_set(struct snap_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vformat(err, SNAP_E_OTHER, fmt, ap);
	va_end(ap);
	return -1;
}

int
snap_err_setc(struct snap_err *err, enum snap_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vformat(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

static enum snap_code
errno_code(int errnum)
{
	switch (errnum) {
	case ENOENT:
		return SNAP_E_MISSING;
	case ENOSPC:
	case EDQUOT:
		return SNAP_E_NO_SPACE;
	case ENOMEM:
		return SNAP_E_NOMEM;
	default:
		return SNAP_E_IO;
	}
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
	err->code = errno_code(errnum);
	return -1;
}

int
snap_err_recode(struct snap_err *err, enum snap_code code)
{
	if (err != NULL)
		err->code = code;
	return -1;
}

bool
snap_code_is_final(enum snap_code code)
{
	return code == SNAP_E_MALFORMED || code == SNAP_E_HOSTILE ||
	    code == SNAP_E_INVALID || code == SNAP_E_TOO_LARGE ||
	    code == SNAP_E_BLAKE2B;
}

const char *
snap_code_name(enum snap_code code)
{
	static const char *const names[SNAP_E_COUNT] = {
		[SNAP_E_OTHER] = "other",
		[SNAP_E_IO] = "io",
		[SNAP_E_NOMEM] = "other",
		[SNAP_E_MISSING] = "missing_file",
		[SNAP_E_TRUNCATED] = "truncated",
		[SNAP_E_CHECKSUM] = "checksum",
		[SNAP_E_CHANGED] = "checksum",
		[SNAP_E_NO_SPACE] = "no_space",
		[SNAP_E_MALFORMED] = "malformed",
		[SNAP_E_HOSTILE] = "hostile_entry",
		[SNAP_E_INVALID] = "invalid_artifact",
		[SNAP_E_TOO_LARGE] = "too_large",
		[SNAP_E_BLAKE2B] = "blake2b_mismatch",
		[SNAP_E_UNSIGNED] = "unsigned",
		[SNAP_E_WRONG_KEY] = "wrong_key",
		[SNAP_E_BAD_SIGNATURE] = "bad_signature",
		[SNAP_E_WRONG_CLUSTER] = "wrong_cluster",
		[SNAP_E_EXPIRED] = "expired",
		[SNAP_E_OLDER] = "older_version",
		[SNAP_E_STALE_EPOCH] = "stale_epoch",
		[SNAP_E_EPOCH_PENDING] = "epoch_pending",
	};

	if ((unsigned)code >= SNAP_E_COUNT)
		return "other";
	return names[code];
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
