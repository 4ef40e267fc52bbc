/*
 * manifest.h - the list of artifacts in one version and the events that led
 * to it from its parent.
 *
 * In memory a manifest is an array of entries sorted by (type, name), so
 * that lookups are binary searches and two manifests diff in one merge pass.
 * On disk it is JSON (schemas/manifest.schema.json):
 *	{ "format": 1, "version": 42, "parent_version": 41,
 *	  "published_at": "...", "artifact_count": N,
 *	  "artifacts": [ { "type", "name", "labels", "size", "xxh128",
 *	                   "updated_at" }, ... ],
 *	  "events": [ { "id": "api/Foo", "type", "action", "updated_at" } ] }
 * The reader trusts nothing: every field is type-checked, every name goes
 * through name_check(), every checksum must be 32 lower-case hex digits, and
 * duplicates are refused.
 */
#ifndef MANIFEST_H
#define MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "snap_err.h"

enum manifest_action {
	MANIFEST_DEPLOY,
	MANIFEST_UNDEPLOY,
};

struct manifest_entry {
	int type;			/* index into artifact_types[] */
	char *name;			/* owned */
	char *labels;			/* owned; comma-separated, "default" */
	uint64_t size;
	int64_t updated_at;		/* version time it last changed */
	char xxh128[HASH_HEX_LEN + 1];
};

struct manifest_event {
	int type;
	char *name;			/* owned */
	enum manifest_action action;
	int64_t updated_at;
};

struct manifest {
	uint64_t version;
	uint64_t parent_version;	/* 0: none */
	int64_t published_at;
	struct manifest_entry *entries;
	size_t n, cap;
	struct manifest_event *events;
	size_t nev, evcap;
};

/* An empty manifest (version 0), or NULL on out of memory. */
struct manifest *manifest_new(void);
void manifest_free(struct manifest *m);	/* NULL is a no-op */

/* Appends an entry (copies name and labels; NULL labels = "default").
 * Call manifest_sort() after the last add. 0 or -1 (out of memory). */
int manifest_add(struct manifest *m, int type, const char *name,
    const char *labels, uint64_t size, const char *xxh128, int64_t updated_at);

/* Sorts by (type, name). -1 with err naming the first duplicate. */
int manifest_sort(struct manifest *m, struct snap_err *err);

/* The entry for type/name, or NULL. The manifest must be sorted. */
struct manifest_entry *manifest_find(const struct manifest *m, int type,
    const char *name);

/*
 * Fills cur->events with what changed from prev (NULL = empty): DEPLOY for
 * every added or changed artifact, UNDEPLOY for every removed one, stamped
 * `now`. Unchanged entries keep prev's updated_at; changed ones get `now`.
 * Both must be sorted. 0 or -1 (out of memory).
 */
int manifest_diff(const struct manifest *prev, struct manifest *cur,
    int64_t now);

/* Drops the events (keeps the entries). */
void manifest_clear_events(struct manifest *m);

/* true when both hold the same artifacts with the same checksums and labels. */
bool manifest_same_content(const struct manifest *a, const struct manifest *b);

/* Serializes to a malloc'ed JSON buffer (*out, owned by the caller). */
int manifest_to_json(const struct manifest *m, char **out, size_t *len,
    struct snap_err *err);

/* 0 when the artifacts add up to at most TREE_MAX_BYTES; -1 with err. */
int manifest_check_total(const struct manifest *m, struct snap_err *err);

/* Parses and validates JSON (and manifest_check_total); the result is
 * sorted. NULL with err. */
struct manifest *manifest_from_json(const char *buf, size_t len,
    struct snap_err *err);

/* A comma-separated label list as a JSON array of strings (a new
 * reference, or NULL on out of memory). */
struct json_t;
struct json_t *manifest_labels_json(const char *labels);

/* Checks a comma-separated label list (letters, digits, '.', '_', '-'). */
int manifest_check_labels(const char *labels, struct snap_err *err);

#endif
