/*
 * manifest.c - build, diff, write and (distrustfully) read manifests (see
 * manifest.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fsutil.h"
#include "jsonfield.h"
#include "manifest.h"
#include "names.h"

#define MANIFEST_FORMAT 1

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
		free(m->entries[i].labels);
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
	e->labels = strdup(labels != NULL ? labels : "default");
	if (e->name == NULL || e->labels == NULL) {
		free(e->name);
		free(e->labels);
		return -1;
	}
	m->n++;
	return 0;
}

static int
add_event(struct manifest *m, int type, const char *name,
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
			return snap_err_set(err, "%s/%s: listed twice",
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
			if (add_event(cur, p->type, p->name, MANIFEST_UNDEPLOY,
			    now) == -1)
				return -1;
			i++;
		} else if (cmp > 0) {
			c->updated_at = now;
			if (add_event(cur, c->type, c->name, MANIFEST_DEPLOY,
			    now) == -1)
				return -1;
			j++;
		} else {
			if (entry_same(p, c)) {
				c->updated_at = p->updated_at;
			} else {
				c->updated_at = now;
				if (add_event(cur, c->type, c->name,
				    MANIFEST_DEPLOY, now) == -1)
					return -1;
			}
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

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++) {
		const struct manifest_entry *x = &a->entries[i], *y = &b->entries[i];

		if (x->type != y->type || strcmp(x->name, y->name) != 0 ||
		    !entry_same(x, y))
			return false;
	}
	return true;
}

int
manifest_check_labels(const char *labels, struct snap_err *err)
{
	const char *p;
	size_t run = 0;

	if (*labels == '\0')
		return snap_err_set(err, "empty label list");
	for (p = labels;; p++) {
		if (*p == ',' || *p == '\0') {
			if (run == 0)
				return snap_err_set(err, "empty label in '%s'",
				    labels);
			if (*p == '\0')
				return 0;
			run = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return snap_err_set(err, "label list '%s' has a character "
			    "other than letters, digits, '.', '_', '-', ','",
			    labels);
		if (++run > 64)
			return snap_err_set(err, "label longer than 64 bytes");
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

static json_t *
entry_to_json(const struct manifest_entry *e)
{
	char when[32];

	fsu_rfc3339(e->updated_at, when);
	return json_pack("{s:s, s:s, s:o, s:I, s:s, s:s}",
	    "type", artifact_types[e->type].folder,
	    "name", e->name,
	    "labels", manifest_labels_json(e->labels),
	    "size", (json_int_t)e->size,
	    "xxh128", e->xxh128,
	    "updated_at", when);
}

static json_t *
event_to_json(const struct manifest_event *ev)
{
	char when[32], id[NAME_MAX_BYTES + 64];

	fsu_rfc3339(ev->updated_at, when);
	snprintf(id, sizeof(id), "%s/%s", artifact_types[ev->type].folder,
	    ev->name);
	return json_pack("{s:s, s:s, s:s, s:s}",
	    "id", id,
	    "type", artifact_types[ev->type].folder,
	    "action", ev->action == MANIFEST_DEPLOY ? "DEPLOY" : "UNDEPLOY",
	    "updated_at", when);
}

int
manifest_to_json(const struct manifest *m, char **out, size_t *len,
    struct snap_err *err)
{
	json_t *root = NULL, *arts, *evs;
	char when[32];
	size_t i;
	int rc = -1;

	*out = NULL;
	fsu_rfc3339(m->published_at, when);
	arts = json_array();
	evs = json_array();
	root = json_pack("{s:i, s:I, s:I, s:s, s:I, s:o, s:o}",
	    "format", MANIFEST_FORMAT,
	    "version", (json_int_t)m->version,
	    "parent_version", (json_int_t)m->parent_version,
	    "published_at", when,
	    "artifact_count", (json_int_t)m->n,
	    "artifacts", arts,
	    "events", evs);
	if (root == NULL)
		goto out;
	for (i = 0; i < m->n; i++)
		if (json_array_append_new(arts, entry_to_json(&m->entries[i])))
			goto out;
	for (i = 0; i < m->nev; i++)
		if (json_array_append_new(evs, event_to_json(&m->events[i])))
			goto out;
	/* One artifact per line: diffable by hand, still plain JSON. */
	*out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (*out == NULL)
		goto out;
	*len = strlen(*out);
	rc = 0;
out:
	if (rc == -1)
		snap_err_set(err, "manifest: out of memory");
	json_decref(root);
	return rc;
}

