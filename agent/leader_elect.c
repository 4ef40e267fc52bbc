/*
 * leader_elect.c - leader_tick() itself (see leader.h) and its looks: a
 * standby's (ha = shared: lease.json; ha = etcd: the leader key), the
 * takeover with a new epoch and its seal, the leader's renewal or step
 * down, and the heal of a state.json a deposed leader replaced
 * (leader_may_publish).
 *
 * Times are this host's CLOCK_MONOTONIC (daemon_now_ms): a standby judges
 * the lease by when *it* last saw it change, never by a time written on
 * another host, so a clock that jumps or runs wrong elsewhere cannot make
 * it take over early. A wrong judgement (a stopped process, a clock that
 * runs fast here) costs a needless takeover, never a fork: every state
 * carries its epoch, and readers refuse a deposed leader's versions.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "daemon.h"
#include "epoch.h"
#include "etcd.h"
#include "fsutil.h"
#include "leader_int.h"
#include "log.h"

void
leader_step_down(struct leader *l, const char *why)
{
	log_warnx("ha: stepping down from epoch %" PRIu64 ": %s", l->epoch, why);
	l->role = ROLE_STANDBY;
	l->role_since = fsu_now();
	l->stepdowns++;
	/* The one that deposed us, or whoever comes next, gets a full lease
	 * from now before we would claim again. */
	l->have_seen = false;
}

/* The epoch everyone has seen so far: the lease's, the highest claim, and
 * state.json's. */
static uint64_t
highest_epoch(struct leader *l, int rootfd)
{
	struct snap_err ignored;
	struct snap_state *st = malloc(sizeof(*st));
	uint64_t e = epoch_highest(rootfd);

	if (l->have_seen && l->seen.epoch > e)
		e = l->seen.epoch;
	if (st != NULL && state_read(rootfd, STATE_FILE, st, &ignored) == 0 &&
	    st->epoch > e)
		e = st->epoch;
	free(st);
	return e;
}

/* The highest version above `above` whose state copy is of epoch `epoch`
 * (0: none): the last leader's own latest. Read only when state.json holds
 * a deposed leader's write at a takeover. */
static uint64_t
latest_of_epoch(int rootfd, uint64_t epoch, uint64_t above)
{
	struct snap_err ignored;
	struct snap_state *st = malloc(sizeof(*st));
	uint64_t v, best = 0;
	struct dirent *de;
	char *end, name[96];
	DIR *d = NULL;
	int fd;

	if (st == NULL ||
	    (fd = beneath_open_dir(rootfd, "snapshots", NULL)) == -1)
		goto out;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		v = strtoull(de->d_name, &end, 10);
		if (v <= above || v <= best || strcmp(end, ".state.json") != 0)
			continue;
		state_copy_name(v, name, sizeof(name));
		if (state_read(rootfd, name, st, &ignored) == 0 &&
		    st->version == v && st->epoch == epoch)
			best = v;
	}
	closedir(d);
out:
	free(st);
	return best;
}

/* The seal: state.json's version, read after the lease said "sealing".
 * None (an empty sync root) is 0; an unreadable one too - its versions
 * would be published over anyway (snap.h: SNAP_REPAIRED). A deposed
 * leader's late write there (an older epoch than the last lease's, above
 * that lease's seal) is no base: state.json goes back to the last
 * leader's latest, or its seal, first. */
