/*
 * test_arc_hostile.c - snapshots/arc_read.c against hostile archives, built
 * with libarchive directly, each paired with a state record computed over
 * the hostile file and a manifest that lists the entry where it can, so
 * that only arc_extract's per-entry checks stand between the archive and
 * the file system: each must be refused with a message, in verify-only
 * mode and when extracting, and nothing may appear outside the
 * destination.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include "arc.h"
#include "testutil.h"
#include "arctest.h"

struct hentry {
	const char *path;
	unsigned int type;	/* AE_IFREG, AE_IFLNK, ... */
	const char *data;	/* regular file content */
	int64_t size;		/* declared size; -1: strlen(data) */
	const char *link;	/* symlink or hardlink target */
};

static void
write_hostile(const char *path, const struct hentry *h, size_t n)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae;
	size_t i;

	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a),
	    ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
		fail_msg("%s: %s", path, archive_error_string(a));
	for (i = 0; i < n; i++) {
		int64_t size = h[i].size >= 0 ? h[i].size :
		    h[i].data ? (int64_t)strlen(h[i].data) : 0;
		int rc;

		ae = archive_entry_new();
		assert_non_null(ae);
		archive_entry_set_pathname(ae, h[i].path);
		archive_entry_set_filetype(ae, h[i].type);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_mtime(ae, 1795549200, 0);
		if (h[i].type == AE_IFLNK)
			archive_entry_set_symlink(ae, h[i].link);
		else if (h[i].link != NULL)
			archive_entry_set_hardlink(ae, h[i].link);
		if (h[i].type == AE_IFCHR || h[i].type == AE_IFBLK)
			archive_entry_set_rdev(ae, makedev(1, 3));
		if (h[i].type == AE_IFREG && h[i].link == NULL)
			archive_entry_set_size(ae, size);
		rc = archive_write_header(a, ae);
		if (rc != ARCHIVE_OK)
			fail_msg("%s: %s", h[i].path, archive_error_string(a));
		if (h[i].type == AE_IFREG && h[i].link == NULL && size > 0) {
			char *buf = malloc((size_t)size);
			size_t dl = strlen(h[i].data);

			assert_non_null(buf);
			memset(buf, 'A', (size_t)size);
			memcpy(buf, h[i].data, dl < (size_t)size ? dl :
			    (size_t)size);
			assert_int_equal(archive_write_data(a, buf,
			    (size_t)size), size);
			free(buf);
		}
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

#define CONTENT "<api xmlns=\"http://ws.apache.org/ns/synapse\" name=\"x\" " \
	"context=\"/x\"/>"

/*
 * One hostile case: the archive holds h[], the manifest lists it[] (with
 * correct checksums), the state record is computed over the hostile file.
 * Both verify-only and extraction must fail with `want` in the message, and
 * dir must hold only arc, dest (and outside/, empty) afterwards.
 */
static void
hostile(const char *dir, const struct hentry *h, size_t nh,
    const struct item *it, size_t ni, const char *want, bool dest_empty)
{
	struct state_file sf;
	struct manifest *m;
	struct paths p;

	paths_init(dir, &p);
	tu_rmtree(p.dest);
	tu_mkdir(p.dest);
	if (!tu_exists(p.outside))
		tu_mkdir(p.outside);
	write_hostile(p.arc, h, nh);
	state_of(p.arc, &sf);
	m = manifest_of(it, ni);
	assert_extract_fails(p.arc, &sf, m, NULL, want);
	assert_extract_fails(p.arc, &sf, m, p.dest, want);
	tu_assert_dir(p.dir, "arc,dest,outside");
	tu_assert_dir(p.outside, "");
	if (dest_empty)
		tu_assert_dir(p.dest, "");
	manifest_free(m);
}

static const struct item item_x = { API, "x", CONTENT, sizeof(CONTENT) - 1 };
static const struct item item_y = { API, "y", CONTENT, sizeof(CONTENT) - 1 };

#define REG(path) { path, AE_IFREG, CONTENT, -1, NULL }

static void
test_hostile_paths(void **state)
{
	const char *dir = *state;
	char abs[TU_PATH], longpath[TU_PATH], p[TU_PATH];
	bool etc_before;
	size_t i;

	hostile(dir, (struct hentry[]){ REG("../api/x.xml") }, 1, &item_x, 1,
	    "'../api/x.xml'", true);
	hostile(dir, (struct hentry[]){ REG("../outside/x.xml") }, 1, &item_x,
	    1, "'../outside/x.xml'", true);
	etc_before = tu_exists("/etc/x.xml");
	hostile(dir, (struct hentry[]){ REG("/etc/x.xml") }, 1, &item_x, 1,
	    "'/etc/x.xml'", true);
	if (!etc_before)
		assert_false(tu_exists("/etc/x.xml"));
	/* An absolute path that points into our own temp dir. */
	tu_path(abs, "%s/outside/x.xml", dir);
	hostile(dir, (struct hentry[]){ { abs, AE_IFREG, CONTENT, -1, NULL } },
	    1, &item_x, 1, abs, true);
	hostile(dir, (struct hentry[]){ REG("api/../../x.xml") }, 1, &item_x,
	    1, "'api/../../x.xml'", true);
	tu_path(p, "%s/x.xml", dir);
	assert_false(tu_exists(p));
	hostile(dir, (struct hentry[]){ REG("api/../../outside/x.xml") }, 1,
	    &item_x, 1, "outside/x.xml", true);
	hostile(dir, (struct hentry[]){ REG("api/sub/x.xml") }, 1, &item_x, 1,
	    "'api/sub/x.xml'", true);
	hostile(dir, (struct hentry[]){ REG("./api/x.xml") }, 1, &item_x, 1,
	    "'./api/x.xml'", true);
	hostile(dir, (struct hentry[]){ REG("api/./x.xml") }, 1, &item_x, 1,
	    "'api/./x.xml'", true);
	hostile(dir, (struct hentry[]){ REG("api//x.xml") }, 1, &item_x, 1,
	    "'api//x.xml'", true);
	hostile(dir, (struct hentry[]){ REG("x.xml") }, 1, &item_x, 1,
	    "'x.xml'", true);
	hostile(dir, (struct hentry[]){ REG("api/.x.xml") }, 1, &item_x, 1,
	    "'api/.x.xml'", true);
	/* Longer than a ustar name: the path lives in a pax header. */
	i = (size_t)snprintf(longpath, sizeof(longpath), "api/");
	memset(longpath + i, 'a', 150);
	snprintf(longpath + i + 150, sizeof(longpath) - i - 150,
	    "/../../../outside/x.xml");
	hostile(dir, (struct hentry[]){ { longpath, AE_IFREG, CONTENT, -1,
	    NULL } }, 1, &item_x, 1, "outside/x.xml", true);
	/* A good entry first, then an escape: refused all the same. */
	hostile(dir, (struct hentry[]){ REG("api/y.xml"),
	    REG("api/../../outside/x.xml") }, 2,
	    (struct item[]){ item_x, item_y }, 2, "outside/x.xml", false);
}

static void
test_hostile_types(void **state)
{
	const char *dir = *state;
	char outside[TU_PATH];

	/* Symlinks: to a system file, and a folder symlink then a file
	 * "inside" it, the classic two-step escape. */
	hostile(dir, (struct hentry[]){ { "api/x.xml", AE_IFLNK, NULL, 0,
	    "/etc/passwd" } }, 1, &item_x, 1, "'api/x.xml' is a symlink", true);
	tu_path(outside, "%s/outside", dir);
	hostile(dir, (struct hentry[]){ { "api", AE_IFLNK, NULL, 0, outside },
	    REG("api/x.xml") }, 2, &item_x, 1, "'api' is a symlink", true);
	hostile(dir, (struct hentry[]){ { "api/x.xml", AE_IFLNK, NULL, 0,
	    "../../outside/x.xml" } }, 1, &item_x, 1, "symlink", true);
	/* Hardlinks: to a system file, and to an entry already extracted. */
	hostile(dir, (struct hentry[]){ { "api/x.xml", AE_IFREG, NULL, 0,
	    "/etc/passwd" } }, 1, &item_x, 1, "'api/x.xml' is a hardlink",
	    true);
	hostile(dir, (struct hentry[]){ REG("api/y.xml"), { "api/x.xml",
	    AE_IFREG, NULL, 0, "api/y.xml" } }, 2,
	    (struct item[]){ item_x, item_y }, 2, "'api/x.xml' is a hardlink",
	    false);
	/* Devices, FIFOs, directories, at an artifact's path. */
	hostile(dir, (struct hentry[]){ { "api/x.xml", AE_IFCHR, NULL, 0,
	    NULL } }, 1, &item_x, 1, "'api/x.xml' is not a regular file", true);
	hostile(dir, (struct hentry[]){ { "api/x.xml", AE_IFBLK, NULL, 0,
	    NULL } }, 1, &item_x, 1, "'api/x.xml' is not a regular file", true);
	hostile(dir, (struct hentry[]){ { "api/x.xml", AE_IFIFO, NULL, 0,
	    NULL } }, 1, &item_x, 1, "'api/x.xml' is not a regular file", true);
	hostile(dir, (struct hentry[]){ { "api/x.xml", AE_IFDIR, NULL, 0,
	    NULL } }, 1, &item_x, 1, "is not a regular file", true);
	hostile(dir, (struct hentry[]){ { "api/", AE_IFDIR, NULL, 0, NULL },
	    REG("api/x.xml") }, 2, &item_x, 1, "is not a regular file", true);
}

static void
test_hostile_listing(void **state)
{
	const char *dir = *state;
	char big[101];

	/* The same entry twice (a second copy could replace a checked one). */
	hostile(dir, (struct hentry[]){ REG("api/x.xml"), REG("api/x.xml") },
	    2, &item_x, 1, "'api/x.xml' appears twice", false);
	/* An entry the manifest does not list. */
	hostile(dir, (struct hentry[]){ REG("api/x.xml"), REG("api/y.xml") },
	    2, &item_x, 1, "'api/y.xml' is not in the manifest", false);
	hostile(dir, (struct hentry[]){ REG("sequences/x.xml") }, 1, &item_x,
	    1, "'sequences/x.xml' is not in the manifest", true);
	/* A manifest entry the archive lacks. */
	hostile(dir, (struct hentry[]){ REG("api/x.xml") }, 1,
	    (struct item[]){ item_x, item_y }, 2,
	    "api/y.xml is in the manifest but not in the archive", false);
	/* An empty archive against a non-empty manifest. */
	hostile(dir, NULL, 0, &item_x, 1, "api/x.xml is in the manifest but not "
	    "in the archive", true);
	/* Declared size bigger than the manifest's. */
	memset(big, 'A', 100);
	big[100] = '\0';
	hostile(dir, (struct hentry[]){ { "api/x.xml", AE_IFREG, "AAAAA", 100,
	    NULL } }, 1, (struct item[]){ { API, "x", "AAAAA", 5 } }, 1,
	    "'api/x.xml' declares 100 bytes, the manifest 5", true);
	/* ... or smaller. */
	hostile(dir, (struct hentry[]){ { "api/x.xml", AE_IFREG, "AAAAA", 5,
	    NULL } }, 1, (struct item[]){ { API, "x", big, 100 } }, 1,
	    "declares 5 bytes, the manifest 100", true);
	/* Right size, other bytes. */
	hostile(dir, (struct hentry[]){ { "api/x.xml", AE_IFREG, "BBBBB", 5,
	    NULL } }, 1, (struct item[]){ { API, "x", "AAAAA", 5 } }, 1,
	    "api/x.xml: checksum mismatch", false);
}

/* A tar cut short inside a well-formed zstd stream with a correct state
 * record: the archive is damaged where only the tar reader can see it. */
static void
test_hostile_inner_truncation(void **state)
{
	const char *dir = *state;
	struct archive *a;
	struct archive_entry *ae;
	struct state_file sf;
	struct manifest *m;
	struct paths p;
	char *data = tu_make_data(5000), *tar;
	size_t cap = 1 << 20, used = 0;
	struct item it = { API, "x", NULL, 5000 };

	paths_init(dir, &p);
	it.data = data;
	tar = malloc(cap);
	assert_non_null(tar);
	/* The tar, in memory, uncompressed. */
	a = archive_write_new();
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, tar, cap, &used),
	    ARCHIVE_OK);
	ae = archive_entry_new();
	archive_entry_set_pathname(ae, "api/x.xml");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, 5000);
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data, 5000), 5000);
	archive_entry_free(ae);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	/* Its first 2000 bytes (header and part of the data), zstd'ed. */
	a = archive_write_new();
	assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, p.arc), ARCHIVE_OK);
	ae = archive_entry_new();
	archive_entry_set_pathname(ae, "raw");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_size(ae, 2000);
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, tar, 2000), 2000);
	archive_entry_free(ae);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);

	state_of(p.arc, &sf);
	m = manifest_of(&it, 1);
	assert_extract_fails(p.arc, &sf, m, NULL, NULL);
	assert_extract_fails(p.arc, &sf, m, p.dest, NULL);
	tu_assert_dir(p.dir, "arc,dest");
	manifest_free(m);
	free(tar);
	free(data);
}

