#!/bin/bash
# t98-trust: what a secondary trusts beyond a good signature, and what the
# primary numbers its versions from.
#
# A state from another cluster (a staging share mounted on production, a
# state replayed from staging, signed with the same key) is refused, signed
# or not. A signed state expires: an old one put back on the share is
# refused even by a secondary installed today (a floor, min_version, does
# the same by number); a running primary renews the latest state's expiry
# (timestamp.sig) without a new version, and once it stops, the expiry
# runs out: the secondaries keep serving and /healthz says why. Whenever
# the sync root holds nothing this node can verify, or an older version,
# for longer than max_lag_ms, /healthz fails and status says which - the
# release keeps serving throughout.
#
# Versions are numbered from verifiable states only: file names planted in
# snapshots/ (an empty 9223372036854775000.state.sig, a number that does
# not fit) move nothing; the end of the version space is an error.
#
# libfaketime (faketime(1)'s library, preloaded so that the daemon keeps
# its PID) runs a secondary eight days ahead, past the default
# state_validity of seven days.
. "$(dirname "$0")/lib.sh"

FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1

# field FILE KEY: one value of a JSON document.
field() {
	"$PYTHON" "$HELPER" json-get "$1" "$2"
}

# status LOG: the status of the secondary that wrote LOG, in status.json.
status() {
	listen_port "$1" && curl -sf "$EP/api/v1/status" >status.json
}

# healthz LOG: /healthz's code, its body in healthz.json.
healthz() {
	listen_port "$1" &&
	curl -s -o healthz.json -w "%{http_code}" "$EP/healthz"
}

# metric LOG NAME: the value of series NAME of the secondary of LOG.
metric() {
	listen_port "$1" && curl -sf "$EP/metrics" >metrics &&
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' \
		metrics
}

test_expect_success 'setup: a key, a tree, a signed version 1' '
	"$ARTSYNC" keygen --out key >pub.line 2>/dev/null &&
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync --signing-key key \
		--cluster-id prod >out &&
	test "$(cat out)" = 1
'

# --- 1: the cluster --------------------------------------------------------

test_expect_success 'another cluster'"'"'s signed state: refused, naming both ids' '
	"$ARTSYNC" publish --source src --sync-root stg --signing-key key \
		--cluster-id staging >out &&
	start_secondary c1 --sync-root stg --deploy-root dc1 --poll-ms 100 \
		--public-key key.pub --cluster-id prod &&
	wait_for_log c1.log "error: .*cluster .staging., this node to cluster .prod." &&
	test "$(metric c1.log "artsync_rejects_total{reason=\"wrong_cluster\"}")" = 1 &&
	test ! -e dc1/current &&
	is_running $pid_c1
'

test_expect_success 'and unsigned: a foreign share mounted by mistake' '
	"$ARTSYNC" publish --source src --sync-root stg2 --cluster-id staging \
		>out &&
	start_secondary c2 --sync-root stg2 --deploy-root dc2 --poll-ms 100 \
		--cluster-id prod &&
	wait_for_log c2.log "error: .*belongs to cluster .staging." &&
	test "$(metric c2.log "artsync_rejects_total{reason=\"wrong_cluster\"}")" = 1 &&
	test ! -e dc2/current &&
	stop $pid_c1 && stop $pid_c2
'

# --- 2: expiry, the floor, renewal ------------------------------------------

test_expect_success 'an old signed state, eight days on: a fresh node refuses it as expired' '
	cp -R sync old &&
	make_artifact api Two 2 &&
	"$ARTSYNC" publish --source src --sync-root sync --signing-key key \
		--cluster-id prod >out &&
	test "$(cat out)" = 2 &&
	start_bg f1 env LD_PRELOAD="$FAKETIME_LIB" FAKETIME=+8d \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"$ARTSYNC" secondary --listen 127.0.0.1:0 \
		--sync-root old --deploy-root df1 --poll-ms 100 \
		--public-key key.pub --cluster-id prod &&
	wait_for_log f1.log "error: .*version 1 expired at .*the primary must be running.*or publish again" &&
	test "$(metric f1.log "artsync_rejects_total{reason=\"expired\"}")" = 1 &&
	test ! -e df1/current &&
	stop $pid_f1
