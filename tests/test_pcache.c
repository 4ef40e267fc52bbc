/*
 * test_pcache.c - the publish cache (snapshots/pcache.c) and the one-shot
 * publish on it (snap_cached.c): bytes that round-trip, every cut and
 * every flipped byte refused, a MAC key that must match, the racily clean
 * rule, and a file changed between the scan and its read - the version
 * holds the bytes read, and the cache keeps no stat that would hide them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pcache.h"
#include "snap.h"
#include "testutil.h"
#include "snaptest.h"

/* A cache of three artifacts, one with an identity of its own. */
static void
make_cache(struct pcache *c, struct pcache_stat st[3])
{
	static char source[] = "/srv/synapse";

	*c = (struct pcache)PCACHE_INIT;
	c->m = manifest_new();
	assert_non_null(c->m);
	assert_int_equal(manifest_add(c->m, 0, "a", "default", 10,
	    "0123456789abcdef0123456789abcdef", 1700000000), 0);
	assert_int_equal(manifest_add(c->m, 0, "b", "eu,us", 20,
	    "fedcba9876543210fedcba9876543210", 1700000001), 0);
	assert_int_equal(manifest_add(c->m, 1, "main", "default", 30,
	    "00000000000000000000000000000000", 1700000002), 0);
	assert_int_equal(manifest_entry_set_identity(&c->m->entries[1],
	    "api:b-ctx"), 0);
	c->m->folders = 3;
	c->m->has_folders = true;
	c->m->has_identities = true;
	memset(st, 0, 3 * sizeof(*st));
	st[0] = (struct pcache_stat){ 10, 5, 6, 7, 8 };
	st[2] = (struct pcache_stat){ 30, 9, 10, 11, 12 };
	c->st = st;
	c->source = source;
	c->version = 42;
	c->chain = 3;
	c->src_dev = 1;
	c->src_ino = 2;
	c->root_dev = 3;
	c->root_ino = 4;
	c->scan_ns = 123456789;
	c->labels = (struct pcache_stat){ .size = UINT64_MAX };
}

static void
encode(struct pcache *c, const unsigned char *key, char **buf, size_t *len)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (pcache_encode(c, key, buf, len, &err) != 0)
		fail_msg("pcache_encode: %s", err.msg);
}

static void
test_round_trip(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct pcache c, d = PCACHE_INIT;
	struct pcache_stat st[3];
	char *buf;
	size_t len;

	(void)state;
	make_cache(&c, st);
	encode(&c, NULL, &buf, &len);
	if (pcache_decode(buf, len, NULL, &d, &err) != 0)
		fail_msg("pcache_decode: %s", err.msg);
	assert_string_equal(d.source, "/srv/synapse");
	assert_int_equal(d.version, 42);
	assert_int_equal(d.chain, 3);
	assert_int_equal(d.scan_ns, 123456789);
	assert_int_equal(d.src_ino, 2);
	assert_int_equal(d.root_ino, 4);
	assert_memory_equal(&d.labels, &c.labels, sizeof(c.labels));
	assert_memory_equal(d.st, st, sizeof(st));
	assert_true(d.m->has_identities && d.m->has_folders);
	assert_int_equal(d.m->folders, 3);
	assert_same_entries(c.m, d.m);
	assert_string_equal(manifest_identity(&d.m->entries[1]), "api:b-ctx");
	assert_null(d.m->entries[0].identity);
	assert_int_equal(d.m->entries[2].updated_at, 1700000002);
	pcache_release(&d);
	free(buf);
	manifest_free(c.m);
}

/* Every cut, and every byte flipped, is refused with a message. */
static void
test_damage_refused(void **state)
{
	struct snap_err err;
	struct pcache c, d = PCACHE_INIT;
	struct pcache_stat st[3];
	char *buf;
	size_t len, i;

	(void)state;
	make_cache(&c, st);
	encode(&c, NULL, &buf, &len);
	for (i = 0; i < len; i++) {
		err = (struct snap_err)SNAP_ERR_INIT;
		assert_int_equal(pcache_decode(buf, i, NULL, &d, &err), -1);
		assert_true(err.msg[0] != '\0');
		assert_null(d.m);
	}
	for (i = 0; i < len; i++) {
		buf[i] ^= 0x20;
		assert_int_equal(pcache_decode(buf, len, NULL, &d, &err), -1);
		buf[i] ^= 0x20;
	}
	free(buf);
	manifest_free(c.m);
}