/*
 * Found by fuzz_arc: an old-GNU header whose sparse map libarchive honours
 * although the type is a plain file. The entry declares 0 bytes, yet
 * archive_read_data() hands out zeros without end (the harness's own
 * unbounded pre-scan read 26 GB of them). The manifest agrees on 0 bytes,
 * so only copy_entry()'s running bound stops the read, at once.
 */
static void
test_hostile_endless_data(void **state)
{
	const char *dir = *state;
	struct item it = { API, "HelloWorld", "", 0 };
	unsigned char tar[513];
	struct state_file sf;
	struct manifest *m;
	struct paths p;
	unsigned sum = 0;
	size_t i;
	int fd;

	paths_init(dir, &p);
	memset(tar, 0, sizeof(tar));
	memcpy(tar, "api/HelloWorld.xml", 18);
	memcpy(tar + 124, "0000000067", 10);	/* size: 55 bytes */
	memcpy(tar + 257, "ustar  ", 7);	/* old GNU magic */
	memcpy(tar + 386, "500000", 6);		/* sparse[0].offset */
	tar[398] = '3';				/* sparse[0].numbytes */
	tar[483] = ' ';				/* realsize */
	memset(tar + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += tar[i];
	snprintf((char *)tar + 148, 8, "%06o", sum);
	tar[155] = ' ';
	fd = open(p.arc, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, tar, sizeof(tar)), (ssize_t)sizeof(tar));
	assert_int_equal(close(fd), 0);
	state_of(p.arc, &sf);
	m = manifest_of(&it, 1);
	assert_extract_fails(p.arc, &sf, m, NULL, "more data than the 0 bytes");
	assert_extract_fails(p.arc, &sf, m, p.dest, "more data than the 0 bytes");
	tu_assert_dir(p.dir, "arc,dest");
	manifest_free(m);
}

