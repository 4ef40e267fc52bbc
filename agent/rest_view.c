/*
 * rest_view.c - the REST endpoint's answers as JSON and text (see
 * rest_view.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon.h"
#include "fsutil.h"
#include "jsonfield.h"
#include "local.h"
#include "redis_fetch.h"
#include "manifest.h"
#include "names.h"
#include "rest_view.h"
#include "route.h"

/* An override is stale when upstream moved since it was made. */
static bool
upstream_changed(const struct agent *a, const struct override *ov)
{
	const struct manifest_entry *u = a->d.upstream_m == NULL ? NULL :
	    manifest_find(a->d.upstream_m, ov->type, ov->name);

	return strcmp(u != NULL ? u->xxh128 : "", ov->base) != 0;
}

/* How many overrides hide or replace an upstream artifact that changed
 * since they were made: the operator's to look at (list, redeploy). */
static json_int_t
stale_overrides(const struct agent *a)
{
	json_int_t n = 0;
	size_t i;

	for (i = 0; i < a->ovr.n; i++)
		n += upstream_changed(a, &a->ovr.v[i]);
	return n;
}

static json_t *
view_status(struct agent *a)
{
	const struct deploy *d = &a->d;
	json_t *j;

	j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:I, "
	    "s:I, s:I, s:b, s:b, s:s, s:o, s:o}",
	    "role", "secondary",
	    "node_id", a->c->node_id,
	    "cluster_id", a->c->cluster_id,
	    "applied_version", (json_int_t)(d->has_current ?
	    d->current.version : 0),
	    "latest_seen_version", (json_int_t)a->latest_seen,
	    "last_sync_at", jf_time_or_null(a->last_sync_at),
	    "last_error", a->last_error[0] ? json_string(a->last_error) :
	    json_null(),
	    "labels", manifest_labels_json(a->c->labels),
	    "release", d->has_current ? json_string(d->current.name) :
	    json_null(),
	    "artifact_count", (json_int_t)(d->current_m ? d->current_m->n : 0),
	    "overrides", (json_int_t)a->ovr.n,
	    "overrides_upstream_changed", stale_overrides(a),
	    "healthy", agent_healthy(a, NULL, 0),
	    "sync_root_ok", a->trust.root_state != ROOT_UNREACHABLE,
	    "sync_root_state", trust_root_state_name(a->trust.root_state),
	    "sync_root_state_since", jf_time_or_null(a->trust.root_since),
	    "state_expires_at", jf_time_or_null(a->trust.fresh_until));
	hook_status_add(a->hook, j);
	rfetch_status_add(a->redis, j);
	return j;
}

static json_t *
artifact_json(const struct agent *a, int type, const char *name,
    const char *xxh, const char *state, bool changed)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:b}",
	    "type", artifact_types[type].folder, "name", name, "xxh128", xxh,
	    "version", (json_int_t)a->d.current.version, "state", state,
	    "upstream_changed", changed);
}

static json_t *
view_list(struct agent *a, int type_filter)
{
	json_t *arr = json_array();
	const struct manifest *t = a->d.current_m;
	const struct override *ov;
	size_t i;

	for (i = 0; t != NULL && i < t->n; i++) {
		const struct manifest_entry *e = &t->entries[i];

		if (type_filter >= 0 && e->type != type_filter)
			continue;
		ov = ovr_find(&a->ovr, e->type, e->name);
		json_array_append_new(arr, artifact_json(a, e->type, e->name,
		    e->xxh128, ov ? ovr_state_name(ov->state) : "synced",
		    ov ? upstream_changed(a, ov) : false));
	}
	/* Undeployed ones are not in the release but an operator must
	 * see them. */
	for (i = 0; i < a->ovr.n; i++) {
		ov = &a->ovr.v[i];
		if (ov->state != OVR_UNDEPLOYED ||
		    (type_filter >= 0 && ov->type != type_filter))
			continue;
		json_array_append_new(arr, artifact_json(a, ov->type, ov->name,
		    ov->base, ovr_state_name(ov->state),
		    upstream_changed(a, ov)));
	}
	return json_pack("{s:I, s:o}", "applied_version",
	    (json_int_t)(a->d.has_current ? a->d.current.version : 0),
	    "artifacts", arr);
}

static json_t *
view_change(struct agent *a, int type, const char *name)
{
	const struct override *ov = ovr_find(&a->ovr, type, name);

	return json_pack("{s:s, s:s, s:s, s:s}",
	    "type", artifact_types[type].folder, "name", name,
	    "state", ov ? ovr_state_name(ov->state) : "synced",
	    "release", a->d.current.name);
}

