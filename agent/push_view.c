/*
 * push_view.c - what the primary says of its push targets: status JSON and
 * Prometheus samples (see push.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include <jansson.h>

#include "daemon.h"
#include "fsutil.h"
#include "push_int.h"

static const char *
state_name(const struct pusher *p, const struct target *t)
{
	if (t->stage != STAGE_IDLE)
		return "pushing";
	if (t->gave_up)
		return "gave-up";
	return push_wants(p, t) ? "waiting" : "idle";
}

/* Wall-clock time of a monotonic instant, for people. */
static int64_t
wall_time(int64_t mono_ms)
{
	return fsu_now() + (mono_ms - daemon_now_ms() + 999) / 1000;
}

json_t *
push_status_json(const struct pusher *p)
{
	json_t *arr = json_array();
	char when[32];
	size_t i;

	for (i = 0; p != NULL && i < p->n; i++) {
		const struct target *t = &p->t[i];
		bool retry = t->tries > 0 && !t->gave_up &&
		    t->stage == STAGE_IDLE && push_wants(p, t);

		fsu_rfc3339(wall_time(t->due_ms), when);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:o, s:I, "
		    "s:o, s:o}", "target", t->url, "state", state_name(p, t),
		    "last_pushed_version", (json_int_t)t->pushed,
		    "pushing_version", t->stage != STAGE_IDLE ?
		    json_integer((json_int_t)t->pushing) : json_null(),
		    "tries", (json_int_t)t->tries,
		    "last_error", t->last_error[0] ?
		    json_string(t->last_error) : json_null(),
		    "next_retry_at", retry ? json_string(when) : json_null()));
	}
	return arr;
}

/* A label value in Prometheus text: backslash and quote escaped (targets
 * hold no blanks or control bytes: push_check_target). */
static void
put_label(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		fputc(*s, f);
	}
}

/* The gauges, one per target each: what a target's value of each is. */
enum gauge { G_LAST, G_UP_TO_DATE, G_TRIES, G_NEXT_RETRY, G_COUNT };

static const struct {
	const char *name, *help;
} gauges[G_COUNT] = {
	[G_LAST] = { "artsync_push_last_version",
	    "Last version fully pushed to the target." },
	[G_UP_TO_DATE] = { "artsync_push_up_to_date",
	    "1 when the target holds the latest version." },
	[G_TRIES] = { "artsync_push_failed_tries",
	    "Failed tries since the last success." },
	[G_NEXT_RETRY] = { "artsync_push_next_retry_seconds",
	    "Seconds until the next try (0: none waiting)." },
};

static int64_t
gauge_value(const struct pusher *p, const struct target *t, enum gauge g,
    int64_t now)
{
	switch (g) {
	case G_LAST:
		return (int64_t)t->pushed;
	case G_UP_TO_DATE:
		return t->pushed >= p->latest;
	case G_TRIES:
		return (int64_t)t->tries;
	case G_NEXT_RETRY:
	case G_COUNT:
		break;
	}
	return t->tries > 0 && !t->gave_up && t->stage == STAGE_IDLE &&
	    t->due_ms > now ? (t->due_ms - now + 999) / 1000 : 0;
}

void
push_render_metrics(const struct pusher *p, FILE *f)
{
	int64_t now = daemon_now_ms();
	size_t i;
	int g;

	if (p == NULL || p->n == 0)
		return;
	for (g = 0; g < G_COUNT; g++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g].name,
		    gauges[g].help, gauges[g].name);
		for (i = 0; i < p->n; i++) {
			fprintf(f, "%s{target=\"", gauges[g].name);
			put_label(f, p->t[i].url);
			fprintf(f, "\"} %" PRId64 "\n", gauge_value(p, &p->t[i],
			    (enum gauge)g, now));
		}
	}
}
