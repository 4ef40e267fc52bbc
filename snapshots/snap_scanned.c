/*
 * snap_scanned.c - what a one-shot publish's scan saw (snap_scanned.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labels.h"
#include "snap_scanned.h"

/* labels.conf's stat when there is none: no file has it (all zero is a
 * racily clean one). */
const struct pcache_stat SCANNED_NO_LABELS = { .size = UINT64_MAX };

/* Room for one more seen and len more name bytes; false on no memory. */
static bool
scanned_grow(struct scanned *s, size_t len)
{
	size_t ncap;
	void *p;

	if (s->n == s->cap) {
		ncap = s->cap ? s->cap * 2 : 256;
		if ((p = realloc(s->v, ncap * sizeof(*s->v))) == NULL)
			return false;
		s->v = p;
		s->cap = ncap;
	}
	if (s->nlen + len > s->ncap) {
		for (ncap = s->ncap ? s->ncap : 8192; ncap < s->nlen + len;)
			ncap *= 2;
		if ((p = realloc(s->names, ncap)) == NULL)
			return false;
		s->names = p;
		s->ncap = ncap;
	}
	return true;
}

void
scanned_observe(void *arg, int type, const char *name, const struct stat *st)
{
	struct scanned *s = arg;
	size_t len = strlen(name) + 1;

	if (s->nomem)
		return;
	if (!scanned_grow(s, len)) {
		s->nomem = true;
		return;
	}
	memcpy(s->names + s->nlen, name, len);
	s->v[s->n].at = s->nlen;
	s->nlen += len;
	s->v[s->n].type = type;
	pcache_stat_of(st, &s->v[s->n].st);
	s->n++;
}

static int
seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* A seen artifact against a manifest entry, in the manifest's order. */
static int
seen_vs_entry(const struct seen *x, const struct manifest_entry *e)
{
	if (x->type != e->type)
		return x->type < e->type ? -1 : 1;
	return strcmp(x->name, e->name);
}

/* s->v in type order, each type's entries in the order they came
 * (a counting sort: stable, one pass); -1 on no memory. */
static int
bucket_by_type(struct scanned *s)
{
	size_t at[ARTIFACT_TYPES_MAX + 1] = { 0 }, i, t;
	struct seen *out;

	for (i = 0; i < s->n; i++)
		at[s->v[i].type + 1]++;
	for (t = 1; t <= ARTIFACT_TYPES_MAX; t++)
		at[t] += at[t - 1];
	if ((out = malloc(s->n * sizeof(*out))) == NULL)
		return -1;
	for (i = 0; i < s->n; i++)
		out[at[s->v[i].type]++] = s->v[i];
	free(s->v);
	s->v = out;
	s->cap = s->n;
	return 0;
}

/* The scan is over (the names buffer moves no more): names pointed at,
 * the list sorted as a manifest is; -1 when a name is listed twice or
 * out of memory. The scan lists each folder in name order (scan_stat.h),
 * so bucketing by type is all a tree needs: the sort is a fallback. */
int
scanned_sort(struct scanned *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		s->v[i].name = s->names + s->v[i].at;
	if (s->n < 2)		/* s->v is NULL when empty */
		return 0;
	if (bucket_by_type(s) == -1)
		return -1;
	for (i = 1; i < s->n; i++)
		if (seen_cmp(&s->v[i - 1], &s->v[i]) >= 0)
			break;
	if (i < s->n)
		qsort(s->v, s->n, sizeof(*s->v), seen_cmp);
	for (i = 1; i < s->n; i++)
		if (seen_cmp(&s->v[i - 1], &s->v[i]) == 0)
			return -1;
	return 0;
}

/* Back to empty; nomem stays (what was seen is not all there was). */
void
scanned_free(struct scanned *s)
{
	free(s->v);
	free(s->names);
	s->v = NULL;
	s->names = NULL;
	s->n = s->cap = s->nlen = s->ncap = 0;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* What a scan records before it lists anything: when it starts, and
 * labels.conf's stat; -1 when that cannot be looked at. */
int
scanned_begin(int srcfd, struct scanned *s)
{
	struct stat st;

	s->scan_ns = now_ns();
	s->labels = SCANNED_NO_LABELS;
	if (fstatat(srcfd, LABELS_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0)
		pcache_stat_of(&st, &s->labels);
	else if (errno != ENOENT)
		return -1;
	return 0;
}

/* Whether labels.conf is as the cache saw it (both absent included). */
bool
scanned_labels_clean(const struct pcache_stat *had, const struct pcache_stat *now)
{
	if (memcmp(now, &SCANNED_NO_LABELS, sizeof(*now)) == 0)
		return memcmp(had, &SCANNED_NO_LABELS, sizeof(*had)) == 0;
	return pcache_is_clean(had, now);
}

static int
add_change(struct snap_change **v, size_t *n, int type, const char *name)
{
	struct snap_change *nv;

	if ((*n & (*n - 1)) == 0 || *n == 0) {	/* a power of two: grow */
		if ((nv = realloc(*v, (*n ? *n * 2 : 16) * sizeof(*nv))) == NULL)
			return -1;
		*v = nv;
	}
	(*v)[*n].type = type;
	snprintf((*v)[*n].name, sizeof((*v)[*n].name), "%s", name);
	(*n)++;
	return 0;
}

/* Every artifact whose stat differs from c's, or that only one of them
 * has: the paths the incremental publish reads. -1 when out of memory. */
int
scanned_changes(const struct pcache *c, const struct scanned *s,
    struct snap_change **out, size_t *n)
{
	const struct manifest *m = c->m;
	size_t i = 0, j = 0;
	int cmp, rc = 0;

	*out = NULL;
	*n = 0;
	while (rc == 0 && (i < s->n || j < m->n)) {
		if (i == s->n)
			cmp = 1;
		else if (j == m->n)
			cmp = -1;
		else
			cmp = seen_vs_entry(&s->v[i], &m->entries[j]);
		if (cmp < 0)
			rc = add_change(out, n, s->v[i].type, s->v[i].name);
		else if (cmp > 0)
			rc = add_change(out, n, m->entries[j].type,
			    m->entries[j].name);
		else if (!pcache_is_clean(&c->st[j], &s->v[i].st))
			rc = add_change(out, n, s->v[i].type, s->v[i].name);
		i += cmp <= 0;
		j += cmp >= 0;
	}
	return rc;
}

/* The stat the scan saw of each of memo's artifacts (none: read it next
 * time), settled against racy cleanliness, into c->st; -1 on no memory. */
int
scanned_stats_for(struct pcache *c, const struct scanned *s)
{
	const struct manifest *m = c->m;
	size_t i = 0, j;
	int cmp;

	if (m->n > 0 && (c->st = calloc(m->n, sizeof(*c->st))) == NULL)
		return -1;
	for (j = 0; j < m->n; j++) {	/* both sorted: one merge */
		cmp = -1;
		while (i < s->n &&
		    (cmp = seen_vs_entry(&s->v[i], &m->entries[j])) < 0)
			i++;
		if (cmp != 0)
			continue;
		c->st[j] = s->v[i].st;
		pcache_stat_settle(&c->st[j], s->scan_ns);
	}
	return 0;
}
