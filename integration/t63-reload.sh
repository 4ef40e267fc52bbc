#!/bin/bash
# t63-reload: SIGHUP reloads the config file where that is safe.
#
# A secondary started from a file (and one flag) is sent SIGHUP after each
# edit: log_level, labels, the REST token (a new file, new content), the
# exec hook and a webhook are taken at once, each said in one line, and
# seen to work (debug lines appear; the release is rebuilt for the new
# labels; the old token gets 401 and the new one 200; the next swap runs
# the new hook and is POSTed to the new webhook); sync_root is said to
# need a restart and is not used; a flag given at start still wins over
# the file; a file that does not parse or check changes nothing, and the
# daemon serves on. A primary reloads too and still publishes at SIGHUP;
# a new signing_key signs its next version.
. "$(dirname "$0")/lib.sh"

# req METHOD PATH [CURL_ARGS...]: sets code.
req() {
	local m=$1 p=$2
	shift 2
	code=$(curl -s --max-time 10 -o body -w '%{http_code}' -X "$m" "$@" "$EP$p")
	say "# $m $p -> $code: $(head -c 200 body)"
	test "$code" != 000
}

# conf KEY VALUE: sets KEY in conf's [secondary] section (the file's
# last), replacing its line.
conf() {
	sed -i "/^$1 *=/d" conf &&
	printf '%s = %s\n' "$1" "$2" >>conf
}

# hup: SIGHUP to the secondary, and wait for its reload line.
hup() {
	local n
	n=$(grep -c "configuration reloaded\|reload refused" s1.log)
	kill -HUP $pid_s1 &&
	wait_for 10 "test \$(grep -c 'configuration reloaded\|reload refused' s1.log) -gt $n"
}

test_expect_success 'setup: a labelled tree, two tokens, a secondary from a file' '
	mkdir -p src/api src/sequences sync &&
	make_artifact api Plain p &&
	make_artifact sequences Inner p &&
	printf "%s\n" "sequences/* = internal" >src/labels.conf &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null &&
	printf "token-one\n" >T1 && printf "token-two\n" >T2 && chmod 600 T1 T2 &&
	printf "%s\n" "[artsync]" "log_level = info" "[secondary]" \
		"sync_root = $TRASH/sync" "deploy_root = $TRASH/dep" \
		"listen = 127.0.0.1:0" "token_file = $TRASH/T1" \
		"labels = default" "max_lag_ms = 60000" >conf &&
	start_secondary s1 --config conf --poll-ms 100 --max-lag-ms 5000 &&
	listen_port s1.log &&
	wait_for 20 "test \"\$(current_version dep)\" = 1" &&
	test -e dep/current/api/Plain.xml &&
	test ! -e dep/current/sequences/Inner.xml
'

test_expect_success 'log_level: info -> debug, said and taken' '
	sed -i "s/^log_level = info$/log_level = debug/" conf &&
	hup &&
	grep_file "log_level: info -> debug" s1.log &&
	mv sync sync.away &&
	wait_for_log s1.log "artsync debug: .*polling only" &&
	mv sync.away sync
'

test_expect_success 'labels: the release is rebuilt for the new ones' '
	conf labels "default, internal" &&
	hup &&
	grep_file "labels: default -> default,internal" s1.log &&
	wait_for 10 "test -e dep/current/sequences/Inner.xml" &&
	test -e dep/current/api/Plain.xml
'

test_expect_success 'token: the old one is refused, the new one taken' '
	req POST /api/v1/sync -H "Authorization: Bearer token-one" &&
	test "$code" = 200 &&
	conf token_file "$TRASH/T2" &&
	hup &&
	grep_file "token: changed" s1.log &&
	! grep -q "token-two\|token-one" s1.log &&
	req POST /api/v1/sync -H "Authorization: Bearer token-one" &&
	test "$code" = 401 &&
	req POST /api/v1/sync -H "Authorization: Bearer token-two" &&
	test "$code" = 200
'

test_expect_success 'token: new content under the same file name is taken too' '
	printf "token-2b\n" >T2 &&
	hup &&
	test "$(grep -c "token: changed" s1.log)" = 2 &&
	req POST /api/v1/sync -H "Authorization: Bearer token-two" &&
	test "$code" = 401 &&
	printf "token-two\n" >T2 &&
	hup &&
	req POST /api/v1/sync -H "Authorization: Bearer token-two" &&
	test "$code" = 200
'

test_expect_success 'exec_hook: the next swap runs the new command' '
	conf exec_hook "echo new-hook \$ARTSYNC_VERSION >>$TRASH/hook.out" &&
	hup &&
	grep_file "exec_hook: .none. -> echo new-hook" s1.log &&
	make_artifact api Second p &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null &&
	wait_for 20 "grep -q \"new-hook 2\" hook.out"
'

