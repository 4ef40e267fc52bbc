/*
 * pinned.c - a primary honouring pin.json (see pinned.h).
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "fsutil.h"
#include "jsonfield.h"
#include "log.h"
#include "pinned.h"

/* How often pin.json is read: a standby's look, or a second. */
static int64_t
period_ms(const struct config *c)
{
	return c->ha.mode != HA_OFF ? c->ha.renew_ms : 1000;
}

bool
pinned_due(const struct pinned *pn, int64_t now)
{
	return now >= pn->due_ms;
}

int
pinned_timeout_ms(const struct pinned *pn, int timeout, int64_t now)
{
	int64_t wait = pn->due_ms - now;

	if (wait < 0)
		wait = 0;
	return timeout < 0 || wait < timeout ? (int)wait : timeout;
}

static void
say_error(struct pinned *pn, const struct snap_err *err)
{
	if (strcmp(err->msg, pn->error) != 0)
		log_warnx("pin: %s", err->msg);
	snprintf(pn->error, sizeof(pn->error), "%s", err->msg);
}

bool
pinned_look(struct pinned *pn, const struct config *c)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct pin p;
	bool was = pn->on;
	uint64_t before = pn->pin.version;
	int rootfd, rc;

	pn->due_ms = daemon_now_ms() + period_ms(c);
	if ((rootfd = fsu_open_root(c->sync_root, &err)) == -1)
		return false;	/* the publish will say why */
	rc = pin_read(rootfd, &p, &err);
	close(rootfd);
	if (rc == -1) {
		/* A pin that cannot be read now: what was known holds
		 * (publishing over an operator's decision is worse than
		 * waiting). */
		say_error(pn, &err);
		return false;
	}
	pn->error[0] = '\0';
	if (rc == 0 && strcmp(p.cluster_id, c->cluster_id) != 0) {
		snap_err_set(&err, "pin.json belongs to cluster '%s', this node "
		    "to '%s': ignored", p.cluster_id, c->cluster_id);
		say_error(pn, &err);
		rc = 1;
	}
	pn->on = rc == 0;
	if (pn->on)
		pn->pin = p;
	else
		memset(&pn->pin, 0, sizeof(pn->pin));
	if (pn->on && (!was || before != p.version)) {
		pn->checked = 0;
		log_fields(LOG_LEVEL_WARN, LOG_FIELDS(
		    LOG_INT("version", p.version)), "pinned to version %" PRIu64
		    " by %s: no source change is published until artsync unpin",
		    p.version, p.by);
		return true;
	}
	if (!pn->on && was) {
		log_info("unpinned: publishing the source again");
		return true;
	}
	return false;
}

/* Whether the latest version holds the content of version `want`. */
static int
same_content(int rootfd, uint64_t want, const struct sign_key *key,
    bool *same, struct snap_err *err)
{
	struct snap_version a = SNAP_VERSION_INIT, b = SNAP_VERSION_INIT;
	int rc = -1;

	a.pub = b.pub = key;
	a.drop_full_events = b.drop_full_events = true;
	if (snap_open(rootfd, want, &a, err) == -1 ||
	    snap_open(rootfd, 0, &b, err) == -1)
		goto out;
	*same = manifest_same_content(a.m, b.m);
	rc = 0;
out:
	snap_close(&a);
	snap_close(&b);
	return rc;
}

bool
pinned_hold(struct pinned *pn, const struct config *c,
    const struct snap_publish_opts *o, uint64_t *latest)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state st;
	uint64_t version;
	bool same = false;
	int rootfd;

	if (!pn->on)
		return false;
	if ((rootfd = fsu_open_root(c->sync_root, &err)) == -1) {
		say_error(pn, &err);
		return true;
	}
	if (state_read(rootfd, STATE_FILE, &st, &err) == -1 ||
	    st.version == pn->checked)
		goto out;
	if (st.version == pn->pin.version) {
		pn->checked = st.version;
		goto out;
	}
	if (pn->pin.version > st.version) {
		snap_err_set(&err, "pinned version %" PRIu64 " is above the "
		    "latest, %" PRIu64 ": holding the latest", pn->pin.version,
		    st.version);
		say_error(pn, &err);
		goto out;
	}
	if (same_content(rootfd, pn->pin.version, o->key, &same, &err) == -1) {
		snap_err_prefix(&err, "version %" PRIu64 " cannot be read",
		    pn->pin.version);
		say_error(pn, &err);
		goto out;
	}
	if (same) {
		pn->checked = st.version;
		goto out;
	}
	/* The latest is not the pinned content (a rollback asked of a
	 * leader, or a source change that landed before the pin): publish
	 * the pinned version again, as the newest. */
	if (snap_rollback(c->sync_root, pn->pin.version, o, &version,
	    &err) == -1) {
		snap_err_prefix(&err, "cannot publish pinned version %" PRIu64
		    " again", pn->pin.version);
		say_error(pn, &err);
		goto out;
	}
	pn->error[0] = '\0';
	pn->checked = version;
	*latest = version;
	log_fields(LOG_LEVEL_INFO, LOG_FIELDS(LOG_INT("version", version)),
	    "pinned: version %" PRIu64 "'s content published again as version "
	    "%" PRIu64, pn->pin.version, version);
out:
	close(rootfd);
	return true;
}

