/*
 * manifest.c - build, diff, write and (distrustfully) read manifests (see
 * manifest.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "fsutil.h"
#include "timeutil.h"
#include "jsonfield.h"
#include "manifest.h"
#include "xmlcheck.h"
#include "names.h"
#include "sign.h"
#include "state.h"

#define MANIFEST_FORMAT 2
#define MANIFEST_LINE_MAX 8192
#define LABELS_JSON_MAX (2 * 1024 + 8)

struct snap_reader {
	struct manifest *m;
	uint64_t line;
	uint64_t entries, events;	/* counts the header promises */
	bool skip_full_events;		/* MANIFEST_NO_FULL_EVENTS */
	uint64_t skipped;		/* event lines counted, not parsed */
};

/*
 * Nearly every artifact carries the label list "default": one shared
 * string for it, not 100,000 copies (a fifth of a big manifest's memory).
 */
static char default_labels[] = "default";

static char *
labels_dup(const char *labels)
{
	if (labels == NULL || strcmp(labels, default_labels) == 0)
		return default_labels;
	return strdup(labels);
}

static void
labels_release(char *labels)
{
	if (labels != default_labels)
		free(labels);
}

int
manifest_entry_set_labels(struct manifest_entry *e, const char *labels)
{
	char *dup = labels_dup(labels);

	if (dup == NULL)
		return -1;
	labels_release(e->labels);
	e->labels = dup;
	return 0;
}

/* A copy of e's name and identity in one allocation (see manifest.h);
 * *identity points into it, or is NULL. */
static char *
name_dup(const char *name, const char *identity, const char **idcopy)
{
	size_t nl = strlen(name) + 1, il;
	char *p;

	*idcopy = NULL;
	if (identity == NULL)
		return strdup(name);
	il = strlen(identity) + 1;
	if ((p = malloc(nl + il)) == NULL)
		return NULL;
	memcpy(p, name, nl);
	memcpy(p + nl, identity, il);
	*idcopy = p + nl;
	return p;
}

int
manifest_entry_set_identity(struct manifest_entry *e, const char *identity)
{
	const char *id;
	char *p;

	if (identity != NULL && strcmp(identity, e->name) == 0)
		identity = NULL;
	if ((p = name_dup(e->name, identity, &id)) == NULL)
		return -1;
	free(e->name);
	e->name = p;
	e->identity = id;
	return 0;
}

const char *
manifest_identity(const struct manifest_entry *e)
{
	return e->identity != NULL ? e->identity : e->name;
}

/* The first ten types: what an older publisher's release always held. */
#define LEGACY_FOLDERS ((1u << 10) - 1)

uint32_t
manifest_folders(const struct manifest *m)
{
	uint32_t f = m->has_folders ? m->folders : LEGACY_FOLDERS;
	size_t i;

	for (i = 0; i < m->n; i++)
		f |= 1u << m->entries[i].type;
	return f & ~(1u << TYPE_CONFIG);
}

struct manifest *
manifest_new(void)
{
	return calloc(1, sizeof(struct manifest));
}

void
manifest_free(struct manifest *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->entries[i].name);
		labels_release(m->entries[i].labels);
	}
	manifest_clear_events(m);
	free(m->entries);
	free(m->events);
	free(m);
}

int
manifest_add(struct manifest *m, int type, const char *name,
    const char *labels, uint64_t size, const char *xxh128, int64_t updated_at)
{
	struct manifest_entry *e;

	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		void *p = realloc(m->entries, ncap * sizeof(*m->entries));

		if (p == NULL)
			return -1;
		m->entries = p;
		m->cap = ncap;
	}
	e = &m->entries[m->n];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->size = size;
	e->updated_at = updated_at;
	snprintf(e->xxh128, sizeof(e->xxh128), "%s", xxh128);
	e->name = strdup(name);
	e->labels = labels_dup(labels);
	if (e->name == NULL || e->labels == NULL) {
		free(e->name);
		labels_release(e->labels);
		return -1;
	}
	m->n++;
	m->total_bytes += size;
	return 0;
}

int
manifest_add_entry(struct manifest *m, const struct manifest_entry *e)
{
	if (manifest_add(m, e->type, e->name, e->labels, e->size, e->xxh128,
	    e->updated_at) == -1)
		return -1;
	if (e->identity == NULL)
		return 0;
	return manifest_entry_set_identity(&m->entries[m->n - 1], e->identity);
}

int
manifest_add_event(struct manifest *m, int type, const char *name,
    enum manifest_action action, int64_t when)
{
	struct manifest_event *ev;

	if (m->nev == m->evcap) {
		size_t ncap = m->evcap ? m->evcap * 2 : 16;
		void *p = realloc(m->events, ncap * sizeof(*m->events));

		if (p == NULL)
			return -1;
		m->events = p;
		m->evcap = ncap;
	}
	ev = &m->events[m->nev];
	ev->type = type;
	ev->action = action;
	ev->updated_at = when;
	if ((ev->name = strdup(name)) == NULL)
		return -1;
	m->nev++;
	return 0;
}

static int
key_cmp(int ta, const char *na, int tb, const char *nb)
{
	if (ta != tb)
		return ta < tb ? -1 : 1;
	return strcmp(na, nb);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct manifest_entry *x = a, *y = b;

	return key_cmp(x->type, x->name, y->type, y->name);
}

int
manifest_sort(struct manifest *m, struct snap_err *err)
{
	size_t i;

	if (m->n > 1)
		qsort(m->entries, m->n, sizeof(*m->entries), entry_cmp);
	for (i = 1; i < m->n; i++)
		if (entry_cmp(&m->entries[i - 1], &m->entries[i]) == 0)
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "%s/%s: listed twice",
			    artifact_types[m->entries[i].type].folder,
			    m->entries[i].name);
	return 0;
}