/* A signer's cache is a MAC: without the key, or with another, refused. */
static void
test_mac_key(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	unsigned char sk[64], k1[PCACHE_KEY_BYTES], k2[PCACHE_KEY_BYTES];
	struct pcache c, d = PCACHE_INIT;
	struct pcache_stat st[3];
	char *buf;
	size_t len;

	(void)state;
	memset(sk, 7, sizeof(sk));
	pcache_mac_key(sk, sizeof(sk), k1);
	sk[0] = 8;
	pcache_mac_key(sk, sizeof(sk), k2);
	make_cache(&c, st);
	encode(&c, k1, &buf, &len);
	assert_int_equal(pcache_decode(buf, len, NULL, &d, &err), -1);
	assert_int_equal(pcache_decode(buf, len, k2, &d, &err), -1);
	assert_int_equal(pcache_decode(buf, len, k1, &d, &err), 0);
	pcache_release(&d);
	free(buf);
	manifest_free(c.m);
}

/* A file modified within PCACHE_RACY_NS of the scan keeps no stat, so the
 * same stat later (a write in the same tick) still reads it again. */
static void
test_racily_clean(void **state)
{
	int64_t scan = 1000LL * 1000000000LL;
	struct pcache_stat now = { 10, scan - 1, scan - 1, 5, 6 }, had;

	(void)state;
	had = now;
	assert_true(pcache_is_clean(&had, &now));
	pcache_stat_settle(&had, scan);
	assert_false(pcache_is_clean(&had, &now));

	had = now;
	had.mtime_ns = had.ctime_ns = scan - PCACHE_RACY_NS - 1;
	now = had;
	pcache_stat_settle(&had, scan);
	assert_true(pcache_is_clean(&had, &now));
	now.ctime_ns++;
	assert_false(pcache_is_clean(&had, &now));
	now = had;
	now.ino++;
	assert_false(pcache_is_clean(&had, &now));
}

struct midway {
	const struct env *e;
};

/* Rewrites HELLO after the scan stat'ed it, before it is read. */
static void
write_midway(void *arg)
{
	struct midway *mw = arg;

	change_hello(mw->e, "written between the scan and the read");
}

/* A cached publish: version want, no warning; *use (may be NULL) says
 * what it read; the result is returned. */
static enum snap_publish_result
publish_cached_use(const struct env *e, struct snap_publish_opts *o,
    uint64_t want, struct snap_cache_use *use)
{
	struct snap_err err = SNAP_ERR_INIT, warn = SNAP_ERR_INIT;
	enum snap_publish_result res;
	uint64_t ver;

	if (snap_publish_cached(e->src, e->root, o, &res, &ver, use, &warn,
	    &err) != 0)
		fail_msg("snap_publish_cached: %s", err.msg);
	if (res != SNAP_REPAIRED)
		assert_string_equal(warn.msg, "");
	assert_int_equal(ver, want);
	return res;
}

static void
publish_cached(const struct env *e, struct snap_publish_opts *o,
    uint64_t want)
{
	(void)publish_cached_use(e, o, want, NULL);
}

/* Every file of the source modified an hour ago: none racily clean. */
static void
age_sources(const struct env *e)
{
	char cmd[TU_PATH * 2];

	snprintf(cmd, sizeof(cmd), "find '%s' -type f -exec touch -d "
	    "'1 hour ago' {} +", e->src);
	assert_int_equal(system(cmd), 0);
}

/* HELLO's entry in version `version` is the XXH128 of its bytes now. */
static void
assert_hello_current(const struct env *e, uint64_t version)
{
	struct snap_version v = SNAP_VERSION_INIT;
	char p[TU_PATH], sum[HASH_HEX_LEN + 1];
	const struct manifest_entry *me;
	char *buf;
	size_t len;

	in_src(e, HELLO, p);
	buf = tu_slurp(p, &len);
	hash_buf(buf, len, sum);
	free(buf);
	open_version(e, version, &v);
	me = manifest_find(v.m, name_type_index("api"), "HelloWorld");
	assert_non_null(me);
	assert_string_equal(me->xxh128, sum);
	snap_close(&v);
}

/* HELLO changed, so in the list the scan hands over; rewritten again
 * between the scan and its read: the version holds the bytes read, and
 * the cache keeps the scan's stat, older than them, so the next publish
 * reads HELLO again rather than trusting a hash of other bytes. (A file
 * changed after the scan and not in the list is left to the next
 * publish, which sees its new stat.) */
