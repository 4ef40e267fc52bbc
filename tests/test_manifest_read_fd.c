/*
 * test_manifest_read_fd.c - snapshots/manifest_read.c from a file or a
 * pipe: the header alone, long lines, and a manifest read against its
 * state record, which must be the very bytes hashed - said first when they
 * are not, even where they also fail to parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "manifest.h"
#include "testutil.h"
#include "manifesttest.h"

/* manifest_read() of doc[0..len) through a pipe. */
static struct manifest *
read_pipe(const char *doc, size_t len, struct snap_err *err)
{
	struct manifest *m;
	int p[2];

	assert_true(len < 65536);	/* the pipe holds it all */
	assert_int_equal(pipe(p), 0);
	assert_true(fsu_write_all(p[1], doc, len) == 0);
	close(p[1]);
	m = manifest_read(p[0], 1 << 20, err);
	close(p[0]);
	return m;
}

/* manifest_read_header: the header of a written manifest, and the
 * readers' refusals for a first line that is not one. */
static void
test_read_header(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = big_manifest(50), *h;
	int fd = open_tmp(*state, "h.json");

	m->kind = MANIFEST_DELTA;
	assert_int_equal(manifest_write(m, fd, NULL, &err), 0);
	if ((h = manifest_read_header(fd, &err)) == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(h->kind, MANIFEST_DELTA);
	assert_int_equal(h->version, 9);
	assert_int_equal(h->parent_version, 8);
	assert_int_equal(h->n, 0);
	manifest_free(h);
	manifest_free(m);
	close(fd);

	fd = open_tmp(*state, "bad.json");
	assert_int_equal(fsu_write_all(fd, "{\"format\":2", 12), 0);
	assert_null(manifest_read_header(fd, &err));
	tu_assert_msg(err.msg, "manifest: no header line");
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(fsu_write_all(fd, "{\"format\":1}\n", 13), 0);
	assert_null(manifest_read_header(fd, &err));
	tu_assert_msg(err.msg, "manifest: line 1:");
	close(fd);
}

static void
test_read_pipe(void **state)
{
	static const char doc[] = L(HEAD("2", "1", "2", "2"))
	    L(ART("sequences", "s", "3", H2)) L(ART("api", "a", "10", H1))
	    L(GOOD_EV) L(EV("api/c", "api", "UNDEPLOY"));
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m, *want;
	size_t cut;
	char *bad;

	(void)state;
	/* The same manifest as from memory. */
	want = accepted_n(doc, sizeof(doc) - 1);
	if ((m = read_pipe(doc, sizeof(doc) - 1, &err)) == NULL)
		fail_msg("%s", err.msg);
	assert_manifests_equal(m, want);
	manifest_free(m);
	manifest_free(want);
	/* Cut anywhere: refused, for the reason the cut gives. */
	for (cut = 0; cut < sizeof(doc) - 1; cut++) {
		assert_null(read_pipe(doc, cut, &err));
		if (cut == 0)
			tu_assert_msg(err.msg, "manifest: empty");
		else if (doc[cut - 1] == '\n')
			tu_assert_msg(err.msg, "manifest: header counts");
		else
			tu_assert_msg(err.msg, "manifest: last line has no "
			    "newline");
	}
	/* A NUL, an over-long line, more lines than counted. */
	bad = malloc(sizeof(doc));
	assert_non_null(bad);
	memcpy(bad, doc, sizeof(doc));
	bad[strlen(L(HEAD("2", "1", "2", "2"))) + 5] = '\0';
	assert_null(read_pipe(bad, sizeof(doc) - 1, &err));
	tu_assert_msg(err.msg, "manifest: line 2 holds a NUL byte");
	free(bad);
	bad = padded_doc(9000);
	assert_null(read_pipe(bad, strlen(bad), &err));
	tu_assert_msg(err.msg, "manifest: line 2 is longer than 8192 bytes");
	free(bad);
	assert_null(read_pipe(DOC(GOOD_ART) L(GOOD_ART),
	    strlen(DOC(GOOD_ART) L(GOOD_ART)), &err));
	tu_assert_msg(err.msg, "line 3: more lines than the header counts");
	/* A read error. */
	assert_null(manifest_read(-1, 100, &err));
	tu_assert_msg(err.msg, "manifest: read");
}

/*
 * A file of `count` artifact lines of exactly `linelen` bytes each, so
 * that some line straddles the reader's 64 KiB read boundary: the line
 * bound must not depend on where the reads fall.
 */
static void
long_lines_file(const char *dir, size_t count, size_t linelen,
    const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	char head[256], name[32], *line = malloc(linelen + 1);
	struct manifest *m;
	size_t i, n;
	int fd = open_tmp(dir, "long.json");

	assert_non_null(line);
	n = (size_t)snprintf(head, sizeof(head), "{\"format\":2,\"kind\":"
	    "\"full\",\"version\":2,\"parent_version\":1,\"published_at\":\""
	    T0 "\",\"artifact_count\":%zu,\"event_count\":0}\n", count);
	assert_int_equal(fsu_write_all(fd, head, n), 0);
	for (i = 0; i < count; i++) {
		int k;

		snprintf(name, sizeof(name), "a%04zu", i);
		k = snprintf(line, linelen + 1, "{\"type\":\"api\",\"name\":"
		    "\"%s\",\"labels\":[\"default\"],\"size\":1,\"xxh128\":\""
		    H1 "\",\"updated_at\":\"" T0 "\"", name);
		assert_true(k > 0 && (size_t)k < linelen - 1);
		memset(line + k, ' ', linelen - (size_t)k - 1);
		line[linelen - 1] = '}';
		assert_int_equal(fsu_write_all(fd, line, linelen), 0);
		assert_int_equal(fsu_write_all(fd, "\n", 1), 0);
	}
	free(line);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	m = manifest_read(fd, UINT64_MAX, &err);
	close(fd);
	if (want == NULL) {
		if (m == NULL)
			fail_msg("refused: %s", err.msg);
		assert_int_equal(m->n, count);
		manifest_free(m);
	} else {
		assert_null(m);
		tu_assert_msg(err.msg, want);
	}
}

static void
test_read_long_lines(void **state)
{
	/* 9 lines of 8192 bytes (with the newline): line 9 straddles the
	 * first 64 KiB boundary. */
	long_lines_file(*state, 9, 8191, NULL);
	long_lines_file(*state, 9, 8192, "line 2 is longer than 8192 bytes");
	/* Lines that each fit, over several reads. */
	long_lines_file(*state, 100, 4000, NULL);
}

/* --- reading against a state record: manifest_read_checked() --- */

/* manifest_read_checked() of doc[0..len) through a pipe: one pass, no
 * seek back - what is hashed is what is parsed. */
static struct manifest *
read_pipe_flags(const char *doc, size_t len, const struct state_file *f,
    unsigned flags, struct snap_err *err)
{
	struct manifest *m;
	int p[2];

	assert_true(len < 65536);
	assert_int_equal(pipe(p), 0);
	assert_true(fsu_write_all(p[1], doc, len) == 0);
	close(p[1]);
	m = manifest_read_checked(p[0], f, flags, err);
	close(p[0]);
	return m;
}

static struct manifest *
read_pipe_checked(const char *doc, size_t len, const struct state_file *f,
    struct snap_err *err)
{
	return read_pipe_flags(doc, len, f, 0, err);
}

/* The record of doc, as a publisher writes it. */
static void
record_of(const char *doc, size_t len, struct state_file *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->name, "snapshots/2.manifest.json");
	f->size = len;
	hash_buf(doc, len, f->xxh128);
	sign_hash_buf(doc, len, f->blake2b);
}

