#!/bin/bash
# t86-redis: Redis as the sync root, against a real redis-server on a free
# loopback port (no persistence), stopped by PID.
#
# publish/verify through Redis byte for byte; a primary and secondaries that
# poll once an hour, so that only a notification can bring a change; a
# version committed with no notification (MIGRATE from a second server)
# found by the poll backstop; a password from a file (refused when others
# may read it); a foreign cluster's keys ignored, a foreign state under our
# prefix refused; a blob with other bytes refused; Redis down (gateways
# keep serving, healthz says why) and back empty (the primary uploads in
# full, no secondary goes back).
. "$(dirname "$0")/lib.sh"

rcli() {
	redis-cli -p "$rport" "$@"
}

healthz() {
	curl -s --max-time 5 "$1/healthz"
}

test_expect_success 'setup: a redis-server, a source tree' '
	rport=$(free_port) &&
	start_redis redis "$rport" && pid_r=$LAST_PID &&
	fixture_tree src &&
	R=redis://127.0.0.1:$rport
'

test_expect_success 'publish --sync-root redis:// writes the layout, state last' '
	"$ARTSYNC" publish --source src --sync-root "$R" --redis-stage stage \
		>out 2>err &&
	test "$(cat out)" = 1 &&
	rcli --scan --pattern "*" | sort >keys &&
	printf "%s\n" artsync:default:snapshots/1.manifest.json \
		artsync:default:snapshots/1.state.json \
		artsync:default:snapshots/1.tar.zst \
		artsync:default:state.json artsync:default:version >want &&
	test_cmp_ok() { cmp "$1" "$2" || { diff "$1" "$2"; return 1; }; } &&
	test_cmp_ok want keys &&
	test "$(rcli get artsync:default:version)" = 1 &&
	rcli --raw get artsync:default:state.json | head -c -1 >st &&
	cmp st stage/state.json &&
	rcli --raw get artsync:default:snapshots/1.tar.zst | head -c -1 >a &&
	cmp a stage/snapshots/1.tar.zst
'

test_expect_success 'publish again: unchanged, nothing written' '
	"$ARTSYNC" publish --source src --sync-root "$R" --redis-stage stage \
		>out 2>err &&
	test "$(cat out)" = unchanged &&
	test "$(rcli get artsync:default:version)" = 1
'

test_expect_success 'verify --sync-root redis:// checks every checksum' '
	"$ARTSYNC" verify --sync-root "$R" --redis-cache vcache >out &&
	grep_file "^version 1 OK: " out &&
	cmp vcache/state.json stage/state.json
'

test_expect_success 'rediss:// is refused with the TLS answer' '
	test_exit_code 2 "$ARTSYNC" verify --sync-root "rediss://127.0.0.1:$rport" \
		--redis-cache x 2>err &&
	grep_file "stunnel or spiped" err &&
	test_exit_code 2 "$ARTSYNC" verify --sync-root "redis://127.0.0.1:0" \
		--redis-cache x 2>err &&
	grep_file "port" err
'

test_expect_success 'secondaries that poll hourly apply version 1 byte for byte' '
	start_secondary s1 --sync-root "$R" --deploy-root d1 --poll-ms 3600000 \
		--max-lag-ms 500 && listen_port s1.log && EP1=$EP &&
	start_secondary s2 --sync-root "$R" --deploy-root d2 --poll-ms 3600000 &&
	listen_port s2.log && EP2=$EP &&
	wait_for 20 "test \"\$(current_version d1)\" = 1" &&
	wait_for 20 "test \"\$(current_version d2)\" = 1" &&
	same_tree src d1/current && same_tree src d2/current &&
	test -f d1/.redis-cache/state.json
'

test_expect_success 'a primary daemon: a change arrives by notification alone' '
	start_primary --source src --sync-root "$R" --redis-stage stage \
		--quiet-ms 100 --retry-ms 200 --retry-max-ms 400 --poll-ms 200 \
		--listen 127.0.0.1:0 &&
	listen_port primary.log && EPP=$EP &&
	make_artifact api Notified n1 &&
	wait_for 20 "test \"\$(current_version d1)\" = 2" &&
	wait_for 20 "test \"\$(current_version d2)\" = 2" &&
	same_tree src d1/current && same_tree src d2/current &&
	curl -sf "$EP1/metrics" >m1 &&
	grep_file "^artsync_redis_notifications_total [1-9]" m1 &&
	grep_file "^artsync_redis_subscribed 1" m1 &&
	grep_file "^artsync_redis_up 1" m1 &&
	"$ARTSYNC" status --endpoint "$EP1" --json >st1 &&
	grep_file "\"subscribed\": *true" st1
'

