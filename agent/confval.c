/*
 * confval.c - value parsers shared by the settings files (see confval.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "confval.h"

int
conf_uint(unsigned *dst, const char *key, const char *value, unsigned min,
    unsigned max, struct snap_err *err)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || value[0] == '-' ||
	    v < min || v > max)
		return snap_err_set(err, "%s: '%s' is not a whole number from %u "
		    "to %u", key, value, min, max);
	*dst = (unsigned)v;
	return 0;
}
