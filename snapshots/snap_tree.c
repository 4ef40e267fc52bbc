/*
 * snap_tree.c - the source tree as the next version would hold it: step 4
 * of a publish (snap.h). Every artifact is scanned, labelled (labels.conf),
 * read, hashed and - unless the latest version holds it byte for byte -
 * validated, and no two may share a Synapse identity.
 *
 * Calling sequence: cur = manifest_new(); snap_read_tree(p, srcfd, label,
 * cur, rep, err), with p->prev the latest version when there is one (its
 * identities are reused for unchanged bytes). snap_read_artifact() and
 * snap_check_artifact() serve snap_write.c (the second read) and
 * snap_changes.c (one changed path) too.
 *
 * Error contract: every problem of the tree goes to rep (sorted), and
 * then -1 with err summing them up (report_fail); -1 with err alone for
 * what stops at once: out of memory, a tree over the size limit, an
 * unreadable labels.conf. Nothing is written anywhere.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "identity.h"
#include "labels.h"
#include "names.h"
#include "readpool.h"
#include "report.h"
#include "scan.h"
#include "snap_int.h"

/* Reads TYPE/NAME.xml below srcfd into p->buf (a symlink to a file is
 * read through, as WSO2 reads it: scan.h). */
int
snap_read_artifact(struct publisher *p, int srcfd, const char *label,
    const struct manifest_entry *e, size_t *len, struct snap_err *err)
{
	char path[NAME_PATH_MAX];

	free(p->buf);
	p->buf = NULL;
	name_path(e->type, e->name, path, sizeof(path));
	if (fsu_read_file_flags(srcfd, path, ARTIFACT_MAX_BYTES, FSU_FOLLOW,
	    &p->buf, len, err) == -1)
		return snap_err_prefix(err, "%s", label);
	return 0;
}

/*
 * The checks of publish for one artifact in p->buf, which set its
 * identity. A problem goes to rep (named LABEL/PATH:LINE), and the
 * artifact is given no identity (so that it clashes with none): the
 * publish goes on to find the others. -1 only when out of memory.
 */
int
snap_check_artifact(struct publisher *p, const char *label,
    struct manifest_entry *e, size_t len, struct report *rep,
    struct snap_err *err)
{
	struct snap_err why = SNAP_ERR_INIT;
	struct xmlcheck_result res;
	char path[PATH_MAX], rel[NAME_PATH_MAX];

	if (p->o->xc == NULL)
		return 0;
	if (xmlcheck_artifact(p->o->xc, e->type, e->name, p->buf, len, &res,
	    &why) == -1) {
		snprintf(path, sizeof(path), "%s/%s", label,
		    name_path(e->type, e->name, rel, sizeof(rel)));
		report_add(rep, REPORT_ERROR, path, res.line, "%s", why.msg);
		res.identity[0] = '\0';
	}
	if (manifest_entry_set_identity(e, res.identity) == -1)
		return snap_err_set(err, "out of memory");
	return 0;
}

/* Gives every artifact the labels labels.conf assigns it. */
static int
assign_labels(int srcfd, const char *label, struct manifest *cur,
    struct snap_err *err)
{
	struct label_rules *rules = NULL;
	char labels[LABELS_MAX];
	size_t i;

	if (labels_load(srcfd, &rules, err) == -1)
		return snap_err_prefix(err, "%s", label);
	for (i = 0; rules != NULL && i < cur->n; i++) {
		labels_for(rules, cur->entries[i].type, cur->entries[i].name,
		    labels);
		if (manifest_entry_set_labels(&cur->entries[i], labels) == -1) {
			labels_free(rules);
			return snap_err_set(err, "out of memory");
		}
	}
	labels_free(rules);
	return 0;
}

/* Whether prev's entries carry identities (manifest.h). */
static bool
knows_identities(const struct publisher *p)
{
	return p->have_prev && p->prev.m->has_identities;
}

