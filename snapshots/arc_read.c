/*
 * arc_read.c - read a snapshot archive back without trusting a byte of it
 * (see arc.h): the file check, and the verify-while-extracting pass.
 *
 * The file is read through our own callback so that its XXH128 and length
 * are computed on the very bytes libarchive decodes: there is no window in
 * which a checked file is swapped for an unchecked one.
 *
 * Calling sequence: arc_check_file(fd, record) before starting work on a
 * file (size, XXH128, BLAKE2b; rewinds fd); then arc_extract(fd, record,
 * manifest, &x) to verify every entry and write the wanted ones below
 * x.destfd (or only verify, destfd -1). Errors: -1 with err and its code
 * (SNAP_E_HOSTILE for an entry that is no plain artifact, SNAP_E_CHANGED
 * for a file that changed between the two passes, SNAP_E_TRUNCATED,
 * SNAP_E_CHECKSUM, SNAP_E_BLAKE2B...); files already written below destfd
 * stay there, and the caller throws the directory away.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "arc.h"
#include "arc_int.h"
#include "folders.h"
#include "fsutil.h"
#include "names.h"
#include "sign.h"

#define ARC_BLOCK (64 * 1024)

int
arc_parse_path(const char *path, int *type, char *name, struct snap_err *err)
{
	const char *slash = strchr(path, '/'), *file = path;
	char folder[32];
	size_t flen;

	*type = TYPE_CONFIG;	/* a file at the top: synapse.xml, ... */
	if (slash != NULL) {
		flen = (size_t)(slash - path);
		if (flen == 0 || flen >= sizeof(folder))
			return snap_err_setc(err, SNAP_E_HOSTILE,
			    "entry '%s' is not TYPE/NAME.xml", path);
		memcpy(folder, path, flen);
		folder[flen] = '\0';
		if ((*type = name_type_of_dir(folder)) < 0)
			return snap_err_setc(err, SNAP_E_HOSTILE,
			    "entry '%s' is not in an "
			    "artifact folder", path);
		file = slash + 1;
	}
	/* name_from_file refuses '/', "..", hidden and odd bytes. */
	if (name_from_file(file, name, err) == -1) {
		snap_err_prefix(err, "entry '%s'", path);
		return snap_err_recode(err, SNAP_E_HOSTILE);
	}
	return 0;
}

struct reader {
	int fd;
	uint64_t limit;		/* size state.json records */
	uint64_t seen;
	struct hash_state hash;
	struct sign_hash b2;	/* when the state records a blake2b */
	bool want_b2;
	bool too_long;
	int read_errno;
	char buf[ARC_BLOCK];
};

static la_ssize_t
reader_cb(struct archive *a, void *arg, const void **buf)
{
	struct reader *r = arg;
	ssize_t n;

	(void)a;
	do {
		n = read(r->fd, r->buf, sizeof(r->buf));
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->read_errno = errno;
		return -1;
	}
	r->seen += (uint64_t)n;
	if (r->seen > r->limit) {
		/* Never decode more than was published: stops a grown file. */
		r->too_long = true;
		return -1;
	}
	hash_update(&r->hash, r->buf, (size_t)n);
	if (r->want_b2)
		sign_hash_update(&r->b2, r->buf, (size_t)n);
	*buf = r->buf;
	return n;
}

/* Hashes whatever libarchive left unread after the end-of-archive marker. */
static int
reader_drain(struct reader *r, struct snap_err *err)
{
	const void *buf;
	la_ssize_t n;

	while ((n = reader_cb(NULL, r, &buf)) > 0)
		;
	if (n < 0 && r->too_long)
		return snap_err_setc(err, SNAP_E_TRUNCATED,
		    "archive is longer than the %llu bytes "
		    "recorded", (unsigned long long)r->limit);
	if (n < 0)
		return snap_err_sys(err, r->read_errno, "archive: read");
	return 0;
}

static int
reader_fail(struct archive *a, struct reader *r, const char *what,
    struct snap_err *err)
{
	if (r->too_long)
		return snap_err_setc(err, SNAP_E_TRUNCATED,
		    "archive is longer than the %llu bytes "
		    "recorded", (unsigned long long)r->limit);
	if (r->read_errno != 0)
		return snap_err_sys(err, r->read_errno, "archive: read");
	return snap_err_setc(err, SNAP_E_MALFORMED, "archive: %s: %s", what,
	    archive_error_string(a) ? archive_error_string(a) : "corrupt");
}

/* An entry's path as UTF-8, however the archive stored it and whatever
 * the locale (NULL when it cannot be had: refused). */
