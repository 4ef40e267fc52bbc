/*
 * daemon.h - what both daemons' loops share: signals as an fd, a monotonic
 * clock, and systemd's readiness protocol.
 *
 * Signals never run code of ours: SIGTERM, SIGINT and SIGHUP are blocked and
 * read from a signalfd in the poll loop, like any other event.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stdint.h>

#include "snap_err.h"

/* Blocks TERM/INT/HUP (and ignores PIPE); returns a signalfd or -1. */
int daemon_signals(struct snap_err *err);
/* The signal number read from the signalfd, or 0 if none was pending. */
int daemon_signal_read(int fd);

/* Milliseconds on the monotonic clock. */
int64_t daemon_now_ms(void);

/* Wall-clock milliseconds since the epoch: only to compare with times
 * another host wrote (published_at), never to measure a duration. */
int64_t daemon_wall_ms(void);

/*
 * systemd's watchdog (WatchdogSec=): daemon_watchdog_init() reads
 * WATCHDOG_USEC once (through sd_watchdog_enabled(), which also honours
 * WATCHDOG_PID). The loop then calls daemon_watchdog() with the poll
 * timeout it computed (ms, -1: none) before every poll: it sends
 * WATCHDOG=1 once half the interval has passed since the last one, and
 * returns the timeout shortened so that poll wakes in time for the next.
 * A loop that stops turning stops pinging, and systemd restarts it.
 * Without a watchdog, daemon_watchdog() returns timeout unchanged.
 */
void daemon_watchdog_init(void);
int daemon_watchdog(int timeout);

/*
 * /livez: the loop calls daemon_tick() each time poll(2) returns, before
 * it handles what woke it; daemon_tick_age_ms() is how long ago that was
 * (0 before the first tick). The endpoint is served from that same loop,
 * so a loop stuck for good answers nothing: a probe's timeout is its
 * failure. The age guards the rest: an answer given while the loop has
 * not been back to poll for DAEMON_STALL_MS (something serving from
 * inside a long pass) is 503.
 */
#define DAEMON_STALL_MS 30000
void daemon_tick(void);
int64_t daemon_tick_age_ms(void);

/* sd_notify(3) status, a no-op outside systemd. */
void daemon_notify_ready(const char *status);
void daemon_notify_status(const char *status);
void daemon_notify_stopping(void);

#endif
