/*
 * test_snap_publish.c - the whole-tree publish (snapshots/snap_publish.c,
 * snap_tree.c, snap_write.c) with the real fixtures: the archive extracted
 * back and compared byte for byte, "unchanged" when nothing changed, the
 * events of adds and deletes, refusals that name the file and leave
 * state.json as it was, and a failed publish that leaves nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "snap.h"
#include "testutil.h"
#include "snaptest.h"

static void
test_publish_round_trip(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_version v = SNAP_VERSION_INIT;
	struct env e;
	struct snap_state st;
	char p[TU_PATH], q[TU_PATH], out[TU_PATH];
	unsigned char magic[4];
	int rootfd, fd;
	size_t i;

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);

	/* The sync root holds what the contract says, and nothing else. */
	tu_assert_dir(e.root, ".publish.lock,snapshots,state.json");
	in_root(&e, "snapshots", p);
	tu_assert_dir(p, "1.manifest.json,1.state.json,1.tar.zst");
	in_root(&e, "state.json", p);
	in_root(&e, "snapshots/1.state.json", q);
	assert_true(tu_same_file(p, q));

	/* state.json parses and describes version 1. */
	rootfd = open(e.root, O_RDONLY | O_DIRECTORY);
	assert_true(rootfd >= 0);
	if (state_read(rootfd, STATE_FILE, &st, &err) != 0)
		fail_msg("%s", err.msg);
	close(rootfd);
	assert_int_equal(st.version, 1);
	assert_int_equal(st.parent_version, 0);
	assert_int_equal(st.artifact_count, e.nfix);
	assert_string_equal(st.cluster_id, "test-cluster");
	assert_string_equal(st.node_id, "node_1");
	assert_string_equal(st.node_version, SNAP_VERSION_STRING);
	assert_string_equal(st.manifest.name, "snapshots/1.manifest.json");
	assert_string_equal(st.archive.name, "snapshots/1.tar.zst");
	assert_true(st.published_at > 1700000000);

	/* The archive is zstd, and its recorded checksum is the file's. */
	in_root(&e, "snapshots/1.tar.zst", p);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, magic, 4), 4);
	assert_memory_equal(magic, "\x28\xb5\x2f\xfd", 4);
	{
		char sum[HASH_HEX_LEN + 1];
		uint64_t size;

		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		assert_int_equal(hash_fd(fd, sum, &size, &err), 0);
		assert_string_equal(sum, st.archive.xxh128);
		assert_int_equal(size, st.archive.size);
	}
	close(fd);

	verify_ok(&e, 0, 1);
	verify_ok(&e, 1, 1);

	/* Every fixture comes back byte for byte, and nothing else. */
	extract_version(&e, 1, "out", out);
	assert_int_equal(tu_assert_trees_equal(e.src, out), e.nfix);

	/* Version 1's events: a DEPLOY for every artifact. */
	open_version(&e, 1, &v);
	assert_int_equal(v.m->nev, e.nfix);
	for (i = 0; i < v.m->nev; i++)
		assert_int_equal(v.m->events[i].action, MANIFEST_DEPLOY);
	assert_non_null(find_event(v.m, HELLO));
	snap_close(&v);
}

static void
test_publish_unchanged(void **state)
{
	struct env e;
	char p[TU_PATH], snaps[TU_PATH], *before, *list_before;
	size_t len;

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	in_root(&e, "state.json", p);
	in_root(&e, "snapshots", snaps);
	before = tu_slurp(p, &len);
	list_before = tu_list_dir(snaps);

	publish_ok(&e, SNAP_UNCHANGED, 1);
	/* Hidden files in the source are not artifacts: still unchanged. */
	in_src(&e, "api/.HelloWorld.xml.swp", p);
	tu_write_str(p, "editor junk");
	in_src(&e, ".git", p);
	tu_mkdir(p);
	publish_ok(&e, SNAP_UNCHANGED, 1);

	tu_assert_dir(snaps, list_before);
	in_root(&e, "state.json", p);
	{
		size_t len2;
		char *after = tu_slurp(p, &len2);

		assert_int_equal(len2, len);
		assert_memory_equal(after, before, len);
		free(after);
	}
	free(before);
	free(list_before);
}

