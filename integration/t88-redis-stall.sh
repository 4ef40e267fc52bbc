#!/bin/bash
# t88-redis-stall: a Redis that stalls (SIGSTOP of redis-server: connections
# open, nothing answered) never stops a daemon's loop, because every Redis
# call runs on the daemon's worker thread (agent/redis_worker.h). During the
# stall a secondary and the primary answer REST within 1 s, a secondary
# stops on SIGTERM at once; after SIGCONT the secondary catches up to the
# version published meanwhile. And since the worker also brings a new
# stage up to the store, a primary publishes nothing before that is done:
# a change made while no primary ran is published above the store.
. "$(dirname "$0")/lib.sh"

# answers_fast URL: any HTTP answer within 1 s (000: none in time).
answers_fast() {
	local code
	code=$(curl -s -o /dev/null -w "%{http_code}" --max-time 1 "$1")
	test "$code" != 000 || { say "$1: no answer within 1 s" >&2; return 1; }
}

test_expect_success 'setup: redis, a primary, two secondaries on version 1' '
	rport=$(free_port) && start_redis redis "$rport" && pid_r=$LAST_PID &&
	R=redis://127.0.0.1:$rport && fixture_tree src &&
	start_primary --source src --sync-root "$R" --redis-stage stage \
		--quiet-ms 100 --retry-ms 200 --retry-max-ms 400 --poll-ms 200 \
		--listen 127.0.0.1:0 &&
	listen_port primary.log && EPP=$EP &&
	start_secondary s1 --sync-root "$R" --deploy-root d1 --poll-ms 300 &&
	listen_port s1.log && EP1=$EP && pid_s1=$LAST_PID &&
	start_secondary s2 --sync-root "$R" --deploy-root d2 --poll-ms 300 &&
	pid_s2=$LAST_PID &&
	wait_for 20 "test \"\$(current_version d1)\" = 1" &&
	wait_for 20 "test \"\$(current_version d2)\" = 1"
'

test_expect_success 'redis stopped: REST answers within 1 s throughout' '
	kill -STOP "$pid_r" &&
	make_artifact api Stalled st1 &&
	wait_for_log primary.log "published version 2" &&
	for i in 1 2 3 4 5 6 7 8; do
		answers_fast "$EP1/healthz" &&
		answers_fast "$EP1/api/v1/status" &&
		answers_fast "$EPP/healthz" || return 1
		sleep 0.4
	done &&
	test "$(current_version d1)" = 1
'

test_expect_success 'redis stopped: SIGTERM stops a secondary at once' '
	t0=$(date +%s%N) && stop "$pid_s2" && t1=$(date +%s%N) &&
	say "s2 stopped in $(( (t1 - t0) / 1000000 )) ms" &&
	test $(( (t1 - t0) / 1000000 )) -lt 3000
'

test_expect_success 'redis back: the secondary catches up to version 2' '
	kill -CONT "$pid_r" &&
	wait_for 30 "test \"\$(current_version d1)\" = 2" &&
	same_tree src d1/current &&
	wait_for_log primary.log "version 2 committed"
'

test_expect_success 'a new stage: the first publish waits until it is up to the store' '
	stop "$pid_primary" &&
	make_artifact api Offline off1 &&
	start_bg p2 "$ARTSYNC" primary --source src --sync-root "$R" \
		--redis-stage stage-new --quiet-ms 100 --poll-ms 200 &&
	wait_for_log p2.log "version 3 committed" &&
	wait_for 30 "test \"\$(current_version d1)\" = 3" &&
	same_tree src d1/current
'

test_expect_success 'daemons stop cleanly' '
	stop "$pid_s1" && stop "$pid_p2"
'

finish
