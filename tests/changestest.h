/*
 * changestest.h - what the tests of snap_publish_changes share
 * (test_snap_changes.c, test_snap_changes_chain.c): a publisher with its
 * memo and list of changed paths (struct pub), the calls and their
 * expected results, and the checks that the memo is what snap_open
 * composes and the latest version is the source.
 *
 * Header-only, like testutil.h: every helper is static inline. Include it
 * after "snaptest.h".
 */
#ifndef CHANGESTEST_H
#define CHANGESTEST_H

#include "arc.h"
#include "snap.h"
#include "xmlcheck.h"
#include "snaptest.h"

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

static inline void
pub_init(struct pub *p, unsigned max_chain)
{
	memset(p, 0, sizeof(*p));
	p->memo = (struct snap_memo)SNAP_MEMO_INIT;
	p->o = opts;
	p->o.xc = xc;
	p->o.max_chain = max_chain;
}

/* Lists TYPE/NAME.xml as (maybe) changed. */
static inline void
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
static inline void
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
static inline int
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
static inline void
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
static inline void
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
static inline void
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
static inline void
pub_ok(const struct env *e, struct pub *p, enum snap_publish_result want_res,
    uint64_t want_ver)
{
	pub_publish(e, p, false, want_res, want_ver, NULL);
	latest_is_source(e, p, want_ver);
}

/* The same with changes NULL: the publisher does not know what changed. */
static inline void
pub_all_ok(const struct env *e, struct pub *p,
    enum snap_publish_result want_res, uint64_t want_ver)
{
	pub_publish(e, p, true, want_res, want_ver, NULL);
	latest_is_source(e, p, want_ver);
}

/* Changes HelloWorld, lists it, and publishes version want_ver. */
static inline void
hello_ok(const struct env *e, struct pub *p, const char *tag,
    uint64_t want_ver)
{
	change_hello(e, tag);
	pub_list(p, HELLO);
	pub_ok(e, p, SNAP_PUBLISHED, want_ver);
}

/* A fresh source and sync root (env_init), and a publisher with
 * max_chain that has published it: version 1. */
static inline void
pub_start(const char *dir, struct env *e, struct pub *p, unsigned max_chain)
{
	env_init(dir, e);
	pub_init(p, max_chain);
	pub_all_ok(e, p, SNAP_PUBLISHED, 1);
}

/* The delta layer of version `version` (its last layer). */
static inline void
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

#endif
