/*
 * manifest_apply.c - a delta applied to a full manifest (see manifest.h):
 * merged in one pass (manifest_apply_delta), or, for the small delta a
 * reader mostly sees, in place with a record to undo it
 * (manifest_apply_delta_undoable, manifest_undo, manifest_undo_forget).
 *
 * Calling sequence: manifest_apply_delta(m, d) when m moves for good; or
 * manifest_apply_delta_undoable(m, d, &u) - 1 means "not small: merge
 * instead" - then later either manifest_undo(m, &u) (m exactly as it was;
 * cannot fail) or manifest_undo_forget(&u) (keep the change), the records
 * of successive deltas last first. Error contract: every allocation comes
 * before the first change, so a -1 (SNAP_E_MALFORMED for a delta that
 * does not fit m, SNAP_E_NOMEM) leaves m unchanged.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "manifest_int.h"
#include "names.h"

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
	header_copy(m, d);
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
