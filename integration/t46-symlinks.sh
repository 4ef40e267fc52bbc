#!/bin/bash
# t46-symlinks: a symlink where a directory of ours belongs, and junk in
# the primary's snapshots/.
#
# A canary directory outside every root holds what a write, a rename or a
# delete through a followed symlink would reach (a build/ folder, a release
# without a record, a hidden leftover, version-like files). Each scenario
# puts a symlink to it where artsync keeps a directory of its own - the
# sync root's snapshots/, the deploy root's .staging/ and releases/, the
# release about to be recycled - and requires one line naming the link,
# a refusal (a non-zero exit, or a logged error and current unchanged), and
# the canary exactly as it was, file for file and byte for byte. The roots
# themselves may be symlinks (an operator's /var/lib/artsync -> /data):
# that keeps working. Last, the rsync push: junk in the primary's
# snapshots/ (a sparse 2 GB file, a hidden file, a foreign file) is not
# sent, and a foreign file on the target is not deleted.
. "$(dirname "$0")/lib.sh"

# canary_make DIR: the canary's content.
canary_make() {
	mkdir -p "$1/build" "$1/v9-r9" "$1/sub" &&
	echo keep >"$1/keep.xml" &&
	echo keep >"$1/build/keep.xml" &&
	echo keep >"$1/.leftover" &&
	echo keep >"$1/sub/deep.txt" &&
	echo not-a-version >"$1/1.tar.zst" &&
	echo not-a-version >"$1/5.manifest.json"
}

# tree_print DIR: every entry below DIR with its type, size and content
# checksum, sorted: what "unchanged" compares.
tree_print() {
	(cd "$1" && find . -printf '%y %p %s\n' | sort &&
		find . -type f -exec md5sum {} + | sort -k 2)
}

# canary_unchanged DIR: DIR as tree_print saw it in DIR.before.
canary_unchanged() {
	tree_print "$1" >"$1.now" &&
	diff "$1.before" "$1.now"
}

test_expect_success 'setup: a source tree' '
	fixture_tree src
'

# Each scenario has a canary of its own: harm done in one never shows in
# another. The harm is checked first, the refusal's wording after.

# --- the sync root (issue 17, item 7) ---------------------------------------

test_expect_success 'publish into a sync root whose snapshots/ is a symlink: refused' '
	canary_make c7a && tree_print c7a >c7a.before &&
	mkdir sync &&
	ln -s "$TRASH/c7a" sync/snapshots &&
	{ "$ARTSYNC" publish --source src --sync-root sync >out 2>err; rc=$?; } &&
	canary_unchanged c7a &&
	test "$(ls -A sync)" = snapshots &&
	test $rc = 1 && test ! -s out &&
	grep_file "^artsync: publish failed: sync root sync: snapshots is a symlink \(to .$TRASH/c7a.\): artsync never follows one there; replace it with a directory$" err &&
	test_line_count 1 err
'

test_expect_success 'the same link put in after version 1: publish, rollback and verify refused' '
	canary_make c7b && tree_print c7b >c7b.before &&
	"$ARTSYNC" publish --source src --sync-root sync2 >out &&
	test "$(cat out)" = 1 &&
	mv sync2/snapshots sync2.snapshots &&
	ln -s "$TRASH/c7b" sync2/snapshots &&
	cp sync2/state.json state.before &&
	make_artifact api Changed 2 &&
	{ "$ARTSYNC" publish --source src --sync-root sync2 >out 2>err; rc=$?; } &&
	canary_unchanged c7b &&
	cmp sync2/state.json state.before &&
	test $rc = 1 &&
	grep_file "snapshots is a symlink \(to .$TRASH/c7b.\)" err &&
	test_exit_code 1 "$ARTSYNC" rollback --sync-root sync2 --to 1 \
		>out 2>err &&
	grep_file "snapshots is a symlink" err &&
	test_exit_code 1 "$ARTSYNC" verify --sync-root sync2 >out 2>err &&
	grep_file "snapshots is a symlink" err &&
	canary_unchanged c7b
'

