#!/bin/bash
# t65-hook: what a secondary runs after each swap of current.
#
# exec_hook: a command that finds the swap's facts in its environment, for a
# sync and for each local operation (undeploy, redeploy, deploy-local); one
# that outlives exec_hook_timeout_ms is killed with the child it started,
# while the secondary goes on answering and applying (swaps meanwhile are
# coalesced into one); one that fails is reported with its exit status, in
# the log, the status and /metrics. webhook_url: the same facts POSTed as
# JSON to a real HTTP receiver on loopback, with the bearer token, and
# retried with backoff until it answers 2xx.
. "$(dirname "$0")/lib.sh"

# publish_change MARK: api/Hooked rewritten with MARK and published; the
# new version in $v.
publish_change() {
	make_artifact api Hooked "$1" &&
	"$ARTSYNC" publish --source src --sync-root sync >"$TRASH/.pub" &&
	v=$(cat "$TRASH/.pub")
}

# changed_of LOG RELEASE: written + removed, as LOG's line for RELEASE
# going live says.
changed_of() {
	sed -n "s|.*releases/$2 (version [0-9]*) live in .*, \([0-9]*\) written, \([0-9]*\) removed)|\1 \2|p" \
		"$1" | tail -n 1 | { read -r w r && echo $((w + r)); }
}

# jget FILE KEY...: one value of a JSON document (python3 parses it).
jget() {
	"$PYTHON" "$HELPER" json-get "$@"
}

# status EP: GET EP/api/v1/status into status.json.
status() {
	curl -sf --max-time 5 -o status.json "$1/api/v1/status"
}

# sample FILE KEY: the value of the Prometheus sample KEY in FILE.
sample() {
	awk -v k="$2" '$1 == k { print $2; n++ } END { exit n != 1 }' "$1"
}

# expect_hook N VERSION PREVIOUS REASON: the hook's Nth run (line N of
# hooks.log) was told of the swap d1/current shows now: VERSION, PREVIOUS
# and REASON, the release current points at (absolute), as many changed
# files as s1's log says that swap wrote and removed, the deploy root.
expect_hook() {
	local n=$1 root rel want got
	wait_for 20 "test \$(wc -l <hooks.log) -ge $n" || return 1
	root=$(cd d1 && pwd -P) &&
	rel=$(current_release d1) &&
	want="$2 $3 $root/releases/$rel $(changed_of s1.log "$rel") $4 $root" &&
	got=$(sed -n "${n}p" hooks.log) &&
	say "# hook run $n: $got" &&
	test "$got" = "$want"
}

# gone PID: the process is gone, or a zombie (killed, not yet reaped by
# whoever inherited it).
gone() {
	! test -e "/proc/$1" || grep -q '^[0-9]* ([^)]*) Z ' "/proc/$1/stat"
}

# One cluster: a secondary refuses a state published for another (t98-trust).
export ARTSYNC_CLUSTER_ID=t65

test_expect_success 'setup: three artifacts published as version 1' '
	make_artifact api Hooked 1 &&
	make_artifact sequences Seq 1 &&
	make_artifact endpoints Ep 1 &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 1 &&
	cat >hook.sh <<-\EOF &&
	#!/bin/sh
	# appends what it was told to $1, one line per run
	echo "$ARTSYNC_VERSION $ARTSYNC_PREVIOUS_VERSION $ARTSYNC_RELEASE $ARTSYNC_CHANGED $ARTSYNC_REASON $ARTSYNC_DEPLOY_ROOT" >>"$1"
	EOF
	cat >s1.conf <<-EOF &&
	[secondary]
	sync_root = sync
	deploy_root = d1
	poll_ms = 100
	listen = 127.0.0.1:0
	exec_hook = sh $TRASH/hook.sh $TRASH/hooks.log
	EOF
	: >hooks.log
'

# --- exec_hook: the facts of each kind of swap ------------------------------

