/*
 * overrides.h - local overrides of one gateway: artifacts undeployed or
 * deployed here only, kept across restarts and new upstream versions until
 * a redeploy clears them.
 *
 * Store: DEPLOY_ROOT/overrides/overrides.json (the list, written
 * atomically) and below DEPLOY_ROOT/overrides/ the content of each
 * deployed-local artifact at its place in a tree (DIR/NAME.xml, or NAME.xml
 * for a file at the top; names.h: name_path), written atomically before
 * the list names it.
 * The list is the truth: at start the agent rebuilds its release if what is
 * deployed does not match upstream plus overrides.
 */
#ifndef OVERRIDES_H
#define OVERRIDES_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "manifest.h"
#include "xmlcheck.h"
#include "snap_err.h"

enum ovr_state {
	OVR_UNDEPLOYED,		/* "undeployed-local" */
	OVR_DEPLOYED,		/* "deployed-local" */
};

struct override {
	int type;
	char *name;				/* owned */
	enum ovr_state state;
	char xxh128[HASH_HEX_LEN + 1];		/* local content; "" if undeployed */
	uint64_t size;
	char base[HASH_HEX_LEN + 1];		/* upstream's when made; "" if none */
	int64_t since;
	/* A deployed-local artifact's Synapse identity (identity.h) when it
	 * is not its name; "" otherwise. */
	char identity[XML_IDENTITY_MAX + 1];
};

struct overrides {
	int dirfd;				/* DEPLOY_ROOT/overrides */
	struct override *v;
	size_t n, cap;
};

#define OVERRIDES_INIT { .dirfd = -1 }

/* Opens (creating) the store below rootfd, removes the temp files a kill
 * left there, and loads the list. 0 or -1. */
int ovr_open(struct overrides *o, int rootfd, struct snap_err *err);
void ovr_close(struct overrides *o);	/* safe on OVERRIDES_INIT */

/* Writes the list atomically. 0 or -1. */
int ovr_save(struct overrides *o, struct snap_err *err);

struct override *ovr_find(const struct overrides *o, int type,
    const char *name);

/* Adds or replaces the override of type/name. 0 or -1 (out of memory). */
int ovr_set(struct overrides *o, int type, const char *name,
    enum ovr_state state, const char *xxh128, uint64_t size,
    const char *base);

/* Drops the override of type/name (its content file stays until
 * ovr_prune()). Returns 1 if there was one, 0 if not. */
int ovr_remove(struct overrides *o, int type, const char *name);

/* Writes the content of a deployed-local artifact (atomically). */
int ovr_write_content(struct overrides *o, int type, const char *name,
    const void *buf, size_t len, struct snap_err *err);

/* Removes content files no override names any more. */
void ovr_prune(struct overrides *o);

/* Deep copy (for rolling back a failed change). 0 or -1. */
int ovr_copy(struct overrides *dst, const struct overrides *src);
/* Frees the list only (not the dirfd): the other half of ovr_copy(). */
void ovr_clear(struct overrides *o);

/* Whether every artifact of m carries one of `labels` (NULL: all do):
 * with no override, whether ovr_target() would hold exactly m. */
bool ovr_all_labeled(const struct manifest *m, const char *labels);

/*
 * What the gateway must hold: the artifacts of `upstream` that share a label
 * with `labels` (NULL: all of them), with every override applied
 * (undeployed ones removed, deployed ones added or replacing, whatever their
 * labels: an operator's local deploy is deliberate). A new sorted manifest,
 * version fields copied from upstream; NULL on out of memory.
 */
struct manifest *ovr_target(const struct manifest *upstream,
    const struct overrides *o, const char *labels, struct snap_err *err);

const char *ovr_state_name(enum ovr_state s);

#endif