int
manifest_check_total(const struct manifest *m, struct snap_err *err)
{
	uint64_t total = 0;
	size_t i;

	/* Each size is at most ARTIFACT_MAX_BYTES: the sum cannot wrap. */
	for (i = 0; i < m->n; i++)
		total += m->entries[i].size;
	if (total > TREE_MAX_BYTES)
		return snap_err_set(err, "artifacts add up to %llu bytes, over "
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
		return snap_err_set(err, "'type' is not an artifact type");
	return 0;
}

static int
get_name(json_t *obj, const char **name, struct snap_err *err)
{
	json_t *v = json_object_get(obj, "name");

	if (!json_is_string(v))
		return snap_err_set(err, "'name' is not a string");
	*name = json_string_value(v);
	/* An embedded NUL would hide the rest of the name from every check. */
	if (strlen(*name) != json_string_length(v))
		return snap_err_set(err, "'name' holds a NUL byte");
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
		return snap_err_set(err, "'labels' is not a non-empty array");
	json_array_foreach(arr, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		int n;

		if (s == NULL || strchr(s, ',') != NULL)
			return snap_err_set(err, "'labels' holds a bad label");
		n = snprintf(out + used, outlen - used, "%s%s", i ? "," : "", s);
		if (n < 0 || (size_t)n >= outlen - used)
			return snap_err_set(err, "'labels' is too long");
		used += (size_t)n;
	}
	return manifest_check_labels(out, err);
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
		return snap_err_set(err, "artifact is not an object");
	if (get_type(obj, &type, err) == -1 || get_name(obj, &name, err) == -1)
		return -1;
	if (get_labels(obj, labels, sizeof(labels), err) == -1 ||
	    jf_uint(obj, "size", &size, err) == -1 ||
	    jf_time(obj, "updated_at", &when, err) == -1)
		return snap_err_prefix(err, "%s/%s",
		    artifact_types[type].folder, name);
	if (size > ARTIFACT_MAX_BYTES)
		return snap_err_set(err, "%s/%s: size %llu is over the %u-byte "
		    "limit", artifact_types[type].folder, name,
		    (unsigned long long)size, ARTIFACT_MAX_BYTES);
	xxh = json_string_value(json_object_get(obj, "xxh128"));
	if (xxh == NULL || !hash_is_hex(xxh))
		return snap_err_set(err, "%s/%s: 'xxh128' is not 32 lower-case "
		    "hex digits", artifact_types[type].folder, name);
	if (manifest_add(m, type, name, labels, size, xxh, when) == -1)
		return snap_err_set(err, "out of memory");
	return 0;
}

static int
parse_event(struct manifest *m, json_t *obj, struct snap_err *err)
{
	const char *id, *action, *slash;
	enum manifest_action act;
	int64_t when;
	int type;

	if (!json_is_object(obj))
		return snap_err_set(err, "event is not an object");
	id = json_string_value(json_object_get(obj, "id"));
	action = json_string_value(json_object_get(obj, "action"));
	if (id == NULL || (slash = strchr(id, '/')) == NULL)
		return snap_err_set(err, "event 'id' is not TYPE/NAME");
	if (get_type(obj, &type, err) == -1 ||
	    jf_time(obj, "updated_at", &when, err) == -1)
		return snap_err_prefix(err, "event %s", id);
	if (strncmp(id, artifact_types[type].folder, (size_t)(slash - id)) ||
	    artifact_types[type].folder[slash - id] != '\0')
		return snap_err_set(err, "event %s: 'type' does not match 'id'",
		    id);
	if (name_check(slash + 1, err) == -1)
		return snap_err_prefix(err, "event %s", id);
	if (action != NULL && strcmp(action, "DEPLOY") == 0)
		act = MANIFEST_DEPLOY;
	else if (action != NULL && strcmp(action, "UNDEPLOY") == 0)
		act = MANIFEST_UNDEPLOY;
	else
		return snap_err_set(err, "event %s: 'action' is not DEPLOY or "
		    "UNDEPLOY", id);
	if (add_event(m, type, slash + 1, act, when) == -1)
		return snap_err_set(err, "out of memory");
	return 0;
}

static int
parse_header(struct manifest *m, json_t *root, struct snap_err *err)
{
	uint64_t format, count;

	if (!json_is_object(root))
		return snap_err_set(err, "not a JSON object");
	if (jf_uint(root, "format", &format, err) == -1)
		return -1;
	if (format != MANIFEST_FORMAT)
		return snap_err_set(err, "format %llu is not supported "
		    "(this build reads %d)", (unsigned long long)format,
		    MANIFEST_FORMAT);
	if (jf_uint(root, "version", &m->version, err) == -1 ||
	    jf_uint(root, "parent_version", &m->parent_version, err) == -1 ||
	    jf_time(root, "published_at", &m->published_at, err) == -1 ||
	    jf_uint(root, "artifact_count", &count, err) == -1)
		return -1;
	if (m->version == 0 || m->parent_version >= m->version)
		return snap_err_set(err, "version %llu with parent %llu is not "
		    "a forward step", (unsigned long long)m->version,
		    (unsigned long long)m->parent_version);
	if (!json_is_array(json_object_get(root, "artifacts")) ||
	    !json_is_array(json_object_get(root, "events")))
		return snap_err_set(err, "'artifacts' or 'events' is not an "
		    "array");
	if (count != json_array_size(json_object_get(root, "artifacts")))
		return snap_err_set(err, "'artifact_count' is %llu but %zu "
		    "artifacts are listed", (unsigned long long)count,
		    json_array_size(json_object_get(root, "artifacts")));
	return 0;
}

struct manifest *
manifest_from_json(const char *buf, size_t len, struct snap_err *err)
{
	struct manifest *m = NULL;
	json_t *root, *v;
	json_error_t jerr;
	size_t i;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snap_err_set(err, "manifest: malformed JSON at line %d: %s",
		    jerr.line, jerr.text);
		return NULL;
	}
	if ((m = manifest_new()) == NULL) {
		snap_err_set(err, "manifest: out of memory");
		goto fail;
	}
	if (parse_header(m, root, err) == -1)
		goto fail;
	json_array_foreach(json_object_get(root, "artifacts"), i, v)
		if (parse_entry(m, v, err) == -1)
			goto fail;
	json_array_foreach(json_object_get(root, "events"), i, v)
		if (parse_event(m, v, err) == -1)
			goto fail;
	if (manifest_sort(m, err) == -1 || manifest_check_total(m, err) == -1)
		goto fail;
	json_decref(root);
	return m;
fail:
	snap_err_prefix(err, "manifest");
	json_decref(root);
	manifest_free(m);
	return NULL;
}
