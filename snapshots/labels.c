/*
 * labels.c - labels.conf rules and label matching (see labels.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include <ini.h>

#include "fsutil.h"
#include "labels.h"
#include "manifest.h"
#include "names.h"

struct rule {
	int type;			/* -1: any type ("*") */
	char *name;			/* NULL: any name of the type */
	char *labels;
};

struct label_rules {
	struct rule *v;
	size_t n, cap;
};

struct parse_ctx {
	struct label_rules *r;
	struct snap_err *err;
	bool failed;
};

static int
parse_key(const char *key, int *type, char **name, struct snap_err *err)
{
	const char *slash = strchr(key, '/');
	char folder[32];

	*type = -1;
	*name = NULL;
	if (strcmp(key, "*") == 0)
		return 0;
	if (slash == NULL || (size_t)(slash - key) >= sizeof(folder))
		return snap_err_set(err, "'%s' is not TYPE/NAME, TYPE/* or *",
		    key);
	memcpy(folder, key, (size_t)(slash - key));
	folder[slash - key] = '\0';
	if ((*type = name_type_index(folder)) < 0)
		return snap_err_set(err, "'%s' is not an artifact type", folder);
	if (strcmp(slash + 1, "*") == 0)
		return 0;
	if (name_check(slash + 1, err) == -1)
		return snap_err_prefix(err, "'%s'", key);
	if ((*name = strdup(slash + 1)) == NULL)
		return snap_err_set(err, "out of memory");
	return 0;
}

static int
on_rule(void *arg, const char *section, const char *key, const char *value)
{
	struct parse_ctx *ctx = arg;
	struct label_rules *r = ctx->r;
	char clean[LABELS_MAX];
	struct rule rule;

	if (ctx->failed)
		return 0;
	if (section[0] != '\0') {
		snap_err_set(ctx->err, "sections are not used");
		goto fail;
	}
	if (parse_key(key, &rule.type, &rule.name, ctx->err) == -1)
		goto fail;
	if (labels_normalize(value, clean, sizeof(clean), ctx->err) == -1 ||
	    manifest_check_labels(clean, ctx->err) == -1 ||
	    (rule.labels = strdup(clean)) == NULL) {
		free(rule.name);
		goto fail;
	}
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 16;
		void *p = realloc(r->v, ncap * sizeof(*r->v));

		if (p == NULL) {
			free(rule.name);
			free(rule.labels);
			snap_err_set(ctx->err, "out of memory");
			goto fail;
		}
		r->v = p;
		r->cap = ncap;
	}
	r->v[r->n++] = rule;
	return 1;
fail:
	ctx->failed = true;
	return 0;
}

void
labels_free(struct label_rules *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].labels);
	}
	free(r->v);
	free(r);
}

int
labels_load(int srcfd, struct label_rules **out, struct snap_err *err)
{
	struct parse_ctx ctx = { .err = err };
	char *buf = NULL;
	size_t len;
	int line;

	*out = NULL;
	if (faccessat(srcfd, LABELS_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (fsu_read_file(srcfd, LABELS_FILE, 1u << 20, &buf, &len, err) == -1)
		return -1;
	if ((ctx.r = calloc(1, sizeof(*ctx.r))) == NULL) {
		free(buf);
		return snap_err_set(err, "out of memory");
	}
	line = ini_parse_string(buf, on_rule, &ctx);
	free(buf);
	if (line != 0) {
		if (!ctx.failed)
			snap_err_set(err, "not a 'RULE = LABELS' line");
		labels_free(ctx.r);
		return snap_err_prefix(err, LABELS_FILE ":%d", line);
	}
	*out = ctx.r;
	return 0;
}

int
labels_normalize(const char *in, char *out, size_t outlen,
    struct snap_err *err)
{
	size_t n = 0, len;
	const char *item, *end;

	for (item = in;; item = end + 1) {
		end = item + strcspn(item, ",");
		/* Trim around the item only: a blank inside one stays, and is
		 * refused by the label check. */
		while (item < end && (*item == ' ' || *item == '\t'))
			item++;
		len = (size_t)(end - item);
		while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
			len--;
		if (n + len + 2 > outlen)
			return snap_err_set(err, "label list longer than %zu "
			    "bytes", outlen - 1);
		memcpy(out + n, item, len);
		n += len;
		if (*end == '\0')
			break;
		out[n++] = ',';
	}
	out[n] = '\0';
	return 0;
}

static bool
has_label(const char *list, const char *label, size_t len)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, label, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

bool
labels_intersect(const char *a, const char *b)
{
	const char *p = a;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (n > 0 && has_label(b, p, n))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
labels_for(const struct label_rules *r, int type, const char *name,
    char out[LABELS_MAX])
{
	char all[LABELS_MAX] = "", *words[LABELS_MAX / 2], *save = NULL, *w;
	size_t i, used = 0, n = 0;

	for (i = 0; r != NULL && i < r->n; i++) {
		const struct rule *ru = &r->v[i];

		if ((ru->type >= 0 && ru->type != type) ||
		    (ru->name != NULL && strcmp(ru->name, name) != 0))
			continue;
		used += (size_t)snprintf(all + used, sizeof(all) - used, "%s%s",
		    used ? "," : "", ru->labels);
		if (used >= sizeof(all))
			break;
	}
	/* Sorted and without repeats: the same rules always give the same
	 * list, so a manifest changes only when an artifact's labels do. */
	for (w = strtok_r(all, ",", &save); w != NULL && n < LABELS_MAX / 2;
	    w = strtok_r(NULL, ",", &save))
		words[n++] = w;
	qsort(words, n, sizeof(words[0]), cmp_str);
	out[0] = '\0';
	used = 0;
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(words[i], words[i - 1]) == 0)
			continue;
		used += (size_t)snprintf(out + used, LABELS_MAX - used, "%s%s",
		    used ? "," : "", words[i]);
		if (used >= LABELS_MAX)
			break;
	}
	if (out[0] == '\0')
		snprintf(out, LABELS_MAX, "default");
}
