/*
 * hash.c - XXH128 in xxhsum's canonical hex (see hash.h). Its BLAKE2b
 * counterpart, for signed states, is hash_blake2b.c.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"

void
hash_hex(const void *bin, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = bin;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * len] = '\0';
}

static void
to_hex(XXH128_hash_t h, char out[HASH_HEX_LEN + 1])
{
	XXH128_canonical_t c;

	/* The canonical form is big-endian: the byte order xxhsum prints. */
	XXH128_canonicalFromHash(&c, h);
	hash_hex(c.digest, sizeof(c.digest), out);
}

void
hash_init(struct hash_state *h)
{
	XXH3_128bits_reset(&h->st);
}

void
hash_update(struct hash_state *h, const void *buf, size_t len)
{
	XXH3_128bits_update(&h->st, buf, len);
}

void
hash_final(struct hash_state *h, char out[HASH_HEX_LEN + 1])
{
	to_hex(XXH3_128bits_digest(&h->st), out);
}

void
hash_buf(const void *buf, size_t len, char out[HASH_HEX_LEN + 1])
{
	to_hex(XXH3_128bits(buf, len), out);
}

int
hash_fd(int fd, char out[HASH_HEX_LEN + 1], uint64_t *size,
    struct snap_err *err)
{
	struct hash_state h;
	char buf[1 << 16];
	uint64_t total = 0;
	ssize_t n;

	hash_init(&h);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return snap_err_sys(err, errno, "read");
		}
		if (n == 0)
			break;
		hash_update(&h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	hash_final(&h, out);
	if (size != NULL)
		*size = total;
	return 0;
}

bool
hash_is_hex(const char *s)
{
	/* One load and test a digit (every checksum of every manifest and
	 * publish cache read passes here); stops at the first other byte,
	 * a NUL included: s may be short. */
	static const bool hex[256] = {
		['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
		['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
		['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1,
		['f'] = 1,
	};
	size_t i;

	for (i = 0; i < HASH_HEX_LEN; i++)
		if (!hex[(unsigned char)s[i]])
			return false;
	return s[HASH_HEX_LEN] == '\0';
}