test_expect_success 'the primary daemon logs the refusal once and keeps trying, writing nothing' '
	canary_make c7c && tree_print c7c >c7c.before &&
	"$ARTSYNC" publish --source src --sync-root sync3 >/dev/null &&
	mv sync3/snapshots sync3.snapshots &&
	ln -s "$TRASH/c7c" sync3/snapshots &&
	make_artifact api Changed 3 &&
	start_primary --source src --sync-root sync3 --quiet-ms 100 \
		--retry-ms 100 &&
	{ wait_for_log primary.log "publish failed: sync root sync3: snapshots is a symlink \(to .$TRASH/c7c.\)"; seen=$?; } &&
	canary_unchanged c7c &&
	is_running "$pid_primary" &&
	stop "$pid_primary" &&
	test $seen = 0 &&
	test "$(grep -c "snapshots is a symlink" primary.log)" = 1
'

test_expect_success 'a sync root that is itself a symlink is the operator'"'"'s: it works' '
	mkdir real-sync &&
	ln -s "$TRASH/real-sync" linked-sync &&
	"$ARTSYNC" publish --source src --sync-root linked-sync >out &&
	test "$(cat out)" = 1 &&
	test -f real-sync/snapshots/1.tar.zst &&
	"$ARTSYNC" verify --sync-root linked-sync >/dev/null
'

# --- the deploy root (issue 17, item 8) -------------------------------------

test_expect_success 'setup: a sync root of its own for the secondaries' '
	"$ARTSYNC" publish --source src --sync-root syncd >out &&
	test "$(cat out)" = 1
'

test_expect_success 'a secondary whose .staging is a symlink refuses to start' '
	canary_make c8a && tree_print c8a >c8a.before &&
	mkdir d0 &&
	ln -s "$TRASH/c8a" d0/.staging &&
	{ timeout 10 "$ARTSYNC" secondary --sync-root syncd --deploy-root d0 \
		--poll-ms 100 --listen 127.0.0.1:0 >out 2>err; rc=$?; } &&
	canary_unchanged c8a &&
	test -L d0/.staging &&
	test $rc = 1 &&
	grep_file "deploy root d0: \.staging is a symlink \(to .$TRASH/c8a.\): artsync never follows one there; replace it with a directory" err
'

test_expect_success 'a secondary whose releases/ is a symlink refuses to start' '
	canary_make c8b && tree_print c8b >c8b.before &&
	mkdir d1 &&
	ln -s "$TRASH/c8b" d1/releases &&
	{ timeout 10 "$ARTSYNC" secondary --sync-root syncd --deploy-root d1 \
		--poll-ms 100 --listen 127.0.0.1:0 >out 2>err; rc=$?; } &&
	canary_unchanged c8b &&
	test $rc = 1 &&
	grep_file "deploy root d1: releases is a symlink \(to .$TRASH/c8b.\)" err
'

test_expect_success 'setup: a secondary on version 2, keeping 2 releases' '
	start_secondary s2 --sync-root syncd --deploy-root d2 --poll-ms 100 \
		--keep-releases 2 &&
	listen_port s2.log &&
	wait_for 20 "test \"\$(current_version d2)\" = 1" &&
	make_artifact api Changed 4 &&
	"$ARTSYNC" publish --source src --sync-root syncd >out &&
	test "$(cat out)" = 2 &&
	wait_for 20 "test \"\$(current_version d2)\" = 2" &&
	same_tree src d2/current
'

test_expect_success '.staging made a symlink while it runs: the apply is refused' '
	canary_make c8c && tree_print c8c >c8c.before &&
	{ rmdir d2/.staging || :; } &&
	ln -s "$TRASH/c8c" d2/.staging &&
	make_artifact api Changed 5 &&
	"$ARTSYNC" publish --source src --sync-root syncd >out &&
	test "$(cat out)" = 3 &&
	{ wait_for_log s2.log "deploy root d2: \.staging is a symlink \(to .$TRASH/c8c.\): artsync never follows one there; replace it with a directory; still serving v2-r2"; seen=$?; } &&
	canary_unchanged c8c &&
	test "$(current_release d2)" = v2-r2 &&
	test -d d2/releases/v2-r2 && ! test -L d2/releases/v2-r2 &&
	test $seen = 0 &&
	is_running "$pid_s2"
