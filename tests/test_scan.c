/*
 * test_scan.c - unit tests of snapshots/scan.c.
 *
 * A copy of every fixture, and the real WSO2 tree, must be listed exactly
 * (type, name, size, sorted, the type folders present); what WSO2 ignores
 * must be skipped with one warning each and hidden entries without a word;
 * symlinks to files are followed; and every name artsync cannot carry must
 * be reported, all of them, naming each path; and a large folder stat'ed
 * on several threads (scan_stat.c) is listed exactly as on one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "manifest.h"
#include "report.h"
#include "scan.h"
#include "testutil.h"

/* Scans dir (label = its path) into *rep; returns the manifest, or NULL
 * with err when the scan itself failed. */
static struct manifest *
scan(const char *dir, struct report *rep, struct snap_err *err)
{
	struct manifest *m = manifest_new();
	int fd, rc;

	assert_non_null(m);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	rc = scan_tree(fd, dir, m, rep, err);
	close(fd);
	if (rc == -1) {
		manifest_free(m);
		return NULL;
	}
	report_sort(rep);
	return m;
}

/* A small valid tree: dir/src/api/ok.xml. Returns src in out. */
static void
small_tree(const char *dir, char *src)
{
	char p[TU_PATH];

	tu_path(src, "%s/src", dir);
	tu_mkdir(src);
	tu_path(p, "%s/api", src);
	tu_mkdir(p);
	tu_path(p, "%s/api/ok.xml", src);
	tu_write_str(p, "<api/>");
}

/* The report line about src/rel, asserting there is exactly one. */
static const struct report_line *
line_about(const struct report *rep, const char *src, const char *rel)
{
	const struct report_line *hit = NULL;
	char path[TU_PATH];
	size_t i;

	tu_path(path, "%s/%s", src, rel);
	for (i = 0; i < rep->n; i++)
		if (strcmp(rep->v[i].path, path) == 0) {
			if (hit != NULL)
				fail_msg("%s reported twice", path);
			hit = &rep->v[i];
		}
	if (hit == NULL)
		fail_msg("nothing reported about %s (%zu lines)", path, rep->n);
	return hit;
}

/* Asserts the scan of src lists `count` artifacts and reports rel as a
 * warning (skipped) saying `want`. */
static void
assert_skipped(const char *src, const char *rel, const char *want,
    size_t count)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct report rep = REPORT_INIT;
	struct manifest *m = scan(src, &rep, &err);
	const struct report_line *l;

	if (m == NULL)
		fail_msg("%s/%s: scan failed: %s", src, rel, err.msg);
	assert_int_equal(m->n, count);
	assert_int_equal(rep.nerrors, 0);
	l = line_about(&rep, src, rel);
	assert_int_equal(l->kind, REPORT_WARNING);
	tu_assert_msg(l->text, "skipped");
	tu_assert_msg(l->text, want);
	assert_null(strchr(l->text, '\n'));
	manifest_free(m);
	report_free(&rep);
}

