#!/bin/bash
# t62-config: where settings come from, as an operator meets it.
#
# Every command reads /etc/artsync.conf when there is one and no --config
# is given; ARTSYNC_CONFIG names another file (empty: none); ARTSYNC_<KEY>
# variables set any key. Flags win over the environment, the environment
# over the file, the file over the defaults. The machine's real
# /etc/artsync.conf is never read or written here: ARTSYNC_SYSCONFDIR (for
# tests) points the default at a directory of the test's own.
#
# -n checks that the paths can be used, says what the command would do and
# ends with "configuration OK"; else exit 2 and one line naming the key.
. "$(dirname "$0")/lib.sh"

# default_file CMD...: CMD with no ARTSYNC_CONFIG, the default file in etc/.
default_file() {
	env -u ARTSYNC_CONFIG ARTSYNC_SYSCONFDIR="$TRASH/etc" "$@"
}

# config_error CMD...: exit 2, stdout empty, exactly one line on stderr.
config_error() {
	test_exit_code 2 "$@" >out 2>err &&
	test ! -s out &&
	test_line_count 1 err
}

# checked CMD...: -n passed: exit 0, the last line "configuration OK".
checked() {
	"$@" >out 2>err &&
	test "$(tail -n 1 out)" = "configuration OK"
}

test_expect_success 'setup: version 1 published; a secondary from a config file' '
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null &&
	printf "%s\n" secret-token >token &&
	chmod 600 token &&
	cat >node.conf <<-EOF &&
	[artsync]
	node_id = gw-1
	[secondary]
	sync_root = $TRASH/sync
	deploy_root = $TRASH/d
	poll_ms = 100
	token_file = $TRASH/token
	listen = 127.0.0.1:9
	EOF
	start_secondary s1 --config node.conf --listen 127.0.0.1:0 &&
	listen_port s1.log &&
	wait_for 20 "test \"\$(current_version d)\" = 1" &&
	sed -i "s/^listen = .*/listen = 127.0.0.1:$port/" node.conf &&
	mkdir etc
'

test_expect_success 'the CLI finds the node through ARTSYNC_CONFIG' '
	ARTSYNC_CONFIG=$TRASH/node.conf "$ARTSYNC" status >out &&
	grep_file "node_id: +gw-1" out &&
	ARTSYNC_CONFIG=$TRASH/node.conf "$ARTSYNC" list >out &&
	grep_file "HelloWorld" out &&
	ARTSYNC_CONFIG=$TRASH/node.conf "$ARTSYNC" undeploy api HelloWorld >out &&
	grep_file "undeployed-local" out
'

test_expect_success 'the CLI finds the node through the default file' '
	cp node.conf etc/artsync.conf &&
	default_file "$ARTSYNC" status >out &&
	grep_file "node_id: +gw-1" out &&
	default_file "$ARTSYNC" redeploy api HelloWorld >out &&
	grep_file "synced" out &&
	default_file "$ARTSYNC" show api HelloWorld >out &&
	cmp out src/api/HelloWorld.xml
'

test_expect_success '--config wins over ARTSYNC_CONFIG, which wins over the default file' '
	printf "[secondary]\nlisten = 127.0.0.1:1\n" >elsewhere.conf &&
	ARTSYNC_CONFIG=$TRASH/elsewhere.conf "$ARTSYNC" status \
		--config node.conf >out &&
	grep_file "gw-1" out &&
	env ARTSYNC_SYSCONFDIR="$TRASH/etc" ARTSYNC_CONFIG=$TRASH/elsewhere.conf \
		"$ARTSYNC" status >out 2>err ;
	test $? = 1 && grep_file "127\.0\.0\.1:1" err
'

test_expect_success 'ARTSYNC_CONFIG empty means no file, even with a default one' '
	default_file env ARTSYNC_CONFIG= "$ARTSYNC" secondary -n >out 2>err ;
	test $? = 2 &&
	grep_file "sync_root is not set" err
'

test_expect_success 'ARTSYNC_CONFIG naming no file: exit 2, naming it' '
	config_error env ARTSYNC_CONFIG=$TRASH/nothing.conf "$ARTSYNC" status &&
	grep_file "nothing\.conf" err &&
	config_error env ARTSYNC_CONFIG=$TRASH/nothing.conf "$ARTSYNC" \
		secondary -n &&
	grep_file "nothing\.conf" err
'

