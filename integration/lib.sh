# integration/lib.sh - the test library every integration/t*.sh sources.
#
# In the manner of git's t/test-lib.sh: a script sources this file, runs
# assertions with test_expect_success, and ends with finish. Each script gets
# a fresh trash directory (its working directory from then on) and leaves
# nothing behind: every process it started through these helpers is killed
# by PID at exit, and the trash directory is removed (KEEP_TRASH=1 keeps it).
#
# Calling sequence:
#	. "$(dirname "$0")/lib.sh"
#	test_expect_success 'publish prints 1' '
#		"$ARTSYNC" publish --source src --sync-root sync >out &&
#		test "$(cat out)" = 1
#	'
#	finish
#
# Test bodies are &&-chains evaluated in the script's own shell (no
# subshell), so variables they set and processes they start outlive them.
# A body's output goes to a file, shown (with an xtrace of the body) only
# when the test fails. Outcomes never depend on a fixed sleep: wait_for
# polls a condition up to a bound, and hitting the bound fails the test.
#
# Environment:
#	ARTSYNC      the binary under test (default: $REPO/artsync); each script
#	             runs a copy of it and of the artsync-agent beside it (the
#	             front execs that for the daemons and the client), taken
#	             at its start
#	FIXTURES     the Synapse fixture tree (default: $REPO/../shared/fixtures/synapse)
#	RESULTS_FILE where finish writes "PASSED FAILED" (set by integration/run)
#	KEEP_TRASH=1 keep the trash directory for a post-mortem
#	SRC          the tree make_artifact writes to (default: src)
#	VALGRIND=1   run every artsync process (daemons, one-shot commands,
#	             clients) under valgrind's memcheck; finish then fails on
#	             any error it reports or any definite leak (`make valgrind`)
#	TIMEOUT_SCALE every bound of wait_for and stop is multiplied by this
#	             (default 1; 20 under VALGRIND=1)
#	PYTHON       the python3 that runs helper.py (default: Debian's
#	             /usr/bin/python3 when there is one: a version manager's
#	             shim in PATH can cost 0.2 s a call, and tests make many)

