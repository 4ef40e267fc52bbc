/*
 * overrides.c - the durable list of local overrides (see overrides.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "beneath.h"
#include "fsutil.h"
#include "labels.h"
#include "names.h"
#include "overrides.h"

#define OVR_FILE "overrides.json"
#define OVR_FORMAT 1

const char *
ovr_state_name(enum ovr_state s)
{
	return s == OVR_UNDEPLOYED ? "undeployed-local" : "deployed-local";
}

void
ovr_clear(struct overrides *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->v[i].name);
	free(o->v);
	o->v = NULL;
	o->n = o->cap = 0;
}

void
ovr_close(struct overrides *o)
{
	ovr_clear(o);
	if (o->dirfd >= 0)
		close(o->dirfd);
	o->dirfd = -1;
}

struct override *
ovr_find(const struct overrides *o, int type, const char *name)
{
	size_t i;

	/* A gateway carries a handful of overrides: a scan is the right
	 * data structure. */
	for (i = 0; i < o->n; i++)
		if (o->v[i].type == type && strcmp(o->v[i].name, name) == 0)
			return &o->v[i];
	return NULL;
}

int
ovr_set(struct overrides *o, int type, const char *name, enum ovr_state state,
    const char *xxh128, uint64_t size, const char *base)
{
	struct override *ov = ovr_find(o, type, name);

	if (ov == NULL) {
		if (o->n == o->cap) {
			size_t ncap = o->cap ? o->cap * 2 : 8;
			void *p = realloc(o->v, ncap * sizeof(*o->v));

			if (p == NULL)
				return -1;
			o->v = p;
			o->cap = ncap;
		}
		ov = &o->v[o->n];
		memset(ov, 0, sizeof(*ov));
		if ((ov->name = strdup(name)) == NULL)
			return -1;
		ov->type = type;
		o->n++;
	}
	ov->state = state;
	ov->size = size;
	ov->since = fsu_now();
	snprintf(ov->xxh128, sizeof(ov->xxh128), "%s", xxh128 ? xxh128 : "");
	snprintf(ov->base, sizeof(ov->base), "%s", base ? base : "");
	return 0;
}

int
ovr_remove(struct overrides *o, int type, const char *name)
{
	struct override *ov = ovr_find(o, type, name);

	if (ov == NULL)
		return 0;
	free(ov->name);
	*ov = o->v[--o->n];
	return 1;
}

int
ovr_copy(struct overrides *dst, const struct overrides *src)
{
	size_t i;

	dst->v = NULL;
	dst->n = dst->cap = 0;
	for (i = 0; i < src->n; i++) {
		const struct override *s = &src->v[i];

		if (ovr_set(dst, s->type, s->name, s->state, s->xxh128, s->size,
		    s->base) == -1) {
			ovr_clear(dst);
			return -1;
		}
		dst->v[dst->n - 1].since = s->since;
		memcpy(dst->v[dst->n - 1].identity, s->identity,
		    sizeof(s->identity));
	}
	return 0;
}

/* --- the list on disk --- */

static int
parse_one(struct overrides *o, json_t *j, struct snap_err *err)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *state = json_string_value(json_object_get(j, "state"));
	const char *xxh = json_string_value(json_object_get(j, "xxh128"));
	const char *base = json_string_value(json_object_get(j, "base_xxh128"));
	const char *since = json_string_value(json_object_get(j, "since"));
	json_t *id = json_object_get(j, "identity");
	json_t *size = json_object_get(j, "size");
	enum ovr_state st;
	int64_t when = 0;
	int t;

	if (type == NULL || (t = name_type_index(type)) < 0 || name == NULL ||
	    name_check(name, err) == -1)
		return snap_err_set(err, "bad type or name");
	if (state != NULL && strcmp(state, "undeployed-local") == 0)
		st = OVR_UNDEPLOYED;
	else if (state != NULL && strcmp(state, "deployed-local") == 0)
		st = OVR_DEPLOYED;
	else
		return snap_err_set(err, "%s/%s: bad state", type, name);
	if (xxh == NULL || base == NULL || !json_is_integer(size) ||
	    (st == OVR_DEPLOYED && !hash_is_hex(xxh)) ||
	    (base[0] != '\0' && !hash_is_hex(base)) ||
	    (since != NULL && fsu_parse_rfc3339(since, &when) == -1))
		return snap_err_set(err, "%s/%s: bad checksum, size or time",
		    type, name);
	if (id != NULL && (!json_is_string(id) ||
	    json_string_length(id) > XML_IDENTITY_MAX ||
	    strlen(json_string_value(id)) != json_string_length(id)))
		return snap_err_set(err, "%s/%s: bad identity", type, name);
	if (ovr_set(o, t, name, st, xxh, (uint64_t)json_integer_value(size),
	    base) == -1)
		return snap_err_set(err, "out of memory");
	o->v[o->n - 1].since = when;
	if (id != NULL)
		snprintf(o->v[o->n - 1].identity, sizeof(o->v[0].identity), "%s",
		    json_string_value(id));
	return 0;
}

