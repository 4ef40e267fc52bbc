/*
 * test_snap.c - end-to-end tests of snapshots/snap.c with the real fixtures.
 *
 * Each test copies the ten fixture folders into its own temp dir (src/),
 * publishes them to a sync root (root/) through snap_publish with the real
 * validator, and looks at what landed on disk: state.json and its copies,
 * the archive extracted back and compared byte for byte, versions that only
 * grow, refusals that leave state.json as it was, damage that snap_verify
 * must see, rollback, and the publish lock. Then delta versions
 * (max_chain): which versions are deltas, what they compose to, what a
 * reader on the chain reads, and what retention must keep for them.
 * Last, snap_publish_changes (the primary's publish of what it was told
 * changed): its memo against what snap_open composes, the list as the
 * contract, and each fallback to a full publish.
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

	if (snap_verify(e->root, version, NULL, &st, &err) != 0)
		fail_msg("verify %llu: %s", (unsigned long long)version,
		    err.msg);
	assert_int_equal(st.version, want);
}

static void
verify_fails(const struct env *e, uint64_t version, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (snap_verify(e->root, version, NULL, NULL, &err) != -1)
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

/* Writes a layer's entry only as the composed version holds it: what a
 * later delta changed back or removed is not left behind. */
static bool
want_composed(const struct manifest_entry *e, void *arg)
{
	const struct manifest *m = arg;
	const struct manifest_entry *c = manifest_find(m, e->type, e->name);

	return c != NULL && strcmp(c->xxh128, e->xxh128) == 0;
}

/* Extracts a version (every layer, oldest first) into dir/<name>, a new
 * directory; path in out. */
static void
extract_version(const struct env *e, uint64_t version, const char *name,
    char *out)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	struct arc_extract x = { .destfd = -1 };
	size_t i, written = 0;

	tu_path(out, "%s/%s", e->dir, name);
	tu_mkdir(out);
	open_version(e, version, &v);
	x.destfd = open(out, O_RDONLY | O_DIRECTORY);
	assert_true(x.destfd >= 0);
	x.want = want_composed;
	x.arg = v.m;
	for (i = 0; i < v.nlayers; i++) {
		if (arc_extract(v.layers[i].archfd, v.layers[i].archive_f,
		    v.layers[i].m, &x, &err) != 0)
			fail_msg("extract %llu: %s",
			    (unsigned long long)version, err.msg);
		written += x.written;	/* per call */
	}
	assert_true(written >= v.m->n);
	if (v.nlayers == 1)
		assert_int_equal(written, v.m->n);
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

	/* Leftovers of a publish that crashed before state.json; and of one
	 * killed while writing it, whose temp the next publish removes
	 * (found by t55-torture). A file name numbers nothing: 9 and
	 * 99999999999999999999 are left alone, 5 is next. */
	in_root(&e, "snapshots/9.tar.zst", p);
	tu_write_str(p, "half an archive");
	in_root(&e, "snapshots/99999999999999999999.tar.zst", p);
	tu_write_str(p, "planted");
	in_root(&e, ".state.json.tmp-abc123", p);
	tu_write_str(p, "{\"format\": 1, \"clus");
	change_hello(&e, "five");
	publish_ok(&e, SNAP_PUBLISHED, 5);
	verify_ok(&e, 0, 5);
	verify_ok(&e, 5, 5);
	tu_assert_dir(e.root, ".publish.lock,snapshots,state.json");
	in_root(&e, "snapshots/9.tar.zst", p);
	assert_true(tu_exists(p));

	/* Files of the next number that no state verifies (a publish that
	 * died before its state copy): that number is passed over. */
	in_root(&e, "snapshots/6.tar.zst", p);
	tu_write_str(p, "half an archive");
	change_hello(&e, "seven");
	publish_ok(&e, SNAP_PUBLISHED, 7);

	/* A number at the top of int64 in a file name (planted by a writer
	 * on the share, or an empty .sig): it moves nothing. */
	in_root(&e, "snapshots/9223372036854775000.state.sig", p);
	tu_write_str(p, "");
	in_root(&e, "snapshots/9223372036854775807.state.sig", p);
	tu_write_str(p, "planted");
	change_hello(&e, "eight");
	publish_ok(&e, SNAP_PUBLISHED, 8);
	verify_ok(&e, 0, 8);
}

/* A state that parses at the last version there is: the next one is
 * refused with a clear message, not wrapped to 0 or clamped. */
