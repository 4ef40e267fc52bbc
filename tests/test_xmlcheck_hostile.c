/*
 * test_xmlcheck_hostile.c - snapshots/xmlcheck.c against hostile input:
 * XXE, the entity loader, entity bombs, deep nesting, bad encodings and
 * huge values must be refused quickly, without a crash and without a byte
 * on stderr.
 */
#include <dirent.h>
#include <errno.h>
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

#include <libxml/xmlerror.h>

#include "xmlcheck.h"
#include "xmltest.h"

/* Hostile input must be refused at once; this only catches a runaway. */
#define HOSTILE_MAX_SECONDS	5.0

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xxe),
		cmocka_unit_test(test_entity_loader),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_bad_encoding),
		cmocka_unit_test(test_huge_attribute),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