'

test_expect_success 'today it is fresh, but below a new node'"'"'s min_version' '
	start_secondary f2 --sync-root old --deploy-root df2 --poll-ms 100 \
		--public-key key.pub --cluster-id prod --min-version 2 &&
	wait_for_log f2.log "error: .*version 1, below this node.s min_version 2" &&
	test "$(metric f2.log "artsync_rejects_total{reason=\"older_version\"}")" = 1 &&
	test ! -e df2/current &&
	stop $pid_f2 &&
	start_secondary f3 --sync-root old --deploy-root df3 --poll-ms 100 \
		--public-key key.pub --cluster-id prod &&
	wait_for 20 "test \"\$(current_version df3)\" = 1" &&
	stop $pid_f3
'

test_expect_success 'a signed state without an expiry: refused unless require_fresh = no' '
	"$ARTSYNC" publish --source src --sync-root noexp --signing-key key \
		--cluster-id prod --state-validity 0 >out &&
	test "$(field noexp/state.json format)" = 2 &&
	test "$(field sync/state.json format)" = 3 &&
	start_secondary n1 --sync-root noexp --deploy-root dn1 --poll-ms 100 \
		--public-key key.pub --cluster-id prod &&
	wait_for_log n1.log "error: .*carries no expiry" &&
	start_secondary n2 --sync-root noexp --deploy-root dn2 --poll-ms 100 \
		--public-key key.pub --cluster-id prod --require-fresh no &&
	wait_for 20 "test \"\$(current_version dn2)\" = 1" &&
	test ! -e dn1/current &&
	stop $pid_n1 && stop $pid_n2 &&
	test_exit_code 2 "$ARTSYNC" secondary -n --sync-root s --deploy-root d \
		--require-fresh yes >out 2>err &&
	grep_file "require_fresh = yes needs public_key" err
'

test_expect_success 'a running primary renews the expiry: no new version, still fresh' '
	start_primary --source src --sync-root sync --quiet-ms 100 \
		--signing-key key --cluster-id prod --state-validity 4s &&
	wait_for 20 "test -f sync/timestamp.sig" &&
	make_artifact api Renewed 3 &&
	wait_for 20 "test \"\$(state_version sync)\" = 3" &&
	start_secondary s1 --sync-root sync --deploy-root d1 --poll-ms 100 \
		--public-key key.pub --cluster-id prod --max-lag-ms 1000 &&
	wait_for 20 "test \"\$(current_version d1)\" = 3" &&
	sleep 7 &&
	test "$(state_version sync)" = 3 &&
	test "$(healthz s1.log)" = 200 &&
	status s1.log && test "$(field status.json sync_root_state)" = ok &&
	test "$(field status.json state_expires_at)" != None &&
	signify-openbsd -V -e -p key.pub -x sync/timestamp.sig -m ts.json >out &&
	test "$(field ts.json version)" = 3 &&
	test "$(field ts.json cluster_id)" = prod
'

test_expect_success 'the primary stops: the expiry runs out, healthz says so, the release serves on' '
	rel=$(current_release d1) &&
	stop $pid_primary &&
	wait_for 20 "test \"\$(healthz s1.log)\" = 503" &&
	grep_file "sync root unverifiable.*expired" healthz.json &&
	status s1.log && test "$(field status.json sync_root_state)" = unverifiable &&
	test "$(field status.json sync_root_state_since)" != None &&
	test "$(metric s1.log artsync_sync_root_verifiable)" = 0 &&
	test "$(current_release d1)" = "$rel" &&
	same_tree src d1/current
'

test_expect_success 'back: the next renewal makes it fresh again' '
	start_primary --source src --sync-root sync --quiet-ms 100 \
		--signing-key key --cluster-id prod --state-validity 4s &&
	wait_for 20 "test \"\$(healthz s1.log)\" = 200" &&
	test "$(state_version sync)" = 3 &&
	stop $pid_s1
'

# --- 3: a frozen share ------------------------------------------------------