void
pinned_status(const struct pinned *pn, json_t *obj)
{
	json_object_set_new(obj, "pinned", pn->on ? json_pack("{s:I, s:s, s:o}",
	    "version", (json_int_t)pn->pin.version, "by", pn->pin.by,
	    "pinned_at", jf_time_or_null(pn->pin.pinned_at)) : json_null());
}

void
pinned_render_metrics(const struct pinned *pn, FILE *f)
{
	fprintf(f, "# HELP artsync_pinned 1 while the sync root is pinned "
	    "(pin.json): no source change is published.\n"
	    "# TYPE artsync_pinned gauge\nartsync_pinned %d\n", pn->on);
	fprintf(f, "# HELP artsync_pinned_version The version pinned (0: "
	    "none).\n# TYPE artsync_pinned_version gauge\n"
	    "artsync_pinned_version %" PRIu64 "\n", pn->on ? pn->pin.version :
	    0);
}

int
pinned_set(const struct config *c, uint64_t version, uint64_t *pinned,
    struct snap_err *err)
{
	struct snap_state st, at;
	struct pin p;
	int rootfd, rc = -1;

	if ((rootfd = fsu_open_root(c->sync_root, err)) == -1)
		return -1;
	if (state_read(rootfd, STATE_FILE, &st, err) == -1) {
		snap_err_prefix(err, "sync root %s", c->sync_root);
		goto out;
	}
	if (version == 0)
		version = st.version;
	if (version > st.version) {
		snap_err_set(err, "version %" PRIu64 " is above the latest, %"
		    PRIu64, version, st.version);
		goto out;
	}
	/* Only what a primary could publish again: every file there and
	 * verified (and signed by c's key, when set). */
	if (snap_verify(c->sync_root, version, c->have_key ? &c->key : NULL,
	    &at, err) == -1) {
		snap_err_prefix(err, "version %" PRIu64, version);
		goto out;
	}
	memset(&p, 0, sizeof(p));
	snprintf(p.cluster_id, sizeof(p.cluster_id), "%s", c->cluster_id);
	snprintf(p.by, sizeof(p.by), "%s", c->node_id);
	p.version = version;
	p.pinned_at = fsu_now();
	if (pin_write(rootfd, &p, err) == -1) {
		snap_err_prefix(err, "sync root %s", c->sync_root);
		goto out;
	}
	*pinned = version;
	rc = 0;
out:
	close(rootfd);
	return rc;
}

int
pinned_clear(const struct config *c, struct snap_err *err)
{
	int rootfd, rc;

	if ((rootfd = fsu_open_root(c->sync_root, err)) == -1)
		return -1;
	rc = pin_remove(rootfd, err);
	close(rootfd);
	return rc == -1 ? snap_err_prefix(err, "sync root %s", c->sync_root) :
	    0;
}

int
pinned_get(const struct config *c, struct pin *p, struct snap_err *err)
{
	int rootfd, rc;

	if ((rootfd = fsu_open_root(c->sync_root, err)) == -1)
		return err->code == SNAP_E_MISSING ? 1 : -1;
	rc = pin_read(rootfd, p, err);
	close(rootfd);
	return rc;
}

int
pinned_publish_allowed(const struct config *c, bool unpin)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct pin pin;
	int rc;

	if (c->ha.mode != HA_OFF) {
		fprintf(stderr, "artsync: publish: ha = %s: only the leading "
		    "primary publishes (artsync primary); --ha off publishes "
		    "alone, on a sync root without failover\n",
		    ha_mode_name(c->ha.mode));
		return 1;
	}
	if ((rc = pinned_get(c, &pin, &err)) == -1) {
		fprintf(stderr, "artsync: publish: %s\n", err.msg);
		return 1;
	}
	if (rc == 0 && !unpin) {
		fprintf(stderr, "artsync: publish: %s is pinned to version %"
		    PRIu64 " by %s: nothing is published until artsync unpin "
		    "(or publish --unpin)\n", c->sync_root, pin.version, pin.by);
		return 1;
	}
	if (rc == 0 && pinned_clear(c, &err) == -1) {
		fprintf(stderr, "artsync: publish: %s\n", err.msg);
		return 1;
	}
	return 0;
}

int
pinned_rollback_begin(const struct config *c, uint64_t to, int *was)
{
	struct snap_err err = SNAP_ERR_INIT;
	uint64_t version;
	struct pin pin;

	/* The pin first: a running primary must not publish its source
	 * over the rollback. */
	*was = pinned_get(c, &pin, &err);
	if (pinned_set(c, to, &version, &err) == -1) {
		fprintf(stderr, "artsync: rollback failed: %s\n", err.msg);
		return 1;
	}
	fprintf(stderr, "artsync: pinned to version %" PRIu64 ": %s\n", version,
	    c->ha.mode != HA_OFF ? "the leading primary publishes its content "
	    "again" : "artsync unpin lets primaries publish the source again");
	if (c->ha.mode == HA_OFF)
		return -1;
	printf("pinned %" PRIu64 "\n", version);
	return 0;
}

void
pinned_rollback_failed(const struct config *c, int was)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (was == 1)	/* there was no pin before: none after */
		(void)pinned_clear(c, &err);
}

int
pinned_command(const struct config *c, bool on, uint64_t version)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (on ? pinned_set(c, version, &version, &err) :
	    pinned_clear(c, &err)) {
		fprintf(stderr, "artsync: %s failed: %s\n", on ? "pin" : "unpin",
		    err.msg);
		return 1;
	}
	if (on)
		printf("pinned %" PRIu64 "\n", version);
	else
		printf("unpinned\n");
	return 0;
}
