/*
 * xmltest.h - what the xmlcheck tests share (test_xmlcheck.c,
 * test_xmlcheck_hostile.c): the fixtures, listed once per run with a
 * validator (group_setup), and validating a string - accepted, refused
 * with words, or refused quietly and in bounded time.
 *
 * Header-only, like testutil.h: every helper is static inline. Include it
 * after <cmocka.h> and "testutil.h".
 */
#ifndef XMLTEST_H
#define XMLTEST_H

#include "names.h"
#include "xmlcheck.h"

#define SYN_NS		"http://ws.apache.org/ns/synapse"
#define API_OPEN	"<api xmlns=\"" SYN_NS "\" name=\"a\" context=\"/a\">"
#define MIN_FIXTURES	60

struct fixture {
	char type[64];
	char path[4096];
};

struct state {
	struct xmlcheck *xc;
	struct fixture *fixtures;
	size_t nfixtures;
};

static inline const char *
fixtures_dir(void)
{
	const char *dir = getenv("FIXTURES");

	return dir != NULL && *dir != '\0' ? dir : "../shared/fixtures/synapse";
}

static inline int
fixture_cmp(const void *a, const void *b)
{
	const struct fixture *x = a, *y = b;

	return strcmp(x->path, y->path);
}

/* Lists every TYPE/NAME.xml under the fixtures directory, for every type. */
static inline void
list_fixtures(struct state *st)
{
	const char *root = fixtures_dir();
	size_t i, cap = 0;

	for (i = 0; i < artifact_type_count; i++) {
		const char *type = artifact_types[i].folder;
		char dir[4096];
		struct dirent *de;
		DIR *d;

		/* multi/ holds whole <definitions>: synapse.xml files. */
		snprintf(dir, sizeof(dir), "%s/%s", root, i == TYPE_CONFIG ?
		    "multi" : type);
		if ((d = opendir(dir)) == NULL && errno == ENOENT &&
		    i >= 10 && i != TYPE_CONFIG)
			continue;	/* the fixtures have none of these */
		if (d == NULL)
			fail_msg("%s: %s (set FIXTURES)", dir, strerror(errno));
		while ((de = readdir(d)) != NULL) {
			size_t len = strlen(de->d_name);
			struct fixture *f;

			if (len <= 4 || strcmp(de->d_name + len - 4, ".xml") != 0)
				continue;
			if (st->nfixtures == cap) {
				cap = cap ? cap * 2 : 64;
				st->fixtures = realloc(st->fixtures,
				    cap * sizeof(*st->fixtures));
				assert_non_null(st->fixtures);
			}
			f = &st->fixtures[st->nfixtures++];
			snprintf(f->type, sizeof(f->type), "%s", type);
			if (snprintf(f->path, sizeof(f->path), "%s/%s", dir,
			    de->d_name) >= (int)sizeof(f->path))
				fail_msg("%s/%s: path too long", dir,
				    de->d_name);
		}
		closedir(d);
	}
	qsort(st->fixtures, st->nfixtures, sizeof(*st->fixtures), fixture_cmp);
}

static inline int
group_setup(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct state *st = calloc(1, sizeof(*st));

	assert_non_null(st);
	st->xc = xmlcheck_new(&err);
	if (st->xc == NULL)
		fail_msg("xmlcheck_new: %s", err.msg);
	list_fixtures(st);
	*state = st;
	return 0;
}

static inline int
group_teardown(void **state)
{
	struct state *st = *state;

	xmlcheck_free(st->xc);
	free(st->fixtures);
	free(st);
	return 0;
}

/* Checks xml as an artifact of folder TYPE, called "synapse" when it is
 * a file at the top (config). */
static inline int
validate(struct xmlcheck *xc, const char *type, const char *xml, size_t len,
    struct snap_err *err)
{
	int t = name_type_index(type);

	assert_true(t >= 0);
	return xmlcheck_validate(xc, t, t == TYPE_CONFIG ? "synapse" : "x",
	    xml, len, NULL, err);
}

#endif