static void
test_version_space_end(void **state)
{
	struct env e;
	char p[TU_PATH], json[2048];

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	snprintf(json, sizeof(json), "{\"format\":2,\"cluster_id\":\"c\","
	    "\"node_id\":\"n\",\"node_version\":\"x\",\"version\":%llu,"
	    "\"parent_version\":1,\"base_version\":%llu,\"published_at\":"
	    "\"2026-01-01T00:00:00Z\",\"last_sync_at\":\"2026-01-01T00:00:"
	    "00Z\",\"artifact_count\":1,\"files\":[{\"role\":\"manifest\","
	    "\"version\":%llu,\"name\":\"snapshots/%llu.manifest.json\","
	    "\"size\":1,\"xxh128\":\"00112233445566778899aabbccddeeff\"},"
	    "{\"role\":\"archive\",\"version\":%llu,\"name\":"
	    "\"snapshots/%llu.tar.zst\",\"size\":1,\"xxh128\":"
	    "\"00112233445566778899aabbccddeeff\"}]}\n",
	    STATE_VERSION_MAX, STATE_VERSION_MAX, STATE_VERSION_MAX,
	    STATE_VERSION_MAX, STATE_VERSION_MAX, STATE_VERSION_MAX);
	tu_path(p, "%s/snapshots/%llu.state.json", e.root, STATE_VERSION_MAX);
	tu_write_str(p, json);
	change_hello(&e, "two");
	publish_fails(&e, "version 9007199254740991 leaves no next version");
	verify_ok(&e, 0, 1);
	/* One above: no version of ours, does not parse, counts for
	 * nothing. */
	assert_int_equal(unlink(p), 0);
	tu_path(p, "%s/snapshots/9007199254740992.state.json", e.root);
	tu_write_str(p, json);
	publish_ok(&e, SNAP_PUBLISHED, 2);
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

/* A damaged archive under an unchanged tree: "unchanged" would leave every
 * secondary without a version it can read. It is published again, in full. */
static void
test_unchanged_over_damaged_archive(void **state)
{
	char path[TU_PATH];
	struct env e;

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	in_root(&e, "snapshots/1.tar.zst", path);
	flip_byte(path, 40);
	verify_fails(&e, 1, "snapshots/1.tar.zst");
	assert_repaired(&e, 2, "snapshots/1.tar.zst");
	verify_ok(&e, 0, 2);
	publish_ok(&e, SNAP_UNCHANGED, 2);
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

/* --- deltas --- */

/* Options that publish deltas, at most four past a full version. */
static struct snap_publish_opts
chain_opts(void)
{
	struct snap_publish_opts o = opts;

	o.xc = xc;
	o.max_chain = 4;
	return o;
}

/* snap_publish with o; asserts the result and the version. */
static void
publish_o(const struct env *e, const struct snap_publish_opts *o,
    enum snap_publish_result want_res, uint64_t want_ver)
{
	struct snap_err err = SNAP_ERR_INIT;
	enum snap_publish_result res = want_res == SNAP_PUBLISHED ?
	    SNAP_UNCHANGED : SNAP_PUBLISHED;
	uint64_t ver = 0;

	if (snap_publish(e->src, e->root, o, &res, &ver, &err) != 0)
		fail_msg("publish: %s", err.msg);
	if (res != want_res)
		fail_msg("publish: result %d, expected %d (%s)", (int)res,
		    (int)want_res, err.msg);
	assert_int_equal(ver, want_ver);
}

/* Reads root/name (state.json or a state copy). */
static void
read_state(const struct env *e, const char *name, struct snap_state *st)
{
	struct snap_err err = SNAP_ERR_INIT;
	int rootfd = open(e->root, O_RDONLY | O_DIRECTORY);

	assert_true(rootfd >= 0);
	if (state_read(rootfd, name, st, &err) != 0)
		fail_msg("%s: %s", name, err.msg);
	close(rootfd);
}

/* Asserts that state.json and version's state copy say: `version`, on
 * full version `base`, through `ndeltas` deltas. */
static void
assert_chain(const struct env *e, uint64_t version, uint64_t base,
    size_t ndeltas)
{
	struct snap_state *st = malloc(sizeof(*st));
	char name[96], want[96];
	size_t i;

	assert_non_null(st);
	state_copy_name(version, name, sizeof(name));
	for (i = 0; i < 2; i++) {
		read_state(e, i == 0 ? STATE_FILE : name, st);
		assert_int_equal(st->version, version);
		assert_int_equal(st->base_version, base);
		assert_int_equal(st->ndeltas, ndeltas);
		state_manifest_name(base, want, sizeof(want));
		assert_string_equal(st->manifest.name, want);
		if (ndeltas > 0) {
			assert_int_equal(st->deltas[ndeltas - 1].version,
			    version);
			assert_int_equal(st->deltas[0].version, base + 1);
		}
	}
	free(st);
}

/* The names a version's own files have in snapshots/, comma-joined. */
static void
names_of(uint64_t v, bool delta, char *out, size_t outlen)
{
	if (delta)
		snprintf(out, outlen, "%llu.delta.json,%llu.delta.tar.zst,"
		    "%llu.state.json", (unsigned long long)v,
		    (unsigned long long)v, (unsigned long long)v);
	else
		snprintf(out, outlen, "%llu.manifest.json,%llu.state.json,"
		    "%llu.tar.zst", (unsigned long long)v,
		    (unsigned long long)v, (unsigned long long)v);
}

/* Appends a comment to the first n artifacts of the source (folders in
 * table order, names sorted): n changed artifacts, still valid. */
static void
change_n(const struct env *e, size_t n, const char *tag)
{
	char dir[TU_PATH], p[TU_PATH], *list, *name, *save, *buf, *more;
	size_t i, done = 0, len;

	for (i = 0; i < artifact_type_count && done < n; i++) {
		in_src(e, artifact_types[i].folder, dir);
		list = tu_list_dir(dir);
		for (name = strtok_r(list, ",", &save); name != NULL &&
		    done < n; name = strtok_r(NULL, ",", &save)) {
			tu_path(p, "%s/%s", dir, name);
			buf = tu_slurp(p, &len);
			more = malloc(len + strlen(tag) + 16);
			assert_non_null(more);
			sprintf(more, "%s<!-- %s -->\n", buf, tag);
			tu_write_str(p, more);
			free(more);
			free(buf);
			done++;
		}
		free(list);
	}
	assert_int_equal(done, n);
}

static void
test_delta_publish(void **state)
{
	struct snap_publish_opts o = chain_opts();
	struct snap_version v = SNAP_VERSION_INIT;
	char snaps[TU_PATH], want[1024], one[128], tag[16], p[TU_PATH];
	struct snap_state st;
	struct env e;
	uint64_t i;

	env_init(*state, &e);
	in_root(&e, "snapshots", snaps);
	publish_o(&e, &o, SNAP_PUBLISHED, 1);
	assert_chain(&e, 1, 1, 0);
	names_of(1, false, want, sizeof(want));
	tu_assert_dir(snaps, want);
	/* Versions 2 to 5: one delta each on version 1. */
	for (i = 2; i <= 5; i++) {
		snprintf(tag, sizeof(tag), "v%llu", (unsigned long long)i);
		change_hello(&e, tag);
		publish_o(&e, &o, SNAP_PUBLISHED, i);
		assert_chain(&e, i, 1, (size_t)i - 1);
		names_of(i, true, one, sizeof(one));
		strcat(want, ",");
		strcat(want, one);
		tu_assert_dir(snaps, want);
		verify_ok(&e, 0, i);
	}
	/* A delta holds what changed, and is the smaller for it. */
	open_version(&e, 3, &v);
	assert_int_equal(v.nlayers, 3);
	assert_false(v.from_delta);
	assert_int_equal(v.layers[0].m->kind, MANIFEST_FULL);
	assert_int_equal(v.layers[0].m->n, e.nfix);
	assert_int_equal(v.layers[2].m->kind, MANIFEST_DELTA);
	assert_int_equal(v.layers[2].m->version, 3);
	assert_int_equal(v.layers[2].m->parent_version, 2);
	assert_int_equal(v.layers[2].m->n, 1);
	assert_string_equal(v.layers[2].m->entries[0].name, "HelloWorld");
	assert_int_equal(v.layers[2].m->nev, 1);
	assert_true(v.layers[2].archive_f->size * 4 <
	    v.layers[0].archive_f->size);
	assert_int_equal(v.m->n, e.nfix);
	assert_int_equal(v.m->version, 3);
	/* The composed version's events are its own, not the base's. */
	assert_int_equal(v.m->nev, 1);
	snap_close(&v);

	/* Version 6: the chain is full, so a full version again. */
	change_hello(&e, "v6");
	publish_o(&e, &o, SNAP_PUBLISHED, 6);
	assert_chain(&e, 6, 6, 0);
	names_of(6, false, one, sizeof(one));
	strcat(want, ",");
	strcat(want, one);
	tu_assert_dir(snaps, want);
	open_version(&e, 6, &v);
	assert_int_equal(v.nlayers, 1);
	assert_int_equal(v.m->parent_version, 5);
	assert_int_equal(v.m->nev, 1);	/* events against 5, not everything */
	snap_close(&v);
	/* ... and a new chain on it. */
	change_hello(&e, "v7");
	publish_o(&e, &o, SNAP_PUBLISHED, 7);
	assert_chain(&e, 7, 6, 1);
	for (i = 1; i <= 7; i++)
		verify_ok(&e, i, i);
	/* The latest is the source tree, byte for byte. */
	extract_version(&e, 7, "out", p);
	assert_int_equal(tu_assert_trees_equal(e.src, p), e.nfix);
	/* Unchanged publishes nothing, delta or not. */
	publish_o(&e, &o, SNAP_UNCHANGED, 7);
	read_state(&e, STATE_FILE, &st);
	assert_int_equal(st.version, 7);
	/* max_chain 0 (the default here) publishes in full. */
	change_hello(&e, "v8");
	publish_ok(&e, SNAP_PUBLISHED, 8);
	assert_chain(&e, 8, 8, 0);
}

/* A delta only while at most half the tree changed (removals aside). */
static void
test_delta_half_the_tree(void **state)
{
	struct snap_publish_opts o = chain_opts();
	char p[TU_PATH], out[TU_PATH];
	struct env e;

	env_init(*state, &e);
	publish_o(&e, &o, SNAP_PUBLISHED, 1);
	change_n(&e, e.nfix / 2, "half");	/* 38 of 77: 76 <= 77 */
	publish_o(&e, &o, SNAP_PUBLISHED, 2);
	assert_chain(&e, 2, 1, 1);
	change_n(&e, e.nfix / 2 + 1, "more");	/* 39 of 77 */
	publish_o(&e, &o, SNAP_PUBLISHED, 3);
	assert_chain(&e, 3, 3, 0);
	change_n(&e, e.nfix, "all");
	publish_o(&e, &o, SNAP_PUBLISHED, 4);
	assert_chain(&e, 4, 4, 0);
	/* Removals only: a delta of no artifact at all. */
	in_src(&e, MAIN, p);
	assert_int_equal(unlink(p), 0);
	publish_o(&e, &o, SNAP_PUBLISHED, 5);
	assert_chain(&e, 5, 4, 1);
	assert_one_event(&e, 5, MAIN, MANIFEST_UNDEPLOY, 4);
	verify_ok(&e, 5, 5);
	extract_version(&e, 5, "out", out);
	assert_int_equal(tu_assert_trees_equal(e.src, out), e.nfix - 1);
}

/* Entry by entry, a and b hold the same artifacts (times aside: two
 * histories). */
static void
assert_same_entries(const struct manifest *a, const struct manifest *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_int_equal(a->entries[i].type, b->entries[i].type);
		assert_string_equal(a->entries[i].name, b->entries[i].name);
		assert_string_equal(a->entries[i].labels, b->entries[i].labels);
		assert_int_equal(a->entries[i].size, b->entries[i].size);
		assert_string_equal(a->entries[i].xxh128, b->entries[i].xxh128);
	}
	assert_true(manifest_same_content(a, b));
}

/* Publishes five versions on one chain: a change, a removal, an addition,
 * a relabel. */
static void
publish_chain(const struct env *e, const struct snap_publish_opts *o)
{
	char p[TU_PATH];

	publish_o(e, o, SNAP_PUBLISHED, 1);
	change_hello(e, "two");
	publish_o(e, o, SNAP_PUBLISHED, 2);
	in_src(e, MAIN, p);
	assert_int_equal(unlink(p), 0);
	publish_o(e, o, SNAP_PUBLISHED, 3);
	in_src(e, "tasks/NewTask.xml", p);
	tu_write_str(p, "<task xmlns=\"" SYN_NS "\" name=\"NewTask\" "
	    "class=\"org.example.Task\"><trigger once=\"true\"/></task>\n");
	publish_o(e, o, SNAP_PUBLISHED, 4);
	in_src(e, "labels.conf", p);
	tu_write_str(p, "api/HelloWorld = blue, green\n");
	publish_o(e, o, SNAP_PUBLISHED, 5);
	assert_chain(e, 5, 1, 4);
}

static void
test_delta_composes_like_full(void **state)
{
	struct snap_publish_opts o = chain_opts();
	struct snap_version v = SNAP_VERSION_INIT, f = SNAP_VERSION_INIT;
	struct env e, full;
	char out[TU_PATH], dir[TU_PATH];

	env_init(*state, &e);
	publish_chain(&e, &o);
	/* The same tree published in full into another sync root. */
	full = e;
	tu_path(full.root, "%s/root-full", e.dir);
	publish_ok(&full, SNAP_PUBLISHED, 1);

	open_version(&e, 5, &v);
	open_version(&full, 1, &f);
	assert_int_equal(v.nlayers, 5);
	assert_int_equal(f.nlayers, 1);
	assert_same_entries(v.m, f.m);
	assert_string_equal(manifest_find(v.m, 0, "HelloWorld")->labels,
	    "blue,green");
	assert_null(manifest_find(v.m, 1, "main"));
	assert_non_null(manifest_find(v.m, 9, "NewTask"));
	/* Times are the history's, by content: relabelled in 5 but the
	 * same bytes (the file keeps its mtime), unchanged since 1. */
	{
		struct snap_version v4 = SNAP_VERSION_INIT;

		open_version(&e, 4, &v4);
		assert_int_equal(manifest_find(v.m, 0, "HelloWorld")->updated_at,
		    manifest_find(v4.m, 0, "HelloWorld")->updated_at);
		snap_close(&v4);
	}
	assert_true(manifest_find(v.m, 9, "NewTask")->updated_at <=
	    v.st.published_at);
	snap_close(&f);
	snap_close(&v);
	/* And the files (labels.conf is no artifact). */
	extract_version(&e, 5, "out", out);
	in_src(&e, "labels.conf", dir);
	assert_int_equal(unlink(dir), 0);
	assert_int_equal(tu_assert_trees_equal(e.src, out), e.nfix);
	/* Each version on the way composes to what it was. */
	open_version(&e, 2, &v);
	assert_non_null(manifest_find(v.m, 1, "main"));
	assert_null(manifest_find(v.m, 9, "NewTask"));
	assert_string_equal(manifest_find(v.m, 0, "HelloWorld")->labels,
	    "default");
	snap_close(&v);
}

/* snap_open_since(version, have) for a reader holding `have`. */
static void
open_since(const struct env *e, uint64_t version, struct manifest *have,
    struct snap_version *v)
{
	struct snap_err err = SNAP_ERR_INIT;
	int rootfd = open(e->root, O_RDONLY | O_DIRECTORY);

	assert_true(rootfd >= 0);
	if (snap_open_since(rootfd, version, have, v, &err) != 0)
		fail_msg("snap_open_since %llu: %s",
		    (unsigned long long)version, err.msg);
	close(rootfd);
}

static void
test_open_since(void **state)
{
	struct snap_publish_opts o = chain_opts();
	struct snap_version have = SNAP_VERSION_INIT, v = SNAP_VERSION_INIT;
	struct snap_version all = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	struct env e;
	uint64_t h, to;
	size_t i;

	env_init(*state, &e);
	publish_chain(&e, &o);
	/* From each version of the chain to each later one: only the
	 * deltas past it, and the same result as reading everything. */
	for (h = 1; h <= 4; h++) {
		open_version(&e, h, &have);
		for (to = h + 1; to <= 5; to++) {
			open_since(&e, to, have.m, &v);
			open_version(&e, to, &all);
			assert_true(v.from_delta);
			assert_int_equal(v.nlayers, to - h);
			for (i = 0; i < v.nlayers; i++) {
				assert_int_equal(v.layers[i].m->kind,
				    MANIFEST_DELTA);
				assert_int_equal(v.layers[i].m->version,
				    h + 1 + i);
			}
			assert_int_equal(v.m->version, to);
			assert_int_equal(v.m->parent_version, to - 1);
			assert_same_entries(v.m, all.m);
			for (i = 0; i < v.m->n; i++)
				assert_int_equal(v.m->entries[i].updated_at,
				    all.m->entries[i].updated_at);
			assert_int_equal(v.m->nev, all.m->nev);
			if (snap_verify_layers(&v, &err) != 0)
				fail_msg("%llu to %llu: %s",
				    (unsigned long long)h,
				    (unsigned long long)to, err.msg);
			snap_close(&all);
			snap_close(&v);
			/* have.m, moved to `to` in place, is back at h. */
			open_version(&e, h, &all);
			assert_int_equal(have.m->version, h);
			assert_int_equal(have.m->parent_version,
			    all.m->parent_version);
			assert_same_entries(have.m, all.m);
			assert_int_equal(have.m->total_bytes,
			    all.m->total_bytes);
			snap_close(&all);
		}
		snap_close(&have);
	}
	/* Nothing held, the version itself, or a version off the chain:
	 * the whole chain. */
	open_since(&e, 5, NULL, &v);
	assert_false(v.from_delta);
	assert_int_equal(v.nlayers, 5);
	snap_close(&v);
	open_version(&e, 5, &have);
	open_since(&e, 5, have.m, &v);
	assert_false(v.from_delta);
	assert_int_equal(v.nlayers, 5);
	snap_close(&v);
	open_since(&e, 3, have.m, &v);	/* a reader ahead of the version */
	assert_false(v.from_delta);
	assert_int_equal(v.nlayers, 3);
	assert_int_equal(v.m->version, 3);
	snap_close(&v);
	have.m->version = 99;
	open_since(&e, 5, have.m, &v);
	assert_false(v.from_delta);
	assert_int_equal(v.nlayers, 5);
	snap_close(&v);
	snap_close(&have);
	/* A new base: a reader of the old chain reads it in full. */
	open_version(&e, 4, &have);
	change_hello(&e, "v6");
	o.max_chain = 0;
	publish_o(&e, &o, SNAP_PUBLISHED, 6);
	open_since(&e, 6, have.m, &v);
	assert_false(v.from_delta);
	assert_int_equal(v.nlayers, 1);
	assert_int_equal(v.layers[0].m->kind, MANIFEST_FULL);
	snap_close(&v);
	snap_close(&have);
}

/* Rewrites snapshots/<version>.state.json and state.json (when it names
 * that version) so that delta `which`'s archive record (size, XXH128 and
 * BLAKE2b) matches the file on disk now: a state that lies consistently. */
static void
restate_delta_archive(const struct env *e, uint64_t version, size_t which)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state *st = malloc(sizeof(*st));
	char name[96], p[TU_PATH], *buf;
	struct state_file *f;
	size_t len;
	int fd;

	assert_non_null(st);
	state_copy_name(version, name, sizeof(name));
	read_state(e, name, st);
	f = &st->deltas[which].archive;
	in_root(e, f->name, p);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(hash_fd(fd, f->xxh128, &f->size, &err), 0);
	close(fd);
	buf = tu_slurp(p, &len);
	sign_hash_buf(buf, len, f->blake2b);
	free(buf);
	assert_int_equal(state_to_json(st, &buf, &len, &err), 0);
	in_root(e, name, p);
	tu_write(p, buf, len);
	in_root(e, STATE_FILE, p);
	tu_write(p, buf, len);
	free(buf);
	free(st);
}

