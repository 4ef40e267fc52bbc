#!/bin/bash
# t70-rest: a secondary's local REST endpoint, raw (curl) and through the CLI.
#
# One secondary follows a sync root fed by one-shot publishes. Through its
# endpoint: status, list, show; every refusal (bad name, unknown route,
# wrong method, body too large, bad XML, XXE, malformed HTTP) leaves the
# agent up and current untouched; undeploy, deploy-local and redeploy swap
# current and are kept across a restart and a new upstream version;
# /healthz, /metrics and /api/v1/sync; every change needs the bearer token
# (the secondary's own rest.token, found by the CLI through the deploy
# root, or a token_file). The guards in front of the routes are t71's.
. "$(dirname "$0")/lib.sh"

# --- helpers --------------------------------------------------------------

# req METHOD PATH [CURL_ARGS...]: one request to $EP, the path sent as is,
# with the token in $REQ_TOKEN if there is one. Sets code (HTTP status)
# and ctype (Content-Type); the answer is in the file body. Counts status
# calls in nstatus (for /metrics).
req() {
	local m=$1 p=$2 out auth=()
	shift 2
	[ -z "${REQ_TOKEN:-}" ] || auth=(-H "Authorization: Bearer $REQ_TOKEN")
	out=$(curl -s --path-as-is --max-time 10 -o body \
		-w '%{http_code} %{content_type}' -X "$m" "${auth[@]}" "$@" "$EP$p")
	code=${out%% *}
	ctype=${out#* }
	case $m:$p in GET:/api/v1/status) nstatus=$((nstatus + 1)) ;; esac
	say "# $m $p -> $code ($ctype): $(head -c 300 body)"
	test "$code" != 000
}

# json EXPR [FILE]: the Python expression EXPR, with the JSON document of
# FILE (default body) bound to j, is true; else shows both.
json() {
	python3 - "$1" "${2:-body}" <<-'EOF'
	import json, sys
	expr, path = sys.argv[1], sys.argv[2]
	with open(path) as f:
	    j = json.load(f)
	def art(t, n):
	    """The artifact t/n of a list answer, or None."""
	    for a in j["artifacts"]:
	        if a["type"] == t and a["name"] == n:
	            return a
	    return None
	if not eval(expr):
	    print("json: not true: %s\n  in %s" % (expr, json.dumps(j)[:1500]),
	          file=sys.stderr)
	    sys.exit(1)
	EOF
}

# metric KEY: the value of the sample KEY (name{labels}) in the file metrics.
metric() {
	awk -v k="$1" '$1 == k { print $2; found = 1 } END { exit !found }' metrics
}

# artifact_state TYPE NAME: its state in the list answer, via the CLI.
artifact_state() {
	"$ARTSYNC" list --json --endpoint "$EP" >list.json &&
	python3 -c '
import json, sys
for a in json.load(open("list.json"))["artifacts"]:
    if a["type"] == sys.argv[1] and a["name"] == sys.argv[2]:
        print(a["state"])' "$1" "$2"
}

# unchanged: current still points at $rel and holds the tree want.
unchanged() {
	test "$(readlink dep/current)" = "$rel" &&
	same_tree want dep/current
}

MAIN_ARGS="--sync-root sync --deploy-root dep --poll-ms 100
	--max-body-bytes 2048 --max-lag-ms 300"
NS='xmlns="http://ws.apache.org/ns/synapse"'
nstatus=0

# --- 1. status ------------------------------------------------------------

test_expect_success 'setup: fixtures published as version 1, a secondary applies it' '
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 1 &&
	nfiles=$(find src -type f -name "*.xml" | wc -l) &&
	test "$nfiles" -gt 10 &&
	start_secondary s1 $MAIN_ARGS &&
	listen_port s1.log &&
	wait_for 20 "test \"\$(current_version dep)\" = 1" &&
	same_tree src dep/current &&
	cp -R src want &&
	rel=$(readlink dep/current)
'

