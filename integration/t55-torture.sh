#!/bin/bash
# t55-torture: kill -9 publishers and secondaries at random moments, while a
# reader checks, all the while, that nothing a gateway or a secondary can
# see is ever incomplete.
#
# A generated tree (scripts/gen-tree, real artifacts renamed) and two
# secondaries (d1 recycles releases with keep 3, d2 never recycles). Each
# round makes a big change (10-60% of the artifacts rewritten, five added,
# five removed) and kills one process with SIGKILL, in turn:
#	publish     the one-shot `artsync publish` of the change
#	primary     an `artsync primary` daemon publishing the change
#	prim-start  a primary started over the changed tree (it publishes at
#	            start)
#	sec-poked   a secondary applying the change (d1 and d2 in turn), timed
#	            from the moment the publish that pokes it ends
#	sec-start   a secondary started with the change waiting for it
# at a moment chosen, in turn, three ways: a short delay (0-3 ms), a delay
# anywhere in the last such operation's duration (x1.3), or the moment a
# file of the step to hit appears (a snapshot file being written, a temp
# file before its rename, .staging/build, current.tmp), so that kills land
# inside the write/fsync/rename windows and not only between them. The
# killer is a helper that is ready before the victim starts, so even 0 ms
# means 0 ms.
#
# After each kill: the sync root's latest version verifies, both current
# links resolve to complete releases, the agent restarts and the cluster
# converges (both secondaries at the latest version, byte for byte equal to
# the source). Through all of it a reader (helper.py torture-reader) loops:
# each current must resolve to a release whose files are exactly its
# record's (size and XXH128, by `xxhsum -H2`) and whose record is exactly
# what the sync root published as that version, and `artsync verify` must
# pass on whatever state.json names. A release retired while the reader
# reads it (recycled or deleted, its name gone) is counted "gone", not a
# violation: that is the documented fate of an old release.
#
# TORTURE_KILLS=N kills delivered to a live process (default 20; `make
# torture`: 200), TORTURE_ARTIFACTS=N the tree (default 500), SEED=N repeats
# a run's choices (printed). The counts table ends the output.
. "$(dirname "$0")/lib.sh"

