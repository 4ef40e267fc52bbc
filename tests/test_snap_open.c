/*
 * test_snap_open.c - versions opened and verified for readers
 * (snapshots/snap_open.c): damage snap_verify must see, state.json that
 * must equal its copy, what a reader on the chain reads (snap_open_since),
 * and every file of a delta's chain verified.
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

static void
test_verify_damage(void **state)
{
	struct env e;
	char p[TU_PATH], *orig;
	struct stat st;
	size_t len;

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);

	/* A bit flip in the archive. */
	in_root(&e, "snapshots/1.tar.zst", p);
	assert_int_equal(stat(p, &st), 0);
	flip_byte(p, st.st_size / 2);
	verify_fails(&e, 0, "checksum mismatch");
	verify_fails(&e, 1, "snapshots/1.tar.zst");
	flip_byte(p, st.st_size / 2);
	verify_ok(&e, 0, 1);

	/* The archive is gone. */
	orig = tu_slurp(p, &len);
	assert_int_equal(unlink(p), 0);
	verify_fails(&e, 0, "snapshots/1.tar.zst: No such file");
	/* ... or is a symlink to a good copy: not followed. */
	{
		char copy[TU_PATH];

		tu_path(copy, "%s/copy.tar.zst", e.dir);
		tu_write(copy, orig, len);
		assert_int_equal(symlink(copy, p), 0);
		verify_fails(&e, 0, "snapshots/1.tar.zst");
		assert_int_equal(unlink(p), 0);
	}
	tu_write(p, orig, len);
	free(orig);
	verify_ok(&e, 0, 1);

	/* The manifest, truncated, then changed in place. */
	in_root(&e, "snapshots/1.manifest.json", p);
	orig = tu_slurp(p, &len);
	assert_int_equal(truncate(p, (off_t)len - 10), 0);
	verify_fails(&e, 0, "snapshots/1.manifest.json");
	verify_fails(&e, 0, "truncated");
	tu_write(p, orig, len);
	flip_byte(p, (off_t)len / 2);
	verify_fails(&e, 0, "snapshots/1.manifest.json: checksum mismatch");
	tu_write(p, orig, len);
	assert_int_equal(unlink(p), 0);
	verify_fails(&e, 0, "snapshots/1.manifest.json");
	tu_write(p, orig, len);
	free(orig);
	verify_ok(&e, 0, 1);
}

static void
test_open_since(void **state)
{
	struct snap_publish_opts o = chain_opts();
	struct snap_version have = SNAP_VERSION_INIT, v = SNAP_VERSION_INIT;
	struct snap_version all = SNAP_VERSION_INIT;
	struct snap_err err = SNAP_ERR_INIT;
	struct env e;
	uint64_t h, to;
	size_t i;

	env_init(*state, &e);
	publish_chain(&e, &o);
	/* From each version of the chain to each later one: only the
	 * deltas past it, and the same result as reading everything. */
	for (h = 1; h <= 4; h++) {
		open_version(&e, h, &have);
		for (to = h + 1; to <= 5; to++) {
			open_since(&e, to, have.m, &v);
			open_version(&e, to, &all);
			assert_true(v.from_delta);
			assert_int_equal(v.nlayers, to - h);
			for (i = 0; i < v.nlayers; i++) {
				assert_int_equal(v.layers[i].m->kind,
				    MANIFEST_DELTA);
				assert_int_equal(v.layers[i].m->version,
				    h + 1 + i);
			}
			assert_int_equal(v.m->version, to);
			assert_int_equal(v.m->parent_version, to - 1);
			assert_same_entries(v.m, all.m);
			for (i = 0; i < v.m->n; i++)
				assert_int_equal(v.m->entries[i].updated_at,
				    all.m->entries[i].updated_at);
			assert_int_equal(v.m->nev, all.m->nev);
			if (snap_verify_layers(&v, &err) != 0)
				fail_msg("%llu to %llu: %s",
				    (unsigned long long)h,
				    (unsigned long long)to, err.msg);
			snap_close(&all);
			snap_close(&v);
			/* have.m, moved to `to` in place, is back at h. */
			open_version(&e, h, &all);
			assert_int_equal(have.m->version, h);
			assert_int_equal(have.m->parent_version,
			    all.m->parent_version);
			assert_same_entries(have.m, all.m);
			assert_int_equal(have.m->total_bytes,
			    all.m->total_bytes);
			snap_close(&all);
		}
		snap_close(&have);
	}
	/* Nothing held, the version itself, or a version off the chain:
	 * the whole chain. */
	open_since(&e, 5, NULL, &v);
	assert_false(v.from_delta);
	assert_int_equal(v.nlayers, 5);
	snap_close(&v);
	open_version(&e, 5, &have);
	open_since(&e, 5, have.m, &v);
	assert_false(v.from_delta);
	assert_int_equal(v.nlayers, 5);
	snap_close(&v);
	open_since(&e, 3, have.m, &v);	/* a reader ahead of the version */
	assert_false(v.from_delta);
	assert_int_equal(v.nlayers, 3);
	assert_int_equal(v.m->version, 3);
	snap_close(&v);
	have.m->version = 99;
	open_since(&e, 5, have.m, &v);
	assert_false(v.from_delta);
	assert_int_equal(v.nlayers, 5);
	snap_close(&v);
	snap_close(&have);
	/* A new base: a reader of the old chain reads it in full. */
	open_version(&e, 4, &have);
	change_hello(&e, "v6");
	o.max_chain = 0;
	publish_o(&e, &o, SNAP_PUBLISHED, 6);
	open_since(&e, 6, have.m, &v);
	assert_false(v.from_delta);
	assert_int_equal(v.nlayers, 1);
	assert_int_equal(v.layers[0].m->kind, MANIFEST_FULL);
	snap_close(&v);
	snap_close(&have);
}

