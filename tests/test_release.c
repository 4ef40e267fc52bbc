/*
 * test_release.c - releases: full build, patching a retired release,
 * retention, refusal of bad snapshots, crash leftovers.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "overrides.h"
#include "release.h"
#include "snap.h"
#include "testutil.h"
#include "xmlcheck.h"
#include "xmlpool.h"

struct env {
	char top[TU_PATH], src[TU_PATH], sync[TU_PATH], dep[TU_PATH];
	char cur[TU_PATH];
	struct xmlpool *checks;	/* for apply: validate what it writes */
	struct xmlcheck *xc;	/* the pool's, for the caller's checks */
};

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	tu_mkdtemp(e->top);
	tu_path(e->src, "%s/src", e->top);
	tu_path(e->sync, "%s/sync", e->top);
	tu_path(e->dep, "%s/dep", e->top);
	tu_path(e->cur, "%s/dep/current", e->top);
	tu_mkdir(e->src);
	assert_true(tu_copy_fixtures(e->src) > 60);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	xmlpool_free(e->checks);
	xmlcheck_free(e->xc);
	tu_rmtree(e->top);
	free(e);
	return 0;
}

/* Applies validate from here on, with `workers` threads besides ours. */
static void
start_checks(struct env *e, int workers)
{
	struct snap_err err = SNAP_ERR_INIT;

	assert_non_null(e->xc = xmlcheck_new(&err));
	assert_non_null(e->checks = xmlpool_new(e->xc, workers, &err));
	assert_int_equal(xmlpool_workers(e->checks), (unsigned)workers);
}

static void
stop_checks(struct env *e)
{
	xmlpool_free(e->checks);
	xmlcheck_free(e->xc);
	e->checks = NULL;
	e->xc = NULL;
}

/* Publishes e->src in full, validated (validate: false, as a writer on
 * the share who checks nothing would: no identities recorded either). */
static uint64_t
publish_as(struct env *e, bool validate)
{
	struct snap_publish_opts o = { .cluster_id = "c", .node_id = "n" };
	struct snap_err err = SNAP_ERR_INIT;
	enum snap_publish_result res;
	uint64_t v;

	if (validate)
		assert_non_null(o.xc = xmlcheck_new(&err));
	if (snap_publish(e->src, e->sync, &o, &res, &v, &err) == -1)
		fail_msg("publish: %s", err.msg);
	xmlcheck_free(o.xc);
	assert_int_equal(res, SNAP_PUBLISHED);
	return v;
}

static uint64_t
publish(struct env *e)
{
	return publish_as(e, true);
}

/* Opens the latest version and applies it; returns apply's result. */
static int
apply(struct env *e, struct deploy *d, struct apply_stats *st,
    struct snap_err *err)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct overrides none = OVERRIDES_INIT;
	struct build_plan p = { .localfd = -1 };
	int rootfd, rc;

	rootfd = open(e->sync, O_RDONLY | O_DIRECTORY);
	assert_true(rootfd >= 0);
	if (snap_open(rootfd, 0, &v, err) == -1)
		fail_msg("open: %s", err->msg);
	p.v = &v;
	p.checks = e->checks;
	p.upstream = v.m;
	p.target = ovr_target(v.m, &none, NULL, err);
	assert_non_null(p.target);
	rc = deploy_build(d, &p, st, err);
	if (rc == 0)
		v.m = NULL;	/* the deploy took it */
	manifest_free(p.target);
	snap_close(&v);
	close(rootfd);
	return rc;
}

static void
apply_ok(struct env *e, struct deploy *d, struct apply_stats *st)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (apply(e, d, st, &err) == -1)
		fail_msg("apply: %s", err.msg);
	tu_assert_trees_equal(e->src, e->cur);
}

static void
open_deploy(struct env *e, struct deploy *d, unsigned keep, bool recycle)
{
	struct snap_err err = SNAP_ERR_INIT;

	*d = (struct deploy)DEPLOY_INIT;
	if (deploy_open(d, e->dep, keep, recycle, &err) == -1)
		fail_msg("deploy_open: %s", err.msg);
}