static const char *
entry_path(struct archive_entry *ae)
{
	return archive_entry_pathname_utf8(ae);
}

/* Refuses every entry that is not a plain file at TYPE/NAME.xml. A link
 * target is looked for in both of libarchive's forms: one that does not
 * convert must not pass for no link at all. */
static int
check_entry(struct archive_entry *ae, int *type, char *name,
    struct snap_err *err)
{
	const char *path = entry_path(ae), *raw;

	if (path == NULL && (raw = archive_entry_pathname(ae)) != NULL)
		return snap_err_setc(err, SNAP_E_HOSTILE, "entry '%s': its path is not UTF-8",
		    raw);	/* quoted made safe by snap_err_set() */
	if (path == NULL)
		return snap_err_setc(err, SNAP_E_HOSTILE,
		    "entry without a path");
	if (archive_entry_hardlink(ae) != NULL ||
	    archive_entry_hardlink_utf8(ae) != NULL)
		return snap_err_setc(err, SNAP_E_HOSTILE,
		    "entry '%s' is a hardlink", path);
	if (archive_entry_symlink(ae) != NULL ||
	    archive_entry_symlink_utf8(ae) != NULL ||
	    archive_entry_filetype(ae) == AE_IFLNK)
		return snap_err_setc(err, SNAP_E_HOSTILE,
		    "entry '%s' is a symlink", path);
	if (archive_entry_filetype(ae) != AE_IFREG)
		return snap_err_setc(err, SNAP_E_HOSTILE,
		    "entry '%s' is not a regular file "
		    "(type 0%o)", path, (unsigned)archive_entry_filetype(ae));
	if (!archive_entry_size_is_set(ae))
		return snap_err_setc(err, SNAP_E_HOSTILE,
		    "entry '%s' has no size", path);
	return arc_parse_path(path, type, name, err);
}

/* One entry's bytes, held whole until they are verified; reused. */
struct entry_buf {
	char *p;
	size_t cap;
};