struct manifest_entry *
manifest_find(const struct manifest *m, int type, const char *name)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(type, name, m->entries[mid].type,
		    m->entries[mid].name);

		if (c == 0)
			return &m->entries[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static bool
entry_same(const struct manifest_entry *a, const struct manifest_entry *b)
{
	return strcmp(a->xxh128, b->xxh128) == 0 && a->size == b->size &&
	    strcmp(a->labels, b->labels) == 0;
}

int64_t
manifest_stamp(const struct manifest_entry *old, const char *xxh128,
    int64_t now)
{
	if (old == NULL)
		return now;
	if (strcmp(old->xxh128, xxh128) == 0)
		return old->updated_at;
	return now > old->updated_at ? now : old->updated_at + 1;
}

int
manifest_diff(const struct manifest *prev, struct manifest *cur, int64_t now)
{
	size_t i = 0, j = 0, pn = prev != NULL ? prev->n : 0;

	/* One merge pass over two sorted lists. */
	while (i < pn || j < cur->n) {
		const struct manifest_entry *p = i < pn ? &prev->entries[i] : NULL;
		struct manifest_entry *c = j < cur->n ? &cur->entries[j] : NULL;
		int cmp = p == NULL ? 1 : c == NULL ? -1 :
		    key_cmp(p->type, p->name, c->type, c->name);

		if (cmp < 0) {
			if (manifest_add_event(cur, p->type, p->name, MANIFEST_UNDEPLOY,
			    now) == -1)
				return -1;
			i++;
		} else if (cmp > 0) {
			c->updated_at = now;
			if (manifest_add_event(cur, c->type, c->name, MANIFEST_DEPLOY,
			    now) == -1)
				return -1;
			j++;
		} else {
			c->updated_at = manifest_stamp(p, c->xxh128, now);
			if (!entry_same(p, c) && manifest_add_event(cur,
			    c->type, c->name, MANIFEST_DEPLOY, now) == -1)
				return -1;
			i++;
			j++;
		}
	}
	return 0;
}

void
manifest_clear_events(struct manifest *m)
{
	size_t i;

	for (i = 0; i < m->nev; i++)
		free(m->events[i].name);
	m->nev = 0;
}

bool
manifest_same_content(const struct manifest *a, const struct manifest *b)
{
	size_t i;

	if (a == b)
		return true;
	if (a->n != b->n || manifest_folders(a) != manifest_folders(b))
		return false;
	for (i = 0; i < a->n; i++) {
		const struct manifest_entry *x = &a->entries[i], *y = &b->entries[i];

		if (x->type != y->type || strcmp(x->name, y->name) != 0 ||
		    !entry_same(x, y))
			return false;
	}
	return true;
}

struct manifest *
manifest_dup(const struct manifest *m)
{
	struct manifest *c = manifest_new();
	size_t i;

	if (c == NULL)
		return NULL;
	c->kind = m->kind;
	c->version = m->version;
	c->parent_version = m->parent_version;
	c->published_at = m->published_at;
	c->total_bytes = m->total_bytes;
	c->folders = m->folders;
	c->has_folders = m->has_folders;
	c->has_identities = m->has_identities;
	/* One allocation and one copy for the entries, then their strings:
	 * a secondary copies its 100,000-entry manifest at every apply. */
	if (m->n > 0) {
		c->cap = m->n + m->n / 64 + 16;	/* room for a delta's adds */
		if ((c->entries = malloc(c->cap * sizeof(*c->entries))) == NULL)
			goto fail;
		memcpy(c->entries, m->entries, m->n * sizeof(*m->entries));
	}
	for (i = 0; i < m->n; i++) {
		struct manifest_entry *e = &c->entries[i];

		e->name = name_dup(m->entries[i].name, m->entries[i].identity,
		    &e->identity);
		e->labels = labels_dup(m->entries[i].labels);
		if (e->name == NULL || e->labels == NULL) {
			free(e->name);
			labels_release(e->labels);
			goto fail;
		}
		c->n++;
	}
	for (i = 0; i < m->nev; i++)
		if (manifest_add_event(c, m->events[i].type, m->events[i].name,
		    m->events[i].action, m->events[i].updated_at) == -1)
			goto fail;
	return c;
fail:
	manifest_free(c);
	return NULL;
}

struct manifest *
manifest_between(const struct manifest *prev, const struct manifest *cur)
{
	struct manifest *d = manifest_new();
	size_t i = 0, j = 0;
	int cmp, rc = 0;

	if (d == NULL)
		return NULL;
	d->kind = MANIFEST_DELTA;
	d->version = cur->version;
	d->parent_version = prev->version;
	d->published_at = cur->published_at;
	d->folders = cur->folders;
	d->has_folders = cur->has_folders;
	d->has_identities = cur->has_identities;
	/* One merge pass: d's entries come out sorted. */
	while (rc == 0 && (i < prev->n || j < cur->n)) {
		const struct manifest_entry *p = i < prev->n ?
		    &prev->entries[i] : NULL;
		const struct manifest_entry *c = j < cur->n ?
		    &cur->entries[j] : NULL;

		cmp = p == NULL ? 1 : c == NULL ? -1 : entry_cmp(p, c);
		if (cmp < 0) {
			rc = manifest_add_event(d, p->type, p->name,
			    MANIFEST_UNDEPLOY, cur->published_at);
			i++;
			continue;
		}
		if (cmp > 0 || !entry_same(p, c))
			rc = manifest_add_entry(d, c) == -1 ? -1 :
			    manifest_add_event(d, c->type, c->name,
			    MANIFEST_DEPLOY, c->updated_at);
		i += cmp == 0;
		j++;
	}
	if (rc == -1) {
		manifest_free(d);
		return NULL;
	}
	return d;
}

struct manifest *
manifest_delta(const struct manifest *cur)
{
	struct manifest *d = manifest_new();
	const struct manifest_entry *e;
	struct snap_err ignored;
	size_t i;

	if (d == NULL)
		return NULL;
	d->kind = MANIFEST_DELTA;
	d->version = cur->version;
	d->parent_version = cur->parent_version;
	d->published_at = cur->published_at;
	d->folders = cur->folders;
	d->has_folders = cur->has_folders;
	d->has_identities = cur->has_identities;
	for (i = 0; i < cur->nev; i++) {
		const struct manifest_event *ev = &cur->events[i];

		if (manifest_add_event(d, ev->type, ev->name, ev->action,
		    ev->updated_at) == -1)
			goto fail;
		if (ev->action != MANIFEST_DEPLOY ||
		    (e = manifest_find(cur, ev->type, ev->name)) == NULL)
			continue;
		if (manifest_add_entry(d, e) == -1)
			goto fail;
	}
	if (manifest_sort(d, &ignored) == -1)	/* events name each once */
		goto fail;
	return d;
fail:
	manifest_free(d);
	return NULL;
}

/* The index in m of the entry UNDEPLOY event ev of delta d removes; -1
 * with err when d also lists it, or m does not hold it. */
static ssize_t
removal_index(const struct manifest *m, const struct manifest *d,
    const struct manifest_event *ev, struct snap_err *err)
{
	const char *folder = artifact_types[ev->type].folder;
	const struct manifest_entry *e;

	if (manifest_find(d, ev->type, ev->name) != NULL)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "delta %" PRIu64 " both removes and "
		    "lists %s/%s", d->version, folder, ev->name);
	if ((e = manifest_find(m, ev->type, ev->name)) == NULL)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "delta %" PRIu64 " removes %s/%s, "
		    "which version %" PRIu64 " does not hold", d->version,
		    folder, ev->name, m->version);
	return e - m->entries;
}

