/*
 * leader.c - one primary's part in failover with ha = shared (see
 * leader.h): stand by, take over with a new epoch, renew, step down, heal.
 *
 * Times are this host's CLOCK_MONOTONIC (daemon_now_ms): a standby judges
 * the lease by when *it* last saw it change, never by a time written on
 * another host, so a clock that jumps or runs wrong elsewhere cannot make
 * it take over early. A wrong judgement (a stopped process, a clock that
 * runs fast here) costs a needless takeover, never a fork: every state
 * carries its epoch, and readers refuse a deposed leader's versions.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "daemon.h"
#include "epoch.h"
#include "etcd.h"
#include "fsutil.h"
#include "jsonfield.h"
#include "leader.h"
#include "log.h"

enum role {
	ROLE_STANDBY,
	ROLE_LEADER,
};

struct leader {
	const struct config *c;
	const struct ha_config *h;
	enum role role;
	uint64_t epoch;			/* ours, while leading */
	uint64_t seal;			/* what our epoch builds on */
	uint64_t seq;			/* our heartbeat */
	char nonce[EPOCH_NONCE_HEX + 1];
	int64_t renewed_ms;		/* the last renewal that landed */
	int64_t due_ms;			/* the next tick */
	uint64_t mine;			/* the last version we published */
	/* The lease as a standby last saw it change. */
	struct lease seen;
	bool have_seen;
	int64_t seen_ms;
	/* The highest claim in epochs/ and when it was first seen: a claim
	 * above the lease's epoch is a candidate between its claim and its
	 * lease, and gets a whole lease to show itself. */
	uint64_t claim_seen;
	int64_t claim_ms;
	int64_t role_since;		/* wall clock */
	char error[sizeof(((struct snap_err *)0)->msg)];	/* said once */
	uint64_t elections, stepdowns, heals;
	unsigned stop_before_commit;	/* test hook: SIGSTOP before the Nth
					 * commit (0: never) */
	unsigned commits;
	/* ha = etcd: the epoch is the leader key's create revision, the
	 * liveness etcd's lease; lease.json on the share stays, for the
	 * readers' fence. */
	struct etcd *etcd;		/* NULL: ha = shared */
	int64_t etcd_lease;		/* ours, while leading (0: none) */
	char key_leader[STATE_ID_MAX + 32];
	char key_state[STATE_ID_MAX + 32];
};

/* The signing key: leases are signed with it, and read only when they
 * verify with it. */
static const struct sign_key *
key_of(const struct leader *l)
{
	return l->c->have_key ? &l->c->key : NULL;
}

/* Says a failure once, not at every tick. */
static void
say_error(struct leader *l, const struct snap_err *err)
{
	if (strcmp(err->msg, l->error) != 0)
		log_warnx("ha: %s", err->msg);
	snprintf(l->error, sizeof(l->error), "%s", err->msg);
}

static void
clear_error(struct leader *l)
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

static void
fill_lease(const struct leader *l, struct lease *ls, enum lease_phase phase)
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

static bool
lease_is_ours(const struct leader *l, const struct lease *ls)
{
	return ls->epoch == l->epoch &&
	    strcmp(ls->node_id, l->c->node_id) == 0;
}