test_expect_success 'no default file: none read, no complaint' '
	env -u ARTSYNC_CONFIG ARTSYNC_SYSCONFDIR="$TRASH/no-etc" "$ARTSYNC" \
		secondary -n --sync-root sync --deploy-root d >out 2>err &&
	test ! -s err &&
	grep_file "^config: none \(default\)" out
'

test_expect_success 'daemons read the default file too (-n says which)' '
	checked default_file "$ARTSYNC" secondary -n &&
	grep_file "^config: $TRASH/etc/artsync\.conf \(default\)" out &&
	grep_file "^command: secondary \(cluster default, node gw-1\)" out
'

test_expect_success 'precedence: flags > environment > file > defaults' '
	checked env ARTSYNC_CONFIG= "$ARTSYNC" secondary -n --sync-root sync \
		--deploy-root d &&
	grep_file "read every 1000 ms" out &&
	checked env ARTSYNC_CONFIG=$TRASH/node.conf "$ARTSYNC" secondary -n &&
	grep_file "read every 100 ms" out &&
	checked env ARTSYNC_CONFIG=$TRASH/node.conf ARTSYNC_POLL_MS=200 \
		"$ARTSYNC" secondary -n &&
	grep_file "read every 200 ms" out &&
	checked env ARTSYNC_CONFIG=$TRASH/node.conf ARTSYNC_POLL_MS=200 \
		"$ARTSYNC" secondary -n --poll-ms 300 &&
	grep_file "read every 300 ms" out
'

test_expect_success 'ARTSYNC_<KEY> sets the key of the role'"'"'s own section' '
	checked env ARTSYNC_SYNC_ROOT=$TRASH/sync ARTSYNC_DEPLOY_ROOT=$TRASH/d2 \
		ARTSYNC_NODE_ID=gw-env ARTSYNC_LOG_LEVEL=debug \
		"$ARTSYNC" secondary -n &&
	grep_file "^sync_root: $TRASH/sync: " out &&
	grep_file "^deploy_root: $TRASH/d2 " out &&
	grep_file "node gw-env" out &&
	grep_file "^log: level debug" out &&
	checked env ARTSYNC_SYNC_ROOT=$TRASH/sync2 ARTSYNC_SOURCE=$TRASH/src \
		"$ARTSYNC" primary -n &&
	grep_file "^sync_root: $TRASH/sync2 " out &&
	grep_file "^source: $TRASH/src: watched" out
'

test_expect_success 'ARTSYNC_PUSH: blank-separated targets, replacing the file'"'"'s' '
	printf "[primary]\npush = rsync://127.0.0.1:1/m\n" >push.conf &&
	checked env ARTSYNC_CONFIG=$TRASH/push.conf \
		ARTSYNC_PUSH="rsync://127.0.0.1:2/a host:/b" \
		"$ARTSYNC" primary -n --source src --sync-root sync &&
	grep_file "^push: rsync://127\.0\.0\.1:2/a " out &&
	grep_file "^push: host:/b " out &&
	! grep -q "127\.0\.0\.1:1" out
'

test_expect_success 'a bad value in the environment: exit 2, one line naming it' '
	config_error env ARTSYNC_POLL_MS=soon "$ARTSYNC" secondary -n \
		--sync-root sync --deploy-root d &&
	grep_file "ARTSYNC_POLL_MS: poll_ms: .soon." err &&
	config_error env ARTSYNC_QUIET_MS=soon "$ARTSYNC" secondary -n \
		--sync-root sync --deploy-root d &&
	grep_file "ARTSYNC_QUIET_MS" err &&
	config_error env ARTSYNC_LISTEN=nowhere "$ARTSYNC" status &&
	grep_file "ARTSYNC_LISTEN" err
'

test_expect_success 'an unknown ARTSYNC_<KEY> is a warning, not an error' '
	checked env ARTSYNC_POL_MS=200 "$ARTSYNC" secondary -n --sync-root sync \
		--deploy-root d &&
	test_line_count 1 err &&
	grep_file "ARTSYNC_POL_MS: no such configuration key" err &&
	env ARTSYNC_COLOUR=blue ARTSYNC_CONFIG=$TRASH/node.conf "$ARTSYNC" \
		status >out 2>err &&
	grep_file "ARTSYNC_COLOUR: no such configuration key" err &&
	checked env ARTSYNC_lower=1 "$ARTSYNC" secondary -n --sync-root sync \
		--deploy-root d &&
	test ! -s err
'

