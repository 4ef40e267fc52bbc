/*
 * test_snap.c - end-to-end tests of snapshots/snap.c with the real fixtures.
 *
 * Each test copies the ten fixture folders into its own temp dir (src/),
 * publishes them to a sync root (root/) through snap_publish with the real
 * validator, and looks at what landed on disk: state.json and its copies,
 * the archive extracted back and compared byte for byte, versions that only
 * grow, refusals that leave state.json as it was, damage that snap_verify
 * must see, rollback, and the publish lock.
 *
 * Tests marked BUG fail against the current snapshots/snap.c on purpose.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "arc.h"
#include "snap.h"
#include "testutil.h"
#include "xmlcheck.h"

#define SYN_NS "http://ws.apache.org/ns/synapse"
#define HELLO "api/HelloWorld.xml"
#define MAIN "sequences/main.xml"

static struct xmlcheck *xc;

struct env {
	char dir[TU_PATH];
	char src[TU_PATH];	/* the source tree: a copy of the fixtures */
	char root[TU_PATH];	/* the sync root (created by publish) */
	size_t nfix;
};

static int
group_setup(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;

	(void)state;
	if ((xc = xmlcheck_new(&err)) == NULL)
		fail_msg("xmlcheck_new: %s", err.msg);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	xmlcheck_free(xc);
	return 0;
}

static void
env_init(const char *dir, struct env *e)
{
	tu_path(e->dir, "%s", dir);
	tu_path(e->src, "%s/src", dir);
	tu_path(e->root, "%s/root", dir);
	tu_mkdir(e->src);
	e->nfix = tu_copy_fixtures(e->src);
}

/* e->root/rel, or e->src/rel, in out. */
static void
in_root(const struct env *e, const char *rel, char *out)
{
	tu_path(out, "%s/%s", e->root, rel);
}

static void
in_src(const struct env *e, const char *rel, char *out)
{
	tu_path(out, "%s/%s", e->src, rel);
}

static const struct snap_publish_opts opts = {
	.cluster_id = "test-cluster", .node_id = "node_1", .xc = NULL,
};

static int
publish(const struct env *e, enum snap_publish_result *res, uint64_t *ver,
    struct snap_err *err)
{
	struct snap_publish_opts o = opts;

	o.xc = xc;
	err->msg[0] = '\0';
	return snap_publish(e->src, e->root, &o, res, ver, err);
}

/* Publishes and asserts the result and the version. */
static void
publish_ok(const struct env *e, enum snap_publish_result want_res,
    uint64_t want_ver)
{
	struct snap_err err = SNAP_ERR_INIT;
	/* The opposite of what is wanted: publish must set it. */
	enum snap_publish_result res = want_res == SNAP_PUBLISHED ?
	    SNAP_UNCHANGED : SNAP_PUBLISHED;
	uint64_t ver = 0;

	if (publish(e, &res, &ver, &err) != 0)
		fail_msg("publish: %s", err.msg);
	if (res != want_res)
		fail_msg("publish: %s, expected %s", res == SNAP_PUBLISHED ?
		    "published" : "unchanged", want_res == SNAP_PUBLISHED ?
		    "published" : "unchanged");
	assert_int_equal(ver, want_ver);
}

/* Asserts that publish fails with `want` in the message. */
static void
publish_fails(const struct env *e, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	enum snap_publish_result res;
	uint64_t ver;

	if (publish(e, &res, &ver, &err) != -1)
		fail_msg("publish accepted (version %llu)",
		    (unsigned long long)ver);
	tu_assert_msg(err.msg, want);
}

/* Publishes over an unreadable latest: SNAP_REPAIRED, version want_ver,
 * and err says what was wrong with the old one. */
static void
assert_repaired(const struct env *e, uint64_t want_ver, const char *why)
{
	struct snap_err err = SNAP_ERR_INIT;
	enum snap_publish_result res = SNAP_UNCHANGED;
	uint64_t ver = 0;

	if (publish(e, &res, &ver, &err) != 0)
		fail_msg("publish: %s", err.msg);
	assert_int_equal(res, SNAP_REPAIRED);
	assert_int_equal(ver, want_ver);
	tu_assert_msg(err.msg, why);
}

static void
verify_ok(const struct env *e, uint64_t version, uint64_t want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state st;

	if (snap_verify(e->root, version, &st, &err) != 0)
		fail_msg("verify %llu: %s", (unsigned long long)version,
		    err.msg);
	assert_int_equal(st.version, want);
}

