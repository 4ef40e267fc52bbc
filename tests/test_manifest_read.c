/*
 * test_manifest_read.c - snapshots/manifest_read.c, the distrustful
 * reader in memory (manifest_from_json): every way a manifest on a shared
 * directory could be damaged or forged must be refused with a clean
 * message, never half-accepted, line by line.
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

static void
accepted(const char *doc)
{
	manifest_free(accepted_n(doc, strlen(doc)));
}

static void
test_from_json_controls(void **state)
{
	struct manifest *m;

	(void)state;
	/* The baselines the refusals below each break in one place. */
	accepted(DOC(GOOD_ART));
	accepted(EVDOC(GOOD_EV));
	accepted(EVDOC(EV("local-entries/x.y", "local-entries", "UNDEPLOY")));
	accepted(DOC(ART("api", "a", "33554432", H1)));	/* exactly the max */
	accepted(L(HEAD("1", "0", "0", "0")));
	accepted(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"x\","
	    "\"y-z\"],\"size\":0,\"xxh128\":\"" H1 "\",\"updated_at\":\""
	    T0 "\"}"));
	/* Keys in any order, blanks around them. */
	accepted(L("{ \"event_count\":0, \"artifact_count\":0, "
	    "\"published_at\":\"" T0 "\", \"parent_version\":1,\"version\":2,"
	    "\"kind\":\"full\",\"format\":2 }"));

	/* Both kinds, with artifacts and events; the result is sorted. */
	{
		static const char doc[] = L(HEADK("delta", "7", "6", "2", "2"))
		    L(ART("sequences", "s", "3", H2))
		    L(ART("api", "a", "10", H1))
		    L(EV("api/a", "api", "DEPLOY"))
		    L(EV("tasks/t", "tasks", "UNDEPLOY"));

		m = accepted_n(doc, sizeof(doc) - 1);
	}
	assert_int_equal(m->kind, MANIFEST_DELTA);
	assert_int_equal(m->version, 7);
	assert_int_equal(m->parent_version, 6);
	assert_int_equal(m->n, 2);
	assert_int_equal(m->entries[0].type, API);
	assert_int_equal(m->entries[1].type, SEQ);
	assert_int_equal(m->nev, 2);
	assert_int_equal(m->events[1].type, TASK);
	assert_int_equal(m->events[1].action, MANIFEST_UNDEPLOY);
	manifest_free(m);
	m = accepted_n(DOC(GOOD_ART), strlen(DOC(GOOD_ART)));
	assert_int_equal(m->kind, MANIFEST_FULL);
	manifest_free(m);
}

/* The first `len` bytes of doc must be refused, with the reason a reader
 * can tell from where the cut fell. */
static void
refused_cut(const char *doc, size_t len)
{
	if (len == 0)
		refused_n(doc, len, "manifest: empty");
	else if (doc[len - 1] == '\n')
		refused_n(doc, len, "header counts");
	else
		refused_n(doc, len, "last line has no newline");
}

