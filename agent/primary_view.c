/*
 * primary_view.c - what a primary's read-only endpoint says of it: the
 * status JSON (role, versions, errors, watch, renewal, leadership, pin,
 * push targets), the Prometheus text, and health - 503 while publishing
 * fails, 200 "degraded" while it works without inotify or renewal; and
 * each written version's stage breakdown, counted for that text and said
 * at debug level.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "jsonfield.h"
#include "log.h"
#include "metrics.h"
#include "primary_int.h"

json_t *
primary_status_json(void *arg)
{
	struct primary *p = arg;
	json_t *obj;

	obj = json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:s, s:s, s:b, s:o, "
	    "s:o, s:o, s:o}",
	    "role", "primary", "node_id", p->c->node_id,
	    "cluster_id", p->c->cluster_id,
	    "latest_version", (json_int_t)p->latest,
	    "last_publish_at", jf_time_or_null(p->published_at),
	    "last_error", p->last_error[0] ? json_string(p->last_error) :
	    json_null(),
	    "source", p->c->source, "sync_root", p->c->sync_root,
	    "watching", p->watching,
	    "watch_error", p->watching || p->watch_error[0] == '\0' ?
	    json_null() : json_string(p->watch_error),
	    "state_expires_at", jf_time_or_null(p->fresh_until),
	    "renew_error", p->renew_error[0] ? json_string(p->renew_error) :
	    json_null(),
	    "push", push_status_json(p->push));
	rpush_status_add(p->redis, obj);
	leader_status(p->lead, obj);	/* role, epoch, holder, ha */
	pinned_status(&p->pin, obj);
	return obj;
}

void
primary_render_metrics(void *arg, FILE *f)
{
	struct primary *p = arg;
	struct metrics_primary s = { .published_version = p->latest,
	    .last_publish_at = p->published_at,
	    .publish_failing = p->last_error[0] != '\0',
	    .source_watch_ok = p->watching,
	    .state_expires_at = p->fresh_until,
	    .publishes = p->publishes, .publish_failures = p->publish_failures,
	    .publish_time = &p->publish_time, .stages = p->stage };

	metrics_render_primary(&s, f);
	leader_render_metrics(p->lead, f);
	pinned_render_metrics(&p->pin, f);
	push_render_metrics(p->push, f);
	rpush_render_metrics(p->redis, f);
}

bool
primary_healthy(void *arg, char *why, size_t len)
{
	struct primary *p = arg;

	if (rpush_failing(p->redis, why, len))
		return false;
	if (p->last_error[0] == '\0')
		return true;
	snprintf(why, len, "publish failing: %s", p->last_error);
	return false;
}

/*
 * /readyz: the sync root holds a version this primary published or found
 * current (a publish failing since keeps it: what is there is good), or
 * it stands by under ha while another leads. Not before its first publish
 * or look at the sync root.
 */
bool
primary_ready(void *arg, char *why, size_t len)
{
	struct primary *p = arg;

	if (p->latest > 0 || !leader_leads(p->lead))
		return true;
	snprintf(why, len, "nothing published yet%s%s", p->last_error[0] ?
	    ": " : "", p->last_error);
	return false;
}

/* Healthy, but not as it should be: publishing works (by polling), an
 * operator should still look. */
bool
primary_degraded(void *arg, char *why, size_t len)
{
	struct primary *p = arg;

	if (!p->watching) {
		snprintf(why, len, "not watching the source (%s): rescanning "
		    "every %u ms", p->watch_error[0] ? p->watch_error :
		    "inotify unavailable", p->c->poll_ms);
		return true;
	}
	if (p->renew_error[0] != '\0') {
		snprintf(why, len, "cannot renew the latest state's expiry: %s",
		    p->renew_error);
		return true;
	}
	return false;
}

/* A written version's stage breakdown (stages.h): counted, and said at
 * debug level. */
void
primary_count_stages(struct primary *p, int64_t start_us,
    const struct snap_marks *mk, uint64_t version)
{
	int64_t us[PUBLISH_STAGES];
	char line[192];

	stages_of_publish(p->noticed_us, start_us, mk, us);
	stages_observe(p->stage, us, PUBLISH_STAGES);
	stages_format(publish_stage_names, us, PUBLISH_STAGES, line,
	    sizeof(line));
	log_fields(LOG_LEVEL_DEBUG, LOG_FIELDS(LOG_INT("version", version)),
	    "version %" PRIu64 ": publish stages (ms): %s", version, line);
}