/* Marks the entries of m that d's UNDEPLOY events remove. */
static int
mark_removals(const struct manifest *m, const struct manifest *d, bool *gone,
    struct snap_err *err)
{
	ssize_t at;
	size_t i;

	for (i = 0; i < d->nev; i++) {
		if (d->events[i].action != MANIFEST_UNDEPLOY)
			continue;
		if ((at = removal_index(m, d, &d->events[i], err)) == -1)
			return -1;
		gone[at] = true;
	}
	return 0;
}

/* Moves entry *src into *dst (no copy of the strings). */
static void
take_entry(struct manifest_entry *dst, struct manifest_entry *src)
{
	if (dst == src)
		return;
	*dst = *src;
	src->name = src->labels = NULL;
}

/* Where (type, name) is in m, or would be inserted. */
static size_t
lower_bound(const struct manifest *m, int type, const char *name)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(m->entries[mid].type, m->entries[mid].name, type,
		    name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Frees an events array of n and the names it holds (NULL ones too). */
static void
events_free(struct manifest_event *ev, size_t n)
{
	size_t k;

	for (k = 0; ev != NULL && k < n; k++)
		free(ev[k].name);
	free(ev);
}

/* Copies of d's events, made before m changes; NULL on out of memory. */
static struct manifest_event *
events_copy(const struct manifest *d)
{
	struct manifest_event *ev = calloc(d->nev + 1, sizeof(*ev));
	size_t k;

	for (k = 0; ev != NULL && k < d->nev; k++) {
		ev[k] = d->events[k];
		/* calloc: the names past k, and k's on failure, are NULL. */
		if ((ev[k].name = strdup(d->events[k].name)) == NULL) {
			events_free(ev, d->nev);
			return NULL;
		}
	}
	return ev;
}

/* What m's version was, for manifest_undo(): its header, byte count and
 * events (taken over, not copied); the entries stay m's. */
static void
save_version(struct manifest_undo *u, struct manifest *m)
{
	u->was = *m;
	m->events = NULL;
	m->nev = m->evcap = 0;
}

/* m becomes d's version: its header, and its events (evs, a copy of d's
 * from events_copy(), made before m changed). m's own events are gone
 * already (save_version), or freed here. Cannot fail. */
static void
take_version(struct manifest *m, const struct manifest *d,
    struct manifest_event *evs)
{
	m->version = d->version;
	m->parent_version = d->parent_version;
	m->published_at = d->published_at;
	m->folders = d->folders;
	m->has_folders = d->has_folders;
	m->has_identities = d->has_identities;
	manifest_clear_events(m);
	free(m->events);
	m->events = evs;
	m->nev = d->nev;
	m->evcap = d->nev + 1;
}

/* Adds and removals past which a delta is merged in one pass rather than
 * moved into place one by one (each move is a memmove of the tail). */
#define APPLY_IN_PLACE_MOVES 4
/* Entries past which it is merged: what one undo record can hold. */
#define APPLY_IN_PLACE_ENTRIES (MANIFEST_UNDO_OPS - APPLY_IN_PLACE_MOVES)

static void
undo_push(struct manifest_undo *u, enum manifest_undo_kind kind,
    const struct manifest_entry *e)
{
	u->ops[u->nops].kind = kind;
	u->ops[u->nops].e = *e;
	u->nops++;
}

/* Removes m's entry at `at` (its strings stay with whoever holds them). */
static void
cut_entry(struct manifest *m, size_t at)
{
	struct manifest_entry *e = &m->entries[at];

	m->total_bytes -= e->size;
	memmove(e, e + 1, (m->n - at - 1) * sizeof(*e));
	m->n--;
}

/* Puts e into m at `at`; m has room (m->n < m->cap). */
static void
insert_entry(struct manifest *m, size_t at, const struct manifest_entry *e)
{
	struct manifest_entry *slot = &m->entries[at];

	memmove(slot + 1, slot, (m->n - at) * sizeof(*slot));
	*slot = *e;
	m->n++;
	m->total_bytes += e->size;
}

/*
 * manifest_apply_delta() for a small delta (the common one: an artifact or
 * two changed) on a big manifest: entries replaced where they are, the few
 * added or removed moved into place, so that applying costs the change
 * and a few memmoves, not a pass over 100,000 entries. What it replaces,
 * adds and removes goes to u, the old entries with their strings: nothing
 * of m is freed, so manifest_undo() can put it all back. 1 when the delta
 * is not small (the caller merges), 0 done, -1 with err; m and u are
 * unchanged unless 0.
 */
static int
apply_in_place(struct manifest *m, const struct manifest *d,
    struct manifest_undo *u, struct snap_err *err)
{
	struct manifest_entry copies[APPLY_IN_PLACE_ENTRIES], *e;
	size_t gone[APPLY_IN_PLACE_MOVES], ngone = 0, adds = 0, k, at, g;
	struct manifest_event *evs = NULL;

	if (d->n > APPLY_IN_PLACE_ENTRIES)
		return 1;
	for (k = 0; k < d->nev; k++) {
		ssize_t idx;

		if (d->events[k].action != MANIFEST_UNDEPLOY)
			continue;
		if ((idx = removal_index(m, d, &d->events[k], err)) == -1)
			return -1;
		for (g = 0; g < ngone && gone[g] != (size_t)idx;)
			g++;
		if (g < ngone)
			continue;		/* the same removal twice */
		if (ngone == APPLY_IN_PLACE_MOVES)
			return 1;
		gone[ngone++] = (size_t)idx;
	}
	for (k = 0; k < d->n; k++)
		adds += manifest_find(m, d->entries[k].type,
		    d->entries[k].name) == NULL;
	if (adds + ngone > APPLY_IN_PLACE_MOVES)
		return 1;
	/* Every allocation first: m changes only once none can fail. */
	for (k = 0; k < d->n; k++) {
		copies[k] = d->entries[k];
		copies[k].name = name_dup(d->entries[k].name,
		    d->entries[k].identity, &copies[k].identity);
		copies[k].labels = labels_dup(d->entries[k].labels);
		if (copies[k].name == NULL || copies[k].labels == NULL) {
			free(copies[k].name);
			labels_release(copies[k].labels);
			goto oom;
		}
	}
	if (m->n + adds > m->cap) {
		size_t ncap = m->n + adds + m->n / 64 + 16;
		void *p = realloc(m->entries, ncap * sizeof(*m->entries));

		if (p == NULL)
			goto oom;
		m->entries = p;
		m->cap = ncap;
	}
	if ((evs = events_copy(d)) == NULL)
		goto oom;
	u->nops = 0;
	save_version(u, m);
	/* Removals, highest index first so the others stay put. */
	while (ngone > 0) {
		for (g = 1, at = 0; g < ngone; g++)
			if (gone[g] > gone[at])
				at = g;
		undo_push(u, MANIFEST_UNDO_REMOVED, &m->entries[gone[at]]);
		cut_entry(m, gone[at]);
		gone[at] = gone[--ngone];
	}
	/* Replaced where they are; added where they sort. */
	for (k = 0; k < d->n; k++) {
		at = lower_bound(m, copies[k].type, copies[k].name);
		e = &m->entries[at];
		if (at < m->n && entry_cmp(e, &copies[k]) == 0) {
			undo_push(u, MANIFEST_UNDO_REPLACED, e);
			m->total_bytes += copies[k].size - e->size;
			*e = copies[k];
		} else {
			undo_push(u, MANIFEST_UNDO_ADDED, &copies[k]);
			insert_entry(m, at, &copies[k]);
		}
	}
	take_version(m, d, evs);
	return 0;
oom:
	while (k-- > 0) {
		free(copies[k].name);
		labels_release(copies[k].labels);
	}
	return snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
}

/* Both appliers refuse a delta that is not one, or not on m's version. */
static int
check_parent(const struct manifest *m, const struct manifest *d,
    struct snap_err *err)
{
	if (d->kind != MANIFEST_DELTA)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "version %" PRIu64 " is not a delta",
		    d->version);
	if (d->parent_version != m->version)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "delta %" PRIu64 " has parent %" PRIu64
		    ", not %" PRIu64, d->version, d->parent_version, m->version);
	return 0;
}

