#!/bin/bash
# t47-refusals: what a refusal costs, and which refusals are final.
#
# A refusal for what verified files hold is final, and remembered by the
# state record that named them: a forged version whose manifest lists a
# million artifacts (149 MB, under the manifest cap) is read and parsed
# once; after that each poll costs one state.json read - the secondary's
# CPU stays near zero and /healthz answers at once (it used to parse the
# manifest again at every poll: 61 % of a core, /healthz up to 5.8 s).
#
# A failure that may be a concurrent write is never final: an archive whose
# first bytes are rewritten in place while the secondary reads it (after its
# first pass matched, before the second: libarchive cannot even open it) is
# applied once the write is over, at the next poll.
#
# Refusals are counted by the code the library set, not by the words of
# the message: a signature file that is not one is a bad signature.
. "$(dirname "$0")/lib.sh"

# cpu_ticks PID: utime + stime of PID, in clock ticks.
cpu_ticks() {
	local s
	s=$(<"/proc/$1/stat") || return 1
	s=${s##*) }
	set -- $s
	echo $(( ${12} + ${13} ))
}

rejects() {
	curl -sf "$EP/metrics" >metrics &&
	awk -v k="artsync_rejects_total{reason=\"$1\"}" \
		'$1 == k { print $2; found = 1 } END { exit !found }' metrics
}

test_expect_success 'setup: version 1 applied' '
	one_secondary_on_v1
'

test_expect_success 'a manifest of a million artifacts is refused once' '
	printf "{\"listed\": {\"count\": 1000000}}\n" >big.json &&
	"$PYTHON" "$HELPER" forge sync big.json >out &&
	test "$(cat out)" = 2 &&
	test "$(stat -c %s sync/snapshots/2.manifest.json)" -gt 140000000 &&
	wait_for_log s1.log "version 2: not tried again" 60 &&
	test "$(current_version d1)" = 1
'

test_expect_success 'then each poll reads state.json only: no CPU to speak of' '
	sleep 1 &&
	t0=$(cpu_ticks $pid_s1) && sleep 5 && t1=$(cpu_ticks $pid_s1) &&
	hz=$(getconf CLK_TCK) &&
	say "cpu over 5 s: $((t1 - t0)) ticks of $((5 * hz))" &&
	test $((t1 - t0)) -lt $((5 * hz / 10))
'

test_expect_success '/healthz answers at once meanwhile' '
	worst=0 && i=0 &&
	while [ $i -lt 20 ]; do
		t=$(curl -s -o /dev/null -w "%{time_total}" "$EP/healthz") &&
		ms=$(awk -v t="$t" "BEGIN { printf \"%d\", t * 1000 }") &&
		{ [ "$ms" -le "$worst" ] || worst=$ms; } &&
		sleep 0.1 && i=$((i + 1)) || return 1
	done &&
	say "worst /healthz: $worst ms" &&
	test "$worst" -lt 300 &&
	test "$(grep -c "version 2 refused" s1.log)" = 1
'

test_expect_success 'SIGHUP tries it again, once' '
	kill -HUP $pid_s1 &&
	wait_for 60 "test \"\$(grep -c \"version 2: not tried again\" s1.log)\" = 2" &&
	test "$(current_version d1)" = 1
'

test_expect_success 'an archive rewritten in place between its two reads: retried, then applied' '
	printf "{\"base_version\": 1, \"pad\": 268435456}\n" >pad.json &&
	start_bg writer "$PYTHON" "$HELPER" write-in-pass $pid_s1 \
		sync/snapshots/3.tar.zst 60 &&
	"$PYTHON" "$HELPER" forge sync pad.json >out &&
	v=$(cat out) && test "$v" = 3 &&
	wait_for_log writer.log rewritten 60 &&
	wait_for 20 "test \"\$(current_version d1)\" = 3" &&
	same_tree src d1/current &&
	grep_file "version 3 refused: .*changed while it was read" s1.log &&
	! grep -q "version 3: not tried again" s1.log
'

test_expect_success 'a .sig file that is not one: counted as bad_signature' '
	stop $pid_s1 &&
	before=$(current_release d1) &&
	"$ARTSYNC" keygen --out key >/dev/null 2>&1 &&
	make_artifact api Signed 1 &&
	"$ARTSYNC" publish --source src --sync-root sync --signing-key key >out &&
	v=$(cat out) &&
	printf "untrusted comment: x\nnot base64 at all\n" \
		>"sync/snapshots/$v.state.sig" &&
	start_secondary s2 --sync-root sync --deploy-root d1 --poll-ms 100 \
		--public-key key.pub &&
	listen_port s2.log &&
	wait_for_log s2.log "error: .*$v\.state\.sig: signature: not" &&
	test "$(rejects bad_signature)" = 1 &&
	test "$(rejects other)" = 0 &&
	test "$(current_release d1)" = "$before"
'

test_expect_success 'everything stops cleanly' '
	stop $pid_s2
'

finish
