/*
 * test_epoch.c - snapshots/epoch.c: lease, claim and fence records both
 * ways and refused when malformed; an epoch granted once (O_EXCL), a lost
 * reply still ours by its nonce; the reader's fence rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "epoch.h"
#include "fsutil.h"
#include "testutil.h"

static void
sample_lease(struct lease *l)
{
	memset(l, 0, sizeof(*l));
	strcpy(l->cluster_id, "prod-eu.1");
	strcpy(l->node_id, "gw-a");
	l->epoch = 7;
	l->phase = LEASE_ACTIVE;
	l->base_version = 41;
	l->seq = 12;
	l->lease_ms = 10000;
	l->renew_ms = 1000;
}

static void
test_lease_round_trip(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct lease l, again;
	char *json = NULL;
	size_t len;

	(void)state;
	sample_lease(&l);
	l.phase = LEASE_RELEASED;
	assert_int_equal(epoch_lease_to_json(&l, &json, &len, &err), 0);
	assert_non_null(strstr(json, "\"phase\": \"released\""));
	assert_int_equal(epoch_lease_from_json(json, len, &again, &err), 0);
	assert_memory_equal(&l, &again, sizeof(l));
	free(json);
}

static void
refused_lease(const char *json, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct lease l;

	assert_int_equal(epoch_lease_from_json(json, strlen(json), &l, &err),
	    -1);
	if (strstr(err.msg, want) == NULL)
		fail_msg("'%s' is not in '%s'", want, err.msg);
	assert_int_equal(err.code, SNAP_E_MALFORMED);
}

#define LEASE_HEAD "{\"format\":1,\"cluster_id\":\"c\",\"node_id\":\"n\","

static void
test_lease_refused(void **state)
{
	(void)state;
	refused_lease("", "lease.json");
	refused_lease("[]", "not a JSON object");
	refused_lease("{\"format\":2}", "format 2");
	refused_lease(LEASE_HEAD "\"epoch\":0,\"base_version\":0,\"seq\":0,"
	    "\"lease_ms\":1,\"renew_ms\":1,\"phase\":\"active\"}", "'epoch'");
	refused_lease(LEASE_HEAD "\"epoch\":1,\"base_version\":0,\"seq\":0,"
	    "\"lease_ms\":1,\"renew_ms\":1,\"phase\":\"leading\"}", "'phase'");
	refused_lease(LEASE_HEAD "\"epoch\":1,\"base_version\":0,\"seq\":0,"
	    "\"lease_ms\":0,\"renew_ms\":1,\"phase\":\"active\"}", "'lease_ms'");
	refused_lease("{\"format\":1,\"cluster_id\":\"../x\",\"node_id\":\"n\"}",
	    "cluster_id");
	refused_lease(LEASE_HEAD "\"epoch\":9007199254740992,\"base_version\":0,"
	    "\"seq\":0,\"lease_ms\":1,\"renew_ms\":1,\"phase\":\"active\"}",
	    "'epoch'");
}

static void
sample_claim(struct epoch_claim *c, uint64_t epoch, const char *node)
{
	memset(c, 0, sizeof(*c));
	c->epoch = epoch;
	c->prev_epoch = epoch - 1;
	snprintf(c->node_id, sizeof(c->node_id), "%s", node);
	epoch_nonce(c->nonce);
	c->claimed_at = 1795549200;
}

/* Each epoch is granted once; a reply lost (EEXIST on our own file) is
 * still ours; the highest claim is found; lease.json written and read. */
static void
test_claim(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct epoch_claim a, b, again;
	struct lease l, r;
	char path[4096], *buf;
	size_t len;
	int rootfd;

	tu_path(path, "%s/sync", (char *)*state);
	tu_mkdir(path);
	rootfd = tu_open_dir(path);
	assert_int_equal(epoch_highest(rootfd), 0);
	assert_int_equal(epoch_lease_read(rootfd, NULL, &l, &err), 1);
	sample_claim(&a, 1, "gw-a");
	sample_claim(&b, 1, "gw-b");
	assert_string_not_equal(a.nonce, b.nonce);
	assert_int_equal(epoch_claim(rootfd, &a, &err), 0);
	assert_int_equal(epoch_claim(rootfd, &b, &err), 1);
	assert_int_equal(epoch_claim(rootfd, &a, &err), 0);
	tu_path(path, "%s/sync/epochs/1", (char *)*state);
	buf = tu_slurp(path, &len);
	assert_int_equal(epoch_claim_from_json(buf, len, &again, &err), 0);
	assert_string_equal(again.nonce, a.nonce);
	assert_string_equal(again.node_id, "gw-a");
	free(buf);
	sample_claim(&b, 12, "gw-b");
	assert_int_equal(epoch_claim(rootfd, &b, &err), 0);
	assert_int_equal(epoch_highest(rootfd), 12);
	sample_lease(&l);
	assert_int_equal(epoch_lease_write(rootfd, NULL, &l, &err), 0);
	assert_int_equal(epoch_lease_read(rootfd, NULL, &r, &err), 0);
	assert_memory_equal(&l, &r, sizeof(l));
	close(rootfd);
}

