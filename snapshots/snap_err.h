/*
 * snap_err.h - the error buffer every snapshots/ function fills.
 *
 * Library code never logs and never exits: a function that fails returns -1
 * (or NULL) and leaves one lower-case sentence in the caller's buffer, subject
 * first ("snapshots/42.tar.zst: checksum mismatch").  Callers decide whether
 * to log it, print it or send it over HTTP.
 *
 * Beside the sentence, a code says what kind of failure it is, set where
 * the failure is found (snap_err_setc; snap_err_sys derives it from errno)
 * and kept as context is prefixed on the way up. Callers decide by the code,
 * never by the words: a secondary counts a refusal by it, and retries what
 * may be a concurrent write (snap_code_is_final). Text quoted from hostile
 * input cannot choose it.
 */
#ifndef SNAP_ERR_H
#define SNAP_ERR_H

#include <stdbool.h>
#include <stddef.h>

/* What went wrong, as a caller must tell it apart. Verdicts on bytes that
 * matched their record (final: the same bytes fail the same way) and
 * failures that may pass (a file still being written, a share that comes
 * back, a full disk freed) are kept apart. */
enum snap_code {
	SNAP_E_OTHER = 0,	/* none of the below (usage, internal) */
	SNAP_E_IO,		/* an I/O error: EIO, ESTALE, EACCES... */
	SNAP_E_NOMEM,		/* out of memory */
	SNAP_E_MISSING,		/* a file that should be there is not */
	SNAP_E_TRUNCATED,	/* shorter or longer than recorded */
	SNAP_E_CHECKSUM,	/* XXH128 differs from its record */
	SNAP_E_CHANGED,		/* the file changed between two reads */
	SNAP_E_NO_SPACE,	/* ENOSPC, EDQUOT */
	SNAP_E_MALFORMED,	/* does not parse, or breaks the schema */
	SNAP_E_HOSTILE,		/* an archive entry that is not a plain artifact */
	SNAP_E_INVALID,		/* an artifact publish would refuse (XML) */
	SNAP_E_TOO_LARGE,	/* over a size limit */
	SNAP_E_BLAKE2B,		/* XXH128 matches, the signed BLAKE2b does not */
	SNAP_E_UNSIGNED,	/* no signature file */
	SNAP_E_WRONG_KEY,	/* signed by another key */
	SNAP_E_BAD_SIGNATURE,	/* the signature does not verify */
	SNAP_E_WRONG_CLUSTER,	/* another cluster's state */
	SNAP_E_EXPIRED,		/* past its expiry, or none where one is due */
	SNAP_E_OLDER,		/* older than what is held, or below a floor */
	SNAP_E_STALE_EPOCH,	/* a deposed publisher's version (epoch.h) */
	SNAP_E_EPOCH_PENDING,	/* a new epoch's seal not known yet: wait */
	SNAP_E_COUNT,
};

struct snap_err {
	char msg[1024];
	enum snap_code code;
};

#define SNAP_ERR_INIT { { 0 }, SNAP_E_OTHER }

/* Formats into err->msg (NULL err is allowed and ignored), code
 * SNAP_E_OTHER. Returns -1 so that callers can write "return
 * snap_err_set(err, ...);". Every function here passes the result through
 * snap_err_sanitize(). */
int snap_err_set(struct snap_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* As snap_err_set, with the code given. */
int snap_err_setc(struct snap_err *err, enum snap_code code, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* As snap_err_set, with ": strerror(errnum)" appended and the code that
 * errnum means (ENOENT missing, ENOSPC/EDQUOT no space, ENOMEM, else I/O). */
int snap_err_sys(struct snap_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (adds context on the way up);
 * the code stays. */
int snap_err_prefix(struct snap_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Gives an existing message another code. Returns -1. */
int snap_err_recode(struct snap_err *err, enum snap_code code);

/* Whether a failure with this code is a verdict on bytes that matched
 * their record, so that reading the same bytes again would fail the same
 * way: malformed, hostile, invalid, too large, BLAKE2b. Everything else
 * may be a write in progress, a share that comes back or a disk freed. */
bool snap_code_is_final(enum snap_code code);

/* The code as a metrics reason ("checksum", "malformed", ...): lower
 * case, stable (operators alert on these). */
const char *snap_code_name(enum snap_code code);

/* Makes msg safe for a log line and a JSON string, in place: every control
 * character (C0, DEL, C1) and every byte outside a valid UTF-8 sequence
 * becomes '?'; valid UTF-8 (an artifact's non-ASCII name) is kept. */
void snap_err_sanitize(char *msg);

/* Length (1 to 4) of the valid UTF-8 sequence at s, within avail bytes,
 * when it is not a control character (C0, DEL, C1); 0 otherwise. */
size_t snap_utf8_len(const char *s, size_t avail);

#endif
