#!/bin/bash
# t71-rest-guard: who may ask a secondary's REST endpoint what (issue 17,
# items 4, 6 and 12).
#
# With the default configuration (loopback, no token_file): a web page's
# simple cross-site POST and an unprivileged local user are refused, while
# root's CLI finds the token by itself. A token file that others may read
# stops the start.
. "$(dirname "$0")/lib.sh"

# code [CURL_ARGS...] URL: the HTTP status of one request (000: none); the
# answer is in the file body.
code() {
	curl -s --path-as-is --max-time 10 -o body -w '%{http_code}' "$@"
}

NS='xmlns="http://ws.apache.org/ns/synapse"'

test_expect_success 'setup: version 1, a secondary with the default config' '
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	start_secondary s1 --sync-root sync --deploy-root d1 --poll-ms 100 &&
	listen_port s1.log &&
	wait_for 20 "test \"\$(current_version d1)\" = 1" &&
	rel=$(current_release d1) &&
	TOKEN=$(cat d1/rest.token)
'

# --- 4. cross-site requests --------------------------------------------------

test_expect_success 'a simple cross-site POST (text/plain, no token): 401, the API stays' '
	test "$(code -X POST -H "Content-Type: text/plain" --data x \
		"$EP/api/v1/artifacts/api/HelloWorld/undeploy")" = 401 &&
	grep_file "Bearer" body &&
	test "$(code -X POST -H "Content-Type: application/json" \
		-H "X-Requested-With: x" --data "{}" \
		"$EP/api/v1/artifacts/api/HelloWorld/undeploy")" = 401 &&
	test "$(current_release d1)" = "$rel" &&
	test -e d1/current/api/HelloWorld.xml
'

# --- 12. local users --------------------------------------------------------

test_expect_success 'an unprivileged user cannot PUT code: 401, nothing in current' '
	printf "<?xml version=\"1.0\"?>\n<api %s name=\"Evil\" context=\"/evil\"><resource methods=\"GET\"><inSequence><script language=\"js\">java.lang.Runtime.getRuntime().exec(\"touch /tmp/pwned\");</script><respond/></inSequence></resource></api>\n" \
		"$NS" >evil.xml &&
	chmod 644 evil.xml &&
	test "$(as_nobody curl -s -o /dev/null -w "%{http_code}" -X PUT \
		--data-binary @evil.xml "$EP/api/v1/artifacts/api/Evil")" = 401 &&
	test_exit_code 2 as_nobody env ARTSYNC_DEPLOY_ROOT="$TRASH/d1" \
		"$ARTSYNC" deploy-local api Evil "$TRASH/evil.xml" \
		--endpoint "$EP" >out 2>err &&
	test_line_count 1 err &&
	grep_file "rest.token: Permission denied .*a change needs the agent.s token" err &&
	test ! -e d1/current/api/Evil.xml &&
	test "$(current_release d1)" = "$rel"
'

test_expect_success 'nor undeploy sequences/main; it may still read status' '
	test_exit_code 2 as_nobody env ARTSYNC_DEPLOY_ROOT="$TRASH/d1" \
		"$ARTSYNC" undeploy sequences main --endpoint "$EP" >out 2>err &&
	grep_file "Permission denied" err &&
	test "$(as_nobody curl -s -o /dev/null -w "%{http_code}" -X POST \
		"$EP/api/v1/artifacts/sequences/main/undeploy")" = 401 &&
	test -e d1/current/sequences/main.xml &&
	as_nobody env ARTSYNC_DEPLOY_ROOT="$TRASH/d1" "$ARTSYNC" status \
		--endpoint "$EP" >out &&
	grep_file "^applied_version: +1$" out
'

test_expect_success 'root finds the token by itself (the deploy root of its config)' '
	printf "[secondary]\nsync_root = %s\ndeploy_root = %s\nlisten = 127.0.0.1:%s\n" \
		"$TRASH/sync" "$TRASH/d1" "$port" >node.conf &&
	"$ARTSYNC" undeploy sequences main --config node.conf >out &&
	grep_file "^sequences/main: undeployed-local" out &&
	test ! -e d1/current/sequences/main.xml &&
	ARTSYNC_CONFIG=$TRASH/node.conf "$ARTSYNC" redeploy sequences main >out &&
	test -e d1/current/sequences/main.xml
'

# --- 6. token file permissions -----------------------------------------------

test_expect_success 'a token_file others may read: exit 2, one line naming it and the fix' '
	printf "operator-token\n" >T &&
	for m in 666 644 640 604; do
		chmod $m T &&
		test_exit_code 2 timeout 10 "$ARTSYNC" secondary \
			--sync-root sync --deploy-root d3 --token-file T \
			--listen 127.0.0.1:0 >out 2>err &&
		test_line_count 1 err &&
		grep_file "token_file: .*T: a secret that others may read \(mode 0$m\): chmod 600 " err &&
		test_exit_code 2 "$ARTSYNC" secondary -n --sync-root sync \
			--deploy-root d3 --token-file T >out 2>err &&
		grep_file "chmod 600" err || return 1
	done &&
	test ! -e d3/current
'

test_expect_success '... mode 0600 starts, and no rest.token is made' '
	chmod 600 T &&
	start_secondary s3 --sync-root sync --deploy-root d3 --token-file T &&
	listen_port s3.log &&
	wait_for 20 "test \"\$(current_version d3)\" = 1" &&
	test ! -e d3/rest.token &&
	test "$(code -X POST -H "Authorization: Bearer operator-token" \
		"$EP/api/v1/sync")" = 200 &&
	stop $pid_s3
'

test_expect_success 'a generated token made readable by others: the restart is refused' '
	start_secondary s4 --sync-root sync --deploy-root d4 &&
	listen_port s4.log &&
	stop $pid_s4 &&
	chmod 644 d4/rest.token &&
	test_exit_code 2 timeout 10 "$ARTSYNC" secondary --sync-root sync \
		--deploy-root d4 --listen 127.0.0.1:0 >out 2>err &&
	test_line_count 1 err &&
	grep_file "d4/rest.token: a secret that others may read \(mode 0644\): chmod 600 " err &&
	chmod 600 d4/rest.token
'

test_expect_success 'stop the secondary' '
	stop $pid_s1
'

finish