KILLS=${TORTURE_KILLS:-20}
ARTIFACTS=${TORTURE_ARTIFACTS:-500}
SEED=${SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$SEED
say "# seed $SEED, $KILLS kills, $ARTIFACTS artifacts"

MODES=(publish primary sec-poked prim-start sec-start sec-poked)
HOWS=(short span event)
QUIET_MS=200

# Durations last seen (ms), for the "span" kills; refreshed as we go.
pub_ms=150
prim_ms=150
apply_ms_d1=150
apply_ms_d2=150

# Counts for the table.
declare -A kills phase
kills_publish=0
kills_apply=0
exited_first=0
event_hits=0
rounds=0

now_us() {
	printf '%s\n' "${EPOCHREALTIME//[!0-9]/}"
}

# converged: both secondaries on the version state.json names, and both
# trees the source, byte for byte.
# (Shell and diff, no Python: this is polled, and an interpreter's start
# costs a few hundred ms on a loaded machine.)
converged() {
	local v t1 t2
	v=$(version_of sync) &&
	t1=$(readlink d1/current) && t2=$(readlink d2/current) &&
	[[ $t1 == releases/v$v-r* && $t2 == releases/v$v-r* ]] &&
	diff -r --no-dereference src d1/current/ >&2 &&
	diff -r --no-dereference src d2/current/ >&2
}

# version_of SYNC_ROOT: the version state.json names (bash only).
version_of() {
	local s
	s=$(<"$1/state.json") &&
	[[ $s =~ \"version\":\ ([0-9]+) ]] &&
	printf '%s\n' "${BASH_REMATCH[1]}"
}

helper() {
	python3 -S "$HELPER" "$@"
}

# whole: what a kill may never break - the latest version verifies, and
# both current links resolve to complete releases, exactly as published -
# asked of the reader, whose next pass starts after the kill (the checks of
# helper.py without an interpreter's start, which costs up to a second on
# a loaded machine).
check_seq=0
whole() {
	check_seq=$((check_seq + 1)) &&
	printf '%s\n' $check_seq >reader.stop.req &&
	wait_for 60 "test -f reader.stop.$check_seq" &&
	grep_file '^ok$' reader.stop.$check_seq
}

# mutate ROUND N: N artifacts from a moving offset get "<!-- round ROUND -->"
# as their last line (replacing the last round's), five new ones appear
# (copies of changed ones, renamed) and five others go. Files are rewritten
# in place, as an editor or a deploy tool does. Shell builtins only, but
# for one rm.
mutate() {
	local r=$1 n=$2 total off i f text new gone=()
	local -a files=(src/*/*.xml)
	total=${#files[@]}
	off=$(( (r * 397) % total ))
	[ "$n" -le $((total - 10)) ] || n=$((total - 10))
	for ((i = 0; i < n; i++)); do
		f=${files[(off + i) % total]}
		IFS= read -r -d '' text <"$f"
		text=${text%"<!-- round "*}
		[[ $text == *$'\n' ]] || text+=$'\n'
		printf '%s<!-- round %s -->\n' "$text" "$r" >"$f" || return 1
	done
	for ((i = 0; i < 5; i++)); do
		f=${files[(off + i) % total]}
		IFS= read -r -d '' text <"$f"
		new=r${r}_$i
		if [[ $text =~ (^|[[:space:]])(name|key)=\"[^\"]*\" ]]; then
			text=${text/"${BASH_REMATCH[0]}"/${BASH_REMATCH[1]}${BASH_REMATCH[2]}=\"$new\"}
		fi
		printf '%s' "$text" >"${f%/*}/$new.xml" || return 1
		gone+=("${files[(off + n + 1 + i * 7) % total]}")
	done
	rm -f "${gone[@]}"
}

# next_version: the number the next publish will take (above every file).
next_version() {
	local f v max=0
	for f in sync/snapshots/[1-9]*; do
		f=${f##*/}
		v=${f%%.*}
		[ "$v" -gt $max ] 2>/dev/null && max=$v
	done
	printf '%s\n' $((max + 1))
}

# arm_killer DELAY_US MAX_MS [DIR ERE]: start the killer and wait until it
# is ready; it starts counting when the victim's PID is written to pidfile.
arm_killer() {
	rm -f pidfile pidfile.ready &&
	start_bg killer python3 -S "$HELPER" killer "$TRASH/pidfile" "$@" &&
	killer_pid=$LAST_PID &&
	wait_for 10 "test -f pidfile.ready"
}

# fire PID: the victim is running; the killer's clock starts now. Then
# reap both, and set killed (1 if the kill reached a live process).
fire() {
	printf '%s\n' "$1" >pidfile &&
	wait "$killer_pid" &&
	forget_pid "$killer_pid" &&
	kill9 "$1" &&
	last=$(tail -n 1 killer.log) &&
	case $last in
	killed*) killed=1 ;;
	exited*) killed=0 ;;
	*) say "killer said: $last" >&2; return 1 ;;
	esac &&
	case $last in *" hit "*) event_hits=$((event_hits + 1)) ;; esac
}

# plan KIND SPAN_MS: sets how/delay_us/max_ms/watch for this round.
plan() {
	local kind=$1 span=$2 v i
	how=${HOWS[$((RANDOM % 3))]}
	watch=()
	max_ms=$((span * 3 / 2 + 100))
	case $how in
	short)	delay_us=$((RANDOM % 3000)) ;;
	span)	delay_us=$(( (RANDOM * 32768 + RANDOM) % (span * 1300 + 1) )) ;;
	event)
		delay_us=$((RANDOM % 500))
		v=$(next_version)
		i=$((RANDOM % 4))
		if [ "$kind" = publish ]; then
			case $i in
			0) watch=("$TRASH/sync/snapshots" "^$v\\.tar\\.zst$") ;;
			1) watch=("$TRASH/sync/snapshots" "^$v\\.manifest\\.json$") ;;
			2) watch=("$TRASH/sync/snapshots" "^$v\\.state\\.json$") ;;
			3) watch=("$TRASH/sync" "^\\.state\\.json\\.tmp-") ;;
			esac
		else
			case $i in
			0) watch=("$TRASH/$victim/.staging" "^build$") ;;
			1) watch=("$TRASH/$victim/releases" "^\\.v[0-9]+-r[0-9]+\\.json\\.tmp-") ;;
			2) watch=("$TRASH/$victim/upstream" "^\\.[0-9]+\\.json\\.tmp-") ;;
			3) watch=("$TRASH/$victim" "^current\\.tmp$") ;;
			esac
		fi ;;
	esac
	what="$how"
	[ "$how" != event ] || what="event ${watch[1]}"
}