static void
test_verify_delta(void **state)
{
	struct snap_publish_opts o = chain_opts();
	char p[TU_PATH], q[TU_PATH], *orig, *other;
	struct stat sb;
	struct env e;
	size_t len, olen;
	uint64_t i;

	env_init(*state, &e);
	publish_chain(&e, &o);
	for (i = 1; i <= 5; i++)
		verify_ok(&e, i, i);
	verify_ok(&e, 0, 5);

	/* A byte of a delta archive: that version and every later one. */
	in_root(&e, "snapshots/3.delta.tar.zst", p);
	assert_int_equal(stat(p, &sb), 0);
	flip_byte(p, sb.st_size / 2);
	verify_ok(&e, 2, 2);
	verify_fails(&e, 3, "snapshots/3.delta.tar.zst: archive checksum "
	    "mismatch");
	verify_fails(&e, 5, "snapshots/3.delta.tar.zst");
	verify_fails(&e, 0, "snapshots/3.delta.tar.zst");
	flip_byte(p, sb.st_size / 2);
	verify_ok(&e, 5, 5);

	/* A byte of a delta manifest; a truncated one; none at all. */
	in_root(&e, "snapshots/4.delta.json", p);
	orig = tu_slurp(p, &len);
	flip_byte(p, (off_t)len / 2);
	verify_ok(&e, 3, 3);
	verify_fails(&e, 4, "snapshots/4.delta.json: checksum mismatch");
	verify_fails(&e, 5, "snapshots/4.delta.json: checksum mismatch");
	tu_write(p, orig, len - 1);
	verify_fails(&e, 4, "truncated");
	assert_int_equal(unlink(p), 0);
	verify_fails(&e, 5, "snapshots/4.delta.json");
	tu_write(p, orig, len);
	free(orig);
	verify_ok(&e, 5, 5);

	/* The base under a chain. */
	in_root(&e, "snapshots/1.tar.zst", p);
	flip_byte(p, 100);
	verify_fails(&e, 5, "snapshots/1.tar.zst: archive checksum mismatch");
	flip_byte(p, 100);

	/* Another delta's archive (4's NewTask in place of 5's HelloWorld),
	 * with a state that vouches for its bytes: every entry is still
	 * checked against the delta's own manifest. (2's archive would pass:
	 * 5 only relabelled HelloWorld, whose bytes are 2's.) */
	in_root(&e, "snapshots/4.delta.tar.zst", p);
	in_root(&e, "snapshots/5.delta.tar.zst", q);
	orig = tu_slurp(q, &len);
	other = tu_slurp(p, &olen);
	tu_write(q, other, olen);
	restate_delta_archive(&e, 5, 3);
	verify_fails(&e, 5, "snapshots/5.delta.tar.zst: entry "
	    "'tasks/NewTask.xml' is not in the");
	verify_ok(&e, 4, 4);
	free(other);
	free(orig);
}