static void
test_from_json_malformed(void **state)
{
	static const char doc[] = L(HEAD("2", "1", "2", "2"))
	    L(ART("api", "a", "10", H1)) L(ART("api", "b", "11", H2))
	    L(GOOD_EV) L(EV("api/c", "api", "UNDEPLOY"));
	size_t cut;

	(void)state;
	accepted(doc);
	refused("", "empty");
	refused("\n", "line 1: malformed JSON");
	refused("{", "no newline");
	refused("{\n", "line 1: malformed JSON");
	refused("[]\n", "line 1: header is not a JSON object");
	refused("42\n", "line 1: malformed JSON");
	refused("null\n", "line 1: malformed JSON");
	refused(DOC(GOOD_ART) "x", "last line has no newline");
	refused(DOC(GOOD_ART) "x\n", "line 3: malformed JSON");
	refused(DOC(GOOD_ART) "\n", "line 3: malformed JSON");
	refused(L(HEAD("2", "1", "1", "0")) "\n" L(GOOD_ART),
	    "line 2: malformed JSON");
	/* Two objects on one line, or one spread over two. */
	refused(L(HEAD("2", "1", "1", "0") GOOD_ART), "line 1: malformed JSON");
	refused(L(HEAD("2", "1", "0", "0") "{}"), "line 1: malformed JSON");
	refused(L(HEAD("2", "1", "1", "0")) "{\"type\":\"api\",\n"
	    "\"name\":\"a\",\"labels\":[\"default\"],\"size\":10,\"xxh128\":\""
	    H1 "\",\"updated_at\":\"" T0 "\"}\n", "line 2: malformed JSON");
	/* Cut anywhere - in a line, or exactly after one, short of the
	 * counts - never accepted. */
	for (cut = 0; cut < sizeof(doc) - 1; cut++)
		refused_cut(doc, cut);
	/* Duplicate keys, in the header and inside an artifact. */
	refused(L("{\"format\":2,\"kind\":\"full\",\"version\":2,"
	    "\"parent_version\":1,\"published_at\":\"" T0 "\","
	    "\"artifact_count\":0,\"event_count\":0,\"format\":2}"),
	    "duplicate");
	refused(L("{\"format\":2,\"kind\":\"full\",\"version\":2,"
	    "\"parent_version\":1,\"published_at\":\"" T0 "\","
	    "\"artifact_count\":0,\"event_count\":0,\"version\":3}"),
	    "duplicate");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"name\":\"b\","
	    "\"labels\":[\"default\"],\"size\":10,\"xxh128\":\"" H1 "\","
	    "\"updated_at\":\"" T0 "\"}"), "duplicate");
	refused(EVDOC("{\"id\":\"api/a\",\"type\":\"api\",\"action\":"
	    "\"DEPLOY\",\"action\":\"UNDEPLOY\",\"updated_at\":\"" T0 "\"}"),
	    "duplicate");
}

static void
test_from_json_lines(void **state)
{
	static const char two[] = L(HEAD("2", "1", "2", "0"))
	    L(ART("api", "a", "10", H1)) L(ART("api", "b", "10", H1));
	char *doc, buf[sizeof(two)];
	size_t i;

	(void)state;
	/* The last line without its newline. */
	refused_n(two, sizeof(two) - 2,
	    "last line has no newline (truncated?)");
	refused(L(HEAD("1", "0", "0", "0")) "\n", "line 2: malformed JSON");
	refused(HEAD("1", "0", "0", "0"), "no newline");
	/* Bounded lines: 8191 bytes is a line, 8192 is not, wherever it is. */
	doc = padded_doc(8191);
	accepted(doc);
	free(doc);
	doc = padded_doc(8192);
	refused(doc, "line 2 is longer than 8192 bytes");
	free(doc);
	doc = padded_doc(100000);
	refused(doc, "line 2 is longer than");
	doc[strlen(doc) - 1] = ' ';	/* and with no newline at all */
	refused(doc, "line 2 is longer than");
	free(doc);
	/* A NUL inside a line, wherever it falls: in a string, between
	 * tokens, at either end of the line. */
	for (i = 0; i < sizeof(two) - 1; i++) {
		if (two[i] == '\n')
			continue;
		memcpy(buf, two, sizeof(two));
		buf[i] = '\0';
		refused_n(buf, sizeof(two) - 1, "holds a NUL byte");
	}
	/* More lines than the counts, or fewer. */
	refused(DOC(GOOD_ART) L(ART("api", "b", "10", H1)),
	    "line 3: more lines than the header counts");
	refused(DOC(GOOD_ART) L(GOOD_EV), "line 3: more lines than the header");
	refused(EVDOC(GOOD_EV) L(GOOD_EV), "line 3: more lines than the");
	refused(L(HEAD("2", "1", "0", "0")) L(GOOD_ART), "line 2: more lines");
	refused(L(HEAD("2", "1", "2", "0")) L(GOOD_ART),
	    "header counts 2 artifacts and 0 events, 1 and 0 are listed");
	refused(L(HEAD("2", "1", "1", "1")) L(GOOD_ART),
	    "header counts 1 artifacts and 1 events, 1 and 0 are listed");
	refused(L(HEAD("2", "1", "0", "2")) L(GOOD_EV),
	    "header counts 0 artifacts and 2 events, 0 and 1 are listed");
	refused(L(HEAD("2", "1", "18446744073709551615", "0")) L(GOOD_ART),
	    "line 1: malformed JSON");
	refused(L(HEAD("2", "1", "9223372036854775807", "0")) L(GOOD_ART),
	    "header counts");
	/* Events before artifacts: the event line is read as an artifact. */
	refused(L(HEAD("2", "1", "1", "1")) L(GOOD_EV) L(GOOD_ART),
	    "line 2: ");
}

