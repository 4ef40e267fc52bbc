/*
 * report.h - every problem of a tree, not just the first.
 *
 * A publish that stops at the first bad artifact makes an operator with six
 * problems run it seven times. Checks that can go on after a problem (the
 * scan, the XML checks) add a line here instead of failing, and the caller
 * fails once at the end, naming them all. Warnings (what is skipped, as
 * WSO2 skips it) are kept apart from errors.
 *
 * Calling sequence:
 *	struct report r = REPORT_INIT;
 *	report_add(&r, REPORT_ERROR, "src/api/a.xml", 12, "root element ...");
 *	...
 *	report_sort(&r);		errors and warnings each by path, line
 *	for (i = 0; i < r.n; i++) print r.v[i].text;
 *	report_free(&r);
 * Lines read "PATH:LINE: REASON" (":LINE" when line > 0). Out of memory
 * drops a line but is remembered (r.lost): an operator is told that more
 * was wrong than the list shows. Not thread-safe.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>

#include "snap_err.h"

enum report_kind {
	REPORT_ERROR,		/* the tree cannot be published */
	REPORT_WARNING,		/* skipped, the publish goes on */
};

struct report_line {
	enum report_kind kind;
	char *path;		/* owned */
	unsigned long line;	/* 0: not known */
	char *text;		/* owned: the whole line, as printed */
};

struct report {
	struct report_line *v;
	size_t n, cap;
	size_t nerrors;
	size_t lost;		/* lines dropped for want of memory */
};

#define REPORT_INIT { .v = NULL, .n = 0, .cap = 0, .nerrors = 0, .lost = 0 }

/* Adds a line. r may be NULL (nothing kept). Never fails: see above. */
void report_add(struct report *r, enum report_kind kind, const char *path,
    unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Appends every line of from to to (NULL: nothing), as it is. */
void report_copy(const struct report *from, struct report *to);

/* Errors first, then warnings; each by path, then line. */
void report_sort(struct report *r);

/* Sets err to one sentence summing up r's errors ("3 problems in SRC: ..."
 * with the first one quoted) and returns -1. */
int report_fail(const struct report *r, const char *label,
    struct snap_err *err);

void report_free(struct report *r);	/* back to REPORT_INIT */

#endif
