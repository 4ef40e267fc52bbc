#!/bin/bash
# t80-nfs: a sync root on a FUSE mount (bindfs) standing in for NFS.
#
# The primary writes to the underlying directory, as another NFS client
# would: no inotify event reaches the secondary watching the mount, so it
# must find each version by polling state.json. A version whose files are
# not all there yet (a slow writer) is refused and retried, never applied. When the mount goes away the
# secondary keeps serving its release and says so (status, metrics, healthz);
# when it comes back, it catches up.
. "$(dirname "$0")/lib.sh"

POLL=300

# unmount: leaves no mount behind, whatever happened.
unmount() {
	fusermount -u -z "$TRASH/mnt" 2>/dev/null || true
}
trap 'unmount; cleanup' EXIT

json_field() {	# json_field URL FIELD
	curl -s "$1" | python3 -c "import json, sys; \
print(json.load(sys.stdin)[sys.argv[1]])" "$2"
}

# applied_within MS VERSION: the secondary swaps to VERSION within MS.
applied_within() {
	local start end
	start=$(date +%s%3N)
	wait_for 20 "test \"\$(current_version dep)\" = $2" || return 1
	end=$(date +%s%3N)
	say "# version $2 applied $((end - start)) ms after publish"
	test $((end - start)) -le "$1"
}

test_expect_success 'setup: a bindfs mount of the share, version 1' '
	fixture_tree src &&
	mkdir share mnt &&
	"$ARTSYNC" publish --source src --sync-root share >/dev/null &&
	bindfs share mnt &&
	test -f mnt/state.json
'

test_expect_success 'a secondary on the mount applies version 1' '
	start_secondary sec --sync-root mnt --deploy-root dep \
		--poll-ms $POLL --max-lag-ms 800 &&
	listen_port sec.log &&
	wait_for 20 "test \"\$(current_version dep)\" = 1" &&
	same_tree src dep/current
'

# inotify_sees FILE: whether an inotify watch on mnt, once established,
# reports a write to FILE within 2 s.
inotify_sees() {
	rm -f ev
	inotifywait -t 2 -e create,close_write mnt >ev 2>&1 &
	w=$!
	wait_for 5 "grep -q \"Watches established\" ev" || return 2
	touch "$1"
	wait $w
}

test_expect_success 'writes under the mount raise no inotify event there' '
	{ inotify_sees mnt/through; rc=$?; true; } &&
	test "$rc" = 0 &&
	{ inotify_sees share/under; rc=$?; true; } &&
	test "$rc" = 2 &&
	rm share/through share/under
'

test_expect_success 'each version is found by polling within poll + apply' '
	for i in 2 3 4; do
		make_artifact sequences "Nfs$i" "m$i" &&
		"$ARTSYNC" publish --source src --sync-root share >/dev/null &&
		applied_within $((POLL + 3000)) $i || return 1
	done &&
	same_tree src dep/current
'

test_expect_success 'a version not yet fully visible is refused, then applied' '
	before=$(readlink dep/current) &&
	make_artifact api Slow m6 &&
	cp -a share staged &&
	v=$("$ARTSYNC" publish --source src --sync-root staged) &&
	m=$(own_file staged $v manifest) && a=$(own_file staged $v archive) &&
	cp staged/$m staged/snapshots/$v.state.json share/snapshots/ &&
	head -c 100 staged/$a >share/$a &&
	cp staged/state.json share/state.json &&
	wait_for_log sec.log "version $v refused: .*truncated or still being written" &&
	test "$(readlink dep/current)" = "$before" &&
	cp staged/$a share/$a &&
	wait_for 20 "test \"\$(current_version dep)\" = $v" &&
	same_tree src dep/current
'

test_expect_success 'unmounted: the release stays, status and metrics say so' '
	before=$(readlink dep/current) &&
	fusermount -u mnt &&
	wait_for 20 "test \"\$(json_field $EP/api/v1/status sync_root_ok)\" = False" &&
	test "$(readlink dep/current)" = "$before" &&
	same_tree src dep/current &&
	test "$(json_field $EP/api/v1/status last_error)" != None &&
	curl -s $EP/metrics | grep -qx "artsync_sync_root_up 0"
'

test_expect_success '... and past max_lag_ms /healthz is 503, still serving' '
	wait_for 20 "test \"\$(curl -s -o hz -w %{http_code} $EP/healthz)\" = 503" &&
	grep -q "sync root unreachable" hz &&
	same_tree src dep/current
'

test_expect_success 'published while unmounted, applied once it is back' '
	make_artifact api Offline m7 &&
	v=$("$ARTSYNC" publish --source src --sync-root share) &&
	bindfs share mnt &&
	wait_for 20 "test \"\$(current_version dep)\" = $v" &&
	same_tree src dep/current &&
	wait_for 20 "test \"\$(curl -s -o /dev/null -w %{http_code} $EP/healthz)\" = 200" &&
	curl -s $EP/metrics | grep -qx "artsync_sync_root_up 1"
'

test_expect_success 'SIGTERM stops it with status 0' '
	stop "$pid_sec"
'

finish
