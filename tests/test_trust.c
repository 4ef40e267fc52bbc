/*
 * test_trust.c - agent/trust.c: the checks of a verified state.json before
 * anything it names is read (cluster, older, min_version), the sync
 * root's state they leave, and the memory of a final refusal by state
 * record. Freshness is test_fresh.c's (the verdict) and t98's (a daemon).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "trust.h"
#include "testutil.h"

struct env {
	struct config c;
	struct trust t;
	struct snap_version v;
};

static void
env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	config_defaults(&e->c, CONFIG_SECONDARY);
	strcpy(e->c.cluster_id, "prod");
	trust_init(&e->t, &e->c);
	e->v = (struct snap_version)SNAP_VERSION_INIT;
	strcpy(e->v.st.cluster_id, "prod");
	e->v.st.version = 7;
	e->v.st.base_version = 7;
	state_manifest_name(7, e->v.st.manifest.name,
	    sizeof(e->v.st.manifest.name));
	strcpy(e->v.st.manifest.xxh128, "00112233445566778899aabbccddeeff");
	state_archive_name(7, e->v.st.archive.name,
	    sizeof(e->v.st.archive.name));
	strcpy(e->v.st.archive.xxh128, "ffeeddccbbaa99887766554433221100");
}

static void
test_checks(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct env *e = malloc(sizeof(*e));

	(void)state;
	assert_non_null(e);
	env_init(e);
	assert_int_equal(trust_check_state(&e->t, -1, &e->v, 7, &err), 0);
	assert_int_equal(e->t.root_state, ROOT_OK);
	/* Another cluster's: unverifiable, since now. */
	strcpy(e->v.st.cluster_id, "staging");
	assert_int_equal(trust_check_state(&e->t, -1, &e->v, 0, &err), -1);
	assert_int_equal(err.code, SNAP_E_WRONG_CLUSTER);
	assert_int_equal(e->t.root_state, ROOT_UNVERIFIABLE);
	assert_true(e->t.root_since_ms != 0 && e->t.root_since != 0);
	assert_string_equal(trust_root_state_name(e->t.root_state),
	    "unverifiable");
	strcpy(e->v.st.cluster_id, "prod");
	/* Older than applied, below the floor: older. */
	assert_int_equal(trust_check_state(&e->t, -1, &e->v, 8, &err), -1);
	assert_int_equal(err.code, SNAP_E_OLDER);
	assert_int_equal(e->t.root_state, ROOT_OLDER);
	tu_assert_msg(err.msg, "older than applied 8");
	e->c.min_version = 9;
	assert_int_equal(trust_check_state(&e->t, -1, &e->v, 0, &err), -1);
	assert_int_equal(err.code, SNAP_E_OLDER);
	tu_assert_msg(err.msg, "below this node's min_version 9");
	e->c.min_version = 7;
	assert_int_equal(trust_check_state(&e->t, -1, &e->v, 0, &err), 0);
	assert_int_equal(e->t.root_state, ROOT_OLDER);	/* the caller's */
	trust_set_root(&e->t, ROOT_OK);
	assert_int_equal(e->t.root_since_ms, 0);
	free(e);
}

/* Only a final code is remembered; the same record is known again, any
 * other record (one file's size) is not. */
static void
test_refusal_memory(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct env *e = malloc(sizeof(*e));

	(void)state;
	assert_non_null(e);
	env_init(e);
	snap_err_setc(&err, SNAP_E_CHANGED, "archive changed while it was "
	    "read");
	trust_remember_refusal(&e->t, &e->v, &err);
	assert_false(trust_refused_before(&e->t, &e->v));
	snap_err_setc(&err, SNAP_E_HOSTILE, "entry 'x' is a symlink");
	trust_remember_refusal(&e->t, &e->v, &err);
	assert_true(trust_refused_before(&e->t, &e->v));
	assert_int_equal(e->t.refused.why.code, SNAP_E_HOSTILE);
	e->v.st.published_at++;			/* not part of the record */
	assert_true(trust_refused_before(&e->t, &e->v));
	e->v.st.archive.size++;
	assert_false(trust_refused_before(&e->t, &e->v));
	e->v.st.archive.size--;
	trust_forget_refusal(&e->t);
	assert_false(trust_refused_before(&e->t, &e->v));
	free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_refusal_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