static void
test_change_add_delete(void **state)
{
	struct env e;
	char p[TU_PATH], out[TU_PATH];

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);

	change_hello(&e, "changed");
	publish_ok(&e, SNAP_PUBLISHED, 2);
	assert_one_event(&e, 2, HELLO, MANIFEST_DEPLOY, 1);
	verify_ok(&e, 0, 2);

	in_src(&e, MAIN, p);
	assert_int_equal(unlink(p), 0);
	publish_ok(&e, SNAP_PUBLISHED, 3);
	assert_one_event(&e, 3, MAIN, MANIFEST_UNDEPLOY, 2);
	verify_ok(&e, 0, 3);

	in_src(&e, "tasks/NewTask.xml", p);
	tu_write_str(p, "<task xmlns=\"" SYN_NS "\" name=\"NewTask\" "
	    "class=\"org.example.Task\"><trigger once=\"true\"/></task>\n");
	publish_ok(&e, SNAP_PUBLISHED, 4);
	assert_one_event(&e, 4, "tasks/NewTask.xml", MANIFEST_DEPLOY, 3);

	/* Every older version still verifies, and the latest is the source. */
	verify_ok(&e, 1, 1);
	verify_ok(&e, 2, 2);
	verify_ok(&e, 3, 3);
	in_root(&e, "snapshots", p);
	tu_assert_dir(p, "1.manifest.json,1.state.json,1.tar.zst,"
	    "2.manifest.json,2.state.json,2.tar.zst,"
	    "3.manifest.json,3.state.json,3.tar.zst,"
	    "4.manifest.json,4.state.json,4.tar.zst");
	extract_version(&e, 4, "out", out);
	assert_int_equal(tu_assert_trees_equal(e.src, out), e.nfix);
}

static void
test_invalid_xml_refused(void **state)
{
	struct env e;
	char p[TU_PATH], snaps[TU_PATH], bad[TU_PATH], *before, *list;
	size_t len;
	static const struct {
		const char *file, *xml, *want;
	} cases[] = {
		{ "api/Broken.xml", "<api xmlns=\"" SYN_NS "\" name=\"B\" "
		    "context=\"/b\"><resource methods=\"GET\"></api>\n",
		    "Broken.xml:1: end tag </api> does not match start tag "
		    "<resource>" },
		{ "api/Xxe.xml", "<?xml version=\"1.0\"?>\n<!DOCTYPE api "
		    "[<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<api "
		    "xmlns=\"" SYN_NS "\" name=\"X\" context=\"/x\">&x;</api>\n",
		    "DOCTYPE" },
		/* Well-formed, but not a valid sequence. */
		{ "sequences/Wrong.xml", "<api xmlns=\"" SYN_NS "\" name=\"W\" "
		    "context=\"/w\"/>\n", "Wrong.xml:1: root element <api> is "
		    "not <sequence>" },
	};
	size_t i;

	env_init(*state, &e);
	/* Refused before anything was ever published: no state.json. */
	in_src(&e, cases[0].file, bad);
	tu_write_str(bad, cases[0].xml);
	publish_fails(&e, cases[0].file);
	in_root(&e, "state.json", p);
	assert_false(tu_exists(p));
	in_root(&e, "snapshots", snaps);
	tu_assert_dir(snaps, "");
	assert_int_equal(unlink(bad), 0);

	publish_ok(&e, SNAP_PUBLISHED, 1);
	before = tu_slurp(p, &len);
	list = tu_list_dir(snaps);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *after;
		size_t len2;

		in_src(&e, cases[i].file, bad);
		tu_write_str(bad, cases[i].xml);
		/* The message names the file, then says what is wrong. */
		publish_fails(&e, bad);
		publish_fails(&e, cases[i].want);
		after = tu_slurp(p, &len2);
		assert_int_equal(len2, len);
		assert_memory_equal(after, before, len);
		free(after);
		tu_assert_dir(snaps, list);
		assert_int_equal(unlink(bad), 0);
	}
	verify_ok(&e, 0, 1);
	publish_ok(&e, SNAP_UNCHANGED, 1);
	free(before);
	free(list);
}

/*
 * BUG: an artifact of exactly ARTIFACT_MAX_BYTES passes scan_tree() (which
 * refuses only larger ones) and then fails to publish with "larger than the
 * 33554432-byte limit": fsu_read_file() refuses a file of exactly `max`
 * bytes (see test_fsutil.c, test_read_file_exact_limit). Validation is
 * skipped (xc NULL) so that only the size matters.
 */
static void
test_publish_max_size_artifact(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_publish_opts o = opts;
	enum snap_publish_result res;
	struct env e;
	char p[TU_PATH];
	uint64_t ver = 0;

	env_init(*state, &e);
	in_src(&e, "local-entries/Big.xml", p);
	tu_write_str(p, "");
	assert_int_equal(truncate(p, ARTIFACT_MAX_BYTES), 0);
	if (snap_publish(e.src, e.root, &o, &res, &ver, &err) != 0)
		fail_msg("BUG: a %u-byte artifact refused: %s",
		    ARTIFACT_MAX_BYTES, err.msg);
	assert_int_equal(ver, 1);
	verify_ok(&e, 0, 1);
}