/* A damaged chain is never built on: the next version is full. */
static void
test_delta_over_damaged_chain(void **state)
{
	struct snap_publish_opts o = chain_opts();
	struct snap_err err = SNAP_ERR_INIT;
	enum snap_publish_result res;
	struct env e;
	char p[TU_PATH];
	uint64_t ver = 0;

	env_init(*state, &e);
	publish_chain(&e, &o);
	o.max_chain = 8;
	in_root(&e, "snapshots/3.delta.tar.zst", p);
	flip_byte(p, 10);
	change_hello(&e, "six");
	if (snap_publish(e.src, e.root, &o, &res, &ver, &err) != 0)
		fail_msg("publish: %s", err.msg);
	assert_int_equal(res, SNAP_REPAIRED);
	assert_int_equal(ver, 6);
	tu_assert_msg(err.msg, "snapshots/3.delta.tar.zst");
	assert_chain(&e, 6, 6, 0);
	verify_ok(&e, 0, 6);
	/* A damaged delta manifest makes the latest unreadable: the same. */
	change_hello(&e, "seven");
	publish_o(&e, &o, SNAP_PUBLISHED, 7);
	assert_chain(&e, 7, 6, 1);
	in_root(&e, "snapshots/7.delta.json", p);
	flip_byte(p, 20);
	change_hello(&e, "eight");
	if (snap_publish(e.src, e.root, &o, &res, &ver, &err) != 0)
		fail_msg("publish: %s", err.msg);
	assert_int_equal(res, SNAP_REPAIRED);
	assert_int_equal(ver, 8);
	tu_assert_msg(err.msg, "snapshots/7.delta.json");
	assert_chain(&e, 8, 8, 0);
	verify_ok(&e, 0, 8);
}

/* Retention keeps every file that the kept versions need: their base and
 * the whole chain up to them. */
static void
test_retention_chain(void **state)
{
	struct snap_publish_opts o = chain_opts();
	char snaps[TU_PATH], want[1024], one[128], tag[16];
	struct env e;
	uint64_t i;
	int rootfd;

	env_init(*state, &e);
	o.keep_versions = 2;
	o.grace_s = 0;
	in_root(&e, "snapshots", snaps);
	want[0] = '\0';
	/* 1 full, 2..5 deltas on it, 6 full, 7 a delta on 6. */
	for (i = 1; i <= 7; i++) {
		snprintf(tag, sizeof(tag), "v%llu", (unsigned long long)i);
		change_hello(&e, tag);
		publish_o(&e, &o, SNAP_PUBLISHED, i);
		/* The latest two always verify. */
		verify_ok(&e, i, i);
		if (i > 1)
			verify_ok(&e, i - 1, i - 1);
		names_of(i, i != 1 && i != 6, one, sizeof(one));
		if (i <= 6) {
			/* Up to 6, version 5 or the latest needs base 1. */
			if (want[0] != '\0')
				strcat(want, ",");
			strcat(want, one);
			tu_assert_dir(snaps, want);
		}
	}
	/* Versions 6 and 7 need only 6: everything older goes. */
	names_of(6, false, want, sizeof(want));
	names_of(7, true, one, sizeof(one));
	strcat(want, ",");
	strcat(want, one);
	tu_assert_dir(snaps, want);
	verify_fails(&e, 5, "snapshots/5.state.json");

	/* Pruning by hand, keep 1, on a chain: the latest's base and chain
	 * stay (and so does what lies between them) ... */
	change_hello(&e, "v8");
	o.keep_versions = 0;
	publish_o(&e, &o, SNAP_PUBLISHED, 8);
	rootfd = open(e.root, O_RDONLY | O_DIRECTORY);
	assert_true(rootfd >= 0);
	assert_int_equal(snap_prune(rootfd, 8, 1, 0), 0);
	names_of(6, false, want, sizeof(want));
	names_of(7, true, one, sizeof(one));
	strcat(want, ",");
	strcat(want, one);
	names_of(8, true, one, sizeof(one));
	strcat(want, ",");
	strcat(want, one);
	tu_assert_dir(snaps, want);
	verify_ok(&e, 0, 8);
	/* ... until a full version needs none of them. */
	change_hello(&e, "v9");
	o.max_chain = 0;
	publish_o(&e, &o, SNAP_PUBLISHED, 9);
	assert_int_equal(snap_prune(rootfd, 9, 1, 0), 9);
	close(rootfd);
	names_of(9, false, want, sizeof(want));
	tu_assert_dir(snaps, want);
	verify_ok(&e, 0, 9);
}

