#!/bin/bash
# t84-pin: a rollback that sticks, and pin/unpin (docs/failover.md).
#
# With two primaries (ha = shared): `artsync rollback` only writes the pin,
# and the leader publishes the old content again as the newest version;
# while pinned no primary publishes a source change - not the leader, not
# the one that takes over after a kill -9 - and status, metrics and the
# log say so; `publish` refuses, saying how to unpin. `unpin` lets the
# leader publish the source at once. With one primary (ha = off), `pin
# VERSION` makes the running primary publish VERSION's content again.
. "$(dirname "$0")/lib.sh"

HA="--ha shared --lease-ms 3000 --renew-ms 500 --takeover-grace-ms 500
--safety-ms 1000 --quiet-ms 100 --retry-ms 500"

start_ha() {
	local name=$1 n
	n=$(grep -c "listening on" "$name.log" 2>/dev/null)
	# shellcheck disable=SC2086
	start_bg "$name" "$ARTSYNC" primary --source src --sync-root sync \
		--node-id "$name" --listen 127.0.0.1:0 $HA &&
	wait_for 20 "test \$(grep -c \"listening on\" $name.log) -gt ${n:-0}" &&
	listen_port "$name.log" &&
	eval "port_$name=$port"
}

holder() {
	sed -n 's/^  "node_id": "\(.*\)",$/\1/p' sync/lease.json 2>/dev/null
}

at() {	# at DIR VERSION-TREE: d1 serves exactly that tree at state.json's version
	same_tree "$2" "$1/current" &&
	test "$(current_version "$1")" = "$(state_version sync)"
}

test_expect_success 'setup: two primaries, a secondary, versions 1 and 2' '
	fixture_tree src &&
	start_ha pa && start_ha pb &&
	wait_for 20 "test -f sync/state.json" &&
	start_secondary d1 --sync-root sync --deploy-root d1 --poll-ms 100 &&
	wait_for 20 "at d1 src" &&
	v1=$(state_version sync) &&
	cp -R src tree1 &&
	make_artifact api Second 2 &&
	wait_for 20 "at d1 src && test \$(state_version sync) -gt $v1"
'

test_expect_success 'rollback with ha: the pin is written, the leader publishes version 1 again' '
	v2=$(state_version sync) &&
	"$ARTSYNC" rollback --sync-root sync --to $v1 $HA >out 2>err &&
	test "$(cat out)" = "pinned $v1" &&
	grep_file "the leading primary publishes" err &&
	wait_for 20 "test \$(state_version sync) -gt $v2 && at d1 tree1" &&
	lead=$(holder) &&
	wait_for_log $lead.log "pinned to version $v1 by" &&
	wait_for_log $lead.log "version $v1.s content published again"
'

test_expect_success 'while pinned: a source change is not published; status and metrics say so' '
	vr=$(state_version sync) &&
	make_artifact api WhilePinned 1 &&
	sleep 1.5 &&
	test "$(state_version sync)" = "$vr" &&
	eval "curl -sf http://127.0.0.1:\$port_$lead/api/v1/status" >s &&
	grep_file "\"pinned\":\\{\"version\":$v1" s &&
	eval "curl -sf http://127.0.0.1:\$port_$lead/metrics" >m &&
	grep_file "^artsync_pinned 1" m &&
	grep_file "^artsync_pinned_version $v1" m
'

test_expect_success 'publish refuses on a pinned sync root, and beside a leader' '
	test_exit_code 1 "$ARTSYNC" publish --source src --sync-root sync \
		>out 2>err &&
	grep_file "pinned to version $v1 .*artsync unpin .*--unpin" err &&
	test_exit_code 1 "$ARTSYNC" publish --source src --sync-root sync \
		$HA >out 2>err &&
	grep_file "ha = shared: only the leading primary publishes" err &&
	test "$(state_version sync)" = "$vr"
'

test_expect_success 'the pin sticks across a takeover (kill -9 of the leader)' '
	eval "pid=\$pid_$lead" &&
	kill9 $pid &&
	wait_for 10 "test \"\$(holder)\" != $lead" &&
	new=$(holder) &&
	wait_for_log $new.log "pinned to version $v1 by" &&
	sleep 1 &&
	test "$(state_version sync)" = "$vr" &&
	at d1 tree1 &&
	start_ha $lead
'

test_expect_success 'unpin: the leader publishes the source at once' '
	"$ARTSYNC" unpin --sync-root sync >out &&
	test "$(cat out)" = unpinned &&
	test ! -e sync/pin.json &&
	wait_for 20 "test \$(state_version sync) -gt $vr && at d1 src" &&
	test -f d1/current/api/WhilePinned.xml &&
	wait_for_log $new.log "unpinned: publishing the source again"
'

# Its own sync root: a secondary that has seen epochs refuses states
# without one (docs/failover.md, "Leaving failover").
test_expect_success 'pin VERSION with one primary (ha off): it publishes that content again' '
	stop $pid_pa && stop $pid_pb &&
	rm -rf src && cp -R tree1 src &&
	start_bg solo "$ARTSYNC" primary --source src --sync-root solo \
		--quiet-ms 100 &&
	wait_for 20 "test -f solo/state.json" &&
	start_secondary d2 --sync-root solo --deploy-root d2 --poll-ms 100 &&
	wait_for 20 "same_tree tree1 d2/current" &&
	s1=$(state_version solo) &&
	make_artifact api SoloSecond 1 &&
	wait_for 20 "same_tree src d2/current" &&
	vs=$(state_version solo) &&
	"$ARTSYNC" pin --sync-root solo $s1 >out &&
	test "$(cat out)" = "pinned $s1" &&
	wait_for 20 "test \$(state_version solo) -gt $vs && same_tree tree1 d2/current" &&
	make_artifact api SoloPinned 1 &&
	sleep 1.5 &&
	test ! -e d2/current/api/SoloPinned.xml &&
	"$ARTSYNC" unpin --sync-root solo >out &&
	wait_for 20 "same_tree src d2/current" &&
	test -f d2/current/api/SoloPinned.xml
'

test_expect_success 'pin refuses a version that is not there' '
	test_exit_code 1 "$ARTSYNC" pin --sync-root solo 999 >out 2>err &&
	grep_file "above the latest" err &&
	test ! -e solo/pin.json
'

finish