static void
verify_fails(const struct env *e, uint64_t version, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (snap_verify(e->root, version, NULL, &err) != -1)
		fail_msg("verify %llu accepted", (unsigned long long)version);
	tu_assert_msg(err.msg, want);
}

/* Opens a version; the caller snap_close()s it. */
static void
open_version(const struct env *e, uint64_t version, struct snap_version *v)
{
	struct snap_err err = SNAP_ERR_INIT;
	int rootfd = open(e->root, O_RDONLY | O_DIRECTORY);

	assert_true(rootfd >= 0);
	if (snap_open(rootfd, version, v, &err) != 0)
		fail_msg("snap_open %llu: %s", (unsigned long long)version,
		    err.msg);
	close(rootfd);
}

/* Extracts a version into dir/<name>, a new directory; path in out. */
static void
extract_version(const struct env *e, uint64_t version, const char *name,
    char *out)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	struct arc_extract x = { .destfd = -1 };

	tu_path(out, "%s/%s", e->dir, name);
	tu_mkdir(out);
	open_version(e, version, &v);
	x.destfd = open(out, O_RDONLY | O_DIRECTORY);
	assert_true(x.destfd >= 0);
	if (arc_extract(v.archfd, &v.st.archive, v.m, &x, &err) != 0)
		fail_msg("extract %llu: %s", (unsigned long long)version,
		    err.msg);
	assert_int_equal(x.written, v.m->n);
	close(x.destfd);
	snap_close(&v);
}

static const struct manifest_event *
find_event(const struct manifest *m, const char *id)
{
	size_t i;
	char buf[TU_PATH];

	for (i = 0; i < m->nev; i++) {
		tu_path(buf, "%s/%s.xml", artifact_types[m->events[i].type].
		    folder, m->events[i].name);
		if (strcmp(buf, id) == 0)
			return &m->events[i];
	}
	return NULL;
}

/* Asserts the version's events are exactly one: `action` on `id`. */
static void
assert_one_event(const struct env *e, uint64_t version, const char *id,
    enum manifest_action action, uint64_t parent)
{
	struct snap_version v = SNAP_VERSION_INIT;
	const struct manifest_event *ev;

	open_version(e, version, &v);
	assert_int_equal(v.m->version, version);
	assert_int_equal(v.m->parent_version, parent);
	assert_int_equal(v.m->nev, 1);
	ev = find_event(v.m, id);
	if (ev == NULL)
		fail_msg("version %llu: no event for %s",
		    (unsigned long long)version, id);
	assert_int_equal(ev->action, action);
	snap_close(&v);
}

static void
change_hello(const struct env *e, const char *comment)
{
	char p[TU_PATH], *buf, *more;
	size_t len;

	in_src(e, HELLO, p);
	buf = tu_slurp(p, &len);
	more = malloc(len + strlen(comment) + 16);
	assert_non_null(more);
	sprintf(more, "%s<!-- %s -->\n", buf, comment);
	tu_write_str(p, more);
	free(more);
	free(buf);
}

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
test_versions_only_grow(void **state)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct env e;
	char p[TU_PATH], q[TU_PATH];

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	change_hello(&e, "two");
	publish_ok(&e, SNAP_PUBLISHED, 2);
	change_hello(&e, "three");
	publish_ok(&e, SNAP_PUBLISHED, 3);

	/* state.json goes back to version 1 (a restore, an old rsync). */
	in_root(&e, "snapshots/1.state.json", p);
	in_root(&e, "state.json", q);
	tu_copy_file(p, q);
	verify_ok(&e, 0, 1);
	change_hello(&e, "four");
	publish_ok(&e, SNAP_PUBLISHED, 4);
	verify_ok(&e, 0, 4);
	open_version(&e, 4, &v);
	assert_int_equal(v.m->parent_version, 1);
	snap_close(&v);

	/* Leftovers of a publish that crashed before state.json. */
	in_root(&e, "snapshots/9.tar.zst", p);
	tu_write_str(p, "half an archive");
	change_hello(&e, "ten");
	publish_ok(&e, SNAP_PUBLISHED, 10);
	verify_ok(&e, 0, 10);
	verify_ok(&e, 10, 10);
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
		    "line 1" },
		{ "api/Xxe.xml", "<?xml version=\"1.0\"?>\n<!DOCTYPE api "
		    "[<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<api "
		    "xmlns=\"" SYN_NS "\" name=\"X\" context=\"/x\">&x;</api>\n",
		    "DOCTYPE" },
		/* Well-formed, but not a valid sequence. */
		{ "sequences/Wrong.xml", "<api xmlns=\"" SYN_NS "\" name=\"W\" "
		    "context=\"/w\"/>\n", "no matching global declaration" },
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