test_expect_success 'sync: the hook is told version, previous, release, changed' '
	start_secondary s1 --config s1.conf &&
	listen_port s1.log && EP1=$EP &&
	wait_for 20 "test \"\$(current_version d1)\" = 1" &&
	expect_hook 1 1 0 sync &&
	publish_change 2 && test "$v" = 2 &&
	wait_for 20 "test \"\$(current_version d1)\" = 2" &&
	expect_hook 2 2 1 sync
'

test_expect_success 'undeploy, redeploy, deploy-local: each swap tells the hook why' '
	"$ARTSYNC" undeploy api Hooked --config s1.conf --endpoint "$EP1" >out &&
	expect_hook 3 2 2 undeploy &&
	"$ARTSYNC" redeploy api Hooked --config s1.conf --endpoint "$EP1" >out &&
	expect_hook 4 2 2 redeploy &&
	make_artifact sequences Seq local &&
	"$ARTSYNC" deploy-local sequences Seq src/sequences/Seq.xml \
		--config s1.conf --endpoint "$EP1" >out &&
	expect_hook 5 2 2 deploy-local
'

test_expect_success 'five runs, no failure: in the log, the status and /metrics' '
	wait_for_log s1.log "exec_hook: version 2 \(deploy-local\): done in" &&
	fetch_metrics "$EP1" m1 &&
	test "$(sample m1 artsync_exec_hook_runs_total)" = 5 &&
	test "$(sample m1 "artsync_exec_hook_failures_total{reason=\"exit\"}")" = 0 &&
	test "$(sample m1 artsync_exec_hook_running)" = 0 &&
	status "$EP1" &&
	test "$(jget status.json exec_hook last_ok)" = True &&
	test "$(jget status.json exec_hook last_reason)" = deploy-local &&
	test "$(jget status.json exec_hook last_exit_status)" = 0 &&
	test "$(jget status.json webhook)" = None &&
	stop "$pid_s1"
'

# --- exec_hook: too slow, failing ------------------------------------------

test_expect_success 'setup: a hook that would run for a minute, its child deaf to SIGTERM' '
	cat >slow.sh <<-\EOF &&
	#!/bin/sh
	(trap "" TERM; exec sleep 60) &
	echo $! >"$1/child.$ARTSYNC_VERSION"
	echo "slow hook for $ARTSYNC_VERSION, from $ARTSYNC_PREVIOUS_VERSION"
	wait
	EOF
	start_secondary s2 --sync-root sync --deploy-root d2 --poll-ms 100 \
		--exec-hook "sh $TRASH/slow.sh $TRASH" \
		--exec-hook-timeout-ms 8000 &&
	listen_port s2.log && EP2=$EP &&
	wait_for 20 "test -s child.2"
'

test_expect_success 'while the hook runs the secondary answers and applies' '
	status "$EP2" &&
	test "$(jget status.json exec_hook state)" = running &&
	test "$(jget status.json exec_hook running_version)" = 2 &&
	curl -sf --max-time 2 "$EP2/healthz" >out &&
	publish_change 3 &&
	wait_for 10 "test \"\$(current_version d2)\" = 3" &&
	publish_change 4 &&
	wait_for 10 "test \"\$(current_version d2)\" = 4" &&
	curl -sf --max-time 2 "$EP2/healthz" >out &&
	status "$EP2" &&
	test "$(jget status.json exec_hook running_version)" = 2 &&
	test "$(jget status.json exec_hook pending)" = True
'

test_expect_success 'past exec_hook_timeout_ms it is killed, with its child' '
	wait_for_log s2.log "exec_hook: version 2 \(sync\): killed after exec_hook_timeout_ms \(8000 ms\): slow hook for 2, from 0" 20 &&
	wait_for 10 "gone $(cat child.2)" &&
	grep_file "exec_hook output: slow hook for 2" s2.log &&
	fetch_metrics "$EP2" m2 &&
	test "$(sample m2 "artsync_exec_hook_failures_total{reason=\"timeout\"}")" = 1 &&
	test "$(sample m2 artsync_exec_hook_coalesced_total)" = 1 &&
	status "$EP2" &&
	jget status.json exec_hook last_error >err &&
	grep_file "^version 2 \(sync\): killed after exec_hook_timeout_ms" err
