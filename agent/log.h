/*
 * log.h - the agent's one log style.
 *
 * Lower-case, subject first, no period: "snapshots/42.tar.zst: checksum
 * mismatch". A message may carry facts as named fields (version, release,
 * artifact, reason) for machines; people read the message, which says the
 * same in words. Where a line goes:
 *
 *	journald	when JOURNAL_STREAM names the very file our stderr is
 *			(systemd's documented test: its "DEVICE:INODE" against
 *			fstat(2) of fd 2), each message is sent to the journal
 *			with sd_journal_sendv(): MESSAGE, PRIORITY and each
 *			field as ARTSYNC_<KEY>; if that fails, the line goes
 *			to stderr with a "<N>" priority prefix, which journald
 *			reads off a stream;
 *	stderr, text	"2026-11-28T10:00:00.123Z artsync info: message";
 *	stderr, json	one JSON object a line: "time" (RFC 3339, UTC, ms),
 *			"level", "message", then the fields.
 *
 * Calling sequence: log_init() once the level and format are known (main,
 * after the flags), then log_*() from anywhere in the one thread that
 * logs. Before log_init() lines go to stderr as text at level info.
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_format {
	LOG_FORMAT_TEXT,
	LOG_FORMAT_JSON,
};

/* One fact of a message. key is lower-case [a-z_]; the value is str, or
 * num when str is NULL. A list ends with a NULL key. */
struct log_field {
	const char *key;
	const char *str;
	int64_t num;
};

#define LOG_STR(k, v)	{ .key = (k), .str = (v) }
#define LOG_INT(k, v)	{ .key = (k), .num = (int64_t)(v) }
/* A field list for log_fields(): LOG_FIELDS(LOG_INT("version", v), ...). */
#define LOG_FIELDS(...) \
	((const struct log_field[]){ __VA_ARGS__, { .key = NULL } })

void log_init(enum log_level level, enum log_format format);
/* "error", "warn", "info", "debug"; -1 if none of them. */
int log_level_parse(const char *s);
/* "text", "json"; -1 if neither. */
int log_format_parse(const char *s);
/* The names those parse. */
const char *log_level_name(enum log_level level);
const char *log_format_name(enum log_format format);

/*
 * As OpenBSD ntpd's: log_error() and log_warn() append ": " and
 * strerror(errno), errno as it was on entry, so that a caller never
 * formats errno by hand; log_errorx() and log_warnx() append nothing.
 * Every log_*() leaves errno as it found it.
 */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A message with facts (fields may be NULL: none). */
void log_fields(enum log_level level, const struct log_field *fields,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The JSON line of a message, without its newline: {"time":..., "level":...,
 * "message":..., fields...}, in that order. when_ms is the wall clock in ms
 * since the epoch. Text is passed through snap_err_sanitize() first (no
 * control byte, valid UTF-8), so that the line is one line and valid JSON;
 * a field named like one of the first three, or past the eighth, is
 * dropped. Returns a string the caller frees, or NULL (out of memory).
 * Public for its test.
 */
char *log_json_line(int64_t when_ms, enum log_level level, const char *msg,
    const struct log_field *fields);

#endif
