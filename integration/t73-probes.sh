#!/bin/bash
# t73-probes: /livez and /readyz beside /healthz, on both roles.
#
# A secondary before its first release: live, not ready, not healthy; once
# a version is applied: all three 200. Its sync root gone (an NFS blip):
# /healthz fails after max_lag_ms, /readyz stays 200 (what it serves is
# still the latest it knows of) and /livez too. A primary with a listener:
# live at once, ready once it has published. No token is needed for any
# probe, even beyond loopback; Host is still checked. A loop stuck for good
# answers nothing at all (the endpoint is served by that loop), so the
# stalled 503 of /livez is not provoked here (daemon.h).
. "$(dirname "$0")/lib.sh"

# probe PATH: GET PATH from $EP; code and the answer in body.
probe() {
	local p=$1
	shift
	rm -f body
	code=$(curl -s --max-time 10 -o body -w '%{http_code}' "$@" "$EP$p")
	say "# GET $p -> $code: $(head -c 300 body)"
	test "$code" != 000
}

# json EXPR: the Python expression EXPR, with body's JSON bound to j.
json() {
	"$PYTHON" -c 'import json, sys; j = json.load(open("body")); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"
}

test_expect_success 'setup: a secondary with nothing published yet' '
	fixture_tree src &&
	mkdir sync &&
	start_secondary s1 --sync-root sync --deploy-root dep --poll-ms 100 \
		--max-lag-ms 1000 &&
	listen_port s1.log
'

test_expect_success 'before the first release: livez 200, readyz 503, healthz 503' '
	probe /livez && test "$code" = 200 &&
	json "j[\"status\"] == \"live\" and j[\"loop_age_ms\"] >= 0" &&
	probe /readyz && test "$code" = 503 &&
	json "j[\"status\"] == \"not ready\" and \"no verified release\" in j[\"reason\"]" &&
	probe /healthz && test "$code" = 503
'

test_expect_success 'after a release is applied: all three 200' '
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	wait_for 20 "test \"\$(current_version dep)\" = 1" &&
	wait_for 10 "probe /readyz && test \$code = 200" &&
	json "j[\"status\"] == \"ready\" and j[\"applied_version\"] == 1" &&
	probe /livez && test "$code" = 200 &&
	probe /healthz && test "$code" = 200
'

test_expect_success 'the sync root gone: healthz 503 after max_lag_ms, readyz and livez 200' '
	mv sync sync.away &&
	wait_for 10 "probe /healthz && test \$code = 503" &&
	probe /readyz && test "$code" = 200 &&
	probe /livez && test "$code" = 200 &&
	mv sync.away sync &&
	wait_for 10 "probe /healthz && test \$code = 200"
'

test_expect_success 'probes: HEAD works, POST is 405, a foreign Host is 421' '
	code=$(curl -s -I --max-time 10 -o /dev/null -w "%{http_code}" "$EP/livez") &&
	test "$code" = 200 &&
	code=$(curl -s -X POST --max-time 10 -o /dev/null -w "%{http_code}" "$EP/readyz") &&
	test "$code" = 405 &&
	probe /livez -H "Host: evil.example" && test "$code" = 421
'

test_expect_success 'probes need no token beyond loopback' '
	stop $pid_s1 &&
	start_secondary s2 --sync-root sync --deploy-root dep --poll-ms 100 \
		--listen 0.0.0.0:0 &&
	listen_port s2.log &&
	probe /livez && test "$code" = 200 &&
	probe /readyz && test "$code" = 200 &&
	probe /api/v1/status && test "$code" = 401 &&
	stop $pid_s2
'

test_expect_success 'a primary: livez 200 at once, readyz 200 once published' '
	mkdir sync2 &&
	start_primary --source src --sync-root sync2 --listen 127.0.0.1:0 \
		--quiet-ms 50 &&
	listen_port primary.log &&
	probe /livez && test "$code" = 200 &&
	wait_for 20 "test -e sync2/state.json" &&
	wait_for 10 "probe /readyz && test \$code = 200" &&
	json "j[\"status\"] == \"ready\"" &&
	stop $pid_primary
'

test_expect_success 'a primary that cannot publish: readyz 503 with the reason' '
	mkdir bad &&
	printf "<api" >bad/broken.xml && mkdir bad/api && mv bad/broken.xml bad/api/ &&
	start_bg p2 "$ARTSYNC" primary --source bad --sync-root sync3 \
		--listen 127.0.0.1:0 --quiet-ms 50 --node-id p2 &&
	listen_port p2.log &&
	wait_for_log p2.log "publish failed" &&
	probe /readyz && test "$code" = 503 &&
	json "\"nothing published yet\" in j[\"reason\"]" &&
	probe /livez && test "$code" = 200 &&
	stop $pid_p2
'

finish
