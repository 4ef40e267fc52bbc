/*
 * scan.h - list the artifacts of a source tree: a WSO2 synapse-configs
 * directory as it ships.
 *
 * What is published is what WSO2 deploys (Synapse's
 * MultiXMLConfigurationBuilder): every NAME.xml in a type folder
 * (names.h), every *.xml at the top (synapse.xml, registry.xml, ...), and
 * the type folders themselves, empty ones included. A symlink to a regular
 * file counts as that file, as WSO2 reads it. labels.conf at the top is
 * read by the publisher (labels.h), not published.
 *
 * What WSO2 ignores is skipped with a warning, never a failed publish: a
 * file not ending in ".xml" (empty.txt placeholders, READMEs, editor
 * backups such as x.xml~, x.xml.bak, x.xml.swp), a folder that is not a
 * type folder, a folder nested in a type folder, a symlink to anything but
 * a regular file, a FIFO, socket or device. Hidden entries (a leading '.':
 * .git, editors' and rsync's temp files) are skipped without a word.
 *
 * What is published but cannot be, fails the publish: a *.xml with a name
 * artsync cannot carry safely (names.h), a file larger than
 * ARTIFACT_MAX_BYTES. Every such problem is listed (report.h), not just the
 * first.
 */
#ifndef SCAN_H
#define SCAN_H

#include <stdbool.h>
#include <sys/stat.h>

#include "manifest.h"
#include "report.h"
#include "snap_err.h"

/*
 * Fills `out` (empty, from manifest_new()) with one entry per artifact under
 * the directory srcfd - type, name and size; xxh128 is left empty - and
 * out->folders with the type folders found. The result is sorted. Problems
 * and warnings go to rep, paths named as LABEL/PATH; the scan goes on after
 * a problem. -1 with err only when the tree cannot be listed at all (I/O,
 * out of memory); with rep NULL, a problem fails it too.
 */
int scan_tree(int srcfd, const char *label, struct manifest *out,
    struct report *rep, struct snap_err *err);

/* scan_tree() that also tells obs->fn what stat(2) said of each artifact
 * it lists (of a symlink's target), as it lists it: the publish cache's
 * stat data (pcache.h), taken before the file is read. */
struct scan_observer {
	void (*fn)(void *arg, int type, const char *name, const struct stat *st);
	void *arg;
	/* Threads that stat a large folder's entries (scan_stat.h), the
	 * caller's included; 0 or 1: the caller's alone. fn is called on
	 * the caller's thread, in the same order whatever the number. */
	unsigned threads;
	/* fn is all the caller needs: `out` gets the folders found, no
	 * entry (a one-shot publish's cached scan keeps its own list; 10,000
	 * entries built, sorted and freed for nothing were a quarter of its
	 * instructions). The caller then checks for a name listed twice. */
	bool only;
};
int scan_tree_observed(int srcfd, const char *label, struct manifest *out,
    struct report *rep, const struct scan_observer *obs, struct snap_err *err);

/*
 * Checks the one artifact type/name below srcfd as scan_tree() would:
 * *exists is false when it is not there or is skipped (a warning in rep);
 * otherwise it is a regular file, or a symlink to one, within the size
 * limit. 0, or -1 with err (the problem).
 */
int scan_one(int srcfd, const char *label, int type, const char *name,
    bool *exists, struct report *rep, struct snap_err *err);

#endif