static void
change_one(struct env *e, int i)
{
	char path[TU_PATH], body[256];

	tu_path(path, "%s/sequences/changing.xml", e->src);
	snprintf(body, sizeof(body), "<sequence xmlns=\"http://ws.apache.org/"
	    "ns/synapse\" name=\"changing\"><log level=\"custom\"><property "
	    "name=\"i\" value=\"%d\"/></log></sequence>\n", i);
	tu_write_str(path, body);
}

static size_t
count_releases(struct env *e)
{
	char path[TU_PATH], *list, *p;
	size_t n = 0;

	tu_path(path, "%s/releases", e->dep);
	list = tu_list_dir(path);
	for (p = list; *p != '\0'; p++)
		n += *p == ',';
	n += list[0] != '\0';
	free(list);
	return n;
}

static void
test_first_apply_is_full_and_complete(void **state)
{
	struct env *e = *state;
	struct apply_stats st;
	struct deploy d;
	char link[256];
	ssize_t n;

	publish(e);
	open_deploy(e, &d, 5, true);
	assert_false(d.has_current);
	apply_ok(e, &d, &st);
	assert_false(st.recycled);
	assert_true(st.written > 60);
	n = readlink(e->cur, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "releases/v1-r1");
	deploy_close(&d);

	/* A restart serves what was applied, without a sync root. */
	open_deploy(e, &d, 5, true);
	assert_true(d.has_current);
	assert_int_equal(d.current.version, 1);
	assert_non_null(d.current_m);
	deploy_close(&d);
}

static void
test_patching_writes_only_the_change(void **state)
{
	struct env *e = *state;
	struct apply_stats st;
	struct deploy d;
	int i;

	open_deploy(e, &d, 3, true);
	for (i = 0; i < 8; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
		if (i >= 3) {
			/* The keep-th newest is patched: one file written. */
			assert_true(st.recycled);
			assert_int_equal(st.written, 1);
			assert_int_equal(st.removed, 0);
		}
		assert_true(count_releases(e) <= 2 * 3);
	}
	deploy_close(&d);
}

static void
test_patching_removes_deleted_artifacts(void **state)
{
	struct env *e = *state;
	struct apply_stats st;
	char path[TU_PATH];
	struct deploy d;
	int i;

	open_deploy(e, &d, 2, true);
	for (i = 0; i < 3; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
	}
	tu_path(path, "%s/api/HelloWorld.xml", e->src);
	assert_int_equal(unlink(path), 0);
	publish(e);
	apply_ok(e, &d, &st);
	assert_true(st.recycled);
	assert_int_equal(st.removed, 1);
	deploy_close(&d);
}

/* Publishes what e->src holds as a delta where it can, the way the
 * primary does (one-shot publish with a chain). */
static uint64_t
publish_delta(struct env *e)
{
	struct snap_publish_opts o = { .cluster_id = "c", .node_id = "n",
	    .max_chain = SNAP_MAX_CHAIN_DEFAULT };
	struct snap_err err = SNAP_ERR_INIT;
	enum snap_publish_result res;
	uint64_t v;

	assert_non_null(o.xc = xmlcheck_new(&err));
	if (snap_publish(e->src, e->sync, &o, &res, &v, &err) == -1)
		fail_msg("publish: %s", err.msg);
	xmlcheck_free(o.xc);
	return v;
}

/* Applies the latest version as a secondary does: as deltas on what the
 * deploy holds, target = upstream (no labels, no overrides). */
static void
apply_since_ok(struct env *e, struct deploy *d, struct apply_stats *st)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	struct build_plan p = { .localfd = -1 };
	int rootfd = open(e->sync, O_RDONLY | O_DIRECTORY);

	assert_true(rootfd >= 0);
	if (snap_open_since(rootfd, 0, d->upstream_m, &v, &err) == -1)
		fail_msg("open: %s", err.msg);
	p.v = &v;
	p.checks = e->checks;
	p.upstream = p.target = v.m;
	if (deploy_build(d, &p, st, &err) == -1)
		fail_msg("apply: %s", err.msg);
	v.m = NULL;	/* the deploy took it */
	snap_close(&v);
	close(rootfd);
	tu_assert_trees_equal(e->src, e->cur);
}

/* Whether dep/upstream/<v>.json is a delta record. */
static bool
is_delta_record(struct env *e, uint64_t v)
{
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH];
	struct manifest *m;
	bool delta;
	int fd;

	tu_path(path, "%s/upstream/%llu.json", e->dep, (unsigned long long)v);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	m = manifest_read(fd, 1 << 30, &err);
	close(fd);
	if (m == NULL)
		fail_msg("%s: %s", path, err.msg);
	delta = m->kind == MANIFEST_DELTA;
	manifest_free(m);
	return delta;
}

