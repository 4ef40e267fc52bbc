/*
 * testutil.h - temp directories, files and tree comparison for the cmocka
 * unit tests.
 *
 * Header-only on purpose: the Makefile builds each tests/test_*.c alone
 * against the library objects, so every helper here is `static inline` (an
 * unused one costs nothing and warns about nothing). Helpers never return an
 * error: they fail the running test with a message naming the path. Include
 * it after <cmocka.h>.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "names.h"

#define TU_PATH 4096

/* The fixture tree: $FIXTURES, or ../shared/fixtures/synapse from the repo. */
static inline const char *
tu_fixtures_dir(void)
{
	const char *dir = getenv("FIXTURES");

	return dir != NULL && *dir != '\0' ? dir : "../shared/fixtures/synapse";
}

/* snprintf into a TU_PATH buffer, failing the test on truncation. */
static inline __attribute__((format(printf, 2, 3))) void
tu_path(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, TU_PATH, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= TU_PATH)
		fail_msg("path too long: %s", fmt);
}

/* A fresh directory under $TMPDIR (or /tmp); out has TU_PATH bytes. */
static inline void
tu_mkdtemp(char *out)
{
	const char *tmp = getenv("TMPDIR");

	tu_path(out, "%s/artsync-test.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(out) == NULL)
		fail_msg("mkdtemp %s: %s", out, strerror(errno));
}

/* rm -rf that never follows a symlink. */
static inline void tu_rmtree(const char *path);

/*
 * Per-test temp directory for cmocka_unit_test_setup_teardown(): *state is
 * its path (char[TU_PATH]). cmocka runs the teardown even when the test
 * fails, so a failing test leaves nothing behind either.
 */
static inline int
tu_setup_tmp(void **state)
{
	char *dir = malloc(TU_PATH);

	assert_non_null(dir);
	tu_mkdtemp(dir);
	*state = dir;
	return 0;
}

static inline int
tu_teardown_tmp(void **state)
{
	tu_rmtree(*state);
	free(*state);
	return 0;
}

static inline void
tu_rmtree(const char *path)
{
	char sub[TU_PATH];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return;
		fail_msg("lstat %s: %s", path, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) == -1)
			fail_msg("unlink %s: %s", path, strerror(errno));
		return;
	}
	if ((d = opendir(path)) == NULL)
		fail_msg("opendir %s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		tu_path(sub, "%s/%s", path, de->d_name);
		tu_rmtree(sub);
	}
	closedir(d);
	if (rmdir(path) == -1)
		fail_msg("rmdir %s: %s", path, strerror(errno));
}

/* Opens a directory (for the *at() calls), or fails the test. */
static inline int
tu_open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		fail_msg("open %s: %s", path, strerror(errno));
	return fd;
}