/* A one-entry ustar archive written by hand, uncompressed: libarchive's
 * writer will not store a path that is not valid UTF-8, a hostile one will. */
static void
write_ustar(const char *file, const char *name, const char *data)
{
	unsigned char tar[512 * 4];
	size_t len = strlen(data), i;
	unsigned sum = 0;
	int fd;

	assert_true(strlen(name) < 100 && len <= 512);
	memset(tar, 0, sizeof(tar));
	memcpy(tar, name, strlen(name));
	memcpy(tar + 100, "0000644", 7);
	snprintf((char *)tar + 124, 12, "%011o", (unsigned)len);
	memcpy(tar + 136, "14574451220", 11);
	tar[156] = '0';
	memcpy(tar + 257, "ustar\0" "00", 8);
	memset(tar + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += tar[i];
	snprintf((char *)tar + 148, 8, "%06o", sum);
	memcpy(tar + 512, data, len);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, tar, sizeof(tar)), (ssize_t)sizeof(tar));
	assert_int_equal(close(fd), 0);
}

/*
 * Found with fuzz_arc's message check: an entry path is quoted in the
 * refusal, and a tar path is any bytes. The message goes to the log and to
 * the status JSON's last_error (which jansson cannot build from invalid
 * UTF-8, so GET /api/v1/status answered nothing): it must be clean.
 */
