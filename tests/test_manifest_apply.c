/*
 * test_manifest_apply.c - snapshots/manifest_apply.c: a delta applied
 * merged and in place give the same manifest, an undo puts it back
 * exactly, and a delta that does not fit must leave the parent as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <malloc.h>

#include "manifest.h"
#include "testutil.h"
#include "manifesttest.h"

/* m after manifest_apply_delta() may grow like any manifest: its recorded
 * capacity must be what was allocated. */
static void
test_apply_then_add(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *v1 = version_one(), *cur = next_of(v1), *m, *d;
	char name[32];
	int i;

	(void)state;
	for (i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "new%02d", i);
		add(cur, EP, name, NULL, 1, H2, 0);
	}
	finish(v1, cur);
	d = manifest_delta(cur);
	m = manifest_dup(v1);
	assert_int_equal(manifest_apply_delta(m, d, &err), 0);
	assert_int_equal(m->n, 17);
	if (malloc_usable_size(m->entries) < m->cap * sizeof(*m->entries))
		fail_msg("entries hold %zu bytes, cap says %zu entries (%zu "
		    "bytes)", malloc_usable_size(m->entries), m->cap,
		    m->cap * sizeof(*m->entries));
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "more%02d", i);
		add(m, TASK, name, NULL, 1, H3, 0);
	}
	assert_int_equal(manifest_sort(m, &err), 0);
	assert_int_equal(m->n, 57);
	assert_non_null(manifest_find(m, EP, "new11"));
	assert_non_null(manifest_find(m, TASK, "more39"));
	assert_non_null(manifest_find(m, API, "same"));
	manifest_free(d);
	manifest_free(m);
	manifest_free(cur);
	manifest_free(v1);
}

/* Applies delta d to a copy of version_one(): refused with `want`,
 * and the copy is exactly as before. */
static void
apply_refused(const struct manifest *d, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *v1 = version_one(), *m = manifest_dup(v1);
	char *before = NULL, *after = NULL;
	size_t blen, alen;

	assert_int_equal(manifest_to_json(m, &before, &blen, &err), 0);
	if (manifest_apply_delta(m, d, &err) != -1)
		fail_msg("delta %llu applied", (unsigned long long)d->version);
	tu_assert_msg(err.msg, want);
	assert_manifests_equal(m, v1);
	assert_int_equal(manifest_to_json(m, &after, &alen, &err), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);
	manifest_free(m);
	manifest_free(v1);
}

static void
apply_refused_doc(const char *doc, const char *want)
{
	struct manifest *d = accepted_n(doc, strlen(doc));

	apply_refused(d, want);
	manifest_free(d);
}

/* One manifest moved in place from version to version (as a secondary's
 * applied one is), with the undo records of every step. */
struct undo_chain {
	struct manifest *start;		/* a copy of where it began */
	struct manifest *held;		/* moved in place */
	struct manifest_undo u[8];
	size_t n;
};

static void
chain_start_at(struct undo_chain *ch, const struct manifest *m)
{
	ch->start = manifest_dup(m);
	ch->held = manifest_dup(m);
	ch->n = 0;
	assert_non_null(ch->start);
	assert_non_null(ch->held);
}

/* Undoes every step, last first: held is where it began, exactly. */
static void
chain_undo(struct undo_chain *ch)
{
	while (ch->n > 0)
		manifest_undo(ch->held, &ch->u[--ch->n]);
	assert_manifests_equal(ch->held, ch->start);
}

/* Moves held to cur in place; after 8 steps, or at a delta too big for
 * that, undoes them all and starts again from cur. */
static void
chain_step(struct undo_chain *ch, const struct manifest *cur)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *d = manifest_delta(cur);
	int rc;

	assert_non_null(d);
	rc = manifest_apply_delta_undoable(ch->held, d, &ch->u[ch->n], &err);
	manifest_free(d);
	if (rc == -1)
		fail_msg("chain step to %llu: %s",
		    (unsigned long long)cur->version, err.msg);
	if (rc == 0) {
		ch->n++;
		assert_manifests_equal(ch->held, cur);
	}
	if (rc == 1 || ch->n == sizeof(ch->u) / sizeof(ch->u[0])) {
		chain_undo(ch);
		manifest_free(ch->held);
		manifest_free(ch->start);
		chain_start_at(ch, cur);
	}
}

