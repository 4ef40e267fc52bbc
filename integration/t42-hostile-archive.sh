#!/bin/bash
# t42-hostile-archive: archives built to escape, with every checksum right.
#
# A writer on the share needs no bug to get the checksums right: it writes
# the archive itself (python tarfile, pax, then zstd), computes XXH128 with
# `xxhsum -H2`, and writes a manifest and a state.json to match (helper.py
# forge). So each archive here verifies at the file level, and only the
# secondary's per-entry checks stand between it and the file system:
# "../" and absolute paths, symlinks and hardlinks (out of the deploy root
# too), device nodes, FIFOs, a directory, a duplicate, an unlisted entry, a
# missing one, a huge declared size, and compression bombs (kilobytes that
# inflate to gigabytes). Each must refuse the whole snapshot, quickly, with
# its reason in the log, in `artsync status` and in /metrics; current stays
# as it was; and nothing changes outside the deploy root's .staging/: not a
# canary directory beside the deploy root, not the deploy root's own
# listing (names, sizes, mtimes), not /etc/passwd. Each is forged on top
# of version 1, which stays applied throughout; at the end a good version
# published on top of them all is applied.
. "$(dirname "$0")/lib.sh"

S=$TRASH/scratch		# our own files, outside what is watched
C='<api xmlns="http://ws.apache.org/ns/synapse" name="x" context="/x"/>'
CANARY=$TRASH/canary
Q="'"
cases=0

# entry KEY=VALUE...: one forge entry as JSON (see helper.py forge).
entry() {
	"$PYTHON" -c 'import json, sys
e = dict(a.split("=", 1) for a in sys.argv[1:])
for k in ("size", "manifest_size"):
    if k in e:
        e[k] = int(e[k])
print(json.dumps(e))' "$@"
}

# entries JSON...: a forge spec that adds those entries to version 1's
# artifacts (the version applied all along).
entries() {
	local IFS=,
	printf '{"base_version": 1, "entries": [%s]}\n' "$*"
}

# outside_state: everything under the trash directory that a refused
# snapshot must not touch (all but the sync root, .staging/, logs and our
# scratch files), with type, mode, size and mtime; and /etc/passwd's XXH128.
outside_state() {
	find "$TRASH" -mindepth 1 \( -path "$TRASH/sync" -o \
		-path "$TRASH/d1/.staging" -o -path "$S" -o -name "*.log" -o \
		-name ".test-output" -o -name ".status.json" -o -name ".pids" \) \
		-prune -o -printf "%y %m %s %T@ %P -> %l\n" | sort &&
	xxhsum -H2 /etc/passwd
}

# hostile REASON ERE SPEC: forges the next version from SPEC (JSON, see
# helper.py forge) and checks that it is refused within 2 s as described
# above; the message (log and last_error) matches ERE.
hostile() {
	local t0 t1 ms
	printf '%s\n' "$3" >"$S/spec.json" &&
	fetch_metrics "$EP" "$S/m.before" &&
	outside_state >"$S/before" &&
	"$PYTHON" "$HELPER" forge sync "$S/spec.json" >"$S/v" &&
	V=$(cat "$S/v") &&
	t0=${EPOCHREALTIME/./} &&
	wait_for 10 'fetch_metrics "$EP" "$S/m.after" &&
		test $(rejects_total "$S/m.after") -gt $(rejects_total "$S/m.before")' &&
	t1=${EPOCHREALTIME/./} &&
	ms=$(( (t1 - t0) / 1000 )) &&
	say "# version $V refused in $ms ms" &&
	test $ms -lt 2000 &&
	one_reject "$S/m.before" "$S/m.after" "$1" &&
	msg=$(last_error "$EP") &&
	say "# last_error: $msg" &&
	printf '%s\n' "$msg" | grep -E -q -- "$2" &&
	grep -F -q -- "error: $msg; still serving $rel" s1.log &&
	outside_state >"$S/after" &&
	diff "$S/before" "$S/after" &&
	test -z "$(ls -A d1/.staging)" &&
	test "$(current_release d1)" = "$rel" &&
	same_tree src d1/current &&
	release_is_complete d1 &&
	test "$(cat "$CANARY/canary.txt")" = precious &&
	cases=$((cases + 1))
}

# good: a real publish on top of the hostile versions is applied.
good() {
	make_artifact sequences "Good$cases" "$cases" &&
	"$ARTSYNC" publish --source src --sync-root sync >"$S/v" 2>"$S/err" &&
	V=$(cat "$S/v") &&
	wait_for 20 "test \"\$(current_version d1)\" = $V" &&
	wait_for_log s1.log "$(applied_re "$V")" &&
	rel=$(current_release d1) &&
	same_tree src d1/current
}

