#!/bin/bash
# t30-reader: a gateway reading DEPLOY_ROOT/current never sees a mix.
#
# Every artifact of generation K carries <property name="m" value="gen-K"/>.
# A reader resolves current once per pass and reads every file of that
# release by path, as Synapse does; 50 rapid publishes, each rewriting every
# artifact, run while three secondaries with --poll-ms 50 apply them (keep 5
# recycling, no recycling, keep 2 recycling), one reader each. A pass that
# sees two generations is a torn read (a "mix"); a pass where a file
# vanished because its release was retired (recycled or deleted) is "gone",
# the documented cost of reading an old release late, and is counted apart.
. "$(dirname "$0")/lib.sh"

GENERATIONS=50
NAMES="alpha beta"

# generation K: every artifact rewritten with gen-K.
generation() {
	local t n
	for t in $ARTIFACT_TYPES; do
		for n in $NAMES; do
			make_artifact "$t" "$n" "gen-$1" || return 1
		done
	done
}

# report FILE: the reader's counts as a TAP comment.
report() {
	python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
print("# %s: %d passes, %d clean, %d mix, %d gone, %d empty, %d generations seen"
      % (sys.argv[2], c["passes"], c["clean"], c["mix"], c["gone"],
         c["empty"], c["generations_seen"]))
for m in c["mix_examples"]:
    print("#   mix in %s: %s" % (m["release"], " ".join(m["marks"])))
' "$1" "$2"
}

count() {
	python3 "$HELPER" json-get "$1" "$2"
}

test_expect_success 'setup: generation 1 of 20 artifacts, published' '
	generation 1 &&
	test "$(find src -name "*.xml" | wc -l)" = 20 &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 1
'

# d1 recycles with the default keep (5), d2 never recycles, d3 recycles
# with the smallest keep (2): a release is reused one swap after it stopped
# being current, so a slow pass there is the likeliest to find it "gone".
test_expect_success 'three secondaries (recycling on, off, keep 2) apply it' '
	start_secondary recycle --sync-root sync --deploy-root d1 --poll-ms 50 &&
	start_secondary norecycle --sync-root sync --deploy-root d2 \
		--poll-ms 50 --recycle-releases no &&
	start_secondary keep2 --sync-root sync --deploy-root d3 \
		--poll-ms 50 --keep-releases 2 &&
	wait_for 20 "test \"\$(current_version d1)\" = 1 &&
		test \"\$(current_version d2)\" = 1 &&
		test \"\$(current_version d3)\" = 1"
'

test_expect_success 'readers start' '
	start_bg reader1 python3 "$HELPER" reader d1 reader1.json stop &&
	start_bg reader2 python3 "$HELPER" reader d2 reader2.json stop &&
	start_bg reader3 python3 "$HELPER" reader d3 reader3.json stop &&
	wait_for 5 "is_running $pid_reader1 && is_running $pid_reader2 &&
		is_running $pid_reader3"
'

test_expect_success "$GENERATIONS rapid publishes, one generation each" '
	k=2 &&
	while [ $k -le $((GENERATIONS + 1)) ]; do
		generation $k &&
		"$ARTSYNC" publish --source src --sync-root sync >out &&
		test "$(cat out)" = $k || return 1
		k=$((k + 1))
	done
'

test_expect_success 'the secondaries end on the last generation' '
	last=$(state_version sync) &&
	test "$last" = $((GENERATIONS + 1)) &&
	wait_for 20 "test \"\$(current_version d1)\" = $last &&
		test \"\$(current_version d2)\" = $last &&
		test \"\$(current_version d3)\" = $last" &&
	same_tree src d1/current &&
	same_tree src d2/current &&
	same_tree src d3/current &&
	grep_file "gen-$last" d1/current/sequences/alpha.xml
'

test_expect_success 'the readers stop and report' '
	: >stop &&
	wait_for 20 "test -f reader1.json && test -f reader2.json &&
		test -f reader3.json" &&
	wait $pid_reader1 && forget_pid $pid_reader1 &&
	wait $pid_reader2 && forget_pid $pid_reader2 &&
	wait $pid_reader3 && forget_pid $pid_reader3
'

report reader1.json "reader on d1 (recycling)"
report reader2.json "reader on d2 (no recycling)"
report reader3.json "reader on d3 (recycling, keep 2)"

test_expect_success 'no pass saw two generations (recycling on)' '
	test "$(count reader1.json mix)" = 0
'

test_expect_success 'no pass saw two generations (recycling off)' '
	test "$(count reader2.json mix)" = 0
'

test_expect_success 'no pass saw two generations (recycling, keep 2)' '
	test "$(count reader3.json mix)" = 0
'

test_expect_success 'the readers made clean passes over several generations' '
	for r in reader1 reader2 reader3; do
		test "$(count $r.json clean)" -gt 0 &&
		test "$(count $r.json generations_seen)" -ge 2 || return 1
	done
'

test_expect_success 'the secondaries applied many of the versions' '
	test "$(grep -E -c "$APPLIED_RE" recycle.log)" -ge 5 &&
	test "$(grep -E -c "$APPLIED_RE" norecycle.log)" -ge 5 &&
	test "$(grep -E -c "$APPLIED_RE" keep2.log)" -ge 5 &&
	grep_file "patched v" recycle.log &&
	grep_file "patched v" keep2.log &&
	! grep -q "patched v" norecycle.log
'

test_expect_success 'retention: at most keep releases, each with its record' '
	for dk in d1:5 d2:5 d3:2; do
		d=${dk%:*} keep=${dk#*:} &&
		n=$(find $d/releases -mindepth 1 -maxdepth 1 -type d | wc -l) &&
		j=$(find $d/releases -mindepth 1 -maxdepth 1 -name "*.json" | wc -l) &&
		test "$n" -le "$keep" && test "$n" = "$j" &&
		release_is_complete $d || return 1
	done
'

test_expect_success 'SIGTERM stops the secondaries with status 0' '
	stop $pid_recycle &&
	stop $pid_norecycle &&
	stop $pid_keep2
'

finish
