/*
 * metrics.c - counters and their Prometheus text exposition (see metrics.h).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "metrics.h"
#include "snap.h"

#ifndef ARTSYNC_COMMIT
#define ARTSYNC_COMMIT "unknown"
#endif

static const int codes[METRICS_NCODES] = METRICS_CODES;

/* The reasons, one sample each, in this order: the codes that share a
 * name (snap_code_name) add up under it. */
static const char *const reasons[] = {
	"checksum", "truncated", "malformed", "hostile_entry", "missing_file",
	"older_version", "unsigned", "wrong_key", "bad_signature",
	"blake2b_mismatch", "invalid_artifact", "too_large", "no_space",
	"wrong_cluster", "expired", "stale_epoch", "epoch_pending", "io", "other",
};

static const char *const root_states[] = {
	"ok", "unverifiable", "older", "unreachable",
};

void
metrics_count_reject(struct metrics *m, enum snap_code code)
{
	if ((unsigned)code >= SNAP_E_COUNT)
		code = SNAP_E_OTHER;
	m->rejects[code]++;
}

void
metrics_count_apply(struct metrics *m, uint64_t apply_ms, int64_t lag_ms)
{
	m->applies++;
	m->apply_ms_last = apply_ms;
	m->apply_ms_sum += apply_ms;
	histogram_observe_ms(&m->apply, apply_ms);
	if (lag_ms >= 0)
		histogram_observe_ms(&m->lag, (uint64_t)lag_ms);
}

void
metrics_render_build_info(FILE *f)
{
	const char *v = SNAP_VERSION_STRING;

	/* "artsync 0.1.0": the number alone is the label. */
	if (strchr(v, ' ') != NULL)
		v = strchr(v, ' ') + 1;
	fprintf(f, "# HELP artsync_build_info The running build (always 1).\n"
	    "# TYPE artsync_build_info gauge\n"
	    "artsync_build_info{version=\"%s\",commit=\"%s\"} 1\n", v,
	    ARTSYNC_COMMIT);
}

static uint64_t
rejects_named(const struct metrics *m, const char *reason)
{
	uint64_t n = 0;
	size_t c;

	for (c = 0; c < SNAP_E_COUNT; c++)
		if (strcmp(snap_code_name((enum snap_code)c), reason) == 0)
			n += m->rejects[c];
	return n;
}

void
metrics_count_http(struct metrics *m, int route, int code)
{
	size_t i;

	if (route < 0 || route > ROUTE_COUNT)
		route = ROUTE_COUNT;
	for (i = 0; i < METRICS_NCODES; i++)
		if (codes[i] == code)
			break;
	m->http[route][i]++;
}

static void
gauge(FILE *f, const char *name, const char *help, uint64_t v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %" PRIu64 "\n", name, help,
	    name, name, v);
}

void
metrics_render_http(const struct metrics *m, FILE *f)
{
	size_t r, i;

	fprintf(f, "# HELP artsync_http_requests_total REST requests by route "
	    "and status code.\n# TYPE artsync_http_requests_total counter\n");
	for (r = 0; r <= ROUTE_COUNT; r++)
		for (i = 0; i <= METRICS_NCODES; i++) {
			if (m->http[r][i] == 0)
				continue;
			fprintf(f, "artsync_http_requests_total{route=\"%s\","
			    "code=\"", r < ROUTE_COUNT ?
			    route_label((enum route_id)r) : "unknown");
			if (i < METRICS_NCODES)
				fprintf(f, "%d", codes[i]);
			else
				fprintf(f, "other");
			fprintf(f, "\"} %" PRIu64 "\n", m->http[r][i]);
		}
}