static void
flip_byte(const char *path, off_t off)
{
	unsigned char c;
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x01;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void
test_verify_damage(void **state)
{
	struct env e;
	char p[TU_PATH], *orig;
	struct stat st;
	size_t len;

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);

	/* A bit flip in the archive. */
	in_root(&e, "snapshots/1.tar.zst", p);
	assert_int_equal(stat(p, &st), 0);
	flip_byte(p, st.st_size / 2);
	verify_fails(&e, 0, "checksum mismatch");
	verify_fails(&e, 1, "snapshots/1.tar.zst");
	flip_byte(p, st.st_size / 2);
	verify_ok(&e, 0, 1);

	/* The archive is gone. */
	orig = tu_slurp(p, &len);
	assert_int_equal(unlink(p), 0);
	verify_fails(&e, 0, "snapshots/1.tar.zst: No such file");
	/* ... or is a symlink to a good copy: not followed. */
	{
		char copy[TU_PATH];

		tu_path(copy, "%s/copy.tar.zst", e.dir);
		tu_write(copy, orig, len);
		assert_int_equal(symlink(copy, p), 0);
		verify_fails(&e, 0, "snapshots/1.tar.zst");
		assert_int_equal(unlink(p), 0);
	}
	tu_write(p, orig, len);
	free(orig);
	verify_ok(&e, 0, 1);

	/* The manifest, truncated, then changed in place. */
	in_root(&e, "snapshots/1.manifest.json", p);
	orig = tu_slurp(p, &len);
	assert_int_equal(truncate(p, (off_t)len - 10), 0);
	verify_fails(&e, 0, "snapshots/1.manifest.json");
	verify_fails(&e, 0, "truncated");
	tu_write(p, orig, len);
	flip_byte(p, (off_t)len / 2);
	verify_fails(&e, 0, "snapshots/1.manifest.json: checksum mismatch");
	tu_write(p, orig, len);
	assert_int_equal(unlink(p), 0);
	verify_fails(&e, 0, "snapshots/1.manifest.json");
	tu_write(p, orig, len);
	free(orig);
	verify_ok(&e, 0, 1);
}

static void
test_verify_garbage_state(void **state)
{
	struct env e;
	char p[TU_PATH], *got;
	static const char garbage[] = "this is {not json";

	env_init(*state, &e);
	/* No sync root at all. */
	verify_fails(&e, 0, e.root);
	publish_ok(&e, SNAP_PUBLISHED, 1);

	in_root(&e, "state.json", p);
	tu_write_str(p, garbage);
	verify_fails(&e, 0, "state.json: malformed JSON");
	/* The per-version copy still verifies that version. */
	verify_ok(&e, 1, 1);
	/* A publisher numbers past everything on disk and publishes the
	 * tree in full over a latest it cannot read, saying so ... */
	change_hello(&e, "new");
	assert_repaired(&e, 2, "state.json: malformed JSON");
	verify_ok(&e, 0, 2);
	/* ... but with no number to go by it refuses, and leaves the root
	 * as it found it: a lower version would be ignored everywhere. */
	in_root(&e, "snapshots", p);
	tu_rmtree(p);
	tu_mkdir(p);
	in_root(&e, "state.json", p);
	tu_write_str(p, garbage);
	change_hello(&e, "newer");
	publish_fails(&e, "latest version unreadable");
	publish_fails(&e, "repair or empty the sync root");
	got = tu_slurp(p, NULL);
	assert_string_equal(got, garbage);
	free(got);

	tu_write_str(p, "");
	verify_fails(&e, 0, "state.json");
	assert_int_equal(unlink(p), 0);
	verify_fails(&e, 0, "state.json: No such file");
	/* Unknown version. */
	verify_fails(&e, 7, "snapshots/7.state.json");
}

