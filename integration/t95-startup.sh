#!/bin/bash
# t95-startup: startup modes (WSO2's data_retrieval_mode).
#
# async: ready at once with the last applied release. sync: not ready -
# neither /healthz nor systemd's READY=1 - until the latest version is
# applied, or until startup_tries checks failed. READY=1 is read from a real
# NOTIFY_SOCKET, as systemd would.
. "$(dirname "$0")/lib.sh"

# secondary_with_notify NAME ARGS...: a secondary whose sd_notify goes to
# NAME's listener.
secondary_with_notify() {
	local name=$1
	shift
	NOTIFY_SOCKET=$TRASH/$name.sock start_secondary "$name" "$@"
}

healthz() {	# healthz PORT: prints the status code, body in hz
	curl -s -o hz -w '%{http_code}' "http://127.0.0.1:$1/healthz"
}

test_expect_success 'setup: version 1 applied once, then the agent stopped' '
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null &&
	start_secondary first --sync-root sync --deploy-root dep --poll-ms 100 &&
	wait_for 20 "test \"\$(current_version dep)\" = 1" &&
	stop "$pid_first"
'

test_expect_success 'async, sync root away: ready at once with version 1' '
	mv sync sync.away &&
	notify_listener a &&
	secondary_with_notify a --sync-root sync --deploy-root dep \
		--poll-ms 100 --startup async &&
	listen_port a.log &&
	wait_for 10 "grep -q READY=1 a.msgs" &&
	test "$(healthz $port)" = 200 &&
	grep -q "\"applied_version\":1" hz &&
	stop "$pid_a"
'

test_expect_success 'sync, sync root away: not ready until the tries run out' '
	notify_listener s &&
	secondary_with_notify s --sync-root sync --deploy-root dep \
		--poll-ms 100 --startup sync --startup-tries 15 &&
	listen_port s.log &&
	test "$(healthz $port)" = 503 &&
	grep -q "starting" hz &&
	! grep -q READY=1 s.msgs 2>/dev/null &&
	wait_for 20 "grep -q READY=1 s.msgs" &&
	grep -q "could not be applied in 15 checks; ready with v1-r1" s.log &&
	test "$(healthz $port)" = 200 &&
	stop "$pid_s"
'

test_expect_success 'sync, newer version 2: ready only once it is applied' '
	mv sync.away sync &&
	make_artifact api Newer v2 &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null &&
	notify_listener s2 &&
	secondary_with_notify s2 --sync-root sync --deploy-root dep \
		--poll-ms 100 --startup sync &&
	listen_port s2.log &&
	wait_for 20 "test \"\$(healthz $port)\" = 200" &&
	grep -q "\"applied_version\":2" hz &&
	grep -q READY=1 s2.msgs &&
	grep -q "startup: version 2 applied; ready" s2.log &&
	same_tree src dep/current &&
	stop "$pid_s2"
'

test_expect_success 'a bad startup value is a usage error' '
	test_exit_code 2 "$ARTSYNC" secondary --sync-root sync \
		--deploy-root dep --startup later -n 2>err &&
	grep -q "startup" err
'

finish
