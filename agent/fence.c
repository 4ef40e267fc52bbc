/*
 * fence.c - the epoch fence of a secondary (see fence.h).
 *
 * The order of the reads is the argument (docs/failover.md): state.json
 * first (agent_check), lease.json after it. A new leader announces its
 * epoch in lease.json before it reads the seal from state.json, so a
 * deposed leader's rename that lands after that read is seen by a reader
 * together with a lease of the new epoch, and refused.
 */
#include <inttypes.h>
#include <string.h>

#include "agent.h"
#include "fence.h"
#include "log.h"

int
agent_fence(struct agent *a, int rootfd, const struct snap_state *st,
    struct snap_err *err)
{
	struct agent_fence *af = &a->fence;
	struct snap_err lerr = SNAP_ERR_INIT;
	struct lease ls;
	bool moved, have_lease;
	int rc;

	if (!af->loaded) {
		if (epoch_fence_load(a->d.rootfd, &af->f, &lerr) == -1)
			log_warnx("deploy root %s: %s: starting from no epoch",
			    a->c->deploy_root, lerr.msg);
		else if (af->f.max_epoch != 0)
			log_info("epoch fence: epoch %" PRIu64 " seen (it builds "
			    "on version %" PRIu64 ")", af->f.max_epoch,
			    af->f.base_of_max);
		af->loaded = true;
	}
	/* A lease that cannot be read says nothing: the state's own epoch
	 * and what is remembered still fence. */
	have_lease = epoch_lease_read(rootfd, a->c->have_key ? &a->c->key :
	    NULL, &ls, &lerr) == 0;
	rc = epoch_fence_check(&af->f, st, have_lease ? &ls : NULL, &moved,
	    err);
	if (moved) {
		log_fields(LOG_LEVEL_INFO, LOG_FIELDS(
		    LOG_INT("epoch", af->f.max_epoch)),
		    "epoch %" PRIu64 " seen: it builds on version %" PRIu64
		    "; older epochs' versions above that are refused",
		    af->f.max_epoch, af->f.base_of_max);
		if (epoch_fence_save(a->d.rootfd, &af->f, &lerr) == -1)
			log_warnx("deploy root %s: cannot save %s: %s",
			    a->c->deploy_root, EPOCH_FENCE_FILE, lerr.msg);
	}
	if (rc == -1 && err->code == SNAP_E_STALE_EPOCH)
		trust_set_root(&a->trust, ROOT_OLDER);
	return rc;
}
