#!/bin/bash
# t20-cluster: one primary daemon and two secondaries on a shared sync root.
#
# Every change to the source (a new artifact, an edited one, a deleted one,
# a type folder that did not exist when the primary started, an invalid
# artifact then fixed, the whole source folder swapped by rename) must reach
# both deploy roots, byte for byte. Daemons stop on SIGTERM with status 0,
# and a secondary whose sync root has gone (before it starts, or while it
# runs) keeps serving what it applied and catches up when the root is back.
. "$(dirname "$0")/lib.sh"

# converged: both deploy roots hold exactly the source, at the version
# state.json names.
converged() {
	same_tree src d1/current &&
	same_tree src d2/current &&
	v=$(state_version sync) &&
	test "$(current_version d1)" = "$v" &&
	test "$(current_version d2)" = "$v"
}

test_expect_success 'setup: fixtures without tasks/' '
	fixture_tree src &&
	rm -rf src/tasks &&
	test ! -e src/tasks
'

test_expect_success 'the primary publishes the tree at start' '
	start_primary --source src --sync-root sync --quiet-ms 100 \
		--retry-ms 500 &&
	wait_for 20 "test -f sync/state.json" &&
	test "$(state_version sync)" = 1 &&
	wait_for_log primary.log "published version 1 "
'

test_expect_success 'two secondaries apply it' '
	start_secondary d1 --sync-root sync --deploy-root d1 --poll-ms 200 &&
	start_secondary d2 --sync-root sync --deploy-root d2 --poll-ms 200 &&
	wait_for 20 converged &&
	wait_for_log d1.log "$(applied_re 1)" &&
	wait_for_log d2.log "$(applied_re 1)"
'

test_expect_success 'a new artifact reaches both' '
	v0=$(state_version sync) &&
	make_artifact api NewApi created &&
	wait_for 20 "converged && test \$(state_version sync) -gt $v0" &&
	test -f d1/current/api/NewApi.xml
'

test_expect_success 'an edited artifact reaches both' '
	v0=$(state_version sync) &&
	printf "<!-- edited -->\n" >>src/sequences/main.xml &&
	wait_for 20 "converged && test \$(state_version sync) -gt $v0" &&
	grep_file "<!-- edited -->" d2/current/sequences/main.xml
'

# sed -i writes a temp file (sedXXXXXX) beside the artifact and renames it
# over: the temp file, gone by the time the tree is quiet, must not cost a
# read of the whole tree.
test_expect_success 'sed -i: published from the changed files alone' '
	v0=$(state_version sync) &&
	sed -i "s/<!-- edited -->/<!-- sed -->/" src/sequences/main.xml &&
	wait_for 20 "converged && test \$(state_version sync) -gt $v0" &&
	grep_file "<!-- sed -->" d1/current/sequences/main.xml &&
	v=$(state_version sync) &&
	grep_file "published version $v in [0-9]+ ms \\(changed files read\\)" \
		primary.log
'

test_expect_success 'a file that is not *.xml is ignored, as WSO2 ignores it' '
	v0=$(state_version sync) &&
	printf "x\n" >src/api/notes.txt &&
	make_artifact api AfterStray stray &&
	wait_for 20 "converged && test \$(state_version sync) -gt $v0" &&
	test -f d1/current/api/AfterStray.xml &&
	test ! -e d1/current/api/notes.txt &&
	! grep -q "publish failed" primary.log &&
	rm src/api/notes.txt
'

test_expect_success 'a deleted artifact leaves both' '
	v0=$(state_version sync) &&
	rm src/endpoints/wsdlEpTest.xml &&
	wait_for 20 "converged && test \$(state_version sync) -gt $v0" &&
	test ! -e d1/current/endpoints/wsdlEpTest.xml &&
	test ! -e d2/current/endpoints/wsdlEpTest.xml
'

test_expect_success 'a type folder created after start reaches both' '
	v0=$(state_version sync) &&
	mkdir src/tasks &&
	make_artifact tasks LateTask late &&
	wait_for 20 "converged && test \$(state_version sync) -gt $v0" &&
	test -f d1/current/tasks/LateTask.xml &&
	test -f d2/current/tasks/LateTask.xml
'

test_expect_success 'a second artifact in the new folder is seen too' '
	v0=$(state_version sync) &&
	make_artifact tasks LaterTask later &&
	wait_for 20 "converged && test \$(state_version sync) -gt $v0"
'

# The primary publishes only what inotify names; files that were in a folder
# before it was watched raise no event, so a new or moved-in folder must
# make it look at the whole tree.
test_expect_success 'a folder moved out, then back in holding a new artifact' '
	test -d src/message-stores &&
	v0=$(state_version sync) &&
	rm -rf aside && mkdir aside &&
	mv src/message-stores aside/ &&
	wait_for 20 "converged && test \$(state_version sync) -gt $v0" &&
	test ! -e d1/current/message-stores/$(ls aside/message-stores | head -n 1) &&
	v1=$(state_version sync) &&
	SRC=aside make_artifact message-stores MovedStore moved &&
	mv aside/message-stores src/ &&
	wait_for 20 "converged && test \$(state_version sync) -gt $v1" &&
	test -f d1/current/message-stores/MovedStore.xml &&
	test -f d2/current/message-stores/MovedStore.xml
