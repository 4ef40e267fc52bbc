/*
 * test_readpool.c - a tree read, hashed and validated on N threads
 * (snapshots/readpool.c): the same outcome in every slot on 1 thread and
 * on 4 - size, XXH128, identity, and for a broken file the same message
 * and line - an unreadable file and an invalid one said as such, and the
 * bytes the latest version holds not validated again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "readpool.h"
#include "scan.h"
#include "snap.h"
#include "testutil.h"
#include "snaptest.h"

/* The fixtures, a broken sequence and an entry with no file behind it,
 * listed as a publish lists them; *srcfd opened on the tree. */
static struct manifest *
tree(const struct env *e, int *srcfd)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m = manifest_new();
	char p[TU_PATH];

	assert_non_null(m);
	in_src(e, "sequences/broken.xml", p);
	tu_write_str(p, "<sequence xmlns=\"" SYN_NS "\" name=\"broken\">\n"
	    "<log>\n</sequence>\n");
	*srcfd = tu_open_dir(e->src);
	if (scan_tree(*srcfd, e->src, m, NULL, &err) != 0)
		fail_msg("scan_tree: %s", err.msg);
	assert_int_equal(manifest_add(m, name_type_index("api"), "gone",
	    NULL, 1, "", 0), 0);
	assert_int_equal(manifest_sort(m, &err), 0);
	return m;
}

static struct readpool_result *
run(const struct readpool_job *job)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct readpool_result *res = calloc(job->cur->n, sizeof(*res));

	assert_non_null(res);
	if (readpool_run(job, res, &err) != 0)
		fail_msg("readpool_run: %s", err.msg);
	return res;
}

static void
assert_same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void
test_threads_same_outcome(void **state)
{
	struct readpool_result *one, *four;
	struct readpool_job job;
	struct manifest *m;
	const struct manifest_entry *e;
	struct env e0;
	size_t i, invalid = 0, unreadable = 0;
	int srcfd;

	env_init(*state, &e0);
	m = tree(&e0, &srcfd);
	job = (struct readpool_job){ .srcfd = srcfd, .label = "src", .cur = m,
	    .prev = NULL, .xc = xc, .threads = 1 };
	one = run(&job);
	job.threads = 4;
	four = run(&job);
	for (i = 0; i < m->n; i++) {
		e = &m->entries[i];
		assert_int_equal(one[i].status, four[i].status);
		assert_int_equal(one[i].len, four[i].len);
		assert_string_equal(one[i].xxh128, four[i].xxh128);
		assert_int_equal(one[i].line, four[i].line);
		assert_same_str(one[i].identity, four[i].identity);
		assert_same_str(one[i].why, four[i].why);
		if (one[i].status == READPOOL_INVALID) {
			invalid++;
			assert_string_equal(e->name, "broken");
			assert_true(one[i].line >= 2);
		}
		if (one[i].status == READPOOL_UNREADABLE) {
			unreadable++;
			assert_string_equal(e->name, "gone");
			assert_non_null(strstr(one[i].why, "src"));
		}
		if (one[i].status == READPOOL_OK)
			assert_non_null(one[i].identity);
	}
	assert_int_equal(invalid, 1);
	assert_int_equal(unreadable, 1);
	readpool_results_free(one, m->n);
	readpool_results_free(four, m->n);
	manifest_free(m);
	close(srcfd);
}

/* What prev holds byte for byte is REUSED (not validated); without a
 * validator, nothing is validated and nothing has an identity. */
static void
test_reused_and_unvalidated(void **state)
{
	struct readpool_result *res, *again;
	struct readpool_job job;
	struct manifest *m;
	struct env e0;
	size_t i;
	int srcfd;

	env_init(*state, &e0);
	m = tree(&e0, &srcfd);
	job = (struct readpool_job){ .srcfd = srcfd, .label = "src", .cur = m,
	    .prev = NULL, .xc = NULL, .threads = 3 };
	res = run(&job);
	for (i = 0; i < m->n; i++) {
		assert_null(res[i].identity);
		if (res[i].status != READPOOL_UNREADABLE) {
			assert_int_equal(res[i].status, READPOOL_OK);
			memcpy(m->entries[i].xxh128, res[i].xxh128,
			    sizeof(m->entries[i].xxh128));
		}
	}
	job.prev = m;	/* the same bytes: every readable one reused */
	job.xc = xc;
	again = run(&job);
	for (i = 0; i < m->n; i++)
		assert_int_equal(again[i].status,
		    res[i].status == READPOOL_UNREADABLE ?
		    READPOOL_UNREADABLE : READPOOL_REUSED);
	readpool_results_free(res, m->n);
	readpool_results_free(again, m->n);
	manifest_free(m);
	close(srcfd);
}

static void
test_default_threads(void **state)
{
	unsigned n = readpool_default_threads();

	(void)state;
	assert_true(n >= 1 && n <= 8);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_threads_same_outcome),
		TMP_TEST(test_reused_and_unvalidated),
		cmocka_unit_test(test_default_threads),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