static int
entry_buf_reserve(struct entry_buf *b, size_t need, struct snap_err *err)
{
	size_t ncap = b->cap ? b->cap : ARC_BLOCK;
	char *np;

	if (need <= b->cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if ((np = realloc(b->p, ncap)) == NULL)
		return snap_err_setc(err, SNAP_E_NOMEM,
		    "archive: out of memory");
	b->p = np;
	b->cap = ncap;
	return 0;
}

/* Writes a verified entry as a new file (never through an existing one)
 * with the artifact's time as its mtime (fsutil.h: fsu_set_mtime), handed
 * to batch when there is one. path names it in messages. */
static int
write_entry(int outdir, const char *path, const char *file,
    const struct manifest_entry *e, const char *buf, struct batch *batch,
    struct snap_err *err)
{
	int fd;

	if ((fd = fsu_create_new(outdir, file)) == -1)
		return snap_err_sys(err, errno, "%s: create", path);
	if (fsu_write_all(fd, buf, (size_t)e->size) == -1 ||
	    fsu_set_mtime(fd, e->updated_at) == -1) {
		snap_err_sys(err, errno, "%s: write", path);
		close(fd);
		return -1;
	}
	if (batch != NULL)
		return batch_add_fd(batch, fd, path, err);
	if (close(fd) == -1)
		return snap_err_sys(err, errno, "%s: close", path);
	return 0;
}

/*
 * Reads one entry's data, checking size and XXH128. A wanted entry (outdir
 * >= 0) is held whole, shown to x->check, and only then written: no byte of
 * an entry that fails a check ever reaches the destination.
 */
static int
copy_entry(struct archive *a, struct reader *r, const struct manifest_entry *e,
    int outdir, struct arc_extract *x, struct entry_buf *b,
    struct snap_err *err)
{
	char path[NAME_PATH_MAX], file[NAME_MAX_BYTES + 8];
	char got[HASH_HEX_LEN + 1], chunk[ARC_BLOCK], *dst;
	struct hash_state h;
	uint64_t total = 0;
	la_ssize_t n;

	name_path(e->type, e->name, path, sizeof(path));
	snprintf(file, sizeof(file), "%s.xml", e->name);
	hash_init(&h);
	for (;;) {
		dst = chunk;
		if (outdir >= 0) {
			if (entry_buf_reserve(b, total + ARC_BLOCK, err) == -1)
				return -1;
			dst = b->p + total;
		}
		if ((n = archive_read_data(a, dst, ARC_BLOCK)) <= 0)
			break;
		total += (uint64_t)n;
		if (total > e->size)
			return snap_err_setc(err, SNAP_E_TRUNCATED,
			    "%s: more data than the %llu "
			    "bytes the manifest declares", path,
			    (unsigned long long)e->size);
		hash_update(&h, dst, (size_t)n);
	}
	if (n < 0)
		return reader_fail(a, r, path, err);
	hash_final(&h, got);
	if (total != e->size)
		return snap_err_setc(err, SNAP_E_TRUNCATED,
		    "%s: %llu bytes, the manifest declares "
		    "%llu (truncated?)", path, (unsigned long long)total,
		    (unsigned long long)e->size);
	if (strcmp(got, e->xxh128) != 0)
		return snap_err_setc(err, SNAP_E_CHECKSUM,
		    "%s: checksum mismatch (xxh128 %s, "
		    "manifest says %s)", path, got, e->xxh128);
	if (outdir < 0)
		return 0;
	if (x->check != NULL && x->check(e, b->p, (size_t)total, x->check_arg,
	    err) == -1)
		return snap_err_prefix(err, "%s", path);
	if (write_entry(outdir, path, file, e, b->p, x->batch, err) == -1)
		return -1;
	x->written++;
	x->bytes_written += total;
	wb_wrote(x->writeback, total);
	return 0;
}

static int
extract_entries(struct archive *a, struct reader *r, const struct manifest *m,
    struct arc_extract *x, bool *seen, struct folders *od,
    struct entry_buf *b, struct snap_err *err)
{
	char name[NAME_MAX_BYTES + 1];
	struct archive_entry *ae;
	const struct manifest_entry *e;
	int type, st, outdir;

	while ((st = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		if (check_entry(ae, &type, name, err) == -1)
			return -1;
		e = manifest_find(m, type, name);
		if (e == NULL)
			return snap_err_setc(err, SNAP_E_HOSTILE,
			    "entry '%s' is not in the "
			    "manifest", entry_path(ae));
		if (seen[e - m->entries])
			return snap_err_setc(err, SNAP_E_HOSTILE,
			    "entry '%s' appears twice",
			    entry_path(ae));
		seen[e - m->entries] = true;
		if ((uint64_t)archive_entry_size(ae) != e->size)
			return snap_err_setc(err, SNAP_E_HOSTILE,
			    "entry '%s' declares %lld bytes, "
			    "the manifest %llu", entry_path(ae),
			    (long long)archive_entry_size(ae),
			    (unsigned long long)e->size);
		outdir = -1;
		if (x->destfd >= 0 && (x->want == NULL || x->want(e, x->arg)) &&
		    (outdir = folders_get(od, type, true, err)) == -1)
			return -1;
		if (copy_entry(a, r, e, outdir, x, b, err) == -1)
			return -1;
	}
	if (st != ARCHIVE_EOF)
		return reader_fail(a, r, "read header", err);
	return 0;
}

static int
check_complete(const struct manifest *m, const bool *seen,
    struct snap_err *err)
{
	char path[NAME_PATH_MAX];
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!seen[i])
			return snap_err_setc(err, SNAP_E_HOSTILE,
			    "%s is in the manifest but not in "
			    "the archive", name_path(m->entries[i].type,
			    m->entries[i].name, path, sizeof(path)));
	return 0;
}

/* The blake2b comparison both passes end with. */
static int
check_b2(struct sign_hash *h, const struct state_file *expect,
    struct snap_err *err)
{
	char got[STATE_B2_HEX_LEN + 1];

	sign_hash_final(h, got);
	if (strcmp(got, expect->blake2b) != 0)
		return snap_err_setc(err, SNAP_E_BLAKE2B,
		    "archive blake2b mismatch (blake2b %s, "
		    "state.json records %s)", got, expect->blake2b);
	return 0;
}

/*
 * The archive was refused for what it holds. That verdict stands only for
 * the bytes the state record describes: if the rest of the file does not
 * make up the recorded size and XXH128, the file changed under us (a
 * writer still at work), and err says that instead - a reason to try
 * again, not a verdict on the content.
 */
static void
changed_under_us(struct reader *r, const struct state_file *expect,
    struct snap_err *err)
{
	struct snap_err ignored;
	char got[HASH_HEX_LEN + 1];

	if (r->too_long || r->read_errno != 0 || reader_drain(r, &ignored) == -1)
		return;
	hash_final(&r->hash, got);
	if (r->seen != expect->size || strcmp(got, expect->xxh128) != 0)
		snap_err_setc(err, SNAP_E_CHANGED,
		    "archive changed while it was read (%llu "
		    "bytes, xxh128 %s; state.json records %llu, %s)",
		    (unsigned long long)r->seen, got,
		    (unsigned long long)expect->size, expect->xxh128);
}

int
arc_check_file(int fd, const struct state_file *expect, struct snap_err *err)
{
	char got[HASH_HEX_LEN + 1], *buf = NULL;
	bool want_b2 = expect->blake2b[0] != '\0';
	struct hash_state h;
	struct sign_hash b2;
	uint64_t size = 0;
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) == -1)
		return snap_err_sys(err, errno, "archive: seek");
	if ((buf = malloc(ARC_BLOCK)) == NULL)
		return snap_err_setc(err, SNAP_E_NOMEM,
		    "archive: out of memory");
	hash_init(&h);
	if (want_b2)
		sign_hash_init(&b2);
	while ((n = read(fd, buf, ARC_BLOCK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			free(buf);
			return snap_err_sys(err, saved, "archive: read");
		}
		hash_update(&h, buf, (size_t)n);
		if (want_b2)
			sign_hash_update(&b2, buf, (size_t)n);
		size += (uint64_t)n;
	}
	free(buf);
	hash_final(&h, got);
	if (size < expect->size)
		return snap_err_setc(err, SNAP_E_TRUNCATED,
		    "archive is %llu bytes, state.json "
		    "records %llu (truncated or still being written?)",
		    (unsigned long long)size, (unsigned long long)expect->size);
	if (size > expect->size)
		return snap_err_setc(err, SNAP_E_TRUNCATED,
		    "archive is %llu bytes, longer than the "
		    "%llu state.json records (replaced by another file?)",
		    (unsigned long long)size, (unsigned long long)expect->size);
	if (strcmp(got, expect->xxh128) != 0)
		return snap_err_setc(err, SNAP_E_CHECKSUM,
		    "archive checksum mismatch (xxh128 %s, "
		    "state.json records %s)", got, expect->xxh128);
	if (want_b2 && check_b2(&b2, expect, err) == -1)
		return -1;
	if (lseek(fd, 0, SEEK_SET) == -1)
		return snap_err_sys(err, errno, "archive: seek");
	return 0;
}