/*
 * Versions applied as deltas are recorded as deltas, and a release is
 * recycled from what those deltas name, without its own record: so that
 * record, garbled (it is a hard link to its upstream record), changes
 * nothing. A restart reads the delta records back.
 */
static void
test_patching_from_delta_records(void **state)
{
	struct env *e = *state;
	char path[TU_PATH], rec[TU_PATH], name[64], *body, *saved;
	size_t len;
	struct apply_stats st;
	struct deploy d;
	uint64_t v = 0, prev;
	int i;

	open_deploy(e, &d, 2, true);
	for (i = 0; i < 4; i++) {
		change_one(e, i);
		v = publish_delta(e);
		apply_since_ok(e, &d, &st);
	}
	assert_true(is_delta_record(e, v));
	assert_true(is_delta_record(e, v - 1));
	assert_true(st.recycled);
	assert_int_equal(st.written, 1);

	/* The release to recycle next is the previous current: garble its
	 * record in place (the upstream record shares its inode). */
	prev = v;
	snprintf(name, sizeof(name), "%s", d.current.name);
	tu_path(rec, "%s/releases/%s.json", e->dep, name);
	saved = tu_slurp(rec, &len);
	tu_write_str(rec, "garbled\n");
	tu_path(path, "%s/upstream/%llu.json", e->dep, (unsigned long long)prev);
	body = tu_slurp(path, NULL);
	assert_string_equal(body, "garbled\n");
	free(body);
	change_one(e, 100);
	tu_path(path, "%s/api/HelloWorld.xml", e->src);
	assert_int_equal(unlink(path), 0);
	v = publish_delta(e);
	apply_since_ok(e, &d, &st);
	assert_true(st.recycled);	/* from the deltas: no record read */
	assert_int_equal(st.written, 1);
	assert_int_equal(st.removed, 1);
	assert_true(is_delta_record(e, v));
	deploy_close(&d);

	/* It is an ancestor of the new records: mended, in place. */
	tu_write(rec, saved, len);
	free(saved);

	/* A restart: current's record resolves through the delta records. */
	open_deploy(e, &d, 2, true);
	assert_int_equal(d.current.version, v);
	assert_non_null(d.upstream_m);
	assert_true(d.upstream_depth > 0);
	assert_true(manifest_find(d.current_m, 0, "HelloWorld") == NULL);
	change_one(e, 101);
	publish_delta(e);
	apply_since_ok(e, &d, &st);
	assert_int_equal(st.written, 1);
	deploy_close(&d);
}

/*
 * A full version (the primary's periodic one, here a publish without a
 * chain) on top of the applied one is recorded as the delta between them,
 * computed in memory, and recycles a release from what that delta names:
 * the full record of the release being recycled is not read.
 */
static void
test_full_version_recorded_as_delta(void **state)
{
	struct env *e = *state;
	char rec[TU_PATH], *saved;
	struct apply_stats st;
	struct deploy d;
	uint64_t v = 0;
	size_t len;
	int i;

	open_deploy(e, &d, 2, true);
	for (i = 0; i < 3; i++) {
		change_one(e, i);
		v = publish_delta(e);
		apply_since_ok(e, &d, &st);
	}
	tu_path(rec, "%s/releases/%s.json", e->dep, d.current.name);
	saved = tu_slurp(rec, &len);
	tu_write_str(rec, "garbled\n");	/* the next one to recycle */
	change_one(e, 50);
	v = publish(e);			/* full */
	apply_since_ok(e, &d, &st);
	assert_true(st.recycled);
	assert_int_equal(st.written, 1);
	assert_true(is_delta_record(e, v));
	tu_write(rec, saved, len);
	free(saved);
	deploy_close(&d);
	open_deploy(e, &d, 2, true);	/* and it reads back */
	assert_int_equal(d.current.version, v);
	assert_non_null(d.upstream_m);
	deploy_close(&d);
}