/* Rewrites snapshots/<version>.state.json and state.json (when it names
 * that version) so that delta `which`'s archive record (size, XXH128 and
 * BLAKE2b) matches the file on disk now: a state that lies consistently. */
static void
restate_delta_archive(const struct env *e, uint64_t version, size_t which)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state *st = malloc(sizeof(*st));
	char name[96], p[TU_PATH], *buf;
	struct state_file *f;
	size_t len;
	int fd;

	assert_non_null(st);
	state_copy_name(version, name, sizeof(name));
	read_state(e, name, st);
	f = &st->deltas[which].archive;
	in_root(e, f->name, p);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(hash_fd(fd, f->xxh128, &f->size, &err), 0);
	close(fd);
	buf = tu_slurp(p, &len);
	sign_hash_buf(buf, len, f->blake2b);
	free(buf);
	assert_int_equal(state_to_json(st, &buf, &len, &err), 0);
	in_root(e, name, p);
	tu_write(p, buf, len);
	in_root(e, STATE_FILE, p);
	tu_write(p, buf, len);
	free(buf);
	free(st);
}

static void
test_verify_delta(void **state)
{
	struct snap_publish_opts o = chain_opts();
	char p[TU_PATH], q[TU_PATH], *orig, *other;
	struct stat sb;
	struct env e;
	size_t len, olen;
	uint64_t i;

	env_init(*state, &e);
	publish_chain(&e, &o);
	for (i = 1; i <= 5; i++)
		verify_ok(&e, i, i);
	verify_ok(&e, 0, 5);

	/* A byte of a delta archive: that version and every later one. */
	in_root(&e, "snapshots/3.delta.tar.zst", p);
	assert_int_equal(stat(p, &sb), 0);
	flip_byte(p, sb.st_size / 2);
	verify_ok(&e, 2, 2);
	verify_fails(&e, 3, "snapshots/3.delta.tar.zst: archive checksum "
	    "mismatch");
	verify_fails(&e, 5, "snapshots/3.delta.tar.zst");
	verify_fails(&e, 0, "snapshots/3.delta.tar.zst");
	flip_byte(p, sb.st_size / 2);
	verify_ok(&e, 5, 5);

	/* A byte of a delta manifest; a truncated one; none at all. */
	in_root(&e, "snapshots/4.delta.json", p);
	orig = tu_slurp(p, &len);
	flip_byte(p, (off_t)len / 2);
	verify_ok(&e, 3, 3);
	verify_fails(&e, 4, "snapshots/4.delta.json: checksum mismatch");
	verify_fails(&e, 5, "snapshots/4.delta.json: checksum mismatch");
	tu_write(p, orig, len - 1);
	verify_fails(&e, 4, "truncated");
	assert_int_equal(unlink(p), 0);
	verify_fails(&e, 5, "snapshots/4.delta.json");
	tu_write(p, orig, len);
	free(orig);
	verify_ok(&e, 5, 5);

	/* The base under a chain. */
	in_root(&e, "snapshots/1.tar.zst", p);
	flip_byte(p, 100);
	verify_fails(&e, 5, "snapshots/1.tar.zst: archive checksum mismatch");
	flip_byte(p, 100);

	/* Another delta's archive (4's NewTask in place of 5's HelloWorld),
	 * with a state that vouches for its bytes: every entry is still
	 * checked against the delta's own manifest. (2's archive would pass:
	 * 5 only relabelled HelloWorld, whose bytes are 2's.) */
	in_root(&e, "snapshots/4.delta.tar.zst", p);
	in_root(&e, "snapshots/5.delta.tar.zst", q);
	orig = tu_slurp(q, &len);
	other = tu_slurp(p, &olen);
	tu_write(q, other, olen);
	restate_delta_archive(&e, 5, 3);
	verify_fails(&e, 5, "snapshots/5.delta.tar.zst: entry "
	    "'tasks/NewTask.xml' is not in the");
	verify_ok(&e, 4, 4);
	free(other);
	free(orig);
}

/*
 * state.json has no checksum of its own; it must be byte for byte the copy
 * its version was published with. A hand edit that keeps it valid JSON
 * (another node_id) is refused like damage, and repaired by a publish.
 */
static void
test_state_must_equal_its_copy(void **state)
{
	struct env e;
	char p[TU_PATH], q[TU_PATH], *buf, *at;
	size_t len;

	env_init(*state, &e);
	publish_ok(&e, SNAP_PUBLISHED, 1);
	in_root(&e, "state.json", p);
	buf = tu_slurp(p, &len);
	at = strstr(buf, "\"node_1\"");
	assert_non_null(at);
	at[6] = '2';		/* "node_2": as valid as before */
	tu_write(p, buf, len);
	free(buf);
	verify_fails(&e, 0, "state.json differs from its copy "
	    "snapshots/1.state.json");
	verify_ok(&e, 1, 1);	/* the version itself is intact */

	/* Without its copy, state.json alone is not trusted either. */
	in_root(&e, "snapshots/1.state.json", q);
	tu_copy_file(q, p);
	verify_ok(&e, 0, 1);
	assert_int_equal(unlink(q), 0);
	verify_fails(&e, 0, "snapshots/1.state.json: No such file");

	change_hello(&e, "repaired");
	assert_repaired(&e, 2, "snapshots/1.state.json: No such file");
	verify_ok(&e, 0, 2);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_verify_damage),
		TMP_TEST(test_open_since),
		TMP_TEST(test_verify_delta),
		TMP_TEST(test_state_must_equal_its_copy),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
