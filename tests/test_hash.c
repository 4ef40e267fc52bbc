/*
 * test_hash.c - unit tests of snapshots/hash.c.
 *
 * The promise is "exactly what `xxhsum -H2` prints", so the reference is the
 * xxhsum command itself, run on the same bytes at test time, across the
 * sizes where XXH3 switches code paths (0, 1-3, 4-8, 9-16, 17-128, 129-240,
 * then blocks and stripes). Two vectors are also fixed in the source so that
 * a broken xxhsum cannot make the test agree with a broken hash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hash.h"
#include "testutil.h"

/* Checked by hand with xxhsum 0.8.1: `printf '' | xxhsum -H2`, and abc. */
#define XXH128_EMPTY	"99aa06d3014798d86001c324468d497f"
#define XXH128_ABC	"06b05ab6733a618578af5f94892f3950"

static const size_t sizes[] = {
	0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1000, 1024, 4096, 65536,
	65537, 1000003,
};

/* Deterministic, not compressible, different at every offset. */
/* What `xxhsum -H2 FILE` prints for the bytes. */
static void
xxhsum(const char *dir, const void *buf, size_t len, char out[33])
{
	char path[TU_PATH], cmd[TU_PATH + 64], line[TU_PATH + 64];
	FILE *p;
	int status;

	tu_path(path, "%s/data", dir);
	tu_write(path, buf, len);
	/* The path comes from mkdtemp: nothing in it for the shell. stderr
	 * is left out: xxhsum draws a progress line there. */
	snprintf(cmd, sizeof(cmd), "xxhsum -H2 '%s' 2>/dev/null", path);
	if ((p = popen(cmd, "r")) == NULL)
		fail_msg("popen xxhsum: %s", strerror(errno));
	if (fgets(line, sizeof(line), p) == NULL)
		line[0] = '\0';
	status = pclose(p);
	if (status != 0)
		fail_msg("xxhsum -H2 exited %d (is xxhash installed?)", status);
	/* "<32 hex>  <path>" */
	if (strlen(line) < 34 || line[32] != ' ')
		fail_msg("unexpected xxhsum output: %s", line);
	memcpy(out, line, 32);
	out[32] = '\0';
	unlink(path);
}

static void
test_known_vectors(void **state)
{
	char got[HASH_HEX_LEN + 1];

	(void)state;
	hash_buf("", 0, got);
	assert_string_equal(got, XXH128_EMPTY);
	hash_buf(NULL, 0, got);
	assert_string_equal(got, XXH128_EMPTY);
	hash_buf("abc", 3, got);
	assert_string_equal(got, XXH128_ABC);
	assert_int_equal(strlen(got), HASH_HEX_LEN);
}

static void
test_matches_xxhsum(void **state)
{
	const char *dir = *state;
	char got[HASH_HEX_LEN + 1], want[33];
	size_t i;

	xxhsum(dir, "", 0, want);
	assert_string_equal(want, XXH128_EMPTY);
	xxhsum(dir, "abc", 3, want);
	assert_string_equal(want, XXH128_ABC);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *data = (unsigned char *)tu_make_data(sizes[i]);

		hash_buf(data, sizes[i], got);
		xxhsum(dir, data, sizes[i], want);
		if (strcmp(got, want) != 0)
			fail_msg("%zu bytes: hash_buf %s, xxhsum -H2 %s",
			    sizes[i], got, want);
		free(data);
	}
}

/* Any split into pieces, empty ones included, hashes like one call. */
static void
test_streaming(void **state)
{
	char one[HASH_HEX_LEN + 1], many[HASH_HEX_LEN + 1];
	struct hash_state h;
	size_t i, off, step;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *data = (unsigned char *)tu_make_data(sizes[i]);

		hash_buf(data, sizes[i], one);
		for (step = 1; step <= 4099; step = step * 3 + 2) {
			hash_init(&h);
			hash_update(&h, data, 0);
			for (off = 0; off < sizes[i]; off += step) {
				size_t n = sizes[i] - off < step ?
				    sizes[i] - off : step;

				hash_update(&h, data + off, n);
				hash_update(&h, data + off, 0);
			}
			hash_final(&h, many);
			if (strcmp(one, many) != 0)
				fail_msg("%zu bytes in steps of %zu: %s, one-shot "
				    "%s", sizes[i], step, many, one);
		}
		free(data);
	}
	/* The state is reusable after hash_init. */
	hash_init(&h);
	hash_update(&h, "xyz", 3);
	hash_init(&h);
	hash_update(&h, "abc", 3);
	hash_final(&h, many);
	assert_string_equal(many, XXH128_ABC);
}

static void
test_hash_fd(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	const char *dir = *state;
	char path[TU_PATH], got[HASH_HEX_LEN + 1], want[HASH_HEX_LEN + 1];
	const size_t len = 300000;
	unsigned char *data = (unsigned char *)tu_make_data(len);
	uint64_t size = 0;
	int fd;

	tu_path(path, "%s/f", dir);
	tu_write(path, data, len);

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(hash_fd(fd, got, &size, &err), 0);
	hash_buf(data, len, want);
	assert_string_equal(got, want);
	assert_int_equal(size, len);
	/* From the current offset, not from the start. */
	assert_int_equal(lseek(fd, 1000, SEEK_SET), 1000);
	assert_int_equal(hash_fd(fd, got, &size, &err), 0);
	hash_buf(data + 1000, len - 1000, want);
	assert_string_equal(got, want);
	assert_int_equal(size, len - 1000);
	/* At EOF: the empty hash; a NULL size is allowed. */
	assert_int_equal(hash_fd(fd, got, NULL, &err), 0);
	assert_string_equal(got, XXH128_EMPTY);
	close(fd);

	/* An fd that cannot be read fails with a message. */
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(hash_fd(fd, got, &size, &err), -1);
	tu_assert_msg(err.msg, "read");
	close(fd);

	free(data);
}

static void
test_is_hex(void **state)
{
	static const char *const bad[] = {
		"",
		"99aa06d3014798d86001c324468d497",	/* 31 */
		"99aa06d3014798d86001c324468d497f0",	/* 33 */
		"99AA06D3014798D86001C324468D497F",	/* upper case */
		"99aa06d3014798d86001c324468d497F",
		"99aa06d3014798d86001c324468d497g",
		"99aa06d3014798d86001c324468d497 ",
		" 99aa06d3014798d86001c324468d497",
		"0x99aa06d3014798d86001c324468d49",
		"99aa06d3-014798d86001c324468d497",
	};
	size_t i;

	(void)state;
	assert_true(hash_is_hex(XXH128_EMPTY));
	assert_true(hash_is_hex("0123456789abcdef0123456789abcdef"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (hash_is_hex(bad[i]))
			fail_msg("'%s' taken for a checksum", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test_setup_teardown(test_matches_xxhsum,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test_setup_teardown(test_hash_fd, tu_setup_tmp,
		    tu_teardown_tmp),
		cmocka_unit_test(test_is_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
