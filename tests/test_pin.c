/*
 * test_pin.c - snapshots/pin.c: pin.json both ways, refused when
 * malformed, written, read back and removed (none is no error), never
 * through a symlink.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pin.h"
#include "testutil.h"

static void
sample(struct pin *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->cluster_id, "prod-eu.1");
	strcpy(p->by, "gw-a");
	p->version = 41;
	p->pinned_at = 1795549200;
}

static void
refused(const char *json, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct pin p;

	assert_int_equal(pin_from_json(json, strlen(json), &p, &err), -1);
	if (strstr(err.msg, want) == NULL)
		fail_msg("'%s' is not in '%s'", want, err.msg);
	assert_int_equal(p.version, 0);
}

static void
test_round_trip(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct pin p, again;
	char *json;
	size_t len;

	(void)state;
	sample(&p);
	assert_int_equal(pin_to_json(&p, &json, &len, &err), 0);
	assert_int_equal(pin_from_json(json, len, &again, &err), 0);
	assert_memory_equal(&p, &again, sizeof(p));
	free(json);
	refused("", "pin.json");
	refused("{\"format\":2}", "format 2");
	refused("{\"format\":1,\"cluster_id\":\"c\",\"by\":\"b\",\"version\":0,"
	    "\"pinned_at\":\"2026-12-07T16:00:00Z\"}", "'version'");
	refused("{\"format\":1,\"cluster_id\":\"c\",\"by\":\"a/b\",\"version\":1,"
	    "\"pinned_at\":\"2026-12-07T16:00:00Z\"}", "by");
}

static void
test_file(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct pin p, r;
	char path[4096];
	int rootfd;

	tu_path(path, "%s", (char *)*state);
	rootfd = tu_open_dir(path);
	assert_int_equal(pin_read(rootfd, &r, &err), 1);
	assert_int_equal(pin_remove(rootfd, &err), 0);
	sample(&p);
	assert_int_equal(pin_write(rootfd, &p, &err), 0);
	assert_int_equal(pin_read(rootfd, &r, &err), 0);
	assert_memory_equal(&p, &r, sizeof(p));
	assert_int_equal(pin_remove(rootfd, &err), 0);
	assert_int_equal(pin_read(rootfd, &r, &err), 1);
	/* A symlink in pin.json's place is not read through. */
	tu_path(path, "%s/target", (char *)*state);
	tu_write_str(path, "{}");
	tu_path(path, "%s/pin.json", (char *)*state);
	assert_int_equal(symlink("target", path), 0);
	assert_int_equal(pin_read(rootfd, &r, &err), -1);
	close(rootfd);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		TMP_TEST(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