/*
 * Past RECORD_CHAIN_MAX deltas a full record is written beside the delta
 * one (<V>.full.json): reading stops there, the delta records go on, so
 * every apply of a long run - across the primary's own periodic full
 * version too - still recycles from the deltas, and records below the
 * full one that no kept release needs are pruned.
 */
static void
test_record_chain_bounded(void **state)
{
	struct env *e = *state;
	char path[TU_PATH], *list;
	struct apply_stats st;
	struct deploy d;
	int i;

	open_deploy(e, &d, 2, true);
	for (i = 0; i < RECORD_CHAIN_MAX + 10; i++) {
		change_one(e, i);
		publish_delta(e);
		apply_since_ok(e, &d, &st);
		if (i >= 2) {
			assert_true(st.recycled);
			assert_int_equal(st.written, 1);
		}
		assert_true(d.upstream_depth < RECORD_CHAIN_MAX);
	}
	tu_path(path, "%s/upstream", e->dep);
	list = tu_list_dir(path);
	assert_non_null(strstr(list, ".full.json"));
	free(list);
	tu_path(path, "%s/upstream/1.json", e->dep);	/* pruned */
	assert_int_equal(access(path, F_OK), -1);
	deploy_close(&d);

	open_deploy(e, &d, 2, true);
	assert_non_null(d.upstream_m);
	assert_true(d.upstream_depth < RECORD_CHAIN_MAX);
	change_one(e, 1000);
	publish_delta(e);
	apply_since_ok(e, &d, &st);
	assert_true(st.recycled);
	assert_int_equal(st.written, 1);
	deploy_close(&d);
}

static void
test_recycle_off_builds_in_full(void **state)
{
	struct env *e = *state;
	struct apply_stats st;
	struct deploy d;
	int i;

	open_deploy(e, &d, 2, false);
	for (i = 0; i < 4; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
		assert_false(st.recycled);
		assert_true(st.written > 60);
	}
	assert_int_equal(count_releases(e), 4);	/* 2 dirs + 2 records */
	deploy_close(&d);
}

/* A release in the retention window is never touched by later applies. */
static void
test_kept_releases_stay_intact(void **state)
{
	struct env *e = *state;
	char old[TU_PATH], copy[TU_PATH], cmd[3 * TU_PATH];
	struct apply_stats st;
	struct deploy d;
	int i;

	open_deploy(e, &d, 4, true);
	for (i = 0; i < 4; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
	}
	/* Snapshot the release current points at now, then swap 3 more. */
	tu_path(old, "%s/releases/%s", e->dep, d.current.name);
	tu_path(copy, "%s/copy", e->top);
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", old, copy);
	assert_int_equal(system(cmd), 0);
	for (i = 10; i < 13; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
	}
	tu_assert_trees_equal(copy, old);
	deploy_close(&d);
}

static void
test_bad_archive_keeps_current_and_releases(void **state)
{
	struct env *e = *state;
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH], before[TU_PATH], *list, *after;
	struct apply_stats st;
	struct deploy d;
	uint64_t v;
	char byte;
	int fd, i;

	open_deploy(e, &d, 2, true);
	for (i = 0; i < 3; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
	}
	tu_path(path, "%s/releases", e->dep);
	list = tu_list_dir(path);
	snprintf(before, sizeof(before), "%s", d.current.name);

	change_one(e, 99);
	v = publish(e);
	tu_path(path, "%s/snapshots/%llu.tar.zst", e->sync,
	    (unsigned long long)v);
	/* Invert one byte: writing a fixed value would change nothing
	 * whenever the archive happens to hold that value there. */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, 40), 1);
	byte = (char)~byte;
	assert_int_equal(pwrite(fd, &byte, 1, 40), 1);
	close(fd);

	assert_int_equal(apply(e, &d, &st, &err), -1);
	tu_assert_msg(err.msg, "checksum mismatch");
	assert_string_equal(d.current.name, before);
	tu_path(path, "%s/releases", e->dep);
	after = tu_list_dir(path);
	assert_string_equal(after, list);	/* no release was consumed */
	tu_path(path, "%s/.staging", e->dep);
	tu_assert_dir(path, "");
	free(list);
	free(after);
	deploy_close(&d);
}

/*
 * The publisher here does not validate (no xc), as a writer on the share
 * who gets every checksum right would not: an apply that validates
 * refuses the artifact publish would have refused, and writes none of it.
 */