test_expect_success 'state.json that does not verify: 503 after max_lag_ms, still serving' '
	{ ! is_running "${pid_primary:-0}" || stop $pid_primary; } &&
	"$ARTSYNC" publish --source src --sync-root frz --signing-key key \
		--cluster-id prod >out &&
	make_artifact api Frozen 1 &&
	"$ARTSYNC" publish --source src --sync-root frz --signing-key key \
		--cluster-id prod >out &&
	v=$(cat out) && test "$v" = 2 &&
	start_secondary z1 --sync-root frz --deploy-root dz --poll-ms 100 \
		--public-key key.pub --cluster-id prod --max-lag-ms 1000 &&
	wait_for 20 "test \"\$(current_version dz)\" = 2" &&
	wait_for 20 "test \"\$(healthz z1.log)\" = 200" &&
	rel=$(current_release dz) &&
	cp frz/state.json good.json &&
	printf "garbage\n" >frz/state.json.tmp && mv frz/state.json.tmp frz/state.json &&
	wait_for 20 "test \"\$(healthz z1.log)\" = 503" &&
	grep_file "sync root unverifiable" healthz.json &&
	status z1.log && test "$(field status.json sync_root_state)" = unverifiable &&
	test "$(field status.json healthy)" = False &&
	test "$(metric z1.log artsync_sync_root_verifiable)" = 0 &&
	test "$(current_release dz)" = "$rel" &&
	cp good.json frz/state.json.tmp && mv frz/state.json.tmp frz/state.json &&
	wait_for 20 "test \"\$(healthz z1.log)\" = 200"
'

test_expect_success 'an older version, or a bad signature: the same' '
	cp frz/snapshots/1.state.json frz/state.json.tmp &&
	mv frz/state.json.tmp frz/state.json &&
	wait_for 20 "test \"\$(healthz z1.log)\" = 503" &&
	grep_file "older than the version applied" healthz.json &&
	status z1.log && test "$(field status.json sync_root_state)" = older &&
	sed "s/\"node_id\": \"[^\"]*\"/\"node_id\": \"x\"/" good.json \
		>frz/state.json.tmp &&
	! cmp -s good.json frz/state.json.tmp &&
	mv frz/state.json.tmp frz/state.json &&
	wait_for 20 "test \"\$(healthz z1.log)\" = 503 && grep -q \"bad signature\" healthz.json" &&
	status z1.log && test "$(field status.json sync_root_state)" = unverifiable &&
	test "$(current_release dz)" = "$rel" &&
	cp good.json frz/state.json.tmp && mv frz/state.json.tmp frz/state.json &&
	wait_for 20 "test \"\$(healthz z1.log)\" = 200" &&
	stop $pid_z1
'

# --- 13: numbering ----------------------------------------------------------

test_expect_success 'file names planted in snapshots/ number nothing, and stay' '
	latest=$(state_version sync) &&
	: >sync/snapshots/9223372036854775000.state.sig &&
	echo x >sync/snapshots/99999999999999999999.tar.zst &&
	echo x >sync/snapshots/9223372036854775807.state.sig &&
	make_artifact api Three 3 &&
	"$ARTSYNC" publish --source src --sync-root sync --signing-key key \
		--cluster-id prod >out &&
	test "$(cat out)" = $((latest + 1)) &&
	test -e sync/snapshots/9223372036854775000.state.sig &&
	test -e sync/snapshots/99999999999999999999.tar.zst &&
	"$ARTSYNC" verify --sync-root sync --public-key key.pub >out
'

test_expect_success 'an unreadable latest: published above every verifiable version' '
	latest=$(state_version sync) &&
	printf "{ torn" >sync/state.json &&
	make_artifact api Four 4 &&
	"$ARTSYNC" publish --source src --sync-root sync --signing-key key \
		--cluster-id prod >out 2>err &&
	test "$(cat out)" = $((latest + 1)) &&
	grep_file "replaced an unreadable latest version" err
'

test_expect_success 'with nothing verifiable at all: refused, clearly' '
	mkdir -p bare/snapshots &&
	printf "{ torn" >bare/state.json &&
	: >bare/snapshots/9223372036854775000.state.sig &&
	test_exit_code 1 "$ARTSYNC" publish --source src --sync-root bare \
		--signing-key key --cluster-id prod >out 2>err &&
	grep_file "no state on disk that can be verified" err &&
	test ! -e bare/snapshots/1.state.json
'

finish