static json_t *
view_health(struct agent *a, int *status)
{
	char why[512];

	if (agent_healthy(a, why, sizeof(why))) {
		*status = 200;
		return json_pack("{s:s, s:I}", "status", "ok", "applied_version",
		    (json_int_t)a->d.current.version);
	}
	*status = 503;
	return json_pack("{s:s, s:s}", "status", "unavailable", "reason", why);
}

/* /readyz (a secondary's; agent.h says when). */
static json_t *
view_ready(struct agent *a, int *status)
{
	char why[512];

	if (agent_ready(a, why, sizeof(why))) {
		*status = 200;
		return json_pack("{s:s, s:I}", "status", "ready",
		    "applied_version", (json_int_t)a->d.current.version);
	}
	*status = 503;
	return json_pack("{s:s, s:s}", "status", "not ready", "reason", why);
}

/* /livez, either role's: the loop turns (daemon.h). */
static json_t *
view_live(int *status)
{
	int64_t age = daemon_tick_age_ms();

	if (age <= DAEMON_STALL_MS) {
		*status = 200;
		return json_pack("{s:s, s:I}", "status", "live", "loop_age_ms",
		    (json_int_t)age);
	}
	*status = 503;
	return json_pack("{s:s, s:s, s:I}", "status", "stalled", "reason",
	    "the event loop has not been back to poll for longer than 30000 "
	    "ms", "loop_age_ms", (json_int_t)age);
}

static int
view_show(struct agent *a, int type, const char *name, char **buf,
    size_t *len, struct snap_err *err)
{
	char path[RELEASE_NAME_MAX + NAME_PATH_MAX], rel[NAME_PATH_MAX];

	if (a->d.current_m == NULL ||
	    manifest_find(a->d.current_m, type, name) == NULL) {
		snap_err_set(err, "not deployed");
		return 404;
	}
	snprintf(path, sizeof(path), "%s/%s", a->d.current.name,
	    name_path(type, name, rel, sizeof(rel)));
	if (fsu_read_file(a->d.relfd, path, ARTIFACT_MAX_BYTES, buf, len,
	    err) == -1)
		return 500;
	return 200;
}

/* Runs render into a memory stream: *buf and *len, or -1. */
static int
render(void (*fn)(const void *arg, const void *more, FILE *f),
    const void *arg, const void *more, char **buf, size_t *len)
{
	FILE *f;

	*buf = NULL;
	*len = 0;
	if ((f = open_memstream(buf, len)) == NULL)
		return -1;
	fn(arg, more, f);
	if (fclose(f) != 0) {
		free(*buf);
		*buf = NULL;
		return -1;
	}
	return 0;
}

static void
render_agent(const void *arg, const void *more, FILE *f)
{
	const struct agent *a = arg;
	struct metrics_sample s = { 0 };
	size_t i;

	(void)more;
	s.applied_version = a->d.has_current ? a->d.current.version : 0;
	s.latest_seen_version = a->latest_seen;
	s.last_sync_at = a->last_sync_at;
	s.healthy = agent_healthy(a, NULL, 0);
	s.sync_root_up = a->trust.root_state != ROOT_UNREACHABLE;
	s.sync_root_verifiable = a->trust.root_state == ROOT_OK;
	s.sync_root_state = trust_root_state_name(a->trust.root_state);
	for (i = 0; i < a->ovr.n; i++) {
		if (a->ovr.v[i].state == OVR_UNDEPLOYED)
			s.undeployed_local++;
		else
			s.deployed_local++;
	}
	metrics_render(&a->m, &s, f);
	hook_render_metrics(a->hook, f);
	rfetch_render_metrics(a->redis, f);
}

static int
view_metrics(struct agent *a, char **buf, size_t *len)
{
	return render(render_agent, a, NULL, buf, len);
}

static json_t *
view_source_health(const struct rest_source *src, int *status)
{
	char why[512];

	*status = 200;
	if (src->healthy(src->arg, why, sizeof(why)) && src->degraded != NULL &&
	    src->degraded(src->arg, why, sizeof(why)))
		return json_pack("{s:s, s:b, s:s}", "status", "ok", "degraded",
		    1, "reason", why);
	if (src->healthy(src->arg, why, sizeof(why)))
		return json_pack("{s:s}", "status", "ok");
	*status = 503;
	return json_pack("{s:s, s:s}", "status", "unavailable", "reason", why);
}

static json_t *
view_source_ready(const struct rest_source *src, int *status)
{
	char why[512];
	bool ok = src->ready != NULL ? src->ready(src->arg, why, sizeof(why)) :
	    src->healthy(src->arg, why, sizeof(why));

	*status = ok ? 200 : 503;
	if (ok)
		return json_pack("{s:s}", "status", "ready");
	return json_pack("{s:s, s:s}", "status", "not ready", "reason", why);
}

static void
render_source(const void *arg, const void *more, FILE *f)
{
	const struct rest_source *src = arg;

	src->metrics(src->arg, f);
	metrics_render_http(more, f);
}