# The CLI finds the token as on a gateway: through the deploy root of the
# config (here ARTSYNC_DEPLOY_ROOT; there /etc/artsync.conf), which holds
# rest.token. Raw requests carry it from $REQ_TOKEN.
export ARTSYNC_DEPLOY_ROOT=$TRASH/dep

test_expect_success 'the secondary wrote its token: 64 hex digits, mode 0600' '
	test "$(stat -c %a dep/rest.token)" = 600 &&
	grep -E -qx "[0-9a-f]{64}" dep/rest.token &&
	grep_file "dep/rest.token: new REST token \(mode 0600\)" s1.log &&
	REQ_TOKEN=$(cat dep/rest.token)
'

test_expect_success 'GET /api/v1/status: 200, JSON of a healthy secondary at version 1' '
	req GET /api/v1/status &&
	test "$code" = 200 &&
	case $ctype in application/json*) ;; *) false ;; esac &&
	json "j[\"role\"] == \"secondary\"" &&
	json "j[\"applied_version\"] == 1 and j[\"latest_seen_version\"] == 1" &&
	json "j[\"release\"] is not None and \"releases/\" + j[\"release\"] == \"$rel\"" &&
	json "j[\"healthy\"] is True and j[\"last_error\"] is None" &&
	json "j[\"artifact_count\"] == $nfiles and j[\"overrides\"] == 0" &&
	json "j[\"labels\"] == [\"default\"] and j[\"last_sync_at\"] is not None"
'

test_expect_success 'artsync status: exit 0, key: value lines' '
	"$ARTSYNC" status --endpoint "$EP" >out 2>err &&
	grep_file "^applied_version: +1$" out &&
	grep_file "^role: +secondary$" out &&
	test ! -s err
'

test_expect_success 'artsync status --json: the server JSON' '
	"$ARTSYNC" status --json --endpoint "$EP" >out &&
	json "j[\"applied_version\"] == 1 and j[\"role\"] == \"secondary\"" out
'

# --- 2. list --------------------------------------------------------------