TEST_NAME=$(basename "$0" .sh)
TEST_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$TEST_DIR/.." && pwd)
ARTSYNC=${ARTSYNC:-$REPO/artsync}
FIXTURES=${FIXTURES:-$REPO/../shared/fixtures/synapse}
HELPER="$TEST_DIR/helper.py"
if [ -z "${PYTHON:-}" ]; then
	PYTHON=python3
	[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
fi
SRC=${SRC:-src}

# Every command reads /etc/artsync.conf when there is one, and ARTSYNC_<KEY>
# variables over it: a test sees neither this machine's file nor the
# caller's environment, only what it sets itself. (ARTSYNC_SEED and the
# like stay shell variables for the scripts that read them.)
for v in $(compgen -e ARTSYNC_); do
	export -n "$v"
done
export ARTSYNC_CONFIG=

# The ten artifact folders (CONTRACT.md); fixtures' multi/ is not one.
ARTIFACT_TYPES="api sequences endpoints local-entries proxy-services templates
inbound-endpoints message-stores message-processors tasks"

test_count=0
test_passed=0
test_failed=0
PIDS=""			# processes started here, still to be reaped
declare -A PID_LOG	# PID -> its log file, for stop's complaints

say() { printf '%s\n' "$*"; }

case $ARTSYNC in
/*) ;;
*) ARTSYNC=$(pwd)/$ARTSYNC ;;
esac
[ -x "$ARTSYNC" ] || { say "error: ARTSYNC=$ARTSYNC is not executable" >&2; exit 1; }
[ -d "$FIXTURES" ] || { say "error: FIXTURES=$FIXTURES is not a directory" >&2; exit 1; }
FIXTURES=$(cd "$FIXTURES" && pwd)

TRASH=$(mktemp -d "${TMPDIR:-/tmp}/artsync-$TEST_NAME.XXXXXX") ||
	{ say "error: mktemp failed" >&2; exit 1; }
cd "$TRASH" || exit 1

# One pair of binaries per script: copies, so that a `make` in the tree
# while the script runs cannot swap them between two of its steps. The
# front finds the agent beside itself (agent/front.c).
ARTSYNC_ORIG=$ARTSYNC
AGENT_ORIG=$(dirname "$ARTSYNC_ORIG")/artsync-agent
mkdir "$TRASH/.bin" && cp "$ARTSYNC_ORIG" "$TRASH/.bin/artsync" &&
	cp "$AGENT_ORIG" "$TRASH/.bin/artsync-agent" ||
	{ say "error: cannot copy $ARTSYNC_ORIG and $AGENT_ORIG" >&2; rm -rf "$TRASH"; exit 1; }
ARTSYNC=$TRASH/.bin/artsync

# Under VALGRIND=1 each of the two names is a wrapper that execs valgrind
# (same PID: signals and exit codes reach the process under test), one log
# per process in .valgrind/. --error-exitcode makes an error or a definite
# leak fail the command's exit status too (99, never one artsync uses).
# The front under valgrind finds the agent's wrapper beside its .real
# (valgrind answers /proc/self/exe with the client's path) and execs it
# untraced; the agent's valgrind then takes over the PID and its log.
# valgrind_wrap NAME: .bin/NAME becomes the wrapper of .bin/NAME.real.
valgrind_wrap() {
	local bin=$TRASH/.bin/$1
	mv "$bin" "$bin.real" &&
	cat >"$bin" <<EOF && chmod +x "$bin"
#!/bin/sh
exec valgrind --tool=memcheck --leak-check=full \\
	--errors-for-leak-kinds=definite --show-leak-kinds=definite,indirect \\
	--error-exitcode=99 --child-silent-after-fork=yes \\
	--log-file="$TRASH/.valgrind/%p.log" "$bin.real" "\$@"
EOF
}
VALGRIND=${VALGRIND:-0}
if [ "$VALGRIND" = 1 ]; then
	TIMEOUT_SCALE=${TIMEOUT_SCALE:-20}
	command -v valgrind >/dev/null ||
		{ say "error: VALGRIND=1 but no valgrind" >&2; rm -rf "$TRASH"; exit 1; }
	mkdir "$TRASH/.valgrind" && valgrind_wrap artsync &&
		valgrind_wrap artsync-agent ||
		{ say "error: cannot write the valgrind wrappers" >&2; rm -rf "$TRASH"; exit 1; }
fi
TIMEOUT_SCALE=${TIMEOUT_SCALE:-1}

# is_ours PID: PID is still a child of this shell. bash reaps a background
# process as soon as it ends, and on a busy machine (pid_max 32768, several
# suites at once) its number soon goes to someone else's process: never
# signal a PID without asking this first.
is_ours() {
	local s
	s=$(<"/proc/$1/stat") || return 1
	s=${s##*) }		# past "PID (COMM) ": STATE PPID ...
	set -- $s
	[ "$2" = "$$" ]
} 2>/dev/null

# Kills what is still running (TERM, then KILL after 5 s), by PID only.
kill_all() {
	local pid i
	for pid in $PIDS; do
		is_ours "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in $PIDS; do
		i=0
		while is_ours "$pid" && [ $i -lt $((250 * TIMEOUT_SCALE)) ]; do
			sleep 0.02
			i=$((i + 1))
		done
		is_ours "$pid" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	PIDS=""
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	kill_all
	cd / || :
	if [ "${KEEP_TRASH:-0}" = 1 ]; then
		say "# trash kept: $TRASH"
	else
		rm -rf "$TRASH"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tests ---------------------------------------------------------------

# The body runs inside a function of its own, so that "|| return 1" in a
# loop of a body ends the body (as in git's t/), not test_expect_success.
test_eval_() {
	eval "$1"
}

# test_expect_success NAME BODY
test_expect_success() {
	local name=$1 body=$2 rc out="$TRASH/.test-output"
	test_count=$((test_count + 1))
	# The trace has its own fd, so that a body's "2>err" holds only what
	# the command itself wrote (BASH_XTRACEFD, as git's test-lib does).
	exec 4>"$out"
	BASH_XTRACEFD=4
	{
		set -x
		test_eval_ "$body"
		{ rc=$?; set +x; } 4>/dev/null
	} >&4 2>&1 </dev/null
	exec 4>&-
	if [ $rc -eq 0 ]; then
		test_passed=$((test_passed + 1))
		say "ok $test_count - $name"
	else
		test_failed=$((test_failed + 1))
		say "not ok $test_count - $name"
		# The end of the trace is where it went wrong.
		if [ "$(wc -l <"$out")" -gt 80 ]; then
			say "#	(last 80 lines of $(wc -l <"$out"))"
		fi
		tail -n 80 "$out" | sed 's/^/#	/'
	fi
	return 0
}

SANITIZER_RE='ERROR: (Address|Leak|Undefined)Sanitizer|WARNING: ThreadSanitizer|runtime error:'

# finish: the plan, the summary line, the results file; exits. When the
# script started daemons, a last test reads their logs for sanitizer reports
# (ASan, UBSan, LSan): a daemon killed on purpose cannot report through its
# exit status.
finish() {
	if ls "$TRASH"/*.log >/dev/null 2>&1; then
		test_expect_success 'no sanitizer report in any daemon log' '
			! grep -E -A12 "$SANITIZER_RE" "$TRASH"/*.log
		'
	fi
	if [ "$VALGRIND" = 1 ]; then
		test_expect_success 'valgrind: no error, no definite leak in any process' '
			valgrind_report >"$TRASH/.valgrind-summary"
		'
		say "# valgrind: $(cat "$TRASH/.valgrind-summary" 2>/dev/null)"
	fi
	say "1..$test_count"
	say "# $TEST_NAME: $test_passed passed, $test_failed failed"
	if [ -n "${RESULTS_FILE:-}" ]; then
		say "$test_passed $test_failed" >"$RESULTS_FILE"
	fi
	[ $test_failed -eq 0 ]
	exit $?
}

# --- assertions ----------------------------------------------------------

# valgrind_report: one line totalling the valgrind logs of every artsync
# process so far (processes, how many ran to their end - one killed with
# SIGKILL leaves no summary -, errors, bytes definitely and indirectly
# lost); fails, showing the logs at fault, on any error or definite leak.
VALGRIND_ERROR_RE='== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Argument .* of function)'
valgrind_report() {
	local -
	set +x
	local out f rc=0
	ls "$TRASH"/.valgrind/*.log >/dev/null 2>&1 ||
		{ say "valgrind_report: no log in $TRASH/.valgrind" >&2; return 1; }
	out=$(awk -v re="$VALGRIND_ERROR_RE" '
		FNR == 1 { n++ }
		/ERROR SUMMARY:/ { ended++; v = $4; gsub(",", "", v); errs += v
			if (v + 0 > 0) bad[FILENAME] = 1 }
		/definitely lost:/ { v = $4; gsub(",", "", v); def += v
			if (v + 0 > 0) bad[FILENAME] = 1 }
		/indirectly lost:/ { v = $4; gsub(",", "", v); ind += v }
		$0 ~ re { bad[FILENAME] = 1 }
		END {
			printf "%d processes (%d ran to their end), %d errors, " \
			    "%d bytes definitely lost, %d bytes indirectly lost\n",
			    n, ended, errs, def, ind
			for (f in bad) print f
		}' "$TRASH"/.valgrind/*.log) || return 1
	say "${out%%$'\n'*}"
	for f in $(printf '%s\n' "$out" | tail -n +2); do
		say "--- $f" >&2
		grep -v '^==[0-9]*== *$' "$f" | head -n 60 >&2
		rc=1
	done
	return $rc
}

# wait_for SECONDS CONDITION: polls CONDITION (eval'd) every 20 ms; fails,
# saying what it waited for, if SECONDS pass first.
wait_for() {
	local secs=$1 cond=$2 deadline
	local -
	set +x	# a trace of every poll would drown the one that matters
	# EPOCHREALTIME (bash 5): microseconds without a fork per poll.
	deadline=$(( ${EPOCHREALTIME//[!0-9]/} + secs * TIMEOUT_SCALE * 1000000 ))
	while :; do
		if eval "$cond" 2>/dev/null; then
			return 0
		fi
		if [ "${EPOCHREALTIME//[!0-9]/}" -ge $deadline ]; then
			say "wait_for: gave up after ${secs}s: $cond" >&2
			# Once more with its errors shown, to say why.
			eval "$cond" >&2
			return 1
		fi
		sleep 0.02
	done
}

# wait_for_log FILE ERE [SECONDS]: FILE gets a line matching ERE (grep -E)
# within SECONDS (default 20). Log lines come after the fact they report
# (the swap, then "applied ..."), so never grep a log right after seeing
# the fact: wait for the line.
wait_for_log() {
	local -
	set +x
	local wfl_file=$1 wfl_re=$2
	if ! wait_for "${3:-20}" 'grep -E -q -- "$wfl_re" "$wfl_file"'; then
		say "wait_for_log: no '$wfl_re' in $wfl_file:" >&2
		tail -n 30 "$wfl_file" >&2
		return 1
	fi
}

# same_tree A B: the same files, byte for byte, none extra on either side.
# Folders count through their files only (a release always holds all ten
# type folders; a source tree may lack the empty ones). A symlink or any
# other non-regular file is a difference.
same_tree() {
	"$PYTHON" "$HELPER" same-tree "$1" "$2"
}

# release_is_complete DEPLOY_ROOT: current resolves to releases/vV-rS, and
# releases/vV-rS.json lists exactly the files that directory holds (as
# TYPE/NAME.xml), with their sizes and XXH128 (as `xxhsum -H2` computes).
release_is_complete() {
	"$PYTHON" "$HELPER" release-complete "$1"
}

# test_exit_code CODE CMD...: CMD exits with exactly CODE. Its output is
# left where the caller redirected it; never pipe (it hides the status).
test_exit_code() {
	local want=$1 got
	shift
	"$@"
	got=$?
	if [ "$got" -ne "$want" ]; then
		say "test_exit_code: '$*' exited $got, expected $want" >&2
		return 1
	fi
	return 0
}

# test_line_count N FILE
test_line_count() {
	local -
	set +x
	local n
	n=$(wc -l <"$2")
	if [ "$n" -ne "$1" ]; then
		say "test_line_count: $2 has $n lines, expected $1:" >&2
		cat "$2" >&2
		return 1
	fi
}

# grep_file PATTERN FILE: grep -E, and show the file when it fails.
grep_file() {
	local -
	set +x
	if ! grep -E -q -- "$1" "$2"; then
		say "grep_file: no '$1' in $2:" >&2
		tail -n 30 "$2" >&2
		return 1
	fi
}

# --- processes -----------------------------------------------------------

# start_bg LOGNAME CMD...: runs CMD in the background, output appended to
# LOGNAME.log; sets LAST_PID and pid_LOGNAME (dashes become underscores).
start_bg() {
	local -
	set +x
	local name=$1 var
	shift
	"$@" >>"$TRASH/$name.log" 2>&1 </dev/null 4>&- &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
	PID_LOG[$LAST_PID]=$TRASH/$name.log
	# For integration/run, should this script die before its cleanup.
	say "$LAST_PID" >>"$TRASH/.pids"
	var=pid_$(printf '%s' "$name" | tr -c 'A-Za-z0-9_' _)
	eval "$var=$LAST_PID"
}

# listen_port LOG: waits for LOG's "listening on ... (port N)" line and sets
# port and EP (http://127.0.0.1:N) from its last occurrence.
listen_port() {
	local -
	set +x
	wait_for_log "$1" 'listening on .* \(port [0-9]+\)' || return 1
	port=$(sed -n 's/.*listening on .* (port \([0-9][0-9]*\)).*/\1/p' \
		"$1" | tail -n 1)
	test -n "$port" && test "$port" -gt 0 || return 1
	EP=http://127.0.0.1:$port
}

