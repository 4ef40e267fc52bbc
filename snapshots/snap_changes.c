/*
 * snap_changes.c - publishing what changed (snap_publish_changes): a
 * long-running publisher that knows which paths may have changed since
 * its last publish (struct snap_memo) reads, hashes and validates only
 * those, and publishes a delta on the version it remembers - the steps
 * of snap.h at the cost of the change, not of the tree. And the full copy
 * written ahead of need (snap_write_base), on which a full chain restarts
 * (rebase) instead of costing a publish the whole tree.
 *
 * Calling sequence: struct snap_memo memo = SNAP_MEMO_INIT; the first
 * snap_publish_changes(..., &memo, NULL, 0, ...) publishes in full and
 * fills memo; each later one passes the changed paths (NULL when not
 * known). Off the publish path, snap_write_base(..., &memo, &base), then
 * memo.base = base. snap_memo_clear(&memo) at the end.
 *
 * Error contract: as snap_publish(); what this file cannot decide on its
 * own - memo empty or stale (someone else published), a delta of the chain
 * damaged, a full version due - falls back to the full publish, which
 * fills memo again. On failure memo may be emptied (never left wrong).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc.h"
#include "beneath.h"
#include "fsutil.h"
#include "identity.h"
#include "labels.h"
#include "names.h"
#include "report.h"
#include "scan.h"
#include "snap_int.h"

/* Chain files are checked in the order they were first recorded: the
 * search starts after the last match, and mostly ends at once. */
static bool
seen_before(struct snap_memo *memo, const struct snap_seen *now)
{
	size_t i, k;

	for (k = 0; k < memo->nseen; k++) {
		i = (memo->seen_at + k) % memo->nseen;
		if (memcmp(&memo->seen[i], now, sizeof(*now)) == 0) {
			memo->seen_at = i + 1;
			return true;
		}
	}
	return false;
}

/*
 * Whether the file f names is there, regular, with f's size, XXH128 and
 * BLAKE2b (when recorded). A file memo saw intact and that no write or
 * rename has touched since (same inode, size, mtime and ctime: a writer
 * cannot set ctime) is not read again: a publish costs a stat per chain
 * file, not a read.
 */
