#!/bin/bash
# t85-push-opts: how rsync reaches push targets (agent/pushconf.h), with the
# real rsync at both ends.
#
# One primary pushes to three kinds of target at once: a local path (a
# second "share"), HOST:PATH through push_rsh (a wrapper that stands in
# for ssh and runs the far side's `rsync --server` here), and an rsync
# daemon that asks for a password (push_password_file), all with extra
# options (push_rsync_options). Each target gets byte-identical files and a
# secondary follows the local one. A second primary reaches HOST:PATH by
# push_ssh_key, an `ssh` early in PATH recording what it was given; a
# third, to a local path, runs `sync DIR` after each rename. What
# would break a target - a password file others may read, a missing key,
# a refused option, both rsh keys - stops the primary at start (exit 2),
# naming the file and the fix.
. "$(dirname "$0")/lib.sh"

# fake_rsh FILE LOG: a remote shell that logs its arguments to LOG, skips
# ssh-style options and the host, and runs the remote command here.
fake_rsh() {
	cat >"$1" <<-EOF
	#!/bin/sh
	echo "\$*" >>"$2"
	while [ \$# -gt 0 ]; do
		case \$1 in
		-i|-o|-l|-p) shift 2 ;;
		-*) shift ;;
		*) break ;;
		esac
	done
	shift
	exec "\$@"
	EOF
	chmod +x "$1"
}

# same_files A B: the snapshot files and state.json of two sync roots match.
same_files() {
	local f
	for f in "$1"/snapshots/*; do
		cmp "$f" "$2/snapshots/${f##*/}" || return 1
	done &&
	cmp "$1/state.json" "$2/state.json"
}

test_expect_success 'setup: an rsync daemon with auth, a wrapper rsh, a source' '
	port1=$(free_port) &&
	mkdir target1 &&
	printf "pusher:s3cret\n" >secrets && chmod 600 secrets &&
	printf "s3cret\n" >pw && chmod 600 pw &&
	printf "%s\n" "use chroot = no" "pid file = $TRASH/d1.pid" "[m]" \
		"path = $TRASH/target1" "read only = no" "uid = root" \
		"gid = root" "auth users = pusher" \
		"secrets file = $TRASH/secrets" >d1.conf &&
	start_bg rsyncd1 rsync --daemon --no-detach --address 127.0.0.1 \
		--port "$port1" --config "$TRASH/d1.conf" &&
	wait_for 10 "ss -ltn | grep -q \"127.0.0.1:$port1 \"" &&
	fake_rsh "$TRASH/rsh" "$TRASH/rsh.log" &&
	mkdir bin && fake_rsh "$TRASH/bin/ssh" "$TRASH/ssh.log" &&
	fixture_tree src
'

test_expect_success 'refused at start: password file mode, missing key, bad options, both rsh keys' '
	chmod 640 pw &&
	test_exit_code 2 "$ARTSYNC" primary --source src --sync-root sync \
		--push-password-file pw 2>err &&
	grep_file "push_password_file: pw: an rsync password that others may read .mode 0640.: chmod 600 pw" err &&
	chmod 600 pw &&
	test_exit_code 2 "$ARTSYNC" primary --source src --sync-root sync \
		--push-ssh-key "$TRASH/nokey" 2>err &&
	grep_file "push_ssh_key $TRASH/nokey .*No such file" err &&
	test_exit_code 2 "$ARTSYNC" primary --source src --sync-root sync \
		--push-rsync-options "--bwlimit=10 --remove-source-files" 2>err &&
	grep_file "--remove-source-files. is refused" err &&
	test_exit_code 2 "$ARTSYNC" primary --source src --sync-root sync \
		--push-rsync-options "--inplace" 2>err &&
	test_exit_code 2 "$ARTSYNC" primary --source src --sync-root sync \
		--push-rsync-options "-n" 2>err &&
	grep_file "not a long option" err &&
	printf "k\n" >key &&
	test_exit_code 2 "$ARTSYNC" primary --source src --sync-root sync \
		--push-rsh "$TRASH/rsh" --push-ssh-key key 2>err &&
	grep_file "push_rsh and push_ssh_key are both set" err &&
	test ! -e sync
'