static void
step_down(struct leader *l, const char *why)
{
	log_warnx("ha: stepping down from epoch %" PRIu64 ": %s", l->epoch, why);
	l->role = ROLE_STANDBY;
	l->role_since = fsu_now();
	l->stepdowns++;
	/* The one that deposed us, or whoever comes next, gets a full lease
	 * from now before we would claim again. */
	l->have_seen = false;
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
		if (epoch_lease_read(rootfd, key_of(l), &ls, &err) == 0 &&
		    lease_is_ours(l, &ls)) {
			l->seq++;
			fill_lease(l, &ls, LEASE_RELEASED);
			if (epoch_lease_write(rootfd, key_of(l), &ls, &err) == 0)
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
		say_error(l, &err);
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
	fill_lease(l, &ls, LEASE_SEALING);
	if (epoch_lease_write(rootfd, key_of(l), &ls, &err) == -1) {
		say_error(l, &err);
		return LEADER_NONE;
	}
	l->seal = read_seal(l, rootfd);
	l->seq = 1;
	fill_lease(l, &ls, LEASE_ACTIVE);
	if (epoch_lease_write(rootfd, key_of(l), &ls, &err) == -1) {
		say_error(l, &err);
		return LEADER_NONE;
	}
	l->renewed_ms = since;
	l->role = ROLE_LEADER;
	l->role_since = fsu_now();
	l->elections++;
	clear_error(l);
	log_fields(LOG_LEVEL_INFO, LOG_FIELDS(LOG_INT("epoch", l->epoch),
	    LOG_INT("version", l->seal)), "ha: leading with epoch %" PRIu64
	    " on version %" PRIu64 " (after %s, epoch %" PRIu64 ")", l->epoch,
	    l->seal, l->have_seen ? l->seen.node_id : "nobody",
	    l->have_seen ? l->seen.epoch : 0);
	return LEADER_ELECTED;
}

/* ha = etcd, a standby's look: the leader key, and a campaign when it is
 * gone (its holder's etcd lease expired or was revoked). */
static enum leader_event
stand_by_etcd(struct leader *l, int rootfd)
{
	struct snap_err err = SNAP_ERR_INIT;
	char holder[ETCD_VALUE_MAX];
	int64_t rev = 0, lease = 0, since;
	int rc;

	rc = etcd_get(l->etcd, l->key_leader, &rev, holder, &err);
	if (rc == 0) {
		clear_error(l);
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
			if (epoch_lease_read(rootfd, key_of(l), &l->seen,
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
	say_error(l, &err);
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
		say_error(l, &err);
		return 1;	/* not renewed: the self-fence counts on */
	}
	if (ttl <= 0) {
		snprintf(why, len, "its etcd lease expired");
		return -1;
	}
	rc = etcd_get(l->etcd, l->key_leader, &rev, holder, &err);
	if (rc == -1) {
		say_error(l, &err);
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
static enum leader_event
stand_by(struct leader *l, int rootfd, int64_t now)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct lease ls;
	uint64_t claim;
	bool gone;
	int rc;

	rc = epoch_lease_read(rootfd, key_of(l), &ls, &err);
	if (rc == -1) {
		/* Unreadable or malformed: no news. Only an unchanged lease
		 * ages; one that cannot be read at all does too. */
		say_error(l, &err);
		if (!l->have_seen)
			return LEADER_NONE;
	} else if (rc == 0 && strcmp(ls.cluster_id, l->c->cluster_id) != 0) {
		snap_err_set(&err, "lease.json belongs to cluster '%s', this "
		    "node to '%s': not taking over", ls.cluster_id,
		    l->c->cluster_id);
		say_error(l, &err);
		return LEADER_NONE;
	} else if (rc == 0) {
		clear_error(l);
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
static void
heal(struct leader *l, int rootfd)
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
static enum leader_event
renew(struct leader *l, int rootfd, int64_t now)
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
		step_down(l, why);
		return LEADER_DEPOSED;
	}
	if (l->etcd != NULL) {
		start = now;
		if ((rc = renew_etcd(l, why, sizeof(why))) == -1) {
			step_down(l, why);
			return LEADER_DEPOSED;
		}
		if (rc == 1)
			return LEADER_NONE;
	}
	rc = epoch_lease_read(rootfd, key_of(l), &ls, &err);
	if (rc == -1 && err.code != SNAP_E_MALFORMED) {
		say_error(l, &err);	/* the self-fence counts on */
		return LEADER_NONE;
	}
	/* With etcd the key decides; the share's lease only informs. */
	if (l->etcd != NULL && rc == 0 && ls.epoch > l->epoch)
		rc = 1;
	if (rc == 0 && ls.epoch > l->epoch) {
		snprintf(why, sizeof(why), "deposed by %s with epoch %" PRIu64,
		    ls.node_id, ls.epoch);
		step_down(l, why);
		return LEADER_DEPOSED;
	}
	if (rc == 0 && !lease_is_ours(l, &ls))
		log_warnx("ha: lease.json went back to epoch %" PRIu64 " of %s "
		    "(a deposed leader's renewal): rewritten", ls.epoch,
		    ls.node_id);
	l->seq++;
	fill_lease(l, &ls, LEASE_ACTIVE);
	if (epoch_lease_write(rootfd, key_of(l), &ls, &err) == -1) {
		say_error(l, &err);
		return LEADER_NONE;
	}
	l->renewed_ms = start;
	clear_error(l);
	heal(l, rootfd);
	return LEADER_NONE;
}

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
		say_error(l, &err);
		/* A leader that cannot reach the share cannot renew. */
		if (l->role == ROLE_LEADER && now - l->renewed_ms >=
		    (int64_t)(l->h->lease_ms - l->h->safety_ms)) {
			step_down(l, "the sync root cannot be opened");
			return LEADER_DEPOSED;
		}
		return LEADER_NONE;
	}
	ev = l->role == ROLE_LEADER ? renew(l, rootfd, now) :
	    l->etcd != NULL ? stand_by_etcd(l, rootfd) : stand_by(l, rootfd, now);
	close(rootfd);
	/* A new leader renews a full period after its election. */
	l->due_ms = daemon_now_ms() + l->h->renew_ms;
	return ev;
}

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
		heal(l, rootfd);
		close(rootfd);
	}
	return true;
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
	rc = epoch_lease_read(rootfd, key_of(l), &ls, err);
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