# start_secondary NAME ARGS...: `artsync secondary ARGS` as NAME (log
# NAME.log, PID in $pid_NAME and $LAST_PID). The REST endpoint gets a free
# port unless ARGS say otherwise, so that secondaries never contend for one.
start_secondary() {
	local -
	set +x
	local name=$1 listen="--listen 127.0.0.1:0" a
	shift
	for a in "$@"; do
		case $a in --listen|--listen=*|--config|--config=*) listen="" ;; esac
	done
	# shellcheck disable=SC2086
	start_bg "$name" "$ARTSYNC" secondary $listen "$@"
}

# start_primary ARGS...: `artsync primary ARGS`, log primary.log, PID in
# $pid_primary and $LAST_PID.
start_primary() {
	start_bg primary "$ARTSYNC" primary "$@"
}

# start_redis NAME PORT [ARGS...]: redis-server on 127.0.0.1:PORT, nothing
# saved, log NAME.log, its PID in LAST_PID; waits until it answers (PONG,
# or NOAUTH with --requirepass).
start_redis() {
	local name=$1 p=$2
	shift 2
	mkdir -p "$TRASH/$name.dir" &&
	start_bg "$name" redis-server --port "$p" --bind 127.0.0.1 --save "" \
		--appendonly no --dir "$TRASH/$name.dir" "$@" &&
	wait_for 10 "redis-cli -p $p ping | grep -q -E \"PONG|NOAUTH\""
}

