/*
 * local.h - undeploy, redeploy and deploy-local of one artifact on this
 * gateway only (the REST routes that change something).
 *
 * Each returns the HTTP status: 200 on success, 4xx/5xx with err filled;
 * 409 for all but local_resolve() while no verified release is applied.
 * A failure leaves the override list and the release as they were.
 */
#ifndef LOCAL_H
#define LOCAL_H

#include <stddef.h>

#include "agent.h"
#include "snap_err.h"

/* The file name (into out, NAME_MAX_BYTES + 1) of the artifact of `type`
 * an operator calls `name`: its file name or its Synapse identity, in
 * what is deployed, upstream, or the overrides. An unknown name is
 * copied as it is (a new artifact). 200, or 409 when the identity is
 * ambiguous. */
int local_resolve(const struct agent *a, int type, const char *name,
    char *out, struct snap_err *err);
/* Undeploys it here; an artifact that exists only through deploy-local
 * is removed with its override, leaving nothing behind. */
int local_undeploy(struct agent *a, int type, const char *name,
    struct snap_err *err);
/* Drops whatever local override type/name has (404 if none). */
int local_forget(struct agent *a, int type, const char *name,
    struct snap_err *err);
/* Makes it upstream's again, dropping any override (404 when the applied
 * upstream version does not hold it). */
int local_redeploy(struct agent *a, int type, const char *name,
    struct snap_err *err);
/* Deploys body as type/name here. Its Synapse identity must be the
 * artifact's (or, for a new one, name itself), and no other artifact of
 * the type may have it (400, 409). */
int local_deploy(struct agent *a, int type, const char *name,
    const char *body, size_t len, struct snap_err *err);

#endif
