#!/bin/bash
# t99-notify: systemd's notify protocol and watchdog, from systemd's side.
#
# Each test binds its own NOTIFY_SOCKET (notify_listener) and starts a
# daemon with WATCHDOG_USEC=200000, as systemd does for WatchdogSec=0.2s:
# the daemon must say READY=1, then WATCHDOG=1 about every 100 ms (half the
# interval) from its own event loop - so that a loop that stops turning
# (here: SIGSTOP) stops the pings, and systemd would restart it.
. "$(dirname "$0")/lib.sh"

# pings NAME: how many WATCHDOG=1 NAME's listener has received.
pings() {
	grep -c "WATCHDOG=1" "$TRASH/$1.msgs" 2>/dev/null
}

# ping_rate NAME: the WATCHDOG=1 of NAME.msgs came about every 100 ms:
# at least 8, their median gap between 60 and 140 ms, none over 1 s apart.
ping_rate() {
	"$PYTHON" - "$TRASH/$1.msgs" <<-'EOF'
	import statistics, sys
	t = [float(l.split()[0]) for l in open(sys.argv[1]) if "WATCHDOG=1" in l]
	gaps = [b - a for a, b in zip(t, t[1:])]
	print("pings %d, median gap %.3f s, largest %.3f s" %
	    (len(t), statistics.median(gaps), max(gaps)))
	ok = len(t) >= 8 and 0.06 <= statistics.median(gaps) <= 0.14 and max(gaps) < 1
	sys.exit(0 if ok else 1)
	EOF
}

# sigstop_silences NAME PID: while PID is stopped (SIGSTOP), NAME's pings
# stop (one in flight at most); after SIGCONT they come again.
sigstop_silences() {
	local n
	kill -STOP "$2" &&
	wait_for 10 "grep -q \"^State:.*stopped\" /proc/$2/status" &&
	n=$(pings "$1") &&
	sleep 1 &&
	test "$(pings "$1")" -le $((n + 1)) &&
	kill -CONT "$2" &&
	wait_for 10 "test \$(pings $1) -ge $((n + 5))"
}

test_expect_success 'setup: version 1 published' '
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 1
'

test_expect_success 'secondary: READY=1, then WATCHDOG=1 every ~100 ms' '
	notify_listener s &&
	NOTIFY_SOCKET=$TRASH/s.sock WATCHDOG_USEC=200000 \
		start_secondary s --sync-root sync --deploy-root d --poll-ms 5000 &&
	listen_port s.log &&
	wait_for 10 "grep -q READY=1 s.msgs" &&
	wait_for 10 "test \$(pings s) -ge 12" &&
	ping_rate s
'

test_expect_success 'secondary: pings go on while it serves and applies' '
	n=$(pings s) &&
	make_artifact api Later 2 &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null &&
	kill -HUP $pid_s &&
	wait_for 20 "test \"\$(current_version d)\" = 2" &&
	curl -sf "$EP/healthz" >/dev/null &&
	wait_for 10 "test \$(pings s) -ge $((n + 10))"
'

test_expect_success 'secondary: SIGSTOP stops the pings, SIGCONT brings them back' '
	sigstop_silences s $pid_s &&
	stop $pid_s &&
	grep -q STOPPING=1 s.msgs
'

test_expect_success 'WATCHDOG_PID of the daemon itself: pings' '
	notify_listener own &&
	NOTIFY_SOCKET=$TRASH/own.sock WATCHDOG_USEC=200000 \
		start_bg own sh -c "WATCHDOG_PID=\$\$ exec \"\$0\" \"\$@\"" \
		"$ARTSYNC" secondary --sync-root sync --deploy-root d \
		--listen 127.0.0.1:0 &&
	wait_for 10 "grep -q READY=1 own.msgs" &&
	wait_for 10 "test \$(pings own) -ge 8" &&
	ping_rate own &&
	stop $pid_own
'

test_expect_success 'WATCHDOG_PID of another process, or no WATCHDOG_USEC: no pings' '
	notify_listener other &&
	NOTIFY_SOCKET=$TRASH/other.sock WATCHDOG_USEC=200000 WATCHDOG_PID=1 \
		start_secondary other --sync-root sync --deploy-root d &&
	notify_listener none &&
	NOTIFY_SOCKET=$TRASH/none.sock \
		start_secondary none --sync-root sync --deploy-root d-none &&
	wait_for 10 "grep -q READY=1 other.msgs" &&
	wait_for 10 "grep -q READY=1 none.msgs" &&
	wait_for 20 "test \"\$(current_version d-none)\" = 2" &&
	sleep 0.5 &&
	test "$(pings other)" = 0 &&
	test "$(pings none)" = 0 &&
	stop $pid_other &&
	stop $pid_none
'

test_expect_success 'primary: READY=1, then WATCHDOG=1 every ~100 ms, also while publishing' '
	notify_listener p &&
	NOTIFY_SOCKET=$TRASH/p.sock WATCHDOG_USEC=200000 \
		start_primary --source src --sync-root sync --quiet-ms 50 &&
	wait_for 10 "grep -q READY=1 p.msgs" &&
	make_artifact api Third 3 &&
	wait_for_log primary.log "published version 3 " &&
	wait_for 10 "test \$(pings p) -ge 12" &&
	ping_rate p
'

test_expect_success 'primary: SIGSTOP stops the pings' '
	sigstop_silences p $pid_primary &&
	stop $pid_primary &&
	grep -q STOPPING=1 p.msgs
'

finish