static inline void
tu_mkdir(const char *path)
{
	if (mkdir(path, 0755) == -1)
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

/* Creates or truncates path (mode 0644) and writes buf into it. */
static inline void
tu_write(const char *path, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd == -1)
		fail_msg("create %s: %s", path, strerror(errno));
	while (len > 0) {
		n = write(fd, p, len);
		if (n <= 0)
			fail_msg("write %s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) == -1)
		fail_msg("close %s: %s", path, strerror(errno));
}

static inline void
tu_write_str(const char *path, const char *s)
{
	tu_write(path, s, strlen(s));
}

/* The whole file, NUL-terminated, malloc'ed; *len may be NULL. */
static inline char *
tu_slurp(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	ssize_t r;
	int fd;

	assert_non_null(buf);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		fail_msg("open %s: %s", path, strerror(errno));
	for (;;) {
		if (n + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0)
			fail_msg("read %s: %s", path, strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

static inline void
tu_copy_file(const char *src, const char *dst)
{
	size_t len;
	char *buf = tu_slurp(src, &len);

	tu_write(dst, buf, len);
	free(buf);
}

static inline bool
tu_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Byte-for-byte equality of two files. */
static inline bool
tu_same_file(const char *a, const char *b)
{
	size_t la, lb;
	char *x = tu_slurp(a, &la), *y = tu_slurp(b, &lb);
	bool same = la == lb && memcmp(x, y, la) == 0;

	free(x);
	free(y);
	return same;
}

/*
 * Copies the artifact type folders the fixtures have (and nothing else:
 * not multi/, not SOURCES.md) into dst, which must exist. Returns the number
 * of files copied.
 */
static inline size_t
tu_copy_fixtures(const char *dst)
{
	char from[TU_PATH], to[TU_PATH];
	struct dirent *de;
	size_t i, count = 0;
	DIR *d;

	for (i = 0; i < artifact_type_count; i++) {
		const char *type = artifact_types[i].dir;

		if (*type == '\0')
			continue;	/* config: the fixtures have none */
		tu_path(from, "%s/%s", tu_fixtures_dir(), type);
		if ((d = opendir(from)) == NULL && errno == ENOENT)
			continue;	/* a type the fixtures lack */
		if (d == NULL)
			fail_msg("%s: %s (set FIXTURES)", from, strerror(errno));
		tu_path(to, "%s/%s", dst, type);
		tu_mkdir(to);
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			tu_path(from, "%s/%s/%s", tu_fixtures_dir(), type,
			    de->d_name);
			tu_path(to, "%s/%s/%s", dst, type, de->d_name);
			tu_copy_file(from, to);
			count++;
		}
		closedir(d);
	}
	if (count < 10)
		fail_msg("only %zu fixtures under %s", count, tu_fixtures_dir());
	return count;
}

/* Sorted names in a directory, comma-joined ("" when empty): lets a test
 * say exactly what a directory must hold. The caller frees. */
static inline int
tu_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline char *
tu_list_dir(const char *path)
{
	char **names = NULL, *out;
	size_t n = 0, i, len = 1;
	struct dirent *de;
	DIR *d;

	if ((d = opendir(path)) == NULL)
		fail_msg("opendir %s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		assert_non_null(names);
		names[n] = strdup(de->d_name);
		assert_non_null(names[n]);
		len += strlen(names[n]) + 1;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), tu_strcmp_p);
	out = malloc(len);
	assert_non_null(out);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, ",");
		strcat(out, names[i]);
		free(names[i]);
	}
	free(names);
	return out;
}

/* Asserts that the directory holds exactly `want` (see tu_list_dir). */
static inline void
tu_assert_dir(const char *path, const char *want)
{
	char *got = tu_list_dir(path);

	if (strcmp(got, want) != 0)
		fail_msg("%s holds \"%s\", expected \"%s\"", path, got, want);
	free(got);
}

/*
 * Asserts that trees a and b hold the same regular files with the same bytes
 * (directories are compared by what they hold; anything that is neither a
 * file nor a directory fails). Returns the number of files compared.
 */
static inline size_t
tu_assert_trees_equal(const char *a, const char *b)
{
	char *la = tu_list_dir(a), *lb = tu_list_dir(b), *name, *save = NULL;
	char pa[TU_PATH], pb[TU_PATH];
	struct stat sa, sb;
	size_t count = 0;

	if (strcmp(la, lb) != 0)
		fail_msg("%s holds \"%s\" but %s holds \"%s\"", a, la, b, lb);
	for (name = strtok_r(la, ",", &save); name != NULL;
	    name = strtok_r(NULL, ",", &save)) {
		tu_path(pa, "%s/%s", a, name);
		tu_path(pb, "%s/%s", b, name);
		if (lstat(pa, &sa) == -1 || lstat(pb, &sb) == -1)
			fail_msg("lstat %s or %s: %s", pa, pb, strerror(errno));
		if (S_ISDIR(sa.st_mode) && S_ISDIR(sb.st_mode)) {
			count += tu_assert_trees_equal(pa, pb);
		} else if (S_ISREG(sa.st_mode) && S_ISREG(sb.st_mode)) {
			if (!tu_same_file(pa, pb))
				fail_msg("%s and %s differ", pa, pb);
			count++;
		} else {
			fail_msg("%s or %s is not a plain file or folder", pa,
			    pb);
		}
	}
	free(la);
	free(lb);
	return count;
}

/* Asserts err says something, and that it contains `want` (when not NULL). */
static inline void
tu_assert_msg(const char *msg, const char *want)
{
	if (msg[0] == '\0')
		fail_msg("empty error message");
	if (want != NULL && strstr(msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", msg, want);
}

/*
 * An error message quoting hostile input must still be one safe line: no
 * control character (C0, DEL, C1) and valid UTF-8 (jansson's json_string()
 * refuses anything else, and a REST answer or status built from it would
 * be lost). Checks the UTF-8 itself, so that the tests need no jansson.
 */
static inline void
tu_assert_clean_msg(const char *msg)
{
	const unsigned char *p = (const unsigned char *)msg;
	unsigned long cp = 0;
	int n, i;

	if (*p == '\0')
		fail_msg("empty error message");
	for (; *p != '\0'; p += n + 1) {
		n = 0;
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				fail_msg("control byte 0x%02x in \"%s\"", *p, msg);
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1, cp = *p & 0x1f;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2, cp = *p & 0x0f;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3, cp = *p & 0x07;
		else
			fail_msg("bad UTF-8 byte 0x%02x in \"%s\"", *p, msg);
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				fail_msg("cut UTF-8 sequence in \"%s\"", msg);
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
		    (cp >= 0x80 && cp <= 0x9f))
			fail_msg("bad code point U+%04lx in \"%s\"", cp, msg);
	}
}

/* len deterministic pseudo-random bytes (xorshift32), malloc'ed, plus a
 * spare byte; the same len always gives the same data. */
static inline char *
tu_make_data(size_t len)
{
	char *p = malloc(len + 1);
	uint32_t x = 2463534242u;
	size_t i;

	assert_non_null(p);
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (char)x;
	}
	return p;
}

/* Asserts that dir/name holds exactly the string want. */
static inline void
tu_assert_file(const char *dir, const char *name, const char *want)
{
	char path[TU_PATH], *got;

	tu_path(path, "%s/%s", dir, name);
	got = tu_slurp(path, NULL);
	assert_string_equal(got, want);
	free(got);
}

#endif
