#!/bin/bash
# t60-cli: the command line and the config file, as an operator meets them.
#
# Exit codes: 0 ok, 1 the operation failed, 2 usage or config error, and a
# usage or config error is one line on stderr naming what is wrong (the
# flag, or FILE:LINE). Flags win over the config file. Daemons stop on
# SIGTERM with status 0.
. "$(dirname "$0")/lib.sh"

COMMANDS="publish primary secondary verify rollback"
CLIENT_COMMANDS="status list show redeploy undeploy deploy-local"

# usage_error CMD...: exits 2, stdout empty, exactly one line on stderr.
usage_error() {
	test_exit_code 2 "$ARTSYNC" "$@" >out 2>err &&
	test ! -s out &&
	test_line_count 1 err
}

test_expect_success 'setup: a tree, published once' '
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 1
'

test_expect_success '--help, -h and help exit 0 with the usage on stdout' '
	for h in --help -h help; do
		"$ARTSYNC" $h >out 2>err &&
		grep_file "^usage: artsync" out &&
		test ! -s err || return 1
	done
'

for cmd in $COMMANDS $CLIENT_COMMANDS; do
	test_expect_success "$cmd --help exits 0" '
		"$ARTSYNC" $cmd --help >out 2>err &&
		grep_file "^usage: artsync" out &&
		test ! -s err
	'
done

test_expect_success '--version prints the version' '
	"$ARTSYNC" --version >out &&
	grep_file "^artsync [0-9]+\.[0-9]+\.[0-9]+" out
'

test_expect_success 'no command: exit 2, one line' '
	usage_error &&
	grep_file "no command" err
'

test_expect_success 'an unknown command: exit 2, one line naming it' '
	usage_error frobnicate &&
	grep_file "frobnicate" err
'

for cmd in $COMMANDS; do
	test_expect_success "$cmd: a bad flag exits 2, one line naming it" '
		usage_error $cmd --sync-root sync --no-such-flag &&
		grep_file "--no-such-flag" err
	'
done

for cmd in $CLIENT_COMMANDS; do
	test_expect_success "$cmd: a bad flag exits 2, one line naming it" '
		usage_error $cmd --no-such-flag &&
		grep_file "--no-such-flag" err
	'
done

test_expect_success 'a flag without its value: exit 2, one line naming it' '
	usage_error secondary --deploy-root d --sync-root &&
	grep_file "--sync-root" err
'

test_expect_success 'a flag with a bad value: exit 2, one line naming it' '
	usage_error secondary --sync-root sync --deploy-root d --poll-ms abc &&
	grep_file "--poll-ms.*abc" err &&
	usage_error secondary --sync-root sync --deploy-root d --keep-releases 1 &&
	grep_file "--keep-releases" err &&
	usage_error secondary --sync-root sync --deploy-root d \
		--recycle-releases maybe &&
	grep_file "--recycle-releases" err &&
	usage_error primary --source src --sync-root sync --quiet-ms -5 &&
	grep_file "--quiet-ms" err &&
	usage_error secondary --sync-root sync --deploy-root d \
		--log-level loud &&
	grep_file "--log-level" err
'

test_expect_success 'an unexpected argument: exit 2, one line naming it' '
	usage_error publish --source src --sync-root sync stray &&
	grep_file "stray" err &&
	usage_error verify --sync-root sync 1 2 &&
	grep_file "2" err &&
	usage_error verify --sync-root sync one &&
	grep_file "one" err &&
	usage_error rollback --sync-root sync --to zero &&
	grep_file "zero" err
'

test_expect_success 'a missing required setting: exit 2, one line naming it' '
	usage_error publish --source src &&
	grep_file "sync_root|--sync-root" err &&
	usage_error secondary --sync-root sync &&
	grep_file "deploy_root|--deploy-root" err &&
	usage_error primary --sync-root sync &&
	grep_file "source|--source" err &&
	usage_error rollback --sync-root sync &&
	grep_file "--to" err
'

