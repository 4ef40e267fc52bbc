#!/bin/bash
# t50-crash: kill -9 a secondary while it applies; current stays complete.
#
# A tree of 2000 generated artifacts; 15 times, ~300 of them change (plus a
# few added and removed), the change is published, and the secondary is
# killed with SIGKILL a random time after it was started (odd rounds) or
# after the publish poked it through inotify (even rounds): 0-80 ms in the
# first five rounds, then anywhere in the last apply's duration. After every kill
# current must resolve to a complete release (its files are exactly those of
# its record, with their checksums); a restart must converge on the source
# and leave nothing behind in .staging/ or releases/.
#
# SEED=N repeats a run's kill moments (the seed is printed).
. "$(dirname "$0")/lib.sh"

ARTIFACTS=2000
ROUNDS=15
CHANGE=300
SEED=${SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$SEED
say "# seed $SEED"

# shellcheck disable=SC2086 # split on purpose: one word per type
set -- $ARTIFACT_TYPES
NTYPES=$#
TYPES=("$@")

# artifact I MARK: the I-th generated artifact, spread over the ten types.
artifact() {
	make_artifact "${TYPES[$(( $1 % NTYPES ))]}" "gen$1" "$2"
}

# change ROUND: CHANGE artifacts from a moving offset get mark ROUND; five
# are removed and five new ones appear (numbered past ARTIFACTS).
change() {
	local r=$1 off=$(( ($1 * 397) % ARTIFACTS )) i
	for i in $(seq 0 $((CHANGE - 1))); do
		artifact $(( (off + i) % ARTIFACTS )) "round-$r" || return 1
	done
	for i in 0 1 2 3 4; do
		rm -f "$SRC/${TYPES[$(( (r * 5 + i) % NTYPES ))]}/gen$(( (off + CHANGE + i * 7) % ARTIFACTS )).xml"
		artifact $(( ARTIFACTS + r * 5 + i )) "round-$r" || return 1
	done
}

sleep_ms() {
	sleep "$(printf '0.%03d' "$1")"
}

test_expect_success "setup: $ARTIFACTS artifacts, published and applied" '
	i=0 &&
	while [ $i -lt $ARTIFACTS ]; do
		artifact $i round-0 || return 1
		i=$((i + 1))
	done &&
	test "$(find src -type f | wc -l)" = $ARTIFACTS &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 1 &&
	start_secondary sec --sync-root sync --deploy-root d --poll-ms 100 &&
	wait_for 20 "test \"\$(current_version d)\" = 1" &&
	same_tree src d/current
'

# What each kill interrupted, for the record (not asserted: it is chance).
killed_before=0		# current still old, nothing being built
killed_building=0	# a partial release in .staging
killed_after=0		# the new version was already current
round=1
while [ $round -le $ROUNDS ]; do
	if [ $((round % 2)) = 1 ]; then how=started; else how=poked; fi
	# The first rounds kill early (0-80 ms); the later ones anywhere in
	# the last apply's duration, so that late steps (rename, swap,
	# retention) are hit too.
	span=80
	if [ $round -gt 5 ]; then
		last_ms=$(grep -E -o "$APPLIED_RE" sec.log |
			tail -n 1 | sed "s/.* in \([0-9]*\) ms/\1/")
		span=$(( ${last_ms:-80} * 13 / 10 ))
		[ $span -ge 80 ] || span=80
	fi
	delay=$((RANDOM % (span + 1)))
	test_expect_success "round $round: kill -9 ${delay} ms after it was $how" '
		if [ $how = started ]; then
			stop $pid_sec &&
			change $round &&
			"$ARTSYNC" publish --source src --sync-root sync >out &&
			start_secondary sec --sync-root sync --deploy-root d \
				--poll-ms 100
		else
			change $round &&
			"$ARTSYNC" publish --source src --sync-root sync >out
		fi &&
		want=$(cat out) &&
		sleep_ms $delay &&
		kill9 $pid_sec &&
		release_is_complete d &&
		got=$(current_version d) &&
		test "$got" -le "$want" &&
		if [ "$got" = "$want" ]; then
			killed_after=$((killed_after + 1))
		elif [ -d d/.staging/build ]; then
			killed_building=$((killed_building + 1))
		else
			killed_before=$((killed_before + 1))
		fi &&
		start_secondary sec --sync-root sync --deploy-root d --poll-ms 100 &&
		wait_for 20 "test \"\$(current_version d)\" = $want" &&
		same_tree src d/current &&
		release_is_complete d
	'
	round=$((round + 1))
done
say "# kills: $killed_before before the build, $killed_building during it," \
	"$killed_after after the swap"

test_expect_success 'a clean start leaves nothing in .staging or releases/' '
	stop $pid_sec &&
	start_secondary final --sync-root sync --deploy-root d --poll-ms 100 &&
	wait_for_log final.log "serving releases/" &&
	leftovers_clean d &&
	same_tree src d/current
'

test_expect_success 'one more version applies after all that, and retention holds' '
	change 99 &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	wait_for 20 "test \"\$(current_version d)\" = $(cat out)" &&
	same_tree src d/current &&
	release_is_complete d &&
	wait_for_log final.log "$(applied_re "$(cat out)")" &&
	leftovers_clean d &&
	stop $pid_final
'

finish