'

test_expect_success 'an invalid artifact holds publishing back, and is logged' '
	v0=$(state_version sync) &&
	printf "<sequence xmlns=\"http://ws.apache.org/ns/synapse\" name=\"bad\">\n" \
		>src/sequences/Broken.xml &&
	wait_for_log primary.log "error: publish failed: .*sequences/Broken\.xml" &&
	test "$(state_version sync)" = "$v0" &&
	test ! -e d1/current/sequences/Broken.xml
'

test_expect_success 'once fixed, it is published and reaches both' '
	v0=$(state_version sync) &&
	make_artifact sequences Broken fixed &&
	wait_for 20 "converged && test \$(state_version sync) -gt $v0" &&
	wait_for_log primary.log "publish works again"
'

# How deployment tools often update a tree: build the new one beside it,
# then swap the folders by rename - at every deploy, not once. The primary
# must follow the path each time.
swap_source() {
	rm -rf src.new && cp -R src src.new &&
	SRC=src.new make_artifact api "Swapped$1" "swap-$1" &&
	mv src "src.old$1" && mv src.new src
}

for swap in 1 2; do
	test_expect_success "source folder swapped by rename (#$swap): published" '
		v0=$(state_version sync) &&
		swap_source $swap &&
		wait_for 20 "converged && test \$(state_version sync) -gt $v0" &&
		test -f d1/current/api/Swapped$swap.xml
	'

	test_expect_success "... and a change in the new folder (#$swap) is published" '
		v0=$(state_version sync) &&
		make_artifact api "AfterSwap$swap" after &&
		wait_for 20 "converged && test \$(state_version sync) -gt $v0" &&
		test -f d2/current/api/AfterSwap$swap.xml
	'
done

# Whatever the watch missed, a SIGHUP publishes now (and lets the tests
# below start from a converged cluster even if one above failed).
test_expect_success 'SIGHUP to the primary publishes the tree now' '
	make_artifact api ByHangup hup &&
	kill -HUP $pid_primary &&
	wait_for 20 "converged && test -f d1/current/api/ByHangup.xml"
'

test_expect_success 'both deploy roots hold complete releases' '
	release_is_complete d1 &&
	release_is_complete d2
'

test_expect_success 'no warning or error was logged but those expected' '
	! grep -E " (warn|error): " d1.log d2.log &&
	grep -E " (warn|error): " primary.log >problems &&
	! grep -E -v "Broken\.xml|watch lost|notes\.txt" problems
'

test_expect_success 'SIGTERM stops all three with status 0' '
	stop $pid_primary &&
	stop $pid_d1 &&
	stop $pid_d2
'

test_expect_success 'a secondary restarted without its sync root keeps serving' '
	mv sync sync.away &&
	start_secondary d1-nosync --sync-root sync --deploy-root d1 \
		--poll-ms 200 &&
	wait_for_log d1-nosync.log "still serving" &&
	grep_file "serving releases/v" d1-nosync.log &&
	is_running $pid_d1_nosync &&
	test -d d1/current &&
	same_tree src d1/current &&
	release_is_complete d1
'

test_expect_success 'it catches up when the sync root comes back' '
	mv sync.away sync &&
	make_artifact sequences AfterOutage back &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	wait_for 20 "same_tree src d1/current" &&
	test "$(current_version d1)" = "$(cat out)" &&
	wait_for_log d1-nosync.log "sync root readable again"
'

# An NFS share unmounted and mounted again, or an operator moving the
# directory away and back: the watch on the sync root is lost while the
# secondary runs, and must be taken up again.
test_expect_success 'the sync root vanishes under a running secondary: it keeps serving' '
	n=$(grep -c "still serving" d1-nosync.log) &&
	mv sync sync.away &&
	wait_for 20 "test \$(grep -c \"still serving\" d1-nosync.log) -gt $n" &&
	same_tree src d1/current &&
	release_is_complete d1 &&
	is_running $pid_d1_nosync
'

test_expect_success '... and when it is back, the next version is applied' '
	n=$(grep -c "sync root readable again" d1-nosync.log) &&
	mv sync.away sync &&
	wait_for 20 "test \$(grep -c \"sync root readable again\" d1-nosync.log) -gt $n" &&
	make_artifact sequences AfterSecondOutage back2 &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	wait_for 20 "test \"\$(current_version d1)\" = $(cat out)" &&
	same_tree src d1/current
'

test_expect_success 'SIGTERM stops it with status 0' '
	stop $pid_d1_nosync
'

finish
