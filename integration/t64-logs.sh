#!/bin/bash
# t64-logs: the daemons' logs as machines and journald read them.
#
# log_format = json (the key, --log-format, ARTSYNC_LOG_FORMAT): every line
# is one JSON object with time (RFC 3339 UTC, ms), level and message, and
# the facts of publish, apply, refusal and local changes as fields.
# log_level = debug shows debug lines. Under journald - JOURNAL_STREAM
# naming the very file stderr is - messages go to the journal with their
# fields (checked against a journald stand-in: a datagram socket at
# /run/systemd/journal/socket in a mount namespace of the test's own);
# a JOURNAL_STREAM that names another file changes nothing.
. "$(dirname "$0")/lib.sh"

# json_log FILE [ERE FIELDS]...: every line of FILE is one JSON object with
# time, level and message; and for each ERE, some line whose message
# matches it has the FIELDS, "key=value ..." (numbers as digits).
json_log() {
	"$PYTHON" - "$@" <<-'EOF'
	import json, re, sys
	lines = open(sys.argv[1]).read().splitlines()
	time = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
	objs = []
	for n, l in enumerate(lines, 1):
	    o = json.loads(l)
	    assert isinstance(o, dict), "line %d: not an object" % n
	    assert list(o)[:3] == ["time", "level", "message"], "line %d: %s" % (n, l)
	    assert time.match(o["time"]), "line %d: time %s" % (n, o["time"])
	    assert o["level"] in ("error", "warn", "info", "debug"), l
	    objs.append(o)
	assert objs, "no line"
	for ere, fields in zip(sys.argv[2::2], sys.argv[3::2]):
	    want = dict(x.split("=", 1) for x in fields.split())
	    hits = [o for o in objs if re.search(ere, o["message"])]
	    assert hits, "no message matches %r" % ere
	    assert any(all(str(o.get(k)) == v for k, v in want.items())
	               for o in hits), "%r: no line with %s: %s" % (ere, want, hits)
	print("%d lines, each one JSON object" % len(objs))
	EOF
}

# levels FILE: the levels that FILE's JSON lines carry, one a line.
levels() {
	"$PYTHON" -c 'import json, sys
print("\n".join(sorted({json.loads(l)["level"] for l in open(sys.argv[1])})))' "$1"
}

TEXT_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z artsync (error|warn|info|debug): '

test_expect_success 'setup: version 1 published' '
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null &&
	cat >json.conf <<-EOF
	[artsync]
	log_format = json
	[secondary]
	sync_root = $TRASH/sync
	deploy_root = $TRASH/d1
	poll_ms = 100
	listen = 127.0.0.1:0
	EOF
'

test_expect_success 'json from the file: apply and a local change' '
	start_secondary s1 --config json.conf &&
	listen_port s1.log &&
	wait_for 20 "test \"\$(current_version d1)\" = 1" &&
	"$ARTSYNC" undeploy api HelloWorld --config json.conf --endpoint $EP \
		>/dev/null &&
	wait_for_log s1.log "undeploy api/HelloWorld: now releases" &&
	stop $pid_s1 &&
	json_log s1.log \
		"^releases/v1-r1 \(version 1\) live in" "version=1 release=v1-r1" \
		"^undeploy api/HelloWorld: now" \
		"artifact=api/HelloWorld release=v1-r2 version=1" \
		"^stopping on signal 15$" ""
'

test_expect_success 'json: a refusal carries the version and the reason' '
	make_artifact sequences OnlyInV2 v2 &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null &&
	"$PYTHON" "$HELPER" flip-byte "sync/$(own_file sync 2 archive)" &&
	start_secondary s2 --sync-root sync --deploy-root d1 --poll-ms 100 \
		--log-format json &&
	wait_for_log s2.log "version 2 refused" &&
	stop $pid_s2 &&
	json_log s2.log \
		"version 2 refused.*checksum" \
		"version=2 reason=checksum release=v1-r2" &&
	levels s2.log >lv &&
	! grep -qx debug lv
'

test_expect_success 'json from ARTSYNC_LOG_FORMAT: the primary'"'"'s publish' '
	rm -rf sync3 &&
	ARTSYNC_LOG_FORMAT=json start_primary --source src --sync-root sync3 \
		--quiet-ms 50 &&
	wait_for_log primary.log "published version 1 " &&
	stop $pid_primary &&
	json_log primary.log "^published version 1 in" "version=1" &&
	levels primary.log >lv &&
	! grep -qx debug lv
'