static bool
is_intact(int snapfd, const struct state_file *f, struct snap_memo *memo)
{
	const char *name = in_snapshots(f->name);
	struct snap_err ignored;
	struct snap_seen now;
	struct stat st;
	bool ok;
	int fd;

	if (fstatat(snapfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return false;
	snap_seen_of(f->name, &st, &now);
	if (seen_before(memo, &now))
		return (uint64_t)st.st_size == f->size;
	/* Read it: its identity is taken again from what was opened. */
	fd = openat(snapfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return false;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false;
	}
	snap_seen_of(f->name, &st, &now);
	ok = arc_check_file(fd, f, &ignored) == 0;
	close(fd);
	if (ok && memo->seen == NULL)
		memo->seen = calloc(2 * STATE_CHAIN_MAX, sizeof(*memo->seen));
	if (ok && memo->seen != NULL) {
		if (memo->nseen == 2 * STATE_CHAIN_MAX)
			memo->nseen = 0;	/* full: forget, read again */
		memo->seen[memo->nseen++] = now;
	}
	return ok;
}

/*
 * Whether state.json is still the very file memo's publish wrote (same
 * inode, size, mtime and ctime): then memo's parsed copy is what it holds,
 * and it need not be read, parsed or its signature checked again.
 */
static bool
reuse_state(int rootfd, const struct snap_memo *memo, struct snap_state *out)
{
	struct snap_seen now;
	struct stat st;

	if (memo->state == NULL || fstatat(rootfd, STATE_FILE, &st,
	    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
		return false;
	snap_seen_of(STATE_FILE, &st, &now);
	if (memcmp(&now, &memo->state_seen, sizeof(now)) != 0)
		return false;
	*out = *memo->state;
	return true;
}

/*
 * Opens the sync root for a publish on top of memo: 0 when state.json
 * still names memo's version (nobody else published since), signed by our
 * key when we sign, and the deltas of its chain are intact; 1 when a full
 * publish must decide instead; -1 with err.
 *
 * The new state copies the chain's file records from this state.json: a
 * signer that took them from a state it did not sign would sign, by their
 * BLAKE2b, files it never wrote.
 */
static int
open_root_on(struct publisher *p, const char *sync_root,
    struct snap_memo *memo, struct snap_err *err)
{
	struct snap_err ignored;
	size_t i;

	/* Step 1: lock. */
	if (snap_root_open_locked(p, sync_root, err) == -1)
		return -1;
	/* Step 2: the latest must still be memo's version, its deltas
	 * intact. */
	if (!reuse_state(p->rootfd, memo, &p->prev.st) &&
	    sign_state_read(p->rootfd, STATE_FILE, p->o->key, &p->prev.st,
	    &ignored) == -1)
		return 1;
	if (p->prev.st.version != memo->version)
		return 1;
	/* The deltas: all of them, manifest and archive (the base was
	 * checked when memo was made, unless memo->check_base says it was
	 * made elsewhere). One damaged file and no reader could open a delta
	 * on them. */
	for (i = 0; i < p->prev.st.ndeltas; i++)
		if (!is_intact(p->snapfd, &p->prev.st.deltas[i].manifest, memo) ||
		    !is_intact(p->snapfd, &p->prev.st.deltas[i].archive, memo))
			return 1;
	if (memo->check_base && (!is_intact(p->snapfd, &p->prev.st.manifest,
	    memo) || !is_intact(p->snapfd, &p->prev.st.archive, memo)))
		return 1;
	p->have_prev = true;
	/* Step 3: number. A number is never used twice: when a publisher
	 * that died left a file of the next one, the directory is read for a
	 * verifiable state above it (snap_next_version then passes over any
	 * number files use). */
	p->version = p->prev.st.version;
	if (!snap_version_unused(p->snapfd, p->version + 1))
		p->version = snap_highest_verified(p, p->version);
	return snap_next_version(p, sync_root, err);
}

/*
 * A full chain restarts on the full copy of one of its versions that
 * memo->base names (snap_write_base): prev's chain becomes that base and
 * the deltas above it. Nothing done when there is none, it is not on this
 * chain, or its files are not intact.
 */
static void
rebase(struct publisher *p, struct snap_memo *memo)
{
	struct snap_state *st = &p->prev.st;
	const struct snap_base *b = &memo->base;
	size_t i;

	for (i = 0; i < st->ndeltas && st->deltas[i].version != b->version;)
		i++;
	if (b->version == 0 || i == st->ndeltas ||
	    !is_intact(p->snapfd, &b->manifest, memo) ||
	    !is_intact(p->snapfd, &b->archive, memo))
		return;
	st->base_version = b->version;
	st->manifest = b->manifest;
	st->archive = b->archive;
	st->ndeltas -= i + 1;
	memmove(st->deltas, st->deltas + i + 1,
	    st->ndeltas * sizeof(st->deltas[0]));
	memo->rebased = b->version;
}

static int
change_cmp(const void *a, const void *b)
{
	const struct snap_change *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* A problem of one changed path, for the report. */
static void
change_problem(const char *label, const struct snap_change *c,
    const char *why, struct report *rep)
{
	char path[PATH_MAX], rel[NAME_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", label,
	    name_path(c->type, c->name, rel, sizeof(rel)));
	report_add(rep, REPORT_ERROR, path, 0, "%s", why);
}

/* One changed path: a DEPLOY with its new entry, an UNDEPLOY, or nothing
 * (same bytes and labels as before, or gone and never published). A
 * problem goes to rep. -1 only when out of memory. */
static int
diff_one(struct publisher *p, int srcfd, const char *label,
    const struct label_rules *rules, const struct manifest *had,
    const struct snap_change *c, struct manifest *d, struct report *rep,
    struct snap_err *err)
{
	const struct manifest_entry *old = manifest_find(had, c->type, c->name);
	struct manifest_entry probe = { .type = c->type, .name = (char *)c->name };
	struct snap_err why = SNAP_ERR_INIT;
	char labels[LABELS_MAX], sum[HASH_HEX_LEN + 1];
	struct manifest_entry *e;
	bool exists;
	size_t len;

	if (scan_one(srcfd, label, c->type, c->name, &exists, rep, &why) == -1 ||
	    (exists && snap_read_artifact(p, srcfd, label, &probe, &len,
	    &why) == -1)) {
		change_problem(label, c, why.msg, rep);
		return 0;
	}
	if (!exists)
		return old == NULL ? 0 : manifest_add_event(d, c->type, c->name,
		    MANIFEST_UNDEPLOY, p->now);
	hash_buf(p->buf, len, sum);
	labels_for(rules, c->type, c->name, labels);
	if (old != NULL && strcmp(old->xxh128, sum) == 0 &&
	    old->size == len && strcmp(old->labels, labels) == 0)
		return 0;
	if (manifest_add(d, c->type, c->name, labels, len, sum,
	    manifest_stamp(old, sum, p->now)) == -1 ||
	    manifest_add_event(d, c->type, c->name, MANIFEST_DEPLOY,
	    p->now) == -1)
		return snap_err_set(err, "out of memory");
	e = &d->entries[d->n - 1];
	if (old != NULL && strcmp(old->xxh128, sum) == 0)
		return manifest_entry_set_identity(e, old->identity) == -1 ?
		    snap_err_set(err, "out of memory") : 0;
	return snap_check_artifact(p, label, e, len, rep, err);
}

/* The delta from memo to the source, over the changed paths only; every
 * problem of those paths in rep. */
static struct manifest *
diff_changes(struct publisher *p, int srcfd, const char *label,
    const struct snap_memo *memo, struct snap_change *changes, size_t n,
    struct report *rep, struct snap_err *err)
{
	struct label_rules *rules = NULL;
	struct manifest *d = manifest_new();
	size_t i;

	if (d == NULL) {
		snap_err_set(err, "out of memory");
		return NULL;
	}
	d->kind = MANIFEST_DELTA;
	d->version = p->version;
	d->parent_version = memo->version;
	d->published_at = p->now;
	d->folders = memo->m->folders;
	d->has_folders = memo->m->has_folders;
	d->has_identities = memo->m->has_identities && p->o->xc != NULL;
	if (n > 1)		/* changes may be NULL when empty */
		qsort(changes, n, sizeof(*changes), change_cmp);
	if (labels_load(srcfd, &rules, err) == -1) {
		snap_err_prefix(err, "%s", label);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (i > 0 && change_cmp(&changes[i - 1], &changes[i]) == 0)
			continue;
		if (diff_one(p, srcfd, label, rules, memo->m, &changes[i], d,
		    rep, err) == -1)
			goto fail;
	}
	labels_free(rules);
	rules = NULL;
	if (manifest_sort(d, err) == -1)
		goto fail;
	if (p->o->xc != NULL)
		identity_check_delta(memo->m, d, label, rep);
	report_sort(rep);
	if (rep->nerrors > 0 || rep->lost > 0) {
		report_fail(rep, label, err);
		goto fail;
	}
	return d;
fail:
	labels_free(rules);
	manifest_free(d);
	return NULL;
}

int
snap_publish_changes(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, struct snap_memo *memo,
    struct snap_change *changes, size_t nchanges,
    enum snap_publish_result *result, uint64_t *version,
    struct snap_err *err)
{
	struct publisher p = SNAP_PUBLISHER_INIT(o);
	struct report mine = REPORT_INIT, *rep = o->report ? o->report : &mine;
	struct manifest *d = NULL;
	struct snap_state st;
	size_t i, added = 0, removed;
	int srcfd = -1, rc = -1, on;

	if (memo->m == NULL || changes == NULL)
		return snap_publish_full(source, sync_root, o, memo, result,
		    version, err);
	if (snap_check_ids(o, err) == -1 ||
	    (srcfd = fsu_open_root(source, err)) == -1)
		return -1;
	memset(&st, 0, sizeof(st));
	/* Steps 1-3 (open_root_on). */
	if ((on = open_root_on(&p, sync_root, memo, err)) != 0)
		goto out;
	p.now = o->now > 0 ? o->now : fsu_now();
	/* Steps 4 and 6 at once: the changed paths read and checked, and
	 * the delta they make. */
	if ((d = diff_changes(&p, srcfd, source, memo, changes, nchanges,
	    rep, err)) == NULL)
		goto out;
	memo->rescanned = false;
	/* Step 5: compare. */
	if (d->nev == 0) {
		*result = SNAP_UNCHANGED;
		*version = memo->version;
		rc = 0;
		goto out;
	}
	/* d's entries are changed or added artifacts, its other events
	 * removals: the tree now holds memo's plus the added, less the
	 * removed. */
	for (i = 0; i < d->n; i++)
		added += manifest_find(memo->m, d->entries[i].type,
		    d->entries[i].name) == NULL;
	removed = d->nev - d->n;
	memo->rebased = 0;
	if (p.prev.st.ndeltas + 1 > p.o->max_chain)
		rebase(&p, memo);
	if (!snap_is_delta(&p, d->n, memo->m->n + added - removed)) {
		on = 1;	/* the chain is full, or most of the tree changed */
		goto out;
	}
	/* Steps 7-8, then 9-11 (snap_write.c), memo moved to the new
	 * version in between. */
	snap_mark(&p, SNAP_MARK_READ);
	if (snap_write_delta(&p, srcfd, source, d, &st, err) == -1 ||
	    manifest_apply_delta(memo->m, d, err) == -1 ||
	    manifest_check_total(memo->m, err) == -1 ||
	    snap_commit_state(&p, &st, d->parent_version, memo->m->n,
	    err) == -1) {
		snap_discard_version(&p);
		snap_memo_clear(memo);	/* it may hold d: start afresh */
		goto out;
	}
	memo->version = p.version;
	memo->chain = st.ndeltas;
	snap_remember_state(memo, &p, &st);
	manifest_clear_events(memo->m);
	/* The results, and step 12. */
	snap_finish_publish(&p, result, version, err);
	rc = 0;
out:
	report_free(&mine);
	manifest_free(d);
	snap_root_close(&p);
	close(srcfd);
	if (on == 1 && o->report != NULL)
		report_free(o->report);	/* the full pass says it all again */
	if (on == 1)
		return snap_publish_full(source, sync_root, o, memo, result,
		    version, err);
	return rc;
}

/* A full copy ahead of need: see snap.h. */
int
snap_write_base(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, const struct snap_memo *memo,
    struct snap_base *base, struct snap_err *err)
{
	struct publisher p = SNAP_PUBLISHER_INIT(o);
	int srcfd = -1, rc = -1;

	p.via_temps = true;	/* no lock: temps, renamed once synced */
	memset(base, 0, sizeof(*base));
	if (memo->m == NULL)
		return snap_err_set(err, "nothing published yet");
	if ((srcfd = fsu_open_root(source, err)) == -1 ||
	    (p.rootfd = fsu_open_root(sync_root, err)) == -1 ||
	    (p.snapfd = beneath_open_dir(p.rootfd, "snapshots", err)) == -1)
		goto out;
	/* Named by no state.json yet: the state that first names them
	 * makes snapshots/ durable before it commits. */
	if (snap_write_full_files(&p, srcfd, source, memo->m, memo->version,
	    &base->manifest, &base->archive, err) == -1 ||
	    batch_sync(&p.files, err) == -1 ||
	    batch_rename(&p.files, p.files.n, err) == -1)
		goto out;
	base->version = memo->version;
	rc = 0;
out:
	snap_root_close(&p);
	if (srcfd >= 0)
		close(srcfd);
	return rc;
}
