#!/bin/bash
# t22-chain: the delta chain restarts without a full publish.
#
# With max_chain 4 the chain is full every few changes. The primary's
# child writes a full copy of the latest version once the chain is half
# full, and when the chain is full the next version is a delta on that
# copy: never again the whole tree read, and a secondary keeps patching
# releases from deltas (once it holds keep_releases: the first ones are
# full builds). (A damaged copy is not built on:
# tests/test_snap_changes_chain.c.)
. "$(dirname "$0")/lib.sh"

converged() {
	same_tree src d1/current &&
	test "$(current_version d1)" = "$(state_version sync)"
}

# base_version: the full version state.json's chain starts on.
base_version() {
	"$PYTHON" "$HELPER" json-get sync/state.json base_version
}

# edit N: changes one artifact and waits until d1 holds version N.
edit() {
	printf '<!-- edit %s -->\n' "$1" >>src/sequences/main.xml &&
	wait_for 20 "converged && test \$(state_version sync) = $1"
}

test_expect_success 'setup: a primary with max_chain 4, a secondary' '
	fixture_tree src &&
	start_primary --source src --sync-root sync --quiet-ms 50 \
		--max-chain 4 --log-level debug &&
	wait_for_log primary.log "published version 1 " &&
	start_secondary d1 --sync-root sync --deploy-root d1 &&
	wait_for 20 converged
'

test_expect_success 'twelve changes: the chain restarts on copies, never on the tree' '
	for v in 2 3 4 5 6 7 8 9 10 11 12 13; do
		edit $v || return 1
	done &&
	test "$(grep -c "whole tree read" primary.log)" = 1 &&
	test "$(grep -c "the chain restarts on the full copy of version" \
		primary.log)" -ge 2 &&
	test "$(base_version)" -gt 1 &&
	"$ARTSYNC" verify --sync-root sync >out &&
	grep "live in" d1.log | tail -n 6 >last &&
	test "$(grep -c "patched" last)" = 6
'

test_expect_success 'every retained version verifies, the restarted chains too' '
	for v in 9 10 11 12 13; do
		"$ARTSYNC" verify --sync-root sync $v >out ||
			return 1
	done
'

# Retention runs once the tree is quiet, not inside each publish: removing
# old files need not compete with secondaries fetching the new version.
test_expect_success 'retention once quiet: old versions go a moment later' '
	mkdir src2 &&
	cp -r src/api src2/ &&
	start_bg primary2 "$ARTSYNC" primary --source src2 --sync-root sync2 		--quiet-ms 20 --max-chain 0 --keep-versions 2 		--keep-grace-ms 0 &&
	wait_for_log primary2.log "published version 1 " &&
	for v in 2 3 4 5; do
		printf "<!-- %s -->
" $v >>src2/api/$(ls src2/api | head -n 1) &&
		wait_for 20 "test \$(state_version sync2) = $v" || return 1
	done &&
	wait_for 10 "test \$(ls sync2/snapshots | wc -l) = 6" &&
	test -f sync2/snapshots/5.tar.zst &&
	test -f sync2/snapshots/4.tar.zst &&
	stop $pid_primary2
'

test_expect_success 'SIGTERM: status 0, and no child left behind' '
	stop $pid_primary &&
	! pgrep -f -- "--sync-root sync --quiet-ms 50 --max-chain 4" >/dev/null
'

finish
