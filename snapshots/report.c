/*
 * report.c - a list of problems and warnings about a tree (see report.h).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* A reason is at most this long, like every other message of ours. */
#define REPORT_LINE_MAX (sizeof(((struct snap_err *)0)->msg))

static int
grow(struct report *r)
{
	size_t ncap = r->cap ? r->cap * 2 : 16;
	struct report_line *nv;

	if (r->n < r->cap)
		return 0;
	if ((nv = realloc(r->v, ncap * sizeof(*nv))) == NULL)
		return -1;
	r->v = nv;
	r->cap = ncap;
	return 0;
}

void
report_add(struct report *r, enum report_kind kind, const char *path,
    unsigned long line, const char *fmt, ...)
{
	struct snap_err why = SNAP_ERR_INIT;
	char text[REPORT_LINE_MAX + PATH_MAX + 32];
	struct report_line *l;
	va_list ap;

	if (r == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(why.msg, sizeof(why.msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(text, sizeof(text), "%s:%lu: %s", path, line, why.msg);
	else
		snprintf(text, sizeof(text), "%s: %s", path, why.msg);
	/* A path or a reason may quote the tree: keep the line printable. */
	snap_err_sanitize(text);
	if (grow(r) == -1)
		goto lost;
	l = &r->v[r->n];
	l->kind = kind;
	l->line = line;
	if ((l->path = strdup(path)) == NULL)
		goto lost;
	if ((l->text = strdup(text)) == NULL) {
		free(l->path);
		goto lost;
	}
	r->n++;
	r->nerrors += kind == REPORT_ERROR;
	return;
lost:
	r->lost++;
}

void
report_copy(const struct report *from, struct report *to)
{
	const struct report_line *f;
	struct report_line *l;
	size_t i;

	if (to == NULL)
		return;
	for (i = 0; i < from->n; i++) {
		f = &from->v[i];
		if (grow(to) == -1) {
			to->lost++;
			continue;
		}
		l = &to->v[to->n];
		*l = (struct report_line){ f->kind, strdup(f->path), f->line,
		    strdup(f->text) };
		if (l->path == NULL || l->text == NULL) {
			free(l->path);
			free(l->text);
			to->lost++;
			continue;
		}
		to->n++;
		to->nerrors += f->kind == REPORT_ERROR;
	}
	to->lost += from->lost;
}

static int
line_cmp(const void *a, const void *b)
{
	const struct report_line *x = a, *y = b;
	int c;

	if (x->kind != y->kind)
		return x->kind == REPORT_ERROR ? -1 : 1;
	if ((c = strcmp(x->path, y->path)) != 0)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return strcmp(x->text, y->text);
}

void
report_sort(struct report *r)
{
	if (r != NULL && r->n > 1)
		qsort(r->v, r->n, sizeof(*r->v), line_cmp);
}

int
report_fail(const struct report *r, const char *label, struct snap_err *err)
{
	const char *first = NULL;
	size_t i, n = r->nerrors;

	for (i = 0; i < r->n && first == NULL; i++)
		if (r->v[i].kind == REPORT_ERROR)
			first = r->v[i].text;
	if (r->lost > 0)
		return snap_err_set(err, "%s: %zu or more problems (out of "
		    "memory listing them)%s%s", label, n + r->lost,
		    first != NULL ? "; first: " : "", first != NULL ? first : "");
	if (n == 1)
		return snap_err_set(err, "%s", first);
	return snap_err_set(err, "%s: %zu problems, nothing published; first: "
	    "%s", label, n, first != NULL ? first : "?");
}

void
report_free(struct report *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].path);
		free(r->v[i].text);
	}
	free(r->v);
	*r = (struct report)REPORT_INIT;
}
