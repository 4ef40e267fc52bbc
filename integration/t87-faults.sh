#!/bin/bash
# t87-faults: failover (ha = shared) under the faults of the design's T4,
# T5 and T8 (docs/failover.md), each primary on its own bindfs mount of
# one share, as two NFS clients would be.
#
# The leader's share stalls (SIGSTOP of its own bindfs daemon) while a
# change is being published: the standby takes over through its mount;
# when the stall ends, whatever the stalled leader had queued lands, and
# it steps down; no secondary applies a version of the deposed epoch above
# the new seal, and all converge. A standby whose clock runs ten times too
# fast (faketime, monotonic clock included) takes over from a live leader:
# the leader steps down at its next renewal, and nothing forks. A fresh
# secondary started in the middle of a takeover applies only the lineage.
. "$(dirname "$0")/lib.sh"

HA="--ha shared --lease-ms 3000 --renew-ms 500 --takeover-grace-ms 500
--safety-ms 1000 --quiet-ms 100 --retry-ms 500"

# The mounts go whatever happens (a stopped bindfs is continued first).
unmount_all() {
	local m
	for m in m1 m2; do
		eval "p=\${pid_bindfs_$m:-}"
		[ -n "$p" ] && kill -CONT "$p" 2>/dev/null
		fusermount -u -z "$TRASH/$m" 2>/dev/null || true
	done
}
trap 'unmount_all; cleanup' EXIT

# mount_share M: bindfs of share on M, in the foreground (its PID is ours
# to stop), once the mount answers.
mount_share() {
	mkdir -p "$1" &&
	start_bg "bindfs_$1" bindfs -f --no-allow-other share "$1" &&
	wait_for 10 "mountpoint -q $1"
}

# start_on NAME MOUNT [ARGS]: primary NAME publishing through MOUNT.
start_on() {
	local name=$1 mnt=$2
	shift 2
	# shellcheck disable=SC2086
	start_bg "$name" "$@" "$ARTSYNC" primary --source src --sync-root "$mnt" \
		--node-id "$name" $HA
}

lease_field() {
	sed -n "s/^  \"$1\": \"*\([^\",]*\)\"*,*\$/\1/p" share/lease.json 2>/dev/null
}

converged() {
	v=$(state_version share) &&
	for d in d1 d2; do
		same_tree src $d/current && test "$(current_version $d)" = "$v" ||
			return 1
	done
}

# lineage_only LOG: every version LOG applied is on the lineage of the
# share's states: none of an epoch below a later epoch's seal... above it.
lineage_only() {
	"$PYTHON" "$TEST_DIR/failover-check.py" share "$@"
}

test_expect_success 'setup: a share, two bindfs mounts, two primaries, two secondaries' '
	fixture_tree src &&
	mkdir share &&
	mount_share m1 && mount_share m2 &&
	start_on pa m1 &&
	wait_for 20 "test \"\$(lease_field node_id)\" = pa && test -f share/state.json" &&
	start_on pb m2 &&
	wait_for_log pb.log "standing by; pa holds epoch 1" &&
	start_secondary d1 --sync-root share --deploy-root d1 --poll-ms 100 &&
	start_secondary d2 --sync-root share --deploy-root d2 --poll-ms 100 &&
	listen_port d1.log && ep1=$EP && listen_port d2.log && ep2=$EP &&
	wait_for 20 converged
'

test_expect_success 'the leader s share stalls mid-publish: the standby takes over; the stall ends, it steps down' '
	e0=$(lease_field epoch) &&
	kill -STOP $pid_bindfs_m1 &&
	make_artifact api DuringStall 1 &&
	wait_for 15 "test \"\$(lease_field node_id)\" = pb && test \"\$(lease_field epoch)\" -gt $e0" &&
	wait_for 20 "converged && test -f d1/current/api/DuringStall.xml" &&
	curl -sf $ep1/healthz >/dev/null && curl -sf $ep2/healthz >/dev/null &&
	kill -CONT $pid_bindfs_m1 &&
	wait_for_log pa.log "stepping down from epoch $e0" 10 &&
	make_artifact api AfterStall 1 &&
	wait_for 20 "converged && test -f d2/current/api/AfterStall.xml" &&
	test "$(lease_field node_id)" = pb &&
	lineage_only d1.log d2.log
'

test_expect_success 'a fresh secondary started during a takeover applies only the lineage' '
	e0=$(lease_field epoch) &&
	kill9 $pid_pb &&
	make_artifact api MidTakeover 1 &&
	start_secondary d3 --sync-root share --deploy-root d3 --poll-ms 100 &&
	wait_for 15 "test \"\$(lease_field epoch)\" -gt $e0" &&
	wait_for 20 "same_tree src d3/current && converged" &&
	start_on pb m2 &&
	lineage_only d1.log d2.log d3.log
'

# libfaketime preloaded by env, which execs: the PID is the primary's own
# (the faketime wrapper would take SIGTERM for itself). Under ASan (make
# test's second pass) its runtime then comes second: allowed.
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -n 1)

test_expect_success 'a standby whose clock runs ten times too fast: step-downs, no fork' '
	test -n "$FAKETIME_LIB" &&
	lead=$(lease_field node_id) &&
	case $lead in pa) other=pb ;; *) other=pa ;; esac &&
	eval "stop \$pid_$other" &&
	m=m1 && { [ $other = pa ] || m=m2; } &&
	start_on $other $m env LD_PRELOAD="$FAKETIME_LIB" FAKETIME="+0 x10" \
		FAKETIME_DONT_RESET=1 ASAN_OPTIONS=verify_asan_link_order=0 &&
	wait_for 20 "test \"\$(lease_field node_id)\" = $other" &&
	wait_for_log $lead.log "stepping down" 10 &&
	make_artifact api FastClock 1 &&
	wait_for 20 "converged && test -f d1/current/api/FastClock.xml" &&
	lineage_only d1.log d2.log d3.log
'

test_expect_success 'everything stops cleanly' '
	for n in pa pb d1 d2 d3; do
		eval "p=\$pid_$n" &&
		{ ! is_running $p || stop $p; } || return 1
	done
'

finish