static void
test_from_json_wrong_types(void **state)
{
	(void)state;
	accepted(HDR("\"format\":2," REST));	/* the control */
	refused(HDR(REST), "'format'");
	refused(HDR("\"format\":\"2\"," REST), "'format'");
	refused(HDR("\"format\":2.0," REST), "'format'");
	refused(HDR("\"format\":1," REST), "format 1 is not supported "
	    "(this build reads 2)");
	refused(HDR("\"format\":3," REST), "format 3 is not supported");
	/* kind: exactly "full" or "delta". */
	refused(HDR("\"format\":2,\"version\":2,\"parent_version\":1,"
	    "\"published_at\":\"" T0 "\",\"artifact_count\":0,"
	    "\"event_count\":0"), "'kind' is not \"full\" or \"delta\"");
	refused(L(HEADK("partial", "2", "1", "0", "0")), "'kind'");
	refused(L(HEADK("FULL", "2", "1", "0", "0")), "'kind'");
	refused(L(HEADK("", "2", "1", "0", "0")), "'kind'");
	refused(L(HEADK("full ", "2", "1", "0", "0")), "'kind'");
	refused(HDR("\"format\":2,\"kind\":1,\"version\":2,"
	    "\"parent_version\":1,\"published_at\":\"" T0 "\","
	    "\"artifact_count\":0,\"event_count\":0"), "'kind'");
	refused(HDR("\"format\":2,\"kind\":null,\"version\":2,"
	    "\"parent_version\":1,\"published_at\":\"" T0 "\","
	    "\"artifact_count\":0,\"event_count\":0"), "'kind'");
	/* A delta has a parent; a full version need not. */
	refused(L(HEADK("delta", "2", "0", "0", "0")),
	    "a delta without a parent version");
	accepted(L(HEADK("delta", "2", "1", "0", "0")));
	accepted(L(HEADK("full", "2", "0", "0", "0")));
	/* Numbers. */
	refused(L(HEAD("\"2\"", "1", "0", "0")), "'version'");
	refused(L(HEAD("2.0", "1", "0", "0")), "'version'");
	refused(L(HEAD("2", "-1", "0", "0")), "'parent_version'");
	refused(L(HEAD("2", "null", "0", "0")), "'parent_version'");
	refused(L(HEAD("2", "1", "\"0\"", "0")), "'artifact_count'");
	refused(L(HEAD("2", "1", "-1", "0")), "'artifact_count'");
	refused(L(HEAD("2", "1", "0", "\"0\"")), "'event_count'");
	refused(L(HEAD("2", "1", "0", "-1")), "'event_count'");
	refused(L(HEAD("2", "1", "0", "0.5")), "'event_count'");
	refused(HDR("\"format\":2,\"kind\":\"full\",\"version\":2,"
	    "\"parent_version\":1,\"published_at\":\"" T0 "\","
	    "\"artifact_count\":0"), "'event_count'");
	refused(HDR("\"format\":2,\"kind\":\"full\",\"version\":2,"
	    "\"parent_version\":1,\"published_at\":1795549200,"
	    "\"artifact_count\":0,\"event_count\":0"), "'published_at'");
	refused(HDR("\"format\":2,\"kind\":\"full\",\"version\":2,"
	    "\"parent_version\":1,\"published_at\":\"yesterday\","
	    "\"artifact_count\":0,\"event_count\":0"), "'published_at'");
	/* Artifact and event lines must be objects. */
	refused(DOC("[\"api/a\"]"), "line 2: artifact is not an object");
	refused(EVDOC("[]"), "line 2: event is not an object");
	refused(DOC("\"api/a\""), "line 2: malformed JSON");
	refused(DOC(ART("api", "a", "\"10\"", H1)), "'size'");
	refused(DOC(ART("api", "a", "-1", H1)), "'size'");
	refused(DOC(ART("api", "a", "1.5", H1)), "'size'");
	refused(DOC("{\"type\":1,\"name\":\"a\",\"labels\":[\"default\"],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "'type'");
	refused(DOC("{\"type\":\"api\",\"name\":7,\"labels\":[\"default\"],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "'name'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":\"default\","
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "'labels'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "'labels'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[3],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "'labels'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"a,b\"],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "'labels'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"a b\"],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "label");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"\"],"
	    "\"size\":10,\"xxh128\":\"" H1 "\",\"updated_at\":\"" T0 "\"}"),
	    "label");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"default\"],"
	    "\"size\":10,\"xxh128\":5,\"updated_at\":\"" T0 "\"}"), "'xxh128'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"default\"],"
	    "\"size\":10,\"updated_at\":\"" T0 "\"}"), "'xxh128'");
	refused(DOC("{\"type\":\"api\",\"name\":\"a\",\"labels\":[\"default\"],"
	    "\"size\":10,\"xxh128\":\"" H1 "\"}"), "'updated_at'");
}

