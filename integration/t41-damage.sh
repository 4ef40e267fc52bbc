#!/bin/bash
# t41-damage: every kind of damage to a snapshot, against a running secondary.
#
# Each round publishes the next version into aside/ (a mirror of the sync
# root) and copies it into the sync root with damage - bit flips at random
# offsets of the archive, the manifest and state.json, a cut, a deleted
# file, another version's file renamed over this one's, a state.json with a
# wrong checksum, an older state.json, garbage - and checks that the
# secondary refuses each: an error line in its log that says why, the same
# words in `artsync status` last_error, exactly one more
# artsync_rejects_total sample and for the right reason, and current still
# on the release it was on, byte for byte. Then the undamaged files go in
# and that version is applied: the damage was the one cause.
#
# A secondary reads state.json (and its copy) first, then the manifest,
# then the archive. So one version takes three kinds of damage in turn:
# the archive, then the manifest before the archive is mended, then
# state.json before the manifest is: each refused for its own reason, and
# never a moment at which the version is whole.
#
# The offsets come from ARTSYNC_SEED (printed; set it to replay a run).
. "$(dirname "$0")/lib.sh"

SEED=${ARTSYNC_SEED:-$(date +%s)}
say "# random offsets from ARTSYNC_SEED=$SEED"
n=0
refusals=0	# counted by refused
applies=1	# version 1, then one per heal

# put SRC DST: DST gets SRC's bytes by rename, as a writer on the share would.
put() {
	cp "$1" "$2.tmp" && mv -f "$2.tmp" "$2"
}

# where FILE: the sync root path of a staged file (V.x or state.json).
where() {
	case $1 in
	state.json) echo sync/state.json ;;
	*) echo "sync/snapshots/$1" ;;
	esac
}

# install FILE: staged/FILE (damaged, perhaps) into the sync root.
install() {
	put "staged/$1" "$(where "$1")"
}

# mend FILE: the undamaged FILE of version V into the sync root.
mend() {
	case $1 in
	state.json) put aside/state.json sync/state.json ;;
	*) put "aside/snapshots/$1" "sync/snapshots/$1" ;;
	esac
}

