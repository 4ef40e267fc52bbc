/*
 * trust.c - what a secondary believes of the sync root beyond a good
 * signature, and what it remembers of what it refused (see agent.h).
 *
 * A state.json that verified must also be this cluster's, not older than
 * what is applied nor below min_version, and - with require_fresh - not
 * past its expiry (fresh.h). What the last check made of the share is
 * kept as a root state with the time it began (healthz fails once it has
 * not been ok for max_lag_ms). A version refused for what its files hold
 * is remembered by its state record, so that it costs one state.json read
 * per poll after that.
 */
#include <inttypes.h>
#include <string.h>

#include "agent.h"
#include "daemon.h"
#include "fresh.h"
#include "fsutil.h"
#include "log.h"

/*
 * A refusal for what the files hold, once they matched their records (an
 * entry that is not a plain artifact, invalid XML, over a limit, a tar
 * that does not parse), is final for those files: trying again at every
 * poll would only read, parse - and write into .staging/ - the same bytes
 * again. It is remembered by the state record that named them (the
 * version and every file's size and hashes: state_digest), and a state
 * with that record is refused again before anything but state.json is
 * read. A checksum, size, missing file, I/O error or a file that changed
 * between two reads may heal by itself: retried at the next check.
 */
bool
agent_refused_before(const struct agent *a, const struct snap_version *v)
{
	char digest[HASH_HEX_LEN + 1];

	if (a->refused.version == 0 || a->refused.version != v->st.version)
		return false;
	state_digest(&v->st, digest);
	return strcmp(a->refused.digest, digest) == 0;
}

void
agent_remember_refusal(struct agent *a, const struct snap_version *v,
    const struct snap_err *err)
{
	if (!snap_code_is_final(err->code))
		return;
	a->refused.version = v->st.version;
	state_digest(&v->st, a->refused.digest);
	a->refused.why = *err;
	log_info("version %" PRIu64 ": not tried again while state.json names "
	    "the same files (SIGHUP or POST /api/v1/sync tries again)",
	    v->st.version);
}

/*
 * What the last check made of the sync root, and since when (healthz fails
 * once it has not been ok for max_lag_ms): ok, unverifiable (state.json
 * does not parse, is not signed by our key, is another cluster's or has
 * expired), older (a version below the one applied, or below min_version)
 * or unreachable (the share is gone or failing: unmounted, ESTALE, EIO).
 * None is a reason to undeploy: the release keeps serving throughout.
 */
void
agent_set_root_state(struct agent *a, enum root_state s)
{
	if (a->root_state == s)
		return;
	a->root_state = s;
	a->root_since_ms = s == ROOT_OK ? 0 : daemon_now_ms();
	a->root_since = s == ROOT_OK ? 0 : fsu_now();
}

/*
 * What a verified state.json must also be before anything it names is
 * read: this cluster's (a staging share mounted on production, a state
 * replayed from another cluster that shares the key), fresh (with
 * require_fresh: not past its expiry, or its renewal's - an old signed
 * state put back on the share is refused even by a node that never saw
 * anything newer), not below this node's floor (min_version), and not
 * older than the version applied.
 */
int
agent_trust_state(struct agent *a, int rootfd, const struct snap_version *v,
    uint64_t applied, struct snap_err *err)
{
	a->fresh_until = 0;
	if (state_check_cluster(&v->st, a->c->cluster_id, err) == -1) {
		agent_set_root_state(a, ROOT_UNVERIFIABLE);
		return -1;
	}
	/* Older first: its number is signed, and says more than that an
	 * old state has also expired. */
	if (v->st.version < a->c->min_version) {
		agent_set_root_state(a, ROOT_OLDER);
		return snap_err_setc(err, SNAP_E_OLDER, "sync root holds version "
		    "%" PRIu64 ", below this node's min_version %" PRIu64 ": "
		    "never applied", v->st.version, a->c->min_version);
	}
	if (v->st.version < applied) {
		agent_set_root_state(a, ROOT_OLDER);
		return snap_err_setc(err, SNAP_E_OLDER, "sync root holds version "
		    "%" PRIu64 ", older than applied %" PRIu64 ": not going "
		    "back", v->st.version, applied);
	}
	if (a->require_fresh && fresh_check(rootfd, v->pub, &v->st,
	    v->st_blake2b, fsu_now(), &a->fresh_until, err) == -1) {
		agent_set_root_state(a, ROOT_UNVERIFIABLE);
		return -1;
	}
	return agent_fence(a, rootfd, &v->st, err);	/* failover's epochs */
}

const char *
agent_root_state_name(enum root_state s)
{
	switch (s) {
	case ROOT_OK: return "ok";
	case ROOT_UNVERIFIABLE: return "unverifiable";
	case ROOT_OLDER: return "older";
	case ROOT_UNREACHABLE: return "unreachable";
	}
	return "ok";
}

const char *
agent_root_state_words(enum root_state s)
{
	switch (s) {
	case ROOT_UNVERIFIABLE:
		return "unverifiable (nothing there this node can verify)";
	case ROOT_OLDER:
		return "older than the version applied";
	case ROOT_UNREACHABLE:
		return "unreachable";
	case ROOT_OK:
		break;
	}
	return "ok";
}