test_expect_success 'GET /api/v1/artifacts: every file, synced, with xxhsum -H2 sums' '
	(cd src && xxhsum -H2 */*.xml) >sums &&
	req GET /api/v1/artifacts &&
	test "$code" = 200 &&
	json "len(j[\"artifacts\"]) == $nfiles and j[\"applied_version\"] == 1" &&
	json "all(a[\"state\"] == \"synced\" and a[\"version\"] == 1 and
		a[\"upstream_changed\"] is False for a in j[\"artifacts\"])" &&
	json "sorted(\"%s  %s/%s.xml\" % (a[\"xxh128\"], a[\"type\"], a[\"name\"])
		for a in j[\"artifacts\"]) == sorted(open(\"sums\").read().split(\"\\n\")[:-1])"
'

test_expect_success 'GET /api/v1/artifacts?type=api: only the api ones' '
	napi=$(ls src/api | wc -l) &&
	req GET "/api/v1/artifacts?type=api" &&
	test "$code" = 200 &&
	json "len(j[\"artifacts\"]) == $napi" &&
	json "all(a[\"type\"] == \"api\" for a in j[\"artifacts\"])"
'

test_expect_success 'GET /api/v1/artifacts?type=bogus: 400 with a JSON error' '
	req GET "/api/v1/artifacts?type=bogus" &&
	test "$code" = 400 &&
	json "\"bogus\" in j[\"error\"]"
'

test_expect_success 'artsync list --type api: a table and "N artifacts"' '
	"$ARTSYNC" list --type api --endpoint "$EP" >out &&
	grep_file "^TYPE +NAME +STATE" out &&
	grep_file "^api +HelloWorld +synced +1 +$(xxhsum -H2 src/api/HelloWorld.xml | cut -d" " -f1)$" out &&
	grep_file "^$napi artifacts$" out &&
	test "$(grep -c "^api " out)" = "$napi"
'

# --- 3. show --------------------------------------------------------------

test_expect_success 'GET an artifact: 200, application/xml, the source bytes' '
	req GET /api/v1/artifacts/api/HelloWorld &&
	test "$code" = 200 &&
	case $ctype in application/xml*) ;; *) false ;; esac &&
	cmp body src/api/HelloWorld.xml
'

test_expect_success 'artsync show api HelloWorld: the source bytes' '
	"$ARTSYNC" show api HelloWorld --endpoint "$EP" >out &&
	cmp out src/api/HelloWorld.xml
'

test_expect_success 'a missing artifact: 404 JSON error; the CLI exits 1 saying so' '
	req GET /api/v1/artifacts/api/NoSuchApi &&
	test "$code" = 404 &&
	json "j[\"error\"] == \"not deployed\"" &&
	test_exit_code 1 "$ARTSYNC" show api NoSuchApi --endpoint "$EP" \
		>out 2>err &&
	test ! -s out &&
	grep_file "not deployed" err
'

# --- 4. errors ------------------------------------------------------------

test_expect_success 'bad names: 400 with a JSON error' '
	long=$(printf "%300s" "" | tr " " a) &&
	for n in .hidden %2E%2E "$long" "a%09b" "a%22b" "a%5Cb"; do
		req GET "/api/v1/artifacts/api/$n" &&
		test "$code" = 400 &&
		json "len(j[\"error\"]) > 0" || return 1
	done
'

# The path is routed as sent and TYPE and NAME are decoded one segment at
# a time: an encoded "/" must not re-split the path, an encoded NUL must not
# cut a name short. README: no "/", "..", NUL in a name: 400.
test_expect_success 'a name with an encoded / (..%2F..): 400' '
	req GET "/api/v1/artifacts/api/..%2F.." &&
	test "$code" = 400 &&
	json "len(j[\"error\"]) > 0"
'

test_expect_success 'an encoded / never splits a path: 404/405, nothing served or undeployed' '
	req GET "/api/v1/artifacts/api%2FHelloWorld" &&
	test "$code" = 404 &&
	json "j[\"error\"] == \"no such route\"" &&
	req POST "/api/v1/artifacts/api/HelloWorld%2Fundeploy" &&
	test "$code" = 405 &&
	unchanged
'

test_expect_success 'a name with an encoded NUL (HelloWorld%00.txt): 400, nothing served' '
	req GET "/api/v1/artifacts/api/HelloWorld%00.txt" &&
	! cmp -s body src/api/HelloWorld.xml &&
	test "$code" = 400
'

test_expect_success 'unknown route: 404; wrong method: 405' '
	for p in /nope /api/v1 /api/v2/status /api/v1/artifacts/api \
		/api/v1/artifacts/api/HelloWorld/frob \
		/api/v1/artifacts/api/HelloWorld/ ; do
		req GET "$p" && test "$code" = 404 || return 1
	done &&
	req DELETE /api/v1/artifacts/api/HelloWorld &&
	test "$code" = 405 &&
	json "j[\"error\"] == \"method not allowed\"" &&
	req POST /api/v1/status && test "$code" = 405 &&
	req GET /api/v1/artifacts/api/HelloWorld/undeploy && test "$code" = 405 &&
	req GET /api/v1/sync && test "$code" = 405
'

test_expect_success 'PUT over max_body_bytes: 413 (chunked: 411), nothing changes' '
	{
		printf "<?xml version=\"1.0\"?>\n<sequence %s name=\"Big\">" "$NS" &&
		for i in $(seq 60); do printf "<log><property name=\"p%s\" value=\"%s\"/></log>\n" $i $i; done &&
		printf "</sequence>\n"
	} >big.xml &&
	test "$(wc -c <big.xml)" -gt 2048 &&
	req PUT /api/v1/artifacts/sequences/Big --data-binary @big.xml &&
	test "$code" = 413 &&
	json "\"2048\" in j[\"error\"]" &&
	req PUT /api/v1/artifacts/sequences/Big --data-binary @big.xml \
		-H "Transfer-Encoding: chunked" &&
	test "$code" = 411 &&
	unchanged &&
	test ! -e dep/current/sequences/Big.xml &&
	test ! -e dep/overrides/sequences/Big.xml
'

test_expect_success 'PUT of malformed XML: 400 with the parser message, current unchanged' '
	printf "<sequence %s name=\"Bad\"><log>\n" "$NS" >bad.xml &&
	req PUT /api/v1/artifacts/sequences/Bad --data-binary @bad.xml &&
	test "$code" = 400 &&
	json "\"line \" in j[\"error\"]" &&
	unchanged
'

test_expect_success 'PUT of an XML that is not the type: 400, current unchanged' '
	req PUT /api/v1/artifacts/sequences/Bad --data-binary @src/api/HelloWorld.xml &&
	test "$code" = 400 &&
	unchanged
'

test_expect_success 'PUT of an XXE document: 400, current unchanged' '
	printf "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<sequence %s name=\"Xxe\"><log><property name=\"p\" value=\"&x;\"/></log></sequence>\n" \
		"$NS" >xxe.xml &&
	req PUT /api/v1/artifacts/sequences/Xxe --data-binary @xxe.xml &&
	test "$code" = 400 &&
	! grep -q "root:" body &&
	unchanged &&
	test ! -e dep/current/sequences/Xxe.xml
'

test_expect_success 'malformed HTTP leaves the agent up; a stalled client blocks no one' '
	python3 - "$port" <<-\EOF &&
	import socket, sys, urllib.request
	port = int(sys.argv[1])
	# Sends data, then reads until an answer head, EOF or 1 s of silence:
	# what the agent answers is not the point, staying up is (libmicrohttpd
	# answers some of these only by closing at its connection timeout).
	def send(data):
	    s = socket.create_connection(("127.0.0.1", port), timeout=5)
	    out = b""
	    try:
	        s.sendall(data)
	        s.shutdown(socket.SHUT_WR)
	        s.settimeout(1)
	        while b"\r\n\r\n" not in out:
	            c = s.recv(65536)
	            if not c:
	                break
	            out += c
	    except OSError as e:
	        out += ("<%s>" % e).encode()
	    finally:
	        s.close()
	    print(repr(data[:40]), "->", repr(out.split(b"\r\n")[0][:80]))
	send(b"\x00\xff\x13\x10garbage\xfe\r\n\r\n")
	send(b"GET /api/v1/status\r\n\r\n")
	send(b"GET\r\n\r\n")
	send(b"GET /api/v1/status HTTP/9.9\r\nHost: x\r\n\r\n")
	send(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nX-Big: " +
	     b"a" * 100000 + b"\r\n\r\n")
	send(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n" +
	     b"X-H: y\r\n" * 5000 + b"\r\n")
	send(b"PUT /api/v1/artifacts/sequences/Q HTTP/1.1\r\nHost: x\r\n"
	     b"Content-Length: 99999999999999999999999\r\n\r\n<a/>")
	send(b"PUT /api/v1/artifacts/sequences/Q HTTP/1.1\r\nHost: x\r\n"
	     b"Content-Length: -5\r\n\r\n<a/>")
	send(b"PUT /api/v1/artifacts/sequences/Q HTTP/1.1\r\nHost: x\r\n"
	     b"Transfer-Encoding: chunked\r\n\r\nzzzz\r\nabc\r\n0\r\n\r\n")
	send(b"PUT /api/v1/artifacts/sequences/Q HTTP/1.1\r\nHost: x\r\n"
	     b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n")
	send(b"GET /api/v1/artifacts/" + b"a/" * 3000 + b" HTTP/1.1\r\n\r\n")
	send(b"GET /api/v1/status?" + b"type=x&" * 4000 + b" HTTP/1.1\r\n\r\n")
	# A client that sends half a request and waits must not stall the
	# single-threaded event loop.
	stall = socket.create_connection(("127.0.0.1", port), timeout=5)
	stall.sendall(b"PUT /api/v1/artifacts/sequences/S HTTP/1.1\r\nHost: x\r\n")
	r = urllib.request.urlopen("http://127.0.0.1:%d/api/v1/status" % port,
	                           timeout=5)
	assert r.status == 200, r.status
	stall.close()
	EOF
	is_running $pid_s1 &&
	req GET /api/v1/status &&
	test "$code" = 200 &&
	unchanged &&
	test ! -e dep/current/sequences/Q.xml
'

# --- 5. undeploy ----------------------------------------------------------

test_expect_success 'undeploy: 200 undeployed-local, the file leaves current in a swap' '
	req POST /api/v1/artifacts/api/HelloWorld/undeploy &&
	test "$code" = 200 &&
	json "j[\"type\"] == \"api\" and j[\"name\"] == \"HelloWorld\"" &&
	json "j[\"state\"] == \"undeployed-local\"" &&
	test ! -e dep/current/api/HelloWorld.xml &&
	test "$(readlink dep/current)" != "$rel" &&
	json "\"releases/\" + j[\"release\"] == \"$(readlink dep/current)\"" &&
	rm want/api/HelloWorld.xml &&
	same_tree want dep/current &&
	release_is_complete dep &&
	rel=$(readlink dep/current)
'

test_expect_success 'a second undeploy: 409, current unchanged' '
	req POST /api/v1/artifacts/api/HelloWorld/undeploy &&
	test "$code" = 409 &&
	json "\"already undeployed\" in j[\"error\"]" &&
	test_exit_code 1 "$ARTSYNC" undeploy api HelloWorld --endpoint "$EP" \
		>out 2>err &&
	grep_file "already undeployed" err &&
	unchanged
'

test_expect_success 'undeploy of what is not deployed: 404' '
	req POST /api/v1/artifacts/api/NoSuchApi/undeploy &&
	test "$code" = 404 &&
	unchanged
'

test_expect_success 'list shows it as undeployed-local' '
	req GET /api/v1/artifacts &&
	json "art(\"api\", \"HelloWorld\")[\"state\"] == \"undeployed-local\"" &&
	json "len(j[\"artifacts\"]) == $nfiles" &&
	"$ARTSYNC" list --endpoint "$EP" >out &&
	grep_file "^api +HelloWorld +undeployed-local " out &&
	req GET /api/v1/artifacts/api/HelloWorld &&
	test "$code" = 404
'

# --- 6. deploy-local ------------------------------------------------------

test_expect_success 'artsync deploy-local: exit 0, the file in current, byte for byte' '
	printf "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sequence %s name=\"Dbg\">\n  <log level=\"full\"/>\n</sequence>\n" \
		"$NS" >dbg.xml &&
	"$ARTSYNC" deploy-local sequences Dbg dbg.xml --endpoint "$EP" >out &&
	grep_file "^sequences/Dbg: deployed-local \(release v[0-9]+-r[0-9]+\)$" out &&
	cmp dbg.xml dep/current/sequences/Dbg.xml &&
	test "$(readlink dep/current)" != "$rel" &&
	cp dbg.xml want/sequences/Dbg.xml &&
	same_tree want dep/current &&
	release_is_complete dep &&
	rel=$(readlink dep/current)
'

test_expect_success 'list shows it as deployed-local; show serves it' '
	test "$(artifact_state sequences Dbg)" = deployed-local &&
	test "$(artifact_state api HelloWorld)" = undeployed-local &&
	"$ARTSYNC" show sequences Dbg --endpoint "$EP" >out &&
	cmp out dbg.xml
'

# --- 7. restart -----------------------------------------------------------

test_expect_success 'overrides survive a restart' '
	stop $pid_s1 &&
	start_secondary s1b $MAIN_ARGS &&
	listen_port s1b.log &&
	nstatus=0 &&
	"$ARTSYNC" list --endpoint "$EP" >out &&
	test "$(artifact_state sequences Dbg)" = deployed-local &&
	test "$(artifact_state api HelloWorld)" = undeployed-local &&
	unchanged &&
	release_is_complete dep
'

# --- 8. a new upstream version ---------------------------------------------

test_expect_success 'a new upstream version: applied, the overrides kept' '
	printf "<!-- v2 -->\n" >>src/api/HelloWorld.xml &&
	printf "<!-- v2 -->\n" >>src/endpoints/wsdlEpTest.xml &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 2 &&
	wait_for 20 "cmp -s src/endpoints/wsdlEpTest.xml dep/current/endpoints/wsdlEpTest.xml" &&
	test "$(current_version dep)" = 2 &&
	cp src/endpoints/wsdlEpTest.xml want/endpoints/ &&
	same_tree want dep/current &&
	test ! -e dep/current/api/HelloWorld.xml &&
	cmp dbg.xml dep/current/sequences/Dbg.xml &&
	release_is_complete dep &&
	rel=$(readlink dep/current)
'

test_expect_success 'list says upstream_changed for the undeployed one only' '
	"$ARTSYNC" list --json --endpoint "$EP" >list.json &&
	json "art(\"api\", \"HelloWorld\")[\"state\"] == \"undeployed-local\"" list.json &&
	json "art(\"api\", \"HelloWorld\")[\"upstream_changed\"] is True" list.json &&
	json "art(\"sequences\", \"Dbg\")[\"upstream_changed\"] is False" list.json &&
	json "art(\"endpoints\", \"wsdlEpTest\")[\"state\"] == \"synced\"" list.json &&
	json "j[\"applied_version\"] == 2" list.json &&
	"$ARTSYNC" list --endpoint "$EP" >out &&
	grep_file "HelloWorld.*upstream changed" out
'

# --- 9. redeploy ----------------------------------------------------------

test_expect_success 'artsync redeploy: the new upstream copy, state synced' '
	"$ARTSYNC" redeploy api HelloWorld --endpoint "$EP" >out &&
	grep_file "^api/HelloWorld: synced " out &&
	cmp src/api/HelloWorld.xml dep/current/api/HelloWorld.xml &&
	test "$(artifact_state api HelloWorld)" = synced &&
	cp src/api/HelloWorld.xml want/api/ &&
	same_tree want dep/current &&
	rel=$(readlink dep/current)
'

test_expect_success 'redeploy of a deployed-local artifact upstream lacks: 404' '
	req POST /api/v1/artifacts/sequences/Dbg/redeploy &&
	test "$code" = 404 &&
	test_exit_code 1 "$ARTSYNC" redeploy sequences Dbg --endpoint "$EP" \
		>out 2>err &&
	grep_file "not in the applied upstream version" err &&
	unchanged &&
	test "$(artifact_state sequences Dbg)" = deployed-local
'

test_expect_success 'sync root gone: undeploy works, redeploy of a synced one works' '
	mv sync sync.away &&
	wait_for_log s1b.log "error: .*sync.*still serving" &&
	"$ARTSYNC" undeploy endpoints wsdlEpTest --endpoint "$EP" >out &&
	test ! -e dep/current/endpoints/wsdlEpTest.xml &&
	rm want/endpoints/wsdlEpTest.xml &&
	same_tree want dep/current &&
	rel=$(readlink dep/current) &&
	"$ARTSYNC" redeploy sequences main --endpoint "$EP" >out &&
	same_tree want dep/current
'

test_expect_success 'sync root gone: a redeploy needing it is 503, or finds a local copy' '
	rel=$(readlink dep/current) &&
	req POST /api/v1/artifacts/endpoints/wsdlEpTest/redeploy &&
	case $code in
	503)
		json "\"sync root\" in j[\"error\"]" &&
		unchanged &&
		test "$(artifact_state endpoints wsdlEpTest)" = undeployed-local ;;
	200)
		cp src/endpoints/wsdlEpTest.xml want/endpoints/ &&
		same_tree want dep/current ;;
	*)
		false ;;
	esac
'

test_expect_success 'sync root back: the redeploy works' '
	mv sync.away sync &&
	wait_for_log s1b.log "sync root readable again" &&
	"$ARTSYNC" redeploy endpoints wsdlEpTest --endpoint "$EP" >out &&
	cp src/endpoints/wsdlEpTest.xml want/endpoints/ &&
	same_tree want dep/current &&
	test "$(artifact_state endpoints wsdlEpTest)" = synced &&
	release_is_complete dep &&
	rel=$(readlink dep/current)
'

# --- 10. sync, healthz ----------------------------------------------------

test_expect_success 'POST /api/v1/sync: 200 with the status' '
	req POST /api/v1/sync &&
	test "$code" = 200 &&
	json "j[\"applied_version\"] == 2 and j[\"latest_seen_version\"] == 2" &&
	json "j[\"last_error\"] is None"
'

test_expect_success 'GET /healthz: 200 when current' '
	req GET /healthz &&
	test "$code" = 200 &&
	json "j[\"status\"] == \"ok\" and j[\"applied_version\"] == 2"
'

test_expect_success 'a corrupted version 3: refused; /healthz 503 "behind" past max_lag_ms' '
	make_artifact sequences OnlyInV3 v3 &&
	rm -rf aside && cp -R sync aside &&
	"$ARTSYNC" publish --source src --sync-root aside >out &&
	test "$(cat out)" = 3 &&
	python3 "$HELPER" flip-byte "aside/$(own_file aside 3 archive)" &&
	for f in aside/snapshots/*; do
		test -e "sync/snapshots/${f##*/}" ||
		cp "$f" "sync/snapshots/${f##*/}" || return 1
	done &&
	cp aside/state.json sync/state.json.tmp &&
	mv sync/state.json.tmp sync/state.json &&
	wait_for_log s1b.log "error: .*version 3 refused.*checksum mismatch" &&
	wait_for 10 "req GET /healthz >/dev/null && test \$code = 503" &&
	json "j[\"status\"] == \"unavailable\" and \"behind\" in j[\"reason\"]" &&
	unchanged &&
	req GET /api/v1/status &&
	json "j[\"applied_version\"] == 2 and j[\"latest_seen_version\"] == 3" &&
	json "j[\"healthy\"] is False and \"checksum\" in j[\"last_error\"]"
