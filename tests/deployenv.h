/*
 * deployenv.h - what the deploy tests share (test_deploy*.c): a fixture
 * tree to publish, a sync root and a deploy root under one temp
 * directory, and applies the way a secondary makes them.
 *
 * Header-only, like testutil.h: every helper is `static inline`, and
 * fails the running test rather than return an error. setup() and
 * teardown() are cmocka's: *state is the struct env. Include it after
 * <cmocka.h>.
 */
#ifndef DEPLOYENV_H
#define DEPLOYENV_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "deploy.h"
#include "fsutil.h"
#include "overrides.h"
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

static inline int
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

static inline int
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
static inline void
start_checks(struct env *e, int workers)
{
	struct snap_err err = SNAP_ERR_INIT;

	assert_non_null(e->xc = xmlcheck_new(&err));
	assert_non_null(e->checks = xmlpool_new(e->xc, workers, &err));
	assert_int_equal(xmlpool_workers(e->checks), (unsigned)workers);
}

static inline void
stop_checks(struct env *e)
{
	xmlpool_free(e->checks);
	xmlcheck_free(e->xc);
	e->checks = NULL;
	e->xc = NULL;
}

/* Publishes e->src in full, validated (validate: false, as a writer on
 * the share who checks nothing would: no identities recorded either). */
static inline uint64_t
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

static inline uint64_t
publish(struct env *e)
{
	return publish_as(e, true);
}

/* Opens the latest version and applies it; returns apply's result. */
static inline int
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

static inline void
apply_ok(struct env *e, struct deploy *d, struct apply_stats *st)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (apply(e, d, st, &err) == -1)
		fail_msg("apply: %s", err.msg);
	tu_assert_trees_equal(e->src, e->cur);
}

static inline void
open_deploy(struct env *e, struct deploy *d, unsigned keep, bool recycle)
{
	struct snap_err err = SNAP_ERR_INIT;

	*d = (struct deploy)DEPLOY_INIT;
	if (deploy_open(d, e->dep, keep, recycle, &err) == -1)
		fail_msg("deploy_open: %s", err.msg);
}

static inline void
change_one(struct env *e, int i)
{
	char path[TU_PATH], body[256];

	tu_path(path, "%s/sequences/changing.xml", e->src);
	snprintf(body, sizeof(body), "<sequence xmlns=\"http://ws.apache.org/"
	    "ns/synapse\" name=\"changing\"><log level=\"custom\"><property "
	    "name=\"i\" value=\"%d\"/></log></sequence>\n", i);
	tu_write_str(path, body);
}

static inline size_t
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

/* Publishes what e->src holds as a delta where it can, the way the
 * primary does (one-shot publish with a chain). */
static inline uint64_t
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
static inline void
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
static inline bool
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

#endif
