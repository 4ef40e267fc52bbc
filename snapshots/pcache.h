/*
 * pcache.h - the publish cache: what a one-shot publish needs to know of
 * the last one so that it reads only the files that changed, the way
 * git's index spares `git status` from reading the work tree.
 *
 * It holds the full content of the version it describes (its manifest:
 * names, labels, sizes, XXH128, identities, stamps) and, per artifact,
 * what stat(2) said of the source file that content was read from: size,
 * mtime and ctime in nanoseconds, inode and device. A file whose stat is
 * the same is taken to hold the same bytes, so it is neither read, nor
 * hashed, nor validated again (its validation result is its identity,
 * which depends on its bytes alone: xmlcheck.h).
 *
 * And the stat of each file of the version's chain (base and deltas) that
 * the publish behind it read whole and found intact - size, XXH128 and
 * BLAKE2b as state.json records them (struct snap_memo's seen list). A
 * chain file whose stat is still that one was not written, truncated or
 * replaced since (a writer cannot set ctime): the next publish stats it
 * instead of reading 2.5 MB of base manifest and archive again.
 *
 * The file format (all integers little-endian):
 *	"ARTSPC02"  magic and format version (8 bytes)
 *	u64 source device, u64 source inode, u64 sync root device,
 *	u64 sync root inode, str source path (u16 length, bytes)
 *	u64 version, u64 chain, i64 scan_ns, stat of labels.conf
 *	u32 folders, u8 flags (1: has_folders, 2: has_identities), u64 n
 *	n entries: u8 type, str name, u8 has identity + str identity,
 *	    str labels, u64 size, i64 updated_at, XXH128 (32 hex digits),
 *	    stat
 *	u64 k (at most PCACHE_SEEN_MAX), k chain files: str name, stat
 *	16 bytes: XXH128 of everything before; when signing, a BLAKE2b-128
 *	    MAC keyed by a key derived from the signing key (pcache_mac_key)
 * where a stat is u64 size, i64 mtime_ns, i64 ctime_ns, u64 ino, u64 dev.
 *
 * The racily clean case: a file written in the same clock tick (or
 * coarser file-system timestamp) as the scan that stats it may change
 * again without its stat changing. pcache_stat_settle() keeps no stat of a
 * file modified less than PCACHE_RACY_NS before the scan started: such a
 * file is read again next time, as git does with entries newer than its
 * index.
 *
 * Calling sequence: pcache_decode(buf, len, mackey, &c) for bytes read
 * from disk (hostile: every field is checked, the checksum first); or
 * fill a struct pcache and pcache_encode(&c, mackey, &buf, &len);
 * pcache_release(&c) always (PCACHE_INIT is safe to release). 0 or -1
 * with err; decode leaves nothing to release on failure.
 */
#ifndef PCACHE_H
#define PCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "manifest.h"
#include "snap_err.h"

#define PCACHE_FILE ".publish.cache"	/* in the sync root */
#define PCACHE_MAX_BYTES (256u << 20)
#define PCACHE_MAC_BYTES 16
#define PCACHE_KEY_BYTES 32
/* Coarser than any clock tick and than FAT's 2 s timestamps. */
#define PCACHE_RACY_NS (2LL * 1000000000LL)

/* What stat(2) says of one file; all zero: not known (read it again). */
struct pcache_stat {
	uint64_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;
	uint64_t ino;
	uint64_t dev;
};

/* A chain file found intact, and its stat then. */
#define PCACHE_SEEN_MAX 512		/* snap_memo's seen slots */
#define PCACHE_SEEN_NAME 96		/* snap_seen's name, NUL included */
struct pcache_seen {
	char name[PCACHE_SEEN_NAME];
	struct pcache_stat st;
};

struct pcache {
	uint64_t src_dev, src_ino;	/* the source root */
	uint64_t root_dev, root_ino;	/* the sync root */
	char *source;			/* owned: the source as given */
	uint64_t version;		/* the version it describes */
	uint64_t chain;			/* deltas in that version's chain */
	int64_t scan_ns;		/* when the scan behind it started */
	struct pcache_stat labels;	/* labels.conf (zero: none) */
	struct manifest *m;		/* owned: the version's content */
	struct pcache_stat *st;		/* owned: st[i] is m->entries[i]'s */
	struct pcache_seen *seen;	/* owned: the chain files found */
	size_t nseen;			/* intact (<= PCACHE_SEEN_MAX) */
};

#define PCACHE_INIT { .source = NULL, .m = NULL, .st = NULL, .seen = NULL, \
	.nseen = 0 }

/* What st says, as a pcache_stat. */
void pcache_stat_of(const struct stat *st, struct pcache_stat *out);
/* Before s is kept: all zero when it is racily clean - modified (or its
 * inode changed) at or after scan_ns - PCACHE_RACY_NS. */
void pcache_stat_settle(struct pcache_stat *s, int64_t scan_ns);
/* Whether a file cached as `had` and now `now` may be taken unchanged. */
bool pcache_is_clean(const struct pcache_stat *had,
    const struct pcache_stat *now);

/* The MAC key of a signer's cache, from its secret key (64 bytes). */
void pcache_mac_key(const unsigned char *secret, size_t len,
    unsigned char out[PCACHE_KEY_BYTES]);

/* c as bytes, *out malloc'ed (the caller's); mackey NULL: unkeyed. */
int pcache_encode(const struct pcache *c, const unsigned char *mackey,
    char **out, size_t *len, struct snap_err *err);
/* buf[0..len) checked and parsed into out (from PCACHE_INIT). */
int pcache_decode(const char *buf, size_t len, const unsigned char *mackey,
    struct pcache *out, struct snap_err *err);
void pcache_release(struct pcache *c);	/* back to PCACHE_INIT */

#endif
