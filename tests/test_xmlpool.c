/*
 * test_xmlpool.c - unit tests of snapshots/xmlpool.c.
 *
 * The pool must give the sequential verdict whoever judges what: the first
 * invalid artifact in submission order, even when the caller (validating
 * for itself once the queue is full) finds a later one first. Batches are
 * independent, and a pool with no thread behaves the same.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xmlcheck.h"
#include "names.h"
#include "xmlpool.h"

#define SYN_NS		"http://ws.apache.org/ns/synapse"
#define SEQ_VALID	"<sequence xmlns=\"" SYN_NS "\" name=\"s\"/>"
#define SEQ_BROKEN	"<sequence"
#define SEQ_WRONG_ROOT	"<api xmlns=\"" SYN_NS "\"/>"
/* More than the pool queues: the caller validates the rest itself. */
#define MANY		600

struct state {
	struct xmlcheck *xc;
};

static int
setup(void **st)
{
	struct state *s = calloc(1, sizeof(*s));
	struct snap_err err = SNAP_ERR_INIT;

	assert_non_null(s);
	assert_non_null(s->xc = xmlcheck_new(&err));
	*st = s;
	return 0;
}

static int
teardown(void **st)
{
	struct state *s = *st;

	xmlcheck_free(s->xc);
	free(s);
	return 0;
}

/*
 * A sequence of `logs` log mediators, cut short before its end tag when
 * `cut`: slow to judge, and judged invalid only at its last line. The
 * caller frees.
 */
static char *
long_sequence(size_t logs, bool cut)
{
	static const char head[] = "<sequence xmlns=\"" SYN_NS "\" name=\"l\">\n";
	static const char log[] = "<log level=\"full\"/>\n";
	static const char tail[] = "</sequence>\n";
	size_t cap = sizeof(head) + logs * (sizeof(log) - 1) + sizeof(tail), i;
	char *buf = malloc(cap), *p = buf;

	assert_non_null(buf);
	p = stpcpy(p, head);
	for (i = 0; i < logs; i++)
		p = stpcpy(p, log);
	if (!cut)
		stpcpy(p, tail);
	return buf;
}

static int
submit(struct xmlpool *xp, const char *label, const char *doc,
    struct snap_err *err)
{
	struct xmlpool_item it = { .type = name_type_index("sequences"),
	    .name = "x", .identity = NULL, .label = label, .buf = doc,
	    .len = strlen(doc) };

	return xmlpool_submit(xp, &it, err);
}

static void
test_all_valid(void **st)
{
	struct state *s = *st;
	struct snap_err err = SNAP_ERR_INIT;
	struct xmlpool *xp;
	char *big = long_sequence(2000, false);
	int i;

	assert_non_null(xp = xmlpool_new(s->xc, 2, &err));
	assert_int_equal(xmlpool_workers(xp), 2);
	assert_int_equal(submit(xp, "big", big, &err), 0);
	for (i = 0; i < MANY; i++)
		assert_int_equal(submit(xp, "s", SEQ_VALID, &err), 0);
	assert_int_equal(xmlpool_wait(xp, &err), 0);
	/* An empty batch has nothing to say either. */
	assert_int_equal(xmlpool_wait(xp, &err), 0);
	xmlpool_free(xp);
	free(big);
}

/*
 * The first artifact is invalid only at its end and takes a worker a while;
 * meanwhile the queue fills and the caller itself may find a later invalid
 * one (or learn of the first one's failure). The verdict still names the
 * first, whoever finished first.
 */
static void
test_first_in_order_wins(void **st)
{
	struct state *s = *st;
	struct snap_err err = SNAP_ERR_INIT;
	struct xmlpool *xp;
	char *slow = long_sequence(100000, true), label[32];
	int i, refused_at = -1;

	assert_non_null(xp = xmlpool_new(s->xc, 1, &err));
	assert_int_equal(submit(xp, "first", slow, &err), 0);
	for (i = 1; i < MANY && refused_at < 0; i++) {
		snprintf(label, sizeof(label), "s%d", i);
		if (submit(xp, label, i == 300 ? SEQ_BROKEN : SEQ_VALID,
		    &err) == -1)
			refused_at = i;
	}
	/* Once an invalid artifact is known, submit says so at once. */
	assert_true(refused_at >= 1);
	assert_int_equal(xmlpool_wait(xp, &err), -1);
	if (strncmp(err.msg, "first: invalid artifact: line 100002: ", 38))
		fail_msg("%s", err.msg);

	/* A new batch starts clean. */
	assert_int_equal(submit(xp, "s", SEQ_VALID, &err), 0);
	assert_int_equal(xmlpool_wait(xp, &err), 0);
	xmlpool_free(xp);
	free(slow);
}