'

test_expect_success 'the swaps that waited run as one, from what the last hook was told' '
	wait_for 20 "test -s child.4" &&
	! test -e child.3 &&
	grep_file "exec_hook: version 4 \(sync, from 2\): started" s2.log &&
	stop "$pid_s2" &&
	wait_for 10 "gone $(cat child.4)"
'

test_expect_success 'SIGTERM stops the secondary promptly, its running hook too' '
	mkdir s6 &&
	start_secondary s6 --sync-root sync --deploy-root d6 --poll-ms 100 \
		--exec-hook "sh $TRASH/slow.sh $TRASH/s6" \
		--exec-hook-timeout-ms 60000 &&
	wait_for 20 "test -s s6/child.4" &&
	start=$(date +%s) &&
	stop "$pid_s6" &&
	test $(($(date +%s) - start)) -le 5 &&
	wait_for 10 "gone $(cat s6/child.4)" &&
	grep_file "exec_hook: version 4: stopped with the daemon" s6.log
'

test_expect_success 'a hook that fails is reported with its exit status' '
	start_secondary s3 --sync-root sync --deploy-root d3 --poll-ms 100 \
		--exec-hook "echo \"no gateway for \$ARTSYNC_VERSION\" >&2; exit 3" &&
	listen_port s3.log && EP3=$EP &&
	wait_for_log s3.log "error: exec_hook: version 4 \(sync\): exited with status 3: no gateway for 4" &&
	fetch_metrics "$EP3" m3 &&
	test "$(sample m3 "artsync_exec_hook_failures_total{reason=\"exit\"}")" = 1 &&
	status "$EP3" &&
	test "$(jget status.json exec_hook last_exit_status)" = 3 &&
	test "$(jget status.json exec_hook last_ok)" = False &&
	test "$(jget status.json healthy)" = True &&
	test "$(current_version d3)" = 4 &&
	stop "$pid_s3"
'

# --- webhook_url ---------------------------------------------------------

test_expect_success 'setup: a webhook receiver on loopback, a token' '
	start_bg r1 "$PYTHON" "$HELPER" webhook-receiver r1.port r1 &&
	wait_for 20 "test -s r1.port" &&
	printf "t65-secret\n" >token &&
	chmod 600 token
'

test_expect_success 'the webhook receives the swap as JSON, with the token' '
	start_secondary s4 --sync-root sync --deploy-root d4 --poll-ms 100 \
		--node-id gw-4 --cluster-id t65 --webhook-token-file token \
		--webhook-url "http://127.0.0.1:$(cat r1.port)/artsync" &&
	listen_port s4.log && EP4=$EP &&
	wait_for 20 "test -s r1/log" &&
	root=$(cd d4 && pwd -P) && rel=$(current_release d4) &&
	test "$(jget r1/1.body version)" = 4 &&
	test "$(jget r1/1.body previous_version)" = 0 &&
	test "$(jget r1/1.body release)" = "$root/releases/$rel" &&
	test "$(jget r1/1.body changed)" = "$(changed_of s4.log "$rel")" &&
	test "$(jget r1/1.body reason)" = sync &&
	test "$(jget r1/1.body node_id)" = gw-4 &&
	test "$(jget r1/1.body cluster_id)" = t65 &&
	test "$(jget r1/1.body deploy_root)" = "$root" &&
	jget r1/1.body at >at &&
	grep_file "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$" at &&
	test "$(jget r1/1.headers Content-Type)" = application/json &&
	test "$(jget r1/1.headers Authorization)" = "Bearer t65-secret" &&
	test "$(cat r1/log)" = "1 200"
'