static uint64_t
read_seal(struct leader *l, int rootfd)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state *st = malloc(sizeof(*st));
	uint64_t v = 0, back;
	char name[96], *buf = NULL;
	size_t len;

	if (st == NULL || state_read(rootfd, STATE_FILE, st, &err) == -1)
		goto out;
	v = st->version;
	if (!l->have_seen || l->seen.phase == LEASE_SEALING ||
	    st->epoch >= l->seen.epoch || st->version <= l->seen.base_version)
		goto out;
	back = latest_of_epoch(rootfd, l->seen.epoch, l->seen.base_version);
	if (back == 0)
		back = l->seen.base_version;
	state_copy_name(back, name, sizeof(name));
	if (back == 0 || fsu_read_file(rootfd, name, STATE_MAX_BYTES, &buf,
	    &len, &err) == -1 ||
	    fsu_write_atomic(rootfd, STATE_FILE, buf, len, &err) == -1) {
		log_errorx("ha: state.json holds version %" PRIu64 " of deposed "
		    "epoch %" PRIu64 "; cannot put back version %" PRIu64 ": %s",
		    st->version, st->epoch, back, back ? err.msg : "none");
		goto out;
	}
	l->heals++;
	log_warnx("ha: state.json named version %" PRIu64 " of epoch %" PRIu64
	    " (%s), written by a deposed leader: put back to version %" PRIu64
	    " before sealing", st->version, st->epoch, st->node_id, back);
	v = back;
out:
	free(buf);
	free(st);
	return v;
}

static enum leader_event become_leader(struct leader *l, int rootfd,
    uint64_t epoch, int64_t since);

/* Claims the next epoch; on winning, seals it and leads. */
static enum leader_event
take_over(struct leader *l, int rootfd)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct epoch_claim claim;
	int rc;

	memset(&claim, 0, sizeof(claim));
	claim.epoch = highest_epoch(l, rootfd) + 1;
	claim.prev_epoch = claim.epoch - 1;
	snprintf(claim.node_id, sizeof(claim.node_id), "%s", l->c->node_id);
	memcpy(claim.nonce, l->nonce, sizeof(claim.nonce));
	claim.claimed_at = fsu_now();
	if ((rc = epoch_claim(rootfd, &claim, &err)) == -1) {
		leader_say_error(l, &err);
		return LEADER_NONE;
	}
	if (rc == 1) {
		/* Another candidate won it: give it a whole lease to show. */
		log_info("ha: epoch %" PRIu64 " claimed by another primary; "
		    "standing by", claim.epoch);
		l->seen_ms = daemon_now_ms();
		return LEADER_NONE;
	}
	return become_leader(l, rootfd, claim.epoch, daemon_now_ms());
}

/* The epoch is ours: seal it and lead. since: when the grant was asked
 * (the lease runs from then). */
static enum leader_event
become_leader(struct leader *l, int rootfd, uint64_t epoch, int64_t since)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct lease ls;

	l->epoch = epoch;
	l->seal = 0;
	l->seq = 0;
	l->mine = 0;
	/* (1) Announce: from here readers take no newer version of an
	 * older epoch. (2) Then read what we build on. (3) Active. */
	leader_fill_lease(l, &ls, LEASE_SEALING);
	if (epoch_lease_write(rootfd, leader_key(l), &ls, &err) == -1) {
		leader_say_error(l, &err);
		return LEADER_NONE;
	}
	l->seal = read_seal(l, rootfd);
	l->seq = 1;
	leader_fill_lease(l, &ls, LEASE_ACTIVE);
	if (epoch_lease_write(rootfd, leader_key(l), &ls, &err) == -1) {
		leader_say_error(l, &err);
		return LEADER_NONE;
	}
	l->renewed_ms = since;
	l->role = ROLE_LEADER;
	l->role_since = fsu_now();
	l->elections++;
	leader_clear_error(l);
	log_fields(LOG_LEVEL_INFO, LOG_FIELDS(LOG_INT("epoch", l->epoch),
	    LOG_INT("version", l->seal)), "ha: leading with epoch %" PRIu64
	    " on version %" PRIu64 " (after %s, epoch %" PRIu64 ")", l->epoch,
	    l->seal, l->have_seen ? l->seen.node_id : "nobody",
	    l->have_seen ? l->seen.epoch : 0);
	return LEADER_ELECTED;
}

/* ha = etcd, a standby's look: the leader key, and a campaign when it is
 * gone (its holder's etcd lease expired or was revoked). */