static void
test_invalid_artifact_refused_at_apply(void **state)
{
	struct env *e = *state;
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH], *list, *after;
	struct apply_stats st;
	struct deploy d;

	start_checks(e, 1);
	open_deploy(e, &d, 2, true);
	publish(e);
	apply_ok(e, &d, &st);
	tu_path(path, "%s/releases", e->dep);
	list = tu_list_dir(path);

	tu_path(path, "%s/api/Evil.xml", e->src);
	tu_write_str(path, "<!DOCTYPE api [<!ENTITY x SYSTEM "
	    "\"file:///etc/passwd\">]><api xmlns=\"http://ws.apache.org/ns/"
	    "synapse\" name=\"Evil\" context=\"/e\">&x;</api>");
	publish_as(e, false);
	assert_int_equal(apply(e, &d, &st, &err), -1);
	if (strncmp(err.msg, "snapshots/2.tar.zst: api/Evil.xml: invalid "
	    "artifact: line 1: DOCTYPE is not allowed in an artifact", 84))
		fail_msg("%s", err.msg);
	assert_string_equal(d.current.name, "v1-r1");
	tu_path(path, "%s/current/api/Evil.xml", e->dep);
	assert_false(tu_exists(path));
	tu_path(path, "%s/.staging", e->dep);
	tu_assert_dir(path, "");
	tu_path(path, "%s/releases", e->dep);
	after = tu_list_dir(path);
	assert_string_equal(after, list);
	free(after);

	/* Without a validator (checksums only) it would have gone live. */
	stop_checks(e);
	apply_ok(e, &d, &st);
	tu_path(path, "%s/current/api/Evil.xml", e->dep);
	assert_true(tu_exists(path));
	free(list);
	deploy_close(&d);
}

/*
 * A full apply hands hundreds of artifacts to the validation threads; the
 * one named is the first invalid one in the archive, whichever thread
 * judged which, and nothing goes live.
 */
static void
check_first_invalid_named(struct env *e, int workers)
{
	struct snap_err err = SNAP_ERR_INIT;
	char path[TU_PATH], body[256];
	struct apply_stats st;
	struct deploy d;
	int i;

	for (i = 0; i < 600; i++) {
		snprintf(body, sizeof(body), "<sequence xmlns=\"http://ws.apache."
		    "org/ns/synapse\" name=\"s%04d\"/>", i);
		tu_path(path, "%s/sequences/s%04d.xml", e->src, i);
		tu_write_str(path, i == 450 ? "<sequence" : i == 300 ?
		    "<api xmlns=\"http://ws.apache.org/ns/synapse\"/>" : body);
	}
	start_checks(e, workers);
	open_deploy(e, &d, 2, true);
	publish_as(e, false);
	assert_int_equal(apply(e, &d, &st, &err), -1);
	assert_true(strncmp(err.msg, "snapshots/1.tar.zst: sequences/"
	    "s0300.xml: invalid artifact: line 1: ", 57) == 0);
	assert_false(d.has_current);
	tu_path(path, "%s/.staging", e->dep);
	tu_assert_dir(path, "");

	/* The pool starts a clean batch: the valid tree goes live. */
	tu_path(path, "%s/sequences/s0300.xml", e->src);
	tu_write_str(path, "<sequence xmlns=\"http://ws.apache.org/ns/"
	    "synapse\" name=\"s0300\"/>");
	tu_path(path, "%s/sequences/s0450.xml", e->src);
	tu_write_str(path, "<sequence xmlns=\"http://ws.apache.org/ns/"
	    "synapse\" name=\"s0450\"/>");
	publish(e);
	apply_ok(e, &d, &st);
	tu_assert_trees_equal(e->src, e->cur);
	deploy_close(&d);
	stop_checks(e);
}

static void
test_first_invalid_named_in_a_full_apply(void **state)
{
	struct env *e = *state;

	check_first_invalid_named(e, 1);
}

/* All checks on the caller's thread (a one-CPU machine): the same. */
static void
test_first_invalid_named_without_threads(void **state)
{
	struct env *e = *state;

	check_first_invalid_named(e, 0);
}