refused_at() {	# refused_at V: the start of the message for an archive refusal
	printf '^version %s refused: snapshots/%s\\.tar\\.zst: ' "$1" "$1"
}

test_expect_success 'setup: version 1 applied; a canary beside the deploy root' '
	mkdir "$S" "$CANARY" &&
	echo precious >"$CANARY/canary.txt" &&
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 1 &&
	start_secondary s1 --sync-root sync --deploy-root d1 --poll-ms 100 \
		--keep-releases 50 &&
	listen_port s1.log &&
	wait_for 20 "test \"\$(current_version d1)\" = 1" &&
	rel=$(current_release d1)
'

# Escapes by path. Each entry is listed in the manifest as api/x with its
# true size and checksum, so only the path check can refuse it.
test_expect_success '"../" path out of the deploy root' '
	hostile hostile_entry "$(refused_at 2)entry ${Q}\.\./\.\./\.\./canary/pwned\.xml${Q} is not in an artifact folder" \
		"$(entries "$(entry path=../../../canary/pwned.xml data="$C" manifest=api/x)")"
'

test_expect_success '"../" inside a type folder' '
	hostile hostile_entry "$(refused_at $((V + 1)))entry ${Q}api/\.\./\.\./\.\./\.\./canary/pwned\.xml${Q}: artifact name" \
		"$(entries "$(entry path=api/../../../../canary/pwned.xml data="$C" manifest=api/x)")"
'

test_expect_success 'absolute path into the canary' '
	hostile hostile_entry "entry ${Q}$CANARY/abs\.xml${Q} is not TYPE/NAME\.xml" \
		"$(entries "$(entry path="$CANARY/abs.xml" data="$C" manifest=api/x)")" &&
	test ! -e "$CANARY/abs.xml"
'

test_expect_success 'absolute path to a system file' '
	hostile hostile_entry "entry ${Q}/etc/passwd${Q} is not TYPE/NAME\.xml" \
		"$(entries "$(entry path=/etc/passwd data="$C" manifest=api/x)")"
'

test_expect_success 'symlink to a file out of the deploy root' '
	hostile hostile_entry "entry ${Q}api/x\.xml${Q} is a symlink" \
		"$(entries "$(entry path=api/x.xml kind=symlink link="$CANARY/canary.txt" data="$C" manifest=api/x)")"
'

test_expect_success 'a type folder as a symlink out, then a file through it' '
	hostile hostile_entry "entry ${Q}api${Q} is a symlink" \
		"$(entries "$(entry path=api kind=symlink link="$CANARY")" \
			"$(entry path=api/pwned.xml data="$C" manifest=api/pwned)")" &&
	test ! -e "$CANARY/pwned.xml"
'

test_expect_success 'hardlink to a file out of the deploy root' '
	hostile hostile_entry "entry ${Q}api/x\.xml${Q} is a hardlink" \
		"$(entries "$(entry path=api/x.xml kind=hardlink link="$CANARY/canary.txt" data="precious
" manifest=api/x)")" &&
	test "$(stat -c %h "$CANARY/canary.txt")" = 1
'

test_expect_success 'hardlink to /etc/passwd' '
	hostile hostile_entry "entry ${Q}api/x\.xml${Q} is a hardlink" \
		"$(entries "$(entry path=api/x.xml kind=hardlink link=/etc/passwd data="$C" manifest=api/x)")"
'

test_expect_success 'hardlink to an artifact of the same archive' '
	hostile hostile_entry "entry ${Q}api/x\.xml${Q} is a hardlink" \
		"$(entries "$(entry path=api/x.xml kind=hardlink link=api/HelloWorld.xml data="$C" manifest=api/x)")"
'

for kind in chr blk fifo dir; do
	test_expect_success "a $kind entry at an artifact's path" '
		hostile hostile_entry "entry ${Q}api/x\.xml/?${Q} is not a regular file" \
			"$(entries "$(entry path=api/x.xml kind=$kind data="$C" manifest=api/x)")"
	'
done

test_expect_success 'the same entry twice (the second would replace a checked one)' '
	hostile hostile_entry "entry ${Q}api/x\.xml${Q} appears twice" \
		"$(entries "$(entry path=api/x.xml data="$C" manifest=api/x)" \
			"$(entry path=api/x.xml data="$C<!-- other -->")")"
'

test_expect_success 'an entry the manifest does not list' '
	hostile hostile_entry "entry ${Q}api/extra\.xml${Q} is not in the manifest" \
		"$(entries "$(entry path=api/extra.xml data="$C")")"
'

