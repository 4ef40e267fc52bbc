/*
 * scan.c - walk a source tree the way WSO2 reads it (see scan.h).
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "labels.h"
#include "names.h"
#include "scan.h"
#include "scan_stat.h"

struct scan {
	const char *label;
	struct manifest *out;
	struct report *rep;
	const struct scan_observer *obs;
	unsigned threads;		/* that list and stat the folders */
};

static const char *
kind_of(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a folder";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISREG(mode))
		return "a file";
	return "nothing (a dangling symlink)";
}

static void
path_of(const struct scan *s, const char *dir, const char *name, char *out,
    size_t size)
{
	snprintf(out, size, "%s/%s%s%s", s->label, dir, *dir ? "/" : "", name);
}

/* Warns about what is not an artifact file; false when name is one. */
static bool
skipped(struct scan *s, const char *dir, const char *name,
    const struct stat *st, bool link)
{
	char path[PATH_MAX];

	if (S_ISREG(st->st_mode) && name_is_xml_file(name))
		return false;
	path_of(s, dir, name, path, sizeof(path));
	if (S_ISREG(st->st_mode))
		report_add(s->rep, REPORT_WARNING, path, 0, "skipped: not *.xml "
		    "(WSO2 deploys only *.xml files)");
	else if (link)
		report_add(s->rep, REPORT_WARNING, path, 0, "skipped: a symlink "
		    "to %s (only symlinks to files are followed)",
		    kind_of(st->st_mode));
	else if (S_ISDIR(st->st_mode) && *dir != '\0')
		report_add(s->rep, REPORT_WARNING, path, 0, "skipped: a folder "
		    "inside %s/ (WSO2 reads no subfolders)", dir);
	else if (S_ISDIR(st->st_mode))
		report_add(s->rep, REPORT_WARNING, path, 0, "skipped: not a "
		    "WSO2 artifact folder (those are api, sequences, endpoints, "
		    "local-entries, proxy-services, templates, "
		    "inbound-endpoints, message-stores, message-processors, "
		    "tasks, event-sources, priority-executors, imports)");
	else
		report_add(s->rep, REPORT_WARNING, path, 0, "skipped: %s, not a "
		    "file", kind_of(st->st_mode));
	return true;
}

/* Adds dir/name, a regular *.xml file of `type`, or says why it cannot be.
 * -1 only when out of memory. */
static int
add_artifact(struct scan *s, int type, const char *dir, const char *file,
    const struct stat *st, struct snap_err *err)
{
	char name[NAME_MAX_BYTES + 1], path[PATH_MAX];
	struct snap_err why = SNAP_ERR_INIT;

	if (name_from_file(file, name, &why) == -1) {
		path_of(s, dir, file, path, sizeof(path));
		report_add(s->rep, REPORT_ERROR, path, 0, "%s", why.msg);
		return 0;
	}
	if ((uint64_t)st->st_size > ARTIFACT_MAX_BYTES) {
		path_of(s, dir, file, path, sizeof(path));
		report_add(s->rep, REPORT_ERROR, path, 0, "larger than %u bytes, "
		    "the limit for one artifact", ARTIFACT_MAX_BYTES);
		return 0;
	}
	if ((s->obs == NULL || !s->obs->only) && manifest_add(s->out, type,
	    name, NULL, (uint64_t)st->st_size, "", 0) == -1)
		return snap_err_set(err, "%s: out of memory", s->label);
	if (s->obs != NULL)
		s->obs->fn(s->obs->arg, type, name, st);
	return 0;
}

/* An entry of dir that could not be stat'ed (errnum), reported. */
static void
unseen(struct scan *s, const char *dir, const char *name, int errnum)
{
	char path[PATH_MAX];

	path_of(s, dir, name, path, sizeof(path));
	report_add(s->rep, REPORT_ERROR, path, 0, "cannot look at it: %s",
	    strerror(errnum));
}

/* One entry of the top of the tree that is not a type folder. */
static int
top_entry(struct scan *s, const char *name, const struct stat *st,
    bool link, struct snap_err *err)
{
	/* Not an artifact: the rules that label them (labels.h). */
	if (strcmp(name, LABELS_FILE) == 0 && S_ISREG(st->st_mode) && !link)
		return 0;
	if (skipped(s, "", name, st, link))
		return 0;
	return add_artifact(s, TYPE_CONFIG, "", name, st, err);
}

/* A type folder's listed and stat'ed entries, in the listing's order. */
static int
take_list(struct scan *s, int type, const struct scan_list *l,
    struct snap_err *err)
{
	const char *dir = artifact_types[type].dir, *name;
	const struct scan_item *it;
	size_t i;

	for (i = 0; i < l->n; i++) {
		it = &l->v[i];
		name = scan_list_name(l, i);
		if (it->err != 0) {
			unseen(s, dir, name, it->err);
			continue;
		}
		if (!skipped(s, dir, name, &it->st, it->link) &&
		    add_artifact(s, type, dir, name, &it->st, err) == -1)
			return -1;
	}
	return 0;
}

/* The top's type folders (each a directory, not a symlink), opened,
 * then listed and stat'ed together on s->threads (scan_stat.h). */
struct folders {
	struct scan_folder *v;	/* in the top's listing order */
	size_t n;
	size_t *of;		/* top entry i's folder in v, or SIZE_MAX */
};

