/*
 * leader_view.c - what a primary shows of its failover role (see
 * leader.h): the status JSON's "role", "epoch", "holder" and "ha", and
 * the artsync_ha_* metrics.
 */
#include <inttypes.h>

#include "daemon.h"
#include "jsonfield.h"
#include "leader_int.h"

void
leader_status(const struct leader *l, json_t *obj)
{
	json_t *ha;

	if (l == NULL) {
		json_object_set_new(obj, "ha", json_pack("{s:s}", "mode", "off"));
		return;
	}
	json_object_set_new(obj, "role", json_string(l->role == ROLE_LEADER ?
	    "primary" : "standby"));
	json_object_set_new(obj, "epoch", json_integer((json_int_t)(
	    l->role == ROLE_LEADER ? l->epoch : l->have_seen ? l->seen.epoch :
	    0)));
	json_object_set_new(obj, "holder", l->role == ROLE_LEADER ?
	    json_string(l->c->node_id) : l->have_seen && l->seen.phase !=
	    LEASE_RELEASED ? json_string(l->seen.node_id) : json_null());
	ha = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:o}",
	    "mode", ha_mode_name(l->h->mode),
	    "lease_ms", (json_int_t)l->h->lease_ms,
	    "renew_ms", (json_int_t)l->h->renew_ms,
	    "seal", (json_int_t)(l->role == ROLE_LEADER ? l->seal : 0),
	    "elections", (json_int_t)l->elections,
	    "role_since", jf_time_or_null(l->role_since),
	    "stepdowns", (json_int_t)l->stepdowns,
	    "heals", (json_int_t)l->heals,
	    "lease_age_ms", (json_int_t)(daemon_now_ms() -
	    (l->role == ROLE_LEADER ? l->renewed_ms : l->seen_ms)),
	    "error", l->error[0] ? json_string(l->error) : json_null());
	json_object_set_new(obj, "ha", ha);
}

void
leader_render_metrics(const struct leader *l, FILE *f)
{
	if (l == NULL)
		return;
	fprintf(f, "# HELP artsync_ha_leader 1 while this primary leads (ha), "
	    "0 while it stands by.\n# TYPE artsync_ha_leader gauge\n"
	    "artsync_ha_leader %d\n", l->role == ROLE_LEADER);
	fprintf(f, "# HELP artsync_ha_epoch The epoch this primary leads with, "
	    "or the holder's it last saw.\n# TYPE artsync_ha_epoch gauge\n"
	    "artsync_ha_epoch %" PRIu64 "\n", l->role == ROLE_LEADER ?
	    l->epoch : l->have_seen ? l->seen.epoch : 0);
	fprintf(f, "# HELP artsync_ha_elections_total Times this primary took "
	    "over.\n# TYPE artsync_ha_elections_total counter\n"
	    "artsync_ha_elections_total %" PRIu64 "\n", l->elections);
	fprintf(f, "# HELP artsync_ha_stepdowns_total Times it stepped down "
	    "(deposed, or it could not renew).\n# TYPE "
	    "artsync_ha_stepdowns_total counter\n"
	    "artsync_ha_stepdowns_total %" PRIu64 "\n", l->stepdowns);
	fprintf(f, "# HELP artsync_ha_heals_total Times it put state.json "
	    "back after a deposed leader's late write.\n# TYPE "
	    "artsync_ha_heals_total counter\n"
	    "artsync_ha_heals_total %" PRIu64 "\n", l->heals);
}