test_expect_success 'a daemon configured by the environment alone' '
	ARTSYNC_SYNC_ROOT=sync ARTSYNC_DEPLOY_ROOT=d-env ARTSYNC_POLL_MS=100 \
	ARTSYNC_LISTEN=127.0.0.1:0 start_bg env-only "$ARTSYNC" secondary &&
	wait_for 20 "test \"\$(current_version d-env)\" = 1" &&
	same_tree src d-env/current &&
	stop $pid_env_only
'

test_expect_success '-n says what it would do: role, paths, listen, what it watches' '
	checked env ARTSYNC_CONFIG=$TRASH/node.conf "$ARTSYNC" secondary -n \
		--deploy-root new/deploy &&
	grep_file "^sync_root: $TRASH/sync: watched with inotify and read every 100 ms" out &&
	grep_file "^deploy_root: new/deploy \(not there yet: created at start\)" out &&
	grep_file "^listen: http://127\.0\.0\.1:$port \(REST endpoint; changes need the token\)$" out &&
	grep_file "^token_file: $TRASH/token$" out &&
	grep_file "^labels: default" out &&
	test ! -e new &&
	checked "$ARTSYNC" primary -n --source src --sync-root sync &&
	grep_file "^command: primary" out &&
	grep_file "^source: src: watched with inotify" out &&
	grep_file "^push: none" out &&
	checked "$ARTSYNC" publish -n --source src --sync-root sync &&
	grep_file "^source: src: read once" out
'

test_expect_success '-n: a source that is missing or no directory names the key' '
	config_error "$ARTSYNC" primary -n --source nothing --sync-root sync &&
	grep_file "^artsync: source: nothing: No such file" err &&
	config_error "$ARTSYNC" publish -n --source node.conf --sync-root sync &&
	grep_file "^artsync: source: node\.conf: not a directory" err
'

test_expect_success '-n: a root that cannot be created names the key' '
	config_error "$ARTSYNC" secondary -n --sync-root sync \
		--deploy-root node.conf/d &&
	grep_file "^artsync: deploy_root: node\.conf/d" err &&
	config_error "$ARTSYNC" primary -n --source src --sync-root node.conf/s &&
	grep_file "^artsync: sync_root: node\.conf/s" err &&
	config_error "$ARTSYNC" verify -n --sync-root nothing &&
	grep_file "^artsync: sync_root: nothing: No such file" err &&
	config_error "$ARTSYNC" rollback -n --sync-root nothing --to 1 &&
	grep_file "^artsync: sync_root: nothing" err
'

test_expect_success '-n: a sync root not there yet is fine for a secondary' '
	checked "$ARTSYNC" secondary -n --sync-root later --deploy-root d &&
	grep_file "^sync_root: later \(not there yet: waited for\)" out
'

test_expect_success '-n: a token file that cannot be read names the key' '
	config_error "$ARTSYNC" secondary -n --sync-root sync --deploy-root d \
		--token-file nothing &&
	grep_file "token_file: .*nothing" err
'

test_expect_success '-n as an unprivileged user: roots it may not write name the key' '
	mkdir -p locked/sub && chmod 755 locked &&
	config_error as_nobody "$ARTSYNC" secondary -n --sync-root "$TRASH/sync" \
		--deploy-root "$TRASH/locked/sub" &&
	grep_file "^artsync: deploy_root: $TRASH/locked/sub: not writable: Permission denied" err &&
	config_error as_nobody "$ARTSYNC" secondary -n \
		--sync-root "$TRASH/sync" --deploy-root "$TRASH/locked/new/d" &&
	grep_file "^artsync: deploy_root: $TRASH/locked/new/d: cannot be created: $TRASH/locked: not writable" err
'

test_expect_success 'a config file the user may not read is an error, not ignored' '
	chmod 600 etc/artsync.conf &&
	config_error as_nobody env -u ARTSYNC_CONFIG ARTSYNC_SYSCONFDIR="$TRASH/etc" \
		"$ARTSYNC" status &&
	grep_file "artsync\.conf: Permission denied" err
'

test_expect_success 'a token in the config that the user may not read: status works, a change says why' '
	chmod 644 etc/artsync.conf &&
	as_nobody env -u ARTSYNC_CONFIG ARTSYNC_SYSCONFDIR="$TRASH/etc" \
		"$ARTSYNC" status >out &&
	grep_file "node_id: +gw-1" out &&
	config_error as_nobody env -u ARTSYNC_CONFIG \
		ARTSYNC_SYSCONFDIR="$TRASH/etc" "$ARTSYNC" undeploy api HelloWorld &&
	grep_file "token.*Permission denied" err
'

test_expect_success 'stop the secondary' '
	stop $pid_s1
'

finish