int
manifest_apply_delta_undoable(struct manifest *m, const struct manifest *d,
    struct manifest_undo *u, struct snap_err *err)
{
	if (check_parent(m, d, err) == -1)
		return -1;
	return apply_in_place(m, d, u, err);
}

void
manifest_undo(struct manifest *m, struct manifest_undo *u)
{
	struct manifest_undo_op *op;
	size_t at;

	/* Last change first: each op finds m as it left it. */
	while (u->nops > 0) {
		op = &u->ops[--u->nops];
		at = lower_bound(m, op->e.type, op->e.name);
		switch (op->kind) {
		case MANIFEST_UNDO_ADDED:
			free(m->entries[at].name);
			labels_release(m->entries[at].labels);
			cut_entry(m, at);
			break;
		case MANIFEST_UNDO_REPLACED:
			free(m->entries[at].name);
			labels_release(m->entries[at].labels);
			m->entries[at] = op->e;
			break;
		case MANIFEST_UNDO_REMOVED:
			insert_entry(m, at, &op->e);	/* its slot is there */
			break;
		}
	}
	manifest_clear_events(m);
	free(m->events);
	u->was.entries = m->entries;	/* as they were again */
	u->was.n = m->n;
	u->was.cap = m->cap;
	*m = u->was;
	u->was.events = NULL;
	u->was.nev = u->was.evcap = 0;
}

void
manifest_undo_forget(struct manifest_undo *u)
{
	size_t k;

	for (k = 0; k < u->nops; k++) {
		if (u->ops[k].kind == MANIFEST_UNDO_ADDED)
			continue;	/* its strings are m's */
		free(u->ops[k].e.name);
		labels_release(u->ops[k].e.labels);
	}
	u->nops = 0;
	events_free(u->was.events, u->was.nev);
	u->was.events = NULL;
	u->was.nev = u->was.evcap = 0;
}

int
manifest_apply_delta(struct manifest *m, const struct manifest *d,
    struct snap_err *err)
{
	struct manifest_entry *out = NULL, copy;
	struct manifest_event *evs = NULL;
	struct manifest_undo u;
	size_t i = 0, j = 0, n = 0, k;
	bool *gone = NULL;
	int cmp, rc;

	if (check_parent(m, d, err) == -1)
		return -1;
	if ((rc = apply_in_place(m, d, &u, err)) != 1) {
		if (rc == 0)
			manifest_undo_forget(&u);
		return rc;
	}
	if ((gone = calloc(m->n + 1, sizeof(*gone))) == NULL ||
	    (out = calloc(m->n + d->n + 1, sizeof(*out))) == NULL) {
		free(gone);
		return snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
	}
	if (mark_removals(m, d, gone, err) == -1)
		goto fail;
	if ((evs = events_copy(d)) == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
		goto fail;
	}
	/* Copies of d's strings first: nothing of m changes until all
	 * allocations have succeeded. */
	for (k = 0; k < d->n; k++) {
		const struct manifest_entry *e = &d->entries[k];

		copy = *e;
		copy.name = name_dup(e->name, e->identity, &copy.identity);
		copy.labels = labels_dup(e->labels);
		if (copy.name == NULL || copy.labels == NULL) {
			free(copy.name);
			labels_release(copy.labels);
			snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
			goto fail;
		}
		out[m->n + k] = copy;	/* parked past the merge area */
	}
	/* One merge pass: m's entries, with d's replacing or joining. */
	while (i < m->n || j < d->n) {
		cmp = i == m->n ? 1 : j == d->n ? -1 :
		    entry_cmp(&m->entries[i], &d->entries[j]);
		if (cmp < 0) {
			if (!gone[i])
				take_entry(&out[n++], &m->entries[i]);
			i++;
			continue;
		}
		if (cmp == 0) {
			free(m->entries[i].name);
			labels_release(m->entries[i].labels);
			m->entries[i].name = m->entries[i].labels = NULL;
			i++;
		}
		take_entry(&out[n++], &out[m->n + j]);
		j++;
	}
	for (i = 0; i < m->n; i++) {	/* the removed ones */
		free(m->entries[i].name);
		labels_release(m->entries[i].labels);
	}
	free(m->entries);
	m->entries = out;
	m->cap = m->n + d->n + 1;	/* what out holds: m's old count */
	m->n = n;
	for (m->total_bytes = 0, k = 0; k < n; k++)
		m->total_bytes += out[k].size;
	take_version(m, d, evs);
	free(gone);
	return 0;
fail:
	for (k = 0; k < d->n; k++) {
		free(out[m->n + k].name);
		labels_release(out[m->n + k].labels);
	}
	events_free(evs, d->nev);
	free(out);
	free(gone);
	return -1;
}

