/*
 * test_sign_publish.c - signing across the publisher's other paths:
 * snap_rollback republishes only what its key signed, snap_publish_changes
 * builds a delta only on a state.json it signed, and retention removes a
 * version's signature with its other files (signtest.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sign.h"
#include "snap.h"
#include "testutil.h"
#include "signtest.h"

static void
test_rollback_signed(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_publish_opts o = { .cluster_id = "c", .node_id = "n" };
	struct sign_key other;
	char path[TU_PATH], sigpath[TU_PATH];
	struct env e;
	uint64_t ver;

	env_init(*state, &e);
	publish_ok(&e, NULL, SNAP_PUBLISHED, 1);		/* unsigned */
	tu_path(path, "%s/api/HelloWorld.xml", e.src);
	tu_write_str(path, "<api xmlns=\"http://ws.apache.org/ns/synapse\" "
	    "name=\"HelloWorld\" context=\"/v2\"/>\n");
	publish_ok(&e, &e.key, SNAP_REPAIRED, 2);
	tu_write_str(path, "<api xmlns=\"http://ws.apache.org/ns/synapse\" "
	    "name=\"HelloWorld\" context=\"/v3\"/>\n");
	publish_ok(&e, &e.key, SNAP_PUBLISHED, 3);

	/* Back to 2: signed like any version. */
	o.key = &e.key;
	o.max_chain = SNAP_MAX_CHAIN_DEFAULT;
	if (snap_rollback(e.root, 2, &o, &ver, &err) == -1)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(ver, 4);
	verify_ok(&e, 0, &e.pub);
	in_root(&e, "snapshots/4.state.sig", sigpath);
	assert_true(tu_exists(sigpath));
	/* To 3, a delta on 2: its chain extracted, and signed again. */
	in_root(&e, "snapshots/3.delta.json", path);
	assert_true(tu_exists(path));
	if (snap_rollback(e.root, 3, &o, &ver, &err) == -1)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(ver, 5);
	verify_ok(&e, 0, &e.pub);

	/* Back to 1, which nobody signed: re-signing it would vouch for
	 * what the sync root's writers left there. Refused. */
	assert_int_equal(snap_rollback(e.root, 1, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, "not signed");
	/* With another key: version 3 is not its own either. */
	assert_int_equal(sign_keygen(&other, &err), 0);
	o.key = &other;
	assert_int_equal(snap_rollback(e.root, 3, &o, &ver, &err), -1);
	tu_assert_msg(err.msg, "another key");
	/* Unsigned rollback of an unsigned version still works. */
	o.key = NULL;
	if (snap_rollback(e.root, 1, &o, &ver, &err) == -1)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(ver, 6);
	verify_ok(&e, 0, NULL);
	verify_fails(&e, 0, &e.pub, "not signed");
}

/* snap_publish_changes after a change to api/HelloWorld, as the primary
 * daemon publishes; asserts the result and the version. */
static void
publish_hello_change(const struct env *e, const struct sign_key *key,
    struct snap_memo *memo, enum snap_publish_result want_res,
    uint64_t want_ver)
{
	struct snap_publish_opts o = { .cluster_id = "c", .node_id = "n",
	    .key = key, .max_chain = e->max_chain };
	struct snap_change ch = { .type = name_type_index("api") };
	struct snap_err err = SNAP_ERR_INIT;
	enum snap_publish_result res;
	uint64_t ver = 0;

	snprintf(ch.name, sizeof(ch.name), "HelloWorld");
	if (snap_publish_changes(e->src, e->root, &o, memo, &ch, 1, &res, &ver,
	    &err) == -1)
		fail_msg("publish: %s", err.msg);
	if (res != want_res)
		fail_msg("publish: result %d, expected %d (%s)", (int)res,
		    (int)want_res, err.msg);
	assert_int_equal(ver, want_ver);
	assert_int_equal(memo->version, want_ver);
}

/* The number of deltas in the latest version's chain. */
static size_t
latest_chain(const struct env *e)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state *st = malloc(sizeof(*st));
	size_t n;
	int rootfd;

	assert_non_null(st);
	if ((rootfd = open(e->root, O_RDONLY | O_DIRECTORY)) == -1 ||
	    state_read(rootfd, STATE_FILE, st, &err) == -1)
		fail_msg("%s: %s", e->root, err.msg);
	close(rootfd);
	n = st->ndeltas;
	free(st);
	return n;
}

/*
 * The primary's incremental publish (snap_publish_changes) signs its
 * deltas like any version, and builds one only on a state.json it signed:
 * the new state copies the chain's records from it, and would otherwise
 * vouch, by their BLAKE2b, for files someone else put there. Here that
 * someone swaps version 2's delta archive and writes the matching size and
 * XXH128 into state.json, dropping the BLAKE2b; without a key the next
 * delta is built on it (the control), with one the next version is full.
 */
