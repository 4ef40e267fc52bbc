/*
 * test_arc.c - unit tests of snapshots/arc.c.
 *
 * Round trip first: what arc_writer_* writes, arc_extract verifies and
 * reproduces byte for byte. Then damage (a bit flip, a cut, a wrong state
 * record), which the whole-file checksum must catch. Then hostile archives
 * built with libarchive directly, each paired with a state record computed
 * over the hostile file and a manifest that lists the entry where it can, so
 * that only arc_extract's per-entry checks stand between the archive and the
 * file system: each must be refused with a message, in verify-only mode and
 * when extracting, and nothing may appear outside the destination.
 *
 * Layout of each test's temp dir: arc (the archive), dest/ (the
 * destination), sometimes outside/ (where an escape would land).
 */
#include <locale.h>
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
#include "manifest.h"
#include "testutil.h"

enum { API = 0, SEQ = 1, EP = 2, LOCAL = 3, TPL = 5 };

struct item {
	int type;
	const char *name;
	const char *data;
	size_t len;
};

/* Paths of one test: its temp dir, the archive, the destination. */
struct paths {
	char dir[TU_PATH], arc[TU_PATH], dest[TU_PATH], outside[TU_PATH];
};

static void
paths_init(const char *dir, struct paths *p)
{
	tu_path(p->dir, "%s", dir);
	tu_path(p->arc, "%s/arc", dir);
	tu_path(p->dest, "%s/dest", dir);
	tu_path(p->outside, "%s/outside", dir);
	if (!tu_exists(p->dest))
		tu_mkdir(p->dest);
}

static struct manifest *
manifest_of(const struct item *it, size_t n)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = manifest_new();
	char sum[HASH_HEX_LEN + 1];
	size_t i;

	assert_non_null(m);
	for (i = 0; i < n; i++) {
		hash_buf(it[i].data, it[i].len, sum);
		assert_int_equal(manifest_add(m, it[i].type, it[i].name, NULL,
		    it[i].len, sum, 1795549200), 0);
	}
	if (manifest_sort(m, &err) == -1)
		fail_msg("%s", err.msg);
	return m;
}

/* The state record of a file: size and XXH128, as a publisher computes. */
static void
state_of(const char *path, struct state_file *sf)
{
	struct snap_err err = SNAP_ERR_INIT;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	memset(sf, 0, sizeof(*sf));
	strcpy(sf->name, "snapshots/1.tar.zst");
	if (hash_fd(fd, sf->xxh128, &sf->size, &err) == -1)
		fail_msg("%s", err.msg);
	close(fd);
}

/* Writes the items with arc_writer_*, in manifest order. */
static void
write_archive(const char *path, const struct manifest *m,
    const struct item *it, size_t n, struct state_file *sf)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct arc_writer *w;
	size_t i, k;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	w = arc_writer_new(fd, 1u << 30, &err);	/* level 3 */
	if (w == NULL)
		fail_msg("%s", err.msg);
	for (i = 0; i < m->n; i++) {
		const struct manifest_entry *e = &m->entries[i];

		for (k = 0; k < n; k++)
			if (it[k].type == e->type &&
			    strcmp(it[k].name, e->name) == 0)
				break;
		assert_true(k < n);
		if (arc_writer_add(w, e, it[k].data, it[k].len, &err) == -1)
			fail_msg("%s", err.msg);
	}
	memset(sf, 0, sizeof(*sf));
	strcpy(sf->name, "snapshots/1.tar.zst");
	if (arc_writer_finish(w, sf, &err) == -1)
		fail_msg("%s", err.msg);
	arc_writer_free(w);
	assert_int_equal(close(fd), 0);
}

/* arc_extract of the file at path; dest NULL verifies only. */
static int
extract(const char *path, const struct state_file *sf,
    const struct manifest *m, const char *dest, struct arc_extract *x,
    struct snap_err *err)
{
	int fd, rc;

	x->destfd = -1;
	if (dest != NULL) {
		x->destfd = open(dest, O_RDONLY | O_DIRECTORY);
		assert_true(x->destfd >= 0);
	}
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	err->msg[0] = '\0';
	rc = arc_extract(fd, sf, m, x, err);
	close(fd);
	if (x->destfd >= 0)
		close(x->destfd);
	return rc;
}