test_expect_success 'the primary says what it committed; promtool passes both' '
	curl -sf "$EPP/metrics" >mp &&
	grep_file "^artsync_redis_committed_version 2" mp &&
	promtool check metrics <mp && promtool check metrics <m1 &&
	grep_file "version 2 committed" primary.log
'

test_expect_success 'a commit with no notification is found by the backstop' '
	rport2=$(free_port) &&
	start_redis redis2 "$rport2" && pid_r2=$LAST_PID &&
	start_secondary s3 --sync-root "$R" --deploy-root d3 --poll-ms 300 &&
	listen_port s3.log && EP3=$EP &&
	wait_for 20 "test \"\$(current_version d3)\" = 2" &&
	stop "$pid_primary" &&
	make_artifact api Missed m1 &&
	"$ARTSYNC" publish --source src --sync-root "redis://127.0.0.1:$rport2" \
		--redis-stage stage >out &&
	test "$(cat out)" = 3 &&
	keys=$(redis-cli -p "$rport2" --scan --pattern "artsync:default:*" | tr "\n" " ") &&
	redis-cli -p "$rport2" migrate 127.0.0.1 "$rport" "" 0 5000 COPY REPLACE \
		KEYS $keys >mig && grep_file OK mig &&
	wait_for 20 "test \"\$(current_version d3)\" = 3" &&
	same_tree src d3/current &&
	test "$(current_version d1)" = 2 &&
	kill -HUP "$pid_s1" &&
	curl -sf -H "$(rest_auth d2)" -X POST "$EP2/api/v1/sync" >/dev/null &&
	wait_for 20 "test \"\$(current_version d1)\" = 3" &&
	wait_for 20 "test \"\$(current_version d2)\" = 3"
'

test_expect_success 'a blob removed from the cache is fetched again' '
	rm d3/.redis-cache/snapshots/3.delta.tar.zst &&
	kill -HUP "$pid_s3" &&
	wait_for 20 "test -f d3/.redis-cache/snapshots/3.delta.tar.zst" &&
	cmp d3/.redis-cache/snapshots/3.delta.tar.zst stage/snapshots/3.delta.tar.zst
'

test_expect_success 'a foreign cluster in the same Redis is ignored' '
	mkdir other && make_artifact_other() { SRC=other make_artifact "$@"; } &&
	make_artifact_other api Foreign f1 &&
	"$ARTSYNC" publish --source other --sync-root "$R" --cluster-id blue \
		--redis-stage stage-blue >out &&
	test "$(cat out)" = 1 &&
	test "$(rcli get artsync:blue:version)" = 1 &&
	test "$(rcli get artsync:default:version)" = 3 &&
	kill -HUP "$pid_s3" &&
	wait_for_log s3.log "live in" &&
	test "$(current_version d3)" = 3 && same_tree src d3/current &&
	curl -sf "$EP1/metrics" >m1 && test "$(rejects_total m1)" = 0
'

test_expect_success 'a foreign state under our prefix is refused (wrong_cluster)' '
	rcli --raw get artsync:default:state.json | head -c -1 >good &&
	rcli --raw get artsync:blue:state.json | head -c -1 >bad &&
	rcli -x set artsync:default:state.json <bad >/dev/null &&
	kill -HUP "$pid_s3" &&
	wait_for 20 "curl -sf \"$EP3/metrics\" | grep -q wrong_cluster" &&
	test "$(current_version d3)" = 3 &&
	rcli -x set artsync:default:state.json <good >/dev/null
'

test_expect_success 'a blob with other bytes is refused before it is cached' '
	make_artifact api Corrupt c1 &&
	rport3=$(free_port) &&
	start_redis redis3 "$rport3" && pid_r3=$LAST_PID &&
	"$ARTSYNC" publish --source src --sync-root "redis://127.0.0.1:$rport3" \
		--redis-stage stage >out && test "$(cat out)" = 4 &&
	redis-cli -p "$rport3" setrange artsync:default:snapshots/4.delta.tar.zst 20 X >/dev/null &&
	keys=$(redis-cli -p "$rport3" --scan --pattern "artsync:default:*" | tr "\n" " ") &&
	redis-cli -p "$rport3" migrate 127.0.0.1 "$rport" "" 0 5000 COPY REPLACE \
		KEYS $keys >mig && grep_file OK mig &&
	kill -HUP "$pid_s2" &&
	wait_for_log s2.log "4.delta.tar.zst: checksum mismatch" &&
	test "$(current_version d2)" = 3 &&
	! test -e d2/.redis-cache/snapshots/4.delta.tar.zst &&
	curl -sf "$EP2/metrics" >m2 &&
	grep_file "artsync_rejects_total\{reason=\"checksum\"\} 1" m2 &&
	cp stage/snapshots/4.delta.tar.zst good4 &&
	redis-cli -p "$rport" -x set artsync:default:snapshots/4.delta.tar.zst <good4 >/dev/null &&
	kill -HUP "$pid_s2" &&
	wait_for 20 "test \"\$(current_version d2)\" = 4" &&
	same_tree src d2/current