static void
test_start_removes_crash_leftovers(void **state)
{
	struct env *e = *state;
	struct apply_stats st;
	char path[TU_PATH];
	struct deploy d;

	publish(e);
	open_deploy(e, &d, 5, true);
	apply_ok(e, &d, &st);
	deploy_close(&d);

	tu_path(path, "%s/.staging/build", e->dep);
	tu_mkdir(path);
	tu_path(path, "%s/.staging/build/half.xml", e->dep);
	tu_write_str(path, "<half");
	tu_path(path, "%s/current.tmp", e->dep);
	assert_int_equal(symlink("releases/v9-r9", path), 0);
	tu_path(path, "%s/releases/v7-r7", e->dep);	/* no record */
	tu_mkdir(path);
	tu_path(path, "%s/releases/v8-r8.json", e->dep);	/* no dir */
	tu_write_str(path, "{}");
	/* A record cut short by kill -9 (found by t55-torture). */
	tu_path(path, "%s/releases/.v9-r9.json.tmp-abc123", e->dep);
	tu_write_str(path, "{\"artif");
	tu_path(path, "%s/upstream/.9.json.tmp-abc123", e->dep);
	tu_write_str(path, "{\"artif");

	open_deploy(e, &d, 5, true);
	assert_true(d.has_current);
	tu_path(path, "%s", e->dep);
	tu_assert_dir(path, ".lock,current,releases,upstream");
	tu_path(path, "%s/releases", e->dep);
	tu_assert_dir(path, "v1-r1,v1-r1.json");
	tu_path(path, "%s/upstream", e->dep);
	tu_assert_dir(path, "1.json");
	tu_assert_trees_equal(e->src, e->cur);
	deploy_close(&d);
}

/* Killed between a swap and its retention, a secondary holds one release
 * too many; the next start trims them to keep (seen writing t55-torture's
 * clean-restart check). */
static void
test_start_applies_retention(void **state)
{
	struct env *e = *state;
	struct apply_stats st;
	char path[TU_PATH];
	struct deploy d;
	int i;

	open_deploy(e, &d, 5, false);
	for (i = 0; i < 3; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
	}
	assert_int_equal(count_releases(e), 6);
	deploy_close(&d);

	open_deploy(e, &d, 2, false);
	assert_string_equal(d.current.name, "v3-r3");
	tu_path(path, "%s/releases", e->dep);
	tu_assert_dir(path, "v2-r2,v2-r2.json,v3-r3,v3-r3.json");
	/* Versions 2 and 3 were recorded as deltas (each computed from the
	 * version applied before: these publishes are full), so version 1's
	 * record stays under them. */
	tu_path(path, "%s/upstream", e->dep);
	tu_assert_dir(path, "1.json,2.json,3.json");
	assert_true(is_delta_record(e, 2));
	assert_true(is_delta_record(e, 3));
	assert_false(is_delta_record(e, 1));
	tu_assert_trees_equal(e->src, e->cur);
	deploy_close(&d);
}

/* The override store's temps a kill left mid-write go at open; the list
 * and the deployed-local copies stay. */
static void
test_overrides_open_sweeps_temps(void **state)
{
	struct env *e = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct overrides o = OVERRIDES_INIT;
	char path[TU_PATH];
	int rootfd;

	tu_mkdir(e->dep);
	tu_path(path, "%s/overrides", e->dep);
	tu_mkdir(path);
	tu_path(path, "%s/overrides/api", e->dep);
	tu_mkdir(path);
	tu_path(path, "%s/overrides/overrides.json", e->dep);
	tu_write_str(path, "{\"format\": 1, \"overrides\": []}");
	tu_path(path, "%s/overrides/.overrides.json.tmp-abc123", e->dep);
	tu_write_str(path, "{\"form");
	tu_path(path, "%s/overrides/api/Mine.xml", e->dep);
	tu_write_str(path, "<api/>");
	tu_path(path, "%s/overrides/api/.Mine.xml.tmp-abc123", e->dep);
	tu_write_str(path, "<a");

	rootfd = open(e->dep, O_RDONLY | O_DIRECTORY);
	assert_true(rootfd >= 0);
	if (ovr_open(&o, rootfd, &err) == -1)
		fail_msg("ovr_open: %s", err.msg);
	tu_path(path, "%s/overrides", e->dep);
	tu_assert_dir(path, "api,overrides.json");
	tu_path(path, "%s/overrides/api", e->dep);
	tu_assert_dir(path, "Mine.xml");
	ovr_close(&o);
	close(rootfd);
}