static void
test_rollback_delta(void **state)
{
	struct snap_publish_opts o = chain_opts();
	struct snap_version v = SNAP_VERSION_INIT, old = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	char out[TU_PATH], want[TU_PATH];
	struct env e;
	uint64_t ver = 0;

	env_init(*state, &e);
	publish_o(&e, &o, SNAP_PUBLISHED, 1);
	change_hello(&e, "two");
	publish_o(&e, &o, SNAP_PUBLISHED, 2);
	extract_version(&e, 2, "want2", want);
	change_hello(&e, "three");
	in_src(&e, MAIN, out);
	assert_int_equal(unlink(out), 0);
	publish_o(&e, &o, SNAP_PUBLISHED, 3);
	assert_chain(&e, 3, 1, 2);

	/* To delta version 2: a new version (a delta itself) holding it. */
	if (snap_rollback(e.root, 2, &o, &ver, &err) != 0)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(ver, 4);
	assert_chain(&e, 4, 1, 3);
	verify_ok(&e, 0, 4);
	open_version(&e, 4, &v);
	open_version(&e, 2, &old);
	assert_same_entries(v.m, old.m);
	assert_int_equal(v.m->parent_version, 3);
	assert_int_equal(v.m->nev, 2);	/* HelloWorld back, main back */
	snap_close(&old);
	snap_close(&v);
	extract_version(&e, 4, "out4", out);
	assert_int_equal(tu_assert_trees_equal(want, out), e.nfix);

	/* To the base, once the chain is full: a full version. */
	change_hello(&e, "five");
	publish_o(&e, &o, SNAP_PUBLISHED, 5);
	assert_chain(&e, 5, 1, 4);
	if (snap_rollback(e.root, 1, &o, &ver, &err) != 0)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(ver, 6);
	assert_chain(&e, 6, 6, 0);
	open_version(&e, 6, &v);
	open_version(&e, 1, &old);
	assert_same_entries(v.m, old.m);
	snap_close(&old);
	snap_close(&v);

	/* Not to a delta version whose chain no longer verifies. */
	in_root(&e, "snapshots/2.delta.tar.zst", out);
	flip_byte(out, 30);
	assert_int_equal(snap_rollback(e.root, 3, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, "version 3");
	tu_assert_msg(err.msg, "snapshots/2.delta.tar.zst");
	verify_ok(&e, 0, 6);
}

/* --- publishing what changed (snap_publish_changes) --- */

#define CHANGES_CAP 128
#define NEW_TASK "tasks/NewTask.xml"
#define NEW_TASK_XML "<task xmlns=\"" SYN_NS "\" name=\"NewTask\" " \
	"class=\"org.example.Task\"><trigger once=\"true\"/></task>\n"

/* A long-running publisher as the primary is one: what it published last
 * (memo) and the artifacts it was told may have changed since. */
struct pub {
	struct snap_publish_opts o;
	struct snap_memo memo;
	struct snap_change ch[CHANGES_CAP];
	size_t n;
	unsigned outs;		/* extractions so far: their folder names */
};

static void
pub_init(struct pub *p, unsigned max_chain)
{
	memset(p, 0, sizeof(*p));
	p->memo = (struct snap_memo)SNAP_MEMO_INIT;
	p->o = opts;
	p->o.xc = xc;
	p->o.max_chain = max_chain;
}

/* Lists TYPE/NAME.xml as (maybe) changed. */
static void
pub_list(struct pub *p, const char *id)
{
	struct snap_err err = SNAP_ERR_INIT;
	const char *slash = strchr(id, '/');
	char folder[64];
	int type;

	assert_non_null(slash);
	assert_true(p->n < CHANGES_CAP);
	snprintf(folder, sizeof(folder), "%.*s", (int)(slash - id), id);
	if ((type = name_type_index(folder)) < 0)
		fail_msg("%s: no such type", id);
	if (name_from_file(slash + 1, p->ch[p->n].name, &err) != 0)
		fail_msg("%s: %s", id, err.msg);
	p->ch[p->n++].type = type;
}

/* Lists the first n artifacts of the source, in change_n()'s order. */
static void
pub_list_n(const struct env *e, struct pub *p, size_t n)
{
	char dir[TU_PATH], id[TU_PATH], *list, *name, *save;
	size_t i, done = 0;

	for (i = 0; i < artifact_type_count && done < n; i++) {
		in_src(e, artifact_types[i].folder, dir);
		list = tu_list_dir(dir);
		for (name = strtok_r(list, ",", &save); name != NULL &&
		    done < n; name = strtok_r(NULL, ",", &save)) {
			tu_path(id, "%s/%s", artifact_types[i].folder, name);
			pub_list(p, id);
			done++;
		}
		free(list);
	}
	assert_int_equal(done, n);
}

/* snap_publish_changes with p's list, or with NULL (not known) when `all`;
 * on success the list is emptied, as the agent does. */
static int
pub_call(const struct env *e, struct pub *p, bool all,
    enum snap_publish_result *res, uint64_t *ver, struct snap_err *err)
{
	int rc;

	err->msg[0] = '\0';
	rc = snap_publish_changes(e->src, e->root, &p->o, &p->memo,
	    all ? NULL : p->ch, p->n, res, ver, err);
	if (rc == 0)
		p->n = 0;
	return rc;
}

/* memo is exactly what the latest version, `ver`, composes to. */
static void
memo_is_latest(const struct env *e, const struct pub *p, uint64_t ver)
{
	struct snap_version v = SNAP_VERSION_INIT;

	open_version(e, 0, &v);
	assert_int_equal(v.st.version, ver);
	assert_int_equal(p->memo.version, ver);
	assert_non_null(p->memo.m);
	assert_int_equal(p->memo.m->version, ver);
	assert_same_entries(p->memo.m, v.m);
	snap_close(&v);
}

/* The latest version, extracted, is the source tree byte for byte
 * (labels.conf is no artifact: carried over so that the trees compare). */
static void
latest_is_source(const struct env *e, struct pub *p, uint64_t ver)
{
	char name[32], out[TU_PATH], lc[TU_PATH], to[TU_PATH];
	size_t want = p->memo.m->n;

	snprintf(name, sizeof(name), "out%u", p->outs++);
	extract_version(e, ver, name, out);
	in_src(e, "labels.conf", lc);
	if (tu_exists(lc)) {
		tu_path(to, "%s/labels.conf", out);
		tu_copy_file(lc, to);
		want++;
	}
	assert_int_equal(tu_assert_trees_equal(e->src, out), want);
	tu_rmtree(out);
}

/* Publishes what p lists (everything when `all`) and asserts the result,
 * the version, that memo is the latest and that the latest verifies.
 * err, when not NULL, gets the message (set only when repaired). */
static void
pub_publish(const struct env *e, struct pub *p, bool all,
    enum snap_publish_result want_res, uint64_t want_ver,
    struct snap_err *err)
{
	struct snap_err local = SNAP_ERR_INIT;
	enum snap_publish_result res = want_res == SNAP_PUBLISHED ?
	    SNAP_UNCHANGED : SNAP_PUBLISHED;
	uint64_t ver = 0;

	if (err == NULL)
		err = &local;
	if (pub_call(e, p, all, &res, &ver, err) != 0)
		fail_msg("snap_publish_changes: %s", err->msg);
	if (res != want_res)
		fail_msg("snap_publish_changes: version %llu, result %d, "
		    "expected %d (%s)", (unsigned long long)ver, (int)res,
		    (int)want_res, err->msg);
	assert_int_equal(ver, want_ver);
	if (res != SNAP_REPAIRED)
		assert_string_equal(err->msg, "");
	memo_is_latest(e, p, ver);
	verify_ok(e, 0, ver);
	verify_ok(e, ver, ver);
}

/* pub_publish, and the latest is the source tree. */
static void
pub_ok(const struct env *e, struct pub *p, enum snap_publish_result want_res,
    uint64_t want_ver)
{
	pub_publish(e, p, false, want_res, want_ver, NULL);
	latest_is_source(e, p, want_ver);
}

/* The same with changes NULL: the publisher does not know what changed. */
static void
pub_all_ok(const struct env *e, struct pub *p,
    enum snap_publish_result want_res, uint64_t want_ver)
{
	pub_publish(e, p, true, want_res, want_ver, NULL);
	latest_is_source(e, p, want_ver);
}

/* Changes HelloWorld, lists it, and publishes version want_ver. */
static void
hello_ok(const struct env *e, struct pub *p, const char *tag,
    uint64_t want_ver)
{
	change_hello(e, tag);
	pub_list(p, HELLO);
	pub_ok(e, p, SNAP_PUBLISHED, want_ver);
}

/* The same over a damaged latest: SNAP_REPAIRED, err naming `why` (when
 * not NULL). */
static void
hello_repaired(const struct env *e, struct pub *p, const char *tag,
    uint64_t want_ver, const char *why)
{
	struct snap_err err = SNAP_ERR_INIT;

	change_hello(e, tag);
	pub_list(p, HELLO);
	pub_publish(e, p, false, SNAP_REPAIRED, want_ver, &err);
	tu_assert_msg(err.msg, why);
	latest_is_source(e, p, want_ver);
}

/* A fresh source and sync root (env_init), and a publisher with
 * max_chain that has published it: version 1. */
static void
pub_start(const char *dir, struct env *e, struct pub *p, unsigned max_chain)
{
	env_init(dir, e);
	pub_init(p, max_chain);
	pub_all_ok(e, p, SNAP_PUBLISHED, 1);
}

/* Asserts the call fails with `want` in the message. */
static void
pub_fails(const struct env *e, struct pub *p, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	enum snap_publish_result res;
	uint64_t ver = 0;

	if (pub_call(e, p, false, &res, &ver, &err) != -1)
		fail_msg("snap_publish_changes accepted (version %llu)",
		    (unsigned long long)ver);
	tu_assert_msg(err.msg, want);
}

/* What the sync root looks like: state.json's bytes and snapshots/. */
struct root_image {
	char *state;
	char *snaps;
};

static void
root_image(const struct env *e, struct root_image *img)
{
	char p[TU_PATH];

	in_root(e, STATE_FILE, p);
	img->state = tu_slurp(p, NULL);
	in_root(e, "snapshots", p);
	img->snaps = tu_list_dir(p);
}

/* Asserts nothing was written since img was taken, and frees it. */
static void
root_unchanged(const struct env *e, struct root_image *img)
{
	struct root_image now;

	root_image(e, &now);
	assert_string_equal(now.state, img->state);
	assert_string_equal(now.snaps, img->snaps);
	free(now.state);
	free(now.snaps);
	free(img->state);
	free(img->snaps);
}

/* The delta layer of version `version` (its last layer). */
static void
assert_delta_layer(const struct env *e, uint64_t version, size_t nentries,
    size_t nev)
{
	struct snap_version v = SNAP_VERSION_INIT;
	const struct manifest *d;

	open_version(e, version, &v);
	assert_true(v.nlayers >= 2);
	d = v.layers[v.nlayers - 1].m;
	assert_int_equal(d->kind, MANIFEST_DELTA);
	assert_int_equal(d->version, version);
	assert_int_equal(d->n, nentries);
	assert_int_equal(d->nev, nev);
	snap_close(&v);
}

static void
test_changes_first_publish(void **state)
{
	struct root_image img;
	struct env e;
	struct pub p;

	env_init(*state, &e);
	pub_init(&p, 8);
	/* An empty memo: in full, whatever the list says. */
	pub_list(&p, HELLO);
	pub_ok(&e, &p, SNAP_PUBLISHED, 1);
	assert_chain(&e, 1, 1, 0);
	assert_int_equal(p.memo.version, 1);
	assert_int_equal(p.memo.m->n, e.nfix);
	assert_int_equal(p.memo.m->nev, 0);
	/* Nothing listed: nothing read, nothing written. */
	root_image(&e, &img);
	pub_ok(&e, &p, SNAP_UNCHANGED, 1);
	root_unchanged(&e, &img);
	/* A publisher starting on a sync root it did not write: the full
	 * publish finds it unchanged and still fills memo ... */
	snap_memo_clear(&p.memo);
	assert_null(p.memo.m);
	root_image(&e, &img);
	pub_all_ok(&e, &p, SNAP_UNCHANGED, 1);
	root_unchanged(&e, &img);
	assert_int_equal(p.memo.m->n, e.nfix);
	/* ... and the next change is a delta on it. */
	hello_ok(&e, &p, "two", 2);
	assert_chain(&e, 2, 1, 1);
	assert_delta_layer(&e, 2, 1, 1);
	snap_memo_clear(&p.memo);
}

static void
test_changes_delta_holds_what_changed(void **state)
{
	struct snap_version v = SNAP_VERSION_INIT;
	char p_main[TU_PATH], out[TU_PATH], q[TU_PATH], *old_main, *more;
	const struct manifest *d;
	struct env e;
	struct pub p;
	size_t len;

	pub_start(*state, &e, &p, 8);
	hello_ok(&e, &p, "two", 2);
	assert_chain(&e, 2, 1, 1);
	open_version(&e, 2, &v);
	assert_int_equal(v.nlayers, 2);
	d = v.layers[1].m;
	assert_int_equal(d->kind, MANIFEST_DELTA);
	assert_int_equal(d->parent_version, 1);
	assert_int_equal(d->n, 1);
	assert_int_equal(d->entries[0].type, 0);
	assert_string_equal(d->entries[0].name, "HelloWorld");
	assert_string_equal(d->entries[0].xxh128,
	    manifest_find(p.memo.m, 0, "HelloWorld")->xxh128);
	assert_int_equal(d->nev, 1);
	assert_int_equal(d->events[0].action, MANIFEST_DEPLOY);
	snap_close(&v);

	/* The list is the contract: a change nobody listed is not read. */
	in_src(&e, MAIN, p_main);
	old_main = tu_slurp(p_main, &len);
	more = malloc(len + 32);
	assert_non_null(more);
	sprintf(more, "%s<!-- unlisted -->\n", old_main);
	tu_write_str(p_main, more);
	free(more);
	change_hello(&e, "three");
	pub_list(&p, HELLO);
	pub_publish(&e, &p, false, SNAP_PUBLISHED, 3, NULL);
	assert_chain(&e, 3, 1, 2);
	assert_one_event(&e, 3, HELLO, MANIFEST_DEPLOY, 2);
	extract_version(&e, 3, "out3", out);
	tu_assert_file(out, MAIN, old_main);
	/* Otherwise it is the source. */
	tu_path(q, "%s/%s", out, MAIN);
	tu_copy_file(p_main, q);
	assert_int_equal(tu_assert_trees_equal(e.src, out), e.nfix);
	free(old_main);

	/* A full publish reads everything, and finds it. */
	pub_all_ok(&e, &p, SNAP_PUBLISHED, 4);
	assert_chain(&e, 4, 1, 3);
	assert_one_event(&e, 4, MAIN, MANIFEST_DEPLOY, 3);
	snap_memo_clear(&p.memo);
}

static void
test_changes_remove_add_touch(void **state)
{
	struct snap_version v = SNAP_VERSION_INIT;
	char path[TU_PATH], *main_xml, *hello;
	const struct manifest *d;
	struct root_image img;
	struct env e;
	struct pub p;

	pub_start(*state, &e, &p, 8);

	/* Removed: an UNDEPLOY, and the version lacks it. */
	in_src(&e, MAIN, path);
	main_xml = tu_slurp(path, NULL);
	assert_int_equal(unlink(path), 0);
	pub_list(&p, MAIN);
	pub_ok(&e, &p, SNAP_PUBLISHED, 2);
	assert_chain(&e, 2, 1, 1);
	assert_one_event(&e, 2, MAIN, MANIFEST_UNDEPLOY, 1);
	assert_delta_layer(&e, 2, 0, 1);
	open_version(&e, 2, &v);
	assert_null(manifest_find(v.m, 1, "main"));
	assert_int_equal(v.m->n, e.nfix - 1);
	snap_close(&v);

	/* New: added. */
	in_src(&e, NEW_TASK, path);
	tu_write_str(path, NEW_TASK_XML);
	pub_list(&p, NEW_TASK);
	pub_ok(&e, &p, SNAP_PUBLISHED, 3);
	assert_one_event(&e, 3, NEW_TASK, MANIFEST_DEPLOY, 2);
	assert_non_null(manifest_find(p.memo.m, 9, "NewTask"));
	assert_int_equal(p.memo.m->n, e.nfix);

	/* Listed but the same bytes (touched, rewritten as they were), gone
	 * and already undeployed, or never there: nothing to publish. */
	root_image(&e, &img);
	in_src(&e, HELLO, path);
	assert_int_equal(utimensat(AT_FDCWD, path, NULL, 0), 0);
	hello = tu_slurp(path, NULL);
	tu_write_str(path, hello);
	pub_list(&p, HELLO);
	pub_list(&p, MAIN);
	pub_list(&p, "api/Ghost.xml");
	pub_ok(&e, &p, SNAP_UNCHANGED, 3);
	root_unchanged(&e, &img);

	/* The same name twice: one change. */
	change_hello(&e, "four");
	pub_list(&p, HELLO);
	pub_list(&p, HELLO);
	pub_ok(&e, &p, SNAP_PUBLISHED, 4);
	assert_one_event(&e, 4, HELLO, MANIFEST_DEPLOY, 3);
	assert_delta_layer(&e, 4, 1, 1);

	/* All at once, listed out of order and twice: main back, NewTask
	 * gone, HelloWorld changed. */
	in_src(&e, MAIN, path);
	tu_write_str(path, main_xml);
	in_src(&e, NEW_TASK, path);
	assert_int_equal(unlink(path), 0);
	change_hello(&e, "five");
	pub_list(&p, NEW_TASK);
	pub_list(&p, MAIN);
	pub_list(&p, HELLO);
	pub_list(&p, NEW_TASK);
	pub_list(&p, MAIN);
	pub_ok(&e, &p, SNAP_PUBLISHED, 5);
	assert_chain(&e, 5, 1, 4);
	assert_delta_layer(&e, 5, 2, 3);
	open_version(&e, 5, &v);
	d = v.layers[v.nlayers - 1].m;
	assert_int_equal(find_event(d, MAIN)->action, MANIFEST_DEPLOY);
	assert_int_equal(find_event(d, HELLO)->action, MANIFEST_DEPLOY);
	assert_int_equal(find_event(d, NEW_TASK)->action, MANIFEST_UNDEPLOY);
	assert_int_equal(v.m->n, e.nfix);
	snap_close(&v);
	free(hello);
	free(main_xml);
	snap_memo_clear(&p.memo);
}

static void
test_changes_invalid_refused(void **state)
{
	char bad[TU_PATH], path[TU_PATH], *hello;
	struct root_image img;
	struct manifest *had;
	struct env e;
	struct pub p;
	int lockfd;

	pub_start(*state, &e, &p, 8);
	had = p.memo.m;

	/* A new invalid file, listed with a good change: all refused. */
	root_image(&e, &img);
	in_src(&e, "api/Broken.xml", bad);
	tu_write_str(bad, "<api xmlns=\"" SYN_NS "\" name=\"Broken\" "
	    "context=\"/broken\"><resource methods=\"GET\"></api>\n");
	change_hello(&e, "two");
	pub_list(&p, HELLO);
	pub_list(&p, "api/Broken.xml");
	pub_fails(&e, &p, bad);
	pub_fails(&e, &p, "Broken.xml:1: ");
	root_unchanged(&e, &img);
	assert_ptr_equal(p.memo.m, had);
	memo_is_latest(&e, &p, 1);
	verify_ok(&e, 0, 1);
	/* Fixed: the same list (kept, as the agent keeps it) publishes. */
	tu_write_str(bad, "<api xmlns=\"" SYN_NS "\" name=\"Broken\" "
	    "context=\"/broken\"><resource methods=\"GET\"><inSequence>"
	    "<respond/></inSequence></resource></api>\n");
	pub_ok(&e, &p, SNAP_PUBLISHED, 2);
	assert_chain(&e, 2, 1, 1);
	assert_delta_layer(&e, 2, 2, 2);
	assert_non_null(manifest_find(p.memo.m, 0, "Broken"));

	/* A published artifact made invalid: the same. */
	in_src(&e, HELLO, path);
	hello = tu_slurp(path, NULL);
	tu_write_str(path, "<api xmlns=\"" SYN_NS "\" name=\"HelloWorld\"");
	pub_list(&p, HELLO);
	root_image(&e, &img);
	pub_fails(&e, &p, path);
	root_unchanged(&e, &img);
	memo_is_latest(&e, &p, 2);
	tu_write_str(path, hello);
	free(hello);
	change_hello(&e, "three");
	pub_ok(&e, &p, SNAP_PUBLISHED, 3);
	assert_one_event(&e, 3, HELLO, MANIFEST_DEPLOY, 2);

	/* A second file of the same API (a symlink to it is read through,
	 * as WSO2 reads it): refused, naming both. */
	in_src(&e, "api/Link.xml", path);
	assert_int_equal(symlink("HelloWorld.xml", path), 0);
	pub_list(&p, "api/Link.xml");
	root_image(&e, &img);
	pub_fails(&e, &p, "api/Link.xml: API 'HelloWorld' is also defined by "
	    "api/HelloWorld.xml");
	root_unchanged(&e, &img);
	memo_is_latest(&e, &p, 3);
	assert_int_equal(unlink(path), 0);
	pub_ok(&e, &p, SNAP_UNCHANGED, 3);

	/* Another publisher holds the lock: refused, memo still good. */
	in_root(&e, ".publish.lock", path);
	lockfd = open(path, O_RDWR);
	assert_true(lockfd >= 0);
	assert_int_equal(flock(lockfd, LOCK_EX | LOCK_NB), 0);
	change_hello(&e, "four");
	pub_list(&p, HELLO);
	root_image(&e, &img);
	pub_fails(&e, &p, "another publisher holds .publish.lock");
	root_unchanged(&e, &img);
	memo_is_latest(&e, &p, 3);
	close(lockfd);
	pub_ok(&e, &p, SNAP_PUBLISHED, 4);
	assert_chain(&e, 4, 1, 3);
	snap_memo_clear(&p.memo);
}

static void
test_changes_someone_else_published(void **state)
{
	struct snap_version v = SNAP_VERSION_INIT;
	char path[TU_PATH], q[TU_PATH];
	struct env e, other;
	struct pub p;

	pub_start(*state, &e, &p, 8);
	hello_ok(&e, &p, "two", 2);

	/* Another publisher, from another tree (one API more, main gone),
	 * into the same sync root. */
	other = e;
	tu_path(other.src, "%s/src-other", e.dir);
	tu_mkdir(other.src);
	tu_copy_fixtures(other.src);
	in_src(&other, "api/Other.xml", path);
	tu_write_str(path, "<api xmlns=\"" SYN_NS "\" name=\"Other\" "
	    "context=\"/other\"><resource methods=\"GET\"><inSequence>"
	    "<respond/></inSequence></resource></api>\n");
	in_src(&other, MAIN, path);
	assert_int_equal(unlink(path), 0);
	publish_o(&other, &p.o, SNAP_PUBLISHED, 3);

	/* Ours lists one change; state.json no longer names memo's version,
	 * so the whole tree is published: no Other, main back. */
	change_n(&e, 1, "ours");
	pub_list_n(&e, &p, 1);
	pub_ok(&e, &p, SNAP_PUBLISHED, 4);
	assert_null(manifest_find(p.memo.m, 0, "Other"));
	assert_non_null(manifest_find(p.memo.m, 1, "main"));
	open_version(&e, 4, &v);
	assert_int_equal(v.m->parent_version, 3);
	snap_close(&v);
	/* And on from there. */
	hello_ok(&e, &p, "five", 5);
	assert_chain(&e, 5, 1, 4);

	/* state.json put back to an older version (a restore): not memo's
	 * either. */
	in_root(&e, "snapshots/2.state.json", path);
	in_root(&e, STATE_FILE, q);
	tu_copy_file(path, q);
	hello_ok(&e, &p, "six", 6);
	open_version(&e, 6, &v);
	assert_int_equal(v.m->parent_version, 2);
	snap_close(&v);

	/* The sync root emptied by an operator: published afresh, as
	 * snap_publish would. */
	tu_rmtree(e.root);
	hello_ok(&e, &p, "seven", 1);
	assert_chain(&e, 1, 1, 0);
	hello_ok(&e, &p, "eight", 2);
	assert_chain(&e, 2, 1, 1);
	snap_memo_clear(&p.memo);
}

/*
 * A publisher that died between its renames left files of the next number
 * (state.json never named it): a publish on memo passes them, whether the
 * leftover is right above the latest or further up.
 */
static void
test_changes_pass_leftovers(void **state)
{
	char path[TU_PATH];
	struct env e;
	struct pub p;

	pub_start(*state, &e, &p, 8);
	hello_ok(&e, &p, "two", 2);
	in_root(&e, "snapshots/3.delta.json", path);
	tu_write_str(path, "{}");
	hello_ok(&e, &p, "four", 4);
	in_root(&e, "snapshots/6.state.json", path);
	tu_write_str(path, "{}");
	hello_ok(&e, &p, "five", 5);
	hello_ok(&e, &p, "seven", 7);
	assert_chain(&e, 7, 1, 4);	/* 2, 4, 5, 7 */
	snap_memo_clear(&p.memo);
}

static void
test_changes_chain_bound(void **state)
{
	struct snap_version v = SNAP_VERSION_INIT;
	char tag[16];
	struct env e;
	struct pub p;
	uint64_t i;

	pub_start(*state, &e, &p, 3);
	assert_chain(&e, 1, 1, 0);
	for (i = 2; i <= 7; i++) {
		snprintf(tag, sizeof(tag), "v%llu", (unsigned long long)i);
		change_hello(&e, tag);
		pub_list(&p, HELLO);
		pub_ok(&e, &p, SNAP_PUBLISHED, i);
		/* 2..4 on 1; 5 full (the chain was full); 6, 7 on 5. */
		if (i <= 4)
			assert_chain(&e, i, 1, (size_t)i - 1);
		else
			assert_chain(&e, i, 5, (size_t)i - 5);
	}
	open_version(&e, 5, &v);
	assert_int_equal(v.nlayers, 1);
	assert_int_equal(v.m->parent_version, 4);
	assert_int_equal(v.m->nev, 1);	/* events against 4 */
	snap_close(&v);
	for (i = 1; i <= 7; i++)
		verify_ok(&e, i, i);
	/* max_chain 0: every version in full. */
	p.o.max_chain = 0;
	hello_ok(&e, &p, "v8", 8);
	assert_chain(&e, 8, 8, 0);
	snap_memo_clear(&p.memo);
}

/* snap_write_base() of memo's version, handed to memo as the primary's
 * child does; asserts it is version `want`. */
static void
write_base_ok(const struct env *e, struct pub *p, uint64_t want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_base b;

	if (snap_write_base(e->src, e->root, &p->o, &p->memo, &b, &err) != 0)
		fail_msg("snap_write_base: %s", err.msg);
	assert_int_equal(b.version, want);
	p->memo.base = b;
}

/*
 * A full copy written ahead of need: when the chain is full, the next
 * version is a delta on it (the deltas above it kept), not a full version
 * - unless its files are damaged. A copy from a source that has moved on
 * since memo's version is refused.
 */
static void
test_changes_restart_on_base(void **state)
{
	struct snap_version have = SNAP_VERSION_INIT, v = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH];
	struct snap_base b;
	struct env e;
	struct pub p;
	uint64_t i;

	pub_start(*state, &e, &p, 3);
	hello_ok(&e, &p, "v2", 2);
	hello_ok(&e, &p, "v3", 3);
	write_base_ok(&e, &p, 3);
	assert_chain(&e, 3, 1, 2);	/* named by nothing yet */
	hello_ok(&e, &p, "v4", 4);
	assert_int_equal(p.memo.rebased, 0);
	open_version(&e, 4, &have);
	hello_ok(&e, &p, "v5", 5);	/* the chain was full */
	assert_int_equal(p.memo.rebased, 3);
	assert_false(p.memo.rescanned);
	assert_chain(&e, 5, 3, 2);	/* on 3: 4, 5 */
	for (i = 1; i <= 5; i++)
		verify_ok(&e, i, i);
	/* A reader at 4 still needs only the one delta. */
	open_since(&e, 5, have.m, &v);
	assert_true(v.from_delta);
	assert_int_equal(v.nlayers, 1);
	snap_close(&v);
	snap_close(&have);
	/* A damaged copy is not built on: the next version is full. */
	hello_ok(&e, &p, "v6", 6);
	write_base_ok(&e, &p, 6);
	in_root(&e, p.memo.base.archive.name, path);
	flip_byte(path, 20);
	hello_ok(&e, &p, "v7", 7);
	assert_int_equal(p.memo.rebased, 0);
	assert_chain(&e, 7, 7, 0);
	/* The source moved on since memo's version: no copy. */
	change_hello(&e, "v8, not yet published");
	assert_int_equal(snap_write_base(e.src, e.root, &p.o, &p.memo, &b,
	    &err), -1);
	assert_non_null(strstr(err.msg, "changed while being published"));
	assert_int_equal(b.version, 0);
	snap_memo_clear(&p.memo);
}