# publish_phase BEFORE NEXT: where the publish was when killed: state.json
# moved past BEFORE (committed), files of version NEXT in snapshots/
# (writing), or nothing yet (before-writing).
publish_phase() {
	if [ "$(version_of sync)" -gt "$1" ]; then
		echo committed
	elif ls -A sync/snapshots | grep -E -q "^\\.?$2\\."; then
		echo writing
	else
		echo before-writing
	fi
}

# apply_phase ROOT WANT: where the secondary was when killed.
apply_phase() {
	if [ "$(current_version "$1")" = "$2" ]; then
		echo swapped
	elif [ -d "$1/.staging/build" ]; then
		echo building
	elif ls "$1/releases" | grep -q "^v$2-"; then
		echo renamed
	else
		echo before-build
	fi
}

start_primary_as() {
	start_bg "$1" "$ARTSYNC" primary --source src --sync-root sync \
		--quiet-ms $QUIET_MS --retry-ms 200 --log-level debug &&
	prim_pid=$LAST_PID
}

# recover_primary NAME: a primary started now publishes what the source
# holds (or finds it unchanged), the cluster converges, and the primary
# stops cleanly on SIGTERM.
recover_primary() {
	start_primary_as "$1" &&
	# Converged may already hold before it starts: wait for its own
	# word, or the SIGTERM may land before it takes signals.
	wait_for 60 "grep -q -e 'source unchanged' -e 'published version' \
	    $1.log" &&
	wait_for 60 converged &&
	stop "$prim_pid"
}

start_sec() {
	case $1 in
	d1) start_secondary sec1 --sync-root sync --deploy-root d1 \
		--poll-ms 100 --keep-releases 3 && pid_d1=$LAST_PID ;;
	d2) start_secondary sec2 --sync-root sync --deploy-root d2 \
		--poll-ms 100 --recycle-releases no && pid_d2=$LAST_PID ;;
	esac
}

# last_ms LOG ERE: the "N ms" of the last line of LOG matching ERE.
last_ms() {
	grep -E -o "$2" "$1" | tail -n 1 | grep -E -o '[0-9]+ ms' |
		grep -E -o '^[0-9]+'
}

# remember_durations: the last publish and apply times, for "span" kills.
remember_durations() {
	local ms
	ms=$(last_ms sec1.log 'live in [0-9]+ ms') && apply_ms_d1=${ms:-$apply_ms_d1}
	ms=$(last_ms sec2.log 'live in [0-9]+ ms') && apply_ms_d2=${ms:-$apply_ms_d2}
	return 0
}

