/*
 * snap_publish.c - the whole-tree publish (snap_publish), its dry run
 * (snap_check), and what a long-running publisher remembers of it
 * (struct snap_memo). The steps of a publish are listed in snap.h; each
 * carries its number where it is done: 1-3 in snap_root.c, 4 in
 * snap_tree.c, 5-6 here, 7-11 in snap_write.c, 12 here again.
 *
 * Calling sequence: snap_publish(source, sync_root, &opts, &result,
 * &version, err) - or snap_publish_changes() (snap_changes.c), which falls
 * back to snap_publish_full() here and fills the memo. snap_check() runs
 * step 4 alone, writing nothing.
 *
 * Error contract: 0 with *result SNAP_PUBLISHED, SNAP_UNCHANGED or
 * SNAP_REPAIRED (err then says what was repaired); -1 with err, every
 * problem of the tree in opts.report, nothing published, state.json
 * untouched and no file of the failed version left in snapshots/.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "snap_int.h"

int
snap_check_ids(const struct snap_publish_opts *o, struct snap_err *err)
{
	if (state_check_id(o->cluster_id, err) == -1)
		return snap_err_prefix(err, "cluster_id");
	if (state_check_id(o->node_id, err) == -1)
		return snap_err_prefix(err, "node_id");
	return 0;
}

void
snap_memo_clear(struct snap_memo *memo)
{
	manifest_free(memo->m);
	free(memo->seen);
	free(memo->state);
	*memo = (struct snap_memo)SNAP_MEMO_INIT;
}

/* Keeps what was just published (or found unchanged) in memo. */
static void
remember(struct snap_memo *memo, struct manifest **m, uint64_t version,
    size_t chain)
{
	if (memo == NULL)
		return;
	snap_memo_clear(memo);
	memo->m = *m;
	memo->version = version;
	memo->chain = chain;
	memo->rescanned = true;
	*m = NULL;
	manifest_clear_events(memo->m);
}

/* Keeps the state p just committed, st, for the next publish on memo. */
void
snap_remember_state(struct snap_memo *memo, const struct publisher *p,
    const struct snap_state *st)
{
	if (memo == NULL)
		return;
	if (p->wrote_state && memo->state == NULL)
		memo->state = malloc(sizeof(*memo->state));
	if (!p->wrote_state || memo->state == NULL) {
		free(memo->state);
		memo->state = NULL;
		return;
	}
	*memo->state = *st;
	memo->state_seen = p->state_seen;
}

void
snap_finish_publish(struct publisher *p, enum snap_publish_result *result,
    uint64_t *version, struct snap_err *err)
{
	*result = p->repaired ? SNAP_REPAIRED : SNAP_PUBLISHED;
	*version = p->version;
	if (p->repaired)
		snap_err_set(err, "replaced an unreadable latest version: %s",
		    p->repair_reason);
	/* Step 12: retention. */
	if (!p->o->defer_prune)
		(void)snap_prune(p->rootfd, p->version, p->base,
		    p->o->keep_versions, p->o->grace_s);
}

/* The whole tree: scanned, hashed, validated where it changed. The steps
 * are snap.h's. */
int
snap_publish_full(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, struct snap_memo *memo,
    enum snap_publish_result *result, uint64_t *version,
    struct snap_err *err)
{
	struct publisher p = SNAP_PUBLISHER_INIT(o);
	struct report mine = REPORT_INIT, *rep = o->report ? o->report : &mine;
	struct manifest *cur = NULL;
	struct snap_state st;
	int srcfd = -1, rc = -1;

	memset(&st, 0, sizeof(st));
	if (snap_check_ids(o, err) == -1)
		return -1;
	if ((srcfd = fsu_open_root(source, err)) == -1)
		return -1;
	/* Steps 1-3: lock, read the latest, number (snap_root.c). */
	if (snap_root_open(&p, sync_root, err) == -1)
		goto out;
	p.now = o->now > 0 ? o->now : fsu_now();
	if ((cur = manifest_new()) == NULL) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	/* Step 4: read the tree (snap_tree.c). */
	if (snap_read_tree(&p, srcfd, source, cur, rep, err) == -1)
		goto out;
	/* Step 5: compare. Unchanged, unless a file of the latest chain is
	 * damaged: then the same content is published again, in full, so
	 * that readers can get it (p.repaired, from check_chain). */
	if (p.have_prev && !p.repaired && manifest_same_content(p.prev.m, cur)) {
		*result = SNAP_UNCHANGED;
		*version = p.prev.st.version;
		remember(memo, &p.prev.m, p.prev.st.version,
		    p.prev.st.ndeltas);
		rc = 0;
		goto out;
	}
	/* Step 6: diff against the latest. */
	if (manifest_diff(p.have_prev ? p.prev.m : NULL, cur, p.now) == -1) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	/* Steps 7-11: write and commit (snap_write.c); on failure, none of
	 * the version's files stay. */
	if (snap_commit_version(&p, srcfd, source, cur, &st, err) == -1) {
		snap_discard_version(&p);
		goto out;
	}
	/* The results, and step 12. */
	snap_finish_publish(&p, result, version, err);
	remember(memo, &cur, p.version, st.ndeltas);
	snap_remember_state(memo, &p, &st);
	rc = 0;
out:
	report_free(&mine);
	manifest_free(cur);
	snap_root_close(&p);
	close(srcfd);
	return rc;
}

int
snap_publish(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, enum snap_publish_result *result,
    uint64_t *version, struct snap_err *err)
{
	return snap_publish_full(source, sync_root, o, NULL, result, version,
	    err);
}

int
snap_check(const char *source, const struct snap_publish_opts *o,
    size_t *count, struct snap_err *err)
{
	struct publisher p = SNAP_PUBLISHER_INIT(o);
	struct report mine = REPORT_INIT, *rep = o->report ? o->report : &mine;
	struct manifest *cur = NULL;
	int srcfd = -1, rc = -1;

	*count = 0;
	if ((srcfd = fsu_open_root(source, err)) == -1)
		return -1;
	if ((cur = manifest_new()) == NULL) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	if (snap_read_tree(&p, srcfd, source, cur, rep, err) == -1)
		goto out;
	*count = cur->n;
	rc = 0;
out:
	report_free(&mine);
	manifest_free(cur);
	snap_root_close(&p);
	close(srcfd);
	return rc;
}