/*
 * Two workers, two invalid artifacts: the second, slower to judge, is
 * judged after the first is known invalid, and must not replace it.
 */
static void
test_later_failure_does_not_replace(void **st)
{
	struct state *s = *st;
	struct snap_err err = SNAP_ERR_INIT;
	struct xmlpool *xp;
	char *a = long_sequence(2000, true), *b = long_sequence(20000, true);

	assert_non_null(xp = xmlpool_new(s->xc, 2, &err));
	assert_int_equal(submit(xp, "a", a, &err), 0);
	submit(xp, "b", b, &err);
	assert_int_equal(xmlpool_wait(xp, &err), -1);
	assert_true(strncmp(err.msg, "a: invalid artifact: line 2002: ",
	    32) == 0);
	xmlpool_free(xp);
	free(a);
	free(b);
}

/* Without threads the caller judges everything, with the same verdict. */
static void
test_without_threads(void **st)
{
	struct state *s = *st;
	struct snap_err err = SNAP_ERR_INIT;
	struct xmlpool *xp;

	assert_non_null(xp = xmlpool_new(s->xc, 0, &err));
	assert_int_equal(xmlpool_workers(xp), 0);
	assert_int_equal(submit(xp, "a", SEQ_VALID, &err), 0);
	assert_int_equal(submit(xp, "api/b.xml", SEQ_WRONG_ROOT, &err), -1);
	assert_true(strncmp(err.msg, "api/b.xml: invalid artifact: line 1: ",
	    37) == 0);
	assert_int_equal(submit(xp, "c", SEQ_VALID, &err), -1);
	assert_int_equal(xmlpool_wait(xp, &err), -1);
	assert_true(strncmp(err.msg, "api/b.xml: invalid artifact: ", 29) == 0);
	assert_int_equal(xmlpool_wait(xp, &err), 0);
	xmlpool_free(xp);
}

/* Freed with work queued and no verdict taken: no leak, no hang. */
static void
test_free_with_work_queued(void **st)
{
	struct state *s = *st;
	struct snap_err err = SNAP_ERR_INIT;
	struct xmlpool *xp;
	int i;

	assert_non_null(xp = xmlpool_new(s->xc, 3, &err));
	for (i = 0; i < MANY; i++)
		submit(xp, "s", i % 7 == 3 ? SEQ_BROKEN : SEQ_VALID, &err);
	xmlpool_free(xp);
	xmlpool_free(NULL);
}

/* By default, one thread per CPU we may use, but the caller's. */
static void
test_default_workers(void **st)
{
	struct state *s = *st;
	struct snap_err err = SNAP_ERR_INIT;
	struct xmlpool *xp;
	cpu_set_t set;
	int want;

	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	want = CPU_COUNT(&set) - 1;
	if (want > 8)
		want = 8;
	assert_non_null(xp = xmlpool_new(s->xc, XMLPOOL_PER_CPU, &err));
	assert_int_equal(xmlpool_workers(xp), (unsigned)want);
	assert_int_equal(submit(xp, "s", SEQ_VALID, &err), 0);
	assert_int_equal(xmlpool_wait(xp, &err), 0);
	xmlpool_free(xp);
}

/* The manifest's identity must be the one Synapse sees: a file called
 * "a" cannot carry the artifact known as "b". */
static void
test_identity_checked(void **st)
{
	struct state *s = *st;
	struct snap_err err = SNAP_ERR_INIT;
	struct xmlpool_item it = { .type = name_type_index("sequences"),
	    .name = "file", .identity = "s", .label = "sequences/file.xml",
	    .buf = SEQ_VALID, .len = strlen(SEQ_VALID) };
	struct xmlpool *xp;

	assert_non_null(xp = xmlpool_new(s->xc, 1, &err));
	assert_int_equal(xmlpool_submit(xp, &it, &err), 0);
	assert_int_equal(xmlpool_wait(xp, &err), 0);
	it.identity = "other";
	xmlpool_submit(xp, &it, &err);
	assert_int_equal(xmlpool_wait(xp, &err), -1);
	if (strstr(err.msg, "sequences/file.xml: invalid artifact: Synapse "
	    "knows it as 's', the manifest says 'other'") == NULL)
		fail_msg("%s", err.msg);
	xmlpool_free(xp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_all_valid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_first_in_order_wins, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_later_failure_does_not_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_threads, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_with_work_queued,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_workers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_identity_checked, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