enum leader_event
leader_stand_by_etcd(struct leader *l, int rootfd)
{
	struct snap_err err = SNAP_ERR_INIT;
	char holder[ETCD_VALUE_MAX];
	int64_t rev = 0, lease = 0, since;
	int rc;

	rc = etcd_get(l->etcd, l->key_leader, &rev, holder, &err);
	if (rc == 0) {
		leader_clear_error(l);
		if (!l->have_seen || l->seen.epoch != (uint64_t)rev)
			log_info("ha: standing by; %s holds epoch %" PRId64
			    " (etcd)", holder, rev);
		memset(&l->seen, 0, sizeof(l->seen));
		l->seen.epoch = (uint64_t)rev;
		l->seen.phase = LEASE_ACTIVE;
		/* An id (checked), so that it fits. */
		if (state_check_id(holder, NULL) == -1)
			snprintf(holder, sizeof(holder), "unknown");
		memcpy(l->seen.node_id, holder, strlen(holder) + 1);
		l->have_seen = true;
		return LEADER_NONE;
	}
	if (rc == 1) {
		since = daemon_now_ms();
		if (etcd_lease_grant(l->etcd, (l->h->lease_ms + 999) / 1000,
		    &lease, &err) == 0)
			rc = etcd_campaign(l->etcd, l->key_leader,
			    l->c->node_id, lease, &rev, holder, &err);
		else
			rc = -1;
		if (rc == 0) {
			l->etcd_lease = lease;
			/* What the share's lease.json said last is what the
			 * seal is checked against (read_seal). */
			if (epoch_lease_read(rootfd, leader_key(l), &l->seen,
			    &err) == 0)
				l->have_seen = true;
			return become_leader(l, rootfd, (uint64_t)rev, since);
		}
		if (lease != 0)
			(void)etcd_lease_revoke(l->etcd, lease, NULL);
		if (rc == 1) {
			log_info("ha: epoch %" PRId64 " won by %s (etcd); standing "
			    "by", rev, holder);
			return LEADER_NONE;
		}
	}
	leader_say_error(l, &err);
	return LEADER_NONE;
}

/* ha = etcd, the leader's look: keep the etcd lease alive, check the key
 * is still ours; then the share's lease.json as with ha = shared. */
static int
renew_etcd(struct leader *l, char *why, size_t len)
{
	struct snap_err err = SNAP_ERR_INIT;
	char holder[ETCD_VALUE_MAX];
	int64_t ttl = 0, rev = 0;
	int rc;

	if (etcd_lease_keepalive(l->etcd, l->etcd_lease, &ttl, &err) == -1) {
		leader_say_error(l, &err);
		return 1;	/* not renewed: the self-fence counts on */
	}
	if (ttl <= 0) {
		snprintf(why, len, "its etcd lease expired");
		return -1;
	}
	rc = etcd_get(l->etcd, l->key_leader, &rev, holder, &err);
	if (rc == -1) {
		leader_say_error(l, &err);
		return 1;
	}
	if (rc == 1 || (uint64_t)rev != l->epoch) {
		snprintf(why, len, "the etcd leader key is %s", rc == 1 ? "gone" :
		    "another's");
		return -1;
	}
	return 0;
}

