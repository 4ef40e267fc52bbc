/*
 * log.h - the agent's one log style.
 *
 * Lower-case, subject first, no period: "snapshots/42.tar.zst: checksum
 * mismatch". Lines go to stderr; under systemd (JOURNAL_STREAM set) each line
 * carries a "<N>" priority prefix that journald understands, so levels
 * survive without a second logging path.
 */
#ifndef LOG_H
#define LOG_H

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void log_init(enum log_level level);
/* "error", "warn", "info", "debug"; -1 if none of them. */
int log_level_parse(const char *s);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
