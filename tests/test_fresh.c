/*
 * test_fresh.c - snapshots/fresh.c: the timestamp record (its JSON both
 * ways), a renewal written by a real signing publish, and the freshness
 * verdict: a state's own expiry, extended only by a record that verifies
 * with the same key and names these very state bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fresh.h"
#include "fsutil.h"
#include "snap.h"
#include "testutil.h"

#define B2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
sample(struct fresh_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->cluster_id, "prod-eu.1");
	r->version = 42;
	strcpy(r->state_blake2b, B2);
	r->signed_at = 1795549200;
	r->expires_at = 1795549200 + 7 * 86400;
}

static void
test_round_trip(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct fresh_record r, again;
	char *json = NULL;
	size_t len;

	(void)state;
	sample(&r);
	assert_int_equal(fresh_to_json(&r, &json, &len, &err), 0);
	assert_int_equal(len, strlen(json));
	assert_non_null(strstr(json, "\"expires_at\": \"2026-12-01T"));
	assert_int_equal(fresh_from_json(json, len, &again, &err), 0);
	assert_memory_equal(&r, &again, sizeof(r));
	free(json);
}

static void
refused(const char *json, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct fresh_record r;

	if (fresh_from_json(json, strlen(json), &r, &err) != -1)
		fail_msg("accepted: %s", json);
	assert_int_equal(err.code, SNAP_E_MALFORMED);
	tu_assert_msg(err.msg, want);
}

static void
test_refuses(void **state)
{
	(void)state;
	refused("nope", "malformed JSON");
	refused("[]", "not a JSON object");
	refused("{\"format\": 2}", "format 2 is not supported");
	refused("{\"format\": 1, \"cluster_id\": \"a b\", \"version\": 1}",
	    "cluster_id");
	refused("{\"format\": 1, \"cluster_id\": \"c\", \"version\": 0, "
	    "\"signed_at\": \"2026-01-01T00:00:00Z\", \"expires_at\": "
	    "\"2026-01-02T00:00:00Z\", \"state_blake2b\": \"" B2 "\"}",
	    "is not a version");
	refused("{\"format\": 1, \"cluster_id\": \"c\", \"version\": "
	    "9007199254740992, \"signed_at\": \"2026-01-01T00:00:00Z\", "
	    "\"expires_at\": \"2026-01-02T00:00:00Z\", \"state_blake2b\": \""
	    B2 "\"}", "is not a version");
	refused("{\"format\": 1, \"cluster_id\": \"c\", \"version\": 1, "
	    "\"signed_at\": \"2026-01-01T00:00:00Z\", \"expires_at\": "
	    "\"tomorrow\", \"state_blake2b\": \"" B2 "\"}", "expires_at");
	refused("{\"format\": 1, \"cluster_id\": \"c\", \"version\": 1, "
	    "\"signed_at\": \"2026-01-01T00:00:00Z\", \"expires_at\": "
	    "\"2026-01-02T00:00:00Z\", \"state_blake2b\": \"0123456789ABCDEF"
	    "0123456789abcdef0123456789abcdef0123456789abcdef\"}",
	    "state_blake2b");
}

struct env {
	char src[TU_PATH], root[TU_PATH], keyfile[TU_PATH];
	struct sign_key key, pub, other;
	int rootfd;
};

static void
env_init(const char *dir, struct env *e, int64_t validity_s)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_publish_opts o = { .cluster_id = "c", .node_id = "n",
	    .validity_s = validity_s };
	enum snap_publish_result res;
	char pubfile[TU_PATH];
	uint64_t v;

	tu_path(e->src, "%s/src", dir);
	tu_path(e->root, "%s/root", dir);
	tu_path(e->keyfile, "%s/key", dir);
	tu_path(pubfile, "%s/key.pub", dir);
	tu_mkdir(e->src);
	tu_copy_fixtures(e->src);
	if (sign_keygen(&e->key, &err) == -1 ||
	    sign_key_write(&e->key, e->keyfile, &err) == -1 ||
	    sign_load_public(pubfile, &e->pub, &err) == -1 ||
	    sign_keygen(&e->other, &err) == -1)
		fail_msg("key: %s", err.msg);
	o.key = &e->key;
	if (snap_publish(e->src, e->root, &o, &res, &v, &err) == -1)
		fail_msg("publish: %s", err.msg);
	if ((e->rootfd = fsu_open_root(e->root, &err)) == -1)
		fail_msg("%s", err.msg);
}

/* state.json as a reader with the public key reads it. */
static void
read_state(const struct env *e, struct snap_version *v)
{
	struct snap_err err = SNAP_ERR_INIT;

	v->pub = &e->pub;
	if (snap_read_state(e->rootfd, v, &err) == -1)
		fail_msg("%s", err.msg);
}

/* A signed publish gives its state an expiry: format 3, fresh until
 * then, expired after (saying since when, and what to do). */
