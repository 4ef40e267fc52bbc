/*
 * test_arc_read.c - snapshots/arc_read.c against damage: a bit flip, a
 * cut or grown file, a wrong state record or manifest, which the whole-file
 * checksum or the per-entry checks must catch; and the one shape an entry
 * path may have (arc_parse_path).
 */
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

	m = sample_archive(*state, 5, &p, &s, &sf);
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

	m = sample_archive(*state, 5, &p, &s, &sf);
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

	m = sample_archive(*state, 5, &p, &s, &sf);
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

	m = sample_archive(*state, 5, &p, &s, &sf);

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

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_bit_flip),
		TMP_TEST(test_truncated_or_grown),
		TMP_TEST(test_wrong_state_record),
		TMP_TEST(test_wrong_manifest),
		cmocka_unit_test(test_parse_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