static int
view_source_metrics(const struct rest_source *src, const struct metrics *m,
    char **buf, size_t *len)
{
	return render(render_source, src, m, buf, len);
}

/* --- answers --- */

/* obj (a reference taken over) as a JSON answer: 0, or -1 (no memory). */
static int
json_answer(int status, json_t *obj, struct view_answer *out)
{
	char *buf = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL, *nb;
	size_t len;

	json_decref(obj);
	if (buf == NULL)
		return -1;
	/* A trailing newline keeps curl output and logs tidy. */
	len = strlen(buf);
	if ((nb = realloc(buf, len + 2)) == NULL) {
		free(buf);
		return -1;
	}
	nb[len++] = '\n';
	nb[len] = '\0';
	*out = (struct view_answer){ status, "application/json", nb, len };
	return 0;
}

int
view_error(int status, const char *msg, struct view_answer *out)
{
	return json_answer(status, json_pack("{s:s}", "error", msg), out);
}

static int
text_answer(char *buf, size_t len, struct view_answer *out)
{
	*out = (struct view_answer){ 200, "text/plain; version=0.0.4", buf,
	    len };
	return 0;
}

static int
local_op(struct agent *a, const struct route *r, const char *body,
    size_t len, struct view_answer *out)
{
	struct snap_err err = SNAP_ERR_INIT;
	int status;

	if (r->id == ROUTE_UNDEPLOY)
		status = local_undeploy(a, r->type, r->name, &err);
	else if (r->id == ROUTE_REDEPLOY)
		status = local_redeploy(a, r->type, r->name, &err);
	else if (r->id == ROUTE_FORGET)
		status = local_forget(a, r->type, r->name, &err);
	else
		status = local_deploy(a, r->type, r->name, body, len, &err);
	if (status != 200)
		return view_error(status, err.msg, out);
	return json_answer(200, view_change(a, r->type, r->name), out);
}

int
view_answer(struct agent *a, const struct route *route, const char *body,
    size_t len, struct view_answer *out)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct route r = *route;
	char *buf;
	size_t n;
	json_t *j;
	int status;

	/* An artifact may be named by its file or by its Synapse name. */
	if (r.type >= 0 && (status = local_resolve(a, r.type, r.name, r.name,
	    &err)) != 200)
		return view_error(status, err.msg, out);
	switch (r.id) {
	case ROUTE_STATUS:
		return json_answer(200, view_status(a), out);
	case ROUTE_LIST:
		return json_answer(200, view_list(a, r.type_filter), out);
	case ROUTE_SHOW:
		if ((status = view_show(a, r.type, r.name, &buf, &n, &err)) !=
		    200)
			return view_error(status, err.msg, out);
		*out = (struct view_answer){ 200, "application/xml", buf, n };
		return 0;
	case ROUTE_UNDEPLOY:
	case ROUTE_REDEPLOY:
	case ROUTE_DEPLOY_LOCAL:
	case ROUTE_FORGET:
		return local_op(a, &r, body, len, out);
	case ROUTE_SYNC:
		agent_retry(a);
		/* A Redis sync root: checked once the worker's mirror is
		 * back (redis_fetch.h); the loop must not wait for it. */
		if (rfetch_begin(a->redis) == -1)
			agent_check(a);
		return json_answer(200, view_status(a), out);
	case ROUTE_HEALTHZ:
		j = view_health(a, &status);
		return json_answer(status, j, out);
	case ROUTE_READYZ:
		j = view_ready(a, &status);
		return json_answer(status, j, out);
	case ROUTE_LIVEZ:
		j = view_live(&status);
		return json_answer(status, j, out);
	case ROUTE_METRICS:
		if (view_metrics(a, &buf, &n) == -1)
			return -1;
		return text_answer(buf, n, out);
	case ROUTE_COUNT:
		break;
	}
	return view_error(500, "unrouted request", out);
}

int
view_answer_source(const struct rest_source *src, const struct metrics *m,
    const struct route *r, struct view_answer *out)
{
	char *buf;
	size_t n;
	json_t *j;
	int status;

	switch (r->id) {
	case ROUTE_STATUS:
		return json_answer(200, src->status(src->arg), out);
	case ROUTE_HEALTHZ:
		j = view_source_health(src, &status);
		return json_answer(status, j, out);
	case ROUTE_READYZ:
		j = view_source_ready(src, &status);
		return json_answer(status, j, out);
	case ROUTE_LIVEZ:
		j = view_live(&status);
		return json_answer(status, j, out);
	case ROUTE_METRICS:
		if (view_source_metrics(src, m, &buf, &n) == -1)
			return -1;
		return text_answer(buf, n, out);
	default:
		return view_error(404, "not served by a primary: ask a "
		    "secondary", out);
	}
}
