#!/bin/bash
# t71-rest-guard: who may ask a secondary's REST endpoint what (issue 17,
# items 4, 5, 6, 11, 12 and 15).
#
# With the default configuration (loopback, no token_file): a web page's
# simple cross-site POST, a DNS-rebinding page's Host, a foreign Origin and
# an unprivileged local user are refused, while root's CLI finds the token
# by itself. On a listener beyond loopback every read but /healthz needs
# the token too. A token file that others may read stops the start. 600
# slow sockets from 127.0.0.1 do not starve /healthz (its latency is
# printed). Smuggling shapes (Content-Length with Transfer-Encoding, two
# lengths) are refused, and 401/413 come before the body, the connection
# closed.
. "$(dirname "$0")/lib.sh"

# code [CURL_ARGS...] URL: the HTTP status of one request (000: none); the
# answer is in the file body.
code() {
	curl -s --path-as-is --max-time 10 -o body -w '%{http_code}' "$@"
}

# raw PORT: sends stdin to 127.0.0.1:PORT as it is and prints the answer's
# status line, then "closed" when the server closed the connection after
# its answer (within 5 s), "open" when it kept it, and the seconds taken.
raw() {
	"$PYTHON" -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
t0 = time.monotonic()
s.sendall(sys.stdin.buffer.read())
out = b""
state = "closed"
try:
    while True:
        c = s.recv(65536)
        if not c:
            break
        out += c
except socket.timeout:
    state = "open"
print(out.split(b"\r\n")[0].decode(), state, "%.2f" % (time.monotonic() - t0))
print(out.decode(errors="replace"), file=sys.stderr)
' "$1"
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

test_expect_success 'a foreign Origin is refused even with the token: 403' '
	test "$(code -X POST -H "Content-Type: text/plain" \
		-H "Origin: http://evil.example" --data x \
		"$EP/api/v1/artifacts/api/HelloWorld/undeploy")" = 403 &&
	for o in http://evil.example "http://127.0.0.1:$((port + 1))" null \
		"http://localhost:$port/x"; do
		test "$(code -X POST -H "Authorization: Bearer $TOKEN" \
			-H "Origin: $o" "$EP/api/v1/sync")" = 403 || return 1
	done &&
	grep_file "Origin" body &&
	test "$(code -H "Origin: http://evil.example" "$EP/api/v1/status")" = 403 &&
	test "$(code -X POST -H "Authorization: Bearer $TOKEN" \
		-H "Origin: http://127.0.0.1:$port" "$EP/api/v1/sync")" = 200
'

test_expect_success 'DNS rebinding: a Host that is not this endpoint is 421, nothing served' '
	for h in rebind.attacker.example "rebind.attacker.example:$port" \
		127.0.0.1.nip.io 10.0.0.1 "localhost.:$port"; do
		test "$(code -H "Host: $h" \
			"$EP/api/v1/artifacts/api/HelloWorld")" = 421 || return 1
	done &&
	! grep -q "<api" body &&
	grep_file "Host" body &&
	test "$(code -H "Host: rebind.attacker.example" "$EP/healthz")" = 421 &&
	test "$(code -H "Host: rebind.attacker.example" \
		-H "Authorization: Bearer $TOKEN" -X POST "$EP/api/v1/sync")" = 421
'

test_expect_success 'loopback names, with or without a port, are this endpoint' '
	for h in localhost "localhost:$port" 127.0.0.1 "127.0.0.1:$port" \
		"[::1]" "[::1]:$port" LOCALHOST:1; do
		test "$(code -H "Host: $h" "$EP/api/v1/artifacts/api/HelloWorld")" = 200 ||
			return 1
	done &&
	cmp body src/api/HelloWorld.xml &&
	test "$(code --http1.0 -H "Host:" "$EP/healthz")" = 200
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

# --- 5. a listener beyond loopback ------------------------------------------

test_expect_success 'setup: a secondary listening on every address, no token_file' '
	start_secondary s2 --sync-root sync --deploy-root d2 --poll-ms 100 \
		--listen 0.0.0.0:0 &&
	listen_port s2.log &&
	wait_for 20 "test \"\$(current_version d2)\" = 1" &&
	test "$(stat -c %a d2/rest.token)" = 600
'

test_expect_success 'beyond loopback, every read but /healthz needs the token: 401' '
	for p in /api/v1/status /api/v1/artifacts /api/v1/artifacts/api/HelloWorld \
		/metrics; do
		test "$(code "$EP$p")" = 401 || return 1
	done &&
	! grep -q "<api" body &&
	grep_file "beyond loopback" body &&
	test "$(code "$EP/healthz")" = 200 &&
	test "$(code -H "Authorization: Bearer $(cat d2/rest.token)" \
		"$EP/api/v1/artifacts/api/HelloWorld")" = 200 &&
	cmp body src/api/HelloWorld.xml &&
	ARTSYNC_DEPLOY_ROOT=$TRASH/d2 "$ARTSYNC" list --endpoint "$EP" >out &&
	grep_file "HelloWorld" out &&
	test_exit_code 1 "$ARTSYNC" status --endpoint "$EP" >out 2>err &&
	grep_file "\(HTTP 401\); no token: give --token-file" err
'

