/*
 * log.c - leveled logging to stderr (text or JSON lines) or to journald
 * with fields (see log.h). errno is saved on entry and put back on the
 * way out: logging between a failed call and its caller's errno check
 * changes nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "snap_err.h"

#define LOG_LINE_MAX 2048	/* a message longer than this is cut */
#define LOG_FIELDS_MAX 8

static enum log_level max_level = LOG_LEVEL_INFO;
static enum log_format format = LOG_FORMAT_TEXT;
static bool journal;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const char *const format_names[] = { "text", "json" };

/*
 * Whether stderr is the stream systemd connected to journald: the
 * JOURNAL_STREAM it set names the device and inode of that stream, and a
 * stderr redirected since (by a shell, a test, a child's caller) no longer
 * has them. An inherited JOURNAL_STREAM alone proves nothing.
 */
static bool
stderr_is_journal(void)
{
	const char *s = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	int n = 0;

	if (s == NULL || sscanf(s, "%ju:%ju%n", &dev, &ino, &n) != 2 ||
	    s[n] != '\0' || fstat(STDERR_FILENO, &st) == -1)
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

void
log_init(enum log_level level, enum log_format fmt)
{
	max_level = level;
	format = fmt;
	journal = stderr_is_journal();
}

static int
parse_name(const char *s, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

int
log_level_parse(const char *s)
{
	return parse_name(s, level_names,
	    sizeof(level_names) / sizeof(level_names[0]));
}

int
log_format_parse(const char *s)
{
	return parse_name(s, format_names,
	    sizeof(format_names) / sizeof(format_names[0]));
}

const char *
log_level_name(enum log_level level)
{
	return level_names[level];
}

const char *
log_format_name(enum log_format fmt)
{
	return format_names[fmt];
}

/* "2026-11-28T10:00:00.123Z" */
static void
time_ms(int64_t when_ms, char out[32])
{
	time_t t = (time_t)(when_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + strlen(out), 8, ".%03dZ", (int)(when_ms % 1000));
}

/* A sanitized copy of s as a JSON string, or NULL. */
static json_t *
clean_string(const char *s)
{
	char buf[LOG_LINE_MAX];

	snprintf(buf, sizeof(buf), "%s", s);
	snap_err_sanitize(buf);
	return json_string(buf);
}

static bool
is_reserved(const char *key)
{
	return !strcmp(key, "time") || !strcmp(key, "level") ||
	    !strcmp(key, "message");
}

char *
log_json_line(int64_t when_ms, enum log_level level, const char *msg,
    const struct log_field *fields)
{
	json_t *o = json_object(), *v;
	char when[32];
	char *line = NULL;
	size_t i;

	if (o == NULL)
		return NULL;
	time_ms(when_ms, when);
	if (json_object_set_new(o, "time", json_string(when)) == -1 ||
	    json_object_set_new(o, "level", json_string(level_names[level])) ==
	    -1 || json_object_set_new(o, "message", clean_string(msg)) == -1)
		goto out;
	for (i = 0; fields != NULL && fields[i].key != NULL &&
	    i < LOG_FIELDS_MAX; i++) {
		if (is_reserved(fields[i].key))
			continue;
		v = fields[i].str != NULL ? clean_string(fields[i].str) :
		    json_integer((json_int_t)fields[i].num);
		if (json_object_set_new(o, fields[i].key, v) == -1)
			goto out;
	}
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(o);
	return line;
}

/* journald's socket for native entries (sd_journal_sendv's). */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/*
 * To journald: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and each field as
 * ARTSYNC_<KEY>. 0, or -1 if the journal would not take it - also when its
 * socket is not there, where sd_journal_sendv() drops the entry and says 0.
 */
static int
to_journal(int prio, const char *msg, const struct log_field *fields)
{
	struct iovec iov[3 + LOG_FIELDS_MAX];
	char text[3 + LOG_FIELDS_MAX][LOG_LINE_MAX + 32];
	size_t i, j, n = 0;

	if (access(JOURNAL_SOCKET, F_OK) == -1)
		return -1;
	snprintf(text[n++], sizeof(text[0]), "MESSAGE=%s", msg);
	snprintf(text[n++], sizeof(text[0]), "PRIORITY=%d", prio);
	snprintf(text[n++], sizeof(text[0]), "SYSLOG_IDENTIFIER=artsync");
	for (i = 0; fields != NULL && fields[i].key != NULL &&
	    i < LOG_FIELDS_MAX; i++, n++) {
		char *p;

		snprintf(text[n], 64, "ARTSYNC_%s", fields[i].key);
		p = text[n] + strlen(text[n]);
		for (j = 8; text[n][j] != '\0'; j++)
			text[n][j] = (char)toupper((unsigned char)text[n][j]);
		if (fields[i].str != NULL)
			snprintf(p, sizeof(text[0]) - (size_t)(p - text[n]), "=%s",
			    fields[i].str);
		else
			snprintf(p, sizeof(text[0]) - (size_t)(p - text[n]),
			    "=%" PRId64, fields[i].num);
	}
	for (i = 0; i < n; i++)
		iov[i] = (struct iovec){ .iov_base = text[i],
		    .iov_len = strlen(text[i]) };
	return sd_journal_sendv(iov, (int)n) < 0 ? -1 : 0;
}

/* No errno to append (vlog's errnum). */
#define NO_ERRNO -1

/* Formats and writes one message; errnum, unless NO_ERRNO, is appended
 * as ": strerror(errnum)". */
static void
vlog(enum log_level level, const struct log_field *fields, int errnum,
    const char *fmt, va_list ap)
{
	/* syslog priorities, for journald. */
	static const int prio[] = { 3, 4, 6, 7 };
	char line[LOG_LINE_MAX], when[32];
	struct timespec ts;
	int64_t now;
	size_t n;
	char *json;

	if (level > max_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (errnum != NO_ERRNO && (n = strlen(line)) < sizeof(line) - 1)
		snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
	if (journal) {
		if (to_journal(prio[level], line, fields) == 0)
			return;
		/* No journal socket (yet): the stream reads the prefix. */
		fprintf(stderr, "<%d>%s\n", prio[level], line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (format == LOG_FORMAT_JSON &&
	    (json = log_json_line(now, level, line, fields)) != NULL) {
		fprintf(stderr, "%s\n", json);
		free(json);
		return;
	}
	time_ms(now, when);
	fprintf(stderr, "%s artsync %s: %s\n", when, level_names[level], line);
}

/* The body of every log_*(): errno saved first (and appended when
 * with_errno), put back last. fmt is the function's last named one. */
#define LOG_BODY(level, fields, with_errno, fmt) do {			\
	int saved_errno = errno;					\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	vlog((level), (fields), (with_errno) ? saved_errno : NO_ERRNO,	\
	    (fmt), ap);							\
	va_end(ap);							\
	errno = saved_errno;						\
} while (0)

void
log_fields(enum log_level level, const struct log_field *fields,
    const char *fmt, ...)
{
	LOG_BODY(level, fields, false, fmt);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL, true, fmt);
}

void
log_errorx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL, false, fmt);
}

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, NULL, true, fmt);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, NULL, false, fmt);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL, false, fmt);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, NULL, false, fmt);
}
