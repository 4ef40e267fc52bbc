#!/bin/bash
# t40-corrupt: a secondary refuses what does not verify and keeps serving.
#
# A snapshot whose archive has one flipped byte, a state.json that is not
# JSON, a state.json naming an older version, a manifest that does not match
# its checksum: each is logged and refused, current stays on the release it
# was on (byte for byte), and the next good version is applied.
. "$(dirname "$0")/lib.sh"

# log_count FILE ERE: how many lines of FILE match.
log_count() {
	grep -E -c -- "$2" "$1"
}

# still_on RELEASE: current is still RELEASE, and it is complete.
still_on() {
	test "$(current_release d1)" = "$1" &&
	release_is_complete d1
}

test_expect_success 'setup: version 1 published and applied' '
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 1 &&
	cp -R src tree1 &&
	start_secondary s1 --sync-root sync --deploy-root d1 --poll-ms 100 &&
	wait_for 20 "test \"\$(current_version d1)\" = 1" &&
	same_tree tree1 d1/current &&
	rel1=$(current_release d1) &&
	stop $pid_s1
'

test_expect_success 'version 2 published while the secondary is down, then corrupted' '
	make_artifact sequences OnlyInV2 v2 &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 2 &&
	a2=$(own_file sync 2 archive) &&
	python3 "$HELPER" flip-byte "sync/$a2" &&
	test_exit_code 1 "$ARTSYNC" verify --sync-root sync 2 >out 2>err
'

test_expect_success 'at start, the secondary refuses it: checksum mismatch' '
	start_secondary s2 --sync-root sync --deploy-root d1 --poll-ms 100 &&
	wait_for_log s2.log "error: .*version 2 refused.*checksum mismatch" &&
	grep_file "serving releases/$rel1 " s2.log
'

test_expect_success 'current stays on the version 1 release, unchanged' '
	still_on $rel1 &&
	same_tree tree1 d1/current &&
	test ! -e d1/current/sequences/OnlyInV2.xml &&
	test ! -e d1/.staging/build &&
	is_running $pid_s2
'

# A negative over time needs a window: ten polls (at 100 ms) must not
# repeat the message. This is the one fixed wait in the suite, and it
# decides nothing but "not repeated within the window".
test_expect_success 'it says so once, not at every poll' '
	sleep 1 &&
	test "$(log_count s2.log "checksum mismatch")" = 1 &&
	is_running $pid_s2
'

test_expect_success 'a good version 3 is applied' '
	make_artifact sequences OnlyInV3 v3 &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 3 &&
	wait_for 20 "test \"\$(current_version d1)\" = 3" &&
	same_tree src d1/current &&
	release_is_complete d1 &&
	rel3=$(current_release d1) &&
	wait_for_log s2.log "$(applied_re 3)" &&
	cp -R src tree3
'

test_expect_success 'state.json replaced by garbage: an error, still serving' '
	cp sync/state.json state.good &&
	printf "{\"version\": 4, garbage\n" >sync/state.json.tmp &&
	mv sync/state.json.tmp sync/state.json &&
	wait_for_log s2.log "error: .*state\.json.*still serving $rel3" &&
	still_on $rel3 &&
	same_tree tree3 d1/current &&
	is_running $pid_s2
'

test_expect_success 'state.json restored: readable again, nothing re-applied' '
	n=$(log_count s2.log "$APPLIED_RE") &&
	cp state.good sync/state.json.tmp &&
	mv sync/state.json.tmp sync/state.json &&
	wait_for_log s2.log "sync root readable again" &&
	test "$(log_count s2.log "$APPLIED_RE")" = "$n" &&
	still_on $rel3
'

test_expect_success 'a state.json naming an older version is not applied' '
	cp sync/snapshots/1.state.json sync/state.json.tmp &&
	mv sync/state.json.tmp sync/state.json &&
	wait_for_log s2.log "error: .*version 1, older than applied 3" &&
	still_on $rel3 &&
	same_tree tree3 d1/current &&
	cp state.good sync/state.json.tmp &&
	mv sync/state.json.tmp sync/state.json &&
	wait_for 20 "test \$(log_count s2.log \"sync root readable again\") -ge 2"
'

test_expect_success 'a manifest that does not match its checksum is refused' '
	make_artifact sequences OnlyInV4 v4 &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 4 &&
	wait_for 20 "test \"\$(current_version d1)\" = 4" &&
	rel4=$(current_release d1) &&
	cp -R src tree4 &&
	stop $pid_s2 &&
	make_artifact sequences OnlyInV5 v5 &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 5 &&
	m5=$(own_file sync 5 manifest) &&
	python3 "$HELPER" flip-byte "sync/$m5" 40 &&
	start_secondary s3 --sync-root sync --deploy-root d1 --poll-ms 100 &&
	wait_for_log s3.log "error: .*snapshots/5\.[a-z]*\.json.*checksum mismatch" &&
	still_on $rel4 &&
	same_tree tree4 d1/current
'

test_expect_success 'a missing archive is refused' '
	python3 "$HELPER" flip-byte "sync/$m5" 40 &&
	"$ARTSYNC" verify --sync-root sync 5 >/dev/null &&
	wait_for 20 "test \"\$(current_version d1)\" = 5" &&
	rel5=$(current_release d1) &&
	make_artifact sequences OnlyInV6 v6 &&
	rm -rf aside && cp -R sync aside &&
	"$ARTSYNC" publish --source src --sync-root aside >out &&
	test "$(cat out)" = 6 &&
	m6=$(own_file aside 6 manifest) && a6=$(own_file aside 6 archive) &&
	cp "aside/$m6" aside/snapshots/6.state.json sync/snapshots/ &&
	cp aside/state.json sync/state.json.tmp &&
	mv sync/state.json.tmp sync/state.json &&
	wait_for_log s3.log "error: .*$a6" &&
	still_on $rel5 &&
	cp "aside/$a6" "sync/$a6.tmp" &&
	mv "sync/$a6.tmp" "sync/$a6" &&
	kill -HUP $pid_s3 &&
	wait_for 20 "test \"\$(current_version d1)\" = 6" &&
	same_tree src d1/current
'

test_expect_success 'SIGTERM stops it with status 0' '
	stop $pid_s3
'

finish
