/*
 * test_xmlcheck.c - unit tests of snapshots/xmlcheck.c.
 *
 * Three parts: every real configuration in the fixtures must pass its own
 * type's checks and fail every other type's; what is refused is said in
 * plain words with its line, and Synapse identities come out right; and
 * hostile input (XXE, entity bombs, deep nesting, bad encodings, huge
 * values) must be refused quickly, without a crash and without a byte on
 * stderr. Fixtures are read from
 * $FIXTURES, by default ../shared/fixtures/synapse from the repository root
 * (the directory the tests run in).
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include "names.h"
#include "xmlcheck.h"

/* Asserts msg contains want. */
static void
tu_msg_has(const char *msg, const char *want)
{
	if (strstr(msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", msg, want);
}

#define SYN_NS		"http://ws.apache.org/ns/synapse"
#define API_OPEN	"<api xmlns=\"" SYN_NS "\" name=\"a\" context=\"/a\">"
#define MIN_FIXTURES	60

/* Hostile input must be refused at once; this only catches a runaway. */
#define HOSTILE_MAX_SECONDS	5.0

struct fixture {
	char type[64];
	char path[4096];
};

struct state {
	struct xmlcheck *xc;
	struct fixture *fixtures;
	size_t nfixtures;
};

static const char *
fixtures_dir(void)
{
	const char *dir = getenv("FIXTURES");

	return dir != NULL && *dir != '\0' ? dir : "../shared/fixtures/synapse";
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
fixture_cmp(const void *a, const void *b)
{
	const struct fixture *x = a, *y = b;

	return strcmp(x->path, y->path);
}

/* Lists every TYPE/NAME.xml under the fixtures directory, for every type. */
static void
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

static int
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

static int
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
static int
validate(struct xmlcheck *xc, const char *type, const char *xml, size_t len,
    struct snap_err *err)
{
	int t = name_type_index(type);

	assert_true(t >= 0);
	return xmlcheck_validate(xc, t, t == TYPE_CONFIG ? "synapse" : "x",
	    xml, len, NULL, err);
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

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Runs xmlcheck_validate with stderr sent to a temporary file, then checks
 * that libxml2 wrote nothing there and that the call was not slow.
 */
static int
validate_quiet(struct xmlcheck *xc, const char *type, const char *xml,
    size_t len, struct snap_err *err)
{
	char path[] = "/tmp/test_xmlcheck.XXXXXX";
	struct stat sb;
	double t0, elapsed;
	int tmp, saved, rc;

	tmp = mkstemp(path);
	assert_true(tmp != -1);
	unlink(path);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved != -1);
	assert_true(dup2(tmp, STDERR_FILENO) != -1);

	t0 = now();
	rc = validate(xc, type, xml, len, err);
	elapsed = now() - t0;

	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	assert_true(fstat(tmp, &sb) == 0);
	close(tmp);
	if (sb.st_size != 0)
		fail_msg("libxml2 wrote %lld bytes to stderr",
		    (long long)sb.st_size);
	if (elapsed > HOSTILE_MAX_SECONDS)
		fail_msg("validation took %.1f s", elapsed);
	return rc;
}

static void
assert_hostile_refused(struct xmlcheck *xc, const char *xml, size_t len,
    const char *want)
{
	struct snap_err err = SNAP_ERR_INIT;

	if (validate_quiet(xc, "api", xml, len, &err) != -1)
		fail_msg("accepted: %.200s", xml);
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
test_xxe(void **state)
{
	struct state *st = *state;
	static const char file[] = "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE api [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
	    API_OPEN "&x;</api>";
	static const char http[] = "<!DOCTYPE api [<!ENTITY x SYSTEM "
	    "\"http://127.0.0.1:1/x\">]>" API_OPEN "&x;</api>";
	static const char ext_dtd[] = "<!DOCTYPE api SYSTEM "
	    "\"http://127.0.0.1:1/x.dtd\">" API_OPEN "</api>";
	static const char param[] = "<!DOCTYPE api [<!ENTITY % p SYSTEM "
	    "\"http://127.0.0.1:1/x.dtd\"> %p;]>" API_OPEN "</api>";
	static const char public_id[] = "<!DOCTYPE api PUBLIC \"-//x//y\" "
	    "\"file:///etc/passwd\">" API_OPEN "</api>";
	static const char in_attr[] = "<!DOCTYPE api [<!ENTITY x SYSTEM "
	    "\"file:///etc/hostname\">]><api xmlns=\"" SYN_NS "\" name=\"&x;\" "
	    "context=\"/a\"/>";
	/* Even an empty DOCTYPE: none is ever legitimate in an artifact. */
	static const char plain[] = "<!DOCTYPE api>" API_OPEN "</api>";
	struct snap_err err = SNAP_ERR_INIT;

	assert_hostile_refused(st->xc, file, strlen(file), "DOCTYPE");
	assert_int_equal(validate_quiet(st->xc, "api", file, strlen(file),
	    &err), -1);
	assert_true(strncmp(err.msg,
	    "line 2: DOCTYPE is not allowed in an artifact", 45) == 0);
	assert_hostile_refused(st->xc, http, strlen(http), "DOCTYPE");
	assert_hostile_refused(st->xc, ext_dtd, strlen(ext_dtd), "DOCTYPE");
	assert_hostile_refused(st->xc, param, strlen(param), "DOCTYPE");
	assert_hostile_refused(st->xc, public_id, strlen(public_id), "DOCTYPE");
	assert_hostile_refused(st->xc, in_attr, strlen(in_attr), "DOCTYPE");
	assert_hostile_refused(st->xc, plain, strlen(plain), "DOCTYPE");
}

/* The loader installed by xmlcheck_new refuses files and URLs outright. */
static void
test_entity_loader(void **state)
{
	xmlParserCtxtPtr ctxt;
	xmlParserInputPtr in;

	(void)state;
	assert_non_null(ctxt = xmlNewParserCtxt());
	in = xmlLoadExternalEntity("/etc/passwd", NULL, ctxt);
	assert_null(in);
	in = xmlLoadExternalEntity("file:///etc/passwd", NULL, ctxt);
	assert_null(in);
	in = xmlLoadExternalEntity("http://127.0.0.1:1/x.dtd", NULL, ctxt);
	assert_null(in);
	/* A schema's name with a directory in front is a path, not ours. */
	in = xmlLoadExternalEntity("/tmp/api.xsd", NULL, ctxt);
	assert_null(in);
	xmlFreeParserCtxt(ctxt);
}

/* 10 levels of 10x: 10^10 "lol"s if it were ever expanded. */
static char *
billion_laughs(void)
{
	size_t cap = 8192, n = 0;
	char *s = malloc(cap);
	int i, j;

	assert_non_null(s);
	n += (size_t)snprintf(s + n, cap - n,
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE api [\n"
	    "<!ENTITY lol0 \"lol\">\n");
	for (i = 1; i < 10; i++) {
		n += (size_t)snprintf(s + n, cap - n, "<!ENTITY lol%d \"", i);
		for (j = 0; j < 10; j++)
			n += (size_t)snprintf(s + n, cap - n, "&lol%d;", i - 1);
		n += (size_t)snprintf(s + n, cap - n, "\">\n");
	}
	n += (size_t)snprintf(s + n, cap - n, "]>\n<api xmlns=\"" SYN_NS "\" "
	    "name=\"&lol9;\" context=\"/a\">&lol9;</api>\n");
	assert_true(n < cap);
	return s;
}

static void
test_billion_laughs(void **state)
{
	struct state *st = *state;
	struct snap_err err = SNAP_ERR_INIT;
	char *xml = billion_laughs();

	assert_hostile_refused(st->xc, xml, strlen(xml), "DOCTYPE");
	/*
	 * Line 2 is the DOCTYPE's own: refused when it is announced, before
	 * the first entity declaration (line 3) is even read.
	 */
	assert_int_equal(validate_quiet(st->xc, "api", xml, strlen(xml), &err),
	    -1);
	assert_true(strncmp(err.msg,
	    "line 2: DOCTYPE is not allowed in an artifact", 45) == 0);
	free(xml);
}

static void
test_deep_nesting(void **state)
{
	struct state *st = *state;
	const size_t depth = 100000;
	size_t i, n = 0, cap = strlen(API_OPEN) + depth * 7 + 16;
	char *xml = malloc(cap);

	assert_non_null(xml);
	n += (size_t)snprintf(xml, cap, "%s", API_OPEN);
	for (i = 0; i < depth; i++) {
		memcpy(xml + n, "<a>", 3);
		n += 3;
	}
	for (i = 0; i < depth; i++) {
		memcpy(xml + n, "</a>", 4);
		n += 4;
	}
	n += (size_t)snprintf(xml + n, cap - n, "</api>");
	assert_hostile_refused(st->xc, xml, n, "depth");
	free(xml);
}

static void
test_bad_encoding(void **state)
{
	struct state *st = *state;
	static const char bad_utf8[] = "<api xmlns=\"" SYN_NS "\" "
	    "name=\"\xff\xfe\" context=\"/a\"/>";
	static const char bad_text[] = API_OPEN "\xc3\x28</api>";
	static const char overlong[] = API_OPEN "\xc0\xaf</api>";
	static const char surrogate[] = API_OPEN "\xed\xa0\x80</api>";
	static const char bad_ctrl[] = API_OPEN "\x01</api>";
	static const char unknown_enc[] = "<?xml version=\"1.0\" "
	    "encoding=\"no-such-charset\"?>" API_OPEN "</api>";
	static const char bad_name[] = "<api xmlns=\"" SYN_NS "\" "
	    "n\xff=\"x\" name=\"a\" context=\"/a\"/>";

	assert_hostile_refused(st->xc, bad_utf8, strlen(bad_utf8), NULL);
	assert_hostile_refused(st->xc, bad_text, strlen(bad_text), NULL);
	assert_hostile_refused(st->xc, overlong, strlen(overlong), NULL);
	assert_hostile_refused(st->xc, surrogate, strlen(surrogate), NULL);
	assert_hostile_refused(st->xc, bad_ctrl, strlen(bad_ctrl), NULL);
	assert_hostile_refused(st->xc, unknown_enc, strlen(unknown_enc), NULL);
	assert_hostile_refused(st->xc, bad_name, strlen(bad_name), NULL);
}

/* libxml2's default limits (10,000,000 bytes for a value without
 * XML_PARSE_HUGE) refuse it, quickly, in one bounded line. */
static void
test_huge_attribute(void **state)
{
	struct state *st = *state;
	const size_t value = 20 * 1024 * 1024;
	static const char head[] = "<api xmlns=\"" SYN_NS "\" context=\"/a\" "
	    "name=\"";
	static const char tail[] = "\"/>";
	size_t n = 0, len = strlen(head) + value + strlen(tail);
	struct snap_err err = SNAP_ERR_INIT;
	char *xml = malloc(len + 1);
	int rc;

	assert_non_null(xml);
	memcpy(xml, head, strlen(head));
	n = strlen(head);
	memset(xml + n, 'x', value);
	n += value;
	memcpy(xml + n, tail, strlen(tail) + 1);
	n += strlen(tail);
	rc = validate_quiet(st->xc, "api", xml, n, &err);
	assert_int_equal(rc, -1);
	if (strncmp(err.msg, "line 1: ", 8) != 0 ||
	    strstr(err.msg, "too long") == NULL)
		fail_msg("message \"%s\"", err.msg);
	/* The message stays one bounded line whatever the value was. */
	assert_null(strchr(err.msg, '\n'));
	assert_true(strlen(err.msg) < 300);
	free(xml);
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
		cmocka_unit_test(test_xxe),
		cmocka_unit_test(test_entity_loader),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_bad_encoding),
		cmocka_unit_test(test_huge_attribute),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_handlers_restored),
		cmocka_unit_test(test_cache_and_lifecycle),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