static void
assert_extract_fails(const char *path, const struct state_file *sf,
    const struct manifest *m, const char *dest, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct arc_extract x = { .destfd = -1 };

	if (extract(path, sf, m, dest, &x, &err) != -1)
		fail_msg("%s: accepted (%s)", path, dest ? "extract" : "verify");
	tu_assert_msg(err.msg, want);
}

/* --- round trip --- */

#define HELLO "<api xmlns=\"http://ws.apache.org/ns/synapse\" name=\"H\" " \
	"context=\"/h\"/>\n"
#define MAIN "<sequence xmlns=\"http://ws.apache.org/ns/synapse\" " \
	"name=\"main\"/>\n"

struct sample {
	struct item it[5];
	char longname[201];
	char *big;
};

static void
sample(struct sample *s)
{
	const size_t big = 300000;	/* several 64 KiB blocks */

	memset(s->longname, 'L', 200);
	s->longname[200] = '\0';
	s->big = tu_make_data(big);
	s->it[0] = (struct item){ API, "HelloWorld", HELLO, strlen(HELLO) };
	s->it[1] = (struct item){ SEQ, "main", MAIN, strlen(MAIN) };
	s->it[2] = (struct item){ EP, "empty", "", 0 };
	s->it[3] = (struct item){ TPL, "big", s->big, big };
	/* Longer than ustar's 100 bytes: goes through a pax header. */
	s->it[4] = (struct item){ LOCAL, s->longname, "x", 1 };
}

static void
assert_item_file(const char *dest, const struct item *it)
{
	char p[TU_PATH], *got;
	size_t len;

	tu_path(p, "%s/%s/%s.xml", dest, artifact_types[it->type].folder,
	    it->name);
	got = tu_slurp(p, &len);
	assert_int_equal(len, it->len);
	assert_memory_equal(got, it->data, len);
	free(got);
}

static void
test_round_trip(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct arc_extract x = { .destfd = -1 };
	struct batch b = BATCH_INIT;
	struct state_file sf, sf2;
	struct manifest *m;
	struct sample s;
	struct paths p;
	char sub[TU_PATH];
	size_t i, bytes = 0;

	paths_init(*state, &p);
	sample(&s);
	m = manifest_of(s.it, 5);
	write_archive(p.arc, m, s.it, 5, &sf);
	/* What the writer reports is what is on disk. */
	state_of(p.arc, &sf2);
	assert_int_equal(sf.size, sf2.size);
	assert_string_equal(sf.xxh128, sf2.xxh128);

	x.written = 99;
	if (extract(p.arc, &sf, m, NULL, &x, &err) != 0)
		fail_msg("verify: %s", err.msg);
	assert_int_equal(x.written, 0);
	tu_assert_dir(p.dest, "");

	x.batch = &b;
	if (extract(p.arc, &sf, m, p.dest, &x, &err) != 0)
		fail_msg("extract: %s", err.msg);
	/* Each file written joined the batch, open until it is synced. */
	assert_int_equal(b.n, 5);
	assert_string_equal(b.m[0].final, "api/HelloWorld.xml");
	assert_int_equal(batch_sync(&b, &err), 0);
	assert_int_equal(batch_rename(&b, b.n, &err), 0);
	batch_free(&b);
	x.batch = NULL;
	for (i = 0; i < 5; i++) {
		assert_item_file(p.dest, &s.it[i]);
		bytes += s.it[i].len;
	}
	assert_int_equal(x.written, 5);
	assert_int_equal(x.bytes_written, bytes);
	tu_assert_dir(p.dest, "api,endpoints,local-entries,sequences,templates");
	tu_path(sub, "%s/api", p.dest);
	tu_assert_dir(sub, "HelloWorld.xml");
	tu_assert_dir(p.dir, "arc,dest");

	/* Again over the same destination: files are replaced, not added. */
	if (extract(p.arc, &sf, m, p.dest, &x, &err) != 0)
		fail_msg("extract again: %s", err.msg);
	assert_int_equal(x.written, 5);
	tu_assert_dir(sub, "HelloWorld.xml");
	manifest_free(m);
	free(s.big);
}

