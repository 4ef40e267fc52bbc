/*
 * metrics.c - counters and their Prometheus text exposition (see metrics.h).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "metrics.h"

static const int codes[METRICS_NCODES] = METRICS_CODES;

static const char *const reason_names[REJECT_COUNT] = {
	"checksum", "truncated", "malformed", "hostile_entry", "missing_file",
	"older_version", "unsigned", "wrong_key", "bad_signature",
	"blake2b_mismatch", "invalid_artifact", "too_large", "no_space",
	"other",
};

const char *
metrics_reason_name(enum reject_reason r)
{
	return reason_names[r];
}

/*
 * The library's messages are stable sentences: each reason is known by its
 * words. A message also carries text from the snapshot itself (paths and
 * names, JSON tokens, libxml2's quotes of the document), which a hostile
 * writer chooses. So: quoted text is dropped before matching, every
 * pattern holds a blank or a '(' (which no artifact name, XML name or
 * number can), and the pattern found first in the message wins - our words
 * come before what they quote ("entry '...' is ...", "invalid artifact:
 * <libxml2's message>").
 */
static const struct {
	const char *words;
	enum reject_reason reason;
} patterns[] = {
	/* Signature refusals (sign.c, arc.c, manifest.c). */
	{ "not signed (no ", REJECT_UNSIGNED },
	{ "signed by another key", REJECT_WRONG_KEY },
	{ "bad signature", REJECT_BAD_SIGNATURE },
	{ "blake2b mismatch", REJECT_BLAKE2B },
	{ "invalid artifact", REJECT_INVALID },
	{ "entry '", REJECT_HOSTILE },
	{ "entry without a path", REJECT_HOSTILE },
	{ " but not in the archive", REJECT_HOSTILE },
	{ "checksum mismatch", REJECT_CHECKSUM },
	{ "changed while", REJECT_CHECKSUM },
	{ "differs from its copy", REJECT_CHECKSUM },
	{ "(truncated", REJECT_TRUNCATED },
	{ "longer than the", REJECT_TRUNCATED },
	{ "more data than", REJECT_TRUNCATED },
	{ "over the ", REJECT_TOO_LARGE },
	{ "larger than the ", REJECT_TOO_LARGE },
	{ "No space left", REJECT_NO_SPACE },
	{ "Disk quota exceeded", REJECT_NO_SPACE },
	{ "No such file", REJECT_MISSING },
	{ "older than applied", REJECT_OLDER },
	/* I/O and memory: not the snapshot's fault. Listed before
	 * "archive: ", which they start with. */
	{ "archive: read: ", REJECT_OTHER },
	{ "archive: seek: ", REJECT_OTHER },
	{ "archive: out of memory", REJECT_OTHER },
	{ "out of memory", REJECT_OTHER },
	/* state.json, the manifest or the tar stream does not parse, or a
	 * field breaks its schema (jsonfield.c, state.c, manifest.c,
	 * libarchive's own words after "archive: "). */
	{ "malformed JSON", REJECT_MALFORMED },
	{ "not a JSON object", REJECT_MALFORMED },
	{ " is not ", REJECT_MALFORMED },
	{ "not a regular file", REJECT_MALFORMED },
	{ " does not match ", REJECT_MALFORMED },
	{ " must list ", REJECT_MALFORMED },
	{ " file is '", REJECT_MALFORMED },
	{ " records version ", REJECT_MALFORMED },
	{ " listed twice", REJECT_MALFORMED },
	/* the delta chain (state.c, manifest.c) */
	{ " belongs", REJECT_MALFORMED },
	{ " both removes ", REJECT_MALFORMED },
	{ " does not hold", REJECT_MALFORMED },
	{ " has parent ", REJECT_MALFORMED },
	{ "a delta without a parent", REJECT_MALFORMED },
	{ "than the header counts", REJECT_MALFORMED },
	{ "header counts ", REJECT_MALFORMED },
	{ " artifacts are listed", REJECT_MALFORMED },
	{ " has a character other than", REJECT_MALFORMED },
	{ " holds a ", REJECT_MALFORMED },
	{ " is too long", REJECT_MALFORMED },
	{ "id must be ", REJECT_MALFORMED },
	{ "empty label", REJECT_MALFORMED },
	{ "label longer than", REJECT_MALFORMED },
	{ "artifact name ", REJECT_MALFORMED },
	{ "empty artifact name", REJECT_MALFORMED },
	{ "archive: ", REJECT_MALFORMED },
};

enum reject_reason
metrics_reason(const char *msg)
{
	char plain[1024], *hit, *first = NULL;
	enum reject_reason r = REJECT_OTHER;
	bool quoted = false;
	size_t i, n = 0;

	/* 'anything' becomes '' */
	for (; *msg != '\0' && n + 1 < sizeof(plain); msg++) {
		if (*msg == '\'')
			quoted = !quoted;
		else if (quoted)
			continue;
		plain[n++] = *msg;
	}
	plain[n] = '\0';
	/* The first found wins; at the same place, the first listed. */
	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		hit = strstr(plain, patterns[i].words);
		if (hit != NULL && (first == NULL || hit < first)) {
			first = hit;
			r = patterns[i].reason;
		}
	}
	return r;
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
	fprintf(f, "# HELP artsync_apply_duration_seconds Duration of the last "
	    "apply.\n# TYPE artsync_apply_duration_seconds gauge\n"
	    "artsync_apply_duration_seconds %" PRIu64 ".%03" PRIu64 "\n",
	    m->apply_ms_last / 1000, m->apply_ms_last % 1000);
	fprintf(f, "# HELP artsync_apply_duration_seconds_total Time spent "
	    "applying.\n# TYPE artsync_apply_duration_seconds_total counter\n"
	    "artsync_apply_duration_seconds_total %" PRIu64 ".%03" PRIu64 "\n",
	    m->apply_ms_sum / 1000, m->apply_ms_sum % 1000);
	fprintf(f, "# HELP artsync_applies_total Releases swapped in.\n"
	    "# TYPE artsync_applies_total counter\nartsync_applies_total %"
	    PRIu64 "\n", m->applies);
	fprintf(f, "# HELP artsync_rejects_total Versions refused, by reason.\n"
	    "# TYPE artsync_rejects_total counter\n");
	for (i = 0; i < REJECT_COUNT; i++)
		fprintf(f, "artsync_rejects_total{reason=\"%s\"} %" PRIu64 "\n",
		    reason_names[i], m->rejects[i]);
	fprintf(f, "# HELP artsync_overrides Local overrides on this gateway.\n"
	    "# TYPE artsync_overrides gauge\n"
	    "artsync_overrides{state=\"undeployed-local\"} %zu\n"
	    "artsync_overrides{state=\"deployed-local\"} %zu\n",
	    s->undeployed_local, s->deployed_local);
	metrics_render_http(m, f);
}
