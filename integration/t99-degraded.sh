#!/bin/bash
# t99-degraded: a primary that cannot watch, and children that write what
# they like.
#
# inotify exhausted: the primary runs in a user namespace of its own whose
# inotify watch limit (/proc/sys/user/max_inotify_watches, per namespace:
# no global sysctl is touched) is below what its tree needs. It says so,
# rescans the source every poll_ms and publishes what changed (and nothing
# when nothing did), shows it in status (watching: false, watch_error),
# /metrics (artsync_source_watch_ok 0) and /healthz (200, degraded: true);
# once the limit is raised it watches again.
#
# A push whose remote shell writes escape sequences and bytes that are not
# UTF-8 to stderr: the primary's log and status get them sanitized, and the
# target stays in status.
. "$(dirname "$0")/lib.sh"

# pfield KEY: KEY of the primary's status (a top-level one).
pfield() {
	curl -sf "$EP/api/v1/status" >pstatus.json &&
	"$PYTHON" "$HELPER" json-get pstatus.json "$1"
}

pmetric() {
	curl -sf "$EP/metrics" >pmetrics &&
	awk -v k="$1" '$1 == k { print $2; found = 1 } END { exit !found }' \
		pmetrics
}

# clean_text FILE: valid UTF-8, no control byte but newline and tab.
clean_text() {
	"$PYTHON" -c '
import sys
t = open(sys.argv[1], "rb").read().decode("utf-8")
bad = [c for c in t if (ord(c) < 32 and c not in "\n\t") or 127 <= ord(c) < 160]
sys.exit(1 if bad else 0)
' "$1"
}

test_expect_success 'setup: a tree' '
	fixture_tree src
'

test_expect_success 'inotify exhausted: the primary says so and polls' '
	start_primary_ns() {
		start_bg primary unshare --user --map-root-user sh -c \
			"echo $1 >/proc/sys/user/max_inotify_watches && exec \"\$@\"" \
			sh "$ARTSYNC" primary --source src --sync-root sync \
			--quiet-ms 100 --poll-ms 200 --retry-ms 500 \
			--listen 127.0.0.1:0
	} &&
	start_primary_ns 4 &&
	listen_port primary.log &&
	wait_for 20 "test \"\$(state_version sync)\" = 1" &&
	wait_for_log primary.log "not watching: .*inotify watch limit reached.*rescanning every 200 ms" &&
	test "$(pfield watching)" = False &&
	test "$(pfield watch_error)" != None &&
	test "$(pmetric artsync_source_watch_ok)" = 0 &&
	curl -s -o hz.json -w "%{http_code}" "$EP/healthz" >code &&
	test "$(cat code)" = 200 &&
	test "$("$PYTHON" "$HELPER" json-get hz.json degraded)" = True
'

test_expect_success 'a change is published by the rescan' '
	make_artifact api Polled 1 &&
	wait_for 10 "test \"\$(state_version sync)\" = 2" &&
	extract_version sync 2 v2 && same_tree src v2
'

test_expect_success 'nothing changed: nothing published' '
	sleep 1.5 &&
	test "$(state_version sync)" = 2 &&
	test "$(grep -c "published version" primary.log)" = 2
'

test_expect_success 'watches to be had again: back to inotify' '
	nsenter --user --target $pid_primary sh -c \
		"echo 100000 >/proc/sys/user/max_inotify_watches" &&
	wait_for_log primary.log "watching again" &&
	test "$(pfield watching)" = True &&
	test "$(pmetric artsync_source_watch_ok)" = 1 &&
	curl -sf "$EP/healthz" >hz.json &&
	! grep -q degraded hz.json &&
	make_artifact api Watched 1 &&
	wait_for 10 "test \"\$(state_version sync)\" = 3" &&
	grep_file "published version 3 in [0-9]+ ms \(changed files read\)" primary.log &&
	stop $pid_primary
'

test_expect_success 'rsync'"'"'s stderr: sanitized in the log and status, the target kept' '
	cat >rsh <<-\EOF &&
	#!/bin/sh
	# A remote shell whose far side writes escapes and bytes that are
	# not UTF-8 (rsync passes them on as they are), then takes rsync
	# down with it: that line is rsync'"'"'s last.
	printf "pwned \033[2J\033]0;title\007 \377\376 end\n" >&2
	sleep 0.5
	kill -9 $PPID
	EOF
	chmod +x rsh &&
	start_bg pusher env RSYNC_RSH="$TRASH/rsh" "$ARTSYNC" primary \
		--source src --sync-root sync6 --quiet-ms 100 --retry-ms 60000 \
		--listen 127.0.0.1:0 --push localhost:/nonexistent/target &&
	listen_port pusher.log &&
	wait_for_log pusher.log "push localhost:/nonexistent/target: version [0-9]+ failed .*pwned" &&
	clean_text pusher.log &&
	curl -sf "$EP/api/v1/status" >pstatus.json &&
	"$PYTHON" -c "
import json, sys
p = json.load(open(\"pstatus.json\"))[\"push\"]
sys.exit(0 if len(p) == 1 and \"pwned\" in p[0][\"last_error\"] else 1)
" &&
	stop $pid_pusher
'

finish