test_expect_success 'setup: config files' '
	cat >good.conf <<-EOF &&
	; both roles read the same file
	[artsync]
	cluster_id = test-cluster
	node_id = node-1
	log_level = info

	[primary]
	source = $TRASH/src
	sync_root = $TRASH/sync
	quiet_ms = 100
	retry_ms = 500

	[secondary]
	sync_root = $TRASH/sync
	deploy_root = $TRASH/d-conf
	keep_releases = 3
	recycle_releases = yes
	poll_ms = 100
	listen = 127.0.0.1:0
	labels = default
	EOF
	cat >unknown-key.conf <<-EOF &&
	[secondary]
	sync_root = $TRASH/sync
	deploy_root = $TRASH/d-conf

	colour = blue
	EOF
	cat >unknown-section.conf <<-EOF &&
	[artsync]
	node_id = n1
	[gateway]
	sync_root = $TRASH/sync
	EOF
	cat >bad-value.conf <<-EOF &&
	[secondary]
	sync_root = $TRASH/sync
	deploy_root = $TRASH/d-conf
	poll_ms = abc
	EOF
	cat >bad-line.conf <<-EOF &&
	[secondary]
	sync_root = $TRASH/sync
	this line has no equals sign
	EOF
	cat >override.conf <<-EOF
	[artsync]
	log_level = debug
	[primary]
	source = /nonexistent2
	sync_root = /nonexistent1
	[secondary]
	sync_root = /nonexistent1
	deploy_root = $TRASH/d-override
	poll_ms = 100
	EOF
'

test_expect_success '-n with a good config: "configuration OK", exit 0' '
	"$ARTSYNC" secondary --config good.conf -n >out 2>err &&
	test "$(tail -n 1 out)" = "configuration OK" &&
	test ! -s err &&
	"$ARTSYNC" primary -n --config good.conf >out 2>err &&
	test "$(tail -n 1 out)" = "configuration OK" &&
	test ! -s err
'

test_expect_success '-n starts nothing: the deploy root is not created' '
	test ! -e d-conf
'

test_expect_success 'a config with an unknown key: exit 2, naming FILE:LINE' '
	usage_error secondary --config unknown-key.conf -n &&
	grep_file "unknown-key\.conf:5:.*colour" err
'

test_expect_success 'a config with an unknown section: exit 2, naming FILE:LINE' '
	usage_error secondary --config unknown-section.conf -n &&
	grep_file "unknown-section\.conf:4:.*gateway" err
'

test_expect_success 'a config with a bad value: exit 2, naming FILE:LINE' '
	usage_error secondary --config bad-value.conf -n &&
	grep_file "bad-value\.conf:4:.*poll_ms.*abc" err
'

test_expect_success 'a config line that is not key = value: exit 2, naming FILE:LINE' '
	usage_error secondary --config bad-line.conf -n &&
	grep_file "bad-line\.conf:3" err
'

test_expect_success 'a config file that does not exist: exit 2, naming it' '
	usage_error secondary --config no-such.conf -n &&
	grep_file "no-such\.conf" err
'

test_expect_success 'the other role'"'"'s keys are checked too' '
	cat >other-role.conf <<-EOF &&
	[primary]
	quiet_ms = soon
	[secondary]
	sync_root = $TRASH/sync
	deploy_root = $TRASH/d-conf
	EOF
	usage_error secondary --config other-role.conf -n &&
	grep_file "other-role\.conf:2:.*quiet_ms" err
'

test_expect_success 'flags override the file: -n succeeds with the flag'"'"'s value' '
	"$ARTSYNC" secondary --config override.conf --sync-root sync -n >out &&
	test "$(tail -n 1 out)" = "configuration OK"
'

test_expect_success 'a bad value in the file is an error even if a flag sets that key' '
	usage_error secondary --sync-root sync -n --config bad-value.conf \
		--poll-ms 50 &&
	grep_file "bad-value\.conf:4" err
'

test_expect_success 'a flag completes what the file lacks' '
	cat >partial.conf <<-EOF &&
	[secondary]
	sync_root = $TRASH/sync
	EOF
	usage_error secondary --config partial.conf -n &&
	"$ARTSYNC" secondary --config partial.conf --deploy-root d -n >out &&
	test "$(tail -n 1 out)" = "configuration OK"
'

