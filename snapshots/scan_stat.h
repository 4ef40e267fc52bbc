/*
 * scan_stat.h - one folder of a source tree listed, then stat'ed on
 * several threads. For a tree of 10,000 artifacts the kernel's path
 * lookups are most of what a cached one-shot publish costs (snap_cached.c:
 * it reads nothing else of the tree), and they spread over the cores.
 *
 * The list is in name order (bytewise), each entry's outcome in its own
 * slot: the scan (scan.c) goes through it in that order, so what it
 * reports and lists is the same whatever the number of threads and the
 * file system's readdir order. Hidden entries (a leading '.') are left
 * out, as the scan skips them.
 *
 * Calling sequence:
 *	struct scan_list l = SCAN_LIST_INIT;
 *	scan_list_read(dirfd, &l);	(-1 with errno: readdir's, ENOMEM)
 *	scan_list_stat(dirfd, &l, threads);
 *	... scan_list_name(&l, i), l.v[i] for i < l.n ...
 *	scan_list_free(&l);		(always; SCAN_LIST_INIT is safe)
 */
#ifndef SCAN_STAT_H
#define SCAN_STAT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Below this many entries a folder is stat'ed on the caller's thread:
 * starting threads would cost more than they save. */
#define SCAN_STAT_PARALLEL_MIN 256

struct scan_item {
	size_t name;		/* offset of its name in the list's names */
	int err;		/* 0, or why it cannot be looked at (errno) */
	bool link;		/* a symlink: st is its target's */
	struct stat st;		/* st_mode 0: a dangling symlink */
};

struct scan_list {
	char *names;		/* owned: the names, NUL-terminated */
	size_t nlen, ncap;
	struct scan_item *v;	/* owned */
	size_t n, cap;
};

#define SCAN_LIST_INIT { .names = NULL, .v = NULL }

/*
 * What dirfd/name is, a symlink followed once: *st describes the target
 * (st_mode 0 for a dangling link) and *link says there was one. -1 with
 * errno when the entry itself cannot be looked at.
 */
int scan_entry_stat(int dirfd, const char *name, struct stat *st, bool *link);

int scan_list_read(int dirfd, struct scan_list *l);
/* Every entry's scan_entry_stat() into its slot, on up to `threads`
 * threads (the caller's included); never fails: a thread that cannot be
 * started leaves its share to the others. */
void scan_list_stat(int dirfd, struct scan_list *l, unsigned threads);
const char *scan_list_name(const struct scan_list *l, size_t i);

/*
 * Several folders at once (a tree's type folders): each listed, one
 * folder per thread at a time, then the entries of all of them stat'ed
 * in one pass shared by the threads - not a start and a join of threads
 * per folder, with one core idle while each folder is listed. A folder
 * whose listing fails keeps its errno in err (and an empty list).
 */
struct scan_folder {
	int dirfd;		/* the caller's; -1: not opened (err) */
	struct scan_list l;
	int err;
};
void scan_folders_read_stat(struct scan_folder *f, size_t n,
    unsigned threads);
void scan_list_free(struct scan_list *l);	/* back to SCAN_LIST_INIT */

#endif
