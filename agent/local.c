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

#include "fsutil.h"
#include "identity.h"
#include "local.h"
#include "log.h"
#include "names.h"

/* Applies the change already made to a->ovr; restores `saved` on failure.
 * `op` and type/name say what it was, in the log and to the hooks. */
static int
commit(struct agent *a, struct overrides *saved, enum swap_reason op,
    int type, const char *name, struct snap_err *err)
{
	struct snap_err ignored;
	char what[NAME_MAX_BYTES + 64], id[NAME_MAX_BYTES + 32];
	int http = 500;

	snprintf(id, sizeof(id), "%s/%s", artifact_types[type].folder, name);
	snprintf(what, sizeof(what), "%s %s", swap_reason_name(op), id);
	if (ovr_save(&a->ovr, err) == -1)
		goto fail;
	if (agent_rebuild(a, NULL, op, &http, err) == -1)
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
 * noting upstream's checksum now (for upstream_changed later). A
 * deployed-local copy gets a time of its own (manifest_stamp): the file's
 * mtime changes, and WSO2 redeploys it. */
static int
set_override(struct agent *a, struct overrides *saved, int type,
    const char *name, enum ovr_state state, const char *xxh128,
    uint64_t size, struct snap_err *err)
{
	const struct manifest_entry *u = manifest_find(a->d.upstream_m, type,
	    name);
	const struct manifest_entry *cur = manifest_find(a->d.current_m, type,
	    name);
	struct override *ov;

	if (save_copy(a, saved, err) == -1)
		return -1;
	if (ovr_set(&a->ovr, type, name, state, xxh128, size,
	    u != NULL ? u->xxh128 : "") == -1) {
		ovr_clear(saved);
		return snap_err_set(err, "out of memory");
	}
	ov = ovr_find(&a->ovr, type, name);
	ov->identity[0] = '\0';
	if (state == OVR_DEPLOYED)
		ov->since = manifest_stamp(cur, xxh128, fsu_now());
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
	if (ov != NULL && manifest_find(a->d.upstream_m, type, name) == NULL) {
		/* Only here through deploy-local: gone with its override,
		 * so that nothing hides the name if upstream ever has it. */
		if (save_copy(a, &saved, err) == -1)
			return 500;
		ovr_remove(&a->ovr, type, name);
		return commit(a, &saved, SWAP_UNDEPLOY, type, name, err);
	}
	if (set_override(a, &saved, type, name, OVR_UNDEPLOYED, "", 0,
	    err) == -1)
		return 500;
	return commit(a, &saved, SWAP_UNDEPLOY, type, name, err);
}

int
local_forget(struct agent *a, int type, const char *name,
    struct snap_err *err)
{
	struct overrides saved = OVERRIDES_INIT;
	int rc;

	if ((rc = not_ready(a, err)) != 0)
		return rc;
	if (ovr_find(&a->ovr, type, name) == NULL) {
		snap_err_set(err, "%s/%s has no local override",
		    artifact_types[type].folder, name);
		return 404;
	}
	if (save_copy(a, &saved, err) == -1)
		return 500;
	ovr_remove(&a->ovr, type, name);
	return commit(a, &saved, SWAP_FORGET, type, name, err);
}

int
local_resolve(const struct agent *a, int type, const char *name, char *out,
    struct snap_err *err)
{
	const struct manifest *where[2] = { a->d.current_m, a->d.upstream_m };
	const struct manifest_entry *e = NULL;
	const char *found = name;
	bool ambiguous = false;
	size_t i;

	for (i = 0; i < 2 && e == NULL && !ambiguous; i++)
		e = identity_lookup(where[i], type, name, &ambiguous);
	if (ambiguous) {
		snap_err_set(err, "more than one %s is called '%s': name its "
		    "file instead", artifact_types[type].what, name);
		return 409;
	}
	if (e != NULL)
		found = e->name;
	for (i = 0; found == name && i < a->ovr.n; i++)
		if (a->ovr.v[i].type == type &&
		    strcmp(a->ovr.v[i].identity, name) == 0)
			found = a->ovr.v[i].name;
	/* name may be out itself: a move, not a copy. */
	memmove(out, found, strlen(found) + 1);
	return 200;
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
	return commit(a, &saved, SWAP_REDEPLOY, type, name, err);
}

/*
 * Whether a body that Synapse knows as `id` may be deployed as type/name:
 * an artifact that exists keeps its identity, a new one is deployed under
 * its identity, and no other artifact may have it (Synapse would deploy
 * only one). 0, or the HTTP status with err.
 */
static int
check_identity(const struct agent *a, int type, const char *name,
    const char *id, struct snap_err *err)
{
	const struct artifact_type *t = &artifact_types[type];
	const struct manifest_entry *e, *other;
	const char *had;
	bool ambiguous;

	if (*id == '\0')
		return 0;	/* no identity: the file name is all there is */
	e = manifest_find(a->d.current_m, type, name);
	if (e == NULL)
		e = manifest_find(a->d.upstream_m, type, name);
	had = e != NULL ? manifest_identity(e) : name;
	if (*had != '\0' && strcmp(had, id) != 0) {
		snap_err_set(err, "the file defines %s '%s', but %s/%s is '%s'%s",
		    t->what, id, t->folder, name, had, e == NULL ?
		    ": deploy it under its own name" : "");
		return 400;
	}
	other = identity_find(a->d.current_m, type, id, &ambiguous);
	if (other != NULL && strcmp(other->name, name) != 0) {
		snap_err_set(err, "%s '%s' is already deployed as %s/%s", t->what,
		    id, t->folder, other->name);
		return 409;
	}
	return 0;
}

int
local_deploy(struct agent *a, int type, const char *name, const char *body,
    size_t len, struct snap_err *err)
{
	struct overrides saved = OVERRIDES_INIT;
	struct xmlcheck_result res;
	char sum[HASH_HEX_LEN + 1];
	int rc;

	if ((rc = not_ready(a, err)) != 0)
		return rc;
	/* The same validator as publish: the gateway gets nothing a
	 * primary would have refused. */
	if (xmlcheck_validate(a->xc, type, name, body, len, &res, err) == -1)
		return 400;
	if ((rc = check_identity(a, type, name, res.identity, err)) != 0)
		return rc;
	if (ovr_write_content(&a->ovr, type, name, body, len, err) == -1)
		return 500;
	hash_buf(body, len, sum);
	if (set_override(a, &saved, type, name, OVR_DEPLOYED, sum, len,
	    err) == -1)
		return 500;
	if (strcmp(res.identity, name) != 0)
		snprintf(ovr_find(&a->ovr, type, name)->identity,
		    sizeof(res.identity), "%s", res.identity);
	return commit(a, &saved, SWAP_DEPLOY_LOCAL, type, name, err);
}
