/*
 * leader.c - one primary's part in failover (see leader.h): the state
 * machine's life cycle (new, free: the lease released), its tick, and the
 * hooks around a publish (may publish, the precommit check, published).
 * The looks themselves - stand by, take over, renew, heal - are in
 * leader_elect.c; status and metrics in leader_view.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "epoch.h"
#include "etcd.h"
#include "fsutil.h"
#include "leader_int.h"
#include "log.h"

/* The signing key: leases are signed with it, and read only when they
 * verify with it. */
const struct sign_key *
leader_key(const struct leader *l)
{
	return l->c->have_key ? &l->c->key : NULL;
}

/* Says a failure once, not at every tick. */
void
leader_say_error(struct leader *l, const struct snap_err *err)
{
	if (strcmp(err->msg, l->error) != 0)
		log_warnx("ha: %s", err->msg);
	snprintf(l->error, sizeof(l->error), "%s", err->msg);
}

void
leader_clear_error(struct leader *l)
{
	if (l->error[0] != '\0')
		log_info("ha: the sync root works again");
	l->error[0] = '\0';
}

int
leader_new(const struct config *c, struct leader **out, struct snap_err *err)
{
	struct leader *l;
	const char *stop = getenv("ARTSYNC_TEST_STOP_BEFORE_COMMIT");

	*out = NULL;
	if (c->ha.mode == HA_OFF)
		return 0;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return snap_err_sys(err, errno, "ha");
	if (c->ha.mode == HA_ETCD) {
		long timeout = c->ha.renew_ms / 2;

		/* A call must end well within a renewal: an etcd without
		 * quorum does not answer at all. */
		if ((l->etcd = etcd_new(c->ha.etcd, timeout < 200 ? 200 :
		    timeout > 2000 ? 2000 : timeout, err)) == NULL) {
			free(l);
			return -1;
		}
		snprintf(l->key_leader, sizeof(l->key_leader),
		    "/artsync/%s/leader", c->cluster_id);
		snprintf(l->key_state, sizeof(l->key_state),
		    "/artsync/%s/state", c->cluster_id);
	}
	l->c = c;
	l->h = &c->ha;
	l->role = ROLE_STANDBY;
	l->due_ms = 0;
	l->role_since = fsu_now();
	l->stop_before_commit = stop != NULL ? (unsigned)atoi(stop) : 0;
	epoch_nonce(l->nonce);
	*out = l;
	log_info("ha %s: standing by (lease %u ms, renew %u ms, grace %u ms)",
	    ha_mode_name(c->ha.mode), c->ha.lease_ms, c->ha.renew_ms,
	    c->ha.takeover_grace_ms);
	return 0;
}

void
leader_fill_lease(const struct leader *l, struct lease *ls,
    enum lease_phase phase)
{
	memset(ls, 0, sizeof(*ls));
	snprintf(ls->cluster_id, sizeof(ls->cluster_id), "%s", l->c->cluster_id);
	snprintf(ls->node_id, sizeof(ls->node_id), "%s", l->c->node_id);
	ls->epoch = l->epoch;
	ls->phase = phase;
	ls->base_version = l->seal;
	ls->seq = l->seq;
	ls->lease_ms = l->h->lease_ms;
	ls->renew_ms = l->h->renew_ms;
}

bool
leader_lease_is_ours(const struct leader *l, const struct lease *ls)
{
	return ls->epoch == l->epoch &&
	    strcmp(ls->node_id, l->c->node_id) == 0;
}

