/*
 * deploy_build.c - deploy_build(): its steps in the order deploy.h
 * numbers them, each step's work in the file deploy.h names for it.
 *
 * Only this file calls across the others (plan, stage, commit, retain;
 * all of them read and write through deploy_records.c). A step that fails
 * leaves through the one `out:` label, which removes .staging/build and
 * frees what the steps made. What callers see of d (current and its
 * manifests) changes at step 8 alone, once current is swapped.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arc.h"
#include "beneath.h"
#include "deploy_int.h"
#include "fsutil.h"

int
deploy_build(struct deploy *d, struct build_plan *p, struct apply_stats *st,
    struct snap_err *err)
{
	const struct manifest *deltas[STATE_CHAIN_MAX + 1];
	struct release *list = NULL, next;
	struct keyset ks = { .valid = false };
	struct manifest *bm = NULL, *between = NULL;
	struct staged s = { .top = -1, .fd = -1 };
	size_t ndeltas;
	uint64_t serial;
	unsigned depth;
	size_t n, i;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	folders_init(&s.dirs, -1);
	/* Step 1: every archive checked whole. A bad file must not cost us
	 * the release we would patch. */
	for (i = 0; p->v != NULL && i < p->v->nlayers; i++)
		if (arc_check_file(p->v->layers[i].archfd,
		    p->v->layers[i].archive_f, err) == -1)
			return snap_err_prefix(err, "%s",
			    p->v->layers[i].archive_f->name);
	st->checked_us = fsu_mono_us();
	/* Step 2: .staging, opened afresh for each build: a symlink put in
	 * its place since the last one is refused here, before anything is
	 * written. */
	if ((s.top = beneath_make_dir(d->rootfd, STAGING, 0755, err)) == -1)
		return snap_err_prefix(err, "deploy root %s", d->path);
	if (fsu_remove_tree(s.top, BUILD, err) == -1) {
		snap_err_prefix(err, STAGING);
		goto out;
	}
	/* Step 3: releases/ listed, the next serial chosen. */
	if (release_list(d, &list, &n, err) == -1)
		goto out;
	serial = n > 0 ? list[n - 1].serial + 1 : 1;
	if (d->has_current && d->current.serial >= serial)
		serial = d->current.serial + 1;
	/* Step 4: the deltas from the applied upstream version. */
	ndeltas = plan_deltas(d, p, deltas, &between);
	/* Step 5: the base to recycle, renamed into .staging/build. */
	if (plan_base(d, list, n, p, deltas, ndeltas, &s, &bm, &ks, st,
	    err) == -1)
		goto out;
	/* Step 6: .staging/build filled, every file checked. */
	if (stage_fill(d, p, bm, ks.valid ? &ks : NULL, &s, st, err) == -1)
		goto out;
	/* Step 7: records, fsync, rename into releases/, current swapped. */
	release_make(&next, p->upstream->version, serial);
	if (commit_release(d, &next, p, &s, deltas, ndeltas, &depth, st,
	    err) == -1)
		goto out;
	/* Step 8: the deploy takes the manifests over. */
	commit_manifests(d, p->target, p->upstream);
	d->upstream_depth = depth;
	p->target = p->upstream = NULL;
	d->current = next;
	d->has_current = true;
	/* Step 9: retention. */
	retain_apply(d);
	rc = 0;
out:
	batch_free(&s.files);
	folders_close(&s.dirs);
	if (s.fd >= 0)
		close(s.fd);
	if (rc == -1) {
		struct snap_err ignored;

		(void)fsu_remove_tree(s.top, BUILD, &ignored);
	}
	if (s.top >= 0)
		close(s.top);
	manifest_free(bm);
	manifest_free(between);
	keyset_free(&ks);
	free(list);
	return rc;
}
