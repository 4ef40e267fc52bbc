/*
 * test_manifest_write.c - snapshots/manifest_write.c: what
 * manifest_to_json() and manifest_write() print reads back as the same
 * manifest, big ones included, line by line as the format says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "manifest.h"
#include "testutil.h"
#include "manifesttest.h"

/* The number of '\n' in s. */
static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_json_round_trip(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = new_sorted(), *prev = new_sorted(), *r;
	char *json = NULL;
	size_t len;

	(void)state;
	add(prev, API, "old", NULL, 1, H1, 1000);
	add(prev, SEQ, "main", NULL, 2, H2, 1000);
	assert_int_equal(manifest_sort(prev, &err), 0);
	add(m, SEQ, "main", NULL, 2, H2, 0);
	add(m, API, "HelloWorld", "blue,green", 443, H3, 0);
	add(m, TASK, "t.1_x-y", NULL, 0, H1, 0);
	assert_int_equal(manifest_sort(m, &err), 0);
	assert_int_equal(manifest_diff(prev, m, 1795549200), 0);
	m->version = 42;
	m->parent_version = 41;
	m->published_at = 1795549200;

	assert_int_equal(manifest_to_json(m, &json, &len, &err), 0);
	assert_int_equal(len, strlen(json));
	/* Format 2: the header line, three artifact lines, three events. */
	assert_int_equal(strncmp(json, L(HEAD("42", "41", "3", "3")),
	    strlen(L(HEAD("42", "41", "3", "3")))), 0);
	assert_int_equal(count_lines(json), 7);
	assert_int_equal(json[len - 1], '\n');
	assert_non_null(strstr(json, "\n" L(ART("tasks", "t.1_x-y", "0", H1)
	    ) "{\"id\":"));
	assert_non_null(strstr(json, "\"artifact_count\":3"));
	assert_non_null(strstr(json, "\"labels\":[\"blue\",\"green\"]"));
	assert_non_null(strstr(json, "\"id\":\"api/old\""));
	assert_non_null(strstr(json, "\"action\":\"UNDEPLOY\""));
	assert_non_null(strstr(json, "\"published_at\":\"2026-11-24T19:40:00Z\""));

	r = manifest_from_json(json, len, &err);
	if (r == NULL)
		fail_msg("%s: %s", err.msg, json);
	assert_true(manifest_same_content(m, r));
	assert_int_equal(r->version, 42);
	assert_int_equal(r->parent_version, 41);
	assert_int_equal(r->published_at, 1795549200);
	assert_int_equal(r->n, 3);
	assert_int_equal(r->nev, 3);
	assert_manifests_equal(m, r);	/* every field, entries and events */
	assert_int_equal(manifest_find(r, SEQ, "main")->updated_at, 1000);
	/* Writing the parsed manifest gives the same bytes. */
	{
		char *again = NULL;
		size_t alen;

		assert_int_equal(manifest_to_json(r, &again, &alen, &err), 0);
		assert_int_equal(alen, len);
		assert_string_equal(again, json);
		free(again);
	}
	free(json);
	manifest_free(r);
	manifest_free(m);
	manifest_free(prev);
}

/* Writes m to a file with manifest_write(), checks the bytes and the
 * record it fills (size, XXH128, BLAKE2b) against manifest_to_json(), and
 * reads it back with manifest_read() and manifest_read_checked(). */
static void
assert_write_read(const char *dir, const struct manifest *m)
{
	struct snap_err err = SNAP_ERR_INIT;
	char want[STATE_B2_HEX_LEN + 1], path[TU_PATH];
	char *json = NULL, *got;
	struct state_file f;
	struct manifest *r;
	size_t len, glen;
	int fd = open_tmp(dir, "m.json");

	memset(&f, 0, sizeof(f));
	strcpy(f.name, "untouched");
	if (manifest_write(m, fd, &f, &err) != 0)
		fail_msg("manifest_write: %s", err.msg);
	assert_string_equal(f.name, "untouched");
	assert_int_equal(manifest_to_json(m, &json, &len, &err), 0);
	assert_int_equal(f.size, len);
	hash_buf(json, len, want);
	assert_string_equal(f.xxh128, want);
	sign_hash_buf(json, len, want);
	assert_string_equal(f.blake2b, want);
	tu_path(path, "%s/m.json", dir);
	got = tu_slurp(path, &glen);
	assert_int_equal(glen, len);
	assert_memory_equal(got, json, len);
	free(got);
	free(json);

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	if ((r = manifest_read(fd, f.size, &err)) == NULL)
		fail_msg("manifest_read: %s", err.msg);
	assert_manifests_equal(r, m);
	manifest_free(r);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	if ((r = manifest_read_checked(fd, &f, 0, &err)) == NULL)
		fail_msg("manifest_read_checked: %s", err.msg);
	assert_manifests_equal(r, m);
	manifest_free(r);
	/* One byte over the bound it is given: refused. */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_null(manifest_read(fd, f.size - 1, &err));
	tu_assert_msg(err.msg, "manifest: over ");
	close(fd);
}

static void
test_write_read(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct state_file f;
	struct manifest *m;
	int fd;

	/* Small, then many 64 KiB reads' worth (about 2 MB). */
	m = big_manifest(3);
	assert_write_read(*state, m);
	manifest_free(m);
	m = big_manifest(6000);
	assert_write_read(*state, m);
	/* Without a record to fill. */
	fd = open_tmp(*state, "n.json");
	assert_int_equal(manifest_write(m, fd, NULL, &err), 0);
	close(fd);
	/* A delta, and an empty manifest. */
	m->kind = MANIFEST_DELTA;
	assert_write_read(*state, m);
	manifest_free(m);
	m = new_sorted();
	m->version = 1;
	assert_write_read(*state, m);

	/* A write that fails says so. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(manifest_write(m, fd, &f, &err), -1);
	tu_assert_msg(err.msg, "manifest: write");
	close(fd);
	manifest_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test_setup_teardown(test_write_read, tu_setup_tmp,
		    tu_teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