static int
load(struct overrides *o, struct snap_err *err)
{
	char *buf = NULL;
	json_error_t jerr;
	json_t *root, *list, *j;
	size_t len, i;
	int rc = -1;

	if (faccessat(o->dirfd, OVR_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT)
		return 0;
	if (fsu_read_file(o->dirfd, OVR_FILE, 16u << 20, &buf, &len, err) == -1)
		return -1;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (root == NULL)
		return snap_err_set(err, "malformed JSON at line %d: %s",
		    jerr.line, jerr.text);
	list = json_object_get(root, "overrides");
	if (!json_is_array(list)) {
		snap_err_set(err, "'overrides' is not an array");
		goto out;
	}
	json_array_foreach(list, i, j)
		if (parse_one(o, j, err) == -1)
			goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* Temps that a kill mid-write left: of the list, and of deployed-local
 * copies. Only one agent opens the store (the deploy root's lock). */
static void
sweep_temps(struct overrides *o)
{
	size_t i;
	int fd;

	(void)fsu_tmp_sweep(o->dirfd, OVR_FILE);
	for (i = 0; i < artifact_type_count; i++) {
		fd = openat(o->dirfd, artifact_types[i].folder,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1)
			continue;
		(void)fsu_tmp_sweep(fd, NULL);
		close(fd);
	}
}

int
ovr_open(struct overrides *o, int rootfd, struct snap_err *err)
{
	if ((o->dirfd = beneath_make_dir(rootfd, "overrides", 0755,
	    err)) == -1)
		return -1;
	sweep_temps(o);
	if (load(o, err) == -1)
		return snap_err_prefix(err, "overrides/" OVR_FILE);
	return 0;
}

int
ovr_save(struct overrides *o, struct snap_err *err)
{
	json_t *root, *list = json_array();
	char when[32], *buf;
	size_t i;
	int rc;

	for (i = 0; i < o->n; i++) {
		const struct override *ov = &o->v[i];

		json_t *j;

		fsu_rfc3339(ov->since, when);
		j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "type",
		    artifact_types[ov->type].folder, "name", ov->name, "state",
		    ovr_state_name(ov->state), "xxh128", ov->xxh128, "size",
		    (json_int_t)ov->size, "base_xxh128", ov->base, "since", when);
		if (j != NULL && ov->identity[0] != '\0')
			json_object_set_new(j, "identity",
			    json_string(ov->identity));
		json_array_append_new(list, j);
	}
	root = json_pack("{s:i, s:o}", "format", OVR_FORMAT, "overrides", list);
	buf = root != NULL ? json_dumps(root, JSON_INDENT(2)) : NULL;
	json_decref(root);
	if (buf == NULL)
		return snap_err_set(err, "overrides: out of memory");
	rc = fsu_write_atomic(o->dirfd, OVR_FILE, buf, strlen(buf), err);
	free(buf);
	return rc;
}

int
ovr_write_content(struct overrides *o, int type, const char *name,
    const void *buf, size_t len, struct snap_err *err)
{
	const char *dir = artifact_types[type].dir;
	char file[NAME_MAX_BYTES + 8];
	int fd, rc;

	snprintf(file, sizeof(file), "%s.xml", name);
	if (*dir == '\0')	/* a file at the top of a tree */
		return fsu_write_atomic(o->dirfd, file, buf, len, err);
	if ((fd = beneath_make_dir(o->dirfd, dir, 0755, err)) == -1)
		return snap_err_prefix(err, "overrides");
	rc = fsu_write_atomic(fd, file, buf, len, err);
	close(fd);
	return rc;
}

static void
prune_folder(struct overrides *o, int type)
{
	char name[NAME_MAX_BYTES + 1];
	struct snap_err ignored;
	struct override *ov;
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(o->dirfd, type == TYPE_CONFIG ? "." :
	    artifact_types[type].dir,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    name_from_file(de->d_name, name, &ignored) == -1)
			continue;
		ov = ovr_find(o, type, name);
		if (ov == NULL || ov->state != OVR_DEPLOYED)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

void
ovr_prune(struct overrides *o)
{
	size_t i;

	for (i = 0; i < artifact_type_count; i++)
		prune_folder(o, (int)i);
}

bool
ovr_all_labeled(const struct manifest *m, const char *labels)
{
	size_t i;

	for (i = 0; labels != NULL && i < m->n; i++)
		if (!labels_intersect(m->entries[i].labels, labels))
			return false;
	return true;
}

struct manifest *
ovr_target(const struct manifest *upstream, const struct overrides *o,
    const char *labels, struct snap_err *err)
{
	const struct manifest_entry *e;
	const struct override *ov;
	struct manifest *t;
	size_t i;

	if ((t = manifest_new()) == NULL)
		goto oom;
	t->version = upstream->version;
	t->parent_version = upstream->parent_version;
	t->published_at = upstream->published_at;
	t->folders = upstream->folders;
	t->has_folders = upstream->has_folders;
	t->has_identities = upstream->has_identities;
	for (i = 0; i < upstream->n; i++) {
		e = &upstream->entries[i];
		if (ovr_find(o, e->type, e->name) != NULL)
			continue;	/* added below, or undeployed */
		if (labels != NULL && !labels_intersect(e->labels, labels))
			continue;	/* for other gateways */
		if (manifest_add_entry(t, e) == -1)
			goto oom;
	}
	for (i = 0; i < o->n; i++) {
		ov = &o->v[i];
		if (ov->state != OVR_DEPLOYED)
			continue;
		if (manifest_add(t, ov->type, ov->name, NULL, ov->size,
		    ov->xxh128, ov->since) == -1 ||
		    (ov->identity[0] != '\0' && manifest_entry_set_identity(
		    &t->entries[t->n - 1], ov->identity) == -1))
			goto oom;
	}
	if (manifest_sort(t, err) == -1) {
		manifest_free(t);
		return NULL;
	}
	return t;
oom:
	manifest_free(t);
	snap_err_set(err, "out of memory");
	return NULL;
}