# forget_pid PID: the process was reaped; never signal that number again.
forget_pid() {
	local -
	set +x
	local p out=""
	for p in $PIDS; do
		[ "$p" = "$1" ] || out="$out $p"
	done
	PIDS=$out
}

# stop PID: SIGTERM, wait for it (at most 20 s), and require exit status 0.
stop() {
	local -
	set +x
	local pid=$1 i=0 rc
	{ is_ours "$pid" && kill -TERM "$pid" 2>/dev/null; } ||
		{ say "stop: $pid is not running" >&2; return 1; }
	while is_ours "$pid" && [ $i -lt $((1000 * TIMEOUT_SCALE)) ]; do
		sleep 0.02
		i=$((i + 1))
	done
	if is_ours "$pid"; then
		say "stop: $pid still running $((20 * TIMEOUT_SCALE)) s after SIGTERM" >&2
		return 1
	fi
	wait "$pid"
	rc=$?
	forget_pid "$pid"
	if [ $rc -ne 0 ]; then
		say "stop: $pid exited $rc after SIGTERM, expected 0;" \
			"the end of ${PID_LOG[$pid]:-its log}:" >&2
		[ -z "${PID_LOG[$pid]:-}" ] || tail -n 15 "${PID_LOG[$pid]}" >&2
		return 1
	fi
}

