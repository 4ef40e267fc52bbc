/*
 * test_child.c - agent/child.c: a child spawned with its stderr in a
 * pipe, the tail of its output kept (its last line is what a failure
 * says), and a running child stopped and reaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child.h"

/* Writes n bytes of `c` into fd. */
static void
put(int fd, char c, size_t n)
{
	char buf[1000];

	assert_true(n <= sizeof(buf));
	memset(buf, c, n);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
}

static void
test_tail_kept(void **state)
{
	char buf[16];
	size_t len = 0;
	int pfd[2];

	(void)state;
	assert_int_equal(pipe2(pfd, O_NONBLOCK), 0);
	put(pfd[1], 'a', 5);
	assert_int_equal(child_read_tail(pfd[0], buf, sizeof(buf), &len), -1);
	assert_int_equal(errno, EAGAIN);
	assert_string_equal(buf, "aaaaa");
	put(pfd[1], 'b', 12);		/* 17 bytes: the first two go */
	assert_int_equal(child_read_tail(pfd[0], buf, sizeof(buf), &len), -1);
	assert_int_equal(len, 15);
	assert_string_equal(buf, "aaabbbbbbbbbbbb");
	put(pfd[1], 'c', 700);		/* more than a read and the buffer */
	put(pfd[1], 'd', 3);
	close(pfd[1]);
	assert_int_equal(child_read_tail(pfd[0], buf, sizeof(buf), &len), 0);
	assert_string_equal(buf, "ccccccccccccddd");
	close(pfd[0]);
}

static void
test_spawn_read_stop(void **state)
{
	char *echo[] = { "sh", "-c", "echo first >&2; echo last >&2", NULL };
	char *wait[] = { "sleep", "30", NULL };
	char buf[64];
	size_t len = 0;
	struct pollfd pfd = { .events = POLLIN };
	pid_t pid;
	int fd, status, rc;

	(void)state;
	assert_int_equal(child_spawn(echo, NULL, 0, -1, -1, &pid, &fd), 0);
	pfd.fd = fd;
	/* Read when poll says so, as the daemons' loops do. */
	while ((rc = child_read_tail(fd, buf, sizeof(buf), &len)) != 0 &&
	    errno == EAGAIN && poll(&pfd, 1, 10000) == 1)
		;
	assert_int_equal(rc, 0);
	assert_string_equal(buf, "first\nlast\n");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);

	assert_int_equal(child_spawn(wait, NULL, 0, -1, -1, &pid, &fd), 0);
	child_stop(&pid, &fd);
	assert_int_equal(pid, -1);
	assert_int_equal(fd, -1);
	child_stop(&pid, &fd);		/* a no-op now */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tail_kept),
		cmocka_unit_test(test_spawn_read_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