/* With a key, lease.sig: read only when it verifies over those bytes. */
static void
test_signed_lease(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct sign_key k, other;
	struct lease l, r;
	char path[4096];
	int rootfd;

	tu_path(path, "%s", (char *)*state);
	rootfd = tu_open_dir(path);
	assert_int_equal(sign_keygen(&k, &err), 0);
	assert_int_equal(sign_keygen(&other, &err), 0);
	sample_lease(&l);
	assert_int_equal(epoch_lease_write(rootfd, &k, &l, &err), 0);
	assert_int_equal(epoch_lease_read(rootfd, &k, &r, &err), 0);
	assert_memory_equal(&l, &r, sizeof(l));
	assert_int_equal(epoch_lease_read(rootfd, &other, &r, &err), -1);
	assert_non_null(strstr(err.msg, "another key"));
	/* Rewritten without the key: the old signature no longer fits. */
	l.epoch = 99;
	assert_int_equal(epoch_lease_write(rootfd, NULL, &l, &err), 0);
	assert_int_equal(epoch_lease_read(rootfd, &k, &r, &err), -1);
	assert_int_equal(epoch_lease_read(rootfd, NULL, &r, &err), 0);
	assert_int_equal(r.epoch, 99);
	close(rootfd);
}

/* A symlink where epochs/ belongs is never followed. */
static void
test_claim_symlink(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct epoch_claim a;
	char path[4096], target[4096];
	int rootfd;

	tu_path(path, "%s/sync", (char *)*state);
	tu_mkdir(path);
	tu_path(target, "%s/elsewhere", (char *)*state);
	tu_mkdir(target);
	tu_path(path, "%s/sync/epochs", (char *)*state);
	assert_int_equal(symlink(target, path), 0);
	tu_path(path, "%s/sync", (char *)*state);
	rootfd = tu_open_dir(path);
	sample_claim(&a, 1, "gw-a");
	assert_int_equal(epoch_claim(rootfd, &a, &err), -1);
	tu_path(path, "%s/elsewhere/1", (char *)*state);
	assert_false(tu_exists(path));
	close(rootfd);
}

static void
state_of(struct snap_state *st, uint64_t version, uint64_t epoch,
    uint64_t base)
{
	memset(st, 0, sizeof(*st));
	strcpy(st->cluster_id, "prod-eu.1");
	strcpy(st->node_id, "gw-a");
	st->version = version;
	st->epoch = epoch;
	st->epoch_base_version = base;
}

static void
test_fence(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct epoch_fence f = { 0, 0 };
	struct snap_state st;
	struct lease l;
	bool moved;

	(void)state;
	/* No epochs anywhere (ha = off): nothing to say. */
	state_of(&st, 5, 0, 0);
	assert_int_equal(epoch_fence_check(&f, &st, NULL, &moved, &err), 0);
	assert_false(moved);
	/* Epoch 1 on top of version 5. */
	state_of(&st, 6, 1, 5);
	assert_int_equal(epoch_fence_check(&f, &st, NULL, &moved, &err), 0);
	assert_true(moved);
	assert_int_equal(f.max_epoch, 1);
	assert_int_equal(f.base_of_max, 5);
	/* A format 2 publisher's version 7 is above the seal: stale. */
	state_of(&st, 7, 0, 0);
	assert_int_equal(epoch_fence_check(&f, &st, NULL, &moved, &err), -1);
	assert_int_equal(err.code, SNAP_E_STALE_EPOCH);
	/* Epoch 2 is sealing: epoch 1's version 8 waits. */
	sample_lease(&l);
	strcpy(l.cluster_id, "prod-eu.1");
	l.epoch = 2;
	l.phase = LEASE_SEALING;
	l.base_version = 0;
	state_of(&st, 8, 1, 5);
	assert_int_equal(epoch_fence_check(&f, &st, &l, &moved, &err), -1);
	assert_int_equal(err.code, SNAP_E_EPOCH_PENDING);
	assert_false(moved);
	/* Active on seal 8: version 8 of epoch 1 is lineage, 9 is not. */
	l.phase = LEASE_ACTIVE;
	l.base_version = 8;
	assert_int_equal(epoch_fence_check(&f, &st, &l, &moved, &err), 0);
	assert_true(moved);
	state_of(&st, 9, 1, 5);
	assert_int_equal(epoch_fence_check(&f, &st, &l, &moved, &err), -1);
	assert_int_equal(err.code, SNAP_E_STALE_EPOCH);
	assert_non_null(strstr(err.msg, "deposed by epoch 2"));
	/* A lease that went back (a zombie's renewal) changes nothing. */
	l.epoch = 1;
	state_of(&st, 10, 2, 8);
	assert_int_equal(epoch_fence_check(&f, &st, &l, &moved, &err), 0);
	assert_false(moved);
	/* Another cluster's lease is ignored. */
	strcpy(l.cluster_id, "other");
	l.epoch = 9;
	assert_int_equal(epoch_fence_check(&f, &st, &l, &moved, &err), 0);
	assert_int_equal(f.max_epoch, 2);
}

static void
test_fence_file(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct epoch_fence f = { 3, 17 }, loaded = { 1, 1 };
	char path[4096];
	int dirfd;

	tu_path(path, "%s", (char *)*state);
	dirfd = tu_open_dir(path);
	assert_int_equal(epoch_fence_load(dirfd, &loaded, &err), 0);
	assert_int_equal(loaded.max_epoch, 0);
	assert_int_equal(epoch_fence_save(dirfd, &f, &err), 0);
	assert_int_equal(epoch_fence_load(dirfd, &loaded, &err), 0);
	assert_int_equal(loaded.max_epoch, 3);
	assert_int_equal(loaded.base_of_max, 17);
	tu_path(path, "%s/fence.json", (char *)*state);
	tu_write_str(path, "{\"format\":1,\"max_epoch\":-1}");
	assert_int_equal(epoch_fence_load(dirfd, &loaded, &err), -1);
	assert_int_equal(loaded.max_epoch, 0);
	close(dirfd);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lease_round_trip),
		cmocka_unit_test(test_lease_refused),
		TMP_TEST(test_claim),
		TMP_TEST(test_claim_symlink),
		TMP_TEST(test_signed_lease),
		cmocka_unit_test(test_fence),
		TMP_TEST(test_fence_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
