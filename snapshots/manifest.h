/*
 * manifest.h - the list of artifacts in one version and the events that led
 * to it from its parent.
 *
 * In memory a manifest is an array of entries sorted by (type, name), so
 * that lookups are binary searches and two manifests diff in one merge pass.
 * A full manifest lists every artifact of its version; a delta lists only
 * the artifacts added or changed since its parent, and its UNDEPLOY events
 * are the removals: parent + delta = the version (manifest_apply_delta).
 *
 * On disk (format 2, schemas/manifest.schema.json) it is one JSON object
 * per line, so that 100,000 artifacts stream through constant memory:
 *	{"format":2,"kind":"full"|"delta","version":42,"parent_version":41,
 *	 "published_at":"...","artifact_count":N,"event_count":M}
 *	{"type":"api","name":"Foo","labels":["default"],"size":..,
 *	 "xxh128":"..","updated_at":".."}            (N lines)
 *	{"id":"api/Foo","type":"api","action":"DEPLOY","updated_at":".."}
 *	                                             (M lines)
 * The reader trusts nothing: every line is bounded and type-checked, every
 * name goes through name_check(), every checksum must be 32 lower-case hex
 * digits, the counts must match, and duplicates are refused.
 *
 * Files: manifest.c (the model: build, sort, find, compare, copy),
 * manifest_diff.c (events and deltas between versions), manifest_apply.c
 * (a delta applied, in place and undoable when small), manifest_write.c and
 * manifest_read.c (the JSON lines out and in).
 */
#ifndef MANIFEST_H
#define MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "snap_err.h"

struct state_file;		/* state.h */

enum manifest_action {
	MANIFEST_DEPLOY,
	MANIFEST_UNDEPLOY,
};

