/*
 * local.c - undeploy, redeploy and deploy-local of one artifact on this
 * gateway only.
 *
 * Each is the same three steps: change the override list and save it
 * (atomically), rebuild the release for upstream + overrides (a full,
 * verified build and one atomic swap, exactly like a sync), and on failure
 * put the old list back. The list is saved before the swap so that a crash
 * in between is repaired at the next start, not forgotten.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "fsutil.h"
#include "log.h"
#include "names.h"

/* Applies the change already made to a->ovr; restores `saved` on failure.
 * `verb` and type/name say what it was, in the log. */
static int
commit(struct agent *a, struct overrides *saved, const char *verb, int type,
    const char *name, struct snap_err *err)
{
	struct snap_err ignored;
	char what[NAME_MAX_BYTES + 64], id[NAME_MAX_BYTES + 32];
	int http = 500;

	snprintf(id, sizeof(id), "%s/%s", artifact_types[type].folder, name);
	snprintf(what, sizeof(what), "%s %s", verb, id);
	if (ovr_save(&a->ovr, err) == -1)
		goto fail;
	if (agent_rebuild(a, NULL, &http, err) == -1)
		goto fail;
	ovr_clear(saved);
	ovr_prune(&a->ovr);
	log_fields(LOG_LEVEL_INFO, LOG_FIELDS(LOG_STR("artifact", id),
	    LOG_STR("release", a->d.current.name),
	    LOG_INT("version", a->d.current.version)),
	    "%s: now releases/%s", what, a->d.current.name);
	return 200;
fail:
	ovr_clear(&a->ovr);
	a->ovr.v = saved->v;
	a->ovr.n = saved->n;
	a->ovr.cap = saved->cap;
	(void)ovr_save(&a->ovr, &ignored);
	log_fields(LOG_LEVEL_ERROR, LOG_FIELDS(LOG_STR("artifact", id),
	    LOG_STR("reason", err->msg)), "%s failed: %s", what, err->msg);
	return http;
}

static int
save_copy(struct agent *a, struct overrides *saved, struct snap_err *err)
{
	if (ovr_copy(saved, &a->ovr) == -1)
		return snap_err_set(err, "out of memory");
	return 0;
}

/* Keeps a copy of the list in `saved`, then sets type/name's override,
 * noting upstream's checksum now (for upstream_changed later). */
static int
set_override(struct agent *a, struct overrides *saved, int type,
    const char *name, enum ovr_state state, const char *xxh128,
    uint64_t size, struct snap_err *err)
{
	const struct manifest_entry *u = manifest_find(a->d.upstream_m, type,
	    name);

	if (save_copy(a, saved, err) == -1)
		return -1;
	if (ovr_set(&a->ovr, type, name, state, xxh128, size,
	    u != NULL ? u->xxh128 : "") == -1) {
		ovr_clear(saved);
		return snap_err_set(err, "out of memory");
	}
	return 0;
}

static int
not_ready(const struct agent *a, struct snap_err *err)
{
	if (!a->d.has_current || a->d.upstream_m == NULL) {
		snap_err_set(err, "no verified release applied yet");
		return 409;
	}
	return 0;
}

int
local_undeploy(struct agent *a, int type, const char *name,
    struct snap_err *err)
{
	struct overrides saved = OVERRIDES_INIT;
	const struct override *ov = ovr_find(&a->ovr, type, name);
	const char *folder = artifact_types[type].folder;
	int rc;

	if ((rc = not_ready(a, err)) != 0)
		return rc;
	if (ov != NULL && ov->state == OVR_UNDEPLOYED) {
		snap_err_set(err, "%s/%s is already undeployed on this gateway",
		    folder, name);
		return 409;
	}
	if (manifest_find(a->d.current_m, type, name) == NULL) {
		snap_err_set(err, "%s/%s is not deployed", folder, name);
		return 404;
	}
	if (set_override(a, &saved, type, name, OVR_UNDEPLOYED, "", 0,
	    err) == -1)
		return 500;
	return commit(a, &saved, "undeploy", type, name, err);
}

int
local_redeploy(struct agent *a, int type, const char *name,
    struct snap_err *err)
{
	struct overrides saved = OVERRIDES_INIT;
	const char *folder = artifact_types[type].folder;
	int rc;

	if ((rc = not_ready(a, err)) != 0)
		return rc;
	if (manifest_find(a->d.upstream_m, type, name) == NULL) {
		snap_err_set(err, "%s/%s is not in the applied upstream version "
		    "%llu", folder, name,
		    (unsigned long long)a->d.upstream_m->version);
		return 404;
	}
	if (save_copy(a, &saved, err) == -1)
		return 500;
	/* Nothing to drop still rebuilds: redeploy means "make it upstream's
	 * again", and the rebuild checks every byte. */
	ovr_remove(&a->ovr, type, name);
	return commit(a, &saved, "redeploy", type, name, err);
}

int
local_deploy(struct agent *a, int type, const char *name, const char *body,
    size_t len, struct snap_err *err)
{
	struct overrides saved = OVERRIDES_INIT;
	const char *folder = artifact_types[type].folder;
	char sum[HASH_HEX_LEN + 1];
	int rc;

	if ((rc = not_ready(a, err)) != 0)
		return rc;
	/* The same validator as publish: the gateway gets nothing a
	 * primary would have refused. */
	if (xmlcheck_validate(a->xc, folder, body, len, err) == -1)
		return 400;
	if (ovr_write_content(&a->ovr, type, name, body, len, err) == -1)
		return 500;
	hash_buf(body, len, sum);
	if (set_override(a, &saved, type, name, OVR_DEPLOYED, sum, len,
	    err) == -1)
		return 500;
	return commit(a, &saved, "deploy-local", type, name, err);
}
