/*
 * arctest.h - what the archive tests share (test_arc_write.c,
 * test_arc_read.c, test_arc_hostile.c): items that become a manifest and an
 * archive, the state record of a file as a publisher would write it, and
 * arc_extract() run in verify-only mode and extracting.
 *
 * Layout of each test's temp dir: arc (the archive), dest/ (the
 * destination), sometimes outside/ (where an escape would land).
 *
 * Header-only, like testutil.h: every helper is static inline. Include it
 * after <cmocka.h> and "testutil.h".
 */
#ifndef ARCTEST_H
#define ARCTEST_H

#include "arc.h"
#include "manifest.h"

enum { API = 0, SEQ = 1, EP = 2, LOCAL = 3, TPL = 5 };

struct item {
	int type;
	const char *name;
	const char *data;
	size_t len;
};

/* Paths of one test: its temp dir, the archive, the destination. */
struct paths {
	char dir[TU_PATH], arc[TU_PATH], dest[TU_PATH], outside[TU_PATH];
};

static inline void
paths_init(const char *dir, struct paths *p)
{
	tu_path(p->dir, "%s", dir);
	tu_path(p->arc, "%s/arc", dir);
	tu_path(p->dest, "%s/dest", dir);
	tu_path(p->outside, "%s/outside", dir);
	if (!tu_exists(p->dest))
		tu_mkdir(p->dest);
}

static inline struct manifest *
manifest_of(const struct item *it, size_t n)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = manifest_new();
	char sum[HASH_HEX_LEN + 1];
	size_t i;

	assert_non_null(m);
	for (i = 0; i < n; i++) {
		hash_buf(it[i].data, it[i].len, sum);
		assert_int_equal(manifest_add(m, it[i].type, it[i].name, NULL,
		    it[i].len, sum, 1795549200), 0);
	}
	if (manifest_sort(m, &err) == -1)
		fail_msg("%s", err.msg);
	return m;
}

/* The state record of a file: size and XXH128, as a publisher computes. */
static inline void
state_of(const char *path, struct state_file *sf)
{
	struct snap_err err = SNAP_ERR_INIT;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	memset(sf, 0, sizeof(*sf));
	strcpy(sf->name, "snapshots/1.tar.zst");
	if (hash_fd(fd, sf->xxh128, &sf->size, &err) == -1)
		fail_msg("%s", err.msg);
	close(fd);
}

/* Writes the items with arc_writer_*, in manifest order. */
static inline void
write_archive(const char *path, const struct manifest *m,
    const struct item *it, size_t n, struct state_file *sf)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct arc_writer *w;
	size_t i, k;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	w = arc_writer_new(fd, 1u << 30, &err);	/* level 3 */
	if (w == NULL)
		fail_msg("%s", err.msg);
	for (i = 0; i < m->n; i++) {
		const struct manifest_entry *e = &m->entries[i];

		for (k = 0; k < n; k++)
			if (it[k].type == e->type &&
			    strcmp(it[k].name, e->name) == 0)
				break;
		assert_true(k < n);
		if (arc_writer_add(w, e, it[k].data, it[k].len, &err) == -1)
			fail_msg("%s", err.msg);
	}
	memset(sf, 0, sizeof(*sf));
	strcpy(sf->name, "snapshots/1.tar.zst");
	if (arc_writer_finish(w, sf, &err) == -1)
		fail_msg("%s", err.msg);
	arc_writer_free(w);
	assert_int_equal(close(fd), 0);
}

/* arc_extract of the file at path; dest NULL verifies only. */
static inline int
extract(const char *path, const struct state_file *sf,
    const struct manifest *m, const char *dest, struct arc_extract *x,
    struct snap_err *err)
{
	int fd, rc;

	x->destfd = -1;
	if (dest != NULL) {
		x->destfd = open(dest, O_RDONLY | O_DIRECTORY);
		assert_true(x->destfd >= 0);
	}
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	err->msg[0] = '\0';
	rc = arc_extract(fd, sf, m, x, err);
	close(fd);
	if (x->destfd >= 0)
		close(x->destfd);
	return rc;
}

static inline void
assert_extract_fails(const char *path, const struct state_file *sf,
    const struct manifest *m, const char *dest, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct arc_extract x = { .destfd = -1 };

	if (extract(path, sf, m, dest, &x, &err) != -1)
		fail_msg("%s: accepted (%s)", path, dest ? "extract" : "verify");
	tu_assert_msg(err.msg, want);
}

/* The sample tree: small, empty, big (several blocks) and long-named
 * (a pax header) artifacts of four types. */
#define HELLO "<api xmlns=\"http://ws.apache.org/ns/synapse\" name=\"H\" " \
	"context=\"/h\"/>\n"
#define MAIN "<sequence xmlns=\"http://ws.apache.org/ns/synapse\" " \
	"name=\"main\"/>\n"

struct sample {
	struct item it[5];
	char longname[201];
	char *big;
};

static inline void
sample(struct sample *s)
{
	const size_t big = 300000;	/* several 64 KiB blocks */

	memset(s->longname, 'L', 200);
	s->longname[200] = '\0';
	s->big = tu_make_data(big);
	s->it[0] = (struct item){ API, "HelloWorld", HELLO, strlen(HELLO) };
	s->it[1] = (struct item){ SEQ, "main", MAIN, strlen(MAIN) };
	s->it[2] = (struct item){ EP, "empty", "", 0 };
	s->it[3] = (struct item){ TPL, "big", s->big, big };
	/* Longer than ustar's 100 bytes: goes through a pax header. */
	s->it[4] = (struct item){ LOCAL, s->longname, "x", 1 };
}

/* The first n sample items, archived at p->arc: the manifest (returned;
 * the caller frees it and s->big) and the archive's state record in sf. */
static inline struct manifest *
sample_archive(const char *dir, size_t n, struct paths *p, struct sample *s,
    struct state_file *sf)
{
	struct manifest *m;

	paths_init(dir, p);
	sample(s);
	m = manifest_of(s->it, n);
	write_archive(p->arc, m, s->it, n, sf);
	return m;
}

#endif