/* The same rule as snap_publish: a delta while at most half the tree
 * changed, removals aside (see test_delta_half_the_tree). */
static void
test_changes_half_the_tree(void **state)
{
	char path[TU_PATH];
	struct env e;
	struct pub p;

	pub_start(*state, &e, &p, 8);
	change_n(&e, e.nfix / 2, "half");	/* 38 of 77: 76 <= 77 */
	pub_list_n(&e, &p, e.nfix / 2);
	pub_ok(&e, &p, SNAP_PUBLISHED, 2);
	assert_chain(&e, 2, 1, 1);
	change_n(&e, e.nfix / 2 + 1, "more");	/* 39 of 77 */
	pub_list_n(&e, &p, e.nfix / 2 + 1);
	pub_ok(&e, &p, SNAP_PUBLISHED, 3);
	assert_chain(&e, 3, 3, 0);
	change_n(&e, e.nfix, "all");
	pub_list_n(&e, &p, e.nfix);
	pub_ok(&e, &p, SNAP_PUBLISHED, 4);
	assert_chain(&e, 4, 4, 0);
	/* An addition counts as a change of a tree one larger. */
	in_src(&e, NEW_TASK, path);
	tu_write_str(path, NEW_TASK_XML);
	pub_list(&p, NEW_TASK);
	pub_ok(&e, &p, SNAP_PUBLISHED, 5);
	assert_chain(&e, 5, 4, 1);
	/* Removals only: a delta of no artifact at all. */
	in_src(&e, MAIN, path);
	assert_int_equal(unlink(path), 0);
	pub_list(&p, MAIN);
	pub_ok(&e, &p, SNAP_PUBLISHED, 6);
	assert_chain(&e, 6, 4, 2);
	assert_delta_layer(&e, 6, 0, 1);
	snap_memo_clear(&p.memo);
}

