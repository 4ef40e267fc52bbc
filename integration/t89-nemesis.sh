#!/bin/bash
# t89-nemesis: three primaries (ha = shared, each on its own bindfs mount
# of one share) and three secondaries, while a writer changes the source
# every 200-500 ms and a nemesis, every 1-3 s after the last, picks one of: kill -9 a
# primary (restarted), SIGSTOP a primary for 1-6 s, SIGSTOP a primary's
# bindfs for 1-6 s (its share stalls), SIGTERM a primary (restarted), or
# restart a primary with ARTSYNC_TEST_STOP_BEFORE_COMMIT=1 (it stops itself
# right before its first commit; the next action continues it: a late
# write). For NEMESIS_SECONDS (30 here; `make nemesis` runs 300).
#
# Then everything is continued, the writer stops, and
# integration/failover-check.py checks the secondaries' logs against the
# share's states: no version with two contents, applied versions strictly
# rising and epochs never going down, nothing applied off the lineage or
# refused as stale_epoch elsewhere; all converge on the source; current
# resolved and /healthz answered 200 on every secondary throughout.
. "$(dirname "$0")/lib.sh"

SECONDS_=${NEMESIS_SECONDS:-30}
SEED=${NEMESIS_SEED:-$$}
RANDOM=$SEED
HA="--ha shared --lease-ms 3000 --renew-ms 500 --takeover-grace-ms 500
--safety-ms 1000 --quiet-ms 100 --retry-ms 500"

unmount_all() {
	local m p
	for m in 1 2 3; do
		eval "p=\${pid_bindfs$m:-}"
		[ -n "$p" ] && kill -CONT "$p" 2>/dev/null
		eval "p=\${pid_p$m:-}"
		[ -n "$p" ] && kill -CONT "$p" 2>/dev/null
	done
	kill_all
	for m in 1 2 3; do
		fusermount -u -z "$TRASH/m$m" 2>/dev/null || true
	done
}
trap 'unmount_all; cleanup' EXIT

start_p() {	# start_p N [ENV...]: primary pN on mount mN
	local n=$1
	shift
	# shellcheck disable=SC2086
	start_bg p$n env "$@" "$ARTSYNC" primary --source src --sync-root m$n \
		--node-id p$n $HA
}

converged() {
	v=$(state_version share) &&
	for d in d1 d2 d3; do
		same_tree src $d/current && test "$(current_version $d)" = "$v" ||
			return 1
	done
}

test_expect_success "setup (seed $SEED): a share, three mounts, three primaries, three secondaries" '
	fixture_tree src &&
	mkdir share &&
	for n in 1 2 3; do
		mkdir m$n &&
		start_bg bindfs$n bindfs -f --no-allow-other share m$n &&
		wait_for 10 "mountpoint -q m$n" || return 1
	done &&
	for n in 1 2 3; do start_p $n || return 1; done &&
	wait_for 20 "test -f share/state.json" &&
	for n in 1 2 3; do
		start_secondary d$n --sync-root share --deploy-root d$n \
			--poll-ms 100 || return 1
	done &&
	eps="" &&
	for n in 1 2 3; do listen_port d$n.log && eps="$eps $EP" || return 1; done &&
	wait_for 60 converged
'

test_expect_success 'a writer and a watcher of current and /healthz start' '
	converged &&
	start_bg writer bash -c "
		RANDOM=$SEED
		ns=\"xmlns=\\\"http://ws.apache.org/ns/synapse\\\"\"
		i=0
		while :; do
			i=\$((i + 1)); n=\$((RANDOM % 12))
			if [ \$((RANDOM % 6)) = 0 ]; then
				rm -f src/sequences/Nem\$n.xml
			else
				printf \"<sequence %s name=\\\"Nem%s\\\"><log><property name=\\\"m\\\" value=\\\"%s\\\"/></log></sequence>\\n\" \"\$ns\" \$n \$i >src/sequences/.Nem\$n.tmp &&
				mv src/sequences/.Nem\$n.tmp src/sequences/Nem\$n.xml
			fi
			sleep 0.\$((2 + RANDOM % 4))
		done" &&
	start_bg watcher bash -c "
		while :; do
			for ep in $eps; do
				curl -sf -o /dev/null \$ep/healthz || echo \"\$(date +%T.%N) \$ep healthz\" >>$TRASH/bad
			done
			for d in d1 d2 d3; do
				test -d $TRASH/\$d/current/api || echo \"\$(date +%T.%N) \$d current\" >>$TRASH/bad
			done
			sleep 0.2
		done"
'

# cont_all: every bindfs and primary of ours that is stopped goes on.
cont_all() {
	local m p
	for m in 1 2 3; do
		for p in $(eval echo "\$pid_bindfs$m \$pid_p$m"); do
			is_ours $p && kill -CONT $p 2>/dev/null
		done
	done
	return 0
}

# One nemesis action on a random primary N; all else stopped is continued.
act() {
	local n=$((1 + RANDOM % 3)) d=$((1 + RANDOM % 6)) p b
	cont_all
	eval "p=\$pid_p$n b=\$pid_bindfs$n"
	case $((RANDOM % 5)) in
	0) echo "kill -9 p$n" && kill9 $p && sleep 0.$((RANDOM % 9)) && start_p $n ;;
	1) echo "stop p$n ${d}s" && kill -STOP $p && sleep $d && kill -CONT $p ;;
	2) echo "stall m$n ${d}s" && kill -STOP $b && sleep $d && kill -CONT $b ;;
	3) echo "term p$n" && { stop $p || true; } && start_p $n ;;
	4) echo "p$n stops before its commit" && kill9 $p && echo $n >>hooked &&
		start_p $n ARTSYNC_TEST_STOP_BEFORE_COMMIT=1 ;;
	esac
}

test_expect_success "the nemesis, $SECONDS_ s" '
	end=$(( $(date +%s) + SECONDS_ )) &&
	while [ "$(date +%s)" -lt $end ]; do
		act >>actions 2>&1 || { tail actions; return 1; }
		sleep $((1 + RANDOM % 3))
	done &&
	wc -l <actions >nactions
'

test_expect_success 'all continued, the writer stopped: the secondaries converge on the source' '
	kill9 $pid_writer &&
	cont_all &&
	for n in $(sort -u hooked 2>/dev/null); do
		eval "kill9 \$pid_p$n" && start_p $n || return 1
	done &&
	for m in 1 2 3; do
		eval "p=\$pid_p$m" && { is_running $p || start_p $m; } || return 1
	done &&
	wait_for 60 converged
'

test_expect_success 'the invariants hold; current and /healthz stayed good' '
	kill9 $pid_watcher &&
	"$PYTHON" "$TEST_DIR/failover-check.py" share d1.log d2.log d3.log >check &&
	cat check &&
	{ test ! -s bad || { cat bad; false; }; } &&
	for d in d1 d2 d3; do release_is_complete $d || return 1; done
'

test_expect_success 'everything stops cleanly' '
	cont_all &&
	for n in p1 p2 p3 d1 d2 d3; do
		eval "p=\$pid_$n" &&
		{ ! is_running $p || stop $p; } || return 1
	done
'

if [ -f check ]; then
	say "# nemesis: $(cat nactions 2>/dev/null) actions in $SECONDS_ s (seed $SEED); $(ls share/epochs | wc -l) epochs"
	sed -n 's/^# failover-check: /# /p' check
fi

finish