/* Result r of artifact e, as the publish takes it: the size and checksum
 * read, the identity found (or the latest version's for the same bytes),
 * a problem to rep. -1 only when out of memory. */
static int
take_result(struct publisher *p, const char *label, struct manifest *cur,
    struct manifest_entry *e, const struct readpool_result *r,
    struct report *rep, struct snap_err *err)
{
	const char *id = NULL;
	char path[PATH_MAX], rel[NAME_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", label,
	    name_path(e->type, e->name, rel, sizeof(rel)));
	if (r->status == READPOOL_UNREADABLE) {
		report_add(rep, REPORT_ERROR, path, 0, "cannot read it (%s)",
		    r->why);
		id = "";
	} else {
		/* The scan's size gives way to the bytes read. */
		cur->total_bytes += r->len - e->size;
		e->size = r->len;
		memcpy(e->xxh128, r->xxh128, sizeof(e->xxh128));
	}
	if (r->status == READPOOL_REUSED)
		id = manifest_find(p->prev.m, e->type, e->name)->identity;
	else if (r->status == READPOOL_INVALID) {
		report_add(rep, REPORT_ERROR, path, r->line, "%s", r->why);
		id = "";
	} else if (r->status == READPOOL_OK && p->o->xc != NULL)
		id = r->identity;
	else if (r->status == READPOOL_OK)
		return 0;	/* not validated: no identity */
	if (manifest_entry_set_identity(e, id) == -1)
		return snap_err_set(err, "out of memory");
	return 0;
}

/*
 * Pass one: checksum every artifact, check those the latest version does
 * not already hold byte for byte (the others keep their identity from
 * it), and check that no two share an identity - on o->threads threads
 * (readpool.h), taken in the tree's order. Problems go to rep; -1 with
 * err only for what stops the publish at once (out of memory, a tree
 * over the size limit).
 */
static int
hash_and_validate(struct publisher *p, int srcfd, const char *label,
    struct manifest *cur, struct report *rep, struct snap_err *err)
{
	struct readpool_job job = { .srcfd = srcfd, .label = label,
	    .cur = cur, .prev = knows_identities(p) ? p->prev.m : NULL,
	    .xc = p->o->xc, .threads = p->o->threads > 0 ? p->o->threads :
	    readpool_default_threads() };
	struct readpool_result *res;
	size_t i;
	int rc = -1;

	if ((res = calloc(cur->n > 0 ? cur->n : 1, sizeof(*res))) == NULL)
		return snap_err_set(err, "out of memory");
	if (readpool_run(&job, res, err) == -1)
		goto out;
	for (i = 0; i < cur->n; i++)
		if (take_result(p, label, cur, &cur->entries[i], &res[i], rep,
		    err) == -1)
			goto out;
	if (p->o->xc != NULL)
		identity_check_all(cur, label, rep);
	cur->has_identities = p->o->xc != NULL;
	/* What no secondary would apply is not published. */
	if (manifest_check_total(cur, err) == -1) {
		snap_err_prefix(err, "%s", label);
		goto out;
	}
	rc = 0;
out:
	readpool_results_free(res, cur->n);
	return rc;
}

/*
 * The tree at srcfd as the next version would hold it: scanned, labelled,
 * hashed and checked (cur from manifest_new()). -1 with err, and every
 * problem in rep (sorted), when it cannot be published.
 */
int
snap_read_tree(struct publisher *p, int srcfd, const char *label,
    struct manifest *cur, struct report *rep, struct snap_err *err)
{
	if (scan_tree_observed(srcfd, label, cur, rep, p->o->scan_obs,
	    err) == -1 ||
	    assign_labels(srcfd, label, cur, err) == -1 ||
	    hash_and_validate(p, srcfd, label, cur, rep, err) == -1)
		return -1;
	report_sort(rep);
	if (rep->nerrors > 0 || rep->lost > 0)
		return report_fail(rep, label, err);
	return 0;
}