static void
test_from_json_bad_fields(void **state)
{
	(void)state;
	/* Names that could become paths. */
	refused(DOC(ART("api", "../x", "10", H1)), "'../x'");
	refused(DOC(ART("api", "a/b", "10", H1)), "'a/b'");
	refused(DOC(ART("api", "..", "10", H1)), NULL);
	refused(DOC(ART("api", ".", "10", H1)), NULL);
	refused(DOC(ART("api", ".hidden", "10", H1)), NULL);
	refused(DOC(ART("api", "", "10", H1)), NULL);
	refused(DOC(ART("api", "a\\tb", "10", H1)), NULL);
	refused(DOC(ART("api", "a\\\"b", "10", H1)), NULL);
	refused(DOC(ART("api", "/etc/passwd", "10", H1)), NULL);
	refused(DOC(ART("api", "a\\\\b", "10", H1)), NULL);
	/* An embedded NUL would hide "/../x" from every check. */
	refused(DOC(ART("api", "a\\u0000/../x", "10", H1)), NULL);
	refused(DOC(ART("api", "a\\u0000", "10", H1)), NULL);
	/* Checksums: 32 lower-case hex digits, nothing else. */
	refused(DOC(ART("api", "a", "10", "00112233445566778899AABBCCDDEEFF")),
	    "'xxh128'");
	refused(DOC(ART("api", "a", "10", "00112233445566778899aabbccddeef")),
	    "'xxh128'");
	refused(DOC(ART("api", "a", "10", H1 "0")), "'xxh128'");
	refused(DOC(ART("api", "a", "10", "0011223344556677 899aabbccddeeff")),
	    "'xxh128'");
	refused(DOC(ART("api", "a", "10", "")), "'xxh128'");
	/* Types. */
	refused(DOC(ART("apis", "a", "10", H1)), "'type'");
	refused(DOC(ART("API", "a", "10", H1)), "'type'");
	refused(DOC(ART("multi", "a", "10", H1)), "'type'");
	refused(DOC(ART("", "a", "10", H1)), "'type'");
	/* Sizes. */
	refused(DOC(ART("api", "a", "33554433", H1)), "over the");
	refused(DOC(ART("api", "a", "18446744073709551615", H1)), NULL);
	refused(DOC(ART("api", "a", "9223372036854775807", H1)), "over the");
}

