/*
 * test_rest_guard.c - the REST endpoint's header checks: Host (DNS
 * rebinding), Origin (cross-site pages), the body's framing (request
 * smuggling), which routes need the token, and the token comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "rest_guard.h"
#include "testutil.h"

static struct sockaddr_in
v4(const char *addr)
{
	struct sockaddr_in s = { .sin_family = AF_INET };

	assert_int_equal(inet_pton(AF_INET, addr, &s.sin_addr), 1);
	return s;
}

static struct sockaddr_in6
v6(const char *addr)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6 };

	assert_int_equal(inet_pton(AF_INET6, addr, &s.sin6_addr), 1);
	return s;
}

static void
hosts_ok(const struct guard_names *n, const struct sockaddr *local,
    const char *const *list, size_t count, bool want)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (guard_host_ok(list[i], n, local) != want)
			fail_msg("Host '%s' %s", list[i], want ? "refused" :
			    "accepted");
}

#define HOSTS(n, local, want, ...) do { \
	static const char *const l_[] = { __VA_ARGS__ }; \
	hosts_ok(n, local, l_, sizeof(l_) / sizeof(l_[0]), want); \
} while (0)

/* The default listener: loopback names and addresses only. */
static void
test_host_loopback_listener(void **state)
{
	struct guard_names n;
	struct sockaddr_in lo = v4("127.0.0.1");

	(void)state;
	assert_int_equal(guard_names_init(&n, "127.0.0.1:7846", "gw1", 7846),
	    0);
	HOSTS(&n, (struct sockaddr *)&lo, true,
	    "localhost", "LocalHost:7846", "127.0.0.1", "127.0.0.1:7846",
	    "127.0.0.1:9000", "127.1.2.3:1", "[::1]", "[::1]:7846",
	    "[0:0:0:0:0:0:0:1]:7846", "[::ffff:127.0.0.1]", "gw1", "GW1:7846",
	    "localhost:");
	HOSTS(&n, (struct sockaddr *)&lo, false,
	    "", "rebind.attacker.example", "rebind.attacker.example:7846",
	    "localhost.", "localhost.attacker.example", "127.0.0.1.nip.io",
	    "10.0.0.5", "0.0.0.0:7846", "[::]:7846", "[::2]", "::1",
	    "[::1", "::1]:80", "127.0.0.1:65536", "127.0.0.1:123456",
	    "127.0.0.1:7a", "127.0.0.1:7846:1", "localhost:-1",
	    "local host", "localhost\r\nX: y", "user@localhost",
	    "localhost/x", "127.1", "2130706433", "[::1%eth0]", "gw1.evil",
	    "[127.0.0.1]", "%6cocalhost");
}

/* A wildcard listener: the address the connection came in on stands for
 * it, and a name only when it is the listen host or this host's name. */
static void
test_host_wildcard_and_names(void **state)
{
	struct guard_names n;
	struct sockaddr_in here = v4("10.1.2.3"), lo = v4("127.0.0.1");
	struct sockaddr_in6 here6 = v6("fd00::7"), mapped =
	    v6("::ffff:10.1.2.3");

	(void)state;
	assert_int_equal(guard_names_init(&n, "0.0.0.0:7846", "GW1", 7846), 0);
	HOSTS(&n, (struct sockaddr *)&here, true, "10.1.2.3:7846", "10.1.2.3",
	    "localhost", "gw1", "127.0.0.1");
	HOSTS(&n, (struct sockaddr *)&here, false, "10.1.2.4", "0.0.0.0",
	    "gw1.example.com", "[fd00::7]");
	HOSTS(&n, (struct sockaddr *)&lo, false, "10.1.2.3");
	HOSTS(&n, NULL, false, "10.1.2.3");
	HOSTS(&n, (struct sockaddr *)&here6, true, "[fd00::7]:7846",
	    "[FD00:0::7]");
	/* A dual-stack socket sees an IPv4 peer's address as mapped. */
	HOSTS(&n, (struct sockaddr *)&mapped, true, "10.1.2.3");

	/* A named listen: that name, in any case. */
	assert_int_equal(guard_names_init(&n, "GW1.Example.COM:7846", NULL,
	    7846), 0);
	HOSTS(&n, NULL, true, "gw1.example.com", "GW1.EXAMPLE.COM:7846",
	    "localhost");
	HOSTS(&n, NULL, false, "gw1", "gw1.example.com.evil",
	    "example.com");
	/* A literal listen beyond loopback: that address. */
	assert_int_equal(guard_names_init(&n, "[fd00::9]:7846", "", 7846), 0);
	HOSTS(&n, NULL, true, "[fd00::9]", "[fd00:0:0::9]:1");
	HOSTS(&n, NULL, false, "[fd00::8]", "fd00::9");
	assert_int_equal(guard_names_init(&n, "fd00::9:7846", "", 7846), 0);
	HOSTS(&n, NULL, true, "[fd00::9]");
	assert_int_equal(guard_names_init(&n, "10.9.9.9:7846", "", 7846), 0);
	HOSTS(&n, NULL, true, "10.9.9.9:7846");
	HOSTS(&n, NULL, false, "10.9.9.8");

	assert_int_equal(guard_names_init(&n, "nocolon", "", 1), -1);
	assert_int_equal(guard_names_init(&n, "[::1:7846", "", 1), -1);
}

