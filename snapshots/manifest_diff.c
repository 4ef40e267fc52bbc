/*
 * manifest_diff.c - the delta algebra (see manifest.h): what changed
 * between two full manifests, as events on the newer one
 * (manifest_diff), as a delta manifest (manifest_delta,
 * manifest_between), and the time an artifact changed (manifest_stamp).
 *
 * Calling sequence: a publisher sorts the new tree's manifest cur, calls
 * manifest_diff(prev, cur, now) for its events and stamps, then
 * manifest_delta(cur) when the version is published as a delta. A reader
 * that holds two full versions calls manifest_between(prev, cur). All of
 * them read their inputs only (manifest_diff adds events to cur and sets
 * its stamps); each returns -1 (NULL) on out of memory alone, leaving no
 * half-built result behind.
 */
#include <stdlib.h>
#include <string.h>

#include "manifest_int.h"

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

/* A new delta without entries or events: cur's header, on `parent`. NULL
 * on out of memory. */
static struct manifest *
delta_new(const struct manifest *cur, uint64_t parent)
{
	struct manifest *d = manifest_new();

	if (d == NULL)
		return NULL;
	d->kind = MANIFEST_DELTA;
	header_copy(d, cur);
	d->parent_version = parent;
	return d;
}

struct manifest *
manifest_between(const struct manifest *prev, const struct manifest *cur)
{
	struct manifest *d = delta_new(cur, prev->version);
	size_t i = 0, j = 0;
	int cmp, rc = 0;

	if (d == NULL)
		return NULL;
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
	struct manifest *d = delta_new(cur, cur->parent_version);
	const struct manifest_entry *e;
	struct snap_err ignored;
	size_t i;

	if (d == NULL)
		return NULL;
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