static void
test_state_expires(void **state)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	struct env e;
	int64_t until, now = fsu_now();

	env_init(*state, &e, 3600);
	read_state(&e, &v);
	assert_true(v.st.expires_at >= now + 3600 &&
	    v.st.expires_at <= now + 3700);
	assert_int_equal(fresh_check(e.rootfd, &e.pub, &v.st, v.st_blake2b,
	    now, &until, &err), 0);
	assert_int_equal(until, v.st.expires_at);
	assert_int_equal(fresh_check(e.rootfd, &e.pub, &v.st, v.st_blake2b,
	    v.st.expires_at, &until, &err), -1);
	assert_int_equal(err.code, SNAP_E_EXPIRED);
	tu_assert_msg(err.msg, "expired at ");
	tu_assert_msg(err.msg, "the primary must be running");
	close(e.rootfd);
}

/* No expiry (validity 0): format 2, and refused where one is required. */
static void
test_no_expiry(void **state)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	struct env e;
	int64_t until;

	env_init(*state, &e, 0);
	read_state(&e, &v);
	assert_int_equal(v.st.expires_at, 0);
	assert_int_equal(fresh_check(e.rootfd, &e.pub, &v.st, v.st_blake2b,
	    fsu_now(), &until, &err), -1);
	assert_int_equal(err.code, SNAP_E_EXPIRED);
	tu_assert_msg(err.msg, "carries no expiry");
	close(e.rootfd);
}

/* A renewal extends the state it names, and only that one: not under
 * another key, not for other bytes, not another cluster's. */
static void
test_renewal(void **state)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	struct fresh_record r;
	struct env e;
	char other_b2[STATE_B2_HEX_LEN + 1];
	int64_t until, now = fsu_now(), later;
	uint64_t ver;

	env_init(*state, &e, 60);
	read_state(&e, &v);
	later = v.st.expires_at + 1000;
	/* Only a key that signed state.json renews it. */
	assert_int_equal(fresh_renew(e.root, &e.other, "c", now, 86400, &ver,
	    &until, &err), -1);
	assert_int_equal(fresh_renew(e.root, &e.key, "x", now, 86400, &ver,
	    &until, &err), -1);
	assert_int_equal(err.code, SNAP_E_WRONG_CLUSTER);
	assert_int_equal(fresh_renew(e.root, &e.key, "c", now, 86400, &ver,
	    &until, &err), 0);
	assert_int_equal(ver, 1);
	assert_int_equal(until, now + 86400);
	assert_int_equal(fresh_read(e.rootfd, &e.pub, &r, &err), 0);
	assert_int_equal(r.version, 1);
	assert_string_equal(r.state_blake2b, v.st_blake2b);
	/* Past the state's own expiry, fresh by the renewal. */
	assert_int_equal(fresh_check(e.rootfd, &e.pub, &v.st, v.st_blake2b,
	    later, &until, &err), 0);
	assert_int_equal(until, now + 86400);
	/* The same record beside other state bytes renews nothing. */
	memset(other_b2, 'a', STATE_B2_HEX_LEN);
	other_b2[STATE_B2_HEX_LEN] = '\0';
	assert_int_equal(fresh_check(e.rootfd, &e.pub, &v.st, other_b2, later,
	    &until, &err), -1);
	assert_int_equal(err.code, SNAP_E_EXPIRED);
	/* Nor under a key that did not sign it. */
	assert_int_equal(fresh_read(e.rootfd, &e.other, &r, &err), -1);
	assert_int_equal(fresh_check(e.rootfd, &e.other, &v.st, v.st_blake2b,
	    later, &until, &err), -1);
	close(e.rootfd);
}

/* A timestamp.sig that is not one: refused, and renews nothing. */
static void
test_forged_record(void **state)
{
	struct snap_version v = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	struct fresh_record r;
	struct env e;
	char path[TU_PATH];
	int64_t until;

	env_init(*state, &e, 60);
	read_state(&e, &v);
	tu_path(path, "%s/" FRESH_FILE, e.root);
	tu_write_str(path, "{\"format\": 1}\n");
	assert_int_equal(fresh_read(e.rootfd, &e.pub, &r, &err), -1);
	tu_write_str(path, "untrusted comment: x\nRWQnot\n{}\n");
	assert_int_equal(fresh_read(e.rootfd, &e.pub, &r, &err), -1);
	assert_int_equal(fresh_check(e.rootfd, &e.pub, &v.st, v.st_blake2b,
	    v.st.expires_at + 1, &until, &err), -1);
	assert_int_equal(err.code, SNAP_E_EXPIRED);
	close(e.rootfd);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refuses),
		TMP_TEST(test_state_expires),
		TMP_TEST(test_no_expiry),
		TMP_TEST(test_renewal),
		TMP_TEST(test_forged_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