test_expect_success '-n says who may call what' '
	"$ARTSYNC" secondary -n --sync-root sync --deploy-root d2 \
		--listen 0.0.0.0:7846 >out &&
	grep_file "^listen: http://0.0.0.0:7846 \(REST endpoint; changes need the token, and every read but /healthz\)$" out &&
	grep_file "^token: d2/rest.token$" out &&
	"$ARTSYNC" secondary -n --sync-root sync --deploy-root new >out &&
	grep_file "^token: new/rest.token \(not there yet: written at start, mode 0600\)$" out &&
	stop $pid_s2
'

# --- 15. smuggling; early 401 and 413 -----------------------------------------

test_expect_success 'back to the first secondary' '
	listen_port s1.log &&
	test "$(code "$EP/healthz")" = 200
'

test_expect_success 'Content-Length with Transfer-Encoding: 400, the smuggled request never runs' '
	printf "POST /api/v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nPOST /api/v1/artifacts/api/HelloWorld/undeploy HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\n\r\n" \
		"$TOKEN" "$TOKEN" | raw $port >out 2>answer &&
	grep_file "^HTTP/1.1 400 .* closed" out &&
	grep_file "Transfer-Encoding together" answer &&
	test "$(grep -c "^HTTP/1" answer)" = 1 &&
	test -e d1/current/api/HelloWorld.xml &&
	! grep -q "undeploy api/HelloWorld" s1.log
'

test_expect_success 'two Content-Lengths: 400; Transfer-Encoding alone: 411' '
	rel=$(current_release d1) &&
	printf "PUT /api/v1/artifacts/api/HelloWorld HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Length: 4\r\nContent-Length: 60\r\n\r\n<a/>POST /api/v1/artifacts/api/HelloWorld/undeploy HTTP/1.1\r\n\r\n" \
		"$TOKEN" | raw $port >out 2>answer &&
	grep_file "^HTTP/1.1 400 .* closed" out &&
	grep_file "more than one Content-Length" answer &&
	printf "PUT /api/v1/artifacts/api/HelloWorld HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n<a/>\r\n0\r\n\r\n" \
		"$TOKEN" | raw $port >out 2>answer &&
	grep_file "^HTTP/1.1 411 .* closed" out &&
	test -e d1/current/api/HelloWorld.xml &&
	test "$(current_release d1)" = "$rel"
'

test_expect_success '401 and 413 come before the body, the connection closed' '
	printf "PUT /api/v1/artifacts/api/Big HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 104857600\r\n\r\n" |
		raw $port >out 2>answer &&
	grep_file "^HTTP/1.1 401 .* closed 0\.[0-9]+$" out &&
	grep_file "^WWW-Authenticate: Bearer" answer &&
	printf "PUT /api/v1/artifacts/api/Big HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Length: 104857600\r\n\r\n" \
		"$TOKEN" | raw $port >out 2>answer &&
	grep_file "^HTTP/1.1 413 .* closed 0\.[0-9]+$" out &&
	grep_file "larger than 1048576 bytes" answer
'

# --- 11. slow connections ------------------------------------------------------

# 600 sockets from 127.0.0.1 send a request line, then one header line
# every 5 s (each resets libmicrohttpd's own timeout); meanwhile /healthz
# is asked every 0.2 s, from 127.0.0.1 too, for 12 s. Prints its latency.
test_expect_success '600 slow sockets: /healthz still answers at once' '
	"$PYTHON" - "$port" 600 12 >slow.out <<-\EOF &&
	import socket, statistics, sys, time
	port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
	socks = []
	for i in range(n):
	    s = socket.create_connection(("127.0.0.1", port), timeout=5)
	    s.setblocking(False)
	    s.send(b"GET /api/v1/status HTTP/1.1\r\n")
	    socks.append(s)
	lat, fails = [], 0
	drip = time.monotonic() + 5
	end = time.monotonic() + secs
	while time.monotonic() < end:
	    if time.monotonic() >= drip:
	        for s in socks:
	            try:
	                s.send(b"X-Slow: 1\r\n")
	            except OSError:
	                pass
	        drip += 5
	    t0 = time.monotonic()
	    try:
	        c = socket.create_connection(("127.0.0.1", port), timeout=10)
	        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                  b"Connection: close\r\n\r\n")
	        out = b""
	        while True:
	            d = c.recv(4096)
	            if not d:
	                break
	            out += d
	        c.close()
	        fails += not out.startswith(b"HTTP/1.1 200")
	    except OSError:
	        fails += 1
	    lat.append(time.monotonic() - t0)
	    time.sleep(0.2)
	still = 0
	for s in socks:
	    try:
	        still += s.recv(1) != b""
	    except BlockingIOError:
	        still += 1
	    except OSError:
	        pass
	lat.sort()
	print("probes %d failed %d median_ms %.1f p99_ms %.1f max_ms %.1f "
	      "still_open %d" % (len(lat), fails, statistics.median(lat) * 1000,
	      lat[int(len(lat) * 0.99)] * 1000, lat[-1] * 1000, still))
	EOF
	say "# /healthz under 600 slow sockets: $(cat slow.out)" &&
	read -r _ probes _ fails _ median _ p99 _ max _ still <slow.out &&
	test "$probes" -ge 20 && test "$fails" = 0 &&
	test "${max%.*}" -lt 2000 &&
	test "$still" = 0 &&
	wait_for_log s1.log "http: [0-9]+ connections cut since start: [0-9]+ too slow" &&
	test "$(code "$EP/api/v1/status")" = 200 &&
	is_running $pid_s1
'

[ -f slow.out ] && say "# /healthz under 600 slow sockets: $(cat slow.out)"

test_expect_success 'stop the secondary' '
	stop $pid_s1
'

finish
