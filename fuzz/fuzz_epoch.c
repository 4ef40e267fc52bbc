/*
 * fuzz_epoch.c - libFuzzer target for the readers of the failover files a
 * writer on the share (or a deploy root) controls (epoch.h, pin.h):
 * lease.json, an epochs/<E> claim, a secondary's fence.json and pin.json,
 * over the same bytes.
 *
 * What a reader accepts must hold up (ids in the safe alphabet, epochs in
 * 1..STATE_VERSION_MAX, a phase that is one of three, a nonce in hex) and
 * survive a round trip through its writer unchanged. A lease accepted then
 * goes through the fence rules against a state of each epoch around it:
 * a verdict is 0 or one of the two epoch codes, and the fence never moves
 * down.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epoch.h"
#include "fuzz.h"
#include "pin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_claim(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct epoch_claim c, again;
	char *json = NULL;
	size_t len;

	if (epoch_claim_from_json((const char *)data, size, &c, &err) == -1) {
		fuzz_check_msg(err.msg);
		return;
	}
	if (c.epoch == 0 || c.epoch > STATE_VERSION_MAX ||
	    state_check_id(c.node_id, &err) == -1 ||
	    strlen(c.nonce) != EPOCH_NONCE_HEX)
		abort();
	if (epoch_claim_to_json(&c, &json, &len, &err) == -1 ||
	    epoch_claim_from_json(json, len, &again, &err) == -1 ||
	    memcmp(&c, &again, sizeof(c)) != 0) {
		fprintf(stderr, "claim round trip: %s\n%s\n", err.msg,
		    json ? json : "");
		abort();
	}
	free(json);
}

static void
fuzz_pin(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct pin p, again;
	char *json = NULL;
	size_t len;

	if (pin_from_json((const char *)data, size, &p, &err) == -1) {
		fuzz_check_msg(err.msg);
		return;
	}
	if (p.version == 0 || p.version > STATE_VERSION_MAX ||
	    state_check_id(p.cluster_id, &err) == -1 ||
	    state_check_id(p.by, &err) == -1)
		abort();
	if (pin_to_json(&p, &json, &len, &err) == -1 ||
	    pin_from_json(json, len, &again, &err) == -1 ||
	    memcmp(&p, &again, sizeof(p)) != 0) {
		fprintf(stderr, "pin round trip: %s\n%s\n", err.msg,
		    json ? json : "");
		abort();
	}
	free(json);
}

static void
fuzz_fence(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct epoch_fence f;

	if (epoch_fence_from_json((const char *)data, size, &f, &err) == -1) {
		fuzz_check_msg(err.msg);
		if (f.max_epoch != 0 || f.base_of_max != 0)
			abort();
		return;
	}
	if (f.max_epoch > STATE_VERSION_MAX || f.base_of_max > STATE_VERSION_MAX)
		abort();
}

/* The lease against states of the epochs around it, from an empty fence
 * and from one at the lease's epoch. */
static void
fence_rules(const struct lease *l)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state st;
	struct epoch_fence f, before;
	uint64_t e;
	bool moved;
	int rc, round;

	memset(&st, 0, sizeof(st));
	snprintf(st.cluster_id, sizeof(st.cluster_id), "%s", l->cluster_id);
	snprintf(st.node_id, sizeof(st.node_id), "n");
	for (round = 0; round < 2; round++)
		for (e = l->epoch > 0 ? l->epoch - 1 : 0; e <= l->epoch + 1;
		    e++) {
			f.max_epoch = round ? l->epoch : 0;
			f.base_of_max = round ? l->base_version : 0;
			before = f;
			st.epoch = e;
			st.version = l->base_version + 1;
			st.epoch_base_version = l->base_version;
			rc = epoch_fence_check(&f, &st, l, &moved, &err);
			if (f.max_epoch < before.max_epoch ||
			    (rc == -1 && err.code != SNAP_E_STALE_EPOCH &&
			    err.code != SNAP_E_EPOCH_PENDING))
				abort();
			if (rc == -1)
				fuzz_check_msg(err.msg);
		}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct lease l, again;
	char *json = NULL;
	size_t len;

	fuzz_claim(data, size);
	fuzz_fence(data, size);
	fuzz_pin(data, size);
	if (epoch_lease_from_json((const char *)data, size, &l, &err) == -1) {
		fuzz_check_msg(err.msg);
		return 0;
	}
	if (state_check_id(l.cluster_id, &err) == -1 ||
	    state_check_id(l.node_id, &err) == -1 || l.epoch == 0 ||
	    l.epoch > STATE_VERSION_MAX || l.base_version > STATE_VERSION_MAX ||
	    l.phase > LEASE_RELEASED || l.lease_ms == 0 || l.renew_ms == 0)
		abort();
	if (epoch_lease_to_json(&l, &json, &len, &err) == -1 ||
	    epoch_lease_from_json(json, len, &again, &err) == -1 ||
	    memcmp(&l, &again, sizeof(l)) != 0) {
		fprintf(stderr, "lease round trip: %s\n%s\n", err.msg,
		    json ? json : "");
		abort();
	}
	free(json);
	fence_rules(&l);
	return 0;
}
