#!/bin/bash
# t96-idle: a check that finds nothing new reads state.json, not the manifest.
#
# A secondary checks the sync root at every poll_ms, at each inotify event,
# SIGHUP and POST /api/v1/sync. Nearly every check finds the version it has
# applied; reading, hashing and parsing that version's manifest again each
# time made an idle secondary burn 4% of a core at 10,000 artifacts (2.5 MB
# manifest) and 43% at 100,000 (scripts/bench, "idle secondary"). Checks
# are forced here by POST /api/v1/sync, which answers once the check is
# done, and what they read is counted by the kernel (/proc/PID/io rchar).
. "$(dirname "$0")/lib.sh"

rchar() {
	sed -n 's/^rchar: //p' "/proc/$1/io"
}

test_expect_success 'setup: 1000 artifacts published and applied' '
	python3 "$REPO/scripts/gen-tree" 1000 src &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 1 &&
	start_secondary s1 --sync-root sync --deploy-root dep \
		--poll-ms 3600000 &&
	listen_port s1.log &&
	wait_for_log s1.log "$(applied_re 1)"
'

test_expect_success 'twenty checks with nothing new read less than one manifest' '
	msize=$(stat -c %s sync/snapshots/1.manifest.json) &&
	r0=$(rchar $pid_s1) &&
	for i in $(seq 20); do
		curl -fsS -X POST -H "$(rest_auth dep)" -o sync.json \
			"$EP/api/v1/sync" || return 1
	done &&
	r1=$(rchar $pid_s1) &&
	say "20 checks read $((r1 - r0)) bytes; the manifest has $msize" &&
	test $((r1 - r0)) -lt "$msize" &&
	test "$(python3 "$HELPER" json-get sync.json applied_version)" = 1
'

test_expect_success 'a check still applies a new version' '
	make_artifact api Fresh &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 2 &&
	curl -fsS -X POST -H "$(rest_auth dep)" -o sync.json "$EP/api/v1/sync" &&
	wait_for_log s1.log "$(applied_re 2)" &&
	same_tree src dep/current
'

test_expect_success 'and still refuses a state.json that went back' '
	cp sync/snapshots/1.state.json sync/state.json.tmp &&
	mv sync/state.json.tmp sync/state.json &&
	curl -fsS -X POST -H "$(rest_auth dep)" -o sync.json "$EP/api/v1/sync" &&
	wait_for_log s1.log "error: .*version 1, older than applied 2" &&
	test "$(current_version dep)" = 2
'

finish