int
manifest_check_labels(const char *labels, struct snap_err *err)
{
	const char *p;
	size_t run = 0;

	if (*labels == '\0')
		return snap_err_setc(err, SNAP_E_MALFORMED, "empty label list");
	for (p = labels;; p++) {
		if (*p == ',' || *p == '\0') {
			if (run == 0)
				return snap_err_setc(err, SNAP_E_MALFORMED,
				    "empty label in '%s'",
				    labels);
			if (*p == '\0')
				return 0;
			run = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "label list '%s' has a character "
			    "other than letters, digits, '.', '_', '-', ','",
			    labels);
		if (++run > 64)
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "label longer than 64 bytes");
	}
}

/* --- writing --- */

json_t *
manifest_labels_json(const char *labels)
{
	json_t *arr = json_array();
	const char *p = labels, *comma;

	if (arr == NULL)
		return NULL;
	for (;;) {
		comma = strchr(p, ',');
		if (json_array_append_new(arr, json_stringn(p,
		    comma ? (size_t)(comma - p) : strlen(p))) == -1) {
			json_decref(arr);
			return NULL;
		}
		if (comma == NULL)
			return arr;
		p = comma + 1;
	}
}

/*
 * Lines are printed, not built with jansson: a 100,000-artifact manifest
 * must stream in constant memory. That is safe because every string
 * printed comes from a checked alphabet (names: name_check(); labels:
 * manifest_check_labels(); types: our table; hex; RFC 3339), none of which
 * needs escaping in JSON. The reader parses each line with jansson.
 */
struct sink {
	int fd;				/* -1: collect in mem */
	char *mem;
	size_t memlen, memcap;
	char buf[1 << 16];
	size_t used;
	uint64_t total;
	struct hash_state h;
	struct sign_hash b2;		/* when want_b2 */
	bool want_b2;
	int error;			/* errno of the first failure */
};

static void
sink_flush(struct sink *s)
{
	if (s->used == 0 || s->error != 0)
		return;
	hash_update(&s->h, s->buf, s->used);
	if (s->want_b2)
		sign_hash_update(&s->b2, s->buf, s->used);
	s->total += s->used;
	if (s->fd >= 0) {
		if (fsu_write_all(s->fd, s->buf, s->used) == -1)
			s->error = errno;
	} else {
		if (s->memlen + s->used + 1 > s->memcap) {
			size_t ncap = (s->memlen + s->used + 1) * 2;
			char *p = realloc(s->mem, ncap);

			if (p == NULL) {
				s->error = ENOMEM;
				return;
			}
			s->mem = p;
			s->memcap = ncap;
		}
		memcpy(s->mem + s->memlen, s->buf, s->used);
		s->memlen += s->used;
		s->mem[s->memlen] = '\0';
	}
	s->used = 0;
}

/* Room for one line: what a reader takes (an identity may need escapes). */
#define LINE_MAX_BYTES MANIFEST_LINE_MAX

static char *
sink_room(struct sink *s)
{
	if (sizeof(s->buf) - s->used < LINE_MAX_BYTES)
		sink_flush(s);
	return s->buf + s->used;
}

static void
sink_commit(struct sink *s, int n)
{
	if (n > 0 && n < LINE_MAX_BYTES)
		s->used += (size_t)n;
	else if (s->error == 0)
		s->error = EOVERFLOW;
}

static void
print_labels(char *out, size_t len, const char *labels)
{
	size_t used = 0;
	const char *p;

	out[used++] = '"';
	for (p = labels; *p != '\0' && used + 4 < len; p++) {
		if (*p == ',') {
			memcpy(out + used, "\",\"", 3);
			used += 3;
		} else {
			out[used++] = *p;
		}
	}
	out[used++] = '"';
	out[used] = '\0';
}

/* ,"folders":["api",...] for a manifest that knows its folders: out has
 * room for every type's name (len >= 512). */
static void
print_folders(char *out, size_t len, const struct manifest *m)
{
	size_t i, used;

	out[0] = '\0';
	if (!m->has_folders)
		return;
	used = (size_t)snprintf(out, len, ",\"folders\":[");
	for (i = 0; i < TYPE_CONFIG; i++)
		if (m->folders & (1u << i))
			used += (size_t)snprintf(out + used, len - used,
			    "%s\"%s\"", out[used - 1] == '[' ? "" : ",",
			    artifact_types[i].folder);
	snprintf(out + used, len - used, "]");
}

static void
print_header(struct sink *s, const struct manifest *m)
{
	char when[32], folders[512];

	fsu_rfc3339(m->published_at, when);
	print_folders(folders, sizeof(folders), m);
	sink_commit(s, snprintf(sink_room(s), LINE_MAX_BYTES,
	    "{\"format\":%d,\"kind\":\"%s\",\"version\":%" PRIu64
	    ",\"parent_version\":%" PRIu64 ",\"published_at\":\"%s\","
	    "\"artifact_count\":%zu,\"event_count\":%zu%s%s}\n",
	    MANIFEST_FORMAT, m->kind == MANIFEST_DELTA ? "delta" : "full",
	    m->version, m->parent_version, when, m->n, m->nev, folders,
	    m->has_identities ? ",\"identities\":true" : ""));
}

static void
print_entry(struct sink *s, const struct manifest_entry *e)
{
	char when[32], labels[LABELS_JSON_MAX], id[6 * XML_IDENTITY_MAX + 32];
	int n = 0;

	fsu_rfc3339(e->updated_at, when);
	print_labels(labels, sizeof(labels), e->labels);
	id[0] = '\0';
	if (e->identity != NULL) {
		n = snprintf(id, sizeof(id), ",\"identity\":\"");
		n = jf_escape(id + n, sizeof(id) - (size_t)n - 1, e->identity);
		strcat(id, "\"");
	}
	if (n < 0) {	/* cannot happen: identities are bounded */
		if (s->error == 0)
			s->error = EOVERFLOW;
		return;
	}
	sink_commit(s, snprintf(sink_room(s), LINE_MAX_BYTES,
	    "{\"type\":\"%s\",\"name\":\"%s\"%s,\"labels\":[%s],\"size\":%"
	    PRIu64 ",\"xxh128\":\"%s\",\"updated_at\":\"%s\"}\n",
	    artifact_types[e->type].folder, e->name, id, labels, e->size,
	    e->xxh128, when));
}

