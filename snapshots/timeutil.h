/*
 * timeutil.h - wall-clock seconds and their one text form, RFC 3339 UTC.
 *
 * Every time artsync writes (manifest and state fields, logs an operator
 * reads, webhook bodies) is whole seconds since the epoch, printed as
 * "2026-11-24T19:40:00Z" and parsed back from exactly that shape. The
 * names keep the fsu_ prefix they had in fsutil.h, which still includes
 * this header for its old callers.
 *
 * Calling sequence: fsu_now() for "now"; fsu_rfc3339() to print any time;
 * fsu_parse_rfc3339() on untrusted text. Errors: only the parser fails (-1,
 * *t untouched); the others cannot. fsu_mono_us() is the one clock for
 * durations below a millisecond (a publish's or an apply's stages): it
 * never goes back, so its differences are never negative.
 */
#ifndef TIMEUTIL_H
#define TIMEUTIL_H

#include <stdint.h>

/* Wall-clock time now, in seconds since the epoch. */
int64_t fsu_now(void);

/* CLOCK_MONOTONIC in microseconds: for durations only (its zero is
 * arbitrary); never 0 on Linux, so 0 can mean "not reached". */
int64_t fsu_mono_us(void);

/* t as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into out, NUL-terminated. */
void fsu_rfc3339(int64_t t, char out[32]);

/* Parses exactly what fsu_rfc3339() prints (years 1000 to 9999, real dates
 * only): 0 with *t set, or -1 if s is anything else. */
int fsu_parse_rfc3339(const char *s, int64_t *t);

#endif