static bool
want_api(const struct manifest_entry *e, void *arg)
{
	(*(int *)arg)++;
	return e->type == API;
}

/* Only wanted entries are written, but every entry is verified. */
/* Names WSO2 uses - UTF-8, spaces, ':', braces, a file at the top - go
 * through the archive and back unchanged, though this process runs under
 * the "C" locale (libarchive converts names by the locale). */
static void
test_wso2_names(void **state)
{
	static const struct item it[] = {
		{ API, "caf\xc3\xa9 api", "<a/>", 4 },
		{ 1, "admin--Pizza:v1.0.0--In", "<b/>", 4 },
		{ 12, "{org.wso2.carbon.connector}hello", "<c/>", 4 },
		{ TYPE_CONFIG, "synapse", "<d/>", 4 },
	};
	struct snap_err err = SNAP_ERR_INIT;
	struct arc_extract x = { .destfd = -1 };
	struct state_file sf;
	struct manifest *m;
	struct paths p;
	char path[TU_PATH];
	size_t i;

	assert_non_null(setlocale(LC_CTYPE, "C"));
	paths_init(*state, &p);
	m = manifest_of(it, 4);
	write_archive(p.arc, m, it, 4, &sf);
	if (extract(p.arc, &sf, m, p.dest, &x, &err) != 0)
		fail_msg("extract: %s", err.msg);
	assert_int_equal(x.written, 4);
	for (i = 0; i < 4; i++) {
		char rel[NAME_PATH_MAX];

		tu_path(path, "%s/%s", p.dest, name_path(it[i].type, it[i].name,
		    rel, sizeof(rel)));
		assert_true(tu_exists(path));
	}
	manifest_free(m);
}

