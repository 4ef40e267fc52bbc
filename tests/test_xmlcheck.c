/*
 * test_xmlcheck.c - unit tests of snapshots/xmlcheck.c: every real
 * configuration in the fixtures must pass its own type's checks and fail
 * every other type's; what is refused is said in plain words with its
 * line, and Synapse identities come out right; libxml2's handlers are put
 * back and the validator's cache lives as long as it. Fixtures are read
 * from $FIXTURES, by default ../shared/fixtures/synapse from the
 * repository root (the directory the tests run in). Hostile input:
 * test_xmlcheck_hostile.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <libxml/xmlerror.h>

#include "xmlcheck.h"
#include "xmltest.h"

/* Asserts msg contains want. */
static void
tu_msg_has(const char *msg, const char *want)
{
	if (strstr(msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", msg, want);
}

/* Reads a whole file; the caller frees. */
static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		fail_msg("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1)
		fail_msg("%s: %s", path, strerror(errno));
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n <= 0)
			fail_msg("%s: short read", path);
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*len = off;
	return buf;
}

static int
check_str(struct xmlcheck *xc, const char *type, const char *xml,
    struct snap_err *err)
{
	return validate(xc, type, xml, strlen(xml), err);
}

/* Asserts that xml is refused as `type` with a message containing `want`. */
static void
assert_refused(struct xmlcheck *xc, const char *type, const char *xml,
    size_t len, const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (validate(xc, type, xml, len, &err) != -1)
		fail_msg("accepted as %s: %.200s", type, xml);
	assert_true(err.msg[0] != '\0');
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
}

/* Every real configuration passes its own type's schema. */
static void
test_fixtures_valid(void **state)
{
	struct state *st = *state;
	size_t i, len;

	if (st->nfixtures <= MIN_FIXTURES)
		fail_msg("only %zu fixtures under %s", st->nfixtures,
		    fixtures_dir());
	for (i = 0; i < st->nfixtures; i++) {
		struct snap_err err = SNAP_ERR_INIT;
		char *buf = slurp(st->fixtures[i].path, &len);

		if (validate(st->xc, st->fixtures[i].type, buf, len,
		    &err) != 0)
			fail_msg("%s: %s", st->fixtures[i].path, err.msg);
		free(buf);
	}
}

/* ... and every other type's schema refuses it. */
static void
test_fixtures_wrong_type(void **state)
{
	struct state *st = *state;
	size_t i, t, len;

	for (i = 0; i < st->nfixtures; i++) {
		char *buf = slurp(st->fixtures[i].path, &len);

		for (t = 0; t < artifact_type_count; t++) {
			struct snap_err err = SNAP_ERR_INIT;

			if (strcmp(artifact_types[t].folder,
			    st->fixtures[i].type) == 0)
				continue;
			if (validate(st->xc, artifact_types[t].folder,
			    buf, len, &err) != -1)
				fail_msg("%s accepted as %s", st->fixtures[i].path,
				    artifact_types[t].folder);
		}
		free(buf);
	}
}

static void
test_wrong_root_message(void **state)
{
	struct state *st = *state;
	struct snap_err err = SNAP_ERR_INIT;
	char path[4096];
	size_t len;
	char *buf;

	snprintf(path, sizeof(path), "%s/sequences/main.xml", fixtures_dir());
	buf = slurp(path, &len);
	assert_int_equal(validate(st->xc, "api", buf, len, &err), -1);
	/* Plain words: what the root is, what the folder needs. */
	assert_true(strncmp(err.msg, "line ", 5) == 0);
	assert_non_null(strstr(err.msg, "root element <sequence> is not "
	    "<api>: api/ holds one <api> (API) per file"));
	free(buf);
}

static void
test_not_xml(void **state)
{
	struct state *st = *state;
	static const char unclosed[] = API_OPEN "<resource methods=\"GET\">"
	    "</api>";
	static const char json[] = "{\"api\": {\"name\": \"a\"}}";

	assert_refused(st->xc, "api", "", 0, "empty");
	assert_refused(st->xc, "api", API_OPEN, 0, "empty");
	assert_refused(st->xc, "api", unclosed, strlen(unclosed), "line 1: ");
	assert_refused(st->xc, "api", json, strlen(json), NULL);
	assert_refused(st->xc, "api", "hello", 5, NULL);
	assert_refused(st->xc, "api", "   \n\n", 5, NULL);
	assert_refused(st->xc, "api", "<?xml version=\"1.0\"?>", 21, NULL);
	/* Two roots, then trailing text. */
	assert_refused(st->xc, "api", API_OPEN "</api>" API_OPEN "</api>",
	    2 * (strlen(API_OPEN) + 6), NULL);
	/* An entity that no DTD declares. */
	assert_refused(st->xc, "api", API_OPEN "&x;</api>",
	    strlen(API_OPEN) + 9, "unknown entity &x;");
	/* A NUL byte inside the document. */
	assert_refused(st->xc, "api", API_OPEN "\0</api>", strlen(API_OPEN) + 7,
	    NULL);
}

static void
test_namespace(void **state)
{
	struct state *st = *state;
	static const char other[] = "<api xmlns=\"http://example.com/synapse\" "
	    "name=\"a\" context=\"/a\"/>";
	static const char none[] = "<api name=\"a\" context=\"/a\"/>";
	static const char prefixed[] = "<s:api xmlns:s=\"" SYN_NS "\" "
	    "name=\"a\" context=\"/a\"/>";
	static const char seq_none[] = "<sequence name=\"a\"/>";
	static const char inbound_none[] = "<inboundEndpoint name=\"a\"/>";
	static const char inbound_other[] = "<inboundEndpoint "
	    "xmlns=\"urn:x\" name=\"a\"/>";
	struct snap_err err = SNAP_ERR_INIT;

	assert_refused(st->xc, "api", other, strlen(other),
	    "root element <api> is in namespace http://example.com/synapse; "
	    "api/ needs <api> in " SYN_NS);
	assert_refused(st->xc, "api", none, strlen(none),
	    "root element <api> has no namespace; api/ needs <api> in " SYN_NS);
	assert_refused(st->xc, "sequences", seq_none, strlen(seq_none),
	    "root element <sequence> has no namespace; sequences/ needs "
	    "<sequence> in " SYN_NS " (add xmlns=\"" SYN_NS "\")");
	assert_refused(st->xc, "inbound-endpoints", inbound_other,
	    strlen(inbound_other), NULL);
	/* A prefix is as good as a default namespace. */
	assert_int_equal(check_str(st->xc, "api", prefixed, &err), 0);
	/* The types that WSO2 also deploys without a namespace. */
	assert_int_equal(check_str(st->xc, "inbound-endpoints", inbound_none,
	    &err), 0);
	assert_int_equal(check_str(st->xc, "local-entries",
	    "<localEntry key=\"k\"><x/></localEntry>", &err), 0);
}

static void
test_required_attributes(void **state)
{
	struct state *st = *state;
	static const struct {
		const char *type, *xml, *want;
	} bad[] = {
		{ "api", "<api xmlns=\"" SYN_NS "\" name=\"a\"/>",
		    "<api> has no 'context' attribute: every API needs one" },
		{ "api", "<api xmlns=\"" SYN_NS "\" context=\"/a\"/>",
		    "'name'" },
		{ "api", "<api xmlns=\"" SYN_NS "\" name=\" \t\" "
		    "context=\"/a\"/>", "<api> has a blank 'name' attribute" },
		{ "sequences", "<sequence xmlns=\"" SYN_NS "\"/>", "'name'" },
		{ "sequences", "<sequence xmlns=\"" SYN_NS "\" name=\"\"/>",
		    "'name'" },
		{ "local-entries", "<localEntry xmlns=\"" SYN_NS "\" "
		    "name=\"a\"/>", "'key'" },
		{ "proxy-services", "<proxy xmlns=\"" SYN_NS "\"/>", "'name'" },
		{ "templates", "<template xmlns=\"" SYN_NS "\"/>", "'name'" },
		{ "inbound-endpoints", "<inboundEndpoint xmlns=\"" SYN_NS
		    "\"/>", "'name'" },
		{ "inbound-endpoints", "<inboundEndpoint/>", "'name'" },
		{ "message-stores", "<messageStore xmlns=\"" SYN_NS "\"/>",
		    "'name'" },
		{ "message-processors", "<messageProcessor xmlns=\"" SYN_NS
		    "\" name=\"p\" class=\"c\"/>", "'messageStore'" },
		{ "message-processors", "<messageProcessor xmlns=\"" SYN_NS
		    "\" name=\"p\" messageStore=\"s\"/>", "'class'" },
		{ "tasks", "<task xmlns=\"" SYN_NS "\" name=\"t\"/>",
		    "'class'" },
		{ "tasks", "<task xmlns=\"" SYN_NS "\" class=\"c\"/>",
		    "'name'" },
		/* Synapse's name attribute is unqualified. */
		{ "sequences", "<s:sequence xmlns:s=\"" SYN_NS "\" "
		    "s:name=\"a\"/>", "'name'" },
	};
	static const struct {
		const char *type, *xml;
	} good[] = {
		{ "endpoints", "<endpoint xmlns=\"" SYN_NS "\"/>" },
		{ "local-entries", "<localEntry xmlns=\"" SYN_NS "\" key=\"k\">"
		    "some text</localEntry>" },
		{ "message-stores", "<messageStore xmlns=\"" SYN_NS "\" "
		    "name=\"s\"/>" },
		{ "tasks", "<task xmlns=\"" SYN_NS "\" name=\"t\" class=\"c\">"
		    "<trigger once=\"true\"/><anything xmlns=\"urn:x\"/></task>" },
		{ "sequences", "<sequence xmlns=\"" SYN_NS "\" name=\"a\" "
		    "x:y=\"z\" xmlns:x=\"urn:x\"><sequence key=\"b\"/>"
		    "</sequence>" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_refused(st->xc, bad[i].type, bad[i].xml,
		    strlen(bad[i].xml), bad[i].want);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct snap_err err = SNAP_ERR_INIT;

		if (check_str(st->xc, good[i].type, good[i].xml, &err) != 0)
			fail_msg("%s refused: %s", good[i].xml, err.msg);
	}
}

static void
test_messages(void **state)
{
	struct state *st = *state;
	static const char missing[] = "<?xml version=\"1.0\"?>\n\n"
	    "<api xmlns=\"" SYN_NS "\" name=\"a\"/>\n";
	static const char mismatch[] = API_OPEN "\n<b></c></api>";
	struct snap_err err = SNAP_ERR_INIT;

	static const char extra[] = API_OPEN "</api>\n<api/>\n";
	static const char late_decl[] = "\n<?xml version=\"1.0\"?>" API_OPEN
	    "</api>";
	static const char entity[] = API_OPEN "\n&nbsp;</api>";
	static const char truncated[] = API_OPEN "\n<resource>\n";

	assert_int_equal(check_str(st->xc, "api", missing, &err), -1);
	assert_string_equal(err.msg, "line 3: <api> has no 'context' "
	    "attribute: every API needs one");
	assert_int_equal(check_str(st->xc, "api", mismatch, &err), -1);
	assert_string_equal(err.msg, "line 2: end tag </c> does not match "
	    "start tag <b> of line 2");
	assert_int_equal(check_str(st->xc, "api", extra, &err), -1);
	assert_string_equal(err.msg, "line 2: extra content after the root "
	    "element's end tag (one artifact per file, one root element)");
	assert_int_equal(check_str(st->xc, "api", late_decl, &err), -1);
	tu_msg_has(err.msg, "line 2: the <?xml ...?> declaration must come "
	    "first");
	assert_int_equal(check_str(st->xc, "api", entity, &err), -1);
	assert_string_equal(err.msg, "line 2: unknown entity &nbsp; (XML knows "
	    "only &lt; &gt; &amp; &quot; &apos; and &#NNN;)");
	assert_int_equal(check_str(st->xc, "api", truncated, &err), -1);
	tu_msg_has(err.msg, "the file ends before the end tag of <");
	assert_null(strchr(err.msg, '\n'));
}

/* What Synapse knows each artifact by. */
static void
test_identities(void **state)
{
	struct state *st = *state;
	static const struct {
		const char *type, *name, *xml, *identity;
	} cases[] = {
		{ "api", "a_v1", "<api xmlns=\"" SYN_NS "\" name=\"admin--A\" "
		    "context=\"/a\" version=\"1.0.0\"/>", "admin--A:v1.0.0" },
		{ "api", "a", "<api xmlns=\"" SYN_NS "\" name=\"A&amp;B\" "
		    "context=\"/a\"/>", "A&B" },
		{ "api", "a", "<api xmlns=\"" SYN_NS "\" name=\"A\" "
		    "context=\"/a\" version=\" \"/>", "A" },
		{ "local-entries", "f", "<localEntry key=\"k:1\"/>", "k:1" },
		{ "sequences", "f", "<sequence xmlns=\"" SYN_NS "\" "
		    "name=\"main\"/>", "main" },
		{ "endpoints", "f", "<endpoint xmlns=\"" SYN_NS "\"/>", "" },
		{ "imports", "{org.wso2.carbon.connector}hello", "<import "
		    "xmlns=\"" SYN_NS "\" name=\"hello\" "
		    "package=\"org.wso2.carbon.connector\" status=\"enabled\"/>",
		    "{org.wso2.carbon.connector}hello" },
		{ "event-sources", "e", "<eventSource xmlns=\"" SYN_NS "\" "
		    "name=\"ev\"/>", "ev" },
		{ "priority-executors", "p", "<priorityExecutor xmlns=\"" SYN_NS
		    "\" name=\"px\"/>", "px" },
		{ "config", "synapse", "<definitions xmlns=\"" SYN_NS "\"/>",
		    "" },
		{ "config", "registry", "<registry xmlns=\"" SYN_NS "\" "
		    "provider=\"p\"/>", "" },
		{ "config", "notes", "<anything/>", "" },
	};
	struct xmlcheck_result res;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct snap_err err = SNAP_ERR_INIT;

		if (xmlcheck_artifact(st->xc, name_type_index(cases[i].type),
		    cases[i].name, cases[i].xml, strlen(cases[i].xml), &res,
		    &err) != 0)
			fail_msg("%s refused: %s", cases[i].xml, err.msg);
		assert_string_equal(res.identity, cases[i].identity);
	}
}

/* The files at the top of a tree have their own roots. */
static void
test_top_files(void **state)
{
	struct state *st = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct xmlcheck_result res;
	static const char reg[] = "<registry xmlns=\"" SYN_NS "\"/>";

	assert_int_equal(xmlcheck_artifact(st->xc, TYPE_CONFIG, "synapse", reg,
	    strlen(reg), &res, &err), -1);
	assert_string_equal(err.msg, "root element <registry> is not "
	    "<definitions>: synapse.xml holds one <definitions> (synapse.xml) "
	    "per file");
	assert_int_equal(res.line, 1);
	assert_int_equal(xmlcheck_artifact(st->xc, TYPE_CONFIG, "registry", reg,
	    strlen(reg), &res, &err), 0);
	assert_int_equal(xmlcheck_artifact(st->xc, TYPE_CONFIG, "task-manager",
	    "<taskManager/>", 14, &res, &err), -1);
	tu_msg_has(err.msg, "has no namespace");
	/* Another file at the top: well-formed is enough. */
	assert_int_equal(xmlcheck_artifact(st->xc, TYPE_CONFIG, "other",
	    "<x xmlns=\"urn:y\"/>", 18, &res, &err), 0);
	assert_int_equal(xmlcheck_artifact(st->xc, TYPE_CONFIG, "other",
	    "<x>", 3, &res, &err), -1);
}

static void
dummy_serror(void *arg, xmlErrorPtr e)
{
	(void)arg;
	(void)e;
}

/* The caller's libxml2 handlers are given back after each call. */
static void
test_handlers_restored(void **state)
{
	struct state *st = *state;
	struct snap_err err = SNAP_ERR_INIT;
	int marker;

	xmlSetStructuredErrorFunc(&marker, dummy_serror);
	assert_int_equal(check_str(st->xc, "api", "<api", &err), -1);
	assert_ptr_equal(xmlStructuredError, dummy_serror);
	assert_ptr_equal(xmlStructuredErrorContext, &marker);
	xmlSetStructuredErrorFunc(NULL, NULL);
}

static void
test_cache_and_lifecycle(void **state)
{
	struct state *st = *state;
	struct snap_err err = SNAP_ERR_INIT;
	struct xmlcheck *xc;
	static const char ok[] = "<sequence xmlns=\"" SYN_NS "\" name=\"s\"/>";
	int i;

	(void)st;
	xmlcheck_free(NULL);

	/* Unused, then freed: no schema was compiled, nothing leaks. */
	xc = xmlcheck_new(&err);
	assert_non_null(xc);
	xmlcheck_free(xc);

	/* The same type many times, with failures in between. */
	xc = xmlcheck_new(&err);
	assert_non_null(xc);
	for (i = 0; i < 3; i++) {
		assert_int_equal(check_str(xc, "sequences", ok, &err), 0);
		assert_int_equal(check_str(xc, "sequences", "<sequence/>",
		    &err), -1);
		assert_int_equal(check_str(xc, "inbound-endpoints",
		    "<inboundEndpoint name=\"i\"/>", &err), 0);
	}
	/* A NULL err is allowed. */
	assert_int_equal(check_str(xc, "sequences", ok, NULL), 0);
	assert_int_equal(check_str(xc, "sequences", "<x/>", NULL), -1);
	xmlcheck_free(xc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures_valid),
		cmocka_unit_test(test_fixtures_wrong_type),
		cmocka_unit_test(test_wrong_root_message),
		cmocka_unit_test(test_identities),
		cmocka_unit_test(test_top_files),
		cmocka_unit_test(test_not_xml),
		cmocka_unit_test(test_namespace),
		cmocka_unit_test(test_required_attributes),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_handlers_restored),
		cmocka_unit_test(test_cache_and_lifecycle),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