static int
folders_open(struct scan *s, int dfd, const struct scan_list *top,
    struct folders *fo, struct snap_err *err)
{
	const struct scan_item *it;
	const char *name;
	struct scan_folder *f;
	size_t i;

	fo->v = calloc(top->n + 1, sizeof(*fo->v));
	fo->of = calloc(top->n + 1, sizeof(*fo->of));
	if (fo->v == NULL || fo->of == NULL)
		return snap_err_set(err, "%s: out of memory", s->label);
	for (i = 0; i < top->n; i++) {
		it = &top->v[i];
		name = scan_list_name(top, i);
		fo->of[i] = SIZE_MAX;
		if (it->err != 0 || it->link || !S_ISDIR(it->st.st_mode) ||
		    name_type_of_dir(name) < 0)
			continue;
		f = &fo->v[fo->n];
		*f = (struct scan_folder){ .l = SCAN_LIST_INIT };
		f->dirfd = openat(dfd, name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (f->dirfd == -1)
			f->err = errno;
		fo->of[i] = fo->n++;
	}
	scan_folders_read_stat(fo->v, fo->n, s->threads);
	return 0;
}

static void
folders_close(struct folders *fo)
{
	size_t i;

	for (i = 0; i < fo->n; i++) {
		if (fo->v[i].dirfd != -1)
			close(fo->v[i].dirfd);
		scan_list_free(&fo->v[i].l);
	}
	free(fo->v);
	free(fo->of);
}

/* A type folder of the top, as folders_open() left it. */
static int
take_folder(struct scan *s, const char *name, const struct scan_folder *f,
    struct snap_err *err)
{
	int type = name_type_of_dir(name);

	if (f->dirfd == -1)
		return snap_err_sys(err, f->err, "%s/%s", s->label, name);
	s->out->folders |= 1u << type;
	if (f->err != 0)
		return snap_err_sys(err, f->err, "%s/%s", s->label,
		    artifact_types[type].dir);
	return take_list(s, type, &f->l, err);
}

/* Walks the tree: the top listed and stat'ed, its type folders all at
 * once, then everything taken in the listing's order - what is reported
 * and listed is the same as a walk that stat'ed each entry as it read it,
 * whatever the number of threads. */
static int
scan_top(struct scan *s, int dfd, struct snap_err *err)
{
	struct scan_list l = SCAN_LIST_INIT;
	struct folders fo = { NULL, 0, NULL };
	const struct scan_item *it;
	const char *name;
	size_t i;
	int rc = -1;

	if (scan_list_read(dfd, &l) == -1) {
		snap_err_sys(err, errno, "%s", s->label);
		goto out;
	}
	scan_list_stat(dfd, &l, s->threads);
	if (folders_open(s, dfd, &l, &fo, err) == -1)
		goto out;
	for (i = 0; i < l.n; i++) {
		it = &l.v[i];
		name = scan_list_name(&l, i);
		if (it->err != 0) {
			unseen(s, "", name, it->err);
			continue;
		}
		if ((fo.of[i] != SIZE_MAX ?
		    take_folder(s, name, &fo.v[fo.of[i]], err) :
		    top_entry(s, name, &it->st, it->link, err)) == -1)
			goto out;
	}
	rc = 0;
out:
	folders_close(&fo);
	scan_list_free(&l);
	return rc;
}

int
scan_one(int srcfd, const char *label, int type, const char *name,
    bool *exists, struct report *rep, struct snap_err *err)
{
	struct scan s = { .label = label, .out = NULL, .rep = rep };
	char path[NAME_PATH_MAX], file[NAME_MAX_BYTES + 8];
	const char *dir = artifact_types[type].dir;
	struct stat st;
	bool link;

	*exists = false;
	name_path(type, name, path, sizeof(path));
	if (scan_entry_stat(srcfd, path, &st, &link) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return snap_err_sys(err, errno, "%s/%s", label, path);
	}
	snprintf(file, sizeof(file), "%s.xml", name);
	if (skipped(&s, dir, file, &st, link))
		return 0;
	if ((uint64_t)st.st_size > ARTIFACT_MAX_BYTES)
		return snap_err_set(err, "%s/%s: larger than %u bytes, the limit "
		    "for one artifact", label, path, ARTIFACT_MAX_BYTES);
	*exists = true;
	return 0;
}

int
scan_tree(int srcfd, const char *label, struct manifest *out,
    struct report *rep, struct snap_err *err)
{
	return scan_tree_observed(srcfd, label, out, rep, NULL, err);
}

int
scan_tree_observed(int srcfd, const char *label, struct manifest *out,
    struct report *rep, const struct scan_observer *obs, struct snap_err *err)
{
	struct report mine = REPORT_INIT;
	struct scan s = { .label = label, .out = out,
	    .rep = rep != NULL ? rep : &mine, .obs = obs,
	    .threads = obs != NULL ? obs->threads : 1 };
	int rc;

	out->has_folders = true;
	out->folders = 0;
	rc = scan_top(&s, srcfd, err);
	if (rc == 0 && rep == NULL && mine.nerrors > 0) {
		report_sort(&mine);
		rc = report_fail(&mine, label, err);
	}
	report_free(&mine);
	if (rc == 0)
		rc = manifest_sort(out, err);
	return rc;
}