/* A damaged chain is never built on, the memo notwithstanding. */
static void
test_changes_damaged_chain(void **state)
{
	char path[TU_PATH];
	struct env e;
	struct pub p;

	pub_start(*state, &e, &p, 8);
	hello_ok(&e, &p, "two", 2);
	hello_ok(&e, &p, "three", 3);
	assert_chain(&e, 3, 1, 2);

	/* A delta archive. */
	in_root(&e, "snapshots/2.delta.tar.zst", path);
	flip_byte(path, 10);
	hello_repaired(&e, &p, "four", 4, "snapshots/2.delta.tar.zst");
	assert_chain(&e, 4, 4, 0);
	hello_ok(&e, &p, "five", 5);
	assert_chain(&e, 5, 4, 1);

	/* A delta manifest: the latest is unreadable, so is any delta on
	 * it. */
	in_root(&e, "snapshots/5.delta.json", path);
	flip_byte(path, 20);
	hello_repaired(&e, &p, "six", 6, "snapshots/5.delta.json");
	assert_chain(&e, 6, 6, 0);

	/* state.json itself. */
	hello_ok(&e, &p, "seven", 7);
	in_root(&e, STATE_FILE, path);
	tu_write_str(path, "{\"version\": ");
	hello_repaired(&e, &p, "eight", 8, "state.json");
	assert_chain(&e, 8, 8, 0);
	snap_memo_clear(&p.memo);
}

