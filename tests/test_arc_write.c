/*
 * test_arc_write.c - snapshots/arc_write.c, round trip first: what
 * arc_writer_* writes, arc_extract verifies and reproduces byte for byte -
 * names as WSO2 has them, the entries a caller wants, the content check a
 * caller adds, a destination that already holds files.
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "arc.h"
#include "testutil.h"
#include "arctest.h"

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

	m = sample_archive(*state, 5, &p, &s, &sf);
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

	m = sample_archive(*state, 5, &p, &s, &sf);
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

	m = sample_archive(*state, 5, &p, &s, &sf);
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

	m = sample_archive(*state, 2, &p, &s, &sf);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