static void
test_from_json_inconsistent(void **state)
{
	(void)state;
	/* Versions only move forward. */
	refused(L(HEAD("2", "2", "1", "0")) L(GOOD_ART), "not a forward step");
	refused(L(HEAD("2", "3", "1", "0")) L(GOOD_ART), "not a forward step");
	refused(L(HEAD("0", "0", "1", "0")) L(GOOD_ART), "not a forward step");
	refused(L(HEADK("delta", "5", "5", "0", "0")), "not a forward step");
	/* The same artifact twice, wherever the second one is. */
	refused(L(HEAD("2", "1", "2", "0")) L(GOOD_ART)
	    L(ART("api", "a", "11", H2)), "listed twice");
	refused(L(HEAD("2", "1", "3", "0")) L(GOOD_ART)
	    L(ART("sequences", "a", "11", H2)) L(ART("api", "a", "10", H1)),
	    "api/a: listed twice");
	/* Events. */
	refused(EVDOC(EV("api/a", "api", "DELETE")), "'action'");
	refused(EVDOC(EV("api/a", "api", "deploy")), "'action'");
	refused(EVDOC(EV("api-a", "api", "DEPLOY")), "TYPE/NAME");
	refused(EVDOC(EV("api/a", "sequences", "DEPLOY")), "does not match");
	refused(EVDOC(EV("ap/a", "api", "DEPLOY")), "does not match");
	refused(EVDOC(EV("apis/a", "api", "DEPLOY")), "does not match");
	refused(EVDOC(EV("api/../x", "api", "DEPLOY")), NULL);
	refused(EVDOC(EV("api/a/b", "api", "DEPLOY")), NULL);
	refused(EVDOC(EV("api/", "api", "DEPLOY")), NULL);
	refused(EVDOC(EV("api/a", "nope", "DEPLOY")), "'type'");
	refused(EVDOC("{\"id\":\"api/a\",\"type\":\"api\",\"action\":"
	    "\"DEPLOY\"}"), "'updated_at'");
	refused(EVDOC("{\"type\":\"api\",\"action\":\"DEPLOY\",\"updated_at\":"
	    "\"" T0 "\"}"), "TYPE/NAME");
}

/*
 * Found by fuzz_manifest: jansson quotes the bytes near a syntax error, and
 * name errors quote the name, so a hostile manifest put control bytes (a
 * forged log line) into the message. It must come out as one clean line.
 */
static void
test_from_json_error_text_is_clean(void **state)
{
	static const char *const docs[] = {
		"{\x01}",				/* the fuzzer's find */
		"{\"format\":1,\"version\":tru\x1f}",
		"{\"a\":\"\x1b[31m\"}",			/* raw control in a string */
		"{\"a\":\xff\xfe}",			/* not UTF-8 */
		DOC(ART("api", "a\\nb\\u0085c", "1", H1)),	/* \n and C1 */
		DOC(ART("api", ".\\n2026-01-01 artsync info: forged", "1", H1)),
		EVDOC(EV("api/x\\ty", "api", "DEPLOY")),
		EVDOC(EV("api\\u001b/x", "api", "DEPLOY")),
	};
	struct snap_err err;
	struct manifest *m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		err = (struct snap_err)SNAP_ERR_INIT;
		m = manifest_from_json(docs[i], strlen(docs[i]), &err);
		if (m != NULL)
			fail_msg("accepted: %s", docs[i]);
		tu_assert_clean_msg(err.msg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_json_controls),
		cmocka_unit_test(test_from_json_malformed),
		cmocka_unit_test(test_from_json_lines),
		cmocka_unit_test(test_from_json_wrong_types),
		cmocka_unit_test(test_from_json_bad_fields),
		cmocka_unit_test(test_from_json_inconsistent),
		cmocka_unit_test(test_from_json_error_text_is_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