/* A standby's look: has the holder gone? */
enum leader_event
leader_stand_by(struct leader *l, int rootfd, int64_t now)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct lease ls;
	uint64_t claim;
	bool gone;
	int rc;

	rc = epoch_lease_read(rootfd, leader_key(l), &ls, &err);
	if (rc == -1) {
		/* Unreadable or malformed: no news. Only an unchanged lease
		 * ages; one that cannot be read at all does too. */
		leader_say_error(l, &err);
		if (!l->have_seen)
			return LEADER_NONE;
	} else if (rc == 0 && strcmp(ls.cluster_id, l->c->cluster_id) != 0) {
		snap_err_set(&err, "lease.json belongs to cluster '%s', this "
		    "node to '%s': not taking over", ls.cluster_id,
		    l->c->cluster_id);
		leader_say_error(l, &err);
		return LEADER_NONE;
	} else if (rc == 0) {
		leader_clear_error(l);
		if (!l->have_seen || ls.epoch != l->seen.epoch ||
		    ls.seq != l->seen.seq || ls.phase != l->seen.phase ||
		    strcmp(ls.node_id, l->seen.node_id) != 0) {
			if (!l->have_seen || ls.epoch != l->seen.epoch)
				log_info("ha: standing by; %s holds epoch %"
				    PRIu64 " (%s)", ls.node_id, ls.epoch,
				    epoch_phase_name(ls.phase));
			l->seen = ls;
			l->have_seen = true;
			l->seen_ms = now;
		}
	}
	gone = rc == 1 || (l->have_seen && l->seen.phase == LEASE_RELEASED) ||
	    (l->have_seen && now - l->seen_ms >= (int64_t)l->h->lease_ms +
	    l->h->takeover_grace_ms);
	if (!gone)
		return LEADER_NONE;
	if ((claim = epoch_highest(rootfd)) > l->claim_seen) {
		l->claim_seen = claim;
		l->claim_ms = now;
	}
	if (l->claim_seen > (l->have_seen ? l->seen.epoch : 0) &&
	    now - l->claim_ms < (int64_t)l->h->lease_ms +
	    l->h->takeover_grace_ms)
		return LEADER_NONE;	/* another candidate is taking over */
	if (rc == 0 && l->seen.phase != LEASE_RELEASED)
		log_warnx("ha: %s's lease of epoch %" PRIu64 " unchanged for %"
		    PRId64 " ms: taking over", l->seen.node_id, l->seen.epoch,
		    now - l->seen_ms);
	return take_over(l, rootfd);
}

/* Puts state.json back when a deposed leader's late rename replaced it:
 * a lower epoch's version above our seal. What goes back is the copy of
 * our last version (or of the seal): the bytes readers already hold. */
void
leader_heal(struct leader *l, int rootfd)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct snap_state *st = malloc(sizeof(*st));
	uint64_t target = l->mine != 0 ? l->mine : l->seal;
	char name[96], *buf = NULL;
	size_t len;

	if (st == NULL || state_read(rootfd, STATE_FILE, st, &err) == -1 ||
	    st->epoch >= l->epoch || st->version <= l->seal || target == 0)
		goto out;
	state_copy_name(target, name, sizeof(name));
	if (fsu_read_file(rootfd, name, STATE_MAX_BYTES, &buf, &len,
	    &err) == -1 ||
	    fsu_write_atomic(rootfd, STATE_FILE, buf, len, &err) == -1) {
		log_errorx("ha: cannot put state.json back to version %" PRIu64
		    ": %s", target, err.msg);
		goto out;
	}
	l->heals++;
	log_fields(LOG_LEVEL_WARN, LOG_FIELDS(LOG_INT("version", st->version),
	    LOG_INT("epoch", st->epoch)), "ha: state.json named version %"
	    PRIu64 " of epoch %" PRIu64 " (%s), written by a deposed leader: "
	    "put back to version %" PRIu64, st->version, st->epoch,
	    st->node_id, target);
out:
	free(buf);
	free(st);
}

