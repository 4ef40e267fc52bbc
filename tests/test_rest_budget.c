/*
 * test_rest_budget.c - the REST endpoint's connection budget: deadlines
 * however bytes dribble in, a share per client, the oldest waiting one cut
 * to make room and never the newcomer, and the cut itself (shutdown of a
 * real socket, which the peer sees as the end).
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
#include <sys/socket.h>
#include <unistd.h>

#include "rest_budget.h"
#include "testutil.h"

#define NSLOTS 16

static struct sockaddr_in
peer4(const char *addr)
{
	struct sockaddr_in s = { .sin_family = AF_INET };

	assert_int_equal(inet_pton(AF_INET, addr, &s.sin_addr), 1);
	return s;
}

static struct sockaddr_in6
peer6(const char *addr)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6 };

	assert_int_equal(inet_pton(AF_INET6, addr, &s.sin6_addr), 1);
	return s;
}

static void
open4(struct budget *b, struct budget_slot *s, const char *addr, int64_t now)
{
	struct sockaddr_in p = peer4(addr);

	budget_open(b, s, -1, (struct sockaddr *)&p, now);
}

/* A request's headers in BUDGET_HEADER_MS, however they dribble; its
 * answer in BUDGET_REQUEST_MS; a kept-alive one waits for the next. */
static void
test_deadlines(void **state)
{
	struct budget b;
	struct budget_slot s[3];

	(void)state;
	budget_init(&b);
	assert_true(budget_next_ms(&b) == INT64_MAX);
	open4(&b, &s[0], "127.0.0.1", 1000);
	open4(&b, &s[1], "127.0.0.1", 2000);
	assert_int_equal(budget_next_ms(&b), 1000 + BUDGET_HEADER_MS);
	assert_int_equal(budget_expire(&b, 1000 + BUDGET_HEADER_MS - 1), 0);
	budget_busy(&b, &s[1], 3000);
	assert_int_equal(budget_expire(&b, 1000 + BUDGET_HEADER_MS), 1);
	assert_true(s[0].cut && !s[1].cut);
	assert_int_equal(b.cuts[BUDGET_CUT_SLOW], 1);
	assert_int_equal(b.open, 1);
	assert_int_equal(budget_next_ms(&b), 3000 + BUDGET_REQUEST_MS);
	budget_idle(&b, &s[1], 4000);
	assert_int_equal(budget_next_ms(&b), 4000 + BUDGET_HEADER_MS);
	assert_int_equal(budget_expire(&b, 4000 + BUDGET_HEADER_MS), 1);
	/* A kept-alive connection closed in time is no slow client. */
	assert_int_equal(b.cuts[BUDGET_CUT_IDLE], 1);
	assert_int_equal(b.open, 0);
	/* Cut, it stays linked until MHD closes it; a phase change then is
	 * ignored. */
	budget_busy(&b, &s[0], 9000);
	assert_true(s[0].cut);
	budget_close(&b, &s[0]);
	budget_close(&b, &s[1]);
	assert_null(b.head);
	assert_null(b.tail);
	open4(&b, &s[2], "127.0.0.1", 1);
	budget_close(&b, &s[2]);
	assert_int_equal(b.open, 0);
}

/* Over a client's share, its oldest waiting connection goes, never the
 * newcomer nor another client's; a busy one only when none waits. */