static void
test_read_checked(void **state)
{
	static const char doc[] = L(HEAD("2", "1", "2", "1"))
	    L(ART("sequences", "s", "3", H2)) L(ART("api", "a", "10", H1))
	    L(GOOD_EV);
	const size_t len = sizeof(doc) - 1;
	struct snap_err err = SNAP_ERR_INIT;
	struct state_file f, g;
	struct manifest *m;
	char *bad;

	(void)state;
	record_of(doc, len, &f);
	if ((m = read_pipe_checked(doc, len, &f, &err)) == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(m->n, 2);
	manifest_free(m);
	/* A record without a BLAKE2b (written before it existed): the size
	 * and XXH128 still hold. */
	g = f;
	g.blake2b[0] = '\0';
	if ((m = read_pipe_checked(doc, len, &g, &err)) == NULL)
		fail_msg("%s", err.msg);
	manifest_free(m);

	/* Bytes whose XXH128 is what the record says but whose BLAKE2b is
	 * not - a file crafted to keep the weak checksum: refused. */
	g = f;
	g.blake2b[5] = g.blake2b[5] == '0' ? '1' : '0';
	assert_null(read_pipe_checked(doc, len, &g, &err));
	tu_assert_msg(err.msg, "blake2b mismatch (blake2b ");
	assert_null(strstr(err.msg, "manifest:"));

	/* One byte changed: the checksum says so, not the parser, though
	 * the byte also breaks the JSON (parsing stops, reading does not). */
	bad = strdup(doc);
	assert_non_null(bad);
	bad[1] = 'X';
	assert_null(read_pipe_checked(bad, len, &f, &err));
	tu_assert_msg(err.msg, "checksum mismatch (xxh128 ");
	/* A line that breaks the JSON after many good ones: the same. */
	memcpy(bad, doc, len);
	bad[len - 3] = '{';
	assert_null(read_pipe_checked(bad, len, &f, &err));
	tu_assert_msg(err.msg, "checksum mismatch");
	/* The same broken bytes, recorded as published: the parser's word. */
	record_of(bad, len, &g);
	assert_null(read_pipe_checked(bad, len, &g, &err));
	tu_assert_msg(err.msg, "manifest: line 4: malformed JSON");
	free(bad);

	/* Shorter and longer than recorded. */
	assert_null(read_pipe_checked(doc, len - 1, &f, &err));
	tu_assert_msg(err.msg, "bytes, state records");
	g = f;
	g.size = len - 1;
	assert_null(read_pipe_checked(doc, len, &g, &err));
	tu_assert_msg(err.msg, "bytes, longer than the");
	g.size = 0;
	assert_null(read_pipe_checked(doc, len, &g, &err));
	tu_assert_msg(err.msg, "bytes, longer than the 0 state records "
	    "(replaced by another file?)");
	/* Recorded and read: an empty file, refused by the parser. */
	record_of("", 0, &g);
	assert_null(read_pipe_checked("", 0, &g, &err));
	tu_assert_msg(err.msg, "manifest: empty");
	/* A read error. */
	assert_null(manifest_read_checked(-1, &f, 0, &err));
	tu_assert_msg(err.msg, "manifest: read");
}

/* Reads doc, recorded as published, with MANIFEST_NO_FULL_EVENTS. */
static struct manifest *
read_without_full_events(const char *doc, struct snap_err *err)
{
	struct state_file f;

	record_of(doc, strlen(doc), &f);
	return read_pipe_flags(doc, strlen(doc), &f, MANIFEST_NO_FULL_EVENTS,
	    err);
}

/* A full manifest's event lines are counted, not parsed; a delta's are
 * read as ever. */
static void
test_read_checked_no_full_events(void **state)
{
	static const char full[] = L(HEAD("2", "1", "2", "2"))
	    L(ART("api", "a", "10", H1)) L(ART("sequences", "s", "3", H2))
	    L(GOOD_EV) L("{\"not\":\"an event\"}");
	static const char delta[] = L(HEADK("delta", "2", "1", "1", "1"))
	    L(ART("api", "a", "10", H1)) L(GOOD_EV);
	static const char short_full[] = L(HEAD("2", "1", "1", "2"))
	    L(ART("api", "a", "10", H1)) L(GOOD_EV);
	static const char long_full[] = L(HEAD("2", "1", "1", "1"))
	    L(ART("api", "a", "10", H1)) L(GOOD_EV) L(GOOD_EV);
	static const char bad_art[] = L(HEAD("2", "1", "1", "1"))
	    L("{\"not\":\"an artifact\"}") L(GOOD_EV);
	struct snap_err err = SNAP_ERR_INIT;
	struct state_file f;
	struct manifest *m;

	(void)state;
	if ((m = read_without_full_events(full, &err)) == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(m->kind, MANIFEST_FULL);
	assert_int_equal(m->n, 2);
	assert_string_equal(m->entries[1].name, "s");
	assert_int_equal(m->nev, 0);
	manifest_free(m);
	/* Read whole, the second event is what it is: not one. */
	record_of(full, sizeof(full) - 1, &f);
	assert_null(read_pipe_checked(full, sizeof(full) - 1, &f, &err));
	tu_assert_msg(err.msg, "line 5");

	if ((m = read_without_full_events(delta, &err)) == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(m->nev, 1);
	assert_string_equal(m->events[0].name, "a");
	manifest_free(m);

	/* The lines still have to add up to the header's counts. */
	assert_null(read_without_full_events(short_full, &err));
	tu_assert_msg(err.msg, "header counts 1 artifacts and 2 events, 1 "
	    "and 1 are listed");
	assert_null(read_without_full_events(long_full, &err));
	tu_assert_msg(err.msg, "line 4: more lines than the header counts");
	/* Entries are parsed as ever. */
	assert_null(read_without_full_events(bad_art, &err));
	tu_assert_msg(err.msg, "line 2");
}

/* A file longer than its record is read no further than one byte past
 * it, and its own length comes from fstat. */
static void
test_read_checked_longer(void **state)
{
	static const char doc[] = DOC(GOOD_ART);
	struct snap_err err = SNAP_ERR_INIT;
	char want[64];
	struct state_file f;
	size_t i;
	int fd = open_tmp(*state, "long.json");

	record_of(doc, sizeof(doc) - 1, &f);
	assert_int_equal(fsu_write_all(fd, doc, sizeof(doc) - 1), 0);
	for (i = 0; i < 64; i++)
		assert_int_equal(fsu_write_all(fd, doc, sizeof(doc) - 1), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_null(manifest_read_checked(fd, &f, 0, &err));
	snprintf(want, sizeof(want), "%zu bytes, longer than the %zu state",
	    65 * (sizeof(doc) - 1), sizeof(doc) - 1);
	tu_assert_msg(err.msg, want);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_header, tu_setup_tmp,
		    tu_teardown_tmp),
		cmocka_unit_test(test_read_pipe),
		cmocka_unit_test(test_read_checked),
		cmocka_unit_test(test_read_checked_no_full_events),
		cmocka_unit_test_setup_teardown(test_read_checked_longer,
		    tu_setup_tmp, tu_teardown_tmp),
		cmocka_unit_test_setup_teardown(test_read_long_lines,
		    tu_setup_tmp, tu_teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