test_expect_success 'a manifest entry the archive lacks' '
	hostile hostile_entry "$(refused_at $((V + 1)))api/ghost.xml is in the manifest but not in the archive" \
		"$(entries "$(entry kind=none data="$C" manifest=api/ghost)")"
'

# Sizes. An honest manifest cannot list what no artifact may be; a header
# that declares more than the manifest is refused before its data is read.
test_expect_success 'a huge size, declared by header and manifest alike' '
	hostile too_large "^snapshots/$((V + 1))\.manifest\.json: manifest: line [0-9]+: api/x: size 1099511627776 is over the 33554432-byte limit" \
		"$(entries "$(entry path=api/x.xml data="$C" size=1099511627776 manifest=api/x manifest_size=1099511627776)")"
'

test_expect_success 'a huge size declared by the header only' '
	hostile hostile_entry "entry ${Q}api/x\.xml${Q} declares 1099511627776 bytes, the manifest [0-9]+" \
		"$(entries "$(entry path=api/x.xml data="$C" size=1099511627776 manifest=api/x)")"
'

# Bombs: zstd written by hand from RLE blocks, a few kilobytes per 32 MiB.
test_expect_success 'a compression bomb: 128 x 32 MiB of valid XML (4 GiB)' '
	hostile too_large "^snapshots/$((V + 1))\.manifest\.json: manifest: artifacts add up to [0-9]+ bytes, over the 1073741824-byte limit" \
		"{\"base_version\": 1, \"bomb\": {\"type\": \"sequences\", \"count\": 128}}" &&
	size=$(stat -c %s sync/snapshots/$V.tar.zst) &&
	say "# the bomb: $size bytes of zstd for 4 GiB of XML" &&
	test "$size" -lt 2000000
'

test_expect_success 'a bomb under the limit: 24 x 32 MiB of zeros (768 MiB)' '
	hostile invalid_artifact "$(refused_at $((V + 1)))sequences/zero0000\.xml: invalid artifact: " \
		"{\"base_version\": 1, \"bomb\": {\"type\": \"sequences\", \"count\": 24, \"prefix\": \"zero\", \"fill\": \"\\u0000\"}}"
'

# A refusal for what verified files hold is final for those files: no
# retry at every poll (each would decode the bomb's first 32 MiB again,
# into .staging/), until an operator asks. Its reason stays in last_error,
# also after another error (the sync root gone for a while) came between.
test_expect_success 'a final refusal is not retried at every poll, until asked' '
	printf "%s\n" "{\"base_version\": 1, \"bomb\": {\"type\": \"sequences\", \"count\": 24, \"prefix\": \"again\", \"fill\": \"\\u0000\"}}" >"$S/spec.json" &&
	"$PYTHON" "$HELPER" forge sync "$S/spec.json" >"$S/v" &&
	V=$(cat "$S/v") &&
	wait_for_log s1.log "version $V: not tried again while state\.json names the same files" &&
	msg=$(last_error "$EP") &&
	for i in $(seq 100); do
		test ! -e d1/.staging/build || return 1
		sleep 0.01
	done &&
	test "$(grep -c "version $V: not tried again" s1.log)" = 1 &&
	mv sync sync.away &&
	wait_for 10 "test \"\$(last_error \"\$EP\")\" != \"\$msg\"" &&
	mv sync.away sync &&
	wait_for 10 "test \"\$(last_error \"\$EP\")\" = \"\$msg\"" &&
	test "$(grep -c "version $V: not tried again" s1.log)" = 1 &&
	curl -sf --max-time 20 -X POST -H "$(rest_auth d1)" -o "$S/sync.json" \
		"$EP/api/v1/sync" &&
	test "$(grep -c "version $V: not tried again" s1.log)" = 2 &&
	kill -HUP $pid_s1 &&
	wait_for 10 "test \$(grep -c \"version $V: not tried again\" s1.log) = 3" &&
	test "$(current_release d1)" = "$rel"
'

test_expect_success 'after all that, a good version on top is applied' '
	good
'

test_expect_success 'each case was counted under its reason, none as other' '
	fetch_metrics "$EP" "$S/m.end" &&
	say "# $cases hostile archives refused" &&
	test "$cases" -eq 20 &&
	test "$(rejects_total "$S/m.end")" -eq $((cases + 1)) &&
	grep -q "^artsync_rejects_total{reason=\"hostile_entry\"} 17$" "$S/m.end" &&
	grep -q "^artsync_rejects_total{reason=\"too_large\"} 2$" "$S/m.end" &&
	grep -q "^artsync_rejects_total{reason=\"invalid_artifact\"} 2$" "$S/m.end"
'

test_expect_success 'SIGTERM stops it with status 0' '
	stop $pid_s1
'

finish