static void
test_hostile_path_bytes_in_message(void **state)
{
	static const char *const paths[] = {
		"api/a\nb.xml",
		"api/\xff\xfe.xml",
		"\x1b[2Japi/x.xml",
		"api\r/x.xml",
		"api/x\xc2\x9b.xml",		/* C1 CSI, valid UTF-8 */
		"api/..\n2026-01-01 artsync info: forged.xml",
	};
	const char *dir = *state;
	struct snap_err err;
	struct arc_extract x = { .destfd = -1 };
	struct state_file sf;
	struct manifest *m;
	struct paths p;
	size_t i;

	paths_init(dir, &p);
	m = manifest_of(&item_x, 1);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		write_ustar(p.arc, paths[i], CONTENT);
		state_of(p.arc, &sf);
		err = (struct snap_err)SNAP_ERR_INIT;
		if (extract(p.arc, &sf, m, p.dest, &x, &err) != -1)
			fail_msg("accepted entry %zu", i);
		tu_assert_clean_msg(err.msg);
	}
	tu_assert_dir(p.dest, "");
	manifest_free(m);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_hostile_paths),
		TMP_TEST(test_hostile_types),
		TMP_TEST(test_hostile_listing),
		TMP_TEST(test_hostile_inner_truncation),
		TMP_TEST(test_hostile_endless_data),
		TMP_TEST(test_hostile_path_bytes_in_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