static void
test_changes_relabel(void **state)
{
	char lc[TU_PATH];
	struct env e;
	struct pub p;

	pub_start(*state, &e, &p, 8);
	assert_string_equal(manifest_find(p.memo.m, 0, "HelloWorld")->labels,
	    "default");
	/* labels.conf changed: the primary cannot say for which artifacts,
	 * so it lists nothing (NULL) and the full path relabels. */
	in_src(&e, "labels.conf", lc);
	tu_write_str(lc, "api/HelloWorld = blue, green\n");
	pub_all_ok(&e, &p, SNAP_PUBLISHED, 2);
	assert_chain(&e, 2, 1, 1);
	assert_one_event(&e, 2, HELLO, MANIFEST_DEPLOY, 1);
	assert_string_equal(manifest_find(p.memo.m, 0, "HelloWorld")->labels,
	    "blue,green");

	/* A listed artifact gets the labels of labels.conf as it is now,
	 * its bytes unchanged; an unlisted one keeps what it had. */
	tu_write_str(lc, "api/HelloWorld = blue\nsequences/main = red\n");
	pub_list(&p, MAIN);
	pub_ok(&e, &p, SNAP_PUBLISHED, 3);
	assert_one_event(&e, 3, MAIN, MANIFEST_DEPLOY, 2);
	assert_string_equal(manifest_find(p.memo.m, 1, "main")->labels, "red");
	assert_string_equal(manifest_find(p.memo.m, 0, "HelloWorld")->labels,
	    "blue,green");
	pub_all_ok(&e, &p, SNAP_PUBLISHED, 4);
	assert_one_event(&e, 4, HELLO, MANIFEST_DEPLOY, 3);
	assert_string_equal(manifest_find(p.memo.m, 0, "HelloWorld")->labels,
	    "blue");

	/* A bad labels.conf fails a listed publish too, naming the line. */
	tu_write_str(lc, "api/HelloWorld = blue\nnot a rule\n");
	change_hello(&e, "five");
	pub_list(&p, HELLO);
	pub_fails(&e, &p, "labels.conf:2");
	memo_is_latest(&e, &p, 4);
	tu_write_str(lc, "api/HelloWorld = blue\n");
	pub_ok(&e, &p, SNAP_PUBLISHED, 5);
	assert_chain(&e, 5, 1, 4);
	snap_memo_clear(&p.memo);
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
	tu_assert_msg(err.msg, "snapshots/1.manifest.json: manifest: write: "
	    "File too large");
	in_root(&e, "snapshots", p);
	tu_assert_dir(p, "");
	in_root(&e, "", p);
	tu_assert_dir(p, ".publish.lock,snapshots");

	publish_ok(&e, SNAP_PUBLISHED, 1);
	verify_ok(&e, 0, 1);
}

/*
 * Nothing below the sync root is followed through a symlink: snapshots/,
 * .publish.lock and .rollback in a symlink's place are refused with one
 * line naming them, and nothing is written, renamed or removed where they
 * point - not even a publish's own files when it fails (it never starts).
 */
static void
test_symlinked_sync_root_paths(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_publish_opts o = opts;
	struct env e;
	char snaps[TU_PATH], canary[TU_PATH], p[TU_PATH], want[2 * TU_PATH];
	char *before, *state_before, *now;
	uint64_t ver = 0;

	env_init(*state, &e);
	o.xc = xc;
	o.keep_versions = 1;
	publish_ok(&e, SNAP_PUBLISHED, 1);
	change_hello(&e, "two");
	publish_ok(&e, SNAP_PUBLISHED, 2);
	change_hello(&e, "three");
	/* snapshots/ moved out, a symlink in its place: the canary holds
	 * version files, which a publish, a failed one's clean-up or
	 * retention would all touch. */
	in_root(&e, "snapshots", snaps);
	tu_path(canary, "%s/canary", e.dir);
	assert_int_equal(rename(snaps, canary), 0);
	assert_int_equal(symlink(canary, snaps), 0);
	before = tu_list_dir(canary);
	in_root(&e, "state.json", p);
	state_before = tu_slurp(p, NULL);

	tu_path(want, "sync root %s: snapshots is a symlink (to '%s'): "
	    "artsync never follows one there; replace it with a directory",
	    e.root, canary);
	publish_fails(&e, want);
	assert_int_equal(snap_rollback(e.root, 1, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, want);
	assert_int_equal(snap_prune_root(e.root, 1, 0), 0);
	verify_fails(&e, 0, "snapshots is a symlink (to '");
	tu_assert_dir(canary, before);
	now = tu_slurp(p, NULL);
	assert_string_equal(now, state_before);
	free(now);

	/* Put back: publishing works again. */
	assert_int_equal(unlink(snaps), 0);
	assert_int_equal(rename(canary, snaps), 0);
	publish_ok(&e, SNAP_PUBLISHED, 3);

	/* .rollback and .publish.lock the same way. */
	tu_mkdir(canary);
	tu_path(p, "%s/keep.xml", canary);
	tu_write_str(p, "keep");
	in_root(&e, ".rollback", p);
	assert_int_equal(symlink(canary, p), 0);
	assert_int_equal(snap_rollback(e.root, 2, &o, &ver, &err), -1);
	tu_path(want, "sync root %s: .rollback is a symlink (to '%s')",
	    e.root, canary);
	tu_assert_msg(err.msg, want);
	tu_assert_dir(canary, "keep.xml");
	assert_int_equal(unlink(p), 0);
	in_root(&e, ".publish.lock", p);
	assert_int_equal(unlink(p), 0);
	tu_path(want, "%s/keep.xml", canary);
	assert_int_equal(symlink(want, p), 0);
	change_hello(&e, "four");
	publish_fails(&e, ".publish.lock is a symlink (to '");
	tu_assert_file(canary, "keep.xml", "keep");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(snap_rollback(e.root, 2, &o, &ver, &err), 0);
	assert_int_equal(ver, 4);
	free(before);
	free(state_before);
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
		TMP_TEST(test_version_space_end),
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
		TMP_TEST(test_delta_publish),
		TMP_TEST(test_delta_half_the_tree),
		TMP_TEST(test_delta_composes_like_full),
		TMP_TEST(test_open_since),
		TMP_TEST(test_verify_delta),
		TMP_TEST(test_delta_over_damaged_chain),
		TMP_TEST(test_retention_chain),
		TMP_TEST(test_rollback_delta),
		TMP_TEST(test_changes_first_publish),
		TMP_TEST(test_changes_delta_holds_what_changed),
		TMP_TEST(test_changes_remove_add_touch),
		TMP_TEST(test_changes_invalid_refused),
		TMP_TEST(test_changes_someone_else_published),
		TMP_TEST(test_changes_pass_leftovers),
		TMP_TEST(test_changes_chain_bound),
		TMP_TEST(test_changes_restart_on_base),
		TMP_TEST(test_changes_half_the_tree),
		TMP_TEST(test_changes_damaged_chain),
		TMP_TEST(test_unchanged_over_damaged_archive),
		TMP_TEST(test_changes_relabel),
		TMP_TEST(test_state_must_equal_its_copy),
		TMP_TEST(test_failed_publish_leaves_nothing),
		TMP_TEST(test_symlinked_sync_root_paths),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