static void
test_changed_during_scan(void **state)
{
	struct snap_publish_opts o = chain_opts();	/* deltas */
	struct snap_cache_use use;
	struct midway mw;
	struct env e;

	env_init(*state, &e);
	publish_cached(&e, &o, 1);
	change_hello(&e, "before the publish");
	mw.e = &e;
	o.scanned = write_midway;
	o.scanned_arg = &mw;
	publish_cached(&e, &o, 2);
	assert_hello_current(&e, 2);
	o.scanned = NULL;
	assert_int_equal(publish_cached_use(&e, &o, 2, &use), SNAP_UNCHANGED);
	assert_true(use.read >= 1);
	change_hello(&e, "a later change");
	publish_cached(&e, &o, 3);
	assert_hello_current(&e, 3);
}

/* With the cache, an unchanged tree is not read, and one change is read
 * alone. (ctime cannot be set back: the files' inode changes are a
 * second old at least, past the racy window, only after a wait.) */
static void
test_reads_only_changes(void **state)
{
	struct snap_publish_opts o = chain_opts();	/* deltas */
	struct snap_cache_use use;
	struct env e;

	env_init(*state, &e);
	age_sources(&e);
	publish_cached_use(&e, &o, 1, &use);
	assert_int_equal(use.read, e.nfix);
	sleep(3);	/* past PCACHE_RACY_NS since the copies' ctime */
	publish_cached_use(&e, &o, 1, &use);	/* cache made anew, clean */
	assert_int_equal(publish_cached_use(&e, &o, 1, &use), SNAP_UNCHANGED);
	assert_int_equal(use.read, 0);
	assert_int_equal(use.total, e.nfix);
	change_hello(&e, "one change");
	publish_cached_use(&e, &o, 2, &use);
	assert_int_equal(use.read, 1);
	assert_hello_current(&e, 2);
}

/* A damaged base version is seen even though the cache spares reading
 * it: the publish falls back to a full one, which repairs it. */
static void
test_damaged_base_repaired(void **state)
{
	struct snap_publish_opts o = opts;
	struct snap_cache_use use;
	char p[TU_PATH];
	struct env e;

	env_init(*state, &e);
	o.xc = xc;
	publish_cached(&e, &o, 1);
	in_root(&e, "snapshots/1.manifest.json", p);
	flip_byte(p, 40);
	assert_int_equal(publish_cached_use(&e, &o, 2, &use), SNAP_REPAIRED);
	assert_int_equal(use.read, e.nfix);
	verify_ok(&e, 0, 2);
}

/* The chain files a one-shot publish found intact are in the cache it
 * writes (they are stat'ed, not read, next time); but one damaged since
 * has a new ctime and is read, and the damage seen and repaired. */
static void
test_seen_base_damaged(void **state)
{
	struct snap_publish_opts o = chain_opts();	/* deltas */
	struct snap_err err = SNAP_ERR_INIT;
	struct pcache c = PCACHE_INIT;
	char p[TU_PATH];
	struct env e;
	size_t len, i, nbase = 0;
	char *buf;

	env_init(*state, &e);
	publish_cached(&e, &o, 1);
	sleep(3);	/* past PCACHE_RACY_NS since the base's ctime */
	change_hello(&e, "one change");
	publish_cached(&e, &o, 2);	/* reads the base: intact */
	in_root(&e, ".publish.cache", p);
	buf = tu_slurp(p, &len);
	if (pcache_decode(buf, len, NULL, &c, &err) != 0)
		fail_msg("pcache_decode: %s", err.msg);
	for (i = 0; i < c.nseen; i++)
		nbase += strncmp(c.seen[i].name, "snapshots/1.", 12) == 0;
	assert_int_equal(nbase, 2);	/* manifest and archive */
	pcache_release(&c);
	free(buf);
	in_root(&e, "snapshots/1.manifest.json", p);
	flip_byte(p, 40);
	change_hello(&e, "another change");
	assert_int_equal(publish_cached_use(&e, &o, 3, NULL), SNAP_REPAIRED);
	verify_ok(&e, 0, 3);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damage_refused),
		cmocka_unit_test(test_mac_key),
		cmocka_unit_test(test_racily_clean),
		TMP_TEST(test_changed_during_scan),
		TMP_TEST(test_reads_only_changes),
		TMP_TEST(test_damaged_base_repaired),
		TMP_TEST(test_seen_base_damaged),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
