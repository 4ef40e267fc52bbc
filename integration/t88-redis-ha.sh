#!/bin/bash
# t88-redis-ha: ha = redis, fencing in the store. Two primaries on the same
# source, each with its own stage: the one holding the lease commits, the
# other stands by; when the holder stops (its lease released) or is frozen
# past its lease (SIGSTOP), the other takes a higher epoch and commits,
# and a secondary follows without ever going back.
. "$(dirname "$0")/lib.sh"

rcli() {
	redis-cli -p "$rport" "$@"
}

# primary_ha NAME: a primary with ha = redis, node NAME, stage stage-NAME.
primary_ha() {
	start_bg "$1" "$ARTSYNC" primary --source src --sync-root "$R" \
		--redis-stage "stage-$1" --node-id "$1" --quiet-ms 100 \
		--retry-ms 200 --retry-max-ms 400 --poll-ms 200 \
		--ha redis --redis-lease-ms 1500
}

test_expect_success 'setup: redis, a source, a secondary' '
	rport=$(free_port) && start_redis redis "$rport" &&
	R=redis://127.0.0.1:$rport && fixture_tree src &&
	start_secondary s1 --sync-root "$R" --deploy-root d1 --poll-ms 300
'

test_expect_success 'one primary holds the lease and commits; the other stands by' '
	primary_ha pa && pid_a=$LAST_PID &&
	wait_for_log pa.log "lease taken, epoch 1" &&
	primary_ha pb && pid_b=$LAST_PID &&
	wait_for_log pb.log "standby: the lease is held by 1 pa" &&
	wait_for 20 "test \"\$(current_version d1)\" = 1" &&
	same_tree src d1/current &&
	test "$(rcli get artsync:default:lease)" = "1 pa"
'

test_expect_success 'only the holder commits a change' '
	make_artifact api One o1 &&
	wait_for 20 "test \"\$(current_version d1)\" = 2" &&
	same_tree src d1/current &&
	wait_for_log pb.log "published version 2" &&
	! grep -q "committed" pb.log
'

test_expect_success 'the holder stops: the standby takes epoch 2 and commits' '
	stop "$pid_a" &&
	wait_for_log pb.log "lease taken, epoch 2" &&
	make_artifact api Two t2 &&
	wait_for 20 "test \"\$(current_version d1)\" = 3" &&
	same_tree src d1/current &&
	test "$(rcli get artsync:default:lease)" = "2 pb" &&
	grep_file "committed" pb.log
'

test_expect_success 'the holder frozen past its lease: the other takes over, no one goes back' '
	primary_ha pa && pid_a=$LAST_PID &&
	wait_for_log pa.log "standby: the lease is held by 2 pb" &&
	kill -STOP "$pid_b" &&
	wait_for_log pa.log "lease taken, epoch 3" &&
	make_artifact api Three t3 &&
	wait_for 20 "test \"\$(current_version d1)\" = 4" &&
	same_tree src d1/current &&
	wait_for_log s1.log "$(applied_re 4)" && n=$(wc -l <s1.log) &&
	kill -CONT "$pid_b" &&
	wait_for_log pb.log "standby: the lease is held by 3 pa" &&
	make_artifact api Four f4 &&
	wait_for 20 "test \"\$(current_version d1)\" = 5" &&
	same_tree src d1/current &&
	test "$(rcli get artsync:default:lease)" = "3 pa" &&
	tail -n "+$((n + 1))" s1.log >since &&
	! grep -E "\(version [1-4]\) live" since
'

test_expect_success 'a one-shot publish is refused under ha = redis' '
	test_exit_code 1 "$ARTSYNC" publish --source src --sync-root "$R" \
		--redis-stage stage-x --ha redis 2>err &&
	grep_file "lease" err
'

test_expect_success 'daemons stop cleanly' '
	stop "$pid_a" && stop "$pid_b" && stop "$pid_s1"
'

finish
