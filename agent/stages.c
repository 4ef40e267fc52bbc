/*
 * stages.c - an apply's and a publish's stage breakdown (see stages.h).
 *
 * The marks come from the code that does the work (deploy_build(),
 * snap_publish_changes()); here they only become durations. A mark left
 * at 0 (a step not reached) makes the stages on both sides of it untimed
 * rather than wrong.
 */
#include <inttypes.h>
#include <stdio.h>

#include "stages.h"

const char *const apply_stage_names[APPLY_STAGES] = {
	"notice", "read", "build", "fsync", "swap", "total",
};

const char *const publish_stage_names[PUBLISH_STAGES] = {
	"notice", "read", "write", "fsync", "state", "total",
};

void
stages_init(struct histogram *h, size_t n)
{
	const struct histogram empty = HISTOGRAM_INIT_US;
	size_t i;

	for (i = 0; i < n; i++)
		h[i] = empty;
}

/* to - from, when both were reached and in that order. */
static int64_t
span(int64_t from, int64_t to)
{
	return from > 0 && to >= from ? to - from : STAGE_UNTIMED;
}

void
stages_of_apply(int64_t notice_us, int64_t check_us,
    const struct apply_stats *st, int64_t us[APPLY_STAGES])
{
	us[APPLY_NOTICE] = notice_us >= 0 ? notice_us : STAGE_UNTIMED;
	us[APPLY_READ] = span(check_us, st->checked_us);
	us[APPLY_BUILD] = span(st->checked_us, st->staged_us);
	us[APPLY_FSYNC] = span(st->staged_us, st->durable_us);
	us[APPLY_SWAP] = span(st->durable_us, st->swapped_us);
	us[APPLY_TOTAL] = span(check_us, st->swapped_us);
	/* A notice from a clock behind ours adds nothing it can vouch for. */
	if (us[APPLY_TOTAL] >= 0 && us[APPLY_NOTICE] >= 0)
		us[APPLY_TOTAL] += us[APPLY_NOTICE];
}

void
stages_of_publish(int64_t noticed_us, int64_t start_us,
    const struct snap_marks *mk, int64_t us[PUBLISH_STAGES])
{
	const int64_t *at = mk->at;

	us[PUBLISH_NOTICE] = span(noticed_us, start_us);
	us[PUBLISH_READ] = span(start_us, at[SNAP_MARK_READ]);
	us[PUBLISH_WRITE] = span(at[SNAP_MARK_READ], at[SNAP_MARK_WRITTEN]);
	us[PUBLISH_FSYNC] = span(at[SNAP_MARK_WRITTEN], at[SNAP_MARK_SYNCED]);
	us[PUBLISH_STATE] = span(at[SNAP_MARK_SYNCED],
	    at[SNAP_MARK_COMMITTED]);
	us[PUBLISH_TOTAL] = span(noticed_us > 0 ? noticed_us : start_us,
	    at[SNAP_MARK_COMMITTED]);
}

void
stages_observe(struct histogram *h, const int64_t *us, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (us[i] >= 0)
			histogram_observe_us(&h[i], (uint64_t)us[i]);
}

void
stages_format(const char *const *names, const int64_t *us, size_t n,
    char *buf, size_t len)
{
	size_t i, used = 0;
	int w;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < n && used < len; i++) {
		if (us[i] >= 0)
			w = snprintf(buf + used, len - used, "%s%s %" PRId64
			    ".%03d", i > 0 ? " " : "", names[i], us[i] / 1000,
			    (int)(us[i] % 1000));
		else
			w = snprintf(buf + used, len - used, "%s%s -",
			    i > 0 ? " " : "", names[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

void
stages_render(const struct histogram *h, const char *const *names, size_t n,
    FILE *f, const char *name, const char *help)
{
	char labels[64];
	size_t i;

	histogram_render_head(f, name, help);
	for (i = 0; i < n; i++) {
		snprintf(labels, sizeof(labels), "stage=\"%s\"", names[i]);
		histogram_render_series(&h[i], f, name, labels);
	}
}
