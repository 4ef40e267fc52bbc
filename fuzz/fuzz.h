/*
 * fuzz.h - checks shared by the libFuzzer targets.
 *
 * Header-only, like tests/testutil.h: each fuzz/fuzz_*.c is linked alone
 * against the library objects.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Error messages go to logs (one line each) and into JSON answers (which
 * jansson refuses to build from invalid UTF-8): whatever hostile input made
 * them, they must be valid UTF-8 without control characters (C0, DEL, C1).
 * Aborts, showing the message escaped, when one is not.
 */
static inline void
fuzz_check_msg(const char *msg)
{
	const unsigned char *p = (const unsigned char *)msg;
	unsigned long cp;
	int n, i;

	if (*p == '\0') {
		fprintf(stderr, "refused without a message\n");
		abort();
	}
	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				goto bad;
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1, cp = *p & 0x1f;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2, cp = *p & 0x0f;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3, cp = *p & 0x07;
		else
			goto bad;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* Overlong, surrogate, past U+10FFFF, or a C1 control. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
		    (cp >= 0x80 && cp <= 0x9f))
			goto bad;
		p += n + 1;
	}
	return;
bad:
	fprintf(stderr, "error message with a control byte or bad UTF-8 at "
	    "offset %zu: ", (size_t)(p - (const unsigned char *)msg));
	for (p = (const unsigned char *)msg; *p != '\0'; p++)
		fprintf(stderr, *p >= 0x20 && *p < 0x7f ? "%c" : "\\x%02x", *p);
	fprintf(stderr, "\n");
	abort();
}

#endif