test_expect_success 'flags override the file: the secondary follows the flag' '
	start_secondary override --config override.conf --sync-root sync \
		--log-level warn --listen 127.0.0.1:0 &&
	wait_for 20 "test \"\$(current_version d-override)\" = 1" &&
	same_tree src d-override/current &&
	test ! -e /nonexistent1 &&
	is_running $pid_override
'

test_expect_success 'flags override the file: --log-level warn silenced info' '
	stop $pid_override &&
	! grep -E " (info|debug): " override.log
'

test_expect_success 'flags override the file: the primary publishes to the flag'"'"'s root' '
	start_primary --config override.conf --source src --sync-root sync2 \
		--quiet-ms 50 --log-level info &&
	wait_for 20 "test -f sync2/state.json" &&
	test ! -e /nonexistent1 &&
	wait_for_log primary.log "published version 1 " &&
	"$ARTSYNC" verify --sync-root sync2 >/dev/null
'

test_expect_success 'SIGTERM stops a running primary with status 0' '
	stop $pid_primary &&
	wait_for_log primary.log "stopping on signal 15"
'

test_expect_success 'SIGTERM stops a running secondary with status 0' '
	# sync/ was published for cluster "default", good.conf says
	# test-cluster: a secondary refuses another cluster'"'"'s state.
	start_secondary sec --config good.conf --cluster-id default &&
	wait_for 20 "test -L d-conf/current" &&
	wait_for_log sec.log "$(applied_re 1)" &&
	stop $pid_sec &&
	wait_for_log sec.log "stopping on signal 15"
'

test_expect_success 'SIGTERM stops an idle secondary (nothing published) with status 0' '
	mkdir empty-sync &&
	start_secondary idle --sync-root empty-sync --deploy-root d-idle \
		--poll-ms 100 &&
	wait_for_log idle.log "no release yet" &&
	stop $pid_idle
'

test_expect_success 'a secondary started before the first publish applies it' '
	start_secondary early --sync-root empty-sync --deploy-root d-idle \
		--poll-ms 100 &&
	wait_for_log early.log "no release yet" &&
	"$ARTSYNC" publish --source src --sync-root empty-sync >out &&
	wait_for 20 "test \"\$(current_version d-idle)\" = 1" &&
	same_tree src d-idle/current &&
	stop $pid_early
'

test_expect_success 'verify of a missing version: exit 1, a clear message' '
	test_exit_code 1 "$ARTSYNC" verify --sync-root sync 7 >out 2>err &&
	test_line_count 1 err &&
	grep_file "7" err &&
	grep_file "No such file|not found|no version|missing" err
'

test_expect_success 'verify of a sync root with nothing published: exit 1' '
	mkdir never-published &&
	test_exit_code 1 "$ARTSYNC" verify --sync-root never-published >out 2>err &&
	test_line_count 1 err &&
	grep_file "state\.json" err
'

test_expect_success 'verify of a sync root that does not exist: exit 1, naming it' '
	test_exit_code 1 "$ARTSYNC" verify --sync-root no-such-root >out 2>err &&
	test_line_count 1 err &&
	grep_file "no-such-root" err
'

test_expect_success 'publish of a source that does not exist: exit 1, naming it' '
	test_exit_code 1 "$ARTSYNC" publish --source no-such-src \
		--sync-root sync3 >out 2>err &&
	grep_file "no-such-src" err &&
	test ! -e sync3/state.json
'

# -n is a common option (artsync --help): "check the configuration, print
# "configuration OK", exit" - for every command, not only the daemons.
test_expect_success 'publish -n only checks: prints "configuration OK", writes nothing' '
	"$ARTSYNC" publish -n --source src --sync-root sync-n >out 2>err &&
	test "$(tail -n 1 out)" = "configuration OK" &&
	test ! -e sync-n
'

test_expect_success 'rollback -n only checks: prints "configuration OK", writes nothing' '
	cp sync/state.json state.before &&
	"$ARTSYNC" rollback -n --sync-root sync --to 1 >out 2>err &&
	test "$(tail -n 1 out)" = "configuration OK" &&
	cmp state.before sync/state.json
'

test_expect_success 'verify -n only checks: prints "configuration OK"' '
	"$ARTSYNC" verify -n --sync-root sync >out 2>err &&
	test "$(tail -n 1 out)" = "configuration OK"
'

finish