static void
test_per_client(void **state)
{
	struct budget b;
	struct budget_slot s[NSLOTS];
	int i;

	(void)state;
	budget_init(&b);
	b.per_client = 3;
	open4(&b, &s[0], "10.0.0.9", 0);	/* another client */
	for (i = 1; i <= 3; i++)
		open4(&b, &s[i], "127.0.0.1", i);
	budget_busy(&b, &s[1], 10);		/* s2 now the oldest waiting */
	open4(&b, &s[4], "127.0.0.1", 11);
	assert_true(s[2].cut);
	assert_false(s[0].cut || s[1].cut || s[3].cut || s[4].cut);
	assert_int_equal(b.cuts[BUDGET_CUT_CLIENT], 1);
	/* All the client's others busy: the oldest busy one goes. */
	budget_busy(&b, &s[3], 12);
	budget_busy(&b, &s[4], 13);
	open4(&b, &s[5], "127.0.0.1", 14);
	assert_true(s[1].cut);
	assert_false(s[5].cut || s[0].cut);
	/* IPv4-mapped is IPv4; an IPv6 /64 is one client. */
	{
		struct sockaddr_in6 m = peer6("::ffff:127.0.0.1"),
		    a = peer6("2001:db8:1:2::1"), c = peer6("2001:db8:1:2::ffff"),
		    d = peer6("2001:db8:1:3::1");

		budget_open(&b, &s[6], -1, (struct sockaddr *)&m, 15);
		assert_true(s[5].cut);	/* the one waiting */
		budget_open(&b, &s[7], -1, (struct sockaddr *)&a, 16);
		budget_open(&b, &s[8], -1, (struct sockaddr *)&c, 17);
		budget_open(&b, &s[9], -1, (struct sockaddr *)&d, 18);
		budget_open(&b, &s[10], -1, (struct sockaddr *)&c, 19);
		budget_open(&b, &s[11], -1, (struct sockaddr *)&a, 20);
		assert_true(s[7].cut);
		assert_false(s[8].cut || s[9].cut || s[10].cut || s[11].cut);
	}
	/* Unknown peers share one budget. */
	budget_open(&b, &s[12], -1, NULL, 21);
	assert_false(s[12].cut);
}

/* Over the total, the oldest waiting connection of anyone goes. */
static void
test_total(void **state)
{
	struct budget b;
	struct budget_slot s[NSLOTS];
	char addr[32];
	int i;

	(void)state;
	budget_init(&b);
	b.total = 4;
	for (i = 0; i < 4; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.%d", i + 1);
		open4(&b, &s[i], addr, i);
	}
	budget_busy(&b, &s[0], 5);
	open4(&b, &s[4], "127.0.0.9", 6);
	assert_true(s[1].cut);
	assert_int_equal(b.open, 4);
	assert_int_equal(b.cuts[BUDGET_CUT_TOTAL], 1);
	/* Closing makes room: the next one cuts no one. */
	budget_close(&b, &s[2]);
	open4(&b, &s[5], "127.0.0.9", 7);
	assert_false(s[3].cut || s[4].cut || s[5].cut);
}

/* The flood of rest_budget.h: 600 slow sockets from 127.0.0.1, then a
 * health checker from there too. It gets in; at most a share of the
 * flood is left open. */
static void
test_flood(void **state)
{
	struct budget b;
	struct budget_slot *s = calloc(602, sizeof(*s));
	int i, open = 0;

	(void)state;
	assert_non_null(s);
	budget_init(&b);
	for (i = 0; i < 600; i++)
		open4(&b, &s[i], "127.0.0.1", i);
	open4(&b, &s[600], "127.0.0.1", 600);
	assert_false(s[600].cut);
	for (i = 0; i < 600; i++)
		open += !s[i].cut;
	assert_int_equal(open, BUDGET_PER_CLIENT - 1);
	for (i = 0; i <= 600; i++)
		budget_close(&b, &s[i]);
	assert_int_equal(b.open, 0);
	free(s);
}

/* A cut is shutdown(2): the peer reads the end, the fd stays open. */
static void
test_cut_is_shutdown(void **state)
{
	struct budget b;
	struct budget_slot s[2];
	struct sockaddr_in p = peer4("127.0.0.1");
	int sv[2], sv2[2];
	char c;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2), 0);
	budget_init(&b);
	b.per_client = 1;
	budget_open(&b, &s[0], sv[0], (struct sockaddr *)&p, 0);
	budget_open(&b, &s[1], sv2[0], (struct sockaddr *)&p, 1);
	assert_true(s[0].cut);
	assert_int_equal(read(sv[1], &c, 1), 0);
	assert_int_equal(fcntl(sv[0], F_GETFD), 0);
	budget_close(&b, &s[0]);
	budget_close(&b, &s[1]);
	close(sv[0]);
	close(sv[1]);
	close(sv2[0]);
	close(sv2[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_per_client),
		cmocka_unit_test(test_total),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_cut_is_shutdown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