static void
print_event(struct sink *s, const struct manifest_event *ev)
{
	const char *folder = artifact_types[ev->type].folder;
	char when[32];

	fsu_rfc3339(ev->updated_at, when);
	sink_commit(s, snprintf(sink_room(s), LINE_MAX_BYTES,
	    "{\"id\":\"%s/%s\",\"type\":\"%s\",\"action\":\"%s\","
	    "\"updated_at\":\"%s\"}\n", folder, ev->name, folder,
	    ev->action == MANIFEST_DEPLOY ? "DEPLOY" : "UNDEPLOY", when));
}

static int
sink_write(struct sink *s, const struct manifest *m, struct snap_err *err)
{
	size_t i;

	hash_init(&s->h);
	if (s->want_b2)
		sign_hash_init(&s->b2);
	print_header(s, m);
	for (i = 0; i < m->n && s->error == 0; i++)
		print_entry(s, &m->entries[i]);
	for (i = 0; i < m->nev && s->error == 0; i++)
		print_event(s, &m->events[i]);
	sink_flush(s);
	if (s->error != 0)
		return snap_err_sys(err, s->error, "manifest: write");
	return 0;
}

int
manifest_write(const struct manifest *m, int fd, struct state_file *f,
    struct snap_err *err)
{
	struct sink *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return snap_err_setc(err, SNAP_E_NOMEM, "manifest: out of memory");
	s->fd = fd;
	s->want_b2 = f != NULL;	/* a record of ours needs no BLAKE2b */
	rc = sink_write(s, m, err);
	if (rc == 0 && f != NULL) {
		f->size = s->total;
		hash_final(&s->h, f->xxh128);
		sign_hash_final(&s->b2, f->blake2b);
	}
	free(s);
	return rc;
}

int
manifest_to_json(const struct manifest *m, char **out, size_t *len,
    struct snap_err *err)
{
	struct sink *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (s == NULL)
		return snap_err_setc(err, SNAP_E_NOMEM, "manifest: out of memory");
	s->fd = -1;
	rc = sink_write(s, m, err);
	if (rc == 0) {
		*out = s->mem;
		*len = s->memlen;
	} else {
		free(s->mem);
	}
	free(s);
	return rc;
}

int
manifest_check_total(const struct manifest *m, struct snap_err *err)
{
	uint64_t total = m->total_bytes;

	if (total > TREE_MAX_BYTES)
		return snap_err_setc(err, SNAP_E_TOO_LARGE,
		    "artifacts add up to %llu bytes, over "
		    "the %llu-byte limit", (unsigned long long)total,
		    (unsigned long long)TREE_MAX_BYTES);
	return 0;
}

/* --- reading --- */

static int
get_type(json_t *obj, int *type, struct snap_err *err)
{
	json_t *v = json_object_get(obj, "type");

	if (!json_is_string(v) ||
	    (*type = name_type_index(json_string_value(v))) < 0)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'type' is not an artifact type");
	return 0;
}

static int
get_name(json_t *obj, const char **name, struct snap_err *err)
{
	json_t *v = json_object_get(obj, "name");

	if (!json_is_string(v))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'name' is not a string");
	*name = json_string_value(v);
	/* An embedded NUL would hide the rest of the name from every check. */
	if (strlen(*name) != json_string_length(v))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'name' holds a NUL byte");
	if (name_check(*name, err) == -1)
		return snap_err_prefix(err, "'%s'", *name);
	return 0;
}

static int
get_labels(json_t *obj, char *out, size_t outlen, struct snap_err *err)
{
	json_t *arr = json_object_get(obj, "labels"), *v;
	size_t i, used = 0;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'labels' is not a non-empty array");
	json_array_foreach(arr, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		int n;

		if (s == NULL || strchr(s, ',') != NULL)
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "'labels' holds a bad label");
		n = snprintf(out + used, outlen - used, "%s%s", i ? "," : "", s);
		if (n < 0 || (size_t)n >= outlen - used)
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "'labels' is too long");
		used += (size_t)n;
	}
	return manifest_check_labels(out, err);
}

/* The optional "identity": bounded UTF-8 without NUL (what xmlcheck
 * gives); absent, the name is the identity. */
static int
get_identity(json_t *obj, struct manifest_entry *e, struct snap_err *err)
{
	json_t *v = json_object_get(obj, "identity");
	const char *id;

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > XML_IDENTITY_MAX ||
	    strlen(id = json_string_value(v)) != json_string_length(v))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s/%s: 'identity' is not a string of "
		    "at most %d bytes", artifact_types[e->type].folder, e->name,
		    XML_IDENTITY_MAX);
	if (manifest_entry_set_identity(e, id) == -1)
		return snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
	return 0;
}

static int
parse_entry(struct manifest *m, json_t *obj, struct snap_err *err)
{
	const char *name = NULL, *xxh;
	char labels[1024];
	uint64_t size;
	int64_t when;
	int type;

	if (!json_is_object(obj))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "artifact is not an object");
	if (get_type(obj, &type, err) == -1 || get_name(obj, &name, err) == -1)
		return -1;
	if (get_labels(obj, labels, sizeof(labels), err) == -1 ||
	    jf_uint(obj, "size", &size, err) == -1 ||
	    jf_time(obj, "updated_at", &when, err) == -1)
		return snap_err_prefix(err, "%s/%s",
		    artifact_types[type].folder, name);
	if (size > ARTIFACT_MAX_BYTES)
		return snap_err_setc(err, SNAP_E_TOO_LARGE,
		    "%s/%s: size %llu is over the %u-byte "
		    "limit", artifact_types[type].folder, name,
		    (unsigned long long)size, ARTIFACT_MAX_BYTES);
	xxh = json_string_value(json_object_get(obj, "xxh128"));
	if (xxh == NULL || !hash_is_hex(xxh))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s/%s: 'xxh128' is not 32 lower-case "
		    "hex digits", artifact_types[type].folder, name);
	if (manifest_add(m, type, name, labels, size, xxh, when) == -1)
		return snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
	return get_identity(obj, &m->entries[m->n - 1], err);
}

