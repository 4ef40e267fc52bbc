#!/bin/bash
# t85-push: rsync push mode against real rsync daemons on 127.0.0.1.
#
# The primary pushes every version to two targets; a secondary watches each
# target directory, unchanged. One daemon is stopped across two publishes:
# its pushes fail and back off, the other target keeps up, and once the
# daemon is back its target gets the latest version - not the missed one.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: two rsync daemons, a source' '
	port1=$(free_port) && port2=$(free_port) &&
	rsync_daemon 1 && pid_d1=$LAST_PID &&
	rsync_daemon 2 && pid_d2=$LAST_PID &&
	fixture_tree src
'

test_expect_success 'the primary pushes version 1 to both targets' '
	start_primary --source src --sync-root sync --quiet-ms 100 \
		--retry-ms 200 --retry-max-ms 1000 --listen 127.0.0.1:0 \
		--push "rsync://127.0.0.1:$port1/m/gw" \
		--push "rsync://127.0.0.1:$port2/m/" &&
	wait_for 20 "test \"\$(state_version target1/gw)\" = 1" &&
	wait_for 20 "test \"\$(state_version target2)\" = 1" &&
	cmp sync/snapshots/1.tar.zst target1/gw/snapshots/1.tar.zst &&
	cmp sync/snapshots/1.state.json target2/state.json
'

test_expect_success 'a secondary on each target applies it, unchanged' '
	start_secondary s1 --sync-root target1/gw --deploy-root dep1 \
		--poll-ms 100 &&
	start_secondary s2 --sync-root target2 --deploy-root dep2 \
		--poll-ms 100 &&
	wait_for 20 "test \"\$(current_version dep1)\" = 1" &&
	wait_for 20 "test \"\$(current_version dep2)\" = 1" &&
	same_tree src dep1/current && same_tree src dep2/current
'

test_expect_success 'target 2 down: two publishes reach target 1 only' '
	stop "$pid_d2" &&
	make_artifact api Missed m2 &&
	wait_for 20 "test \"\$(state_version target1/gw)\" = 2" &&
	make_artifact api Latest m3 &&
	wait_for 20 "test \"\$(state_version target1/gw)\" = 3" &&
	wait_for 20 "test \"\$(current_version dep1)\" = 3" &&
	same_tree src dep1/current &&
	test "$(state_version target2)" = 1 &&
	test "$(current_version dep2)" = 1
'

test_expect_success 'its pushes fail with the reason and back off' '
	wait_for_log primary.log "push rsync://127.0.0.1:$port2/m/: version [0-9]+ failed \(rsync exit [0-9]+.*retry 3 in" &&
	grep -q "retry 1 in 200 ms" primary.log &&
	grep -q "retry 2 in 400 ms" primary.log &&
	grep -q "retry 3 in 800 ms" primary.log
'

# target_field N FIELD: FIELD of push target N (0-based) in the primary's
# status.
target_field() {
	curl -s "$EP/api/v1/status" | python3 -c "import json, sys; \
print(json.load(sys.stdin)[\"push\"][int(sys.argv[1])][sys.argv[2]])" "$1" "$2"
}

test_expect_success 'the primary'"'"'s status and metrics show each target' '
	listen_port primary.log &&
	wait_for 10 "test \"\$(target_field 0 last_pushed_version)\" = 3" &&
	test "$(target_field 0 state)" = idle &&
	test "$(target_field 1 last_pushed_version)" = 1 &&
	wait_for 10 "test \"\$(target_field 1 state)\" = waiting" &&
	target_field 1 last_error | grep -q "rsync exit" &&
	target_field 1 next_retry_at | grep -q "^20[0-9-]*T" &&
	test "$(target_field 1 tries)" -ge 3 &&
	curl -s "$EP/metrics" >m &&
	grep -qx "artsync_published_version 3" m &&
	grep -qx "artsync_push_last_version{target=\"rsync://127.0.0.1:$port1/m/gw\"} 3" m &&
	grep -qx "artsync_push_up_to_date{target=\"rsync://127.0.0.1:$port2/m/\"} 0" m &&
	grep -q "^artsync_push_failed_tries{target=\"rsync://127.0.0.1:$port2/m/\"} [1-9]" m &&
	"$ARTSYNC" status --endpoint "$EP" >st &&
	grep -q "role: *primary" st
'

test_expect_success 'the primary serves nothing that changes anything' '
	test "$(curl -s -o /dev/null -w %{http_code} -X POST \
		$EP/api/v1/artifacts/api/Latest/undeploy)" = 404 &&
	test "$(curl -s -o /dev/null -w %{http_code} $EP/api/v1/artifacts)" = 404
'

test_expect_success 'back up: target 2 gets the latest version, not the missed one' '
	rsync_daemon 2 &&
	wait_for 20 "test \"\$(state_version target2)\" = 3" &&
	wait_for_log primary.log "pushed version 3 to rsync://127.0.0.1:$port2/m/" &&
	! grep -q "pushed version 2 to rsync://127.0.0.1:$port2/m/" primary.log &&
	wait_for 20 "test \"\$(current_version dep2)\" = 3" &&
	same_tree src dep2/current &&
	wait_for 10 "test \"\$(target_field 1 state)\" = idle" &&
	test "$(target_field 1 last_error)" = None &&
	test "$(target_field 1 tries)" = 0
'

test_expect_success 'a target never holds a state.json naming a missing file' '
	for t in target1/gw target2; do
		v=$(state_version $t) &&
		test -f $t/$(own_file $t $v manifest) &&
		test -f $t/$(own_file $t $v archive) &&
		"$ARTSYNC" verify --sync-root $t >/dev/null || return 1
	done
'

test_expect_success 'bad push targets are refused at start' '
	test_exit_code 2 "$ARTSYNC" primary --source src --sync-root sync \
		--push "-e sh" -n 2>err &&
	grep -q "starts with" err &&
	test_exit_code 2 "$ARTSYNC" primary --source src --sync-root sync \
		--push "nohost" -n 2>err &&
	grep -q "is not" err
'

test_expect_success 'SIGTERM stops everything with status 0' '
	stop "$pid_primary" && stop "$pid_s1" && stop "$pid_s2"
'

finish
