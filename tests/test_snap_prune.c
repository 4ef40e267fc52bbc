/*
 * test_snap_prune.c - snapshots/snap_prune.c: retention keeps the newest
 * versions, the base and chain each kept version needs, what is younger
 * than the grace period and every name that is not ours.
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
	assert_int_equal(snap_prune(rootfd, 5, 0, 3, 0), 6);
	tu_assert_dir(p, ".nfs000123,3.manifest.json,3.state.json,3.tar.zst,"
	    "4.manifest.json,4.state.json,4.tar.zst,5.manifest.json,"
	    "5.state.json,5.tar.zst,README");
	/* keep 1 still keeps the latest; keep 0 keeps everything. */
	assert_int_equal(snap_prune(rootfd, 5, 0, 0, 0), 0);
	assert_int_equal(snap_prune(rootfd, 5, 0, 1, 0), 6);
	tu_assert_dir(p, ".nfs000123,5.manifest.json,5.state.json,5.tar.zst,"
	    "README");
	close(rootfd);
	verify_ok(&e, 0, 5);
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
	assert_int_equal(snap_prune(rootfd, 8, 6, 1, 0), 0);	/* known */
	assert_int_equal(snap_prune(rootfd, 8, 0, 1, 0), 0);	/* read */
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
	assert_int_equal(snap_prune(rootfd, 9, 0, 1, 0), 9);
	close(rootfd);
	names_of(9, false, want, sizeof(want));
	tu_assert_dir(snaps, want);
	verify_ok(&e, 0, 9);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_retention),
		TMP_TEST(test_retention_chain),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
