/*
 * fuzz_etcd.c - libFuzzer target for the readers of etcd's JSON gateway
 * answers (agent/etcd.h: a txn, a range, a lease grant or keepalive), over
 * the same bytes: what a server, or whatever answers on its address,
 * sends a primary with ha = etcd.
 *
 * Whatever is accepted must be within range: revisions, IDs and TTLs not
 * negative, a value NUL-terminated text within ETCD_VALUE_MAX.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	char value[ETCD_VALUE_MAX];
	int64_t rev, kv_rev, id, ttl;
	int ok;

	if (etcd_parse_txn((const char *)data, size, &ok, &rev, &kv_rev, value,
	    &err) == 0) {
		if (rev < 0 || kv_rev < 0 || (ok != 0 && ok != 1) ||
		    strlen(value) >= ETCD_VALUE_MAX)
			abort();
	} else
		fuzz_check_msg(err.msg);
	if (etcd_parse_range((const char *)data, size, &kv_rev, value,
	    &err) == 0) {
		if (kv_rev < 0 || strlen(value) >= ETCD_VALUE_MAX)
			abort();
	} else
		fuzz_check_msg(err.msg);
	if (etcd_parse_lease((const char *)data, size, &id, &ttl, &err) == 0) {
		if (id < 0 || ttl < 0)
			abort();
	} else
		fuzz_check_msg(err.msg);
	return 0;
}
