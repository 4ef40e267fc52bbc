/*
 * snap_err.h - the error buffer every snapshots/ function fills.
 *
 * Library code never logs and never exits: a function that fails returns -1
 * (or NULL) and leaves one lower-case sentence in the caller's buffer, subject
 * first ("snapshots/42.tar.zst: checksum mismatch").  Callers decide whether
 * to log it, print it or send it over HTTP.
 */
#ifndef SNAP_ERR_H
#define SNAP_ERR_H

#include <stddef.h>

struct snap_err {
	char msg[1024];
};

#define SNAP_ERR_INIT { { 0 } }

/* Formats into err->msg (NULL err is allowed and ignored). Returns -1 so that
 * callers can write "return snap_err_set(err, ...);". Every function here
 * passes the result through snap_err_sanitize(). */
int snap_err_set(struct snap_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* As snap_err_set, with ": strerror(errnum)" appended. */
int snap_err_sys(struct snap_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (adds context on the way up). */
int snap_err_prefix(struct snap_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Makes msg safe for a log line and a JSON string, in place: every control
 * character (C0, DEL, C1) and every byte outside a valid UTF-8 sequence
 * becomes '?'; valid UTF-8 (an artifact's non-ASCII name) is kept. */
void snap_err_sanitize(char *msg);

/* Length (1 to 4) of the valid UTF-8 sequence at s, within avail bytes,
 * when it is not a control character (C0, DEL, C1); 0 otherwise. */
size_t snap_utf8_len(const char *s, size_t avail);

#endif
