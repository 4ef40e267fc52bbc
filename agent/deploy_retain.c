/*
 * deploy_retain.c - retention (deploy_build step 9, and at open): the
 * newest `keep` releases stay, and current whatever its age; so do the
 * upstream records a kept release needs - its own, those its delta record
 * stands on down to a full one, and every record from the oldest kept
 * release's version up, which recycling walks.
 *
 * retain_apply() never fails: a release that cannot be removed, or a
 * record whose chain cannot be read (then nothing is pruned), waits for
 * the next apply.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy_int.h"
#include "fsutil.h"

static bool
holds(const uint64_t *set, size_t n, uint64_t v)
{
	while (n-- > 0)
		if (set[n] == v)
			return true;
	return false;
}

/* Adds `version` and the records its record is a delta on to *set; -1
 * when a record on the way cannot be read (then nothing is pruned). */
static int
need_chain(struct deploy *d, uint64_t version, uint64_t *set, size_t *n)
{
	uint64_t parent;
	unsigned depth;

	for (depth = 0; version != 0 && !holds(set, *n, version); depth++) {
		if (depth > RECORD_CHAIN_MAX ||
		    record_parent(d, version, &parent) == -1)
			return -1;
		set[(*n)++] = version;
		if (record_has_full(d, version))
			break;	/* reading stops there */
		version = parent;
	}
	return 0;
}

/* Drops upstream records no kept release needs: its own; for a delta
 * record the records down to a full one; and every record from the
 * oldest kept release's version up, which recycling walks (deploy_plan.c). */
static void
prune_upstream(struct deploy *d, const struct release *list, size_t n)
{
	uint64_t v, *need, from = d->has_current ? d->current.version : 0;
	size_t i, nneed = 0;
	struct dirent *de;
	bool ok;
	DIR *dir;
	char *end;

	need = malloc((n + 1) * (RECORD_CHAIN_MAX + 1) * sizeof(*need));
	if (need == NULL)
		return;
	ok = !d->has_current ||
	    need_chain(d, d->current.version, need, &nneed) == 0;
	for (i = 0; ok && i < n; i++) {
		ok = need_chain(d, list[i].version, need, &nneed) == 0;
		if (from == 0 || list[i].version < from)
			from = list[i].version;
	}
	/* A record that cannot be read: whatever it stood on stays. */
	if (!ok || (dir = fsu_opendir_dup(d->upfd)) == NULL) {
		free(need);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		v = strtoull(de->d_name, &end, 10);
		if (strcmp(end, ".full.json") == 0 ? !holds(need, nneed, v) :
		    strcmp(end, ".json") == 0 && v < from &&
		    !holds(need, nneed, v)) {
			unlinkat(d->upfd, de->d_name, 0);
			record_forget_parent(d, v);
		}
	}
	closedir(dir);
	free(need);
}

/* Keeps the newest `keep` releases (and current, whatever its age). */
void
retain_apply(struct deploy *d)
{
	struct release *list = NULL;
	struct snap_err err = SNAP_ERR_INIT;
	size_t n, i, drop;

	if (release_list(d, &list, &n, &err) == -1)
		return;
	drop = n > d->keep ? n - d->keep : 0;
	for (i = 0; i < drop; i++)
		if (!release_is_current(d, list[i].name))
			release_drop(d, list[i].name);
	/* The survivors' upstream records stay (current's is kept by
	 * prune_upstream itself, whatever its age). */
	prune_upstream(d, list + drop, n - drop);
	free(list);
}