# kill9 PID: SIGKILL and reap (the status is 137 by construction).
kill9() {
	local -
	set +x
	is_ours "$1" && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	forget_pid "$1"
	return 0
}

# is_running PID
is_running() {
	is_ours "$1" && kill -0 "$1" 2>/dev/null
}

# notify_listener NAME: systemd's side of sd_notify(3): a datagram socket
# at $TRASH/NAME.sock that appends every message to NAME.msgs as one line,
# "SECONDS MESSAGE" (the monotonic clock when it came; the message's
# newlines as blanks). A daemon started with NOTIFY_SOCKET=$TRASH/NAME.sock
# talks to it.
notify_listener() {
	start_bg "$1-listener" "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    m = s.recv(4096).decode()
    with open(sys.argv[2], "a") as f:
        f.write("%.3f %s\n" % (time.monotonic(), m.replace("\n", " ")))
' "$TRASH/$1.sock" "$TRASH/$1.msgs" &&
	wait_for 10 "test -S $TRASH/$1.sock"
}

# as_nobody CMD...: CMD as an unprivileged user (uid and gid 65534, no
# groups, no capabilities). The trash directory and the run's directory
# above it (mode 0700 from mktemp) become traversable by others for that.
as_nobody() {
	chmod o+x "$TRASH" "$(dirname "$TRASH")" &&
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# free_port: a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
	"$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# rsync_daemon N: an rsync daemon on 127.0.0.1:$portN (set by the caller)
# serving module m = $TRASH/targetN, writable (log rsyncdN.log).
rsync_daemon() {
	mkdir -p "target$1" &&
	printf '%s\n' "use chroot = no" "pid file = $TRASH/d$1.pid" "[m]" \
		"path = $TRASH/target$1" "read only = no" "uid = root" \
		"gid = root" >"d$1.conf" &&
	rm -f "d$1.pid" &&
	eval "port=\$port$1" &&
	start_bg "rsyncd$1" rsync --daemon --no-detach --address 127.0.0.1 \
		--port "$port" --config "$TRASH/d$1.conf" &&
	wait_for 10 "ss -ltn | grep -q \"127.0.0.1:$port \""
}

# --- trees and artifacts -------------------------------------------------

# fixture_tree DIR: the ten artifact folders of the fixtures (not multi/).
fixture_tree() {
	local -
	set +x
	local t
	mkdir -p "$1" || return 1
	for t in $ARTIFACT_TYPES; do
		cp -R "$FIXTURES/$t" "$1/" || return 1
	done
}

# make_artifact TYPE NAME [MARK]: writes $SRC/TYPE/NAME.xml, a small artifact
# that the type's schema accepts. Every one carries the line
#	<property name="m" value="MARK"/>
# so that a reader can tell which generation a file belongs to. The file is
# written in place, by one printf: a watching primary sees IN_CLOSE_WRITE
# once it is whole, and its quiet timer starts again from there.
make_artifact() {
	local -
	set +x
	local type=$1 name=$2 mark=${3:-1} ns='xmlns="http://ws.apache.org/ns/synapse"'
	local p="<property name=\"m\" value=\"$mark\"/>" body
	case $type in
	api)
		body="<api $ns name=\"$name\" context=\"/$name\"><resource methods=\"GET\"><inSequence><log>$p</log><respond/></inSequence></resource></api>" ;;
	sequences)
		body="<sequence $ns name=\"$name\"><log>$p</log></sequence>" ;;
	endpoints)
		body="<endpoint $ns name=\"$name\"><address uri=\"http://127.0.0.1:8280/$name\"/>$p</endpoint>" ;;
	local-entries)
		body="<localEntry $ns key=\"$name\">$p</localEntry>" ;;
	proxy-services)
		body="<proxy $ns name=\"$name\" transports=\"http\"><target><inSequence><log>$p</log></inSequence></target></proxy>" ;;
	templates)
		body="<template $ns name=\"$name\"><sequence><log>$p</log></sequence></template>" ;;
	inbound-endpoints)
		body="<inboundEndpoint $ns name=\"$name\" protocol=\"http\" suspend=\"false\"><parameters><parameter name=\"inbound.http.port\">8285</parameter></parameters>$p</inboundEndpoint>" ;;
	message-stores)
		body="<messageStore $ns name=\"$name\" class=\"org.apache.synapse.message.store.impl.memory.InMemoryStore\">$p</messageStore>" ;;
	message-processors)
		body="<messageProcessor $ns name=\"$name\" class=\"org.apache.synapse.message.processor.impl.sampler.SamplingProcessor\" messageStore=\"store\">$p</messageProcessor>" ;;
	tasks)
		body="<task $ns name=\"$name\" class=\"org.apache.synapse.startup.tasks.MessageInjector\" group=\"synapse.simple.quartz\"><trigger interval=\"60\"/>$p</task>" ;;
	*)
		say "make_artifact: unknown type '$type'" >&2
		return 1 ;;
	esac
	[ -d "$SRC/$type" ] || mkdir -p "$SRC/$type" || return 1
	printf '<?xml version="1.0" encoding="UTF-8"?>\n%s\n' "$body" >"$SRC/$type/$name.xml"
}