static int
parse_event(struct manifest *m, json_t *obj, struct snap_err *err)
{
	const char *id, *action, *slash;
	enum manifest_action act;
	int64_t when;
	int type;

	if (!json_is_object(obj))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "event is not an object");
	id = json_string_value(json_object_get(obj, "id"));
	action = json_string_value(json_object_get(obj, "action"));
	if (id == NULL || (slash = strchr(id, '/')) == NULL)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "event 'id' is not TYPE/NAME");
	if (get_type(obj, &type, err) == -1 ||
	    jf_time(obj, "updated_at", &when, err) == -1)
		return snap_err_prefix(err, "event %s", id);
	if (strncmp(id, artifact_types[type].folder, (size_t)(slash - id)) ||
	    artifact_types[type].folder[slash - id] != '\0')
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "event %s: 'type' does not match 'id'",
		    id);
	if (name_check(slash + 1, err) == -1)
		return snap_err_prefix(err, "event %s", id);
	if (action != NULL && strcmp(action, "DEPLOY") == 0)
		act = MANIFEST_DEPLOY;
	else if (action != NULL && strcmp(action, "UNDEPLOY") == 0)
		act = MANIFEST_UNDEPLOY;
	else
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "event %s: 'action' is not DEPLOY or "
		    "UNDEPLOY", id);
	if (manifest_add_event(m, type, slash + 1, act, when) == -1)
		return snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
	return 0;
}

/* The optional "folders": type folders the tree holds, each once. */
static int
get_folders(struct manifest *m, json_t *root, struct snap_err *err)
{
	json_t *arr = json_object_get(root, "folders"), *v;
	size_t i;
	int type;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'folders' is not an array");
	m->has_folders = true;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) ||
		    (type = name_type_of_dir(json_string_value(v))) < 0 ||
		    (m->folders & (1u << type)))
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "'folders' holds something that "
			    "is not a type folder, or one twice");
		m->folders |= 1u << type;
	}
	return 0;
}

static int
parse_header(struct manifest *m, json_t *root, struct snap_reader *r,
    struct snap_err *err)
{
	uint64_t format;
	const char *kind;

	if (!json_is_object(root))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "header is not a JSON object");
	if (jf_uint(root, "format", &format, err) == -1)
		return -1;
	if (format != MANIFEST_FORMAT)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "format %llu is not supported "
		    "(this build reads %d)", (unsigned long long)format,
		    MANIFEST_FORMAT);
	kind = json_string_value(json_object_get(root, "kind"));
	if (kind != NULL && strcmp(kind, "full") == 0)
		m->kind = MANIFEST_FULL;
	else if (kind != NULL && strcmp(kind, "delta") == 0)
		m->kind = MANIFEST_DELTA;
	else
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'kind' is not \"full\" or \"delta\"");
	if (jf_uint(root, "version", &m->version, err) == -1 ||
	    jf_uint(root, "parent_version", &m->parent_version, err) == -1 ||
	    jf_time(root, "published_at", &m->published_at, err) == -1 ||
	    jf_uint(root, "artifact_count", &r->entries, err) == -1 ||
	    jf_uint(root, "event_count", &r->events, err) == -1)
		return -1;
	if (m->version == 0 || m->parent_version >= m->version)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "version %llu with parent %llu is not "
		    "a forward step", (unsigned long long)m->version,
		    (unsigned long long)m->parent_version);
	if (m->kind == MANIFEST_DELTA && m->parent_version == 0)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "a delta without a parent version");
	if (json_object_get(root, "identities") != NULL &&
	    !json_is_true(json_object_get(root, "identities")))
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "'identities' is not true");
	m->has_identities = json_object_get(root, "identities") != NULL;
	return get_folders(m, root, err);
}

/* One line: the header, then artifact_count artifacts, then event_count
 * events, each a JSON object on its own line. */
static int
feed_line(struct snap_reader *r, const char *line, size_t len,
    struct snap_err *err)
{
	struct manifest *m = r->m;
	json_error_t jerr;
	json_t *obj;
	int rc;

	r->line++;
	/* Half of a full manifest, and half of the time to read it. */
	if (r->line > 1 && r->skip_full_events && m->kind == MANIFEST_FULL &&
	    m->n == r->entries && m->nev + r->skipped < r->events) {
		r->skipped++;
		return 0;
	}
	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "line %llu: malformed JSON: %s",
		    (unsigned long long)r->line, jerr.text);
	if (r->line == 1)
		rc = parse_header(m, obj, r, err);
	else if (m->n < r->entries)
		rc = parse_entry(m, obj, err);
	else if (m->nev + r->skipped < r->events)
		rc = parse_event(m, obj, err);
	else
		rc = snap_err_setc(err, SNAP_E_MALFORMED,
		    "more lines than the header counts");
	json_decref(obj);
	if (rc == -1)
		return snap_err_prefix(err, "line %llu",
		    (unsigned long long)r->line);
	return 0;
}

static int
reader_finish(struct snap_reader *r, struct snap_err *err)
{
	if (r->line == 0)
		return snap_err_setc(err, SNAP_E_MALFORMED, "empty");
	if (r->m->n != r->entries || r->m->nev + r->skipped != r->events)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "header counts %llu artifacts and %llu "
		    "events, %zu and %llu are listed",
		    (unsigned long long)r->entries,
		    (unsigned long long)r->events, r->m->n,
		    (unsigned long long)(r->m->nev + r->skipped));
	if (manifest_sort(r->m, err) == -1)
		return -1;
	return manifest_check_total(r->m, err);
}

/* Feeds every complete line of buf[0..len); returns the bytes consumed. */
static ssize_t
feed_lines(struct snap_reader *r, const char *buf, size_t len,
    struct snap_err *err)
{
	const char *p = buf, *nl;

	while ((nl = memchr(p, '\n', len - (size_t)(p - buf))) != NULL) {
		/* The same bound whether or not the line came in one read. */
		if (nl - p >= MANIFEST_LINE_MAX)
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "line %llu is longer than %d "
			    "bytes", (unsigned long long)r->line + 1,
			    MANIFEST_LINE_MAX);
		if (memchr(p, '\0', (size_t)(nl - p)) != NULL)
			return snap_err_setc(err, SNAP_E_MALFORMED,
			    "line %llu holds a NUL byte",
			    (unsigned long long)r->line + 1);
		if (feed_line(r, p, (size_t)(nl - p), err) == -1)
			return -1;
		p = nl + 1;
	}
	if (len - (size_t)(p - buf) >= MANIFEST_LINE_MAX)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "line %llu is longer than %d bytes",
		    (unsigned long long)r->line + 1, MANIFEST_LINE_MAX);
	return p - buf;
}