'

test_expect_success 'the link replaced by a directory: the next check applies' '
	rm -f d2/.staging && mkdir -p d2/.staging &&
	curl -sf -X POST -H "$(rest_auth d2)" "$EP/api/v1/sync" >/dev/null &&
	wait_for 20 "test \"\$(current_version d2)\" = 3" &&
	same_tree src d2/current &&
	canary_unchanged c8c
'

test_expect_success 'the release to recycle is a symlink: not patched, the link removed' '
	test -d d2/releases/v2-r2 &&
	mv d2/releases/v2-r2 relcanary &&
	ln -s "$TRASH/relcanary" d2/releases/v2-r2 &&
	tree_print relcanary >relcanary.before &&
	make_artifact api Changed 6 &&
	"$ARTSYNC" publish --source src --sync-root syncd >out &&
	test "$(cat out)" = 4 &&
	wait_for 20 "test \"\$(current_version d2)\" = 4" &&
	canary_unchanged relcanary &&
	cur=$(current_release d2) &&
	test -d "d2/releases/$cur" && ! test -L "d2/releases/$cur" &&
	! test -e d2/releases/v2-r2 && ! test -L d2/releases/v2-r2 &&
	same_tree src d2/current &&
	release_is_complete d2 &&
	wait_for_log s2.log "releases/v2-r2 is a symlink \(to .$TRASH/relcanary.\): not recycled; removed \(a link itself, never what it points at\)"
'

test_expect_success 'and the next apply recycles as usual' '
	make_artifact api Changed 7 &&
	"$ARTSYNC" publish --source src --sync-root syncd >out &&
	wait_for 20 "test \"\$(current_version d2)\" = 5" &&
	wait_for_log s2.log "version 5\) live in [0-9]+ ms \(patched " &&
	same_tree src d2/current &&
	leftovers_clean d2 2 &&
	stop "$pid_s2"
'

# --- the rsync push (issue 17, item 15) -------------------------------------

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

test_expect_success 'setup: an rsync daemon, junk in the primary'"'"'s snapshots/, foreign files on the target' '
	rport=$(free_port) &&
	mkdir -p target/snapshots/notes &&
	printf "%s\n" "use chroot = no" "pid file = $TRASH/rsyncd.pid" "[m]" \
		"path = $TRASH/target" "read only = no" "uid = root" \
		"gid = root" >rsyncd.conf &&
	start_bg rsyncd rsync --daemon --no-detach --address 127.0.0.1 \
		--port "$rport" --config "$TRASH/rsyncd.conf" &&
	wait_for 10 "ss -ltn | grep -q \"127.0.0.1:$rport \"" &&
	mkdir -p psync/snapshots &&
	truncate -s 2G psync/snapshots/junk.img &&
	echo hidden >psync/snapshots/.hidden &&
	echo foreign >psync/snapshots/foreign.txt &&
	echo keep >target/snapshots/keep-me.txt &&
	echo keep >target/snapshots/notes/n.txt &&
	echo old >target/snapshots/7.tar.zst
'

test_expect_success 'the primary pushes only its own files, deletes only its own names' '
	start_bg pushprimary "$ARTSYNC" primary --source src --sync-root psync \
		--quiet-ms 100 --retry-ms 200 \
		--push "rsync://127.0.0.1:$rport/m" &&
	wait_for 60 "test \"\$(state_version target)\" = 1" &&
	test "$(cd target/snapshots && ls -A | sort | tr "\n" " ")" = "1.manifest.json 1.state.json 1.tar.zst keep-me.txt notes " &&
	wait_for_log pushprimary.log "pushed version 1 to rsync://127.0.0.1:$rport/m" &&
	test "$(cat target/snapshots/notes/n.txt)" = keep &&
	cmp psync/snapshots/1.tar.zst target/snapshots/1.tar.zst &&
	"$ARTSYNC" verify --sync-root target >/dev/null &&
	test "$(du -sk target | cut -f1)" -lt 10240 &&
	stop "$pid_pushprimary"
'

finish
