/*
 * hash_blake2b.c - BLAKE2b-256 (libsodium's crypto_generichash) in
 * lower-case hex: the collision-resistant file hash that a signed
 * state.json records beside each XXH128 (sign.h says why; the API is
 * declared there, as sign_hash_*).
 *
 * Calling sequence: sign_hash_init(), sign_hash_update() for each piece,
 * sign_hash_final() once; or sign_hash_buf() for a whole buffer. Nothing
 * here fails: without sodium_init() libsodium uses its portable BLAKE2b,
 * which gives the same digests.
 */
#include <stdint.h>

#include "hash.h"
#include "sign.h"

/* For the hashes, a failed sodium_init() costs only speed: libsodium
 * falls back to its portable BLAKE2b, which gives the same digests. */
static void
init_for_hashing(void)
{
	if (sodium_init() < 0)
		return;
}

static crypto_generichash_state *
hstate(struct sign_hash *h)
{
	uintptr_t p = (uintptr_t)h->raw;

	return (crypto_generichash_state *)((p + 63) & ~(uintptr_t)63);
}

void
sign_hash_init(struct sign_hash *h)
{
	init_for_hashing();
	crypto_generichash_init(hstate(h), NULL, 0, crypto_generichash_BYTES);
}

void
sign_hash_update(struct sign_hash *h, const void *buf, size_t len)
{
	crypto_generichash_update(hstate(h), buf, len);
}

void
sign_hash_final(struct sign_hash *h, char out[STATE_B2_HEX_LEN + 1])
{
	unsigned char d[crypto_generichash_BYTES];

	crypto_generichash_final(hstate(h), d, sizeof(d));
	hash_hex(d, sizeof(d), out);
}

void
sign_hash_buf(const void *buf, size_t len, char out[STATE_B2_HEX_LEN + 1])
{
	unsigned char d[crypto_generichash_BYTES];

	init_for_hashing();
	crypto_generichash(d, sizeof(d), buf, len, NULL, 0);
	hash_hex(d, sizeof(d), out);
}

