/*
 * hash.h - XXH128 checksums as the rest of the world prints them.
 *
 * Hex is lower-case, high 64 bits first: exactly what `xxhsum -H2` prints, so
 * an operator can check any file by hand.
 */
#ifndef HASH_H
#define HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The streaming state lives on the caller's stack: needs its full type. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "snap_err.h"

#define HASH_HEX_LEN 32

/* Streaming state for data that arrives in pieces. */
struct hash_state {
	XXH3_state_t st;
};

void hash_init(struct hash_state *h);
void hash_update(struct hash_state *h, const void *buf, size_t len);
void hash_final(struct hash_state *h, char out[HASH_HEX_LEN + 1]);

/* Checksum of a buffer, into out as 32 hex digits and a NUL. */
void hash_buf(const void *buf, size_t len, char out[HASH_HEX_LEN + 1]);

/* Checksum of everything readable from fd (from its current offset);
 * *size gets the byte count. 0 or -1 with err. */
int hash_fd(int fd, char out[HASH_HEX_LEN + 1], uint64_t *size,
    struct snap_err *err);

/* len bytes of bin as 2 * len lower-case hex digits and a NUL into out:
 * how every digest here is printed (XXH128, BLAKE2b, key ids). */
void hash_hex(const void *bin, size_t len, char *out);

/* true when s is 32 lower-case hex digits. */
bool hash_is_hex(const char *s);

#endif