/*
 * Deltas small enough to be moved into place (a few adds or removals, a
 * handful of changes) and bigger ones merged in one pass must give the
 * same manifest; one moved in place over up to 8 versions and undone,
 * the one it started as: the next version exactly, each time, over 300 versions
 * of random changes, adds and removals (a fixed seed).
 */
static void
test_apply_in_place_and_merged(void **state)
{
	struct manifest *prev = new_sorted(), *cur;
	struct undo_chain ch;
	char name[32];
	unsigned seed = 42;
	int v, k, ops, serial = 0;

	(void)state;
	for (k = 0; k < 300; k++) {
		snprintf(name, sizeof(name), "a%04d", serial++);
		add(prev, k % 10, name, NULL, 10, H1, 0);
	}
	prev->version = 1;
	prev->published_at = 100;
	finish(NULL, prev);
	chain_start_at(&ch, prev);
	for (v = 0; v < 300; v++) {
		cur = next_of(prev);
		/* Small most of the time, now and then past the in-place
		 * bounds (more than 4 adds and removals, or 16 entries). */
		ops = rand_r(&seed) % 5 == 0 ? 12 : 3;
		for (k = rand_r(&seed) % (ops + 1); k > 0 && cur->n > 0; k--) {
			const struct manifest_entry *e =
			    &cur->entries[(size_t)rand_r(&seed) % cur->n];

			change(cur, e->type, e->name, rand_r(&seed) % 2 ? H2 :
			    H3, NULL);
		}
		for (k = rand_r(&seed) % (ops + 1); k > 0 && cur->n > 1; k--) {
			const struct manifest_entry *e =
			    &cur->entries[(size_t)rand_r(&seed) % cur->n];

			snprintf(name, sizeof(name), "%s", e->name);
			drop(cur, e->type, name);
		}
		for (k = rand_r(&seed) % (ops + 1); k > 0; k--) {
			snprintf(name, sizeof(name), "a%04d", serial++);
			add(cur, rand_r(&seed) % 10, name,
			    rand_r(&seed) % 3 ? NULL : "blue", 7, H2, 0);
		}
		finish(prev, cur);
		if (cur->nev > 0)
			assert_delta_round_trip(prev, cur);
		chain_step(&ch, cur);
		manifest_free(prev);
		prev = cur;
	}
	chain_undo(&ch);
	manifest_free(ch.held);
	manifest_free(ch.start);
	manifest_free(prev);
}

static void
test_apply_refused(void **state)
{
	struct manifest *v1 = version_one(), *v2 = version_two(v1), *v3, *d;

	(void)state;
	/* The control: this delta fits version 1. */
	d = manifest_delta(v2);
	assert_delta_round_trip(v1, v2);
	/* Not on its parent: version 3's delta on version 1. */
	v3 = next_of(v2);
	change(v3, API, "same", H2, NULL);
	finish(v2, v3);
	manifest_free(d);
	d = manifest_delta(v3);
	apply_refused(d, "delta 3 has parent 2, not 1");
	manifest_free(d);
	/* A full manifest is no delta, even with the right parent. */
	apply_refused(v2, "version 2 is not a delta");
	/* Removing what the parent lacks, alone or after good removals. */
	apply_refused_doc(L(HEADK("delta", "2", "1", "0", "1"))
	    L(EV("api/ghost", "api", "UNDEPLOY")),
	    "delta 2 removes api/ghost, which version 1 does not hold");
	apply_refused_doc(L(HEADK("delta", "2", "1", "0", "2"))
	    L(EV("api/same", "api", "UNDEPLOY"))
	    L(EV("sequences/same", "sequences", "UNDEPLOY")),
	    "removes sequences/same, which version 1");
	/* An entry both removed and listed. */
	apply_refused_doc(L(HEADK("delta", "2", "1", "1", "1"))
	    L(ART("api", "changed", "10", H2))
	    L(EV("api/changed", "api", "UNDEPLOY")),
	    "delta 2 both removes and lists api/changed");
	apply_refused_doc(L(HEADK("delta", "2", "1", "2", "2"))
	    L(ART("api", "new", "10", H2)) L(ART("api", "changed", "10", H2))
	    L(EV("api/new", "api", "DEPLOY"))
	    L(EV("api/new", "api", "UNDEPLOY")),
	    "both removes and lists api/new");
	manifest_free(v3);
	manifest_free(v2);
	manifest_free(v1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_then_add),
		cmocka_unit_test(test_apply_in_place_and_merged),
		cmocka_unit_test(test_apply_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