test_expect_success 'a local operation is POSTed too, from the version told' '
	ARTSYNC_DEPLOY_ROOT=d4 "$ARTSYNC" undeploy endpoints Ep --endpoint "$EP4" \
		>out &&
	wait_for 20 "test \$(wc -l <r1/log) = 2" &&
	test "$(jget r1/2.body reason)" = undeploy &&
	test "$(jget r1/2.body version)" = 4 &&
	test "$(jget r1/2.body previous_version)" = 4 &&
	test "$(jget r1/2.body release)" = "$(cd d4 && pwd -P)/releases/$(current_release d4)" &&
	status "$EP4" &&
	test "$(jget status.json webhook delivered)" = 2 &&
	test "$(jget status.json webhook last_status)" = 200 &&
	stop "$pid_s4"
'

test_expect_success 'a receiver that answers 500 twice gets the swap at the third try' '
	start_bg r2 "$PYTHON" "$HELPER" webhook-receiver r2.port r2 500 500 &&
	wait_for 20 "test -s r2.port" &&
	start_secondary s5 --sync-root sync --deploy-root d5 --poll-ms 100 \
		--webhook-retry-ms 100 \
		--webhook-url "http://127.0.0.1:$(cat r2.port)/artsync" &&
	listen_port s5.log && EP5=$EP &&
	wait_for 20 "test \$(wc -l <r2/log) -ge 3" &&
	test "$(tr "\n" " " <r2/log)" = "1 500 2 500 3 200 " &&
	cmp r2/1.body r2/3.body &&
	test "$(jget r2/3.body version)" = 4 &&
	grep_file "webhook: version 4: HTTP 500; try 2 of 8 in 100 ms" s5.log &&
	grep_file "webhook: version 4: HTTP 500; try 3 of 8 in 200 ms" s5.log &&
	wait_for_log s5.log "webhook: version 4 \(sync\) delivered, HTTP 200"
'

test_expect_success 'the retries are in the status and /metrics' '
	status "$EP5" &&
	test "$(jget status.json webhook tries)" = 3 &&
	test "$(jget status.json webhook last_status)" = 200 &&
	test "$(jget status.json webhook last_error)" = None &&
	test "$(jget status.json webhook pending)" = False &&
	test "$(jget status.json webhook last_ok_at)" != None &&
	fetch_metrics "$EP5" m5 &&
	test "$(sample m5 artsync_webhook_delivered_total)" = 1 &&
	test "$(sample m5 artsync_webhook_failed_tries_total)" = 2 &&
	test "$(sample m5 artsync_webhook_last_status)" = 200 &&
	stop "$pid_s5" &&
	stop "$pid_r1" &&
	stop "$pid_r2"
'

# --- configuration ---------------------------------------------------------

test_expect_success 'a webhook_url that is not http(s) is refused: exit 2, one line' '
	test_exit_code 2 "$ARTSYNC" secondary --sync-root sync --deploy-root d9 \
		--webhook-url ftp://127.0.0.1/x >out 2>err &&
	test_line_count 1 err &&
	grep_file "webhook_url: .ftp://127.0.0.1/x. is not an http:// or https:// URL" err &&
	printf "[secondary]\nwebhook_url = file:///etc/passwd\n" >bad.conf &&
	test_exit_code 2 "$ARTSYNC" secondary --config bad.conf \
		--sync-root sync --deploy-root d9 >out 2>err &&
	test_line_count 1 err &&
	grep_file "bad.conf:2: webhook_url" err
'

test_expect_success 'a webhook token others may read is refused at start' '
	chmod 644 token &&
	test_exit_code 2 "$ARTSYNC" secondary --sync-root sync --deploy-root d9 \
		--webhook-url http://127.0.0.1:9/x --webhook-token-file token \
		>out 2>err &&
	test_line_count 1 err &&
	grep_file "webhook_token_file: token: .*mode 0644" err &&
	! test -e d9
'

finish