# next_version: one more change, published into aside/ - a delta in odd
# rounds, a full version in even ones; sets V, A and M (the names of its
# own archive and manifest in snapshots/: V.delta.tar.zst and V.delta.json,
# or V.tar.zst and V.manifest.json) and A_RE, M_RE (the same as EREs); staged/
# holds its three snapshot files and state.json, to be damaged; the
# snapshot files are in the sync root already, state.json not yet.
next_version() {
	n=$((n + 1)) &&
	make_artifact sequences "Round$n" "$n" &&
	"$ARTSYNC" publish --source src --sync-root aside \
	    --max-chain $((n % 2 ? 64 : 0)) >"$TRASH/.v" &&
	V=$(cat "$TRASH/.v") &&
	A=$(own_file aside "$V" archive) && A=${A#snapshots/} &&
	M=$(own_file aside "$V" manifest) && M=${M#snapshots/} &&
	A_RE=$(printf '%s' "$A" | sed 's/\./\\./g') &&
	M_RE=$(printf '%s' "$M" | sed 's/\./\\./g') &&
	say "# version $V: $A, $M" &&
	rm -rf staged && mkdir staged &&
	cp aside/snapshots/"$V".* aside/state.json staged/ &&
	cp aside/snapshots/"$V".* sync/snapshots/ &&
	fetch_metrics "$EP" m.before
}

# refused REASON ERE: the secondary refused the damage just done. Exactly
# one refusal was counted since the last one, as REASON; the log's error
# line and status last_error carry the same message, matching ERE; current
# is unchanged.
refused() {
	wait_for 10 'fetch_metrics "$EP" m.after &&
		test $(rejects_total m.after) -gt $(rejects_total m.before)' &&
	one_reject m.before m.after "$1" &&
	msg=$(last_error "$EP") &&
	say "# last_error: $msg" &&
	printf '%s\n' "$msg" | grep -E -q -- "$2" &&
	grep -F -q -- "error: $msg; still serving $rel" s1.log &&
	test "$(current_release d1)" = "$rel" &&
	same_tree tree d1/current &&
	release_is_complete d1 &&
	test ! -e d1/.staging/build &&
	is_running $pid_s1 &&
	cp m.after m.before &&
	refusals=$((refusals + 1))
}

# heal: every file of version V undamaged; it is applied, the error cleared.
# state.json names the applied version (V-1) while V's files are mended:
# two files cannot change at once, and a state.json naming V beside a copy
# not yet mended (or the other way round) would be one more refusal.
heal() {
	put "sync/snapshots/$((V - 1)).state.json" sync/state.json &&
	mend "$A" && mend "$M" && mend "$V.state.json" &&
	mend state.json &&
	wait_for 20 "test \"\$(current_version d1)\" = $V" &&
	wait_for_log s1.log "$(applied_re "$V")" &&
	rel=$(current_release d1) &&
	rm -rf tree && cp -R src tree &&
	same_tree tree d1/current &&
	test "$(last_error "$EP")" = None &&
	applies=$((applies + 1))
}

# size_reason A B: A renamed over B is "truncated" when the sizes differ
# (shorter or longer), "checksum" when they do not.
size_reason() {
	if [ "$(stat -c %s "$1")" = "$(stat -c %s "$2")" ]; then
		echo checksum
	else
		echo truncated
	fi
}

# edit_state FILE PYTHON: runs PYTHON on FILE's JSON (as s) and writes it
# back the way artsync does (2-space indent, final newline).
edit_state() {
	"$PYTHON" -c "import json, sys
p = sys.argv[1]
s = json.load(open(p))
$2
open(p, \"w\").write(json.dumps(s, indent=2) + \"\n\")" "$1"
}

test_expect_success 'setup: version 1 applied; aside/ mirrors the sync root' '
	one_secondary_on_v1 &&
	cp -R sync aside &&
	rel=$(current_release d1) &&
	cp -R src tree &&
	same_tree tree d1/current
'

for i in 1 2 3; do
	test_expect_success "a bit flipped at a random offset of the archive, the manifest, state.json ($i of 3)" '
		next_version &&
		"$PYTHON" "$HELPER" flip-bit staged/$A $((SEED + 10 * i)) &&
		install $A &&
		install state.json &&
		refused checksum "^version $V refused: snapshots/$A_RE: archive checksum mismatch" &&
		"$PYTHON" "$HELPER" flip-bit staged/$M $((SEED + 10 * i + 1)) &&
		install $M &&
		mend $A &&
		refused checksum "^snapshots/$M_RE: checksum mismatch" &&
		"$PYTHON" "$HELPER" flip-bit staged/state.json $((SEED + 10 * i + 2)) &&
		install state.json &&
		mend $M &&
		refused any "^state\.json" &&
		heal
	'
done

test_expect_success 'cut short: the archive, the manifest, state.json' '
	next_version &&
	truncate -s $(($(stat -c %s staged/$A) / 2)) staged/$A &&
	install $A &&
	install state.json &&
	refused truncated "^version $V refused: snapshots/$A_RE: archive is [0-9]+ bytes, state\.json records [0-9]+ \(truncated or still being written\?\)$" &&
	truncate -s 100 staged/$M &&
	install $M &&
	mend $A &&
	refused truncated "^snapshots/$M_RE: 100 bytes, state records [0-9]+ \(truncated or still being written\?\)$" &&
	truncate -s 200 staged/state.json &&
	install state.json &&
	mend $M &&
	refused malformed "^state\.json: malformed JSON" &&
	heal
'

test_expect_success 'deleted: the archive, the manifest, the state copy' '
	next_version &&
	rm sync/snapshots/$A &&
	install state.json &&
	refused missing_file "^snapshots/$A_RE: No such file or directory$" &&
	rm sync/snapshots/$M &&
	mend $A &&
	refused missing_file "^snapshots/$M_RE: No such file or directory$" &&
	rm sync/snapshots/$V.state.json &&
	mend $M &&
	refused missing_file "^snapshots/$V\.state\.json: No such file or directory$" &&
	heal
'

test_expect_success 'the previous version'"'"'s archive, manifest, state copy renamed over this one'"'"'s' '
	next_version &&
	P=$((V - 1)) &&
	PA=$(own_file sync $P archive) && PM=$(own_file sync $P manifest) &&
	reason=$(size_reason sync/$PA staged/$A) &&
	put sync/$PA sync/snapshots/$A &&
	install state.json &&
	refused $reason "^version $V refused: snapshots/$A_RE: archive (is [0-9]+ bytes|checksum mismatch)" &&
	reason=$(size_reason sync/$PM staged/$M) &&
	put sync/$PM sync/snapshots/$M &&
	mend $A &&
	refused $reason "^snapshots/$M_RE: ([0-9]+ bytes|checksum mismatch)" &&
	put sync/snapshots/$P.state.json sync/snapshots/$V.state.json &&
	mend $M &&
	refused checksum "^state\.json differs from its copy snapshots/$V\.state\.json \(damaged, or not written by a publisher\)$" &&
	heal
'

# As a writer would make them: the copy and state.json alike, copy first
# (state.json must never name a version whose copy differs from it).
for role in archive manifest; do
	test_expect_success "state.json and its copy record a wrong $role checksum" '
		next_version &&
		if [ $role = archive ]; then
			edit_state staged/state.json "s[\"files\"][-1][\"xxh128\"] = \"0\" * 32" &&
			want="^version $V refused: snapshots/$A_RE: archive checksum mismatch \(xxh128 [0-9a-f]{32}, state\.json records 0{32}\)$"
		else
			edit_state staged/state.json "s[\"files\"][-2][\"xxh128\"] = \"f\" * 32" &&
			want="^snapshots/$M_RE: checksum mismatch \(xxh128 [0-9a-f]{32}, state records f{32}\)$"
		fi &&
		put staged/state.json sync/snapshots/$V.state.json &&
		install state.json &&
		refused checksum "$want" &&
		heal
	'
done

test_expect_success 'state.json edited, older, not JSON, random bytes, empty' '
	next_version &&
	edit_state staged/state.json "s[\"node_id\"] = \"someone-else\"" &&
	install state.json &&
	refused checksum "^state\.json differs from its copy snapshots/$V\.state\.json" &&
	put sync/snapshots/1.state.json sync/state.json &&
	refused older_version "^sync root holds version 1, older than applied $((V - 1)): not going back$" &&
	printf "{\"version\": %s, garbage\n" "$V" >staged/state.json &&
	install state.json &&
	refused malformed "^state\.json: malformed JSON at line 1" &&
	# Without NUL bytes: jansson stops at a leading one ("near end of
	# file"), the same message as the empty file below, and a refusal
	# repeating the last one is not counted again.
	head -c 300 /dev/urandom | tr -d "\\000" >staged/state.json &&
	install state.json &&
	refused malformed "^state\.json: malformed JSON" &&
	: >staged/state.json &&
	install state.json &&
	refused malformed "^state\.json: malformed JSON" &&
	heal
'

test_expect_success 'rejects by reason add up: one sample per reason, all counted' '
	fetch_metrics "$EP" m.end &&
	grep "^artsync_rejects_total{" m.end >rejects &&
	cat rejects &&
	test_line_count 19 rejects &&
	say "# $refusals refusals, $applies applies" &&
	test "$refusals" -eq 25 &&
	test "$(rejects_total m.end)" -eq "$refusals" &&
	grep -q "^artsync_rejects_total{reason=\"other\"} 0$" m.end &&
	grep -q "^artsync_applies_total $applies$" m.end
'

test_expect_success 'SIGTERM stops it with status 0' '
	stop $pid_s1
'

finish
