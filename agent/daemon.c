/*
 * daemon.c - signalfd, monotonic time, sd_notify (see daemon.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"

static int64_t watchdog_ms;	/* ping interval; 0: no watchdog */
static int64_t watchdog_next;	/* monotonic ms of the next ping */
static int64_t last_tick;	/* monotonic ms of the loop's last pass */

int
daemon_signals(struct snap_err *err)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return snap_err_sys(err, errno, "sigprocmask");
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		return snap_err_sys(err, errno, "signalfd");
	return fd;
}

int
daemon_signal_read(int fd)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

int64_t
daemon_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
daemon_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
daemon_tick(void)
{
	last_tick = daemon_now_ms();
}

int64_t
daemon_tick_age_ms(void)
{
	return last_tick == 0 ? 0 : daemon_now_ms() - last_tick;
}

void
daemon_watchdog_init(void)
{
	uint64_t usec = 0;

	watchdog_ms = 0;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		/* Half the interval, as sd_watchdog_enabled(3) advises; at
		 * least 1 ms, so that a tiny one cannot spin the loop. */
		watchdog_ms = (int64_t)(usec / 2000);
		if (watchdog_ms == 0)
			watchdog_ms = 1;
	}
	watchdog_next = 0;
}

int
daemon_watchdog(int timeout)
{
	int64_t now, left;

	if (watchdog_ms == 0)
		return timeout;
	now = daemon_now_ms();
	if (now >= watchdog_next) {
		sd_notify(0, "WATCHDOG=1");
		watchdog_next = now + watchdog_ms;
	}
	left = watchdog_next - now;
	return timeout < 0 || timeout > left ? (int)left : timeout;
}

void
daemon_notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
daemon_notify_status(const char *status)
{
	sd_notifyf(0, "STATUS=%s", status);
}

void
daemon_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
