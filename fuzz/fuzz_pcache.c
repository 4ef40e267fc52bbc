/*
 * fuzz_pcache.c - libFuzzer target for pcache_decode(), the reader of the
 * publish cache (<sync root>/.publish.cache, pcache.h): a file any writer
 * of the sync root can replace.
 *
 * The input is the cache without its checksum; the target appends the
 * right one, so that the fuzzer reaches the parser behind it (a random
 * checksum would stop every input at the first check). What the reader
 * accepts must be what a publish could have written: it must encode back
 * to the very same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hash.h"
#include "pcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned
hexval(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct pcache c = PCACHE_INIT;
	char hex[HASH_HEX_LEN + 1], *buf, *again = NULL;
	size_t len, i;

	if ((buf = malloc(size + PCACHE_MAC_BYTES)) == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	hash_buf(buf, size, hex);
	for (i = 0; i < PCACHE_MAC_BYTES; i++)
		buf[size + i] = (char)(16 * hexval(hex[2 * i]) +
		    hexval(hex[2 * i + 1]));
	if (pcache_decode(buf, size + PCACHE_MAC_BYTES, NULL, &c, &err) == -1) {
		fuzz_check_msg(err.msg);
		free(buf);
		return 0;
	}
	if (pcache_encode(&c, NULL, &again, &len, &err) == -1 ||
	    len != size + PCACHE_MAC_BYTES || memcmp(again, buf, len) != 0) {
		fprintf(stderr, "round trip: accepted bytes encode otherwise\n");
		abort();
	}
	free(again);
	pcache_release(&c);
	free(buf);
	return 0;
}
