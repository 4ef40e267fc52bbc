#!/bin/bash
# t25-scenario: the whole life of a small cluster, end to end, in one script.
#
# A primary daemon and two secondaries; the primary publishes the tree and a
# change, both secondaries apply them; through d1's REST endpoint (with the
# CLI client) an artifact is undeployed, another deployed locally, the first
# redeployed; a corrupted version reaches the sync root and both refuse it,
# still serving, until a good one heals them; every process stops on
# SIGTERM with status 0. Short, and touching every part of the binary: it is
# the scenario `make valgrind` runs with every artsync process under
# valgrind (VALGRIND=1, see lib.sh), and it runs plainly in the suite too.
. "$(dirname "$0")/lib.sh"

# converged: both deploy roots hold exactly the source, at the version
# state.json names.
converged() {
	v=$(state_version sync) &&
	test "$(current_version d1)" = "$v" &&
	test "$(current_version d2)" = "$v" &&
	same_tree src d1/current &&
	same_tree src d2/current
}

test_expect_success 'a primary publishes the fixtures' '
	fixture_tree src &&
	start_primary --source src --sync-root sync --quiet-ms 100 \
		--retry-ms 500 &&
	wait_for 30 "test -f sync/state.json" &&
	test "$(state_version sync)" = 1
'

test_expect_success 'two secondaries apply version 1' '
	start_secondary d1 --sync-root sync --deploy-root d1 --poll-ms 200 &&
	listen_port d1.log &&
	start_secondary d2 --sync-root sync --deploy-root d2 --poll-ms 200 \
		--recycle-releases no &&
	wait_for 30 converged &&
	release_is_complete d1 &&
	release_is_complete d2
'

# The CLI talks to d1, and finds its token through its deploy root.
export ARTSYNC_DEPLOY_ROOT=$TRASH/d1

test_expect_success 'a change is published and applied by both' '
	make_artifact api Added v2 &&
	printf "<!-- changed -->\n" >>src/sequences/main.xml &&
	rm src/endpoints/wsdlEpTest.xml &&
	wait_for 30 "converged && test \$(state_version sync) -gt 1" &&
	"$ARTSYNC" verify --sync-root sync >out &&
	grep_file "OK" out
'

test_expect_success 'status and list through the CLI client' '
	"$ARTSYNC" status --endpoint "$EP" >out &&
	grep_file "^applied_version: +$(state_version sync)$" out &&
	"$ARTSYNC" list --type api --endpoint "$EP" >out &&
	grep_file "Added" out
'

test_expect_success 'undeploy on d1 only: gone from d1, kept on d2' '
	"$ARTSYNC" undeploy api HelloWorld --endpoint "$EP" >out &&
	grep_file "undeployed-local" out &&
	test ! -e d1/current/api/HelloWorld.xml &&
	cmp src/api/HelloWorld.xml d2/current/api/HelloWorld.xml &&
	release_is_complete d1
'

test_expect_success 'deploy-local on d1: byte for byte, d2 untouched' '
	printf "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sequence xmlns=\"http://ws.apache.org/ns/synapse\" name=\"Dbg\">\n  <log level=\"full\"/>\n</sequence>\n" \
		>dbg.xml &&
	"$ARTSYNC" deploy-local sequences Dbg dbg.xml --endpoint "$EP" >out &&
	grep_file "deployed-local" out &&
	cmp dbg.xml d1/current/sequences/Dbg.xml &&
	"$ARTSYNC" show sequences Dbg --endpoint "$EP" >out &&
	cmp dbg.xml out &&
	test ! -e d2/current/sequences/Dbg.xml
'

test_expect_success 'an invalid deploy-local is refused, nothing changes' '
	rel=$(readlink d1/current) &&
	printf "<sequence" >bad.xml &&
	test_exit_code 1 "$ARTSYNC" deploy-local sequences Bad bad.xml \
		--endpoint "$EP" >out 2>err &&
	test "$(readlink d1/current)" = "$rel"
'

test_expect_success 'redeploy on d1: upstream copy back' '
	"$ARTSYNC" redeploy api HelloWorld --endpoint "$EP" >out &&
	grep_file "synced" out &&
	cmp src/api/HelloWorld.xml d1/current/api/HelloWorld.xml &&
	release_is_complete d1
'

# A version whose archive has one byte inverted, put in place as a
# publisher would (snapshot files first, state.json last, by rename), made
# in a copy of the sync root so that no secondary sees it before it is
# damaged.
test_expect_success 'a corrupted version: both refuse it and keep serving' '
	stop $pid_primary &&
	r1=$(readlink d1/current) && r2=$(readlink d2/current) &&
	cp -R sync sync.copy && rm -f sync.copy/.publish.lock &&
	make_artifact sequences Corrupt v3 &&
	"$ARTSYNC" publish --source src --sync-root sync.copy >out &&
	bad=$(cat out) &&
	python3 "$HELPER" flip-byte "sync.copy/$(own_file sync.copy $bad archive)" &&
	test_exit_code 1 "$ARTSYNC" verify --sync-root sync.copy >out 2>err &&
	cp sync.copy/snapshots/$bad.* sync/snapshots/ &&
	cp sync.copy/state.json sync/.state.new &&
	mv sync/.state.new sync/state.json &&
	wait_for_log d1.log "version $bad refused: .*checksum mismatch" &&
	wait_for_log d2.log "version $bad refused: .*checksum mismatch" &&
	test "$(readlink d1/current)" = "$r1" &&
	test "$(readlink d2/current)" = "$r2" &&
	release_is_complete d1 &&
	release_is_complete d2 &&
	test ! -e d1/current/sequences/Corrupt.xml
'

test_expect_success 'the next good version heals both' '
	make_artifact sequences Healed v4 &&
	start_primary --source src --sync-root sync --quiet-ms 100 \
		--retry-ms 500 &&
	wait_for 30 "test \$(state_version sync) -gt $bad" &&
	wait_for 30 "test -f d1/current/sequences/Healed.xml &&
		test -f d2/current/sequences/Healed.xml" &&
	cp dbg.xml src/sequences/Dbg.xml &&
	wait_for 30 converged &&
	"$ARTSYNC" verify --sync-root sync >out
'

test_expect_success 'SIGTERM stops all three with status 0' '
	stop $pid_primary &&
	stop $pid_d1 &&
	stop $pid_d2
'

finish