/* The leader's look: renew, or step down. */
enum leader_event
leader_renew(struct leader *l, int rootfd, int64_t now)
{
	struct snap_err err = SNAP_ERR_INIT;
	int64_t start = now;
	struct lease ls;
	char why[256];
	int rc;

	if (now - l->renewed_ms >= (int64_t)(l->h->lease_ms - l->h->safety_ms)) {
		snprintf(why, sizeof(why), "last renewal %" PRId64 " ms ago, "
		    "more than lease_ms - safety_ms (%u ms)", now - l->renewed_ms,
		    l->h->lease_ms - l->h->safety_ms);
		leader_step_down(l, why);
		return LEADER_DEPOSED;
	}
	if (l->etcd != NULL) {
		start = now;
		if ((rc = renew_etcd(l, why, sizeof(why))) == -1) {
			leader_step_down(l, why);
			return LEADER_DEPOSED;
		}
		if (rc == 1)
			return LEADER_NONE;
	}
	rc = epoch_lease_read(rootfd, leader_key(l), &ls, &err);
	if (rc == -1 && err.code != SNAP_E_MALFORMED) {
		leader_say_error(l, &err);	/* the self-fence counts on */
		return LEADER_NONE;
	}
	/* With etcd the key decides; the share's lease only informs. */
	if (l->etcd != NULL && rc == 0 && ls.epoch > l->epoch)
		rc = 1;
	if (rc == 0 && ls.epoch > l->epoch) {
		snprintf(why, sizeof(why), "deposed by %s with epoch %" PRIu64,
		    ls.node_id, ls.epoch);
		leader_step_down(l, why);
		return LEADER_DEPOSED;
	}
	if (rc == 0 && !leader_lease_is_ours(l, &ls))
		log_warnx("ha: lease.json went back to epoch %" PRIu64 " of %s "
		    "(a deposed leader's renewal): rewritten", ls.epoch,
		    ls.node_id);
	l->seq++;
	leader_fill_lease(l, &ls, LEASE_ACTIVE);
	if (epoch_lease_write(rootfd, leader_key(l), &ls, &err) == -1) {
		leader_say_error(l, &err);
		return LEADER_NONE;
	}
	l->renewed_ms = start;
	leader_clear_error(l);
	leader_heal(l, rootfd);
	return LEADER_NONE;
}

/* One period of the state machine: renew when leading, else stand by
 * (on the share or on etcd); see leader.h. */
enum leader_event
leader_tick(struct leader *l)
{
	struct snap_err err = SNAP_ERR_INIT;
	enum leader_event ev = LEADER_NONE;
	int64_t now = daemon_now_ms();
	int rootfd;

	if (l == NULL)
		return LEADER_NONE;
	l->due_ms = now + l->h->renew_ms;
	/* A new sync root is made, as the first publish would. */
	if ((rootfd = fsu_open_root(l->c->sync_root, &err)) == -1 &&
	    err.code == SNAP_E_MISSING && fsu_mkdirs(l->c->sync_root,
	    &err) == 0)
		rootfd = fsu_open_root(l->c->sync_root, &err);
	if (rootfd == -1) {
		leader_say_error(l, &err);
		/* A leader that cannot reach the share cannot renew. */
		if (l->role == ROLE_LEADER && now - l->renewed_ms >=
		    (int64_t)(l->h->lease_ms - l->h->safety_ms)) {
			leader_step_down(l, "the sync root cannot be opened");
			return LEADER_DEPOSED;
		}
		return LEADER_NONE;
	}
	ev = l->role == ROLE_LEADER ? leader_renew(l, rootfd, now) :
	    l->etcd != NULL ? leader_stand_by_etcd(l, rootfd) :
	    leader_stand_by(l, rootfd, now);
	close(rootfd);
	/* A new leader renews a full period after its election. */
	l->due_ms = daemon_now_ms() + l->h->renew_ms;
	return ev;
}

/* A leader heals state.json (a deposed leader's late write) before it
 * publishes; a standby publishes nothing. */
bool
leader_may_publish(struct leader *l)
{
	struct snap_err err = SNAP_ERR_INIT;
	int rootfd;

	if (l == NULL)
		return true;
	if (l->role != ROLE_LEADER)
		return false;
	if ((rootfd = fsu_open_root(l->c->sync_root, &err)) >= 0) {
		leader_heal(l, rootfd);
		close(rootfd);
	}
	return true;
}