# --- sync root and deploy root ---------------------------------------------

# What the daemons log when a release goes live (agent/agent.c), as an
# ERE: any version (APPLIED_RE) or version V (applied_re V). Kept here, in
# one place, because wording is the daemons' to change.
APPLIED_RE='releases/v[0-9]+-r[0-9]+ \(version [0-9]+\) live in [0-9]+ ms'
applied_re() {
	printf 'releases/v%s-r[0-9]+ \\(version %s\\) live in ' "$1" "$1"
}

# state_version SYNC_ROOT: the version state.json names.
state_version() {
	"$PYTHON" "$HELPER" json-get "$1/state.json" version
}

# leftovers_clean DEPLOY_ROOT [KEEP]: what a crash may leave is gone:
# nothing in .staging, no current.tmp, no temp file in releases/ or
# upstream/, at most KEEP (default 5) releases, each with its record, and no
# record without its release.
leftovers_clean() {
	local -
	set +x
	local d=$1 keep=${2:-5} r n=0
	if [ -d "$d/.staging" ] && [ -n "$(ls -A "$d/.staging")" ]; then
		say "leftover in $d/.staging: $(ls -A "$d/.staging")" >&2
		return 1
	fi
	if [ -e "$d/current.tmp" ] || [ -L "$d/current.tmp" ]; then
		say "leftover $d/current.tmp" >&2
		return 1
	fi
	for r in "$d"/upstream/.[!.]*; do
		[ -e "$r" ] || continue
		say "leftover temp file $r" >&2
		return 1
	done
	for r in "$d"/releases/* "$d"/releases/.[!.]*; do
		[ -e "$r" ] || continue
		case $r in
		*.json)
			[ -d "${r%.json}" ] || { say "record without release: $r" >&2; return 1; } ;;
		*)
			[ -d "$r" ] && [ -f "$r.json" ] || { say "not a release with a record: $r" >&2; return 1; }
			n=$((n + 1)) ;;
		esac
	done
	if [ $n -gt "$keep" ]; then
		say "$n releases in $d/releases, keep is $keep" >&2
		return 1
	fi
}

# one_secondary_on_v1: the fixtures published as version 1 into sync/, a
# secondary s1 (deploy root d1, poll 100 ms, its REST port in EP) that has
# applied it. The setup of the hostile-input scenarios.
one_secondary_on_v1() {
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync >"$TRASH/.v1" &&
	test "$(cat "$TRASH/.v1")" = 1 &&
	start_secondary s1 --sync-root sync --deploy-root d1 --poll-ms 100 &&
	listen_port s1.log &&
	wait_for 20 "test \"\$(current_version d1)\" = 1"
}

# current_release DEPLOY_ROOT: the name current points at (vV-rS).
current_release() {
	local -
	set +x
	local t
	t=$(readlink "$1/current") || return 1
	printf '%s\n' "${t#releases/}"
}

# current_version DEPLOY_ROOT: V of the release current points at.
current_version() {
	local -
	set +x
	local r
	r=$(current_release "$1") || return 1
	r=${r#v}
	printf '%s\n' "${r%%-r*}"
}

# extract_version SYNC_ROOT VERSION DIR: the version's tree, rebuilt by tar
# from its base archive and its deltas (helper.py extract-version).
extract_version() {
	rm -rf "$3" && mkdir -p "$3" &&
	"$PYTHON" "$HELPER" extract-version "$1" "$2" "$3"
}

# own_file SYNC_ROOT VERSION manifest|archive: the path below SYNC_ROOT of
# the version's own file (full, or its delta's).
own_file() {
	"$PYTHON" "$HELPER" own-file "$1" "$2" "$3"
}

# rest_auth DEPLOY_ROOT: the header that carries a secondary's token
# (DEPLOY_ROOT/rest.token, written at its first start), for curl -H: every
# POST, PUT and DELETE needs it. The CLI finds the file by itself.
rest_auth() {
	local t
	t=$(cat "$1/rest.token") || return 1
	printf 'Authorization: Bearer %s\n' "$t"
}

# --- refusals --------------------------------------------------------------

# fetch_metrics EP FILE: GET EP/metrics into FILE (an HTTP error fails).
fetch_metrics() {
	curl -sf --max-time 10 -o "$2" "$1/metrics"
}

# rejects_total FILE: the sum of the artsync_rejects_total samples in FILE.
rejects_total() {
	awk '/^artsync_rejects_total\{/ { n += $2 } END { print n + 0 }' "$1"
}

# one_reject BEFORE AFTER REASON: between two /metrics files, exactly one
# refusal was counted, as REASON (or as any one reason, for REASON "any";
# or one or more, all as REASON, for "REASON+"): its sample went up, no
# other sample moved, and AFTER holds the line
# artsync_rejects_total{reason="REASON"} N exactly.
one_reject() {
	"$PYTHON" "$HELPER" one-reject "$@"
}

# last_error EP: the last_error that `artsync status --json` reports.
last_error() {
	local -
	set +x
	"$ARTSYNC" status --endpoint "$1" --json >"$TRASH/.status.json" &&
	"$PYTHON" "$HELPER" json-get "$TRASH/.status.json" last_error
}