void
leader_free(struct leader *l)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct lease ls;
	int rootfd;

	if (l == NULL)
		return;
	if (l->role == ROLE_LEADER &&
	    (rootfd = fsu_open_root(l->c->sync_root, &err)) >= 0) {
		/* Only our own lease is released: a higher epoch's stays. */
		if (epoch_lease_read(rootfd, leader_key(l), &ls, &err) == 0 &&
		    leader_lease_is_ours(l, &ls)) {
			l->seq++;
			leader_fill_lease(l, &ls, LEASE_RELEASED);
			if (epoch_lease_write(rootfd, leader_key(l), &ls,
			    &err) == 0)
				log_info("ha: released epoch %" PRIu64, l->epoch);
			else
				log_warnx("ha: cannot release the lease: %s",
				    err.msg);
		}
		close(rootfd);
	}
	/* etcd deletes the leader key with the lease: a standby's next look
	 * finds it free. */
	if (l->etcd != NULL && l->etcd_lease != 0 &&
	    etcd_lease_revoke(l->etcd, l->etcd_lease, &err) == -1)
		log_warnx("ha: cannot revoke the etcd lease: %s", err.msg);
	etcd_free(l->etcd);
	free(l);
}

bool
leader_leads(const struct leader *l)
{
	return l == NULL || l->role == ROLE_LEADER;
}

bool
leader_due(const struct leader *l, int64_t now)
{
	return l != NULL && now >= l->due_ms;
}

int
leader_timeout_ms(const struct leader *l, int timeout, int64_t now)
{
	int64_t wait;

	if (l == NULL)
		return timeout;
	wait = l->due_ms - now;
	if (wait < 0)
		wait = 0;
	return timeout < 0 || wait < timeout ? (int)wait : timeout;
}

/* snap.h's precommit: right before state.json is renamed. */
static int
precommit(void *arg, uint64_t version, struct snap_err *err)
{
	struct leader *l = arg;
	int64_t age = daemon_now_ms() - l->renewed_ms;
	struct lease ls;
	char v[32];
	int rootfd, rc;

	if (l->role != ROLE_LEADER)
		return snap_err_set(err, "ha: not leading: not committing");
	if (age >= (int64_t)(l->h->lease_ms - l->h->safety_ms))
		return snap_err_set(err, "ha: lease of epoch %" PRIu64 " last "
		    "renewed %" PRId64 " ms ago: not committing", l->epoch, age);
	if ((rootfd = fsu_open_root(l->c->sync_root, err)) == -1)
		return -1;
	rc = epoch_lease_read(rootfd, leader_key(l), &ls, err);
	close(rootfd);
	if (rc == 1)
		return snap_err_set(err, "ha: lease.json is gone: not "
		    "committing");
	if (rc == -1)
		return snap_err_prefix(err, "ha: not committing");
	if (ls.epoch > l->epoch)
		return snap_err_set(err, "ha: deposed by %s with epoch %" PRIu64
		    ": not committing", ls.node_id, ls.epoch);
	/* etcd: the commit itself, fenced on still holding the key (a
	 * compare on its create revision, in one transaction). */
	snprintf(v, sizeof(v), "%" PRIu64, version);
	if (l->etcd != NULL && (rc = etcd_put_if_leader(l->etcd, l->key_leader,
	    (int64_t)l->epoch, l->key_state, v, err)) != 0)
		return rc == 1 ? snap_err_set(err, "ha: the etcd leader key is "
		    "no longer ours (epoch %" PRIu64 "): not committing",
		    l->epoch) : snap_err_prefix(err, "ha: not committing");
	/* The test hook: stopped where a stalled share or a pause would
	 * hold a real leader, past its check and before its rename. */
	if (l->stop_before_commit != 0 &&
	    ++l->commits == l->stop_before_commit) {
		log_warnx("ha: test hook: stopping before commit %u",
		    l->commits);
		raise(SIGSTOP);
	}
	return 0;
}

void
leader_publish_opts(struct leader *l, struct snap_publish_opts *o)
{
	if (l == NULL)
		return;
	o->epoch = l->epoch;
	o->epoch_base = l->seal;
	o->ha = ha_mode_name(l->h->mode);
	o->precommit = precommit;
	o->precommit_arg = l;
	o->share_unlocked = true;
}

void
leader_published(struct leader *l, uint64_t version)
{
	if (l != NULL && l->role == ROLE_LEADER && version > l->seal)
		l->mine = version;
}