static void
publish_changes_over_forgery(const char *dir, bool signing)
{
	struct snap_memo memo = SNAP_MEMO_INIT;
	const struct sign_key *key;
	char path[TU_PATH];
	struct env e;

	env_init(dir, &e);
	key = signing ? &e.key : NULL;
	change_hello(&e, "one");
	publish_hello_change(&e, key, &memo, SNAP_PUBLISHED, 1);
	change_hello(&e, "two");
	publish_hello_change(&e, key, &memo, SNAP_PUBLISHED, 2);
	assert_int_equal(latest_chain(&e), 1);
	in_root(&e, "snapshots/2.state.sig", path);
	assert_int_equal(tu_exists(path), signing);
	if (signing)
		verify_ok(&e, 0, &e.pub);

	/* The forgery: a consistent, unsigned record of another file. */
	append_skip_frame(&e, 3, "snapshots/2.delta.tar.zst");
	set_state_field(&e, 3, "blake2b", NULL);

	change_hello(&e, "three");
	if (!signing) {
		publish_hello_change(&e, NULL, &memo, SNAP_PUBLISHED, 3);
		assert_int_equal(latest_chain(&e), 2);	/* on the forgery */
	} else {
		publish_hello_change(&e, key, &memo, SNAP_REPAIRED, 3);
		assert_int_equal(latest_chain(&e), 0);
		verify_ok(&e, 0, &e.pub);
		/* On a version it signed, deltas again. */
		change_hello(&e, "four");
		publish_hello_change(&e, key, &memo, SNAP_PUBLISHED, 4);
		assert_int_equal(latest_chain(&e), 1);
		verify_ok(&e, 0, &e.pub);
	}
	snap_memo_clear(&memo);
}

static void
test_publish_changes_signed(void **state)
{
	publish_changes_over_forgery(*state, true);
}

static void
test_publish_changes_unsigned_control(void **state)
{
	publish_changes_over_forgery(*state, false);
}

/* Adds sequences/S<i>.xml to e's source. */
static void
add_sequence(const struct env *e, int i)
{
	char art[TU_PATH], body[160];

	tu_path(art, "%s/sequences/S%d.xml", e->src, i);
	snprintf(body, sizeof(body), "<sequence xmlns=\"http://ws.apache"
	    ".org/ns/synapse\" name=\"S%d\"/>\n", i);
	tu_write_str(art, body);
}

/* Versions 1..n, signed, each adding sequences/S<i>.xml. */
static void
publish_sequences(const struct env *e, int n)
{
	int i;

	for (i = 1; i <= n; i++) {
		add_sequence(e, i);
		publish_ok(e, &e->key, SNAP_PUBLISHED, (uint64_t)i);
	}
}

/* Retention removes a version's signature with its other files. */
static void
test_prune_removes_signatures(void **state)
{
	char path[TU_PATH];
	struct env e;
	int rootfd;

	env_init(*state, &e);
	e.max_chain = 0;
	publish_sequences(&e, 3);
	rootfd = open(e.root, O_RDONLY | O_DIRECTORY);
	assert_true(rootfd >= 0);
	assert_int_equal(snap_prune(rootfd, 3, 0, 1, 0), 8);
	close(rootfd);
	in_root(&e, "snapshots", path);
	tu_assert_dir(path, "3.manifest.json,3.state.json,3.state.sig,"
	    "3.tar.zst");
	verify_ok(&e, 0, &e.pub);
}

/* And a chain's: kept while a kept version needs its base, then gone
 * with the rest of the chain, signatures included. */
static void
test_prune_removes_chain_signatures(void **state)
{
	char path[TU_PATH];
	struct env e;
	int rootfd;

	env_init(*state, &e);
	e.max_chain = 2;
	publish_sequences(&e, 4);	/* full, delta, delta, full */
	in_root(&e, "snapshots", path);
	tu_assert_dir(path, "1.manifest.json,1.state.json,1.state.sig,"
	    "1.tar.zst,2.delta.json,2.delta.tar.zst,2.state.json,2.state.sig,"
	    "3.delta.json,3.delta.tar.zst,3.state.json,3.state.sig,"
	    "4.manifest.json,4.state.json,4.state.sig,4.tar.zst");
	rootfd = open(e.root, O_RDONLY | O_DIRECTORY);
	assert_true(rootfd >= 0);
	/* Keeping 2 versions keeps 3, hence its base 1 and the chain. */
	assert_int_equal(snap_prune(rootfd, 4, 0, 2, 0), 0);
	assert_int_equal(snap_prune(rootfd, 4, 0, 1, 0), 12);
	close(rootfd);
	tu_assert_dir(path, "4.manifest.json,4.state.json,4.state.sig,"
	    "4.tar.zst");
	verify_ok(&e, 0, &e.pub);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_rollback_signed),
		TMP_TEST(test_publish_changes_signed),
		TMP_TEST(test_publish_changes_unsigned_control),
		TMP_TEST(test_prune_removes_signatures),
		TMP_TEST(test_prune_removes_chain_signatures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
