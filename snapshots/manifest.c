/*
 * manifest.c - the manifest in memory (see manifest.h): entries sorted by
 * (type, name) and the events of a version, built, looked up, compared and
 * copied.
 *
 * Calling sequence: m = manifest_new(); manifest_add() or
 * manifest_add_entry() for each artifact, manifest_add_event() for each
 * event; manifest_sort() once after the last add (it refuses a name listed
 * twice); then manifest_find(), manifest_same_content(), manifest_dup();
 * manifest_free(m) always (NULL is a no-op). Every function that allocates
 * returns -1 (NULL) on out of memory and leaves m as it was; those that
 * judge (manifest_sort, manifest_check_total, manifest_check_labels) fill
 * err with SNAP_E_MALFORMED or SNAP_E_TOO_LARGE.
 *
 * Elsewhere: the delta algebra (manifest_diff.c), applying a delta in place
 * (manifest_apply.c), the JSON lines out (manifest_write.c) and in
 * (manifest_read.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_int.h"
#include "names.h"

/*
 * Nearly every artifact carries the label list "default": one shared
 * string for it, not 100,000 copies (a fifth of a big manifest's memory).
 */
char manifest_default_labels[] = "default";

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
manifest_reserve(struct manifest *m, size_t n)
{
	void *p;

	if (n <= m->cap)
		return 0;
	if (n > SIZE_MAX / sizeof(*m->entries) ||
	    (p = realloc(m->entries, n * sizeof(*m->entries))) == NULL)
		return -1;
	m->entries = p;
	m->cap = n;
	return 0;
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
	/* Not snprintf: this runs once per artifact of every manifest read
	 * (10,000 snprintf calls were 8 % of a one-shot publish). e is
	 * zeroed: the copy stays terminated. */
	memcpy(e->xxh128, xxh128, strnlen(xxh128, sizeof(e->xxh128) - 1));
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
	header_copy(c, m);
	c->total_bytes = m->total_bytes;
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
