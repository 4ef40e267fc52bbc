/*
 * snaptest.h - what the end-to-end tests of snapshots/snap_*.c share
 * (tests/test_snap_*.c): each test copies the ten fixture folders into its
 * own temp dir (src/), publishes them to a sync root (root/) with the real
 * validator, and looks at what landed on disk - through these helpers:
 * publish and expect a result or a refusal, verify and open a version,
 * extract it back, change a fixture.
 *
 * Header-only, like testutil.h: every helper is static inline. Include it
 * after <cmocka.h> and "testutil.h"; run the tests with group_setup and
 * group_teardown (they make and free the validator).
 */
#ifndef SNAPTEST_H
#define SNAPTEST_H

#include "arc.h"
#include "snap.h"
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

static inline int
group_setup(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;

	(void)state;
	if ((xc = xmlcheck_new(&err)) == NULL)
		fail_msg("xmlcheck_new: %s", err.msg);
	return 0;
}

static inline int
group_teardown(void **state)
{
	(void)state;
	xmlcheck_free(xc);
	return 0;
}

static inline void
env_init(const char *dir, struct env *e)
{
	tu_path(e->dir, "%s", dir);
	tu_path(e->src, "%s/src", dir);
	tu_path(e->root, "%s/root", dir);
	tu_mkdir(e->src);
	e->nfix = tu_copy_fixtures(e->src);
}

/* e->root/rel, or e->src/rel, in out. */
static inline void
in_root(const struct env *e, const char *rel, char *out)
{
	tu_path(out, "%s/%s", e->root, rel);
}

static inline void
in_src(const struct env *e, const char *rel, char *out)
{
	tu_path(out, "%s/%s", e->src, rel);
}

static const struct snap_publish_opts opts = {
	.cluster_id = "test-cluster", .node_id = "node_1", .xc = NULL,
};

static inline int
publish(const struct env *e, enum snap_publish_result *res, uint64_t *ver,
    struct snap_err *err)
{
	struct snap_publish_opts o = opts;

	o.xc = xc;
	err->msg[0] = '\0';
	return snap_publish(e->src, e->root, &o, res, ver, err);
}

/* Publishes and asserts the result and the version. */
static inline void
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
static inline void
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
static inline void
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

static inline void
verify_ok(const struct env *e, uint64_t version, uint64_t want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state st;

	if (snap_verify(e->root, version, NULL, &st, &err) != 0)
		fail_msg("verify %llu: %s", (unsigned long long)version,
		    err.msg);
	assert_int_equal(st.version, want);
}

static inline void
verify_fails(const struct env *e, uint64_t version, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (snap_verify(e->root, version, NULL, NULL, &err) != -1)
		fail_msg("verify %llu accepted", (unsigned long long)version);
	tu_assert_msg(err.msg, want);
}

/* Opens a version; the caller snap_close()s it. */
static inline void
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
static inline bool
want_composed(const struct manifest_entry *e, void *arg)
{
	const struct manifest *m = arg;
	const struct manifest_entry *c = manifest_find(m, e->type, e->name);

	return c != NULL && strcmp(c->xxh128, e->xxh128) == 0;
}

/* Extracts a version (every layer, oldest first) into dir/<name>, a new
 * directory; path in out. */
static inline void
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

static inline const struct manifest_event *
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
static inline void
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

static inline void
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

static inline void
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

/* Options that publish deltas, at most four past a full version. */
static inline struct snap_publish_opts
chain_opts(void)
{
	struct snap_publish_opts o = opts;

	o.xc = xc;
	o.max_chain = 4;
	return o;
}

/* snap_publish with o; asserts the result and the version. */
static inline void
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
static inline void
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
static inline void
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
static inline void
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
static inline void
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

/* Entry by entry, a and b hold the same artifacts (times aside: two
 * histories). */
static inline void
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
static inline void
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

/* snap_open_since(version, have) for a reader holding `have`. */
static inline void
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

#endif
