/*
 * log.c - leveled logging to stderr, journald-aware (see log.h).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static enum log_level max_level = LOG_LEVEL_INFO;
static bool journal;

void
log_init(enum log_level level)
{
	max_level = level;
	journal = getenv("JOURNAL_STREAM") != NULL;
}

int
log_level_parse(const char *s)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static void
vlog(enum log_level level, const char *fmt, va_list ap)
{
	/* syslog priorities for journald's "<N>" prefix. */
	static const int prio[] = { 3, 4, 6, 7 };
	static const char *const tag[] = { "error", "warn", "info", "debug" };
	char line[2048], when[32];
	struct timespec ts;
	struct tm tm;

	if (level > max_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (journal) {
		fprintf(stderr, "<%d>%s\n", prio[level], line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ artsync %s: %s\n", when,
	    ts.tv_nsec / 1000000, tag[level], line);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARN, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_DEBUG, fmt, ap);
	va_end(ap);
}
