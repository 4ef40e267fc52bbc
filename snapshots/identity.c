/*
 * identity.c - duplicate identities and lookups by identity (see
 * identity.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "names.h"

static const char *
id_of(const struct manifest_entry *e)
{
	return manifest_identity(e);
}

static int
by_identity(const void *a, const void *b)
{
	const struct manifest_entry *x = *(const struct manifest_entry *const *)a;
	const struct manifest_entry *y = *(const struct manifest_entry *const *)b;
	int c;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if ((c = strcmp(id_of(x), id_of(y))) != 0)
		return c;
	return strcmp(x->name, y->name);
}

static void
clash(const struct manifest_entry *e, const struct manifest_entry *other,
    const char *label, struct report *rep)
{
	char path[NAME_PATH_MAX], opath[NAME_PATH_MAX], full[PATH_MAX + 8];

	name_path(e->type, e->name, path, sizeof(path));
	name_path(other->type, other->name, opath, sizeof(opath));
	snprintf(full, sizeof(full), "%s/%s", label, path);
	report_add(rep, REPORT_ERROR, full, 0, "%s '%s' is also defined by %s "
	    "(Synapse would deploy only one of them)",
	    artifact_types[e->type].what, id_of(e), opath);
}

size_t
identity_check_all(const struct manifest *m, const char *label,
    struct report *rep)
{
	const struct manifest_entry **v;
	size_t i, first = 0, n = 0, found = 0;

	if ((v = malloc((m->n + 1) * sizeof(*v))) == NULL) {
		report_add(rep, REPORT_ERROR, label, 0, "out of memory checking "
		    "artifact names");
		return 1;
	}
	for (i = 0; i < m->n; i++)
		if (*id_of(&m->entries[i]) != '\0')
			v[n++] = &m->entries[i];
	qsort(v, n, sizeof(*v), by_identity);
	/* Each file of a run of one identity names the run's first file. */
	for (i = 1; i < n; i++) {
		if (v[i]->type != v[first]->type ||
		    strcmp(id_of(v[i]), id_of(v[first])) != 0) {
			first = i;
			continue;
		}
		clash(v[i], v[first], label, rep);
		found++;
	}
	free(v);
	return found;
}

/* Whether delta d removes type/name (an UNDEPLOY event). */
static bool
removes(const struct manifest *d, int type, const char *name)
{
	size_t i;

	for (i = 0; i < d->nev; i++)
		if (d->events[i].action == MANIFEST_UNDEPLOY &&
		    d->events[i].type == type &&
		    strcmp(d->events[i].name, name) == 0)
			return true;
	return false;
}

/* The first entry of m of `type` or a later type (m is sorted). */
static size_t
first_of_type(const struct manifest *m, int type)
{
	size_t lo = 0, hi = m->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->entries[mid].type < type)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t
identity_check_delta(const struct manifest *m, const struct manifest *d,
    const char *label, struct report *rep)
{
	const struct manifest_entry *e, *o;
	size_t i, j, found = 0;

	for (i = 0; i < d->n; i++) {
		e = &d->entries[i];
		if (*id_of(e) == '\0')
			continue;
		for (j = i + 1; j < d->n; j++) {
			o = &d->entries[j];
			if (o->type == e->type && strcmp(id_of(o), id_of(e)) == 0) {
				clash(o, e, label, rep);
				found++;
			}
		}
		for (j = m != NULL ? first_of_type(m, e->type) : 0;
		    m != NULL && j < m->n && m->entries[j].type == e->type; j++) {
			o = &m->entries[j];
			if (strcmp(id_of(o), id_of(e)) != 0 ||
			    manifest_find(d, o->type, o->name) != NULL ||
			    removes(d, o->type, o->name))
				continue;
			clash(e, o, label, rep);
			found++;
		}
	}
	return found;
}

const struct manifest_entry *
identity_find(const struct manifest *m, int type, const char *id,
    bool *ambiguous)
{
	const struct manifest_entry *e, *hit = NULL;
	size_t j;

	*ambiguous = false;
	if (m == NULL || *id == '\0')
		return NULL;
	for (j = first_of_type(m, type); j < m->n &&
	    m->entries[j].type == type; j++) {
		e = &m->entries[j];
		if (strcmp(id_of(e), id) != 0)
			continue;
		if (hit != NULL) {
			*ambiguous = true;
			return NULL;
		}
		hit = e;
	}
	return hit;
}

const struct manifest_entry *
identity_lookup(const struct manifest *m, int type, const char *name,
    bool *ambiguous)
{
	const struct manifest_entry *e;

	*ambiguous = false;
	if (m != NULL && (e = manifest_find(m, type, name)) != NULL)
		return e;
	return identity_find(m, type, name, ambiguous);
}
