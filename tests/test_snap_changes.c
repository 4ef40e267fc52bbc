/*
 * test_snap_changes.c - snapshots/snap_changes.c, the primary's publish of
 * what it was told changed: its memo against what snap_open composes, the
 * list as the contract (removals, adds, touches, relabelling, refusals),
 * and the fallbacks to a full publish when someone else published or a
 * dead publisher left files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include <cmocka.h>

#include "snap.h"
#include "testutil.h"
#include "snaptest.h"
#include "changestest.h"

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

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_changes_first_publish),
		TMP_TEST(test_changes_delta_holds_what_changed),
		TMP_TEST(test_changes_remove_add_touch),
		TMP_TEST(test_changes_invalid_refused),
		TMP_TEST(test_changes_someone_else_published),
		TMP_TEST(test_changes_pass_leftovers),
		TMP_TEST(test_changes_relabel),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
