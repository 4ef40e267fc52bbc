/*
 * fuzz_redis.c - libFuzzer target for what a Redis sync root parses from
 * outside: the redis:// URL (redis_url_parse(), from a config file or a
 * flag) and a Sentinel's answer to SENTINEL get-master-addr-by-name
 * (redis_sentinel_addr(), from the network, through hiredis's reader).
 *
 * Input: byte 0 even - the rest is a URL; odd - the rest is RESP bytes
 * fed to a hiredis reader, each reply it yields given to the Sentinel
 * parser.
 *
 * Beyond memory safety, checks what the connection code relies on: an
 * accepted URL has a host of allowed bytes, a port 1..65535, a DB 0..15
 * and a prefix of the id alphabet (no glob byte: it goes into a SCAN
 * pattern); a refusal has a clean message that never holds the
 * password; an accepted Sentinel address is a NUL-terminated host of
 * [A-Za-z0-9.-_:] and a port in range.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "fuzz.h"
#include "redis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_url(const char *s)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct redis_url u;
	const char *p;

	if (redis_url_parse(s, &u, &err) == -1) {
		fuzz_check_msg(err.msg);
		return;
	}
	if (u.host[0] == '\0' || u.port < 1 || u.port > 65535 || u.db > 15 ||
	    u.prefix[0] == '\0')
		abort();
	for (p = u.prefix; *p != '\0'; p++)
		if (strchr("*?[]\\: ", *p) != NULL)
			abort();
	for (p = u.host; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || strchr("/@?#", *p) != NULL)
			abort();
}

static void
check_sentinel(const uint8_t *data, size_t size)
{
	redisReader *r = redisReaderCreate();
	void *reply = NULL;
	char host[REDIS_HOST_MAX];
	unsigned port;
	int n = 0;

	if (r == NULL)
		abort();
	if (redisReaderFeed(r, (const char *)data, size) != REDIS_OK)
		goto out;
	while (n++ < 64 && redisReaderGetReply(r, &reply) == REDIS_OK &&
	    reply != NULL) {
		if (redis_sentinel_addr(reply, host, sizeof(host), &port) == 0) {
			if (host[0] == '\0' || strlen(host) >= sizeof(host) ||
			    port < 1 || port > 65535)
				abort();
			if (strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM"
			    "NOPQRSTUVWXYZ0123456789.-_:") != strlen(host))
				abort();
		}
		freeReplyObject(reply);
		reply = NULL;
	}
out:
	redisReaderFree(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		if ((s = malloc(size)) == NULL)
			abort();
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
		check_url(s);
		free(s);
	} else
		check_sentinel(data + 1, size - 1);
	return 0;
}
