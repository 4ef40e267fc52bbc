/*
 * arc.h - the snapshot archive: write it, and read it back without
 * trusting a byte of it.
 *
 * Format: POSIX pax ("restricted pax": plain ustar headers unless a field
 * needs more) compressed with zstd, through libarchive. Entries are exactly
 * TYPE/NAME.xml, regular files, in manifest order.
 *
 * Reading is a single streaming pass that verifies as it goes: the whole
 * file's XXH128 and size (and BLAKE2b, when state.json records one: sign.h)
 * against state.json, every entry against the
 * manifest (path, type, declared size, XXH128), and no entry twice or
 * missing. Anything else - "..", an absolute path, a symlink, a hardlink, a
 * device, a FIFO, a directory, an entry the manifest does not list, more
 * bytes than declared - refuses the whole snapshot. Wanted entries are
 * read whole (an artifact is at most ARTIFACT_MAX_BYTES), verified, shown to
 * the caller's check, and only then written below the destination directory,
 * as new files (the old name is unlinked first, so no earlier inode is ever
 * written through).
 *
 * Files: arc_write.c (arc_writer_*), arc_read.c (arc_check_file,
 * arc_extract, arc_parse_path), arc_utf8.c (the locale both run under).
 */
#ifndef ARC_H
#define ARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "manifest.h"
#include "batch.h"
#include "snap_err.h"
#include "state.h"
#include "writeback.h"

struct arc_writer;

/* A writer streaming to fd (not owned), or NULL with err. input: about
 * how many bytes its entries will hold (it picks the zstd level). */
struct arc_writer *arc_writer_new(int fd, uint64_t input,
    struct snap_err *err);
/* Adds TYPE/NAME.xml with the given content; mtime from e->updated_at. */
int arc_writer_add(struct arc_writer *w, const struct manifest_entry *e,
    const void *buf, size_t len, struct snap_err *err);
/* Finishes the archive; f's size, xxh128 and blake2b describe the bytes
 * written (f's name is left alone). */
int arc_writer_finish(struct arc_writer *w, struct state_file *f,
    struct snap_err *err);
void arc_writer_free(struct arc_writer *w);	/* NULL is a no-op */

/* Decides, per manifest entry, whether the extractor writes it out. */
typedef bool (*arc_want_fn)(const struct manifest_entry *e, void *arg);

/* Judges the content of an entry that is about to be written (its size and
 * XXH128 already match the manifest): 0 to write it, -1 with err to refuse
 * the whole archive. */
typedef int (*arc_check_fn)(const struct manifest_entry *e, const char *buf,
    size_t len, void *arg, struct snap_err *err);

struct arc_extract {
	int destfd;		/* release directory; -1 to verify only */
	arc_want_fn want;	/* NULL: every entry */
	void *arg;
	arc_check_fn check;	/* NULL: none; else called on every entry
				 * written, before a byte of it is */
	void *check_arg;
	struct batch *batch;	/* each file written joins it, for the
				 * caller to sync (and the folders); NULL:
				 * closed at once, the caller syncs */
	struct wb *writeback;	/* told of each file written; NULL: none */
	bool file_checked;	/* caller ran arc_check_file() on this fd just
				 * now: skip that pass (the in-stream hash is
				 * still compared at the end) */
	/* out: */
	size_t written;		/* files written */
	uint64_t bytes_written;
};

/*
 * Reads the archive from fd (not owned), checking it against `expect` (the
 * state.json record) and `m` (its manifest), writing wanted entries as
 * described above. 0 when everything verified; -1 with err otherwise, in
 * which case destfd may hold some new files and must be thrown away.
 */
int arc_extract(int fd, const struct state_file *expect,
    const struct manifest *m, struct arc_extract *x, struct snap_err *err);

/*
 * Checks the archive file's size and XXH128 against the state record, from
 * offset 0, and rewinds it. arc_extract() starts with this; callers that
 * must not start work on a bad file call it first. 0 or -1 with err.
 */
int arc_check_file(int fd, const struct state_file *expect,
    struct snap_err *err);

/* Splits an archive path "TYPE/NAME.xml"; -1 with err if it is anything
 * else (no "..", no '/' at either end, no nested folders). */
int arc_parse_path(const char *path, int *type, char *name,
    struct snap_err *err);

#endif
