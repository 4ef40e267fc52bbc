/*
 * snap_scanned.h - what a one-shot publish's scan saw of the source tree
 * (snap_cached.c): each artifact's type, name and stat, and what that
 * says against the publish cache (pcache.h). Internal to snapshots/.
 *
 * Calling sequence:
 *	struct scanned s = SCANNED_INIT;
 *	scanned_begin(srcfd, &s);		when the scan starts
 *	scan_tree_observed(..., { scanned_observe, &s, ... });
 *	scanned_sort(&s);			the scan is over
 *	scanned_changes(cache, &s, ...);	what to read again
 *	scanned_stats_for(cache, &s);		the stats the next cache keeps
 *	scanned_free(&s);			always
 * Each returns 0, or -1 on out of memory (scanned_sort: a name listed
 * twice; scanned_begin: labels.conf cannot be looked at).
 */
#ifndef SNAP_SCANNED_H
#define SNAP_SCANNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "pcache.h"
#include "snap_int.h"

/* One artifact as the scan saw it. */
struct seen {
	int type;
	size_t at;			/* its name in scanned.names */
	const char *name;		/* set by scanned_sort() */
	struct pcache_stat st;
};

/* What the scan saw; nomem when an artifact could not be recorded. The
 * names share one buffer: 10,000 strdup()s and free()s were a tenth of a
 * one-shot publish's own work. */
struct scanned {
	struct seen *v;
	size_t n, cap;
	char *names;
	size_t nlen, ncap;
	bool nomem;
	int64_t scan_ns;
	struct pcache_stat labels;	/* labels.conf, or SCANNED_NO_LABELS */
};

#define SCANNED_INIT { .v = NULL }

/* labels.conf's stat when there is none. */
extern const struct pcache_stat SCANNED_NO_LABELS;

int scanned_begin(int srcfd, struct scanned *s);
/* A scan_observer's fn: arg is the struct scanned. Out of memory sets
 * s->nomem (what was seen is then not all there was). */
void scanned_observe(void *arg, int type, const char *name,
    const struct stat *st);
int scanned_sort(struct scanned *s);
void scanned_free(struct scanned *s);

/* Whether labels.conf is as the cache saw it (both absent included). */
bool scanned_labels_clean(const struct pcache_stat *had,
    const struct pcache_stat *now);
/* Every artifact whose stat differs from c's, or that only one of them
 * has, into *out (*n of them; free() it): the paths to read. */
int scanned_changes(const struct pcache *c, const struct scanned *s,
    struct snap_change **out, size_t *n);
/* The stat the scan saw of each of c->m's artifacts, settled against
 * racy cleanliness, into a new c->st (none seen: all zero, read it next
 * time). */
int scanned_stats_for(struct pcache *c, const struct scanned *s);

#endif
