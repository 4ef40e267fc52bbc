#!/bin/bash
# t12-front: the two binaries. artsync, the light front, links neither
# libcurl nor libmicrohttpd and runs the one-shot commands itself; for the
# others it execs artsync-agent in place (same argv, same PID), found at
# $ARTSYNC_AGENT, beside itself, or in the install's libexec directory, and
# says clearly when it finds none (agent/front.c).
. "$(dirname "$0")/lib.sh"

AGENT=$TRASH/.bin/artsync-agent

# needed BIN: the shared libraries BIN names, one a line.
needed() {
	readelf -d "$1" | sed -n "s/.*(NEEDED).*\[\(.*\)\]/\1/p"
}

test_expect_success 'setup: a tree, published once through the front' '
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync >out &&
	test "$(cat out)" = 1
'

test_expect_success 'the front needs no libcurl, libmicrohttpd or libinotifytools; the agent does' '
	needed "$ARTSYNC_ORIG" >front.libs &&
	needed "$AGENT_ORIG" >agent.libs &&
	grep -q "^libarchive" front.libs &&
	! grep -E "^lib(curl|microhttpd|inotifytools)" front.libs &&
	grep -q "^libcurl" agent.libs &&
	grep -q "^libmicrohttpd" agent.libs
'
say "# NEEDED: front $(wc -l <front.libs), agent $(wc -l <agent.libs)"

test_expect_success '--version, --help and an unknown command: the same from both' '
	"$ARTSYNC" --version >v1 && "$AGENT" --version >v2 &&
	cmp v1 v2 && grep -q "^artsync " v1 &&
	"$ARTSYNC" --help >h1 && "$AGENT" --help >h2 && cmp h1 h2 &&
	test_exit_code 2 "$ARTSYNC" no-such-command >o1 2>e1 &&
	test_exit_code 2 "$AGENT" no-such-command >o2 2>e2 &&
	cmp e1 e2 && grep -q "unknown command .no-such-command." e1
'

test_expect_success 'a secondary started through the front is the agent, same PID' '
	start_secondary s1 --sync-root sync --deploy-root deploy --poll-ms 100 &&
	listen_port s1.log &&
	curl -sf "$EP/healthz" >/dev/null &&
	wait_for 20 "test \"\$(current_version deploy)\" = 1" &&
	same_tree src deploy/current &&
	tr "\0" "\n" <"/proc/$pid_s1/cmdline" | sed -n 1,2p >args &&
	printf "%s\n" "$ARTSYNC" secondary >want &&
	{ test "$VALGRIND" = 1 || {
		test "$(readlink "/proc/$pid_s1/exe")" = "$AGENT" &&
		cmp want args; }; } &&
	"$ARTSYNC" status --endpoint "$EP" >out &&
	grep -q "applied_version: *1" out &&
	stop $pid_s1
'

test_expect_success 'the agent exit status comes back through the front' '
	test_exit_code 2 "$ARTSYNC" primary --no-such-flag >out 2>err &&
	test_line_count 1 err &&
	test_exit_code 1 "$ARTSYNC" status --endpoint http://127.0.0.1:1 \
		>out 2>err
'

cat >fake-agent <<'EOF'
#!/bin/sh
echo "fake $$ $*"
exit 7
EOF
chmod +x fake-agent

test_expect_success 'ARTSYNC_AGENT: that binary, same PID, same arguments' '
	ARTSYNC_AGENT=$TRASH/fake-agent sh -c "echo \$\$; exec \"\$0\" list --x y" \
		"$ARTSYNC" >out; rc=$? &&
	test $rc = 7 &&
	pid=$(sed -n 1p out) &&
	test "$(sed -n 2p out)" = "fake $pid list --x y"
'

test_expect_success 'ARTSYNC_AGENT: not a configuration key, and no fallback when wrong' '
	ARTSYNC_AGENT=$TRASH/fake-agent "$ARTSYNC" publish --source src \
		--sync-root sync >out 2>err &&
	test "$(cat out)" = unchanged && test ! -s err &&
	ARTSYNC_AGENT=$TRASH/nothing test_exit_code 1 "$ARTSYNC" secondary \
		>out 2>err &&
	test_line_count 1 err &&
	grep -q "^artsync: .secondary. needs artsync-agent: cannot run ARTSYNC_AGENT=$TRASH/nothing: No such file or directory$" err
'

# Where this build's front looks last (AGENT_DIR in front.c); the test
# below needs it empty.
LIBEXEC=$(strings "$ARTSYNC_ORIG" | grep -m1 "/libexec/artsync$")
if [ -e "$LIBEXEC/artsync-agent" ]; then
	say "# skipped: the front alone (an agent is installed in $LIBEXEC)"
else
test_expect_success 'the front alone: daemons and clients fail clearly, exit 1; publish works' '
	mkdir alone && cp "$ARTSYNC_ORIG" alone/artsync &&
	for cmd in primary secondary status; do
		test_exit_code 1 alone/artsync $cmd --sync-root sync >out 2>err &&
		test ! -s out && test_line_count 1 err &&
		grep -q "^artsync: .$cmd. needs artsync-agent, not found in $TRASH/alone/ or $LIBEXEC (install it: make install)$" err ||
			{ cat err; return 1; }
	done &&
	alone/artsync publish --source src --sync-root sync2 >out &&
	test "$(cat out)" = 1 &&
	alone/artsync verify --sync-root sync2 >out &&
	grep -q "^version 1 OK" out
'
fi

test_expect_success 'an agent that is there but cannot be run is named' '
	mkdir noexec && cp "$ARTSYNC_ORIG" noexec/artsync &&
	cp "$AGENT_ORIG" noexec/artsync-agent && chmod -x noexec/artsync-agent &&
	test_exit_code 1 noexec/artsync list >out 2>err &&
	grep -q "cannot run $TRASH/noexec/artsync-agent: Permission denied" err
'

finish