'

# --- 11. metrics ----------------------------------------------------------

test_expect_success 'GET /metrics: Prometheus text with the expected samples' '
	req GET /api/v1/status && req GET /api/v1/status &&
	req GET /metrics &&
	test "$code" = 200 &&
	case $ctype in text/plain*) ;; *) false ;; esac &&
	mv body metrics &&
	! grep -E -v "^(# (HELP|TYPE) [a-z_]+ .*|[a-z_]+(\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\})? [0-9]+(\.[0-9]+)?)$" metrics &&
	test "$(metric artsync_applied_version)" = 2 &&
	test "$(metric artsync_latest_seen_version)" = 3 &&
	ts=$(metric artsync_last_sync_timestamp_seconds) &&
	test "$ts" -gt $(($(date +%s) - 600)) &&
	test "$ts" -le $(($(date +%s) + 5)) &&
	metric artsync_apply_duration_seconds &&
	test "$(metric "artsync_rejects_total{reason=\"checksum\"}")" -ge 1 &&
	test "$(metric "artsync_overrides{state=\"undeployed-local\"}")" = 0 &&
	test "$(metric "artsync_overrides{state=\"deployed-local\"}")" = 1 &&
	test "$(metric "artsync_http_requests_total{route=\"status\",code=\"200\"}")" -ge "$nstatus" &&
	test "$(metric "artsync_http_requests_total{route=\"healthz\",code=\"503\"}")" -ge 1 &&
	test "$(metric "artsync_healthy")" = 0