void
metrics_render(const struct metrics *m, const struct metrics_sample *s,
    FILE *f)
{
	size_t i;

	metrics_render_build_info(f);
	gauge(f, "artsync_applied_version", "Upstream version of the release "
	    "being served.", s->applied_version);
	gauge(f, "artsync_latest_seen_version", "Highest version seen in the "
	    "sync root.", s->latest_seen_version);
	gauge(f, "artsync_last_sync_timestamp_seconds", "Unix time of the last "
	    "successful sync (0: never).", (uint64_t)s->last_sync_at);
	gauge(f, "artsync_healthy", "1 when /healthz answers 200.",
	    (uint64_t)s->healthy);
	gauge(f, "artsync_sync_root_up", "1 when the sync root and its "
	    "state.json could be read at the last check.",
	    (uint64_t)s->sync_root_up);
	gauge(f, "artsync_sync_root_verifiable", "1 when the last check found "
	    "a state.json this node can verify (signature, cluster, expiry) "
	    "and not older than what it serves.",
	    (uint64_t)s->sync_root_verifiable);
	fprintf(f, "# HELP artsync_sync_root_state What the last check made of "
	    "the sync root (1 for the one that holds).\n"
	    "# TYPE artsync_sync_root_state gauge\n");
	for (i = 0; i < sizeof(root_states) / sizeof(root_states[0]); i++)
		fprintf(f, "artsync_sync_root_state{state=\"%s\"} %d\n",
		    root_states[i], s->sync_root_state != NULL &&
		    strcmp(s->sync_root_state, root_states[i]) == 0);
	fprintf(f, "# HELP artsync_apply_duration_seconds Duration of the last "
	    "apply.\n# TYPE artsync_apply_duration_seconds gauge\n"
	    "artsync_apply_duration_seconds %" PRIu64 ".%03" PRIu64 "\n",
	    m->apply_ms_last / 1000, m->apply_ms_last % 1000);
	fprintf(f, "# HELP artsync_apply_duration_seconds_total Time spent "
	    "applying.\n# TYPE artsync_apply_duration_seconds_total counter\n"
	    "artsync_apply_duration_seconds_total %" PRIu64 ".%03" PRIu64 "\n",
	    m->apply_ms_sum / 1000, m->apply_ms_sum % 1000);
	histogram_render(&m->apply, f, "artsync_apply_seconds", "Duration of "
	    "each apply, from the check that found the version to the swap.");
	histogram_render(&m->lag, f, "artsync_sync_lag_seconds", "From the "
	    "version's published_at (the primary's clock, whole seconds) to its "
	    "swap here.");
	stages_render(m->stage, apply_stage_names, APPLY_STAGES, f,
	    "artsync_apply_stage_seconds", "Each apply by stage: notice "
	    "(state.json renamed in to the check), read, build, fsync, swap, "
	    "total (notice to swap).");
	fprintf(f, "# HELP artsync_applies_total Releases swapped in.\n"
	    "# TYPE artsync_applies_total counter\nartsync_applies_total %"
	    PRIu64 "\n", m->applies);
	fprintf(f, "# HELP artsync_rejects_total Versions refused, by reason.\n"
	    "# TYPE artsync_rejects_total counter\n");
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		fprintf(f, "artsync_rejects_total{reason=\"%s\"} %" PRIu64 "\n",
		    reasons[i], rejects_named(m, reasons[i]));
	fprintf(f, "# HELP artsync_overrides Local overrides on this gateway.\n"
	    "# TYPE artsync_overrides gauge\n"
	    "artsync_overrides{state=\"undeployed-local\"} %zu\n"
	    "artsync_overrides{state=\"deployed-local\"} %zu\n",
	    s->undeployed_local, s->deployed_local);
	metrics_render_http(m, f);
}

void
metrics_render_primary(const struct metrics_primary *s, FILE *f)
{
	metrics_render_build_info(f);
	fprintf(f, "# HELP artsync_publishes_total Versions published.\n"
	    "# TYPE artsync_publishes_total counter\n"
	    "artsync_publishes_total %" PRIu64 "\n", s->publishes);
	fprintf(f, "# HELP artsync_publish_failures_total Publishes that "
	    "failed (each retry counts).\n"
	    "# TYPE artsync_publish_failures_total counter\n"
	    "artsync_publish_failures_total %" PRIu64 "\n", s->publish_failures);
	if (s->publish_time != NULL)
		histogram_render(s->publish_time, f, "artsync_publish_seconds",
		    "Duration of each publish that wrote a version.");
	if (s->stages != NULL)
		stages_render(s->stages, publish_stage_names, PUBLISH_STAGES, f,
		    "artsync_publish_stage_seconds", "Each publish that wrote a "
		    "version by stage: notice (first change seen to the "
		    "publish), read, write, fsync, state, total.");
	gauge(f, "artsync_published_version", "Latest version in the sync "
	    "root.", s->published_version);
	gauge(f, "artsync_last_publish_timestamp_seconds", "Unix time of the "
	    "last publish (0: none yet).", (uint64_t)s->last_publish_at);
	gauge(f, "artsync_publish_failing", "1 while the last publish failed.",
	    (uint64_t)s->publish_failing);
	gauge(f, "artsync_source_watch_ok", "1 while inotify watches the whole "
	    "source tree; 0 while it is rescanned every poll_ms instead.",
	    (uint64_t)s->source_watch_ok);
	gauge(f, "artsync_state_expires_timestamp_seconds", "Unix time the "
	    "latest signed state expires, as renewed (0: no expiry).",
	    (uint64_t)s->state_expires_at);
}