test_expect_success 'one primary: a local path, push_rsh and a password, with extra options' '
	printf "%s\n" "[primary]" "source = $TRASH/src" "sync_root = $TRASH/sync" \
		"quiet_ms = 100" "retry_ms = 200" \
		"push = $TRASH/share2/gw" \
		"push = localhost:$TRASH/viarsh" \
		"push = rsync://pusher@127.0.0.1:$port1/m/" \
		"push_rsh = $TRASH/rsh" \
		"push_password_file = $TRASH/pw" >conf &&
	ARTSYNC_PUSH_RSYNC_OPTIONS="--checksum --bwlimit=100000" \
		start_primary --config conf &&
	wait_for 20 "test \"\$(state_version share2/gw)\" = 1" &&
	wait_for 20 "test \"\$(state_version viarsh)\" = 1" &&
	wait_for 20 "test \"\$(state_version target1)\" = 1" &&
	same_files sync share2/gw &&
	same_files sync viarsh &&
	same_files sync target1 &&
	grep_file "^localhost rsync --server" rsh.log &&
	grep_file "^localhost rsync --server .*--bwlimit=100000" rsh.log
'

test_expect_success 'a secondary follows the local path target; the next version too' '
	start_secondary s1 --sync-root share2/gw --deploy-root dep1 \
		--poll-ms 100 &&
	wait_for 20 "test \"\$(current_version dep1)\" = 1" &&
	same_tree src dep1/current &&
	make_artifact api Second v2 &&
	wait_for 20 "test \"\$(current_version dep1)\" = 2" &&
	same_tree src dep1/current &&
	wait_for 20 "test \"\$(state_version target1)\" = 2" &&
	same_files sync target1 && same_files sync viarsh &&
	test -z "$(find share2 viarsh -name ".*" -type f)" &&
	stop $pid_s1 && stop $pid_primary
'

test_expect_success 'a wrong password: the push fails with rsync'"'"'s reason and retries' '
	printf "wrong\n" >pw2 && chmod 600 pw2 &&
	start_bg p2 "$ARTSYNC" primary --source src --sync-root sync \
		--retry-ms 200 --node-id p2 --push-password-file pw2 \
		--push "rsync://pusher@127.0.0.1:$port1/m/other" &&
	wait_for_log p2.log "push rsync://pusher@127.0.0.1:$port1/m/other: version [0-9]+ failed \(rsync exit 5, error starting client-server protocol" &&
	stop $pid_p2
'

test_expect_success 'push_ssh_key: ssh -i KEY -o BatchMode=yes runs the far side' '
	printf "k\n" >key && chmod 600 key &&
	start_bg p3 env PATH="$TRASH/bin:$PATH" "$ARTSYNC" primary \
		--source src --sync-root sync3 --quiet-ms 100 --node-id p3 \
		--push-ssh-key "$TRASH/key" --push "gw@localhost:$TRASH/viassh" &&
	wait_for 20 "test \"\$(state_version viassh)\" = 1" &&
	same_files sync3 viassh &&
	grep_file "^-i $TRASH/key -o BatchMode=yes -l gw localhost rsync --server" ssh.log &&
	stop $pid_p3
'

# A `sync` first in PATH that logs the directory it is given and the
# version the target state.json names at that moment, then runs the real
# one (or fails while sync.fail exists).
test_expect_success 'a local path: sync of snapshots/ before state.json names the version, of the root after' '
	mkdir syncbin &&
	cat >syncbin/sync <<-EOF &&
	#!/bin/sh
	t="\$2"; t="\${t%/snapshots}"
	v=\$(sed -n "s/^  .version.: \\([0-9]*\\),/\\1/p" "\$t/state.json" 2>/dev/null)
	echo "\$2 \${v:-none}" >>"$TRASH/sync.log"
	if test -e "$TRASH/sync.fail"; then echo "sync: refused" >&2; exit 1; fi
	exec /usr/bin/sync "\$@"
	EOF
	chmod +x syncbin/sync &&
	start_bg p4 env PATH="$TRASH/syncbin:$PATH" "$ARTSYNC" primary \
		--source src --sync-root sync4 --quiet-ms 100 --retry-ms 200 \
		--node-id p4 --push "$TRASH/share4" &&
	wait_for 20 "test \"\$(state_version share4)\" = 1" &&
	wait_for 10 "test \$(wc -l <sync.log) -ge 2" &&
	printf "%s\n" "$TRASH/share4/snapshots none" "$TRASH/share4 1" >want &&
	diff -u want sync.log &&
	: >sync.fail &&
	make_artifact api Third v3 &&
	wait_for_log p4.log "push $TRASH/share4: version 2 failed \(sync exit 1, failed: sync: refused\)" &&
	test "$(state_version share4)" = 1 &&
	rm sync.fail &&
	wait_for 20 "test \"\$(state_version share4)\" = 2" &&
	wait_for 10 "grep -q \"^$TRASH/share4 2\$\" sync.log" &&
	same_files sync4 share4 &&
	stop $pid_p4
'

finish