'

test_expect_success 'the next good version heals it: applied, healthy, overrides kept' '
	make_artifact sequences OnlyInV4 v4 &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 4 &&
	wait_for 20 "test \"\$(current_version dep)\" = 4" &&
	cp src/sequences/OnlyInV3.xml src/sequences/OnlyInV4.xml want/sequences/ &&
	same_tree want dep/current &&
	wait_for 10 "req GET /healthz >/dev/null && test \$code = 200" &&
	test "$(artifact_state sequences Dbg)" = deployed-local &&
	req GET /metrics && mv body metrics &&
	test "$(metric "artsync_overrides{state=\"undeployed-local\"}")" = 0 &&
	req POST /api/v1/artifacts/api/HelloWorld/undeploy &&
	test "$code" = 200 &&
	req GET /metrics && mv body metrics &&
	test "$(metric "artsync_overrides{state=\"undeployed-local\"}")" = 1
'

test_expect_success 'SIGTERM stops it with status 0' '
	stop $pid_s1b
'

# --- 12. no release yet ---------------------------------------------------

test_expect_success 'a secondary with nothing published: /healthz 503 "no verified release"' '
	mkdir empty &&
	start_secondary s2 --sync-root empty --deploy-root dep2 --poll-ms 100 &&
	listen_port s2.log &&
	req GET /healthz &&
	test "$code" = 503 &&
	json "\"no verified release\" in j[\"reason\"]" &&
	req GET /api/v1/status &&
	test "$code" = 200 &&
	json "j[\"applied_version\"] == 0 and j[\"release\"] is None" &&
	json "j[\"healthy\"] is False" &&
	req GET /api/v1/artifacts &&
	json "j[\"artifacts\"] == []" &&
	REQ_TOKEN=$(cat dep2/rest.token) req POST \
		/api/v1/artifacts/api/HelloWorld/undeploy &&
	test "$code" = 409 &&
	test ! -e dep2/current &&
	stop $pid_s2