struct manifest *
manifest_from_json(const char *buf, size_t len, struct snap_err *err)
{
	struct snap_reader r = { .m = manifest_new() };
	ssize_t used;

	if (r.m == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "manifest: out of memory");
		return NULL;
	}
	used = feed_lines(&r, buf, len, err);
	if (used >= 0 && (size_t)used != len)
		used = snap_err_setc(err, SNAP_E_MALFORMED,
		    "last line has no newline (truncated?)");
	if (used == -1 || reader_finish(&r, err) == -1) {
		snap_err_prefix(err, "manifest");
		manifest_free(r.m);
		return NULL;
	}
	return r.m;
}

/* What manifest_read_checked() computes over the bytes as it reads them. */
struct digest {
	const struct state_file *expect;
	struct hash_state h;
	struct sign_hash b2;		/* when the record has a BLAKE2b */
	bool want_b2;
};

/*
 * What was read against its record, in this order: the size (a torn or
 * growing file), the XXH128 (a corrupt one), the BLAKE2b (one altered with
 * care, to keep its XXH128). Reading stops past the recorded size, so a
 * longer file's own size comes from fstat.
 */
static int
digest_check(struct digest *d, int fd, uint64_t total, struct snap_err *err)
{
	const struct state_file *f = d->expect;
	char got[STATE_B2_HEX_LEN + 1];
	struct stat st;

	if (total < f->size)
		return snap_err_setc(err, SNAP_E_TRUNCATED,
		    "%" PRIu64 " bytes, state records %"
		    PRIu64 " (truncated or still being written?)", total,
		    f->size);
	if (total > f->size) {
		if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > total)
			total = (uint64_t)st.st_size;
		return snap_err_setc(err, SNAP_E_TRUNCATED,
		    "%" PRIu64 " bytes, longer than the %"
		    PRIu64 " state records (replaced by another file?)", total,
		    f->size);
	}
	hash_final(&d->h, got);
	if (strcmp(got, f->xxh128) != 0)
		return snap_err_setc(err, SNAP_E_CHECKSUM, "checksum mismatch "
		    "(xxh128 %s, state records %s)", got, f->xxh128);
	if (!d->want_b2)
		return 0;
	sign_hash_final(&d->b2, got);
	if (strcmp(got, f->blake2b) != 0)
		return snap_err_setc(err, SNAP_E_BLAKE2B, "blake2b mismatch "
		    "(blake2b %s, state records %s)", got, f->blake2b);
	return 0;
}

/*
 * The one reading loop. With d, every byte read is hashed before the
 * parser sees it, and a parse error does not stop the reading: the file is
 * read to its end (or just past its recorded size) so that the digest,
 * which says more, is reported first.
 */
static struct manifest *
read_stream(int fd, uint64_t max, struct digest *d, unsigned flags,
    struct snap_err *err)
{
	struct snap_reader r = { .m = manifest_new(),
	    .skip_full_events = (flags & MANIFEST_NO_FULL_EVENTS) != 0 };
	struct snap_err perr = SNAP_ERR_INIT;	/* why parsing stopped */
	size_t have = 0, chunk = 1 << 16;
	bool parsing = true;
	uint64_t total = 0;
	char *buf = NULL;
	ssize_t n, used;

	if (r.m == NULL || (buf = malloc(chunk + MANIFEST_LINE_MAX)) == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
		goto fail;
	}
	for (;;) {
		n = read(fd, buf + have, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snap_err_sys(err, errno, "read");
			goto fail;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (d != NULL) {
			hash_update(&d->h, buf + have, (size_t)n);
			if (d->want_b2)
				sign_hash_update(&d->b2, buf + have, (size_t)n);
		}
		if (total > max) {
			if (d != NULL)
				break;	/* digest_check() says how long */
			snap_err_setc(err, SNAP_E_TOO_LARGE, "over %llu bytes",
			    (unsigned long long)max);
			goto fail;
		}
		if (!parsing)
			continue;	/* have stays 0: only hashing */
		have += (size_t)n;
		if ((used = feed_lines(&r, buf, have, &perr)) == -1) {
			if (d == NULL)
				goto parse_failed;
			parsing = false;
			have = 0;
			continue;
		}
		memmove(buf, buf + used, have - (size_t)used);
		have -= (size_t)used;
	}
	if (d != NULL && digest_check(d, fd, total, err) == -1) {
		free(buf);
		manifest_free(r.m);
		return NULL;
	}
	if (!parsing)
		goto parse_failed;
	if (have != 0) {
		snap_err_setc(&perr, SNAP_E_MALFORMED,
		    "last line has no newline (truncated?)");
		goto parse_failed;
	}
	if (reader_finish(&r, &perr) == -1)
		goto parse_failed;
	free(buf);
	return r.m;
parse_failed:
	if (err != NULL)
		*err = perr;
fail:
	snap_err_prefix(err, "manifest");
	free(buf);
	manifest_free(r.m);
	return NULL;
}

struct manifest *
manifest_read(int fd, uint64_t max, struct snap_err *err)
{
	return read_stream(fd, max, NULL, 0, err);
}

struct manifest *
manifest_read_header(int fd, struct snap_err *err)
{
	struct snap_reader r = { .m = manifest_new() };
	char buf[MANIFEST_LINE_MAX + 1], *nl = NULL;
	ssize_t n;

	if (r.m == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "manifest: out of memory");
		return NULL;
	}
	if ((n = pread(fd, buf, sizeof(buf), 0)) == -1)
		snap_err_sys(err, errno, "manifest: read");
	else if ((nl = memchr(buf, '\n', (size_t)n)) == NULL)
		snap_err_setc(err, SNAP_E_MALFORMED,
		    "manifest: no header line");
	else if (feed_line(&r, buf, (size_t)(nl - buf), err) == -1)
		snap_err_prefix(err, "manifest");
	else
		return r.m;
	manifest_free(r.m);
	return NULL;
}

struct manifest *
manifest_read_checked(int fd, const struct state_file *f, unsigned flags,
    struct snap_err *err)
{
	struct digest *d = calloc(1, sizeof(*d));
	struct manifest *m;

	if (d == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "manifest: out of memory");
		return NULL;
	}
	d->expect = f;
	hash_init(&d->h);
	if ((d->want_b2 = f->blake2b[0] != '\0'))
		sign_hash_init(&d->b2);
	m = read_stream(fd, f->size, d, flags, err);
	free(d);
	return m;
}