'

test_expect_success 'Redis down: gateways keep serving; healthz says why' '
	start_primary --source src --sync-root "$R" --redis-stage stage \
		--quiet-ms 100 --retry-ms 200 --retry-max-ms 400 --poll-ms 200 &&
	wait_for_log s1.log "$(applied_re 4)" &&
	n1=$(wc -l <s1.log) &&
	stop "$pid_r" &&
	wait_for 20 "healthz \"$EP1\" | grep -q redis" &&
	healthz "$EP1" >h && grep_file "unavailable" h &&
	test "$(current_version d1)" = 4 && same_tree src d1/current &&
	make_artifact api WhileDown w1 &&
	wait_for_log primary.log "published version 5" &&
	wait_for_log primary.log "redis upload of version 5 failed|cannot check"
'

test_expect_success 'Redis back empty: the primary uploads in full, no one goes back' '
	start_redis redis "$rport" && pid_r=$LAST_PID &&
	wait_for 20 "test \"\$(rcli get artsync:default:version)\" = 5" &&
	wait_for 20 "test \"\$(current_version d1)\" = 5" &&
	wait_for 20 "test \"\$(current_version d2)\" = 5" &&
	wait_for 20 "test \"\$(current_version d3)\" = 5" &&
	same_tree src d1/current && same_tree src d3/current &&
	wait_for 20 "healthz \"$EP1\" | grep -q \"\\\"ok\\\"\"" &&
	tail -n "+$((n1 + 1))" s1.log >since &&
	! grep -E "\(version [1-4]\) live" since &&
	make_artifact api After a1 &&
	wait_for 20 "test \"\$(current_version d1)\" = 6" &&
	same_tree src d1/current
'

test_expect_success 'rollback --sync-root redis:// publishes an old version anew' '
	stop "$pid_primary" &&
	"$ARTSYNC" rollback --sync-root "$R" --redis-stage stage --to 5 >out &&
	test "$(cat out)" = 7 &&
	wait_for 20 "test \"\$(current_version d2)\" = 7" &&
	test -f d2/current/api/WhileDown.xml && ! test -e d2/current/api/After.xml
'

test_expect_success 'a password file: AUTH; refused when others may read it' '
	rport4=$(free_port) && printf "s3cret\n" >pw && chmod 600 pw &&
	start_redis redis4 "$rport4" --requirepass s3cret &&
	mkdir -p src2 && SRC=src2 make_artifact api P1 p &&
	"$ARTSYNC" publish --source src2 --sync-root "redis://127.0.0.1:$rport4/3?prefix=gw" \
		--redis-stage stage4 --redis-password-file pw >out &&
	test "$(cat out)" = 1 &&
	test "$(redis-cli -p "$rport4" -a s3cret --no-auth-warning -n 3 get gw:default:version)" = 1 &&
	chmod 644 pw &&
	test_exit_code 2 "$ARTSYNC" verify --sync-root "redis://127.0.0.1:$rport4/3?prefix=gw" \
		--redis-cache c4 --redis-password-file pw 2>err &&
	grep_file "chmod 600" err &&
	test_exit_code 2 "$ARTSYNC" secondary -n --sync-root "redis://127.0.0.1:$rport4" \
		--deploy-root dn --redis-password-file pw 2>err &&
	grep_file "chmod 600" err &&
	chmod 600 pw &&
	"$ARTSYNC" verify --sync-root "redis://127.0.0.1:$rport4/3?prefix=gw" \
		--redis-cache c4 --redis-password-file pw >out &&
	grep_file "^version 1 OK" out &&
	"$ARTSYNC" primary -n --source src2 --sync-root "redis://u:hunter2@127.0.0.1:$rport4" \
		--redis-stage stage4 --ha redis >out &&
	grep_file "^redis: 127.0.0.1:$rport4, db 0, keys artsync:default:\*, password in the URL" out &&
	grep_file "^ha: redis" out && ! grep -q hunter2 out &&
	test_exit_code 1 "$ARTSYNC" verify --sync-root "redis://127.0.0.1:$rport4/3?prefix=gw" \
		--redis-cache c5 2>err &&
	grep_file "NOAUTH|Authentication" err
'

test_expect_success 'daemons stop cleanly' '
	stop "$pid_s1" && stop "$pid_s2" &&
	stop "$pid_s3" && leftovers_clean d1 && leftovers_clean d2
'

finish
