#!/bin/bash
# t87-redis-sentinel: a Redis sync root found through a real redis-sentinel,
# across a failover.
#
# A master and its replica on free loopback ports, one sentinel watching
# them (quorum 1, down after 1 s). A primary and a secondary know only the
# sentinel and the master's name. The master is stopped: the sentinel
# promotes the replica, the primary finds it and commits there, the
# secondary resubscribes there and applies the next version, byte for byte.
. "$(dirname "$0")/lib.sh"

role_of() {
	redis-cli -p "$1" role | head -n 1
}

test_expect_success 'setup: a master, its replica, a sentinel' '
	pa=$(free_port) && pb=$(free_port) && ps=$(free_port) &&
	start_redis ra "$pa" && pid_ra=$LAST_PID &&
	start_redis rb "$pb" --replicaof 127.0.0.1 "$pa" && pid_rb=$LAST_PID &&
	wait_for 20 "redis-cli -p $pb info replication | grep -q master_link_status:up" &&
	mkdir -p sdir &&
	printf "%s\n" "port $ps" "bind 127.0.0.1" "dir $TRASH/sdir" \
		"sentinel monitor m 127.0.0.1 $pa 1" \
		"sentinel down-after-milliseconds m 1000" \
		"sentinel failover-timeout m 10000" >sentinel.conf &&
	start_bg sentinel redis-sentinel "$TRASH/sentinel.conf" &&
	wait_for 20 "redis-cli -p $ps sentinel replicas m | grep -q $pb" &&
	fixture_tree src
'

test_expect_success 'primary and secondary find the master through the sentinel' '
	R="redis://127.0.0.1:1" &&
	start_primary --source src --sync-root "$R" --redis-stage stage \
		--redis-sentinels "127.0.0.1:$ps" --redis-master m \
		--quiet-ms 100 --retry-ms 200 --retry-max-ms 500 --poll-ms 200 &&
	start_secondary s1 --sync-root "$R" --deploy-root d1 --poll-ms 3600000 \
		--redis-sentinels "127.0.0.1:$ps" --redis-master m &&
	wait_for 20 "test \"\$(current_version d1)\" = 1" &&
	same_tree src d1/current &&
	test "$(redis-cli -p "$pb" get artsync:default:version)" = 1
'

test_expect_success 'the master stops: the replica is promoted, both follow' '
	stop "$pid_ra" &&
	wait_for 30 "test \"\$(role_of $pb)\" = master" &&
	make_artifact api AfterFailover f1 &&
	wait_for 30 "test \"\$(redis-cli -p $pb get artsync:default:version)\" = 2" &&
	wait_for 30 "test \"\$(current_version d1)\" = 2" &&
	same_tree src d1/current &&
	grep_file "version 2 committed" primary.log
'

test_expect_success 'a change after the failover arrives by notification' '
	make_artifact api Second s2 &&
	wait_for 30 "test \"\$(current_version d1)\" = 3" &&
	same_tree src d1/current
'

test_expect_success 'daemons stop cleanly' '
	stop "$pid_primary" && stop "$pid_s1"
'

finish