static void
test_foreign_current_is_refused(void **state)
{
	struct env *e = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct deploy d = DEPLOY_INIT;

	tu_mkdir(e->dep);
	assert_int_equal(symlink("/etc", e->cur), 0);
	assert_int_equal(deploy_open(&d, e->dep, 5, true, &err), -1);
	tu_assert_msg(err.msg, "not at a release of ours");
	deploy_close(&d);
}

/* A canary outside the deploy root, holding what a build through a
 * followed symlink would reach: a build/ folder with a file in it. */
static void
make_canary(const char *dir)
{
	char p[TU_PATH];

	tu_mkdir(dir);
	tu_path(p, "%s/keep.xml", dir);
	tu_write_str(p, "keep");
	tu_path(p, "%s/build", dir);
	tu_mkdir(p);
	tu_path(p, "%s/build/keep.xml", dir);
	tu_write_str(p, "keep");
	tu_path(p, "%s/v9-r9", dir);	/* a release without a record */
	tu_mkdir(p);
	tu_path(p, "%s/.leftover", dir);
	tu_write_str(p, "keep");
}

static void
assert_canary(const char *dir)
{
	char p[TU_PATH];

	tu_assert_dir(dir, ".leftover,build,keep.xml,v9-r9");
	tu_path(p, "%s/build", dir);
	tu_assert_dir(p, "keep.xml");
	tu_assert_file(dir, "build/keep.xml", "keep");
	tu_assert_file(dir, "keep.xml", "keep");
}

/*
 * Our directories of the deploy root, each replaced by a symlink to the
 * canary: refused at start or at apply with one line naming it, nothing
 * written, renamed or removed there, current as it was.
 */
static void
test_symlinked_deploy_dirs_refused(void **state)
{
	static const char *const dirs[] = { "releases", "upstream",
	    "overrides", ".staging" };
	struct env *e = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct overrides o = OVERRIDES_INIT;
	char canary[TU_PATH], p[TU_PATH], want[2 * TU_PATH], saved[TU_PATH];
	struct apply_stats st;
	struct deploy d;
	size_t i;

	tu_path(canary, "%s/canary", e->top);
	make_canary(canary);
	publish(e);
	open_deploy(e, &d, 2, true);
	apply_ok(e, &d, &st);

	/* .staging while running: the next apply is refused. */
	tu_path(p, "%s/.staging", e->dep);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink(canary, p), 0);
	change_one(e, 1);
	publish(e);
	assert_int_equal(apply(e, &d, &st, &err), -1);
	tu_path(want, "deploy root %s: .staging is a symlink (to '%s'): "
	    "artsync never follows one there; replace it with a directory",
	    e->dep, canary);
	tu_assert_msg(err.msg, want);
	assert_canary(canary);
	assert_string_equal(d.current.name, "v1-r1");
	deploy_close(&d);

	/* Each at start. */
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		tu_path(p, "%s/%s", e->dep, dirs[i]);
		tu_path(saved, "%s/saved", e->top);
		if (strcmp(dirs[i], ".staging") != 0) {
			if (strcmp(dirs[i], "overrides") == 0)
				tu_mkdir(p);
			assert_int_equal(rename(p, saved), 0);
			assert_int_equal(symlink(canary, p), 0);
		}
		d = (struct deploy)DEPLOY_INIT;
		if (strcmp(dirs[i], "overrides") == 0) {
			int rootfd = tu_open_dir(e->dep);

			assert_int_equal(ovr_open(&o, rootfd, &err), -1);
			ovr_close(&o);
			close(rootfd);
		} else {
			assert_int_equal(deploy_open(&d, e->dep, 2, true,
			    &err), -1);
		}
		deploy_close(&d);
		tu_path(want, "%s is a symlink (to '%s'): artsync never "
		    "follows one there", dirs[i], canary);
		tu_assert_msg(err.msg, want);
		assert_canary(canary);
		assert_int_equal(unlink(p), 0);
		if (strcmp(dirs[i], ".staging") != 0)
			assert_int_equal(rename(saved, p), 0);
	}
	open_deploy(e, &d, 2, true);
	assert_string_equal(d.current.name, "v1-r1");
	apply_ok(e, &d, &st);
	deploy_close(&d);
}

