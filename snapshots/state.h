/*
 * state.h - state.json: the one file that says which version is the latest.
 *
 * A publisher writes the snapshot files first and state.json last, by
 * rename; a reader that finds state.json can therefore expect every file it
 * names to be complete, and checks that with the checksums it carries. A copy
 * of each version's state is kept as snapshots/<V>.state.json so that any
 * retained version can be verified and rolled back to.
 *
 * JSON (schemas/state.schema.json):
 *	{ "format": 2 or 3, "cluster_id", "node_id", "node_version",
 *	  "version", "parent_version", "base_version", "published_at",
 *	  "last_sync_at", ["expires_at",] "artifact_count",
 *	  "files": [ { "role", "version", "name", "size", "xxh128",
 *	               "blake2b" } ] }
 * A version is a full snapshot (base_version) and the chain of deltas that
 * lead from it to this version, oldest first. "files" lists the base's
 * "manifest" and "archive", then each delta's "delta-manifest" and
 * "delta-archive". A full version is its own base, with no deltas.
 * "blake2b" (BLAKE2b-256, lower-case hex) is optional for a reader; a
 * publisher always writes it, and a signed state.json must carry it in
 * every file record, the base's and every delta's (sign.h says why).
 * Format 3 is format 2 plus "expires_at" (RFC 3339 UTC), which it must
 * carry: the time after which a reader that checks freshness no longer
 * believes it (fresh.h), set by a signing publisher. A state without an
 * expiry is written as format 2, which older readers read as before; a
 * format 3 state is refused by them by its number, clearly.
 * Format 4 is a state published under a failover coordinator (ha shared or
 * etcd; epoch.h): format 2, "expires_at" as an option, plus "epoch" (the
 * publisher's fencing token, at least 1), "epoch_base_version" (the seal:
 * the last version of earlier epochs this epoch builds on, 0 for none,
 * below version) and "ha" ("shared" or "etcd"). Without a coordinator a
 * publisher keeps writing 2 or 3; readers of format 3 refuse 4 by number.
 * File names are not trusted: they must be exactly
 * snapshots/<v>.manifest.json, snapshots/<v>.tar.zst,
 * snapshots/<v>.delta.json and snapshots/<v>.delta.tar.zst.
 */
#ifndef STATE_H
#define STATE_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "snap_err.h"

#define STATE_FILE "state.json"
#define STATE_MAX_BYTES (256 * 1024)
#define STATE_CHAIN_MAX 256		/* deltas past one full snapshot */
#define STATE_ID_MAX 128
#define STATE_B2_HEX_LEN 64
/* The highest version: 2^53 - 1, the largest integer every JSON reader
 * (JavaScript's included) keeps exact. A state naming more is refused, and
 * a publisher stops there with an error rather than wrap. */
#define STATE_VERSION_MAX 9007199254740991ULL

struct state_file {
	char name[96];			/* relative to the sync root */
	uint64_t size;
	char xxh128[HASH_HEX_LEN + 1];
	char blake2b[STATE_B2_HEX_LEN + 1];	/* "" when not recorded */
};

/* One delta: the artifacts changed in `version`, against its parent. */
struct state_delta {
	uint64_t version;
	struct state_file manifest;
	struct state_file archive;
};

struct snap_state {
	char cluster_id[STATE_ID_MAX];
	char node_id[STATE_ID_MAX];
	char node_version[64];
	uint64_t version;
	uint64_t parent_version;
	int64_t published_at;
	int64_t last_sync_at;
	int64_t expires_at;		/* 0: none (format 2) */
	uint64_t epoch;			/* 0: none (format 2, 3) */
	uint64_t epoch_base_version;	/* with an epoch: the seal */
	char ha[8];			/* with an epoch: "shared", "etcd" */
	uint64_t artifact_count;
	uint64_t base_version;		/* the full snapshot below the chain */
	struct state_file manifest;	/* the base's */
	struct state_file archive;	/* the base's */
	size_t ndeltas;
	struct state_delta deltas[STATE_CHAIN_MAX];	/* oldest first */
	unsigned unhashed;		/* file records without a blake2b */
};

/* The file names version V uses, relative to the sync root. */
void state_manifest_name(uint64_t version, char *out, size_t outlen);
void state_archive_name(uint64_t version, char *out, size_t outlen);
void state_copy_name(uint64_t version, char *out, size_t outlen);
void state_delta_manifest_name(uint64_t version, char *out, size_t outlen);
void state_delta_archive_name(uint64_t version, char *out, size_t outlen);

/* Serializes to a malloc'ed buffer (*out, owned by the caller). */
int state_to_json(const struct snap_state *s, char **out, size_t *len,
    struct snap_err *err);
/* Parses and validates; -1 with a message naming the bad field. */
int state_from_json(const char *buf, size_t len, struct snap_state *s,
    struct snap_err *err);
/* Reads and parses rootfd/name (bounded to STATE_MAX_BYTES). */
int state_read(int rootfd, const char *name, struct snap_state *s,
    struct snap_err *err);

/* Checks an id (cluster_id, node_id): 1..127 bytes of [A-Za-z0-9._-]. */
int state_check_id(const char *id, struct snap_err *err);

/* 0 when s is cluster_id's state; -1 (SNAP_E_WRONG_CLUSTER) with a message
 * naming both ids otherwise. */
int state_check_cluster(const struct snap_state *s, const char *cluster_id,
    struct snap_err *err);

/* What names a version's content: XXH128 over its version and every file
 * record (name, size, XXH128, BLAKE2b), in a fixed layout. Two states with
 * the same digest send a reader to the same bytes; times and ids do not
 * count. */
void state_digest(const struct snap_state *s, char out[HASH_HEX_LEN + 1]);

#endif