test_expect_success 'webhook_url set: the next swap is POSTed there, with its token' '
	start_bg r1 "$PYTHON" "$HELPER" webhook-receiver r1.port r1 &&
	wait_for 20 "test -s r1.port" &&
	printf "hook-secret\n" >wt && chmod 600 wt &&
	conf webhook_url "http://127.0.0.1:$(cat r1.port)/artsync" &&
	conf webhook_token_file "$TRASH/wt" &&
	hup &&
	grep_file "webhook_url: changed" s1.log &&
	! grep -q "$(cat r1.port)" s1.log &&
	ARTSYNC_DEPLOY_ROOT=dep "$ARTSYNC" undeploy api Second \
		--endpoint "$EP" --token-file T2 >out &&
	wait_for 20 "test -s r1/log" &&
	"$PYTHON" -c "import json; b = json.load(open(\"r1/1.body\")); assert b[\"reason\"] == \"undeploy\", b" &&
	grep -q "Bearer hook-secret" r1/1.headers &&
	ARTSYNC_DEPLOY_ROOT=dep "$ARTSYNC" redeploy api Second \
		--endpoint "$EP" --token-file T2 >out
'

test_expect_success 'sync_root changed: needs a restart, not used' '
	conf sync_root "$TRASH/elsewhere" &&
	hup &&
	grep_file "sync_root changed in conf; needs a restart, still using $TRASH/sync" s1.log &&
	make_artifact api Third p &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null &&
	wait_for 20 "test \"\$(current_version dep)\" = 3" &&
	conf sync_root "$TRASH/sync" && hup
'

test_expect_success 'a flag given at start wins over the file: max_lag_ms not changed' '
	conf max_lag_ms 1234 &&
	hup &&
	! grep -q "max_lag_ms:" s1.log
'

test_expect_success 'a broken file: one error naming file and line; old config kept, serving on' '
	cp conf conf.good &&
	printf "poll_ms = soon\n" >>conf &&
	hup &&
	grep_file "reload refused: conf:[0-9]*: poll_ms" s1.log &&
	grep_file "still running with the configuration from before" s1.log &&
	req POST /api/v1/sync -H "Authorization: Bearer token-two" &&
	test "$code" = 200 &&
	printf "no_such_key = 1\n" >conf.bad && cat conf.good conf.bad >conf &&
	hup &&
	grep_file "reload refused: conf:[0-9]*: unknown key .no_such_key." s1.log &&
	cp conf.good conf &&
	printf "T\n" >T3 && chmod 644 T3 && conf token_file "$TRASH/T3" &&
	hup &&
	test "$(grep -c "reload refused" s1.log)" = 3 &&
	req POST /api/v1/sync -H "Authorization: Bearer token-two" &&
	test "$code" = 200 &&
	cp conf.good conf && is_running $pid_s1
'

test_expect_success 'the same file again: nothing changes, still serving' '
	hup &&
	wait_for_log s1.log "configuration reloaded from conf: 0 changes" &&
	stop $pid_s1
'

test_expect_success 'a primary reloads (log_level) and still publishes at SIGHUP' '
	printf "%s\n" "[artsync]" "log_level = warn" "[primary]" \
		"source = $TRASH/src" "sync_root = $TRASH/psync" >pconf &&
	start_primary --config pconf --quiet-ms 50 &&
	wait_for 20 "test -e psync/state.json" &&
	sed -i "s/^log_level = warn/log_level = debug/" pconf &&
	kill -HUP $pid_primary &&
	wait_for_log primary.log "log_level: warn -> debug" &&
	wait_for_log primary.log "source unchanged|published version" &&
	stop $pid_primary
'

test_expect_success 'a primary takes a new signing_key: the next version is signed by it' '
	"$ARTSYNC" keygen --out k1 >/dev/null 2>&1 &&
	"$ARTSYNC" keygen --out k2 >/dev/null 2>&1 &&
	printf "%s\n" "[primary]" "source = $TRASH/src" \
		"sync_root = $TRASH/ksync" "signing_key = $TRASH/k1" >kconf &&
	start_bg pk "$ARTSYNC" primary --config kconf --quiet-ms 50 \
		--node-id pk &&
	wait_for 20 "test -e ksync/state.json" &&
	"$ARTSYNC" verify --sync-root ksync --public-key k1.pub >out &&
	sed -i "s#k1\$#k2#" kconf &&
	kill -HUP $pid_pk &&
	wait_for_log pk.log "signing_key: key [0-9a-f]{16} -> [0-9a-f]{16}" &&
	grep_file "signing_key: $TRASH/k1 -> $TRASH/k2" pk.log &&
	make_artifact api Signed k2 &&
	wait_for 20 "\"$ARTSYNC\" verify --sync-root ksync --public-key k2.pub >out 2>&1" &&
	test_exit_code 1 "$ARTSYNC" verify --sync-root ksync --public-key k1.pub &&
	stop $pid_pk
'

finish