/*
 * The release to recycle, or a type folder of it, replaced by a symlink:
 * not patched (what it points at stays as it was), the link removed, the
 * release built in full, and current a real directory.
 */
static void
test_symlinked_release_not_recycled(void **state)
{
	struct env *e = *state;
	char canary[TU_PATH], p[TU_PATH], want[2 * TU_PATH];
	char *list, *seqs, *body;
	struct apply_stats st;
	struct stat sb;
	struct deploy d;
	int i;

	open_deploy(e, &d, 2, true);
	for (i = 0; i < 2; i++) {
		change_one(e, i);
		publish(e);
		apply_ok(e, &d, &st);
	}
	/* releases/v1-r1, next to be recycled, is now a symlink to a copy
	 * of itself outside: patching it would change the canary. */
	tu_path(canary, "%s/canary", e->top);
	tu_path(p, "%s/releases/v1-r1", e->dep);
	assert_int_equal(rename(p, canary), 0);
	assert_int_equal(symlink(canary, p), 0);
	list = tu_list_dir(canary);
	tu_path(p, "%s/sequences", canary);
	seqs = tu_list_dir(p);
	tu_path(p, "%s/sequences/changing.xml", canary);
	body = tu_slurp(p, NULL);

	change_one(e, 2);
	publish(e);
	apply_ok(e, &d, &st);
	assert_false(st.recycled);
	tu_path(want, "releases/v1-r1 is a symlink (to '%s')", canary);
	tu_assert_msg(st.refused, want);
	tu_assert_dir(canary, list);
	tu_path(p, "%s/sequences", canary);
	tu_assert_dir(p, seqs);
	tu_path(p, "%s/sequences/changing.xml", canary);
	free(list);
	list = tu_slurp(p, NULL);
	assert_string_equal(list, body);
	tu_path(p, "%s/releases", e->dep);
	tu_assert_dir(p, "v2-r2,v2-r2.json,v3-r3,v3-r3.json");
	tu_path(p, "%s/releases/v3-r3", e->dep);
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));

	/* A type folder of the next one (v2-r2) the same way. */
	tu_path(p, "%s/releases/v2-r2/sequences", e->dep);
	tu_path(want, "%s/seqs", e->top);
	assert_int_equal(rename(p, want), 0);
	assert_int_equal(symlink(want, p), 0);
	free(seqs);
	seqs = tu_list_dir(want);
	change_one(e, 3);
	publish(e);
	apply_ok(e, &d, &st);
	assert_false(st.recycled);
	tu_assert_msg(st.refused, "releases/v2-r2/sequences is a symlink");
	tu_assert_dir(want, seqs);
	tu_path(p, "%s/releases", e->dep);
	tu_assert_dir(p, "v3-r3,v3-r3.json,v4-r4,v4-r4.json");
	/* And the one after is recycled again, as usual. */
	change_one(e, 4);
	publish(e);
	apply_ok(e, &d, &st);
	assert_true(st.recycled);
	assert_string_equal(st.refused, "");
	deploy_close(&d);
	free(list);
	free(seqs);
	free(body);
}

static void
test_release_names(void **state)
{
	struct release r;

	(void)state;
	assert_true(release_parse_name("v42-r7", &r));
	assert_int_equal(r.version, 42);
	assert_int_equal(r.serial, 7);
	assert_false(release_parse_name("v042-r7", &r));
	assert_false(release_parse_name("v42-r7x", &r));
	assert_false(release_parse_name("v42-r", &r));
	assert_false(release_parse_name("v-1-r7", &r));
	assert_false(release_parse_name("../v42-r7", &r));
	assert_false(release_parse_name("v 42-r7", &r));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_first_apply_is_full_and_complete, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_patching_writes_only_the_change, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_patching_removes_deleted_artifacts, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_patching_from_delta_records, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_full_version_recorded_as_delta, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_record_chain_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_recycle_off_builds_in_full, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kept_releases_stay_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_archive_keeps_current_and_releases, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_invalid_artifact_refused_at_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_start_removes_crash_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_start_applies_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_overrides_open_sweeps_temps, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_foreign_current_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_first_invalid_named_in_a_full_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_first_invalid_named_without_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_symlinked_deploy_dirs_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_symlinked_release_not_recycled, setup, teardown),
		cmocka_unit_test(test_release_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