/*
 * BUG: the message for a bad artifact must name the file, but
 * snap_err_prefix() formats its prefix into a 256-byte buffer, and
 * hash_and_validate() puts the whole "SOURCE/TYPE/NAME.xml" path in that
 * prefix: with a long source path or a long (legal) NAME the path is cut
 * and the operator is told about a file that does not exist.
 */
static void
test_error_names_long_file(void **state)
{
	struct env e;
	char name[241], rel[TU_PATH], p[TU_PATH];

	env_init(*state, &e);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	tu_path(rel, "api/%s.xml", name);
	in_src(&e, rel, p);
	tu_write_str(p, "<api xmlns=\"" SYN_NS "\" name=\"n\">");
	publish_fails(&e, ".xml:1: ");
	{
		struct snap_err err = SNAP_ERR_INIT;
		enum snap_publish_result res;
		uint64_t ver;

		assert_int_equal(publish(&e, &res, &ver, &err), -1);
		if (strstr(err.msg, p) == NULL)
			fail_msg("BUG: message does not name %s: \"%s\"", p,
			    err.msg);
	}
}

static void
test_bad_options(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_publish_opts o = opts;
	enum snap_publish_result res;
	struct env e;
	uint64_t ver;
	char missing[TU_PATH];

	env_init(*state, &e);
	o.cluster_id = "a b";
	assert_int_equal(snap_publish(e.src, e.root, &o, &res, &ver, &err), -1);
	tu_assert_msg(err.msg, "cluster_id");
	o = opts;
	o.node_id = "";
	assert_int_equal(snap_publish(e.src, e.root, &o, &res, &ver, &err), -1);
	tu_assert_msg(err.msg, "node_id");
	assert_false(tu_exists(e.root));

	o = opts;
	tu_path(missing, "%s/no-such-source", e.dir);
	assert_int_equal(snap_publish(missing, e.root, &o, &res, &ver, &err),
	    -1);
	tu_assert_msg(err.msg, "no-such-source");

	/* What WSO2 would not deploy is skipped (scan.h); what artsync
	 * cannot carry is refused. */
	tu_path(missing, "%s/src/README", e.dir);
	tu_write_str(missing, "x");
	tu_path(missing, "%s/src/a\x01b.xml", e.dir);
	tu_write_str(missing, "<x/>");
	publish_fails(&e, "a control character");
	tu_path(missing, "%s/root/state.json", e.dir);
	assert_false(tu_exists(missing));
}

/*
 * A publish that fails half-way (here: a file size limit that lets the
 * archive through and stops the manifest, as a full disk would) leaves
 * nothing of its version: no archive, no temp file. The next publish,
 * with room again, takes the same number.
 */
static void
test_failed_publish_leaves_nothing(void **state)
{
	enum snap_publish_result res;
	struct snap_err err = SNAP_ERR_INIT;
	struct rlimit old, small;
	char p[TU_PATH], name[32], body[256];
	struct env e;
	uint64_t ver;
	int i, rc;

	/* No fixtures: many tiny artifacts make a manifest several times
	 * larger than the archive. */
	tu_path(e.dir, "%s", (const char *)*state);
	tu_path(e.src, "%s/src", e.dir);
	tu_path(e.root, "%s/root", e.dir);
	tu_mkdir(e.src);
	in_src(&e, "sequences", p);
	tu_mkdir(p);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "sequences/s%03d.xml", i);
		in_src(&e, name, p);
		snprintf(body, sizeof(body), "<sequence xmlns=\"" SYN_NS "\" "
		    "name=\"s%03d\"/>\n", i);
		tu_write_str(p, body);
	}
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 24 * 1024;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	rc = publish(&e, &res, &ver, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(rc, -1);
	tu_assert_msg(err.msg, "snapshots/1.manifest.json: manifest: write: "
	    "File too large");
	in_root(&e, "snapshots", p);
	tu_assert_dir(p, "");
	in_root(&e, "", p);
	tu_assert_dir(p, ".publish.lock,snapshots");

	publish_ok(&e, SNAP_PUBLISHED, 1);
	verify_ok(&e, 0, 1);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_publish_round_trip),
		TMP_TEST(test_publish_unchanged),
		TMP_TEST(test_change_add_delete),
		TMP_TEST(test_invalid_xml_refused),
		TMP_TEST(test_publish_max_size_artifact),
		TMP_TEST(test_error_names_long_file),
		TMP_TEST(test_bad_options),
		TMP_TEST(test_failed_publish_leaves_nothing),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