# round R MODE: change, kill, check, restart, converge. Sets killed, kind
# (publish or apply), what (the timing) and ph (the phase hit).
round() {
	local r=$1 mode=$2 before nv t0 ms want
	killed=0
	# 10% to 60% of the tree: both of the apply's fsync strategies (one
	# fsync per file, or one syncfs above 256 files) with 500 artifacts.
	CHANGE=$((ARTIFACTS * (10 + RANDOM % 51) / 100))
	before=$(version_of sync) &&
	nv=$(next_version) &&
	case $mode in
	publish)
		kind=publish &&
		mutate "$r" $CHANGE &&
		plan publish "$pub_ms" &&
		arm_killer "$delay_us" "$max_ms" "${watch[@]}" &&
		start_bg "pub$r" "$ARTSYNC" publish --source src --sync-root sync &&
		fire $LAST_PID &&
		whole &&
		ph=$(publish_phase "$before" "$nv") &&
		t0=$(now_us) &&
		"$ARTSYNC" publish --source src --sync-root sync >out &&
		pub_ms=$(( ($(now_us) - t0) / 1000 + 1 )) &&
		wait_for 60 converged
		;;
	primary)
		kind=publish &&
		start_primary_as "prim$r" &&
		wait_for_log "prim$r.log" "source unchanged|published version" 60 &&
		plan publish "$prim_ms" &&
		max_ms=$((max_ms + QUIET_MS)) &&
		if [ $how != event ]; then
			delay_us=$((delay_us + QUIET_MS * 1000))
		fi &&
		arm_killer "$delay_us" "$max_ms" "${watch[@]}" &&
		mutate "$r" $CHANGE &&
		fire $prim_pid &&
		whole &&
		ph=$(publish_phase "$before" "$nv") &&
		recover_primary "prim${r}b" &&
		ms=$(last_ms "prim${r}b.log" "published version [0-9]+ in [0-9]+ ms")
		prim_ms=${ms:-$prim_ms}
		;;
	prim-start)
		kind=publish &&
		mutate "$r" $CHANGE &&
		plan publish "$((prim_ms + 30))" &&
		arm_killer "$delay_us" "$max_ms" "${watch[@]}" &&
		start_primary_as "prim$r" &&
		fire $prim_pid &&
		whole &&
		ph=$(publish_phase "$before" "$nv") &&
		recover_primary "prim${r}b"
		;;
	sec-poked)
		kind=apply &&
		victim=d$(( (r / ${#MODES[@]}) % 2 + 1 )) &&
		eval "ms=\$apply_ms_$victim" &&
		mutate "$r" $CHANGE &&
		plan apply "$ms" &&
		arm_killer "$delay_us" "$max_ms" "${watch[@]}" &&
		"$ARTSYNC" publish --source src --sync-root sync >out &&
		want=$(cat out) &&
		eval "fire \$pid_$victim" &&
		whole &&
		ph=$(apply_phase "$victim" "$want") &&
		start_sec $victim &&
		wait_for 60 converged
		;;
	sec-start)
		kind=apply &&
		victim=d$(( (r / ${#MODES[@]}) % 2 + 1 )) &&
		eval "stop \$pid_$victim" &&
		mutate "$r" $CHANGE &&
		"$ARTSYNC" publish --source src --sync-root sync >out &&
		want=$(cat out) &&
		eval "ms=\$apply_ms_$victim" &&
		plan apply "$((ms + 50))" &&
		arm_killer "$delay_us" "$max_ms" "${watch[@]}" &&
		start_sec $victim &&
		eval "fire \$pid_$victim" &&
		whole &&
		ph=$(apply_phase "$victim" "$want") &&
		start_sec $victim &&
		wait_for 60 converged
		;;
	esac &&
	remember_durations
}

test_expect_success "setup: $ARTIFACTS artifacts published, two secondaries on them" '
	python3 "$REPO/scripts/gen-tree" $ARTIFACTS src &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 1 &&
	start_sec d1 && start_sec d2 &&
	wait_for 60 converged &&
	remember_durations
'

# test_must_fail_once SYNC ROOT ERE: one pass of the reader's checks finds
# a violation, and says ERE.
test_must_fail_once() {
	! helper check-once "$ARTSYNC" "$1" "$2" 2>once.err &&
	grep_file "$3" once.err
}

# The reader's checks must be able to fail: each damage below, made in a
# copy, is a violation for them.
test_expect_success 'the reader'"'"'s checks see a damaged release or snapshot' '
	helper check-once "$ARTSYNC" sync d1 d2 &&
	f=$(cd d1/current && ls api/*.xml | head -n 1) &&
	cp -a d1 bad && python3 "$HELPER" flip-byte bad/current/$f &&
	test_must_fail_once sync bad "xxh128" &&
	rm -rf bad && cp -a d1 bad && rm bad/current/$f &&
	test_must_fail_once sync bad "missing" &&
	rm -rf bad && cp -a d1 bad && printf x >bad/current/api/Extra.xml &&
	test_must_fail_once sync bad "extra" &&
	rm -rf bad && cp -a d1 bad && rm bad/current/$f &&
	python3 -c "
import json, os, sys
rec = os.path.realpath(\"bad/current\") + \".json\"
lines = [json.loads(l) for l in open(rec, \"rb\").read().splitlines()]
head, n = lines[0], lines[0][\"artifact_count\"]
arts = [a for a in lines[1:1 + n]
    if \"%s/%s.xml\" % (a[\"type\"], a[\"name\"]) != sys.argv[1]]
head[\"artifact_count\"] = len(arts)
os.unlink(rec)
open(rec, \"w\").write(\"\".join(json.dumps(x) + \"\\n\"
    for x in [head] + arts + lines[1 + n:]))
" "$f" &&
	test_must_fail_once sync bad "differs from version" &&
	rm -rf bad && cp -R sync badsync &&
	python3 "$HELPER" flip-byte \
		"badsync/$(own_file badsync $(version_of sync) archive)" &&
	test_must_fail_once badsync d1 "verify of version" &&
	rm -rf badsync
'

test_expect_success 'the reader starts' '
	start_bg reader python3 "$HELPER" torture-reader "$TRASH/reader.json" \
		"$TRASH/reader.stop" "$ARTSYNC" "$TRASH/sync" "$TRASH/d1" \
		"$TRASH/d2" &&
	reader_pid=$LAST_PID &&
	wait_for 10 "is_running $reader_pid"
'

delivered=0
r=1
max_rounds=$((KILLS * 2 + 10))
while [ $delivered -lt $KILLS ] && [ $r -le $max_rounds ]; do
	mode=${MODES[$((r % ${#MODES[@]}))]}
	t_round=$(now_us)
	test_expect_success "round $r: kill -9 in $mode" '
		round $r $mode
	'
	if [ "$killed" = 1 ]; then
		delivered=$((delivered + 1))
		if [ "$kind" = publish ]; then
			kills_publish=$((kills_publish + 1))
		else
			kills_apply=$((kills_apply + 1))
		fi
		key="$mode: ${ph:-?}"
		phase[$key]=$(( ${phase[$key]:-0} + 1 ))
		kills[$how]=$(( ${kills[$how]:-0} + 1 ))
	else
		exited_first=$((exited_first + 1))
	fi
	say "#   $mode, $what, ${delay_us} us: $(tail -n 1 killer.log)${ph:+, $ph} ($(( ($(now_us) - t_round) / 1000 )) ms)"
	ph=
	r=$((r + 1))
done
rounds=$((r - 1))

test_expect_success "at least $KILLS kills reached a live process" '
	test $delivered -ge $KILLS
'

test_expect_success 'the reader stops: it made passes all along, no violation' '
	: >reader.stop &&
	wait_for 60 "test -f reader.json" &&
	wait $reader_pid && forget_pid $reader_pid &&
	helper json-get reader.json examples &&
	test "$(helper json-get reader.json violations)" = 0 &&
	test "$(helper json-get reader.json passes)" -ge "$rounds"
'

test_expect_success 'clean restarts leave nothing a crash left behind' '
	stop $pid_d1 && stop $pid_d2 &&
	start_sec d1 && start_sec d2 &&
	wait_for_log sec1.log "serving releases/" &&
	wait_for_log sec2.log "serving releases/" &&
	leftovers_clean d1 3 &&
	leftovers_clean d2 5 &&
	wait_for 60 converged
'

test_expect_success 'a publish with no grace sweeps the temp files kills left' '
	mutate 999999 10 &&
	"$ARTSYNC" publish --source src --sync-root sync --keep-versions 3 \
		--keep-grace-ms 0 >out &&
	latest=$(cat out) &&
	# .publish.cache: the stat cache of a one-shot publish (its temp files
	# are swept like the others, so they still fail this).
	test "$(ls -A sync | grep -vx .publish.cache | tr "\n" " ")" = \
		".publish.lock snapshots state.json " &&
	floor=$((latest - 2)) &&
	for v in $((latest - 2)) $((latest - 1)) $latest; do
		test -e sync/snapshots/$v.state.json || continue
		b=$(python3 "$HELPER" json-get sync/snapshots/$v.state.json \
			base_version) &&
		if [ "$b" -lt "$floor" ]; then floor=$b; fi
	done &&
	for f in $(ls -A sync/snapshots); do
		v=${f%%.*} &&
		test "$v" -ge $floor &&
		test "$v" -le $latest || { say "left in snapshots/: $f"; return 1; }
	done &&
	for v in $((latest - 2)) $((latest - 1)) $latest; do
		"$ARTSYNC" verify --sync-root sync $v >/dev/null 2>&1 ||
		test ! -e sync/snapshots/$v.state.json || return 1
	done &&
	wait_for 60 converged &&
	stop $pid_d1 && stop $pid_d2
'

# The table.
say "# ---- t55-torture: seed $SEED, $rounds rounds ----"
say "# kills of publish (one-shot and primary)   $kills_publish"
say "# kills of apply (secondary)                $kills_apply"
say "# rounds whose victim ended before the kill $exited_first"
for k in short span event; do
	printf '# kills timed %-28s %s\n' "'$k'" "${kills[$k]:-0}"
done
say "# event kills that saw their file          $event_hits"
printf '%s\n' "${!phase[@]}" | sort | while read -r k; do
	printf '#   %-38s %s\n' "$k" "${phase[$k]}"
done
python3 - "$TRASH/reader.json" <<'EOF_PY' || say "# reader: no counts"
import json, sys
c = json.load(open(sys.argv[1]))
for label, keys in [
        ("reader passes", ["passes"]),
        ("  current checks / ok / gone / empty",
         ["release_checks", "release_ok", "gone", "empty"]),
        ("  sync verifies / ok / moved on",
         ["sync_checks", "sync_ok", "sync_moved"]),
        ("  versions seen live", ["versions_seen"]),
        ("violations", ["violations"])]:
    print("# %-40s %s" % (label, " / ".join(str(c[k]) for k in keys)))
EOF_PY

finish
