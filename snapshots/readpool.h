/*
 * readpool.h - a tree's artifacts read, hashed and validated on every
 * core: step 4 of a full publish (snap_tree.c), where validating costs
 * four fifths of the whole publish.
 *
 * Each artifact's outcome lands in its own slot, in the tree's order, and
 * the caller takes them in that order: what the publish does with them -
 * the report's lines, the manifest, the archive after it - is the same
 * byte for byte whatever the number of threads. Only the work is spread.
 *
 * Calling sequence (one thread calls; the workers are the pool's own,
 * started and joined within the call):
 *	res = calloc(cur->n, sizeof(*res));
 *	readpool_run(&job, res, &err);
 *	... res[i] for cur->entries[i] ...
 *	readpool_results_free(res, cur->n);
 * -1 with err only when the work could not be done at all (out of
 * memory, a validator or a thread that cannot be made); an unreadable or
 * invalid artifact is an outcome, not a failure.
 */
#ifndef READPOOL_H
#define READPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "hash.h"
#include "manifest.h"
#include "snap_err.h"
#include "xmlcheck.h"

#define READPOOL_THREADS_MAX 64

/* What to read, and how. */
struct readpool_job {
	int srcfd;			/* the source tree */
	const char *label;		/* its name in messages */
	const struct manifest *cur;	/* the artifacts, read in this order */
	/* The latest version, when its identities are known: an artifact
	 * it holds byte for byte is not validated again. NULL: none. */
	const struct manifest *prev;
	struct xmlcheck *xc;		/* the caller's; NULL: no validation */
	unsigned threads;		/* in all, the caller's included (>= 1) */
};

enum readpool_status {
	READPOOL_OK,		/* read, hashed, valid (or not checked) */
	READPOOL_UNREADABLE,	/* why: the read's error */
	READPOOL_INVALID,	/* why and line: the validator's */
	READPOOL_REUSED,	/* prev holds these bytes: identity is its */
};

struct readpool_result {
	enum readpool_status status;
	size_t len;
	char xxh128[HASH_HEX_LEN + 1];
	unsigned long line;
	char *identity;		/* owned; READPOOL_OK with a validator */
	char *why;		/* owned; UNREADABLE and INVALID */
};

/* The threads a machine gives a publish: its CPUs, at most 8 (a tree is
 * read from one disk). */
unsigned readpool_default_threads(void);

int readpool_run(const struct readpool_job *job, struct readpool_result *res,
    struct snap_err *err);
void readpool_results_free(struct readpool_result *res, size_t n);

#endif