'

# --- 13. token ------------------------------------------------------------

test_expect_success 'setup: a secondary with a token file' '
	printf "s3cr3t-T0ken\n" >T &&
	printf "wrong-token\n" >W &&
	chmod 600 T W &&
	REQ_TOKEN= &&
	start_secondary s3 --sync-root sync --deploy-root dep3 --poll-ms 100 \
		--token-file T &&
	listen_port s3.log &&
	grep_file "token required" s3.log &&
	wait_for 20 "test \"\$(current_version dep3)\" = 4" &&
	rel3=$(readlink dep3/current)
'

test_expect_success 'token: reads need none' '
	req GET /api/v1/status &&
	test "$code" = 200 &&
	"$ARTSYNC" status --endpoint "$EP" >out
'

test_expect_success 'token: POST without it or with a wrong one is 401, nothing done' '
	req POST /api/v1/artifacts/api/HelloWorld/undeploy &&
	test "$code" = 401 &&
	json "\"Bearer\" in j[\"error\"]" &&
	req POST /api/v1/artifacts/api/HelloWorld/undeploy \
		-H "Authorization: Bearer wrong-token" &&
	test "$code" = 401 &&
	req POST /api/v1/artifacts/api/HelloWorld/undeploy \
		-H "Authorization: Bearer s3cr3t-T0ke" &&
	test "$code" = 401 &&
	req POST /api/v1/artifacts/api/HelloWorld/undeploy \
		-H "Authorization: Basic s3cr3t-T0ken" &&
	test "$code" = 401 &&
	req PUT /api/v1/artifacts/sequences/Dbg --data-binary @dbg.xml &&
	test "$code" = 401 &&
	req POST /api/v1/sync &&
	test "$code" = 401 &&
	test ! -e dep3/rest.token &&
	test_exit_code 1 "$ARTSYNC" undeploy api HelloWorld --endpoint "$EP" \
		--token-file W >out 2>err &&
	grep_file "401" err &&
	test "$(readlink dep3/current)" = "$rel3" &&
	test -e dep3/current/api/HelloWorld.xml
'

test_expect_success 'token: with Authorization: Bearer <token>, 200' '
	req POST /api/v1/artifacts/api/HelloWorld/undeploy \
		-H "Authorization: Bearer s3cr3t-T0ken" &&
	test "$code" = 200 &&
	test ! -e dep3/current/api/HelloWorld.xml
'

test_expect_success 'token: the CLI with --token-file works' '
	"$ARTSYNC" redeploy api HelloWorld --endpoint "$EP" --token-file T >out &&
	grep_file "^api/HelloWorld: synced " out &&
	cmp src/api/HelloWorld.xml dep3/current/api/HelloWorld.xml &&
	"$ARTSYNC" deploy-local sequences Dbg dbg.xml --endpoint "$EP" \
		--token-file T >out &&
	cmp dbg.xml dep3/current/sequences/Dbg.xml &&
	stop $pid_s3
'

finish
