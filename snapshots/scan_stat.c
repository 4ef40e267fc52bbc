/*
 * scan_stat.c - a folder listed, then stat'ed on several threads
 * (scan_stat.h). Workers take the next chunk of indexes from one atomic
 * counter and write only their own slots; the joins publish the slots to
 * the caller, as in readpool.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "scan_stat.h"
#include "thread.h"

/* Indexes a worker takes at a time: one atomic add per 32 stats. */
#define CHUNK 32
#define THREADS_MAX 8

int
scan_entry_stat(int dirfd, const char *name, struct stat *st, bool *link)
{
	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	*link = S_ISLNK(st->st_mode);
	if (*link && fstatat(dirfd, name, st, 0) == -1)
		st->st_mode = 0;
	return 0;
}

/* name appended to l; -1 when out of memory. */
static int
add_name(struct scan_list *l, const char *name)
{
	size_t len = strlen(name) + 1, ncap;
	void *p;

	if (l->n == l->cap) {
		ncap = l->cap ? l->cap * 2 : 64;
		if ((p = realloc(l->v, ncap * sizeof(*l->v))) == NULL)
			return -1;
		l->v = p;
		l->cap = ncap;
	}
	if (l->nlen + len > l->ncap) {
		for (ncap = l->ncap ? l->ncap : 1024; ncap < l->nlen + len;)
			ncap *= 2;
		if ((p = realloc(l->names, ncap)) == NULL)
			return -1;
		l->names = p;
		l->ncap = ncap;
	}
	memcpy(l->names + l->nlen, name, len);
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	l->v[l->n++].name = l->nlen;
	l->nlen += len;
	return 0;
}

static int
item_cmp(const void *a, const void *b, void *names)
{
	const struct scan_item *x = a, *y = b;

	return strcmp((const char *)names + x->name,
	    (const char *)names + y->name);
}

int
scan_list_read(int dirfd, struct scan_list *l)
{
	struct dirent *de;
	DIR *d;
	int saved;

	if ((d = fsu_opendir_dup(dirfd)) == NULL)
		return -1;
	while ((errno = 0, de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && add_name(l, de->d_name) == -1) {
			errno = ENOMEM;
			break;
		}
	saved = errno;
	closedir(d);
	/* In name order, not the file system's: a folder's artifacts reach
	 * the scan sorted, on the thread that listed them, and the tree's
	 * artifacts need no sort of 10,000 names afterwards (snap_scanned.c
	 * only buckets them by type). */
	if (saved == 0 && l->n > 1)
		qsort_r(l->v, l->n, sizeof(*l->v), item_cmp, l->names);
	errno = saved;
	return saved != 0 ? -1 : 0;
}

const char *
scan_list_name(const struct scan_list *l, size_t i)
{
	return l->names + l->v[i].name;
}

struct stat_worker {
	int dirfd;
	struct scan_list *l;
	size_t *next;		/* shared: the next index to take */
	pthread_t thread;
	bool started;
};

static void *
stat_work(void *arg)
{
	struct stat_worker *w = arg;
	struct scan_item *it;
	size_t i, end;

	while ((i = __atomic_fetch_add(w->next, CHUNK, __ATOMIC_RELAXED)) <
	    w->l->n) {
		end = i + CHUNK < w->l->n ? i + CHUNK : w->l->n;
		for (; i < end; i++) {
			it = &w->l->v[i];
			if (scan_entry_stat(w->dirfd, scan_list_name(w->l, i),
			    &it->st, &it->link) == -1)
				it->err = errno != 0 ? errno : EIO;
		}
	}
	return NULL;
}

void
scan_list_stat(int dirfd, struct scan_list *l, unsigned threads)
{
	struct stat_worker w[THREADS_MAX];
	size_t next = 0;
	unsigned i, n;

	n = l->n < SCAN_STAT_PARALLEL_MIN || threads < 1 ? 1 :
	    threads > THREADS_MAX ? THREADS_MAX : threads;
	for (i = 0; i < n; i++)
		w[i] = (struct stat_worker){ .dirfd = dirfd, .l = l,
		    .next = &next };
	for (i = 1; i < n; i++)
		w[i].started = thread_start_nosig(&w[i].thread, stat_work,
		    &w[i]) == 0;
	stat_work(&w[0]);
	for (i = 1; i < n; i++)
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
}

/* Several folders' work, on threads: phase 1 takes folders, phase 2 takes
 * CHUNKs of the entries of all of them, numbered in folder order. */
struct folders_work {
	struct scan_folder *f;
	size_t n;
	size_t total;		/* phase 2: entries of all folders */
	size_t next;		/* shared: the next folder or entry */
	int phase;
};

static void
folders_list(struct folders_work *fw)
{
	struct scan_folder *f;
	size_t i;

	while ((i = __atomic_fetch_add(&fw->next, 1, __ATOMIC_RELAXED)) <
	    fw->n) {
		f = &fw->f[i];
		if (f->dirfd == -1)
			continue;	/* not opened: err says why */
		if (scan_list_read(f->dirfd, &f->l) == -1) {
			f->err = errno != 0 ? errno : EIO;
			scan_list_free(&f->l);
		}
	}
}

static void
folders_stat(struct folders_work *fw)
{
	struct scan_folder *f;
	struct scan_item *it;
	size_t i, end, k, base;

	while ((i = __atomic_fetch_add(&fw->next, CHUNK, __ATOMIC_RELAXED)) <
	    fw->total) {
		end = i + CHUNK < fw->total ? i + CHUNK : fw->total;
		for (k = 0, base = 0; i < end; i++) {
			while (i >= base + fw->f[k].l.n)	/* i's folder */
				base += fw->f[k++].l.n;
			f = &fw->f[k];
			it = &f->l.v[i - base];
			if (scan_entry_stat(f->dirfd, scan_list_name(&f->l,
			    i - base), &it->st, &it->link) == -1)
				it->err = errno != 0 ? errno : EIO;
		}
	}
}

static void *
folders_work(void *arg)
{
	struct folders_work *fw = arg;

	if (fw->phase == 1)
		folders_list(fw);
	else
		folders_stat(fw);
	return NULL;
}

/* fw's phase on n threads, the caller's included. */
static void
run_phase(struct folders_work *fw, unsigned n)
{
	pthread_t t[THREADS_MAX];
	bool started[THREADS_MAX] = { false };
	unsigned i;

	fw->next = 0;
	for (i = 1; i < n; i++)
		started[i] = thread_start_nosig(&t[i], folders_work, fw) == 0;
	folders_work(fw);
	for (i = 1; i < n; i++)
		if (started[i])
			pthread_join(t[i], NULL);
}

void
scan_folders_read_stat(struct scan_folder *f, size_t n, unsigned threads)
{
	struct folders_work fw = { .f = f, .n = n, .phase = 1 };
	unsigned t = threads < 1 ? 1 : threads > THREADS_MAX ? THREADS_MAX :
	    threads;
	size_t i;

	run_phase(&fw, n < t ? (unsigned)(n > 0 ? n : 1) : t);
	for (i = 0; i < n; i++)
		fw.total += f[i].l.n;
	fw.phase = 2;
	run_phase(&fw, fw.total < SCAN_STAT_PARALLEL_MIN ? 1 : t);
}

void
scan_list_free(struct scan_list *l)
{
	free(l->names);
	free(l->v);
	*l = (struct scan_list)SCAN_LIST_INIT;
}
