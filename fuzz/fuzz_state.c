/*
 * fuzz_state.c - libFuzzer target for state_from_json(), the reader of
 * state.json: the first file a secondary reads from the share.
 *
 * What the reader accepts must hold up (ids in the safe alphabet, file names
 * exactly the two we make, checksums hex) and must survive a round trip
 * through state_to_json() unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state s, again;
	char expect[96], *json = NULL;
	size_t len;

	if (state_from_json((const char *)data, size, &s, &err) == -1) {
		if (err.msg[0] == '\0')
			abort();	/* every refusal says why */
		return 0;
	}
	state_manifest_name(s.version, expect, sizeof(expect));
	if (strcmp(s.manifest.name, expect) != 0)
		abort();
	state_archive_name(s.version, expect, sizeof(expect));
	if (strcmp(s.archive.name, expect) != 0 ||
	    state_check_id(s.cluster_id, &err) == -1 ||
	    state_check_id(s.node_id, &err) == -1 ||
	    !hash_is_hex(s.manifest.xxh128) || !hash_is_hex(s.archive.xxh128) ||
	    s.version == 0 || s.parent_version >= s.version)
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
