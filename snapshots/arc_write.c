/*
 * arc_write.c - write a snapshot archive: restricted pax through zstd
 * (see arc.h), hashed as it goes out.
 *
 * Calling sequence: w = arc_writer_new(fd, input bytes); arc_writer_add()
 * for each entry, in manifest order; arc_writer_finish(w, &f), which fills
 * f's size, XXH128 and BLAKE2b from the very bytes written; then always
 * arc_writer_free(w). Any -1 leaves err saying what failed (the errno of
 * the write, or libarchive's words) and fd holding a partial archive that
 * the caller discards: nothing here removes or renames files.
 */
#include <errno.h>
#include <stdlib.h>

#include <archive.h>
#include <archive_entry.h>

#include "arc.h"
#include "arc_int.h"
#include "fsutil.h"
#include "names.h"
#include "sign.h"

struct arc_writer {
	struct archive *a;
	int fd;
	struct hash_state hash;
	struct sign_hash b2;
	uint64_t size;
	int write_errno;
};

static la_ssize_t
writer_cb(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct arc_writer *w = arg;

	(void)a;
	if (fsu_write_all(w->fd, buf, len) == -1) {
		w->write_errno = errno;
		return -1;
	}
	hash_update(&w->hash, buf, len);
	sign_hash_update(&w->b2, buf, len);
	w->size += len;
	return (la_ssize_t)len;
}

static int
writer_fail(struct arc_writer *w, const char *what, struct snap_err *err)
{
	if (w->write_errno != 0)
		return snap_err_sys(err, w->write_errno, "archive: %s", what);
	return snap_err_set(err, "archive: %s: %s", what,
	    archive_error_string(w->a));
}

/*
 * Below this much input, zstd level 1: level 3 zeroes 768 KiB of match
 * tables for every archive, which costs more than compressing a delta of
 * a few artifacts (7% of a one-artifact publish's CPU); level 1's output
 * is 5% larger (the 840 KB of fixtures: 93 KB against 88).
 */
#define ARC_SMALL_INPUT (1u << 20)

static struct arc_writer *
writer_new(int fd, uint64_t input, struct snap_err *err)
{
	struct arc_writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->a = archive_write_new()) == NULL) {
		free(w);
		snap_err_setc(err, SNAP_E_NOMEM, "archive: out of memory");
		return NULL;
	}
	w->fd = fd;
	hash_init(&w->hash);
	sign_hash_init(&w->b2);
	/* zstd: decompresses several times faster than gzip or xz at a
	 * better ratio than lz4; level 3 is its own default. */
	if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(w->a) != ARCHIVE_OK ||
	    (input < ARC_SMALL_INPUT && archive_write_set_filter_option(w->a,
	    "zstd", "compression-level", "1") != ARCHIVE_OK) ||
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(w->a, w, NULL, writer_cb, NULL, NULL) !=
	    ARCHIVE_OK) {
		writer_fail(w, "open", err);
		arc_writer_free(w);
		return NULL;
	}
	return w;
}

struct arc_writer *
arc_writer_new(int fd, uint64_t input, struct snap_err *err)
{
	locale_t old = arc_utf8_enter();
	struct arc_writer *rc = writer_new(fd, input, err);

	arc_utf8_leave(old);
	return rc;
}

static int
writer_add(struct arc_writer *w, const struct manifest_entry *e,
    const void *buf, size_t len, struct snap_err *err)
{
	struct archive_entry *ae;
	char path[NAME_PATH_MAX];
	int rc = -1;

	name_path(e->type, e->name, path, sizeof(path));
	if ((ae = archive_entry_new()) == NULL)
		return snap_err_setc(err, SNAP_E_NOMEM,
		    "archive: out of memory");
	/* Names are UTF-8 (names.h), whatever this process's locale: set
	 * as such, they go into a pax header without any conversion. */
	archive_entry_set_pathname_utf8(ae, path);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)len);
	archive_entry_set_mtime(ae, (time_t)e->updated_at, 0);
	if (archive_write_header(w->a, ae) != ARCHIVE_OK) {
		writer_fail(w, path, err);
		goto out;
	}
	if (len > 0 && archive_write_data(w->a, buf, len) != (la_ssize_t)len) {
		writer_fail(w, path, err);
		goto out;
	}
	rc = 0;
out:
	archive_entry_free(ae);
	return rc;
}

int
arc_writer_add(struct arc_writer *w, const struct manifest_entry *e,
    const void *buf, size_t len, struct snap_err *err)
{
	locale_t old = arc_utf8_enter();
	int rc = writer_add(w, e, buf, len, err);

	arc_utf8_leave(old);
	return rc;
}

static int
writer_finish(struct arc_writer *w, struct state_file *f,
    struct snap_err *err)
{
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return writer_fail(w, "close", err);
	f->size = w->size;
	hash_final(&w->hash, f->xxh128);
	sign_hash_final(&w->b2, f->blake2b);
	return 0;
}

int
arc_writer_finish(struct arc_writer *w, struct state_file *f,
    struct snap_err *err)
{
	locale_t old = arc_utf8_enter();
	int rc = writer_finish(w, f, err);

	arc_utf8_leave(old);
	return rc;
}

void
arc_writer_free(struct arc_writer *w)
{
	locale_t old;

	if (w == NULL)
		return;
	old = arc_utf8_enter();
	archive_write_free(w->a);
	arc_utf8_leave(old);
	free(w);
}