static void
test_fixtures(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct report rep = REPORT_INIT;
	char src[TU_PATH], p[TU_PATH], rel[NAME_PATH_MAX];
	struct manifest *m;
	struct stat st;
	size_t count, i;

	tu_path(src, "%s/src", dir);
	tu_mkdir(src);
	count = tu_copy_fixtures(src);
	m = scan(src, &rep, &err);
	if (m == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(rep.n, 0);
	assert_int_equal(m->n, count);
	for (i = 0; i < m->n; i++) {
		const struct manifest_entry *e = &m->entries[i];

		tu_path(p, "%s/%s", src, name_path(e->type, e->name, rel,
		    sizeof(rel)));
		if (stat(p, &st) == -1)
			fail_msg("listed %s: %s", p, strerror(errno));
		assert_int_equal(e->size, (uint64_t)st.st_size);
		assert_true(e->size > 0);
		assert_string_equal(e->labels, "default");
		assert_string_equal(e->xxh128, "");
		if (i > 0)
			assert_true(e[-1].type < e->type || (e[-1].type ==
			    e->type && strcmp(e[-1].name, e->name) < 0));
	}
	/* The ten classic folders, each listed and present. */
	assert_true(m->has_folders);
	assert_int_equal(m->folders, (1u << 10) - 1);
	manifest_free(m);

	/* The fd's offset does not matter: a second scan sees the same. */
	{
		int fd = open(src, O_RDONLY | O_DIRECTORY);

		assert_true(fd >= 0);
		m = manifest_new();
		assert_int_equal(scan_tree(fd, src, m, NULL, &err), 0);
		manifest_free(m);
		m = manifest_new();
		assert_int_equal(scan_tree(fd, src, m, NULL, &err), 0);
		assert_int_equal(m->n, count);
		manifest_free(m);
		close(fd);
	}
}

/* The real Micro Integrator 4.4 tree as it ships: synapse.xml and
 * registry.xml at the top, placeholders, empty folders. */
static void
test_wso2_tree(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct report rep = REPORT_INIT;
	char src[TU_PATH], cmd[3 * TU_PATH];
	struct manifest *m;

	tu_path(src, "%s/wso2", dir);
	snprintf(cmd, sizeof(cmd), "cp -a '%s/../wso2-mi-4.4' '%s'",
	    tu_fixtures_dir(), src);
	assert_int_equal(system(cmd), 0);
	m = scan(src, &rep, &err);
	if (m == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(rep.nerrors, 0);
	assert_int_equal(m->n, 4);
	assert_non_null(manifest_find(m, name_type_index("sequences"), "main"));
	assert_non_null(manifest_find(m, name_type_index("sequences"),
	    "fault"));
	assert_non_null(manifest_find(m, TYPE_CONFIG, "synapse"));
	assert_non_null(manifest_find(m, TYPE_CONFIG, "registry"));
	/* Every folder it has, empty or not. */
	assert_int_equal(m->folders, 1u << name_type_index("sequences") |
	    1u << name_type_index("local-entries") |
	    1u << name_type_index("proxy-services") |
	    1u << name_type_index("inbound-endpoints") |
	    1u << name_type_index("imports"));
	/* One warning per placeholder. */
	assert_int_equal(rep.n, 4);
	assert_int_equal(line_about(&rep, src, "imports/empty.txt")->kind,
	    REPORT_WARNING);
	manifest_free(m);
	report_free(&rep);
}

static void
test_empty_trees(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct report rep = REPORT_INIT;
	char src[TU_PATH], p[TU_PATH];
	struct manifest *m;

	tu_path(src, "%s/src", dir);
	tu_mkdir(src);
	m = scan(src, &rep, &err);
	assert_non_null(m);
	assert_int_equal(m->n, 0);
	assert_int_equal(m->folders, 0);
	manifest_free(m);
	tu_path(p, "%s/tasks", src);
	tu_mkdir(p);
	tu_path(p, "%s/event-sources", src);
	tu_mkdir(p);
	m = scan(src, &rep, &err);
	assert_non_null(m);
	assert_int_equal(m->n, 0);
	assert_int_equal(m->folders, 1u << name_type_index("tasks") |
	    1u << name_type_index("event-sources"));
	assert_int_equal(rep.n, 0);
	manifest_free(m);
}

static void
test_hidden_skipped_silently(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct report rep = REPORT_INIT;
	char src[TU_PATH], p[TU_PATH];
	struct manifest *m;

	small_tree(dir, src);
	tu_path(p, "%s/.git", src);
	tu_mkdir(p);
	tu_path(p, "%s/.git/config", src);
	tu_write_str(p, "[core]");
	tu_path(p, "%s/.DS_Store", src);
	tu_write_str(p, "x");
	tu_path(p, "%s/api/.ok.xml.swp", src);
	tu_write_str(p, "x");
	tu_path(p, "%s/api/.hidden.xml", src);
	tu_write_str(p, "<api/>");
	tu_path(p, "%s/api/.rsync-tmp", src);
	tu_mkdir(p);
	tu_path(p, "%s/api/.link", src);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	tu_path(p, "%s/.apis", src);
	tu_mkdir(p);

	m = scan(src, &rep, &err);
	if (m == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(rep.n, 0);
	assert_int_equal(m->n, 1);
	assert_int_equal(m->entries[0].type, 0);
	assert_string_equal(m->entries[0].name, "ok");
	assert_int_equal(m->entries[0].size, 6);
	manifest_free(m);
}

/* What WSO2 ignores: skipped with a warning, the publish goes on. */
static void
test_skipped_with_warning(void **state)
{
	const char *dir = *state;
	char src[TU_PATH], p[TU_PATH], elsewhere[TU_PATH];
	struct sockaddr_un sun;
	int sock;

	small_tree(dir, src);
	tu_path(p, "%s/README.md", src);
	tu_write_str(p, "hello");
	assert_skipped(src, "README.md", "not *.xml", 1);
	tu_path(p, "%s/apis", src);
	tu_mkdir(p);
	assert_skipped(src, "apis", "not a WSO2 artifact folder", 1);
	tu_path(p, "%s/multi", src);
	tu_mkdir(p);
	tu_path(p, "%s/api/notes.txt", src);
	tu_write_str(p, "x");
	assert_skipped(src, "api/notes.txt", "not *.xml", 1);
	tu_path(p, "%s/api/ok.xml~", src);
	tu_write_str(p, "x");
	assert_skipped(src, "api/ok.xml~", "not *.xml", 1);
	tu_path(p, "%s/api/ok.xml.bak", src);
	tu_write_str(p, "x");
	assert_skipped(src, "api/ok.xml.bak", "not *.xml", 1);
	tu_path(p, "%s/api/Foo.XML", src);
	tu_write_str(p, "x");
	assert_skipped(src, "api/Foo.XML", "not *.xml", 1);
	tu_path(p, "%s/api/sub", src);
	tu_mkdir(p);
	assert_skipped(src, "api/sub", "WSO2 reads no subfolders", 1);
	tu_path(p, "%s/api/sub.xml", src);
	tu_mkdir(p);
	assert_skipped(src, "api/sub.xml", "WSO2 reads no subfolders", 1);
	tu_path(p, "%s/api/pipe.xml", src);
	assert_int_equal(mkfifo(p, 0644), 0);
	assert_skipped(src, "api/pipe.xml", "a FIFO", 1);
	tu_path(p, "%s/api/gone.xml", src);
	assert_int_equal(symlink("nowhere.xml", p), 0);
	assert_skipped(src, "api/gone.xml", "dangling", 1);

	/* A symlink named like a type, to a perfectly good folder. */
	tu_path(elsewhere, "%s/elsewhere", dir);
	tu_mkdir(elsewhere);
	tu_path(p, "%s/elsewhere/x.xml", dir);
	tu_write_str(p, "<sequence/>");
	tu_path(p, "%s/sequences", src);
	assert_int_equal(symlink(elsewhere, p), 0);
	assert_skipped(src, "sequences", "a symlink to a folder", 1);
	/* A file named like a type folder. */
	tu_path(p, "%s/tasks", src);
	tu_write_str(p, "x");
	assert_skipped(src, "tasks", "not *.xml", 1);

	tu_path(p, "%s/api/sock.xml", src);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(p) < sizeof(sun.sun_path));
	strcpy(sun.sun_path, p);
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(sock >= 0);
	assert_int_equal(bind(sock, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_skipped(src, "api/sock.xml", "a socket", 1);
	close(sock);
}

/* A symlink to a regular file is that file, as WSO2 reads it. */
static void
test_symlinks_to_files_followed(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct report rep = REPORT_INIT;
	char src[TU_PATH], p[TU_PATH], target[TU_PATH];
	struct manifest *m;

	small_tree(dir, src);
	tu_path(p, "%s/api/link.xml", src);
	assert_int_equal(symlink("ok.xml", p), 0);
	tu_path(target, "%s/outside.xml", dir);
	tu_write_str(target, "<api name=\"o\"/>");
	tu_path(p, "%s/api/out.xml", src);
	assert_int_equal(symlink(target, p), 0);
	m = scan(src, &rep, &err);
	assert_non_null(m);
	assert_int_equal(rep.n, 0);
	assert_int_equal(m->n, 3);
	assert_int_equal(manifest_find(m, 0, "link")->size, 6);
	assert_int_equal(manifest_find(m, 0, "out")->size, 15);
	manifest_free(m);
}

/* The names WSO2 really uses are artifacts. */
static void
test_wso2_names(void **state)
{
	const char *dir = *state;
	static const char *const names[] = {
		"api/my api.xml", "api/caf\xc3\xa9.xml",
		"api/admin--PizzaShackAPI_v1.0.0.xml",
		"sequences/admin--PizzaShackAPI:v1.0.0--In.xml",
		"api/_TokenAPI_.xml", "api/admin-AT-wso2.com--Foo_v1.xml",
		"imports/{org.wso2.carbon.connector}hello.xml",
		"local-entries/a+b=c,(d)[e]@f#g!h$.xml",
	};
	struct snap_err err = SNAP_ERR_INIT;
	struct report rep = REPORT_INIT;
	char src[TU_PATH], p[TU_PATH];
	struct manifest *m;
	size_t i;

	tu_path(src, "%s/src", dir);
	tu_mkdir(src);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		tu_path(p, "%s/%.*s", src, (int)(strchr(names[i], '/') -
		    names[i]), names[i]);
		mkdir(p, 0755);
		tu_path(p, "%s/%s", src, names[i]);
		tu_write_str(p, "<x/>");
	}
	m = scan(src, &rep, &err);
	assert_non_null(m);
	if (rep.n > 0)
		fail_msg("%s", rep.v[0].text);
	assert_int_equal(m->n, sizeof(names) / sizeof(names[0]));
	assert_non_null(manifest_find(m, name_type_index("imports"),
	    "{org.wso2.carbon.connector}hello"));
	manifest_free(m);
}

/* Every name artsync cannot carry is a problem, all in one scan. */
static void
test_bad_names_all_reported(void **state)
{
	const char *dir = *state;
	static const char *const bad[] = {
		"api/tab\there.xml", "api/back\\slash.xml",
		"api/quo\"te.xml", "api/\xff\xfe.xml", "api/c1\xc2\x85.xml",
	};
	struct snap_err err = SNAP_ERR_INIT;
	struct report rep = REPORT_INIT;
	char src[TU_PATH], p[TU_PATH];
	struct manifest *m;
	size_t i;

	small_tree(dir, src);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tu_path(p, "%s/%s", src, bad[i]);
		tu_write_str(p, "<api/>");
	}
	m = scan(src, &rep, &err);
	assert_non_null(m);
	assert_int_equal(m->n, 1);
	assert_int_equal(rep.nerrors, sizeof(bad) / sizeof(bad[0]));
	for (i = 0; i < rep.n; i++) {
		assert_int_equal(rep.v[i].kind, REPORT_ERROR);
		tu_assert_clean_msg(rep.v[i].text);
		tu_assert_msg(rep.v[i].text, "artifact name has");
	}
	manifest_free(m);
	report_free(&rep);
	/* Without a report, the first problem fails the scan. */
	assert_null(scan(src, NULL, &err));
	tu_assert_msg(err.msg, "5 problems");
}

/* XML files at the top are the tree's configuration files. */
static void
test_top_files(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct report rep = REPORT_INIT;
	char src[TU_PATH], p[TU_PATH];
	struct manifest *m;

	small_tree(dir, src);
	tu_path(p, "%s/synapse.xml", src);
	tu_write_str(p, "<definitions/>");
	tu_path(p, "%s/registry.xml", src);
	tu_write_str(p, "<registry/>");
	tu_path(p, "%s/labels.conf", src);
	tu_write_str(p, "* = default\n");
	m = scan(src, &rep, &err);
	assert_non_null(m);
	assert_int_equal(rep.n, 0);
	assert_int_equal(m->n, 3);
	assert_int_equal(manifest_find(m, TYPE_CONFIG, "synapse")->size, 14);
	assert_non_null(manifest_find(m, TYPE_CONFIG, "registry"));
	manifest_free(m);
}

/* ARTIFACT_MAX_BYTES is allowed, one byte more is not (sparse files). */
static void
test_size_limit(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct report rep = REPORT_INIT;
	char src[TU_PATH], p[TU_PATH];
	struct manifest *m;

	small_tree(dir, src);
	tu_path(p, "%s/api/max.xml", src);
	tu_write_str(p, "");
	assert_int_equal(truncate(p, ARTIFACT_MAX_BYTES), 0);
	m = scan(src, &rep, &err);
	assert_non_null(m);
	assert_int_equal(rep.n, 0);
	assert_int_equal(manifest_find(m, 0, "max")->size, ARTIFACT_MAX_BYTES);
	manifest_free(m);
	assert_int_equal(truncate(p, ARTIFACT_MAX_BYTES + 1), 0);
	m = scan(src, &rep, &err);
	assert_non_null(m);
	assert_int_equal(rep.nerrors, 1);
	tu_assert_msg(line_about(&rep, src, "api/max.xml")->text,
	    "larger than");
	manifest_free(m);
	report_free(&rep);
}

/* scan_one() sees what scan_tree() sees. */
static void
test_scan_one(void **state)
{
	const char *dir = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct report rep = REPORT_INIT;
	char src[TU_PATH], p[TU_PATH];
	bool exists;
	int fd;

	small_tree(dir, src);
	tu_path(p, "%s/api/link.xml", src);
	assert_int_equal(symlink("ok.xml", p), 0);
	tu_path(p, "%s/api/pipe.xml", src);
	assert_int_equal(mkfifo(p, 0644), 0);
	tu_path(p, "%s/synapse.xml", src);
	tu_write_str(p, "<definitions/>");
	fd = tu_open_dir(src);
	assert_int_equal(scan_one(fd, src, 0, "ok", &exists, &rep, &err), 0);
	assert_true(exists);
	assert_int_equal(scan_one(fd, src, 0, "link", &exists, &rep, &err), 0);
	assert_true(exists);
	assert_int_equal(scan_one(fd, src, 0, "none", &exists, &rep, &err), 0);
	assert_false(exists);
	assert_int_equal(scan_one(fd, src, TYPE_CONFIG, "synapse", &exists,
	    &rep, &err), 0);
	assert_true(exists);
	assert_int_equal(rep.n, 0);
	assert_int_equal(scan_one(fd, src, 0, "pipe", &exists, &rep, &err), 0);
	assert_false(exists);
	assert_int_equal(rep.n, 1);
	close(fd);
	report_free(&rep);
}

/* What an observer was told, in order. */
struct told {
	char names[1024][32];
	size_t n;
};

static void
tell(void *arg, int type, const char *name, const struct stat *st)
{
	struct told *t = arg;

	assert_true(t->n < 1024 && st->st_size > 0);
	snprintf(t->names[t->n++], sizeof(t->names[0]), "%d/%s", type, name);
}

/* A folder past SCAN_STAT_PARALLEL_MIN, stat'ed on 4 threads: the same
 * manifest, report and observer calls, in the same order, as on one; and
 * with obs.only, the same calls and report, the folders, no entry. */
static void
test_threads_same(void **state)
{
	const char *dir = *state;
	static struct told told[3];
	struct report rep[3] = { REPORT_INIT, REPORT_INIT, REPORT_INIT };
	struct manifest *m[3];
	struct snap_err err = SNAP_ERR_INIT;
	char src[TU_PATH], p[TU_PATH];
	size_t i;
	int fd, k;

	small_tree(dir, src);
	for (i = 0; i < 600; i++) {
		tu_path(p, "%s/api/a%03zu.xml", src, i);
		tu_write_str(p, "<api/>");
	}
	tu_path(p, "%s/api/notes.txt", src);
	tu_write_str(p, "x");
	tu_path(p, "%s/api/gone.xml", src);
	assert_int_equal(symlink("nowhere.xml", p), 0);
	tu_path(p, "%s/api/with space.xml", src);
	tu_write_str(p, "<api/>");
	for (k = 0; k < 3; k++) {
		struct scan_observer obs = { tell, &told[k], k == 0 ? 1 : 4,
		    k == 2 };

		m[k] = manifest_new();
		assert_non_null(m[k]);
		fd = tu_open_dir(src);
		assert_int_equal(scan_tree_observed(fd, src, m[k], &rep[k],
		    &obs, &err), 0);
		close(fd);
		report_sort(&rep[k]);
	}
	assert_int_equal(m[0]->n, 602);
	assert_int_equal(m[1]->n, m[0]->n);
	for (i = 0; i < m[0]->n; i++)
		assert_string_equal(m[0]->entries[i].name,
		    m[1]->entries[i].name);
	assert_int_equal(told[0].n, 602);
	assert_int_equal(told[1].n, told[0].n);
	for (i = 0; i < told[0].n; i++)
		assert_string_equal(told[0].names[i], told[1].names[i]);
	assert_int_equal(rep[0].n, 2);	/* notes.txt, gone.xml */
	assert_int_equal(rep[1].n, rep[0].n);
	for (i = 0; i < rep[0].n; i++)
		assert_string_equal(rep[0].v[i].text, rep[1].v[i].text);
	assert_int_equal(m[2]->n, 0);
	assert_int_equal(m[2]->folders, m[0]->folders);
	assert_int_not_equal(m[0]->folders, 0);
	/* Each folder reaches the observer in name order, whatever the
	 * file system's readdir order (snap_scanned.c relies on it). */
	for (i = 1; i < told[0].n; i++)
		if (strchr(told[0].names[i], '/') - told[0].names[i] ==
		    strchr(told[0].names[i - 1], '/') - told[0].names[i - 1] &&
		    strncmp(told[0].names[i], told[0].names[i - 1],
		    (size_t)(strchr(told[0].names[i], '/') -
		    told[0].names[i])) == 0)
			assert_true(strcmp(told[0].names[i - 1],
			    told[0].names[i]) < 0);
	assert_int_equal(told[2].n, told[0].n);
	for (i = 0; i < told[0].n; i++)
		assert_string_equal(told[0].names[i], told[2].names[i]);
	assert_int_equal(rep[2].n, rep[0].n);
	for (k = 0; k < 3; k++) {
		manifest_free(m[k]);
		report_free(&rep[k]);
	}
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_fixtures),
		TMP_TEST(test_wso2_tree),
		TMP_TEST(test_empty_trees),
		TMP_TEST(test_hidden_skipped_silently),
		TMP_TEST(test_skipped_with_warning),
		TMP_TEST(test_symlinks_to_files_followed),
		TMP_TEST(test_wso2_names),
		TMP_TEST(test_bad_names_all_reported),
		TMP_TEST(test_top_files),
		TMP_TEST(test_size_limit),
		TMP_TEST(test_scan_one),
		TMP_TEST(test_threads_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