static void
test_origin(void **state)
{
	static const char *const foreign[] = {
		"null", "http://evil.example", "http://evil.example:7846",
		"http://127.0.0.1:8080", "http://localhost", "https://localhost",
		"file://", "ftp://127.0.0.1:7846", "http://127.0.0.1:7846/",
		"http://127.0.0.1:7846/x", "http://u@127.0.0.1:7846",
		"http://127.0.0.1:7846?", "http://rebind.example:7846", "",
		"http://", "127.0.0.1:7846", "http://[::1]:80",
	};
	struct guard_names n, n80;
	size_t i;

	(void)state;
	assert_int_equal(guard_names_init(&n, "127.0.0.1:7846", "gw1", 7846),
	    0);
	/* The endpoint's own origin: a tab opened on it. */
	assert_true(guard_origin_ok("http://127.0.0.1:7846", &n, NULL));
	assert_true(guard_origin_ok("HTTP://LOCALHOST:7846", &n, NULL));
	assert_true(guard_origin_ok("http://[::1]:7846", &n, NULL));
	assert_true(guard_origin_ok("https://gw1:7846", &n, NULL));
	for (i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		if (guard_origin_ok(foreign[i], &n, NULL))
			fail_msg("Origin '%s' accepted", foreign[i]);
	assert_false(guard_origin_ok(NULL, &n, NULL));
	/* No port in an origin is the scheme's own. */
	assert_int_equal(guard_names_init(&n80, "127.0.0.1:80", "", 80), 0);
	assert_true(guard_origin_ok("http://localhost", &n80, NULL));
	assert_false(guard_origin_ok("https://localhost", &n80, NULL));
}

static int
framing(unsigned nl, const char *l, unsigned ne, const char *e,
    unsigned nh, uint64_t *length, char *msg)
{
	struct guard_framing f = { nl, ne, nh, l, e };

	return guard_framing(&f, length, msg, 256);
}

static void
test_framing(void **state)
{
	static const char *const bad[] = {
		"5,5", " 5", "+5", "-1", " ", "", "5 ", "x", "0x10",
	};
	uint64_t len = 99;
	char msg[256] = "";
	size_t i;

	(void)state;
	assert_int_equal(framing(0, NULL, 0, NULL, 1, &len, msg), 0);
	assert_int_equal(len, 0);
	assert_int_equal(framing(1, "2048", 0, NULL, 1, &len, msg), 0);
	assert_int_equal(len, 2048);
	assert_int_equal(framing(1, "0", 0, NULL, 0, &len, msg), 0);
	assert_int_equal(framing(1, "18446744073709551615", 0, NULL, 1, &len,
	    msg), 400);
	assert_int_equal(framing(1, "9999999999999999999", 0, NULL, 1, &len,
	    msg), 0);
	assert_true(len == 9999999999999999999ull);
	/* The shapes of request smuggling. */
	assert_int_equal(framing(1, "5", 1, "chunked", 1, &len, msg), 400);
	tu_assert_msg(msg, "Content-Length and Transfer-Encoding together");
	assert_int_equal(framing(2, "5", 0, NULL, 1, &len, msg), 400);
	tu_assert_msg(msg, "more than one Content-Length");
	assert_int_equal(framing(0, NULL, 2, "chunked", 1, &len, msg), 400);
	tu_assert_msg(msg, "more than one Transfer-Encoding");
	assert_int_equal(framing(0, NULL, 0, NULL, 2, &len, msg), 400);
	tu_assert_msg(msg, "more than one Host");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(framing(1, bad[i], 0, NULL, 1, &len, msg), 400);
		tu_assert_msg(msg, "is not a number");
	}
	/* No body without its length up front. */
	assert_int_equal(framing(0, NULL, 1, "chunked", 1, &len, msg), 411);
	tu_assert_msg(msg, "send the body with Content-Length");
	/* A hostile value is shown tamed: printable, cut. */
	assert_int_equal(framing(0, NULL, 1, "a\r\nb'\x01\xff", 1, &len, msg),
	    411);
	tu_assert_msg(msg, "'a?" "?b?" "?" "?'");
}

static void
test_needs_token(void **state)
{
	struct route r = { .type = -1, .type_filter = -1 };

	(void)state;
	r.id = ROUTE_HEALTHZ;
	assert_false(guard_needs_token(&r, true));
	assert_false(guard_needs_token(&r, false));
	r.id = ROUTE_LIVEZ;		/* the probes: never a token */
	assert_false(guard_needs_token(&r, false));
	r.id = ROUTE_READYZ;
	assert_false(guard_needs_token(&r, false));
	r.id = ROUTE_STATUS;
	assert_false(guard_needs_token(&r, true));
	assert_true(guard_needs_token(&r, false));
	r.id = ROUTE_METRICS;
	assert_true(guard_needs_token(&r, false));
	r.id = ROUTE_UNDEPLOY;
	r.mutating = true;
	assert_true(guard_needs_token(&r, true));
	r.id = ROUTE_SYNC;
	assert_true(guard_needs_token(&r, true));
}

static void
test_token(void **state)
{
	(void)state;
	assert_true(guard_token_ok("Bearer s3cret", "s3cret"));
	assert_true(guard_token_ok("bearer s3cret", "s3cret"));
	assert_true(guard_token_ok("BEARER   s3cret", "s3cret"));
	assert_false(guard_token_ok("Bearer s3cre", "s3cret"));
	assert_false(guard_token_ok("Bearer s3crett", "s3cret"));
	assert_false(guard_token_ok("Bearer S3cret", "s3cret"));
	assert_false(guard_token_ok("Bearers3cret", "s3cret"));
	assert_false(guard_token_ok("Basic s3cret", "s3cret"));
	assert_false(guard_token_ok("s3cret", "s3cret"));
	assert_false(guard_token_ok("Bearer ", ""));
	assert_false(guard_token_ok(NULL, "s3cret"));
	assert_false(guard_token_ok("Bearer s3cret ", "s3cret"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_loopback_listener),
		cmocka_unit_test(test_host_wildcard_and_names),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_needs_token),
		cmocka_unit_test(test_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
