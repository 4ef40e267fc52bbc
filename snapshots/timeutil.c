/*
 * timeutil.c - wall-clock seconds and RFC 3339 UTC, and the monotonic
 * microseconds stages are timed with (see timeutil.h).
 *
 * The parser is strict and hand-written: strptime() and timegm() forgive
 * blanks, short fields, Feb 31 and second 60, and cost a measurable share
 * of reading a manifest, where every line holds a time.
 */
#include <time.h>

#include "timeutil.h"

int64_t
fsu_now(void)
{
	return (int64_t)time(NULL);
}

int64_t
fsu_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
fsu_rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The number in s[0..n), all digits (checked by the caller). */
static int
digits(const char *s, int n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's
 * days_from_civil: March-based years put the leap day last). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/*
 * Exactly what fsu_rfc3339() prints (years 1000 to 9999), and only real
 * dates: no blanks, no short fields, no Feb 31 or second 60 (strptime
 * and timegm forgive all of those). Every manifest line holds a time:
 * strptime, and the round trip through strftime that made it strict,
 * were 6% of reading one.
 */
int
fsu_parse_rfc3339(const char *s, int64_t *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	static const int month_days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	int y, mo, d, h, mi, sec;
	size_t i;

	/* Stops at the first mismatch: never reads past a short string. */
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' :
		    s[i] != shape[i])
			return -1;
	if (s[i] != '\0')
		return -1;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	/* Below 1000, strftime's %Y has fewer than four digits. */
	if (y < 1000 || mo < 1 || mo > 12 || d < 1 ||
	    d > month_days[mo - 1] || (mo == 2 && d == 29 && (y % 4 != 0 ||
	    (y % 100 == 0 && y % 400 != 0))) || h > 23 || mi > 59 || sec > 59)
		return -1;
	*t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return 0;
}
