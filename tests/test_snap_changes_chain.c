/*
 * test_snap_changes_chain.c - snapshots/snap_changes.c along a chain: its
 * bound (max_chain), the restart on a full copy written ahead of need
 * (snap_write_base), a change of most of the tree, and a damaged chain,
 * each of which makes the next version full without reading the tree when
 * a copy is there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "snap.h"
#include "testutil.h"
#include "snaptest.h"
#include "changestest.h"

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

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_changes_chain_bound),
		TMP_TEST(test_changes_restart_on_base),
		TMP_TEST(test_changes_half_the_tree),
		TMP_TEST(test_changes_damaged_chain),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
