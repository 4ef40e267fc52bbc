#!/bin/bash
# t88-redis-ha: ha = redis, fencing in the store. Two primaries on the same
# source, each with its own stage: the one holding the lease commits, the
# other stands by; when the holder stops (its lease released), is frozen
# past its lease (SIGSTOP) or killed (SIGKILL, the lease left to expire),
# the other takes a higher epoch and commits, and a secondary follows
# without ever going back; the killed one, restarted, stands by. A stage
# brought up to the store (a new one, a takeover's) retires no blob key
# within keep_grace_ms: a secondary may still be fetching it.
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

# applied_since LOG N: the versions LOG says were applied after line N, in
# order, into "applied"; they must never go down.
applied_since() {
	tail -n "+$(($2 + 1))" "$1" |
		sed -n -E "s/.*\(version ([0-9]+)\) live in.*/\1/p" >applied &&
	sort -n -c applied
}

test_expect_success 'the holder killed mid-run: the standby takes over once the lease expires' '
	n=$(wc -l <s1.log) && v0=$(current_version d1) &&
	make_artifact api Five f5 &&
	kill9 "$pid_a" &&
	wait_for_log pb.log "lease taken, epoch 4" &&
	make_artifact api Six s6 &&
	wait_for 20 "same_tree src d1/current >/dev/null 2>&1" &&
	test "$(rcli get artsync:default:lease)" = "4 pb" &&
	test "$(current_version d1)" -gt "$v0" &&
	applied_since s1.log "$n"
'

test_expect_success 'the killed holder, restarted, stands by and commits nothing' '
	n=$(wc -l <s1.log) && na=$(wc -l <pa.log) &&
	primary_ha pa && pid_a=$LAST_PID &&
	wait_for_log pa.log "standby: the lease is held by 4 pb" &&
	make_artifact api Seven s7 &&
	wait_for 20 "same_tree src d1/current >/dev/null 2>&1" &&
	tail -n "+$((na + 1))" pa.log >pa.since &&
	! grep -q "committed" pa.since &&
	test "$(rcli get artsync:default:lease)" = "4 pb" &&
	applied_since s1.log "$n"
'

test_expect_success 'a re-staged primary retires no blob key within keep_grace_ms' '
	ret() { "$ARTSYNC" publish --source src --sync-root "$R" \
		--cluster-id ret --keep-versions 2 "$@" >out; } &&
	key=artsync:ret:snapshots/2.state.json &&
	ret --redis-stage stage-r1 && make_artifact api R2 r2 &&
	ret --redis-stage stage-r1 && make_artifact api R3 r3 &&
	ret --redis-stage stage-r1 && test "$(cat out)" = 3 &&
	test "$(rcli exists $key)" = 1 &&
	make_artifact api R4 r4 &&
	ret --redis-stage stage-r2 && test "$(cat out)" = 4 &&
	test -f stage-r2/.redis-restaged &&
	test "$(rcli exists $key)" = 1 &&
	make_artifact api R5 r5 &&
	ret --redis-stage stage-r2 --keep-grace-ms 0 && test "$(cat out)" = 5 &&
	test "$(rcli exists $key)" = 0
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