test_expect_success 'log_level = debug (here from the environment) shows debug lines' '
	ARTSYNC_LOG_LEVEL=debug start_bg debug "$ARTSYNC" primary --source src \
		--sync-root sync3 --quiet-ms 50 --log-format json &&
	wait_for_log debug.log "source unchanged at version 1" &&
	stop $pid_debug &&
	json_log debug.log "^source unchanged at version 1$" "level=debug"
'

test_expect_success 'text is the default: one line, time, artsync, level, message' '
	start_secondary t1 --sync-root sync --deploy-root d-text --poll-ms 100 \
		--startup async &&
	wait_for_log t1.log "version 2 refused" &&
	stop $pid_t1 &&
	! grep -E -v "$TEXT_RE" t1.log
'

test_expect_success 'a JOURNAL_STREAM that is not our stderr changes nothing' '
	JOURNAL_STREAM=1:1 start_secondary t2 --sync-root sync \
		--deploy-root d-text --poll-ms 100 &&
	wait_for_log t2.log "version 2 refused" &&
	stop $pid_t2 &&
	! grep -E -v "$TEXT_RE" t2.log
'

test_expect_success 'JOURNAL_STREAM is our stderr, but no journald: <N> prefixes on stderr' '
	: >t3.log &&
	JOURNAL_STREAM=$(stat -c %d:%i t3.log) start_secondary t3 \
		--sync-root sync --deploy-root d-text --poll-ms 100 \
		--log-format json &&
	wait_for_log t3.log "^<3>version 2 refused" &&
	stop $pid_t3 &&
	grep_file "^<6>stopping on signal 15$" t3.log &&
	! grep -v "^<[0-9]>" t3.log
'

# journald's native protocol (systemd.journal-fields(7), sd_journal_sendv):
# one datagram an entry, "KEY=value\n" lines, or for a value with a newline
# "KEY\n", a little-endian 64-bit length, the value, "\n".
cat >journald.py <<'EOF'
import json, socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1)
end = time.monotonic() + 60
while time.monotonic() < end:
    try:
        d = s.recv(1 << 20)
    except socket.timeout:
        continue
    e, i = {}, 0
    while i < len(d):
        nl = d.index(b"\n", i)
        line = d[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k, n = line, struct.unpack("<Q", d[nl + 1:nl + 9])[0]
            v = d[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        e[k.decode()] = v.decode()
    with open(sys.argv[2], "a") as f:
        f.write(json.dumps(e) + "\n")
    if "stopping on signal" in e.get("MESSAGE", ""):
        break
EOF

# journal_run CMD...: CMD in a mount namespace whose /run is a fresh tmpfs
# with journald.py on /run/systemd/journal/socket (entries to
# journal.entries); JOURNAL_STREAM names CMD's stderr, as systemd sets it.
# The stand-in ends by itself when CMD says it stops, or after 60 s.
cat >journal-run.sh <<'EOF'
mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal || exit 1
"$PYTHON" "$TRASH/journald.py" /run/systemd/journal/socket \
	"$TRASH/journal.entries" &
i=0
while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 500 ]; do
	sleep 0.02
	i=$((i + 1))
done
JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2)
export JOURNAL_STREAM
exec "$@"
EOF

if unshare -m true 2>/dev/null; then
	test_expect_success 'under journald: each message an entry, its facts as fields' '
		cp -a d1 d-journal &&
		PYTHON=$PYTHON TRASH=$TRASH start_bg j unshare -m \
			sh journal-run.sh "$ARTSYNC" secondary --sync-root sync \
			--deploy-root d-journal --poll-ms 100 --listen 127.0.0.1:0 &&
		wait_for 20 "grep -q \"version 2 refused\" journal.entries" &&
		stop $pid_j &&
		wait_for 10 "grep -q \"stopping on signal 15\" journal.entries" &&
		"$PYTHON" - journal.entries <<-\EOF &&
		import json, sys
		es = [json.loads(l) for l in open(sys.argv[1])]
		assert all(e["SYSLOG_IDENTIFIER"] == "artsync" for e in es), es
		up = [e for e in es if e["MESSAGE"].startswith("serving ")]
		assert up and up[0]["PRIORITY"] == "6", es
		bad = [e for e in es if "version 2 refused" in e["MESSAGE"]][0]
		assert bad["PRIORITY"] == "3", bad
		assert bad["ARTSYNC_REASON"] == "checksum", bad
		assert bad["ARTSYNC_VERSION"] == "2", bad
		assert bad["ARTSYNC_RELEASE"] == "v1-r2", bad
		print("%d journal entries" % len(es))
		EOF
		! grep -q "serving\|refused" j.log
	'
else
	say "# skipped: the journald test needs unshare -m (a mount namespace)"
fi

finish