struct manifest_entry {
	int type;			/* index into artifact_types[] */
	char *name;			/* owned; holds identity too */
	/* What Synapse knows it by (xmlcheck.h), when that is not name:
	 * "" for none (config files, anonymous endpoints); NULL when it is
	 * name itself. Points into name's allocation: never freed apart. */
	const char *identity;
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

enum manifest_kind {
	MANIFEST_FULL,
	MANIFEST_DELTA,
};

struct manifest {
	enum manifest_kind kind;
	uint64_t version;
	uint64_t parent_version;	/* 0: none */
	int64_t published_at;
	struct manifest_entry *entries;
	size_t n, cap;
	/* The sum of the entries' sizes, kept by every function here that
	 * adds, changes or removes entries (so that checking it costs
	 * nothing): code that sets an entry's size itself must keep it. */
	uint64_t total_bytes;
	/* The type folders the tree has (bit i: artifact_types[i]), empty
	 * ones included, when has_folders; else (a manifest of an older
	 * publisher) every folder that holds an artifact, and the first ten. */
	uint32_t folders;
	bool has_folders;
	/* Its entries' identities were computed (a validating publisher):
	 * an entry without one is known by its name. Else they are unknown,
	 * and nobody checks them. */
	bool has_identities;
	struct manifest_event *events;
	size_t nev, evcap;
};

/* An empty manifest (version 0), or NULL on out of memory. */
struct manifest *manifest_new(void);
void manifest_free(struct manifest *m);	/* NULL is a no-op */

/* Room for n entries in all, at once: a reader that knows its count
 * spares the doublings and their copies. 0 or -1 (out of memory). */
int manifest_reserve(struct manifest *m, size_t n);

/* Appends an entry (copies name and labels; NULL labels = "default").
 * Call manifest_sort() after the last add. 0 or -1 (out of memory). */
int manifest_add(struct manifest *m, int type, const char *name,
    const char *labels, uint64_t size, const char *xxh128, int64_t updated_at);

/* Appends a copy of e (name, identity, labels and all). 0 or -1. */
int manifest_add_entry(struct manifest *m, const struct manifest_entry *e);

/* Sets e's identity (NULL or equal to the name: the name itself). 0 or -1
 * (out of memory). */
int manifest_entry_set_identity(struct manifest_entry *e,
    const char *identity);

/* What Synapse knows e by: its identity, or its name; "" for none. */
const char *manifest_identity(const struct manifest_entry *e);

/* The type folders a tree of m's holds (see has_folders). */
uint32_t manifest_folders(const struct manifest *m);

/* Replaces e's label list with a copy of labels. 0 or -1 (out of memory). */
int manifest_entry_set_labels(struct manifest_entry *e, const char *labels);

/* Appends an event (copies name). 0 or -1 (out of memory). */
int manifest_add_event(struct manifest *m, int type, const char *name,
    enum manifest_action action, int64_t when);

/* Sorts by (type, name). -1 with err naming the first duplicate. */
int manifest_sort(struct manifest *m, struct snap_err *err);

/* The entry for type/name, or NULL. The manifest must be sorted. */
struct manifest_entry *manifest_find(const struct manifest *m, int type,
    const char *name);

/*
 * The updated_at of an artifact whose content is now xxh128, once old (NULL:
 * new) at `now`: old's when the bytes are the same (a change of labels
 * only), else a time after old's, `now` if it is. Deployed files carry it
 * as their mtime, and WSO2 redeploys a file whose mtime changed: two
 * changes within one second must not share one.
 */
int64_t manifest_stamp(const struct manifest_entry *old, const char *xxh128,
    int64_t now);

/*
 * Fills cur->events with what changed from prev (NULL = empty): DEPLOY for
 * every added or changed artifact (labels included), UNDEPLOY for every
 * removed one, stamped `now`. Entries get manifest_stamp()'s updated_at.
 * Both must be sorted. 0 or -1 (out of memory).
 */
int manifest_diff(const struct manifest *prev, struct manifest *cur,
    int64_t now);

/* Drops the events (keeps the entries). */
void manifest_clear_events(struct manifest *m);

/* true when both hold the same artifacts with the same checksums and labels. */
bool manifest_same_content(const struct manifest *a, const struct manifest *b);

/* Streams the manifest to fd. f, when not NULL, gets the size, XXH128 and
 * BLAKE2b of the bytes written, hashed as they are written (its name is
 * left alone): the state record of the file. 0 or -1 with err. */
int manifest_write(const struct manifest *m, int fd, struct state_file *f,
    struct snap_err *err);

/* The same, into a malloc'ed buffer (*out, owned by the caller). */
int manifest_to_json(const struct manifest *m, char **out, size_t *len,
    struct snap_err *err);

/* 0 when the artifacts add up to at most TREE_MAX_BYTES; -1 with err. */
int manifest_check_total(const struct manifest *m, struct snap_err *err);

/* Parses and validates JSON (and manifest_check_total); the result is
 * sorted. NULL with err. */
struct manifest *manifest_from_json(const char *buf, size_t len,
    struct snap_err *err);

/* The same, streaming from fd (at most max bytes), in bounded memory
 * beyond the manifest itself. */
struct manifest *manifest_read(int fd, uint64_t max, struct snap_err *err);

/* Only the header line of the manifest at fd's start, checked as the
 * readers check it: a manifest with no entries or events, NULL with err. */
struct manifest *manifest_read_header(int fd, struct snap_err *err);

/*
 * manifest_read() of a file that state record f describes: its size,
 * XXH128 and (when f has one) BLAKE2b are computed over the very bytes
 * that are parsed, in the same single pass, and compared before the
 * manifest is returned - a file rewritten while it is read cannot slip
 * unchecked bytes into the result. A file that does not match is
 * reported as such ("N bytes, state records M", "checksum mismatch",
 * "blake2b mismatch"), even where it also fails to parse: it is read to
 * its end, or to one read past f->size, either way. NULL with err.
 *
 * flags: MANIFEST_NO_FULL_EVENTS leaves out a full manifest's events
 * (version 1's is a DEPLOY per artifact): their lines are counted against
 * the header, bounded and hashed like every other, but not parsed, and
 * the result has none. A delta's events are always read (they hold its
 * removals).
 */
#define MANIFEST_NO_FULL_EVENTS	1u
struct manifest *manifest_read_checked(int fd, const struct state_file *f,
    unsigned flags, struct snap_err *err);

/*
 * The delta from prev (a full manifest, or NULL) to cur (full, sorted, with
 * events from manifest_diff): a new manifest of kind MANIFEST_DELTA holding
 * cur's version, the entries of cur that are new or changed, and cur's
 * events. NULL on out of memory.
 */
struct manifest *manifest_delta(const struct manifest *cur);

/*
 * The delta that takes full manifest prev to full manifest cur, both
 * sorted and left as they are: kind MANIFEST_DELTA, cur's version and
 * time, parent prev's version; cur's entries that prev lacks or holds
 * otherwise (as cur has them), a DEPLOY event for each and an UNDEPLOY
 * event for each entry of prev that cur lacks. NULL on out of memory.
 */
struct manifest *manifest_between(const struct manifest *prev,
    const struct manifest *cur);

/*
 * Applies delta d (its parent must be m's version) to the full manifest m
 * in place: changed and new entries replace or join m's, UNDEPLOY events
 * remove them; m takes d's version, parent, time and events. A delta that
 * does not fit (wrong parent, removing what m lacks, an entry also
 * removed) is refused with err and m is left unchanged. 0 or -1.
 */
int manifest_apply_delta(struct manifest *m, const struct manifest *d,
    struct snap_err *err);

/*
 * Undoable apply, for a reader that keeps one big manifest and moves it
 * from version to version: manifest_apply_delta_undoable() applies a small
 * delta (at most MANIFEST_UNDO_OPS - 4 entries, at most 4 of them added or
 * removed) in place, at the cost of the change, and records in u what it
 * replaced, added and removed - the old entries themselves, nothing of m
 * is freed. manifest_undo() then puts m back exactly as it was, and cannot
 * fail (m never needs more room than it had); manifest_undo_forget() keeps
 * the change and frees what u held. Undo records of successive deltas are
 * undone last first. 1 when d is not small (nothing done: apply it with
 * manifest_apply_delta()), 0, or -1 with err (m unchanged).
 */
#define MANIFEST_UNDO_OPS 20

enum manifest_undo_kind {
	MANIFEST_UNDO_ADDED,		/* e: its key (m owns the strings) */
	MANIFEST_UNDO_REPLACED,		/* e: the old entry, owned */
	MANIFEST_UNDO_REMOVED,		/* e: the old entry, owned */
};

struct manifest_undo {
	struct manifest_undo_op {
		enum manifest_undo_kind kind;
		struct manifest_entry e;
	} ops[MANIFEST_UNDO_OPS];
	size_t nops;
	struct manifest was;	/* m's header, byte count and events
				 * (owned), as they were */
};

int manifest_apply_delta_undoable(struct manifest *m, const struct manifest *d,
    struct manifest_undo *u, struct snap_err *err);
void manifest_undo(struct manifest *m, struct manifest_undo *u);
void manifest_undo_forget(struct manifest_undo *u);

/* A deep copy, or NULL on out of memory. */
struct manifest *manifest_dup(const struct manifest *m);

/* A comma-separated label list as a JSON array of strings (a new
 * reference, or NULL on out of memory). */
struct json_t;
struct json_t *manifest_labels_json(const char *labels);

/* Checks a comma-separated label list (letters, digits, '.', '_', '-'). */
int manifest_check_labels(const char *labels, struct snap_err *err);

#endif