static void
test_rollback(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_version v = SNAP_VERSION_INIT;
	struct snap_publish_opts o = opts;
	struct env e;
	char orig[TU_PATH], out1[TU_PATH], out3[TU_PATH], p[TU_PATH];
	uint64_t ver = 0;

	env_init(*state, &e);
	tu_path(orig, "%s/orig", e.dir);
	tu_mkdir(orig);
	tu_copy_fixtures(orig);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	change_hello(&e, "changed");
	in_src(&e, MAIN, p);
	assert_int_equal(unlink(p), 0);
	publish_ok(&e, SNAP_PUBLISHED, 2);

	o.xc = xc;
	if (snap_rollback(e.root, 1, &o, &ver, &err) != 0)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(ver, 3);
	verify_ok(&e, 0, 3);
	verify_ok(&e, 3, 3);

	/* Version 3 holds version 1's tree, which was the fixtures. */
	extract_version(&e, 3, "out3", out3);
	extract_version(&e, 1, "out1", out1);
	assert_int_equal(tu_assert_trees_equal(out1, out3), e.nfix);
	assert_int_equal(tu_assert_trees_equal(orig, out3), e.nfix);

	/* Its events undo version 2's changes. */
	open_version(&e, 3, &v);
	assert_int_equal(v.m->parent_version, 2);
	assert_int_equal(v.m->nev, 2);
	assert_non_null(find_event(v.m, HELLO));
	assert_int_equal(find_event(v.m, HELLO)->action, MANIFEST_DEPLOY);
	assert_non_null(find_event(v.m, MAIN));
	assert_int_equal(find_event(v.m, MAIN)->action, MANIFEST_DEPLOY);
	snap_close(&v);

	/* Not to the latest, nor to a version that does not exist. */
	assert_int_equal(snap_rollback(e.root, 3, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, "not older than the latest");
	assert_int_equal(snap_rollback(e.root, 9, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, NULL);

	/* Not to a version that no longer verifies: state.json stays. */
	in_root(&e, "snapshots/2.tar.zst", p);
	flip_byte(p, 100);
	assert_int_equal(snap_rollback(e.root, 2, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, "version 2");
	tu_assert_msg(err.msg, "checksum mismatch");
	verify_ok(&e, 0, 3);
	in_root(&e, "snapshots", p);
	tu_assert_dir(p, "1.manifest.json,1.state.json,1.tar.zst,"
	    "2.manifest.json,2.state.json,2.tar.zst,"
	    "3.manifest.json,3.state.json,3.tar.zst");

	/* The source tree now differs from the latest: publish moves on. */
	publish_ok(&e, SNAP_PUBLISHED, 4);
}

/*
 * BUG: snap_rollback(root, 0, ...) is accepted. Version 0 is no version
 * (snap.h: "the content of an older retained version `to`"), but 0 passes
 * the "to < latest" test and snap_open() then reads 0 as "the latest, from
 * state.json", so the latest content is republished as a new version.
 * snap_rollback should refuse to == 0.
 */
static void
test_rollback_to_zero(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_publish_opts o = opts;
	struct env e;
	uint64_t ver = 0;

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	change_hello(&e, "changed");
	publish_ok(&e, SNAP_PUBLISHED, 2);
	o.xc = xc;
	if (snap_rollback(e.root, 0, &o, &ver, &err) != -1)
		fail_msg("BUG: rollback to version 0 accepted, published "
		    "version %llu", (unsigned long long)ver);
	verify_ok(&e, 0, 2);
}

static void
test_publish_lock(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_publish_opts o = opts;
	struct env e;
	char p[TU_PATH], snaps[TU_PATH], *before, *list, *after;
	uint64_t ver = 0;
	int lockfd;

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	change_hello(&e, "changed");

	in_root(&e, ".publish.lock", p);
	lockfd = open(p, O_RDWR);
	assert_true(lockfd >= 0);
	assert_int_equal(flock(lockfd, LOCK_EX | LOCK_NB), 0);
	in_root(&e, "state.json", p);
	in_root(&e, "snapshots", snaps);
	before = tu_slurp(p, NULL);
	list = tu_list_dir(snaps);

	publish_fails(&e, "another publisher holds .publish.lock");
	o.xc = xc;
	assert_int_equal(snap_rollback(e.root, 1, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, "another publisher holds .publish.lock");
	after = tu_slurp(p, NULL);
	assert_string_equal(after, before);
	free(after);
	tu_assert_dir(snaps, list);
	/* Readers do not take the lock. */
	verify_ok(&e, 0, 1);

	close(lockfd);
	publish_ok(&e, SNAP_PUBLISHED, 2);
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
	publish_fails(&e, "line 1");
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

	/* A source that is not an artifact tree. */
	tu_path(missing, "%s/src/README", e.dir);
	tu_write_str(missing, "x");
	publish_fails(&e, "README");
	tu_path(missing, "%s/root/state.json", e.dir);
	assert_false(tu_exists(missing));
}

/* Retention keeps the newest versions, and anything younger than the grace
 * period, and never touches a name it did not write. */
static void
test_retention(void **state)
{
	struct snap_publish_opts o = opts;
	enum snap_publish_result res;
	struct snap_err err = SNAP_ERR_INIT;
	char p[TU_PATH], body[64];
	struct env e;
	uint64_t ver;
	int i, rootfd;

	env_init(*state, &e);
	o.keep_versions = 3;
	o.grace_s = 3600;	/* everything is younger: nothing goes */
	for (i = 1; i <= 5; i++) {
		snprintf(body, sizeof(body), "v%d", i);
		change_hello(&e, body);
		assert_int_equal(snap_publish(e.src, e.root, &o, &res, &ver,
		    &err), 0);
		assert_int_equal(ver, (uint64_t)i);
	}
	in_root(&e, "snapshots/.nfs000123", p);
	tu_write_str(p, "held open by an NFS client");
	in_root(&e, "snapshots/README", p);
	tu_write_str(p, "not ours");
	in_root(&e, "snapshots", p);
	tu_assert_dir(p, ".nfs000123,1.manifest.json,1.state.json,1.tar.zst,"
	    "2.manifest.json,2.state.json,2.tar.zst,3.manifest.json,"
	    "3.state.json,3.tar.zst,4.manifest.json,4.state.json,4.tar.zst,"
	    "5.manifest.json,5.state.json,5.tar.zst,README");

	/* Past the grace period: only the newest three stay. */
	rootfd = open(e.root, O_RDONLY | O_DIRECTORY);
	assert_true(rootfd >= 0);
	assert_int_equal(snap_prune(rootfd, 5, 3, 0), 6);
	tu_assert_dir(p, ".nfs000123,3.manifest.json,3.state.json,3.tar.zst,"
	    "4.manifest.json,4.state.json,4.tar.zst,5.manifest.json,"
	    "5.state.json,5.tar.zst,README");
	/* keep 1 still keeps the latest; keep 0 keeps everything. */
	assert_int_equal(snap_prune(rootfd, 5, 0, 0), 0);
	assert_int_equal(snap_prune(rootfd, 5, 1, 0), 6);
	tu_assert_dir(p, ".nfs000123,5.manifest.json,5.state.json,5.tar.zst,"
	    "README");
	close(rootfd);
	verify_ok(&e, 0, 5);
}

/*
 * state.json has no checksum of its own; it must be byte for byte the copy
 * its version was published with. A hand edit that keeps it valid JSON
 * (another node_id) is refused like damage, and repaired by a publish.
 */
static void
test_state_must_equal_its_copy(void **state)
{
	struct env e;
	char p[TU_PATH], q[TU_PATH], *buf, *at;
	size_t len;

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	in_root(&e, "state.json", p);
	buf = tu_slurp(p, &len);
	at = strstr(buf, "\"node_1\"");
	assert_non_null(at);
	at[6] = '2';		/* "node_2": as valid as before */
	tu_write(p, buf, len);
	free(buf);
	verify_fails(&e, 0, "state.json differs from its copy "
	    "snapshots/1.state.json");
	verify_ok(&e, 1, 1);	/* the version itself is intact */

	/* Without its copy, state.json alone is not trusted either. */
	in_root(&e, "snapshots/1.state.json", q);
	tu_copy_file(q, p);
	verify_ok(&e, 0, 1);
	assert_int_equal(unlink(q), 0);
	verify_fails(&e, 0, "snapshots/1.state.json: No such file");

	change_hello(&e, "repaired");
	assert_repaired(&e, 2, "snapshots/1.state.json: No such file");
	verify_ok(&e, 0, 2);
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
	tu_assert_msg(err.msg, "snapshots/1.manifest.json: write: File too "
	    "large");
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
		TMP_TEST(test_versions_only_grow),
		TMP_TEST(test_invalid_xml_refused),
		TMP_TEST(test_verify_damage),
		TMP_TEST(test_verify_garbage_state),
		TMP_TEST(test_rollback),
		TMP_TEST(test_rollback_to_zero),
		TMP_TEST(test_publish_lock),
		TMP_TEST(test_publish_max_size_artifact),
		TMP_TEST(test_error_names_long_file),
		TMP_TEST(test_bad_options),
		TMP_TEST(test_retention),
		TMP_TEST(test_state_must_equal_its_copy),
		TMP_TEST(test_failed_publish_leaves_nothing),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
