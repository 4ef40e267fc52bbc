/*
 * test_hash_blake2b.c - snapshots/hash_blake2b.c: BLAKE2b-256 as b2sum
 * prints it, the same streamed in odd pieces from a state at an odd
 * address as in one call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sign.h"
#include "testutil.h"

static void
test_blake2b_vectors(void **state)
{
	/* RFC 7693's "abc", at 256 bits (as `b2sum -l 256` prints it). */
	static const char abc[] =
	    "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319";
	char one[STATE_B2_HEX_LEN + 1], streamed[STATE_B2_HEX_LEN + 1];
	char *data = tu_make_data(100000);
	struct sign_hash *h;
	unsigned char *raw;
	size_t i;

	(void)state;
	sign_hash_buf("abc", 3, one);
	assert_string_equal(one, abc);
	/* Streamed in odd pieces, from a state at an odd address. */
	raw = malloc(sizeof(*h) + 1);
	assert_non_null(raw);
	h = (struct sign_hash *)(raw + 1);
	sign_hash_init(h);
	for (i = 0; i < 100000; i += 777)
		sign_hash_update(h, data + i, i + 777 > 100000 ? 100000 - i : 777);
	sign_hash_final(h, streamed);
	sign_hash_buf(data, 100000, one);
	assert_string_equal(streamed, one);
	free(raw);
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blake2b_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