static void
test_want(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct arc_extract x = { .destfd = -1 };
	struct state_file sf;
	struct manifest *m;
	struct sample s;
	struct paths p;
	int calls = 0;

	paths_init(*state, &p);
	sample(&s);
	m = manifest_of(s.it, 5);
	write_archive(p.arc, m, s.it, 5, &sf);
	x.want = want_api;
	x.arg = &calls;
	if (extract(p.arc, &sf, m, p.dest, &x, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(calls, 5);
	assert_int_equal(x.written, 1);
	tu_assert_dir(p.dest, "api");
	assert_item_file(p.dest, &s.it[0]);

	/* A bad entry that is not wanted still fails the whole archive. */
	manifest_find(m, SEQ, "main")->xxh128[0] ^= 1;
	tu_rmtree(p.dest);
	tu_mkdir(p.dest);
	assert_extract_fails(p.arc, &sf, m, p.dest, "sequences/main.xml: "
	    "checksum mismatch");
	manifest_free(m);
	free(s.big);
}

struct judge {
	int calls;
	int refuse_type;	/* entries of this type are refused */
};

static int
judge_entry(const struct manifest_entry *e, const char *buf, size_t len,
    void *arg, struct snap_err *err)
{
	struct judge *j = arg;
	char sum[HASH_HEX_LEN + 1];

	j->calls++;
	/* It sees the whole entry, already verified. */
	assert_int_equal(len, e->size);
	hash_buf(buf, len, sum);
	assert_string_equal(sum, e->xxh128);
	if (e->type == j->refuse_type)
		return snap_err_set(err, "not on my watch");
	return 0;
}

/* The check sees every entry about to be written, and only those; one it
 * refuses fails the archive before a byte of that entry is written. */
static void
test_check(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct arc_extract x = { .destfd = -1 };
	struct judge j = { 0, -1 };
	struct state_file sf;
	struct manifest *m;
	struct sample s;
	struct paths p;
	char sub[TU_PATH];
	int calls = 0;

	paths_init(*state, &p);
	sample(&s);
	m = manifest_of(s.it, 5);
	write_archive(p.arc, m, s.it, 5, &sf);
	x.check = judge_entry;
	x.check_arg = &j;

	/* Verify only: nothing is written, nothing is judged. */
	if (extract(p.arc, &sf, m, NULL, &x, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(j.calls, 0);

	/* All wanted: all judged, all written. */
	if (extract(p.arc, &sf, m, p.dest, &x, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(j.calls, 5);
	assert_int_equal(x.written, 5);

	/* Only wanted entries are judged. */
	tu_rmtree(p.dest);
	tu_mkdir(p.dest);
	j.calls = 0;
	x.want = want_api;
	x.arg = &calls;
	if (extract(p.arc, &sf, m, p.dest, &x, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(j.calls, 1);
	x.want = NULL;

	/* Refused: the archive fails, naming the file; it is not written. */
	tu_rmtree(p.dest);
	tu_mkdir(p.dest);
	j.refuse_type = SEQ;
	assert_int_equal(extract(p.arc, &sf, m, p.dest, &x, &err), -1);
	assert_string_equal(err.msg, "sequences/main.xml: not on my watch");
	tu_path(sub, "%s/sequences", p.dest);
	tu_assert_dir(sub, "");

	/*
	 * Refused, but the file is not the one the state record describes
	 * (the caller skipped the up-front check, and the file changed):
	 * that is what the message says, not a verdict on the content.
	 */
	x.file_checked = true;
	sf.xxh128[0] = sf.xxh128[0] == '0' ? '1' : '0';
	assert_int_equal(extract(p.arc, &sf, m, p.dest, &x, &err), -1);
	tu_assert_msg(err.msg, "archive changed while it was read");
	sf.xxh128[0] = sf.xxh128[0] == '0' ? '1' : '0';
	sf.size++;
	assert_int_equal(extract(p.arc, &sf, m, p.dest, &x, &err), -1);
	tu_assert_msg(err.msg, "archive changed while it was read");
	manifest_free(m);
	free(s.big);
}

/* Whatever is at the destination names already, nothing is written
 * through it: files are unlinked and created anew, folders not followed. */
static void
test_existing_destination(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct arc_extract x = { .destfd = -1 };
	struct state_file sf;
	struct manifest *m;
	struct sample s;
	struct paths p;
	char a[TU_PATH], b[TU_PATH];
	struct stat st;

	paths_init(*state, &p);
	sample(&s);
	m = manifest_of(s.it, 2);
	write_archive(p.arc, m, s.it, 2, &sf);
	tu_mkdir(p.outside);
	tu_path(a, "%s/victim", p.outside);
	tu_write_str(a, "precious");
	tu_path(a, "%s/victim2", p.outside);
	tu_write_str(a, "precious too");

	/* dest/api/HelloWorld.xml is a symlink out; main.xml a hardlink out. */
	tu_path(a, "%s/api", p.dest);
	tu_mkdir(a);
	tu_path(a, "%s/api/HelloWorld.xml", p.dest);
	tu_path(b, "%s/victim", p.outside);
	assert_int_equal(symlink(b, a), 0);
	tu_path(a, "%s/sequences", p.dest);
	tu_mkdir(a);
	tu_path(a, "%s/sequences/main.xml", p.dest);
	tu_path(b, "%s/victim2", p.outside);
	assert_int_equal(link(b, a), 0);

	if (extract(p.arc, &sf, m, p.dest, &x, &err) != 0)
		fail_msg("%s", err.msg);
	tu_path(a, "%s/api/HelloWorld.xml", p.dest);
	assert_int_equal(lstat(a, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_item_file(p.dest, &s.it[0]);
	assert_item_file(p.dest, &s.it[1]);
	tu_assert_file(p.outside, "victim", "precious");
	tu_assert_file(p.outside, "victim2", "precious too");

	/* A type folder that is a symlink out of dest is refused. */
	tu_rmtree(p.dest);
	tu_mkdir(p.dest);
	tu_path(a, "%s/api", p.dest);
	assert_int_equal(symlink(p.outside, a), 0);
	assert_extract_fails(p.arc, &sf, m, p.dest, "api");
	tu_assert_dir(p.outside, "victim,victim2");
	manifest_free(m);
	free(s.big);
}

/* --- damage: the whole-file check --- */

static void
flip(const char *path, uint64_t off)
{
	unsigned char c;
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
	c ^= 0x10;
	assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
	close(fd);
}

static void
test_bit_flip(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct arc_extract x = { .destfd = -1 };
	struct state_file sf;
	struct manifest *m;
	struct sample s;
	struct paths p;
	uint64_t off, k;

	paths_init(*state, &p);
	sample(&s);
	m = manifest_of(s.it, 5);
	write_archive(p.arc, m, s.it, 5, &sf);
	/* 98 places spread over the file, the first and last byte included. */
	for (k = 0; k <= 97; k++) {
		off = k * (sf.size - 1) / 97;
		flip(p.arc, off);
		assert_extract_fails(p.arc, &sf, m, NULL, "checksum mismatch");
		assert_extract_fails(p.arc, &sf, m, p.dest,
		    "checksum mismatch");
		tu_assert_dir(p.dest, "");
		flip(p.arc, off);
	}
	/* Flipped back, it is fine again: the flip was the cause. */
	if (extract(p.arc, &sf, m, NULL, &x, &err) != 0)
		fail_msg("%s", err.msg);
	manifest_free(m);
	free(s.big);
}

static void
test_truncated_or_grown(void **state)
{
	struct state_file sf;
	struct manifest *m;
	struct sample s;
	struct paths p;
	const uint64_t cuts[] = { 1, 2, 100, 0 };
	size_t i;
	char *orig;
	size_t len;
	int fd;

	paths_init(*state, &p);
	sample(&s);
	m = manifest_of(s.it, 5);
	write_archive(p.arc, m, s.it, 5, &sf);
	orig = tu_slurp(p.arc, &len);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		uint64_t keep = cuts[i] == 0 ? 0 : sf.size - cuts[i];

		assert_int_equal(truncate(p.arc, (off_t)keep), 0);
		assert_extract_fails(p.arc, &sf, m, NULL, "truncated");
		assert_extract_fails(p.arc, &sf, m, p.dest, "truncated");
		tu_write(p.arc, orig, len);
	}
	assert_int_equal(truncate(p.arc, (off_t)(sf.size / 2)), 0);
	assert_extract_fails(p.arc, &sf, m, p.dest, "state.json records");
	tu_write(p.arc, orig, len);
	/* One byte more than recorded. */
	fd = open(p.arc, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "", 1), 1);
	close(fd);
	assert_extract_fails(p.arc, &sf, m, NULL, "state.json records");
	tu_assert_dir(p.dest, "");
	free(orig);
	manifest_free(m);
	free(s.big);
}

static void
test_wrong_state_record(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct arc_extract x = { .destfd = -1 };
	struct state_file sf, bad;
	struct manifest *m;
	struct sample s;
	struct paths p;

	paths_init(*state, &p);
	sample(&s);
	m = manifest_of(s.it, 5);
	write_archive(p.arc, m, s.it, 5, &sf);
	bad = sf;
	bad.size++;
	assert_extract_fails(p.arc, &bad, m, p.dest, "state.json records");
	bad.size -= 2;
	assert_extract_fails(p.arc, &bad, m, p.dest, "state.json records");
	bad.size = 0;
	assert_extract_fails(p.arc, &bad, m, NULL, "state.json records");
	bad = sf;
	bad.xxh128[31] = bad.xxh128[31] == '0' ? '1' : '0';
	assert_extract_fails(p.arc, &bad, m, p.dest, "checksum mismatch");
	tu_assert_dir(p.dest, "");
	if (extract(p.arc, &sf, m, NULL, &x, &err) != 0)
		fail_msg("%s", err.msg);
	manifest_free(m);
	free(s.big);
}

/* A genuine archive checked against the wrong manifest. */
static void
test_wrong_manifest(void **state)
{
	struct state_file sf;
	struct manifest *m, *other;
	struct sample s;
	struct paths p;
	struct item changed;

	paths_init(*state, &p);
	sample(&s);
	m = manifest_of(s.it, 5);
	write_archive(p.arc, m, s.it, 5, &sf);

	/* Same size, other bytes. */
	changed = s.it[0];
	changed.data = "<api xmlns=\"http://ws.apache.org/ns/synapse\" "
	    "name=\"X\" context=\"/h\"/>\n";
	other = manifest_of((struct item[]){ changed, s.it[1], s.it[2],
	    s.it[3], s.it[4] }, 5);
	assert_extract_fails(p.arc, &sf, other, p.dest,
	    "api/HelloWorld.xml: checksum mismatch");
	assert_extract_fails(p.arc, &sf, other, NULL, "checksum mismatch");
	manifest_free(other);
	/* Other size. */
	changed.data = "<x/>";
	changed.len = 4;
	other = manifest_of((struct item[]){ changed, s.it[1], s.it[2],
	    s.it[3], s.it[4] }, 5);
	assert_extract_fails(p.arc, &sf, other, NULL, "the manifest 4");
	manifest_free(other);
	/* One entry fewer, one more. */
	other = manifest_of(s.it, 4);
	assert_extract_fails(p.arc, &sf, other, NULL, "is not in the manifest");
	manifest_free(other);
	other = manifest_of((struct item[]){ s.it[0], s.it[1], s.it[2],
	    s.it[3], s.it[4], { API, "extra", "e", 1 } }, 6);
	assert_extract_fails(p.arc, &sf, other, NULL,
	    "api/extra.xml is in the manifest but not in the archive");
	manifest_free(other);
	manifest_free(m);
	free(s.big);
}

static void
test_parse_path(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char name[NAME_MAX_BYTES + 1];
	static const char *const bad[] = {
		"", "x", ".x.xml", "api", "api/", "/api/x.xml", "api/x",
		"api/x.xml/", "api/sub/x.xml", "apis/x.xml", "API/x.xml",
		"api/.x.xml", "api/../x.xml", "../api/x.xml", "./api/x.xml",
		"api/./x.xml", "api//x.xml", "api/x\"y.xml", "multi/x.xml",
		"config/x.xml", "averyveryveryveryveryverylongfolder/x.xml",
		"x\\y.xml",
	};
	size_t i;
	int type;

	(void)state;
	assert_int_equal(arc_parse_path("api/HelloWorld.xml", &type, name,
	    &err), 0);
	assert_int_equal(type, API);
	assert_string_equal(name, "HelloWorld");
	assert_int_equal(arc_parse_path("message-processors/p.1.xml", &type,
	    name, &err), 0);
	assert_int_equal(type, 8);
	assert_string_equal(name, "p.1");
	/* A file at the top of the tree, and a connector import. */
	assert_int_equal(arc_parse_path("synapse.xml", &type, name, &err), 0);
	assert_int_equal(type, TYPE_CONFIG);
	assert_string_equal(name, "synapse");
	assert_int_equal(arc_parse_path("imports/{org.wso2}hello.xml", &type,
	    name, &err), 0);
	assert_int_equal(type, name_type_index("imports"));
	assert_string_equal(name, "{org.wso2}hello");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		if (arc_parse_path(bad[i], &type, name, &err) != -1)
			fail_msg("'%s' accepted", bad[i]);
		if (bad[i][0] != '\0')
			tu_assert_msg(err.msg, bad[i]);
	}
}

/* --- hostile archives, built with libarchive directly --- */

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
		TMP_TEST(test_round_trip),
		TMP_TEST(test_wso2_names),
		TMP_TEST(test_want),
		TMP_TEST(test_check),
		TMP_TEST(test_existing_destination),
		TMP_TEST(test_bit_flip),
		TMP_TEST(test_truncated_or_grown),
		TMP_TEST(test_wrong_state_record),
		TMP_TEST(test_wrong_manifest),
		cmocka_unit_test(test_parse_path),
		TMP_TEST(test_hostile_paths),
		TMP_TEST(test_hostile_types),
		TMP_TEST(test_hostile_listing),
		TMP_TEST(test_hostile_inner_truncation),
		TMP_TEST(test_hostile_endless_data),
		TMP_TEST(test_hostile_path_bytes_in_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
