/*
 * snap_rollback.c - an older retained version published again as a new,
 * higher one (see snap.h): what secondaries apply is always a forward
 * step, so going back is going forward to old content.
 *
 * Calling sequence: snap_rollback(sync_root, to, &opts, &version, err).
 * It runs the steps of a publish (snap.h) with the tree being version
 * `to`, extracted into .rollback/ below the sync root - every entry
 * verified, and with opts.key its signature required - then removed.
 *
 * Error contract: 0 with *version the new version; -1 with err (`to` not
 * older than the latest, not retained, damaged, signed by another key...),
 * nothing published and .rollback/ gone.
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "fsutil.h"
#include "snap_int.h"

#define ROLLBACK_DIR ".rollback"

/* Extracts every layer of `old`, oldest first (a later layer's copy of a
 * file replaces the earlier one), into destfd (the sync root's
 * ROLLBACK_DIR, emptied first): every entry verified on the way. */
static int
extract_version(struct snap_version *old, int destfd, struct snap_err *err)
{
	if (fsu_remove_children(destfd, ROLLBACK_DIR, err) == -1)
		return -1;
	return snap_extract_layers(old, destfd, err);
}

int
snap_rollback(const char *sync_root, uint64_t to,
    const struct snap_publish_opts *o, uint64_t *version,
    struct snap_err *err)
{
	struct publisher p = SNAP_PUBLISHER_INIT(o);
	struct snap_version old = SNAP_VERSION_INIT;
	struct snap_err ignored;
	struct snap_state st;
	int treefd = -1, rc = -1;

	memset(&st, 0, sizeof(st));
	/* Steps 1-3 of a publish (snap_root.c). */
	if (snap_check_ids(o, err) == -1 ||
	    snap_root_open(&p, sync_root, err) == -1)
		goto out;
	if (!p.have_prev && p.repaired) {
		snap_err_set(err, "the latest version cannot be read: %s",
		    p.repair_reason);
		goto out;
	}
	if (to == 0 || !p.have_prev || to >= p.prev.st.version) {
		snap_err_set(err, "version %" PRIu64 " is not older than the "
		    "latest", to);
		goto out;
	}
	/* Step 4: the tree is version `to`. Republish only what still
	 * verifies completely (and, to be signed, was signed by the same
	 * key): its files are extracted, checked, and published again like a
	 * source tree. */
	old.pub = o->key;
	if ((treefd = beneath_make_dir(p.rootfd, ROLLBACK_DIR, 0700,
	    err)) == -1) {
		snap_err_prefix(err, "sync root %s", sync_root);
		goto out;
	}
	if (snap_open(p.rootfd, to, &old, err) == -1 ||
	    extract_version(&old, treefd, err) == -1) {
		snap_err_prefix(err, "version %" PRIu64, to);
		goto out;
	}
	/* Step 6: diff against the latest (no step 5: a rollback differs
	 * from the latest by choice). */
	p.now = fsu_now();
	manifest_clear_events(old.m);	/* recomputed against the latest */
	if (manifest_diff(p.prev.m, old.m, p.now) == -1) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	/* Steps 7-11 (snap_write.c). */
	if (snap_commit_version(&p, treefd, "version", old.m, &st, err) == -1) {
		snap_discard_version(&p);
		goto out;
	}
	*version = p.version;
	/* Step 12: retention. */
	(void)snap_prune(p.rootfd, p.version, p.base, o->keep_versions,
	    o->grace_s);
	rc = 0;
out:
	if (treefd >= 0) {
		close(treefd);
		(void)fsu_remove_tree(p.rootfd, ROLLBACK_DIR, &ignored);
	}
	snap_close(&old);
	snap_root_close(&p);
	return rc;
}