static int
extract(int fd, const struct state_file *expect, const struct manifest *m,
    struct arc_extract *x, struct snap_err *err)
{
	struct archive *a = NULL;
	struct reader *r = NULL;
	struct entry_buf b = { NULL, 0 };
	struct folders od;
	char got[HASH_HEX_LEN + 1];
	bool *seen = NULL;
	int rc = -1;

	folders_init(&od, x->destfd);
	x->written = 0;
	x->bytes_written = 0;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (seen = calloc(m->n + 1, sizeof(*seen))) == NULL ||
	    (a = archive_read_new()) == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "archive: out of memory");
		goto out;
	}
	if (!x->file_checked && arc_check_file(fd, expect, err) == -1)
		goto out;
	r->fd = fd;
	r->limit = expect->size;
	hash_init(&r->hash);
	if ((r->want_b2 = expect->blake2b[0] != '\0'))
		sign_hash_init(&r->b2);
	/* Only what we write: every other format and filter is attack surface. */
	if (archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open(a, r, NULL, reader_cb, NULL) != ARCHIVE_OK) {
		/* The first bytes did not parse: after a first pass that
		 * matched, that is a file changed between the passes unless
		 * the bytes read here match their record too. */
		reader_fail(a, r, "open", err);
		changed_under_us(r, expect, err);
		goto out;
	}
	if (extract_entries(a, r, m, x, seen, &od, &b, err) == -1 ||
	    check_complete(m, seen, err) == -1) {
		changed_under_us(r, expect, err);
		goto out;
	}
	if (reader_drain(r, err) == -1)
		goto out;
	hash_final(&r->hash, got);
	if (r->seen != expect->size) {
		snap_err_setc(err, SNAP_E_TRUNCATED,
		    "archive is %llu bytes, state.json records %llu "
		    "(truncated?)", (unsigned long long)r->seen,
		    (unsigned long long)expect->size);
		goto out;
	}
	if (strcmp(got, expect->xxh128) != 0) {
		snap_err_setc(err, SNAP_E_CHANGED,
		    "archive changed while it was read (xxh128 %s, "
		    "state.json records %s)", got, expect->xxh128);
		goto out;
	}
	if (r->want_b2 && check_b2(&r->b2, expect, err) == -1)
		goto out;
	rc = 0;
out:
	folders_close(&od);
	archive_read_free(a);
	free(b.p);
	free(seen);
	free(r);
	return rc;
}

int
arc_extract(int fd, const struct state_file *expect, const struct manifest *m,
    struct arc_extract *x, struct snap_err *err)
{
	locale_t old = arc_utf8_enter();
	int rc = extract(fd, expect, m, x, err);

	arc_utf8_leave(old);
	return rc;
}
