/*
 * fuzz_state.c - libFuzzer target for state_from_json(), the reader of
 * state.json: the first file a secondary reads from the share; and for
 * fresh_from_json(), the reader of the record timestamp.sig signs (the
 * second: fresh.h), over the same bytes.
 *
 * What the reader accepts must hold up (ids in the safe alphabet; a base
 * version and a chain of deltas, strictly rising, that ends at the state's
 * version, at most STATE_VERSION_MAX; every file name exactly the one we
 * make for its role and version; checksums hex; an expiry only in format
 * 3) and must survive a round trip through state_to_json() unchanged. A
 * timestamp record accepted must name a cluster id, a version in range and
 * a BLAKE2b in hex, and survive fresh_to_json() unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fresh.h"
#include "fuzz.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_file(const struct state_file *f, const char *name)
{
	if (strcmp(f->name, name) != 0 || !hash_is_hex(f->xxh128)) {
		fprintf(stderr, "accepted file '%s' where '%s' belongs\n",
		    f->name, name);
		abort();
	}
}

static void
fuzz_fresh(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct fresh_record r, again;
	char *json = NULL;
	size_t len, i;

	if (fresh_from_json((const char *)data, size, &r, &err) == -1) {
		fuzz_check_msg(err.msg);
		return;
	}
	if (state_check_id(r.cluster_id, &err) == -1 || r.version == 0 ||
	    r.version > STATE_VERSION_MAX ||
	    strlen(r.state_blake2b) != STATE_B2_HEX_LEN)
		abort();
	for (i = 0; i < STATE_B2_HEX_LEN; i++)
		if (!strchr("0123456789abcdef", r.state_blake2b[i]))
			abort();
	if (fresh_to_json(&r, &json, &len, &err) == -1 ||
	    fresh_from_json(json, len, &again, &err) == -1 ||
	    memcmp(&r, &again, sizeof(r)) != 0) {
		fprintf(stderr, "timestamp round trip: %s\n%s\n", err.msg,
		    json ? json : "");
		abort();
	}
	free(json);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state s, again;
	char expect[96], *json = NULL;
	uint64_t prev;
	size_t len, i;

	fuzz_fresh(data, size);
	if (state_from_json((const char *)data, size, &s, &err) == -1) {
		fuzz_check_msg(err.msg);
		return 0;
	}
	if (state_check_id(s.cluster_id, &err) == -1 ||
	    s.version > STATE_VERSION_MAX || s.expires_at < 0 ||
	    state_check_id(s.node_id, &err) == -1 ||
	    s.version == 0 || s.parent_version >= s.version ||
	    s.base_version == 0 || s.base_version > s.version ||
	    s.ndeltas > STATE_CHAIN_MAX ||
	    (s.ndeltas == 0) != (s.base_version == s.version))
		abort();
	state_manifest_name(s.base_version, expect, sizeof(expect));
	check_file(&s.manifest, expect);
	state_archive_name(s.base_version, expect, sizeof(expect));
	check_file(&s.archive, expect);
	for (i = 0, prev = s.base_version; i < s.ndeltas; i++) {
		const struct state_delta *d = &s.deltas[i];

		if (d->version <= prev || d->version > s.version)
			abort();
		prev = d->version;
		state_delta_manifest_name(d->version, expect, sizeof(expect));
		check_file(&d->manifest, expect);
		state_delta_archive_name(d->version, expect, sizeof(expect));
		check_file(&d->archive, expect);
	}
	if (s.ndeltas > 0 && prev != s.version)
		abort();
	if (state_to_json(&s, &json, &len, &err) == -1) {
		fprintf(stderr, "state_to_json: %s\n", err.msg);
		abort();
	}
	if (state_from_json(json, len, &again, &err) == -1) {
		fprintf(stderr, "round trip refused: %s\n%s\n", err.msg, json);
		abort();
	}
	/* Both were memset by the reader, so padding compares equal too. */
	if (memcmp(&s, &again, sizeof(s)) != 0) {
		fprintf(stderr, "round trip changed the state\n%s\n", json);
		abort();
	}
	free(json);
	return 0;
}
