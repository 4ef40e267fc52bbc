/*
 * route.h - the REST endpoint's routes: a method and a decoded URL path in,
 * a route (and the artifact it names) out.
 *
 * Pure string work, no I/O, so that every hostile path can be tested and
 * fuzzed without a server. The table:
 *	GET  /api/v1/status                        ROUTE_STATUS
 *	GET  /api/v1/artifacts        (?type=T)    ROUTE_LIST
 *	GET  /api/v1/artifacts/TYPE/NAME           ROUTE_SHOW
 *	PUT  /api/v1/artifacts/TYPE/NAME           ROUTE_DEPLOY_LOCAL
 *	POST /api/v1/artifacts/TYPE/NAME/undeploy  ROUTE_UNDEPLOY
 *	POST /api/v1/artifacts/TYPE/NAME/redeploy  ROUTE_REDEPLOY
 *	DELETE /api/v1/artifacts/TYPE/NAME/override ROUTE_FORGET
 *	POST /api/v1/sync                          ROUTE_SYNC
 *	GET  /healthz                              ROUTE_HEALTHZ
 *	GET  /livez                                ROUTE_LIVEZ
 *	GET  /readyz                               ROUTE_READYZ
 *	GET  /metrics                              ROUTE_METRICS
 * HEAD is accepted wherever GET is. NAME is a file name (without .xml) or
 * the artifact's Synapse identity (identity.h): both pass name_check(),
 * and the endpoint resolves which one it is.
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stdbool.h>

#include "names.h"
#include "snap_err.h"

enum route_id {
	ROUTE_STATUS,
	ROUTE_LIST,
	ROUTE_SHOW,
	ROUTE_DEPLOY_LOCAL,
	ROUTE_UNDEPLOY,
	ROUTE_REDEPLOY,
	ROUTE_SYNC,
	ROUTE_HEALTHZ,
	ROUTE_METRICS,
	ROUTE_FORGET,
	ROUTE_LIVEZ,
	ROUTE_READYZ,
	ROUTE_COUNT,
};

struct route {
	enum route_id id;
	int type;			/* artifact type index, or -1 */
	char name[NAME_MAX_BYTES + 1];	/* artifact NAME, or "" */
	int type_filter;		/* ROUTE_LIST ?type=, or -1 */
	bool mutating;			/* needs the bearer token */
};

/*
 * Matches method and path (as sent: still percent-encoded, without the
 * query string); type_query is the value of ?type= (encoded too) or NULL. Returns 0 with *r filled, or -1
 * with *status set to 404 (no such route), 405 (route exists, wrong method)
 * or 400 (bad type or name) and err saying why.
 */
int route_match(const char *method, const char *path, const char *type_query,
    struct route *r, int *status, struct snap_err *err);

/* A short stable label for metrics: "status", "artifacts", "artifact",
 * "undeploy", "redeploy", "deploy_local", "sync", "healthz", "metrics",
 * "forget", "livez", "readyz". */
const char *route_label(enum route_id id);

#endif
